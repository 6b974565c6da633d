// The sync master's sending side: which connections to announce (reference §3.4) and the
// batching of their entries into messages. It is the director's ConnSyncHook.
//
// Per packet (onPacket, inside the packet loop) it only DECIDES, and records the slot of a
// conn that needs a sync into a preallocated Int32Array ring: no allocation, no encoding.
// drain() (called by the SyncManager on a short timer, outside the packet loop) reads each
// recorded slot back from the connection table, encodes it with the conn's CURRENT state,
// flags and timeout, and hands full messages (up to maxlen bytes, at most 255 entries) to
// `send`; whatever is left is sent at the end of the drain, so an entry waits at most one
// drain period (the kernel waits up to 2 s; a faster flush makes take-over safer). A slot
// recorded twice is sent twice (harmless); a slot that is no longer live when drained is
// skipped (counted `stale`); when the ring is full the sync is lost (counted `ringFull`)
// and the conn is announced again at its next sync point.
//
// The rules, in words (the kernel's ip_vs_sync_conn_needed; sysctls sync_threshold =
// [threshold, period], sync_refresh_period, sync_retries, sync_persist_mode):
//   * Each conn counts its incoming packets in the spare byte of its table record: modulo
//     `period` when period > 0 (so "pkts % period == threshold" is "counter == threshold"),
//     else saturating at 255. A fresh conn starts at 0; a conn created by a backup starts at
//     `threshold`.
//   * With persist mode, a conn under a persistence template is never sent itself; its
//     template is considered instead.
//   * TCP is synced only in ESTABLISHED, FIN_WAIT, CLOSE, CLOSE_WAIT and TIME_WAIT. A packet
//     that moved the conn into one of those states other than ESTABLISHED sends it at once
//     (forced: neither the refresh nor the period rule applies). UDP, SCTP (which has a
//     single state here) and the rest go by the packet count alone.
//   * Refresh rule (refreshPeriod > 0): the master remembers, per slot, when it last
//     announced the conn and the expiry it announced (then + timeout). When the expiry the
//     conn would announce now differs from that by less than min(refreshPeriod,
//     max(timeout / 2, 10 s)) the backup already knows enough: skip, unless fewer than
//     `retries` repeats were sent and refreshPeriod / 8 has passed since the announce (a
//     repeat, in case the message was lost).
//   * Period rule: with period > 0 a conn is sent when counter == threshold (templates are
//     exempt: they go with their child); with period 0 and no refresh period, only when the
//     saturating counter equals threshold (once).
//   * After a conn is recorded, its persistence template is considered too: its own counter
//     goes up by one, the period rule does not apply to it, the refresh rule does. So by
//     default a template is announced along with every announce of a child.
//   * A template whose timer fires while children still hold it is announced (the
//     director calls onTemplateRearm).
// Slots move only when the table rebuilds itself (rehash, rare): drain() notices the
// table's rehash counter, drops what was queued and forgets the refresh memory.

import { AF_INET, IPPROTO_TCP, IPPROTO_UDP } from '../../core/constants';
import type { ConnSyncHook, Director } from '../../core/director';
import { CF_FWD_MASK, CF_INACTIVE, CF_NOOUTPUT, CF_NO_CPORT, CF_SYNC } from '../../core/director';
import {
  TCP_S_CLOSE, TCP_S_CLOSE_WAIT, TCP_S_ESTABLISHED, TCP_S_FIN_WAIT, TCP_S_TIME_WAIT,
} from '../../conn/tcp-states';
import {
  IP_VS_CONN_F_INACTIVE, IP_VS_CONN_F_NOOUTPUT, IP_VS_CONN_F_NO_CPORT, IP_VS_CONN_F_SYNC,
  IP_VS_CONN_F_TEMPLATE, SYNC_V1, SyncConn, SyncWriter,
} from './codec';

/** The sync sysctls of §2.13 that shape sending. */
export interface SyncSendRules {
  /** sync_threshold[0]; default 3. Must be below `period` when period > 0. */
  threshold: number;
  /** sync_threshold[1]; default 50; 0..255. */
  period: number;
  /** sync_refresh_period in seconds; default 0 (off). */
  refreshPeriod: number;
  /** sync_retries (0..3); default 0. */
  retries: number;
  /** sync_persist_mode; default false. */
  persistMode: boolean;
  /**
   * tsvs extension (walk.ts): every this many seconds the master re-sends every conn it
   * would ever sync, at a paced rate, then an end-of-walk marker; 0 = off (the kernel's
   * behaviour). Lets a backup that just started catch up on idle conns (catchup.ts).
   */
  fullSyncPeriod: number;
}

