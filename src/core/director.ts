// The director core: what ip_vs_core.c and ip_vs_conn.c do for each packet, over our own
// typed-array connection table. The data plane and the simulator both drive it.
//
// For a packet from a client (inPacket4):
//   1. Look the connection up by (proto, caddr, cport, vaddr, vport).
//   2. Hit: a SYN on a TIME_WAIT/CLOSE conn (conn_reuse_mode) expires it and schedules
//      afresh; a conn whose dest was deleted is dropped (or expired, expire_nodest_conn).
//   3. Miss: find the service; TCP is scheduled only on a SYN. Persistent services go
//      through a template (client network -> dest), others straight to the scheduler.
//      A new conn starts INACTIVE in state NONE and is bound to its dest (InActConn+1,
//      OVERLOAD check against the upper threshold).
//   4. Every packet steps the TCP state machine (moving the conn between ActiveConn and
//      InActConn), re-arms its idle timer and bumps the service and dest counters.
// Expiry comes from the table's timer wheel: a due conn is unbound (counters, lower
// threshold hysteresis, its template's child count) and freed; a template with live
// children is re-armed for 60 s instead.
//
// Nothing here allocates per packet: results come back as integers (dest id, or 0 with
// the drop reason counted in `drops`).
//
// Connection sync (src/ha/sync/) needs two calls from here, through `syncHook` (null unless
// a sync master runs): onPacket(slot, oldState) after every packet's state step, where the
// master decides whether the conn needs a sync and records its slot in a preallocated ring
// (no allocation); and onTemplateRearm(slot) when a template's timer fires while children
// still hold it (IPVS syncs it then too). Everything else sync needs is already public:
// the table (`conns`: lookupIn4, insert4, forEach, accessors), `services`, `index`,
// `timeouts`, `now` and expireNow().

import {
  DEST_F_OVERLOAD,
  DEST_F_UNRESOLVED,
  FWD_MASQ,
  IPPROTO_TCP,
  IPPROTO_UDP,
} from './constants';
import type { Dest } from './dest';
import {
  DROP_DEST_GONE,
  DROP_NOT_SYN,
  DROP_NO_DEST,
  DROP_NO_SERVICE,
  DROP_TABLE_FULL,
  newDropCounters,
} from './drops';
import type { Service } from './service';
import { ServiceIndex } from './service-index';
import { ServiceTable } from './services';
import { ConnTable, type ConnTableOptions } from '../conn/table';
import { Sysctls } from '../conn/sysctl';
import {
  DIR_INPUT,
  DIR_INPUT_ONLY,
  DIR_OUTPUT,
  TCP_S_CLOSE,
  TCP_S_ESTABLISHED,
  TCP_S_FIN_WAIT,
  TCP_S_NONE,
  TCP_S_TIME_WAIT,
  TCP_STATE_ACTIVE,
  TH_RST,
  TH_SYN,
  isNewConnSegment,
  tcpNextState,
} from '../conn/tcp-states';
import { CONTROL_REARM, NEW_CONN_TIMEOUT, Timeouts } from '../conn/timeouts';
import { SchedPacket } from '../sched/scheduler';
import { EST_INTERVAL_MS } from './estimator';

/** The per-connection flags byte kept in the table (bits 24-31 of the META word). */
export const CF_FWD_MASK = 0x07;
export const CF_NOOUTPUT = 0x08;
export const CF_INACTIVE = 0x10;
export const CF_NO_CPORT = 0x20;
export const CF_SYNC = 0x40;

/** Template states as -L -c names them. */
export const TPL_S_NONE = 0;
export const TPL_S_ASSURED = 1;

/** What the sync master (src/ha/sync/master.ts) gets from the packet path. Must not allocate. */
export interface ConnSyncHook {
  /** A packet of the conn in `slot` was handled; `oldState` is its state before this packet. */
  onPacket(slot: number, oldState: number): void;
  /** The template in `slot` expired while it still controls conns and was re-armed. */
  onTemplateRearm(slot: number): void;
}

export interface DirectorOptions extends Partial<Omit<ConnTableOptions, 'af'>> {
  /** Initial clock in whole seconds. */
  now?: number;
}

