// The sync backup's receiving side: decode a message and apply its entries to the
// director's connection table (reference §3.5). Off the packet path (one datagram at a
// time from the socket), but it writes the same table the packet path reads, through the
// director's public API, keeping the dest counters exactly as the director does.
//
// A message is dropped whole (counted by its SYNC_E_* reason, nothing applied) when it is
// malformed or carries another syncid (a backup with syncid 0 accepts every syncid).
// Each entry of a good message is then applied, or skipped with a counted reason:
//   1. Flags: ONE_PACKET, or TEMPLATE together with NO_CPORT, are refused (bad_flags). The
//      flags kept are FWD|NOOUTPUT|INACTIVE|SEQ|NO_CPORT|TEMPLATE, plus SYNC.
//   2. A normal conn needs a protocol we know (TCP, UDP, SCTP: unknown_protocol) and a state
//      below that protocol's number of states; a template's state is NONE or ASSURED
//      (bad_state). IPv6 entries are skipped (ipv6: this director's table is IPv4) and so are
//      entries naming a persistence engine (unknown_pe: we have none; IPVS ignores entries
//      whose engine it has not loaded).
//   3. The dest is found by (fwmark, or protocol + vaddr + vport) and (daddr, dport). IPVS
//      would create an unbound conn and bind it when the dest appears; we skip the entry
//      (no_service / no_dest) as the brief for this director says: a conn we could not
//      forward is not worth a slot, and the master repeats it at its next sync point.
//   4. The existing entry is looked up by its key (templates by the template key). A normal
//      conn that exists with ANOTHER dest is replaced when the incoming entry is active and
//      the entry is ignored when it is INACTIVE (dest_conflict); a template with another
//      dest is replaced.
//   5. Existing entry: its INACTIVE bit follows the entry (moving it between the dest's
//      ActiveConn and InActConn). New entry: inserted with the local dest's forwarding
//      method (IPVS binds synced conns to the dest's method), SYNC set, counted in the
//      dest as the director counts its own (InActConn/ActiveConn, PersistConn for templates).
//   6. State := entry state; packet counter := threshold (so the master rules on this node
//      start from the same point); expiry := now + entry timeout (v1), or for v0 (no
//      timeout) the protocol's timeout for that state, 180 s for templates.
// Applying never triggers a send: the master only announces conns on packets (its hook is
// on the packet path, not here), so a director running master and backup at once
// (active-active) does not echo what it received; and its own multicast does not come back
// (loopback off), and datagrams from one of our own addresses are dropped (own_message).

import { AF_INET, FWD_MASQ, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP } from '../../core/constants';
import type { Dest } from '../../core/dest';
import type { Director } from '../../core/director';
import { CF_FWD_MASK, CF_INACTIVE, CF_NOOUTPUT, CF_NO_CPORT, CF_SYNC, TPL_S_ASSURED } from '../../core/director';
import { TCP_S_ESTABLISHED, TCP_S_LAST } from '../../conn/tcp-states';
import {
  IP_VS_CONN_F_INACTIVE, IP_VS_CONN_F_NO_CPORT, IP_VS_CONN_F_ONE_PACKET, IP_VS_CONN_F_TEMPLATE,
  SYNC_DECODE_REASONS, SYNC_OK, SYNC_V0, SyncConn, SyncMessage, decodeSyncMessage,
} from './codec';

/** Template timeout for v0 entries (which carry none). */
export const V0_TEMPLATE_TIMEOUT = 180;
/** Number of SCTP states in IPVS (IP_VS_SCTP_S_LAST). */
const SCTP_STATES = 15;

/** The fields of a sync entry that applying reads (a SyncConn, or its copy sent to a shard). */
export type SyncEntry = Pick<SyncConn, 'af' | 'protocol' | 'flags' | 'state' | 'cport' | 'vport' | 'dport' | 'fwmark' | 'timeout' | 'caddr' | 'vaddr' | 'daddr' | 'peName'>;