export const DEFAULT_SEND_RULES: Readonly<SyncSendRules> = { threshold: 3, period: 50, refreshPeriod: 0, retries: 0, persistMode: false, fullSyncPeriod: 0 };

/** Checks the rules; returns a problem text or undefined. */
export function checkSendRules(r: SyncSendRules): string | undefined {
  if (!Number.isInteger(r.period) || r.period < 0 || r.period > 255) return 'sync period must be 0..255';
  if (!Number.isInteger(r.threshold) || r.threshold < 0 || r.threshold > 254) return 'sync threshold must be 0..254';
  if (r.period > 0 && r.threshold >= r.period) return 'sync threshold must be below the sync period';
  if (!Number.isInteger(r.refreshPeriod) || r.refreshPeriod < 0 || r.refreshPeriod > 86400) return 'sync refresh period must be 0..86400 seconds';
  if (!Number.isInteger(r.retries) || r.retries < 0 || r.retries > 3) return 'sync retries must be 0..3';
  if (!Number.isInteger(r.fullSyncPeriod) || r.fullSyncPeriod < 0 || r.fullSyncPeriod > 86400) return 'full sync period must be 0..86400 seconds';
  return undefined;
}

export interface SyncMasterOptions {
  rules?: Partial<SyncSendRules>;
  version?: 0 | 1;
  syncid: number;
  maxlen: number;
  /** Sends one message (buf[0..len) is only valid during the call). */
  send: (buf: Uint8Array, len: number) => void;
  /** Ring capacity in slots (rounded up to a power of two); default 65536. */
  ringSize?: number;
  /**
   * A master that holds one shard of the table (a data-plane worker): at the end of a walk
   * pass it calls this instead of sending the marker itself, after the pass's entries went
   * to `send`; the main thread sends one marker once every shard finished a pass (shards.ts).
   */
  onWalkEnd?: () => void;
}

export class SyncMasterCounters {
  /** Slots recorded into the ring. */
  queued = 0;
  /** Syncs lost because the ring was full. */
  ringFull = 0;
  /** Recorded slots no longer live (or without an IPv4 dest) when drained. */
  stale = 0;
  /** Messages and entries handed to send(). */
  sentMsgs = 0;
  sentConns = 0;
  /** Ring contents dropped because the table rebuilt itself. */
  rehashDrops = 0;
  /** Table walks (walk.ts): conns queued by a walk, end-of-walk markers sent. */
  walkQueued = 0;
  markersSent = 0;
}

const TCP_SYNC_STATES =
  (1 << TCP_S_ESTABLISHED) | (1 << TCP_S_FIN_WAIT) | (1 << TCP_S_CLOSE) | (1 << TCP_S_CLOSE_WAIT) | (1 << TCP_S_TIME_WAIT);

export class SyncMaster implements ConnSyncHook {
  readonly counters = new SyncMasterCounters();
  readonly rules: Readonly<SyncSendRules>;
  readonly syncid: number;
  readonly version: 0 | 1;
  private readonly ring: Int32Array;
  private readonly mask: number;
  private head = 0;
  private tail = 0;
  private readonly writer: SyncWriter;
  private readonly scratch = new SyncConn();
  private readonly send: (buf: Uint8Array, len: number) => void;
  private readonly onWalkEnd: (() => void) | undefined;
  // refresh memory, per slot (allocated only with a refresh period)
  private readonly lastAt: Int32Array | null;
  private readonly lastEnd: Int32Array | null;
  private readonly tries: Uint8Array | null;
  private rehashSeen: number;
  /** An end-of-walk marker goes out after the entries of the next drain. */
  private markerDue = false;
  // copies of the rules as plain fields (the hot path reads these)
  private readonly threshold: number;
  private readonly period: number;
  private readonly refresh: number;
  private readonly retries: number;
  private readonly persist: boolean;

  constructor(private readonly director: Director, o: SyncMasterOptions) {
    const rules = { ...DEFAULT_SEND_RULES, ...(o.rules ?? {}) };
    const bad = checkSendRules(rules);
    if (bad) throw new RangeError(bad);
    this.rules = rules;
    this.threshold = rules.threshold;
    this.period = rules.period;
    this.refresh = rules.refreshPeriod;
    this.retries = rules.retries;
    this.persist = rules.persistMode;
    this.syncid = o.syncid & 0xff;
    this.version = o.version ?? SYNC_V1;
    this.writer = new SyncWriter(o.maxlen, this.version);
    this.send = o.send;
    this.onWalkEnd = o.onWalkEnd;
    let size = 1;
    while (size < (o.ringSize ?? 65536)) size <<= 1;
    this.ring = new Int32Array(size);
    this.mask = size - 1;
    const slots = director.conns.slots;
    this.lastAt = this.refresh > 0 ? new Int32Array(slots) : null;
    this.lastEnd = this.refresh > 0 ? new Int32Array(slots) : null;
    this.tries = this.refresh > 0 ? new Uint8Array(slots) : null;
    this.rehashSeen = director.conns.rehashes;
  }