export class Director {
  readonly services = new ServiceTable();
  readonly index = new ServiceIndex();
  readonly conns: ConnTable;
  readonly timeouts = new Timeouts();
  readonly sysctl = new Sysctls();
  readonly drops = newDropCounters();
  /** Scratch for schedulers, refilled per new connection. */
  private readonly pkt = new SchedPacket();
  /** Clock in whole seconds, advanced by tick(). */
  now: number;
  /** Slot of the connection the last inPacket4 used (-1 for one-packet or drops). */
  lastSlot = -1;
  /** Drop reason of the last inPacket4 that returned 0. */
  lastDrop = 0;
  /** Connection sync master, or null (see the header). */
  syncHook: ConnSyncHook | null = null;
  private lastEstimate: number;

  constructor(opts: DirectorOptions = {}) {
    this.now = opts.now ?? 0;
    this.lastEstimate = this.now;
    this.conns = new ConnTable({ maxConns: 1 << 16, ...opts, af: 4, now: this.now });
    this.conns.onEvict = (slot: number) => this.unbindSlot(slot);
  }

  /** Makes sure the packet-time index matches the service table. Cheap when unchanged. */
  sync(): void {
    if (this.index.generation !== this.services.generation) this.index.rebuild(this.services);
  }

  /**
   * One client->director IPv4 packet. Returns the dest id to forward to, or 0 (dropped,
   * reason counted in `drops` and kept in `lastDrop`). `lastSlot` names the connection.
   */
  inPacket4(proto: number, caddr: number, cport: number, vaddr: number, vport: number, tcpFlags: number, bytes: number, fwmark = 0): number {
    const t = this.conns;
    const dests = this.services.dests;
    let slot = t.lookupIn4(proto, caddr, cport, vaddr, vport, 0);
    if (slot >= 0) {
      const dest = dests[t.destId(slot)];
      if (proto === IPPROTO_TCP && isNewConnSegment(tcpFlags) && this.sysctl.connReuseMode !== 0 && this.reusable(slot, dest)) {
        this.expireNow(slot);
        slot = -1;
      } else if (dest === null || !dest.available) {
        if (this.sysctl.expireNodestConn !== 0) {
          this.expireNow(slot);
          if (!(proto === IPPROTO_TCP && isNewConnSegment(tcpFlags))) return this.drop(DROP_DEST_GONE);
          slot = -1;
        } else {
          return this.drop(DROP_DEST_GONE);
        }
      }
    }
    if (slot < 0) {
      if (this.index.generation !== this.services.generation) this.index.rebuild(this.services);
      const svc = fwmark !== 0 ? this.index.findFwmark(2, fwmark) : this.index.find4(proto, vaddr, vport);
      if (svc === null) return this.drop(DROP_NO_SERVICE);
      if (proto === IPPROTO_TCP && this.sysctl.sloppyTcp === 0 && (tcpFlags & (TH_SYN | TH_RST)) !== TH_SYN) {
        return this.drop(DROP_NOT_SYN);
      }
      const r = this.schedule4(svc, proto, caddr, cport, vaddr, vport, bytes);
      if (r <= 0) return r === 0 ? 0 : -r; // one-packet: -destId
      slot = this.lastSlot;
    }
    this.lastSlot = slot;
    const dest = dests[t.destId(slot)]!;
    const sync = this.syncHook;
    const oldState = sync !== null ? t.state(slot) : 0;
    if (proto === IPPROTO_TCP) this.tcpStep(slot, DIR_INPUT, tcpFlags, dest);
    else t.setExpires(slot, this.now + (proto === IPPROTO_UDP ? this.timeouts.udp : this.timeouts.tcp[TCP_S_ESTABLISHED]));
    if (sync !== null) sync.onPacket(slot, oldState);
    dest.stats.inpkts++;
    dest.stats.inbytes += bytes;
    const svc = dest.svc;
    if (svc !== null) {
      svc.stats.inpkts++;
      svc.stats.inbytes += bytes;
    }
    return dest.id;
  }

