// One VRRP instance (virtual router): the state machine of RFC 5798 §6.4, with keepalived's
// additions (reference §5.2-5.4). No I/O here: the clock, sending an advertisement and the
// reaction to a state change are injected, so tests drive it with a fake clock.
//
// In words. An instance has a priority (1..254, or 255 if it owns the addresses), an
// advertisement interval, and a set of VIPs. It is in one of four states:
//
//   INIT    before start() and after stop().
//   BACKUP  it listens. A Master_Down_Timer runs for Master_Down_Interval =
//           3 × Master_Adver_Interval + Skew_Time, where Skew_Time = (256 − priority) ×
//           Master_Adver_Interval / 256 (v3; v2 uses (256 − priority)/256 s). So the
//           higher our priority, the sooner we would step in. Each advert from the master
//           restarts the timer, unless we would preempt it (below). An advert with
//           priority 0 (the master resigns) cuts the timer to Skew_Time. When the timer
//           fires, nobody is master: we become MASTER.
//           In v3 a backup adopts the master's advertised interval as Master_Adver_Interval.
//   MASTER  it owns the VIPs (answers ARP, forwards), sends an advert every interval, and
//           gratuitous ARP on entry. An advert with a higher priority (or the same priority
//           from a higher IP address) makes it step down to BACKUP. A lower-priority advert
//           is ignored but answered at once with our own advert, so the other side learns
//           of us quickly (keepalived does so). A priority-0 advert is answered the same way.
//   FAULT   the interface is down: no VIPs, no adverts, adverts are ignored. When the link
//           comes back we start again as BACKUP (or MASTER for an owner).
//
// Preemption: a backup with a higher priority than the current master's lets the master's
// adverts go by without restarting its timer, so it takes over after Master_Down_Interval.
// With `nopreempt` it restarts the timer on any advert and stays backup while a master
// lives. `preempt_delay D` tolerates a lower-priority master for D seconds after we
// (re)entered BACKUP, then preempts it.
//
// Catch-up hold (hooks.holdPreempt, src/ha/catchup.ts): while it says so, the instance
// neither preempts a live master nor claims mastership at start (priority 255 and `state
// MASTER` start as BACKUP); it still becomes MASTER when no master is heard, since then
// there is nothing to catch up from. Once the hold lifts, preemption follows the config.
//
// Start: priority 255 or `state MASTER` go to MASTER at once (keepalived's reading of
// `state MASTER`; adverts settle a conflict within one interval); others go to BACKUP.
// stop(): a master sends one advert with priority 0 (so its backup takes over after
// Skew_Time instead of Master_Down_Interval) and gives the VIPs up.

import type { VrrpInstanceConfig, VrrpState } from './config';
import { AUTH_NONE, passAuthData, type Advert, type DropReason } from './packet';

export interface Clock {
  /** Milliseconds. */
  now(): number;
  setTimer(ms: number, fn: () => void): unknown;
  clearTimer(handle: unknown): void;
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimer: (ms, fn) => setTimeout(fn, ms),
  clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface InstanceHooks {
  /** Send one advertisement with this priority (the I/O layer picks destinations). */
  send(advert: Advert): void;
  /** Called after every state change, with the reason in words. */
  onState(from: VrrpState, to: VrrpState, why: string): void;
  /** Counted drops that the instance itself decides (version, auth, interval, addresses). */
  onDrop(reason: DropReason): void;
  /** While true: no preemption, no mastership claimed at start (sync catch-up). */
  holdPreempt?(): boolean;
}

export class InstanceCounters {
  advertsSent = 0;
  advertsReceived = 0;
  transitions = 0;
  becameMaster = 0;
  priorityZeroSent = 0;
  priorityZeroReceived = 0;
  /** Adverts of a lower-priority master not preempted because of the catch-up hold. */
  preemptHeld = 0;
}

export class VrrpInstance {
  state: VrrpState = 'INIT';
  readonly counters = new InstanceCounters();
  /** The master we last heard from (0 = none or us). */
  masterIp = 0;
  masterPriority = 0;
  /**
   * The priority we advertise and elect with: the configured one, moved by tracking
   * (track.ts calls setPriority). An address owner (255) is never moved.
   */
  priority: number;
  /** Master_Adver_Interval in centiseconds (v3 backups adopt the master's). */
  masterAdverCs: number;
  private timer: unknown = null;
  private timerKind: 'adver' | 'down' | null = null;
  /** When we last entered BACKUP (for preempt_delay). */
  private backupSince = 0;
  /** The master resigned (priority 0): the down timer runs for Skew_Time only. */
  private resigned = 0;
  private authData: Uint8Array;

