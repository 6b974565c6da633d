// The sync master's table walk (tsvs extension): every conn the master would ever sync is
// sent again once per `fullSyncPeriod`, followed by an end-of-walk marker. IPVS sends a
// conn only on its packets (reference §3.4), so an idle established conn is never sent to
// a backup that started after its last sync; the walk closes that gap, and the markers let
// a (re)starting node know when it has seen the master's whole table (catchup.ts).
//
// In words. The table is a flat array of slots. A pass goes from slot 0 to the last slot;
// each step (the SyncManager calls step() every drain period, 50 ms by default) visits the
// next `slots × stepMs / periodMs` slots (rounded up), so a pass takes one period whatever
// the table's size and the messages are spread evenly over it. A live conn of a synced
// kind is queued in the master's ring (SyncMaster.queueWalked); when the ring is full the
// step ends where it is and the pass resumes there next step (the pass then takes longer,
// never loses an entry). At the end of a pass the master is told to send the marker after
// the entries still queued, and the next pass starts at slot 0. If the table rebuilt
// itself during a pass (slots moved, the queued entries were dropped), the pass restarts
// without a marker: a marker always closes a pass that saw every slot in place.
//
// Wire compatibility: the marker is a message with no entry: v1, the 8-byte header with
// nr_conns 0 (reserved 0, syncid, size 8, nr_conns 0, version 1, spare 0); v0
// (sync_version 0), the 4-byte header with nr_conns 0 and size 4. Kernel masters never send
// an empty message (a sync buffer is created for its first entry), so a marker always
// comes from a tsvs master.
//
// What a kernel backup does with it (checked against ip_vs_sync.c, ip_vs_process_message
// and ip_vs_process_message_v0, reference §3.5):
//   * The datagram passes the header checks: at least 4 bytes, size field = datagram
//     length, syncid filter (a backup with another non-zero syncid drops it there, as it
//     drops that master's entries).
//   * v1 marker: version 1, reserved 0, spare 0, so the v1 path; its loop runs nr_conns = 0
//     times: nothing is applied, nothing is logged, no counter moves. Ignored, as intended.
//   * v0 marker: the version test reads bytes 4..7, which a 4-byte datagram does not have:
//     the kernel reads whatever the previous datagram left in its receive buffer there. If
//     that looks like a v1 header, the v1 loop runs with a stale nr_conns and stops at its
//     first bounds check ("BACKUP, Dropping buffer, to small", a rate-limited error log);
//     otherwise the v0 path loops 0 times. Either way nothing is applied; at worst a
//     kernel log line per marker on a backup that also receives v1 messages.
// Our decoder (codec.ts) reads both as a header with no entry; SyncBackup counts them as
// `markers` and tells the catch-up (catchup.ts).

import type { Director } from '../../core/director';
import type { SyncMaster } from './master';

export class TableWalker {
  private pos = 0;
  private rehashes: number;
  /** Completed passes. */
  passes = 0;

  constructor(
    private readonly director: Director,
    private readonly master: SyncMaster,
    private readonly periodMs: number,
    private readonly stepMs: number,
  ) {
    this.rehashes = director.conns.rehashes;
  }

  /** Visits the next share of the table (call it every stepMs, before SyncMaster.drain()). */
  step(): void {
    const t = this.director.conns;
    const slots = t.slots;
    if (t.rehashes !== this.rehashes || this.master.rehashes !== t.rehashes) {
      this.rehashes = t.rehashes;
      this.pos = 0; // slots moved: the pass starts over, no marker for the broken one
      return;
    }
    const steps = Math.max(1, Math.floor(this.periodMs / this.stepMs));
    const share = Math.ceil(slots / steps);
    const end = Math.min(slots, this.pos + share);
    while (this.pos < end) {
      if (!this.master.queueWalked(this.pos)) return; // ring full: resume here next step
      this.pos++;
    }
    if (this.pos >= slots) {
      this.master.markWalkEnd();
      this.passes++;
      this.pos = 0;
    }
  }
}