  /** Entries recorded and not yet drained. */
  get pending(): number { return this.head - this.tail; }

  // ------------------------------------------------------------------ packet path

  onPacket(slot: number, oldState: number): void {
    const t = this.director.conns;
    let pk = t.spare(slot) + 1;
    if (this.period > 0) {
      if (pk >= this.period) pk = 0;
    } else if (pk > 255) {
      pk = 255;
    }
    t.setSpare(slot, pk);
    const ctl = t.control(slot);
    if (this.persist && ctl !== 0) {
      this.template(ctl - 1);
      return;
    }
    if (!this.needed(slot, pk, oldState)) return;
    this.push(slot);
    if (ctl !== 0) this.template(ctl - 1);
  }

  onTemplateRearm(slot: number): void {
    this.push(slot);
  }

  /** The rules of the header for a normal conn whose counter is now pk. */
  private needed(slot: number, pk: number, oldState: number): boolean {
    const t = this.director.conns;
    if (t.proto(slot) === IPPROTO_TCP) {
      const s = t.state(slot);
      if (((1 << s) & TCP_SYNC_STATES) === 0) return false;
      if (s !== oldState && s !== TCP_S_ESTABLISHED) {
        this.remember(slot, 0);
        return true;
      }
    }
    let tries = 0;
    if (this.refresh > 0) {
      tries = this.refreshTries(slot);
      if (tries < 0) return false;
    }
    if (this.period > 0) {
      if (pk !== this.threshold) return false;
    } else if (this.refresh === 0 && pk !== this.threshold) {
      return false;
    }
    this.remember(slot, tries);
    return true;
  }

  /** A persistence template, considered after its child: counter + 1, refresh rule only. */
  private template(tslot: number): void {
    const t = this.director.conns;
    if (!t.isLive(tslot) || !t.isTemplate(tslot)) return;
    let pk = t.spare(tslot) + 1;
    if (pk > 255) pk = 255;
    t.setSpare(tslot, pk);
    let tries = 0;
    if (this.refresh > 0) {
      tries = this.refreshTries(tslot);
      if (tries < 0) return;
    } else if (this.period === 0 && pk !== this.threshold) {
      return;
    }
    this.remember(tslot, tries);
    this.push(tslot);
  }

  /**
   * Refresh rule: -1 = skip; else the repeat count to store with the announce (0 when the
   * expiry moved enough to be news, previous + 1 for a repeat).
   */
  private refreshTries(slot: number): number {
    const lastEnd = this.lastEnd!;
    const end = lastEnd[slot];
    if (end === 0) return 0;
    const now = this.director.now;
    const timeout = this.timeoutOf(slot);
    const diff = now + timeout - end;
    const half = timeout >> 1;
    const minDiff = half > 10 ? half : 10;
    const limit = this.refresh < minDiff ? this.refresh : minDiff;
    if ((diff < 0 ? -diff : diff) >= limit) return 0;
    const tries = this.tries![slot];
    if (tries >= this.retries) return -1;
    if (now < this.lastAt![slot] + (this.refresh >> 3)) return -1;
    return tries + 1;
  }

  private remember(slot: number, tries: number): void {
    if (this.lastEnd === null) return;
    const now = this.director.now;
    this.lastAt![slot] = now;
    this.lastEnd[slot] = now + this.timeoutOf(slot) || 1;
    this.tries![slot] = tries;
  }

  private push(slot: number): void {
    if (this.head - this.tail > this.mask) {
      this.counters.ringFull++;
      return;
    }
    this.ring[this.head & this.mask] = slot;
    this.head++;
    this.counters.queued++;
  }

  /** The conn's current full timeout in seconds (what IPVS calls cp->timeout). */
  private timeoutOf(slot: number): number {
    const d = this.director;
    const t = d.conns;
    if (t.isTemplate(slot)) {
      const dest = d.services.dests[t.destId(slot)];
      return dest !== null && dest !== undefined && dest.svc !== null ? dest.svc.timeout : 0;
    }
    const proto = t.proto(slot);
    if (proto === IPPROTO_TCP) return d.timeouts.tcp[t.state(slot)];
    if (proto === IPPROTO_UDP) return d.timeouts.udp;
    return d.timeouts.tcp[TCP_S_ESTABLISHED];
  }

  // ------------------------------------------------------------------ table walk (walk.ts)

  /** Free places in the ring. */
  get room(): number {
    return this.mask + 1 - (this.head - this.tail);
  }