  constructor(
    readonly cfg: VrrpInstanceConfig,
    /** Our own source address on the interface (ties between equal priorities; own adverts). */
    public ourIp: number,
    private readonly clock: Clock,
    private readonly hooks: InstanceHooks,
  ) {
    this.masterAdverCs = cfg.advertIntCs;
    this.priority = cfg.priority;
    this.authData = cfg.authType === AUTH_NONE ? new Uint8Array(8) : passAuthData(cfg.authPass);
  }

  /** Skew_Time in ms. */
  skewMs(): number {
    const p = this.priority;
    return this.cfg.version === 2 ? ((256 - p) * 1000) / 256 : ((256 - p) * this.masterAdverCs * 10) / 256;
  }

  /** Master_Down_Interval in ms. */
  masterDownMs(): number {
    return 3 * this.masterAdverCs * 10 + this.skewMs();
  }

  start(): void {
    if (this.state !== 'INIT') return;
    if ((this.cfg.priority === 255 || this.cfg.initialState === 'MASTER') && this.hooks.holdPreempt?.()) {
      this.becomeBackup('start: catching up on connection sync before claiming mastership', this.masterDownMs());
    } else if (this.cfg.priority === 255) this.becomeMaster('priority 255 (address owner)');
    else if (this.cfg.initialState === 'MASTER') this.becomeMaster('state MASTER in the configuration');
    else this.becomeBackup('start', this.masterDownMs());
  }

  /**
   * Tracking moved our priority (1..254; an address owner stays at 255). A master
   * advertises the new value at once, so a backup that now ranks higher can preempt; a
   * backup compares it with the master's next advert.
   */
  setPriority(p: number): void {
    if (this.cfg.priority === 255 || p === this.priority) return;
    this.priority = p;
    if (this.state === 'MASTER') {
      this.sendAdvert(this.priority);
      this.armTimer('adver', this.cfg.advertIntCs * 10);
    }
  }

  /**
   * A reload changed settings of this instance that keep its identity (interface, VRID,
   * version): they apply from now on, in whatever state it is. The priority is then set
   * by the runner (tracking, setPriority), which a master advertises at once.
   */
  reconfigure(next: VrrpInstanceConfig): void {
    Object.assign(this.cfg, next);
    this.authData = this.cfg.authType === AUTH_NONE ? new Uint8Array(8) : passAuthData(this.cfg.authPass);
    if (this.state === 'MASTER') this.masterAdverCs = this.cfg.advertIntCs;
    if (this.cfg.priority === 255) this.priority = 255;
  }

  /** Shutdown: a master resigns with priority 0; then INIT. */
  stop(): void {
    if (this.state === 'MASTER') {
      this.sendAdvert(0);
      this.counters.priorityZeroSent++;
    }
    this.cancelTimer();
    this.setState('INIT', 'stopped');
  }

  /** The interface went down (true) or came back (false); `why` names another cause (tracking). */
  setFault(down: boolean, why?: string): void {
    if (down && this.state !== 'FAULT' && this.state !== 'INIT') {
      if (this.state === 'MASTER') {
        this.sendAdvert(0); // usually lost with the link, but costs nothing
        this.counters.priorityZeroSent++;
      }
      this.cancelTimer();
      this.masterIp = 0;
      this.setState('FAULT', why ?? 'interface down');
    } else if (!down && this.state === 'FAULT') {
      this.setState('INIT', why ?? 'interface up');
      const hold = this.hooks.holdPreempt?.() ?? false;
      if (this.cfg.priority === 255 && !hold) this.becomeMaster('interface up, priority 255');
      else this.becomeBackup(hold && this.cfg.priority === 255 ? 'interface up: catching up on connection sync before claiming mastership' : 'interface up', this.masterDownMs());
    }
  }