export const BACKUP_SKIP_REASONS = [
  'bad_flags', 'unknown_protocol', 'bad_state', 'ipv6', 'unknown_pe', 'no_service', 'no_dest', 'dest_conflict', 'table_full',
] as const;
export type BackupSkipReason = (typeof BACKUP_SKIP_REASONS)[number];

export class SyncBackupCounters {
  /** Datagrams received (before any check). */
  rxMsgs = 0;
  rxBytes = 0;
  /** Messages accepted and entries in them. */
  msgs = 0;
  conns = 0;
  /** Entries applied: new conns created, existing ones updated. */
  created = 0;
  updated = 0;
  /** Datagrams from one of our own addresses. */
  ownMessages = 0;
  /** Accepted messages with no entry: a tsvs master's end-of-walk markers (walk.ts). */
  markers = 0;
  /** Messages dropped, by decode reason (SYNC_DECODE_REASONS). */
  readonly dropped: Record<string, number> = {};
  /** Entries skipped, by reason (BACKUP_SKIP_REASONS). */
  readonly skipped: Record<string, number> = {};

  constructor() {
    for (const r of SYNC_DECODE_REASONS.slice(1)) this.dropped[r] = 0;
    for (const r of BACKUP_SKIP_REASONS) this.skipped[r] = 0;
  }
}

export interface SyncBackupOptions {
  /** 0 accepts every syncid. */
  syncid: number;
  /** The master's sync_threshold[0]: packet counter of a synced conn; default 3. */
  threshold?: number;
  /** Told of every accepted message: its entry count (0 = an end-of-walk marker). */
  onAccepted?: (entries: number) => void;
  /**
   * The table is sharded over data-plane workers (shards.ts): every entry of an accepted
   * message goes here instead of being applied to `director`; the shards apply it and
   * their results come back through addApplied().
   */
  handOff?: (msg: SyncMessage) => void;
}

/** What applying some entries did (a shard's report, see addApplied). */
export interface AppliedCounts {
  created: number;
  updated: number;
  skipped: Partial<Record<BackupSkipReason, number>>;
}

export class SyncBackup {
  readonly counters = new SyncBackupCounters();
  readonly syncid: number;
  private readonly threshold: number;
  private readonly msg = new SyncMessage();
  private readonly onAccepted: ((entries: number) => void) | undefined;
  private readonly handOff: ((msg: SyncMessage) => void) | undefined;

  constructor(private readonly director: Director, o: SyncBackupOptions) {
    this.syncid = o.syncid & 0xff;
    this.threshold = o.threshold ?? 3;
    this.onAccepted = o.onAccepted;
    this.handOff = o.handOff;
  }

  /** Adds what a shard reports it applied (handOff). */
  addApplied(a: AppliedCounts): void {
    const c = this.counters;
    c.created += a.created;
    c.updated += a.updated;
    for (const [why, n] of Object.entries(a.skipped)) c.skipped[why] = (c.skipped[why] ?? 0) + (n ?? 0);
  }

  /** One received datagram. Returns the SYNC_E_* reason (0 when applied). */
  receive(buf: Uint8Array, len = buf.length): number {
    const c = this.counters;
    c.rxMsgs++;
    c.rxBytes += len;
    const msg = this.msg;
    const r = decodeSyncMessage(buf, 0, len, this.syncid, msg);
    if (r !== SYNC_OK) {
      c.dropped[SYNC_DECODE_REASONS[r]]++;
      return r;
    }
    c.msgs++;
    c.conns += msg.count;
    if (msg.count === 0) c.markers++;
    if (this.handOff) {
      if (msg.count > 0) this.handOff(msg);
      this.onAccepted?.(msg.count);
      return SYNC_OK;
    }
    for (let i = 0; i < msg.count; i++) {
      const why = this.apply(msg.conns[i], msg.version);
      if (why !== null) c.skipped[why]++;
    }
    this.onAccepted?.(msg.count);
    return SYNC_OK;
  }