  /**
   * Schedules a new IPv4 connection. Returns 1 with `lastSlot` set, 0 on a drop, or
   * -destId for a one-packet datagram (forwarded, never inserted).
   */
  private schedule4(svc: Service, proto: number, caddr: number, cport: number, vaddr: number, vport: number, bytes: number): number {
    const pkt = this.pkt.setV4(caddr, cport, vaddr, vport);
    const onePacket = proto === IPPROTO_UDP && svc.onePacket;
    let tslot = -1;
    let dest: Dest | null;
    if (svc.persistent) {
      tslot = this.templateFor(svc, proto, caddr, vaddr, vport);
      if (tslot < 0) return 0;
      dest = this.services.dests[this.conns.destId(tslot)]!;
    } else {
      dest = svc.scheduler.schedule(svc, pkt);
      if (dest === null) return this.drop(DROP_NO_DEST);
    }
    if (onePacket) {
      if (tslot >= 0) this.conns.setExpires(tslot, this.now + svc.timeout);
      dest.stats.conns++;
      svc.stats.conns++;
      dest.stats.inpkts++;
      dest.stats.inbytes += bytes;
      svc.stats.inpkts++;
      svc.stats.inbytes += bytes;
      this.lastSlot = -1;
      return -dest.id;
    }
    const slot = this.newConn(svc, dest, proto, caddr, cport, vaddr, vport, tslot);
    if (slot < 0) return 0;
    this.lastSlot = slot;
    return 1;
  }

  /**
   * Finds or creates the persistence template for a client network (§2.6) and returns
   * its slot, or -1 (drop counted). An unusable template is invalidated and replaced.
   */
  private templateFor(svc: Service, proto: number, caddr: number, vaddr: number, vport: number): number {
    const t = this.conns;
    const cnet = caddr & svc.netmask; // int32 on purpose: no heap number on the packet path
    let tproto = proto;
    let tvaddr = vaddr;
    let tvport = vport;
    if (svc.fwmark !== 0) {
      tproto = 0;
      tvaddr = svc.fwmark;
      tvport = 0;
    } else if (svc.port === 0 || svc.port === 21) {
      tvport = 0;
    }
    let tslot = t.lookupIn4(tproto, cnet, 0, tvaddr, tvport, 1);
    if (tslot >= 0) {
      const d = this.services.dests[t.destId(tslot)];
      if (d === null || !d.available || (d.flags & DEST_F_UNRESOLVED) !== 0 || (d.weight === 0 && this.sysctl.expireQuiescentTemplate !== 0)) {
        this.expireNow(tslot);
        tslot = -1;
      }
    }
    if (tslot < 0) {
      const dest = svc.scheduler.schedule(svc, this.pkt);
      if (dest === null) return this.drop(DROP_NO_DEST) - 1;
      tslot = t.insert4(tproto, cnet, 0, tvaddr, tvport, 1, dest.id, destConnFlags(dest), TPL_S_NONE, this.now + svc.timeout);
      if (tslot < 0) return this.drop(DROP_TABLE_FULL) - 1;
      this.services.hold(dest);
      dest.persistConns++;
    }
    return tslot;
  }

  /** ip_vs_conn_new + ip_vs_bind_dest. */
  private newConn(svc: Service, dest: Dest, proto: number, caddr: number, cport: number, vaddr: number, vport: number, tslot: number): number {
    const t = this.conns;
    const slot = t.insert4(proto, caddr, cport, vaddr, vport, 0, dest.id, destConnFlags(dest), TCP_S_NONE, this.now + NEW_CONN_TIMEOUT);
    if (slot < 0) return this.drop(DROP_TABLE_FULL) - 1;
    this.services.hold(dest);
    dest.inactConns++;
    if (dest.uThreshold !== 0 && dest.activeConns + dest.inactConns >= dest.uThreshold) dest.flags |= DEST_F_OVERLOAD;
    if (tslot >= 0) {
      t.setControl(slot, tslot + 1);
      t.setControl(tslot, t.control(tslot) + 1);
      t.setExpires(tslot, this.now + svc.timeout);
    }
    dest.stats.conns++;
    svc.stats.conns++;
    return slot;
  }

  /** One TCP segment's state transition with Active/InAct accounting and timer re-arm. */
  private tcpStep(slot: number, dir: number, tcpFlags: number, dest: Dest): void {
    const t = this.conns;
    let fb = t.flags(slot);
    if ((fb & CF_NOOUTPUT) !== 0) {
      if (dir === DIR_OUTPUT) fb &= ~CF_NOOUTPUT;
      else dir = DIR_INPUT_ONLY;
    }
    const old = t.state(slot);
    const next = tcpNextState(dir, tcpFlags, old);
    if (next !== old) {
      if ((fb & CF_INACTIVE) === 0 && TCP_STATE_ACTIVE[next] === 0) {
        dest.activeConns--;
        dest.inactConns++;
        fb |= CF_INACTIVE;
      } else if ((fb & CF_INACTIVE) !== 0 && TCP_STATE_ACTIVE[next] !== 0) {
        dest.inactConns--;
        dest.activeConns++;
        fb &= ~CF_INACTIVE;
      }
      t.setState(slot, next);
      if (next === TCP_S_ESTABLISHED) {
        const c = t.control(slot);
        if (c !== 0) t.setState(c - 1, TPL_S_ASSURED);
      }
    }
    t.setFlags(slot, fb);
    t.setExpires(slot, this.now + this.timeouts.tcp[next]);
  }