  /**
   * A received, well-formed advertisement for our VRID (packet.ts validated the IP and
   * VRRP headers). Checks what depends on our configuration, then runs the state machine.
   */
  receive(a: Advert, src: number): void {
    if (this.state === 'INIT' || this.state === 'FAULT') return;
    if (src === this.ourIp) return this.hooks.onDrop('own');
    if (a.version !== this.cfg.version) return this.hooks.onDrop('version');
    if (this.cfg.unicastPeers.length && !this.cfg.unicastPeers.includes(src)) return this.hooks.onDrop('not_peer');
    if (a.version === 2) {
      if (a.authType !== this.cfg.authType) return this.hooks.onDrop('auth');
      if (a.authType !== AUTH_NONE && !sameBytes(a.authData, this.authData)) return this.hooks.onDrop('auth');
      // RFC 3768 7.1: an interval other than ours is an error (v3 adopts the master's).
      if (a.intervalCs !== Math.max(100, Math.round(this.cfg.advertIntCs / 100) * 100)) return this.hooks.onDrop('interval');
    }
    if (!sameSet(a.addrs, this.cfg.vips)) return this.hooks.onDrop('addresses');
    this.counters.advertsReceived++;
    if (a.priority === 0) this.counters.priorityZeroReceived++;

    if (this.state === 'BACKUP') {
      if (a.priority === 0) {
        this.resigned = src;
        this.masterIp = 0;
        this.armTimer('down', this.skewMs());
        return;
      }
      this.resigned = 0;
      if (this.wouldPreempt(a.priority)) return; // let the timer run out: we take over
      this.masterIp = src;
      this.masterPriority = a.priority;
      if (this.cfg.version === 3 && a.intervalCs > 0) this.masterAdverCs = a.intervalCs;
      this.armTimer('down', this.masterDownMs());
      return;
    }
    // MASTER
    if (a.priority === 0) {
      this.sendAdvert(this.priority);
      this.armTimer('adver', this.cfg.advertIntCs * 10);
      return;
    }
    if (a.priority > this.priority || (a.priority === this.priority && src > this.ourIp)) {
      this.masterIp = src;
      this.masterPriority = a.priority;
      if (this.cfg.version === 3 && a.intervalCs > 0) this.masterAdverCs = a.intervalCs;
      this.becomeBackup(`higher priority master ${fmt(src)} (priority ${a.priority})`, this.masterDownMs());
      return;
    }
    // lower priority (or equal from a lower address): we stay; tell it now
    this.sendAdvert(this.priority);
    this.armTimer('adver', this.cfg.advertIntCs * 10);
  }

  private wouldPreempt(theirs: number): boolean {
    if (!this.cfg.preempt || theirs >= this.priority) return false;
    if (this.hooks.holdPreempt?.()) {
      this.counters.preemptHeld++;
      return false;
    }
    return this.clock.now() - this.backupSince >= this.cfg.preemptDelaySec * 1000;
  }

  private becomeMaster(why: string): void {
    this.masterIp = 0;
    this.resigned = 0;
    this.masterAdverCs = this.cfg.advertIntCs;
    this.sendAdvert(this.priority);
    this.counters.becameMaster++;
    this.setState('MASTER', why);
    this.armTimer('adver', this.cfg.advertIntCs * 10);
  }

  private becomeBackup(why: string, downMs: number): void {
    this.resigned = 0;
    this.backupSince = this.clock.now();
    this.setState('BACKUP', why);
    this.armTimer('down', downMs);
  }

  private onTimer(): void {
    this.timer = null;
    const kind = this.timerKind;
    this.timerKind = null;
    if (kind === 'down' && this.state === 'BACKUP') {
      if (this.resigned) return this.becomeMaster(`master ${fmt(this.resigned)} resigned (priority 0); Skew_Time ${Math.round(this.skewMs())} ms`);
      this.becomeMaster(this.masterIp ? `no advert from ${fmt(this.masterIp)} for ${Math.round(this.masterDownMs())} ms` : `no master for ${Math.round(this.masterDownMs())} ms`);
    } else if (kind === 'adver' && this.state === 'MASTER') {
      this.sendAdvert(this.priority);
      this.armTimer('adver', this.cfg.advertIntCs * 10);
    }
  }

  private armTimer(kind: 'adver' | 'down', ms: number): void {
    this.cancelTimer();
    this.timerKind = kind;
    this.timer = this.clock.setTimer(ms, () => this.onTimer());
  }

  private cancelTimer(): void {
    if (this.timer !== null) this.clock.clearTimer(this.timer);
    this.timer = null;
    this.timerKind = null;
  }

  private sendAdvert(priority: number): void {
    this.counters.advertsSent++;
    this.hooks.send({
      version: this.cfg.version,
      vrid: this.cfg.vrid,
      priority,
      intervalCs: this.cfg.advertIntCs,
      addrs: this.cfg.vips,
      authType: this.cfg.version === 2 ? this.cfg.authType : AUTH_NONE,
      authData: this.authData,
    });
  }

  private setState(to: VrrpState, why: string): void {
    const from = this.state;
    if (from === to) return;
    this.state = to;
    this.counters.transitions++;
    this.hooks.onState(from, to, why);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function sameSet(a: number[], b: number[]): boolean {
  if (a.length !== b.length) return false;
  for (const x of a) if (!b.includes(x)) return false;
  return true;
}

function fmt(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}