  /** Applies one entry (rules 1-6 of the header); null when applied, else why it was skipped. */
  apply(e: SyncEntry, version: number): BackupSkipReason | null {
    const d = this.director;
    const t = d.conns;
    const template = (e.flags & IP_VS_CONN_F_TEMPLATE) !== 0;
    if ((e.flags & IP_VS_CONN_F_ONE_PACKET) !== 0 || (template && (e.flags & IP_VS_CONN_F_NO_CPORT) !== 0)) return 'bad_flags';
    if (template) {
      if (e.state > TPL_S_ASSURED) return 'bad_state';
    } else {
      const n = e.protocol === IPPROTO_TCP ? TCP_S_LAST : e.protocol === IPPROTO_UDP ? 1 : e.protocol === IPPROTO_SCTP ? SCTP_STATES : -1;
      if (n < 0) return 'unknown_protocol';
      if (e.state >= n) return 'bad_state';
    }
    if (e.af !== 4) return 'ipv6';
    if (e.peName !== '') return 'unknown_pe';

    d.sync();
    const dest = this.findDest(e, template);
    if (dest === 'no_service' || dest === 'no_dest') return dest;

    const inactive = !template && (e.flags & IP_VS_CONN_F_INACTIVE) !== 0;
    const tpl = template ? 1 : 0;
    let slot = t.lookupIn4(e.protocol, e.caddr, e.cport, e.vaddr, e.vport, tpl);
    if (slot >= 0 && t.destId(slot) !== dest.id) {
      if (!template && inactive) return 'dest_conflict';
      d.expireNow(slot);
      slot = -1;
    }
    const now = d.now;
    const timeout = version === SYNC_V0 ? this.v0Timeout(e, template) : e.timeout;
    if (slot >= 0) {
      if (!template) {
        const fb = t.flags(slot);
        const was = (fb & CF_INACTIVE) !== 0;
        if (was !== inactive) {
          if (inactive) { dest.activeConns--; dest.inactConns++; } else { dest.inactConns--; dest.activeConns++; }
          t.setFlags(slot, inactive ? fb | CF_INACTIVE : fb & ~CF_INACTIVE);
        }
      }
      this.counters.updated++;
    } else {
      let fb = (dest.fwd & CF_FWD_MASK) | ((dest.fwd & CF_FWD_MASK) !== FWD_MASQ ? CF_NOOUTPUT : 0) | CF_SYNC;
      if (inactive) fb |= CF_INACTIVE;
      if ((e.flags & IP_VS_CONN_F_NO_CPORT) !== 0) fb |= CF_NO_CPORT;
      slot = t.insert4(e.protocol, e.caddr, e.cport, e.vaddr, e.vport, tpl, dest.id, fb, e.state, now + timeout);
      if (slot < 0) return 'table_full';
      d.services.hold(dest);
      if (template) dest.persistConns++;
      else if (inactive) dest.inactConns++;
      else dest.activeConns++;
      this.counters.created++;
    }
    t.setState(slot, e.state);
    t.setSpare(slot, this.threshold);
    t.setExpires(slot, now + timeout);
    return null;
  }

  private findDest(e: SyncEntry, template: boolean): Dest | 'no_service' | 'no_dest' {
    const d = this.director;
    let svc;
    if (e.fwmark !== 0) svc = d.index.findFwmark(AF_INET, e.fwmark);
    else if (template && e.protocol === 0) svc = d.index.findFwmark(AF_INET, e.vaddr);
    else svc = d.index.find4(e.protocol, e.vaddr | 0, e.vport);
    if (svc === null) return 'no_service';
    for (const dest of svc.dests) {
      if (dest.addr.af === AF_INET && dest.addr.v4 >>> 0 === e.daddr >>> 0 && dest.port === e.dport) return dest;
    }
    return 'no_dest';
  }

  private v0Timeout(e: SyncEntry, template: boolean): number {
    const to = this.director.timeouts;
    if (template) return V0_TEMPLATE_TIMEOUT;
    if (e.protocol === IPPROTO_TCP) return to.tcp[e.state];
    if (e.protocol === IPPROTO_UDP) return to.udp;
    return to.tcp[TCP_S_ESTABLISHED];
  }
}
