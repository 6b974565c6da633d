// A data-plane worker's part of connection sync (src/ha/sync/shards.ts explains the split):
// the sync master over this worker's shard of the table, and the applying of the backup
// entries the main thread routed here. The master is the usual SyncMaster and TableWalker
// on the worker's Director, drained on its own timer; the encoded messages are copied out
// and posted to the main thread, which owns the socket. Nothing here runs per packet except
// the SyncMaster hook itself.

import type { Director } from '../core/director';
import { SyncBackup, type AppliedCounts, type BackupSkipReason, type SyncEntry } from '../ha/sync/backup';
import { SyncMaster } from '../ha/sync/master';
import type { ShardMasterConfig, ShardMasterCounters, ShardMasterOutput } from '../ha/sync/shards';
import { TableWalker } from '../ha/sync/walk';

interface RunningMaster {
  gen: number;
  master: SyncMaster;
  walker: TableWalker | null;
  timer: NodeJS.Timeout;
  msgs: Uint8Array[];
  walkEnd: boolean;
  /** Sum of the counters at the last report: report again only when they moved. */
  reported: number;
}

export class ShardSync {
  private running: RunningMaster | null = null;
  private backup: SyncBackup | null = null;
  private backupThreshold = -1;

  constructor(
    private readonly director: Director,
    private readonly report: (out: ShardMasterOutput) => void,
    private readonly applied: (counts: AppliedCounts) => void,
  ) {}

  startMaster(gen: number, cfg: ShardMasterConfig): void {
    this.stopMaster(this.running?.gen ?? -1);
    const msgs: Uint8Array[] = [];
    const master = new SyncMaster(this.director, {
      rules: cfg.rules, version: cfg.version, syncid: cfg.syncid, maxlen: cfg.maxlen,
      send: (buf, len) => msgs.push(buf.slice(0, len)), // the writer's buffer is reused
      onWalkEnd: () => {
        if (this.running) this.running.walkEnd = true;
      },
    });
    const walker = cfg.rules.fullSyncPeriod > 0 ? new TableWalker(this.director, master, cfg.rules.fullSyncPeriod * 1000, cfg.flushMs) : null;
    const timer = setInterval(() => {
      walker?.step();
      master.drain();
      this.flushOut(false);
    }, cfg.flushMs);
    this.running = { gen, master, walker, timer, msgs, walkEnd: false, reported: 0 };
    this.director.syncHook = master;
  }

  /** Drains what was recorded, reports it as the final output, and stops (only the master of `gen`). */
  stopMaster(gen: number): void {
    const r = this.running;
    if (!r || r.gen !== gen) return;
    clearInterval(r.timer);
    r.master.drain();
    this.flushOut(true);
    if (this.director.syncHook === r.master) this.director.syncHook = null;
    this.running = null;
  }

  /** Applies entries the main thread routed to this shard; reports what it did. */
  apply(version: number, threshold: number, entries: SyncEntry[]): void {
    if (this.backup === null || this.backupThreshold !== threshold) {
      // syncid was checked by the main thread: 0 here accepts every entry
      this.backup = new SyncBackup(this.director, { syncid: 0, threshold });
      this.backupThreshold = threshold;
    }
    const c = this.backup.counters;
    const created = c.created;
    const updated = c.updated;
    const skipped: Partial<Record<BackupSkipReason, number>> = {};
    for (const e of entries) {
      const why = this.backup.apply(e, version);
      if (why !== null) skipped[why] = (skipped[why] ?? 0) + 1;
    }
    this.applied({ created: c.created - created, updated: c.updated - updated, skipped });
  }

  close(): void {
    if (this.running) this.stopMaster(this.running.gen);
  }

  private flushOut(final: boolean): void {
    const r = this.running;
    if (!r) return;
    const counters = { ...r.master.counters } as ShardMasterCounters;
    let sum = 0;
    for (const v of Object.values(counters)) sum += v;
    if (!final && r.msgs.length === 0 && !r.walkEnd && sum === r.reported) return;
    r.reported = sum;
    this.report({ gen: r.gen, msgs: r.msgs.splice(0), walkEnd: r.walkEnd, counters, final });
    r.walkEnd = false;
  }
}