  /**
   * Queues a conn visited by a table walk when it is of a kind the rules ever send (a TCP
   * conn only in the sync states; every UDP/SCTP conn and template). Returns false when the
   * ring is full (the walk stops there and comes back).
   */
  queueWalked(slot: number): boolean {
    const t = this.director.conns;
    if (!t.isLive(slot)) return true;
    if (!t.isTemplate(slot) && t.proto(slot) === IPPROTO_TCP && ((1 << t.state(slot)) & TCP_SYNC_STATES) === 0) return true;
    if (this.head - this.tail > this.mask) return false;
    this.remember(slot, 0);
    this.push(slot);
    this.counters.walkQueued++;
    return true;
  }

  /** The walk passed the end of the table: an end-of-walk marker after the next drain's entries. */
  markWalkEnd(): void {
    this.markerDue = true;
  }

  /** The table rebuilt itself since `seen` (the walk restarts: what it queued was dropped). */
  get rehashes(): number {
    return this.rehashSeen;
  }

  // ------------------------------------------------------------------ off the packet path

  /** Encodes every recorded slot and sends the messages. Returns the number of entries sent. */
  drain(): number {
    const t = this.director.conns;
    if (t.rehashes !== this.rehashSeen) {
      this.rehashSeen = t.rehashes;
      this.counters.rehashDrops += this.head - this.tail;
      this.tail = this.head;
      this.lastAt?.fill(0);
      this.lastEnd?.fill(0);
      this.tries?.fill(0);
      this.markerDue = false; // the walk's entries were dropped: it starts over (walk.ts)
      return 0;
    }
    const w = this.writer;
    const c = this.scratch;
    let sent = 0;
    w.begin(this.syncid);
    while (this.tail < this.head) {
      const slot = this.ring[this.tail & this.mask];
      this.tail++;
      if (!this.fill(slot, c)) {
        this.counters.stale++;
        continue;
      }
      if (!w.add(c)) {
        this.flush();
        w.begin(this.syncid);
        if (!w.add(c)) { // cannot happen with maxlen >= 64 and no PE data; count, never loop
          this.counters.stale++;
          continue;
        }
      }
      sent++;
    }
    if (w.count > 0) this.flush();
    if (this.markerDue && this.onWalkEnd) {
      this.markerDue = false;
      this.onWalkEnd();
    } else if (this.markerDue) {
      // End-of-walk marker: a message with no entry (header only). A kernel backup reads
      // nr_conns = 0 and applies nothing (reference §3.5: entries are applied one by one).
      this.markerDue = false;
      w.begin(this.syncid);
      this.counters.markersSent++;
      this.flush();
    }
    // the ring is empty: restart the counters so they never grow past 2^53
    this.head = this.tail = 0;
    return sent;
  }

  private flush(): void {
    const w = this.writer;
    const n = w.count;
    const len = w.finish();
    this.counters.sentMsgs++;
    this.counters.sentConns += n;
    this.send(w.buf, len);
  }

  /** Fills c from the table record in `slot`; false when it cannot be sent. */
  fill(slot: number, c: SyncConn): boolean {
    const d = this.director;
    const t = d.conns;
    if (slot < 0 || slot >= t.slots || !t.isLive(slot)) return false;
    const dest = d.services.dests[t.destId(slot)];
    if (dest === null || dest === undefined || dest.addr.af !== AF_INET) return false;
    const template = t.isTemplate(slot);
    c.reset();
    c.af = 4;
    c.protocol = t.proto(slot);
    c.flags = wireFlags(t.flags(slot), template);
    c.state = t.state(slot);
    c.cport = t.cport(slot);
    c.vport = t.vport(slot);
    c.dport = dest.port;
    c.fwmark = dest.svc !== null ? dest.svc.fwmark : 0;
    c.timeout = this.timeoutOf(slot);
    c.caddr = t.caddr(slot) >>> 0;
    c.vaddr = t.vaddr(slot) >>> 0;
    c.daddr = dest.addr.v4 >>> 0;
    return true;
  }
}

/** Our flags byte (+ the template bit) as IPVS connection flags. */
export function wireFlags(fb: number, template: boolean): number {
  let f = fb & CF_FWD_MASK;
  if ((fb & CF_NOOUTPUT) !== 0) f |= IP_VS_CONN_F_NOOUTPUT;
  if ((fb & CF_INACTIVE) !== 0) f |= IP_VS_CONN_F_INACTIVE;
  if ((fb & CF_NO_CPORT) !== 0) f |= IP_VS_CONN_F_NO_CPORT;
  if ((fb & CF_SYNC) !== 0) f |= IP_VS_CONN_F_SYNC;
  if (template) f |= IP_VS_CONN_F_TEMPLATE;
  return f;
}