  /** is_new_conn_expected: may a new SYN replace this conn (conn_reuse_mode)? */
  private reusable(slot: number, dest: Dest | null): boolean {
    const t = this.conns;
    if (t.control(slot) !== 0) return false;
    if (this.sysctl.expireNodestConn !== 0 && dest !== null && dest.weight === 0) return true;
    const s = t.state(slot);
    if (s === TCP_S_TIME_WAIT || s === TCP_S_CLOSE) return true;
    return (this.sysctl.connReuseMode & 2) !== 0 && s === TCP_S_FIN_WAIT && (t.flags(slot) & CF_NOOUTPUT) !== 0;
  }

  /**
   * Ends an entry now: unbinds it from its dest (and its template) and makes it
   * unmatchable. The wheel frees the slot when it next walks past it.
   */
  expireNow(slot: number): void {
    const t = this.conns;
    this.unbindSlot(slot);
    t.kill(slot);
    t.setExpires(slot, this.now);
  }

  /** Releases what a LIVE entry holds: dest counters, dest reference, template link. */
  private unbindSlot(slot: number): void {
    const t = this.conns;
    const dest = this.services.dests[t.destId(slot)];
    if (t.isTemplate(slot)) {
      if (dest !== null) {
        dest.persistConns--;
        this.services.release(dest);
      }
      return;
    }
    const fb = t.flags(slot);
    if (dest !== null) {
      if ((fb & CF_INACTIVE) !== 0) dest.inactConns--;
      else dest.activeConns--;
      const total = dest.activeConns + dest.inactConns;
      if (dest.lThreshold !== 0) {
        if (total < dest.lThreshold) dest.flags &= ~DEST_F_OVERLOAD;
      } else if (dest.uThreshold !== 0) {
        if (total * 4 < dest.uThreshold * 3) dest.flags &= ~DEST_F_OVERLOAD;
      } else {
        dest.flags &= ~DEST_F_OVERLOAD;
      }
      this.services.release(dest);
    }
    const c = t.control(slot);
    if (c !== 0) {
      const n = t.control(c - 1);
      if (n > 0) t.setControl(c - 1, n - 1);
      t.setControl(slot, 0);
    }
  }

  /** Timer-wheel callback: keep (return the new expiry) or free (return 0). */
  private readonly expire = (slot: number): number => {
    const t = this.conns;
    const live = t.isLive(slot);
    if (t.isTemplate(slot)) {
      if (t.control(slot) > 0) {
        if (this.syncHook !== null && live) this.syncHook.onTemplateRearm(slot);
        return this.now + CONTROL_REARM;
      }
      if (live) this.unbindSlot(slot);
      return 0;
    }
    if (live) this.unbindSlot(slot);
    return 0;
  };

  /**
   * Advances the clock: expires due connections, runs the 2-second rate estimator and
   * the schedulers' housekeeping. `nowSec` is whole seconds on the director's clock.
   */
  tick(nowSec: number): void {
    if (nowSec < this.now) return;
    this.now = nowSec;
    this.conns.tick(nowSec, this.expire);
    const estEvery = EST_INTERVAL_MS / 1000;
    while (nowSec - this.lastEstimate >= estEvery) {
      this.lastEstimate += estEvery;
      for (const svc of this.services.services) {
        svc.stats.est.sample(svc.stats);
        for (const d of svc.dests) d.stats.est.sample(d.stats);
        svc.scheduler.tick?.(nowSec);
      }
    }
  }

  private drop(reason: number): number {
    this.drops[reason]++;
    this.lastDrop = reason;
    this.lastSlot = -1;
    return 0;
  }
}

/** A dest's connection flags: its method, NOOUTPUT unless NAT, and INACTIVE (§2.3). */
function destConnFlags(dest: Dest): number {
  const fwd = dest.fwd & CF_FWD_MASK;
  return fwd | (fwd !== FWD_MASQ ? CF_NOOUTPUT : 0) | CF_INACTIVE;
}
