// Runs the configured VRRP instances for the daemon: sockets, link watching, dispatching
// received adverts by VRID, and acting on state changes.
//
//   received datagram ─► decodePacket (packet.ts) ─► drop counted by reason, or
//                        instance for (interface, VRID) ─► instance.receive (instance.ts)
//   state change      ─► log line, counters, owner.setVipsActive(vips, MASTER?)
//                        MASTER: gratuitous ARP, garp_master_repeat rounds now and again
//                        after garp_master_delay (reference §5.3), optional refresh
//                        keepalived's notify scripts for the new state (notify.ts)
//   link down / up    ─► instance.setFault (polled from sysfs every 250 ms), also for the
//                        interfaces of track_interface
//   check scripts     ─► track_script (track.ts): priority moved by weights, or FAULT
//   stop()            ─► every master resigns with priority 0, sockets closed, notify_stop
//   reload(config)    ─► SIGHUP: instances kept by name change their settings in place
//                        (a master stays master), new ones start, removed ones resign
//
// The owner (the Daemon) decides what "owning a VIP" means: answering ARP and ping for it,
// forwarding its traffic. Nothing here touches the data path.

import { formatV4 } from '../../core/addr';
import type { VrrpConfig, VrrpInstanceConfig, VrrpState } from './config';
import { VrrpInstance, realClock, type Clock } from './instance';
import { DROP_REASONS, VRRP_GROUP4, decodePacket, encodePacket, type DropReason } from './packet';
import { VrrpSocket, linkUp, type VrrpSocketLike } from './socket';
import { NotifyScriptRunner, runScript, type ScriptRunner } from './notify';
import { ScriptCheck, trackOutcome } from './track';

/** What the daemon does for VRRP. */
export interface VipOwner {
  /** Start (true) or stop (false) answering ARP/ping for these VIPs and forwarding to them. */
  setVipsActive(vips: number[], active: boolean): void;
  /** One round of gratuitous ARP for each of these VIPs. */
  announceVips(vips: number[]): void;
}

export interface VrrpInstanceStatus {
  name: string;
  interface: string;
  vrid: number;
  version: number;
  priority: number;
  state: VrrpState;
  /** The master we hear (dotted quad), "" when none or when we are master. */
  master: string;
  since: string;
  vips: string[];
  counters: Record<string, number>;
}

export interface VrrpStatus {
  instances: VrrpInstanceStatus[];
  drops: Record<string, number>;
}

export interface VrrpRunnerOptions {
  owner: VipOwner;
  log: (msg: string) => void;
  /** The first IPv4 address of an interface (0 = none). */
  addressOf: (ifname: string) => number;
  clock?: Clock;
  /** For tests: a socket that does not touch the system. */
  openSocket?: (ifname: string, onPacket: (buf: Uint8Array) => void, onError: (msg: string) => void) => VrrpSocketLike;
  linkUp?: (ifname: string) => boolean;
  linkPollMs?: number;
  /** Told of every state change (after the VIPs were switched): sync follows it (src/ha/follow.ts). */
  onState?: (instance: string, from: VrrpState, to: VrrpState) => void;
  /** While true for an instance it does not preempt (sync catch-up, src/ha/catchup.ts). */
  holdPreempt?: (instance: string) => boolean;
  /** For tests: runs a notify or check script instead of spawning it. */
  runScript?: ScriptRunner;
}

/** Numeric state for the metrics gauge: INIT 0, BACKUP 1, MASTER 2, FAULT 3. */
export const STATE_CODE: Record<VrrpState, number> = { INIT: 0, BACKUP: 1, MASTER: 2, FAULT: 3 };

interface Running {
  inst: VrrpInstance;
  cfg: VrrpInstanceConfig;
  since: number;
  garpTimers: unknown[];
  /** Removed by a reload: its stop runs notify_stop. */
  removing?: boolean;
}

/** What a reload did, by instance name. */
export interface VrrpReloadReport {
  added: string[];
  changed: string[];
  /** Interface, VRID or version changed: stopped and started again. */
  restarted: string[];
  removed: string[];
}

export class VrrpRunner {
  readonly drops: Record<DropReason, number>;
  private readonly running: Running[] = [];
  private readonly sockets = new Map<string, VrrpSocketLike>();
  private readonly clock: Clock;
  private linkTimer: NodeJS.Timeout | null = null;
  private readonly linkState = new Map<string, boolean>();
  readonly scripts: NotifyScriptRunner;
  private stopping = false;
  /** The vrrp_script checks some instance tracks, by name. */
  readonly checks = new Map<string, ScriptCheck>();

  private started = false;

  constructor(public config: VrrpConfig, private readonly opts: VrrpRunnerOptions) {
    this.clock = opts.clock ?? realClock;
    this.scripts = new NotifyScriptRunner(opts.log, opts.runScript);
    this.drops = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>;
    this.syncChecks(config);
    for (const cfg of config.instances) this.running.push(this.makeRunning(cfg));
  }

  private makeRunning(cfg: VrrpInstanceConfig): Running {
    const r: Running = { cfg, since: this.clock.now(), garpTimers: [], inst: null as unknown as VrrpInstance };
    r.inst = new VrrpInstance(cfg, cfg.unicastSrc || this.opts.addressOf(cfg.interface), this.clock, {
      send: (a) => this.sendAdvert(r, a),
      onState: (from, to, why) => this.stateChanged(r, from, to, why),
      onDrop: (reason) => this.drops[reason]++,
      holdPreempt: () => this.opts.holdPreempt?.(cfg.name) ?? false,
    });
    return r;
  }

  /**
   * One check per vrrp_script some instance tracks: a check whose settings did not change
   * keeps running (and its status); others are stopped, created or replaced.
   */
  private syncChecks(config: VrrpConfig): void {
    const tracked = new Set(config.instances.flatMap((c) => c.trackScripts.map((t) => t.name)));
    const want = new Map(config.scripts.filter((s) => tracked.has(s.name)).map((s) => [s.name, s]));
    for (const [name, c] of this.checks) {
      const w = want.get(name);
      if (w && JSON.stringify({ ...w, line: 0 }) === JSON.stringify({ ...c.cfg, line: 0 })) {
        want.delete(name);
        continue;
      }
      c.stop();
      this.checks.delete(name);
    }
    for (const s of want.values()) {
      const c = new ScriptCheck(s, this.opts.runScript ?? runScript, this.clock, (chk) => {
        this.opts.log(`VRRP: check script ${chk.cfg.name} is now ${chk.status} (${chk.runs} runs, ${chk.failures} failed)`);
        this.retrack();
      });
      this.checks.set(s.name, c);
      if (this.started) c.start();
    }
  }

  /** Every VIP of every instance (the daemon starts with them inactive). */
  allVips(): number[] {
    return this.config.instances.flatMap((c) => c.vips);
  }

  /** Opens the sockets (throws when it cannot, e.g. without CAP_NET_RAW) and starts every instance. */
  start(): void {
    this.openSockets();
    for (const r of this.running) this.startOne(r);
    for (const c of this.checks.values()) c.start();
    this.started = true;
    this.retrack();
    const isUp = this.opts.linkUp ?? linkUp;
    this.linkTimer = setInterval(() => this.pollLinks(isUp), this.opts.linkPollMs ?? 250);
    this.linkTimer.unref();
  }

  /** A socket for every interface an instance runs on (new ones only). */
  private openSockets(): void {
    const open = this.opts.openSocket ?? ((ifname, onPacket, onError) => new VrrpSocket(ifname, onPacket, onError));
    for (const ifname of new Set(this.running.map((r) => r.cfg.interface))) {
      if (!this.sockets.has(ifname)) this.sockets.set(ifname, open(ifname, (buf) => this.receive(ifname, buf), (msg) => this.opts.log(msg)));
    }
  }

  private startOne(r: Running): void {
    const isUp = this.opts.linkUp ?? linkUp;
    for (const ifname of [r.cfg.interface, ...r.cfg.trackInterfaces.map((t) => t.name)]) {
      if (!this.linkState.has(ifname)) this.linkState.set(ifname, isUp(ifname));
    }
    r.inst.start();
  }

  /**
   * SIGHUP: applies a new configuration without a needless state change. An instance kept
   * by name with the same interface, VRID and version takes the new settings in place (a
   * master stays master: new VIPs are announced, removed ones given up, a new priority
   * advertised at once); one whose interface, VRID or version changed is stopped and
   * started again; new instances start as at start-up (VIPs on standby until MASTER);
   * removed ones resign (priority 0) and run notify_stop. Check scripts whose settings did
   * not change keep running.
   */
  reload(next: VrrpConfig): VrrpReloadReport {
    const report: VrrpReloadReport = { added: [], changed: [], restarted: [], removed: [] };
    const byName = new Map(next.instances.map((c) => [c.name, c]));
    for (const r of [...this.running]) {
      const n = byName.get(r.cfg.name);
      if (n && n.interface === r.cfg.interface && n.vrid === r.cfg.vrid && n.version === r.cfg.version) continue;
      r.removing = true;
      r.inst.stop();
      this.running.splice(this.running.indexOf(r), 1);
      (n ? report.restarted : report.removed).push(r.cfg.name);
    }
    this.syncChecks(next);
    const fresh: Running[] = [];
    for (const n of next.instances) {
      const r = this.running.find((x) => x.cfg.name === n.name);
      if (!r) {
        const nr = this.makeRunning(n);
        this.running.push(nr);
        fresh.push(nr);
        if (!report.restarted.includes(n.name)) report.added.push(n.name);
        continue;
      }
      if (JSON.stringify({ ...r.cfg, line: 0 }) === JSON.stringify({ ...n, line: 0 })) continue;
      const gone = r.cfg.vips.filter((v) => !n.vips.includes(v));
      const added = n.vips.filter((v) => !r.cfg.vips.includes(v));
      r.inst.reconfigure(n);
      if (gone.length) this.opts.owner.setVipsActive(gone, false);
      if (added.length) {
        const master = r.inst.state === 'MASTER';
        this.opts.owner.setVipsActive(added, master);
        if (master) this.opts.owner.announceVips(added);
      }
      report.changed.push(n.name);
    }
    this.config = next;
    if (this.started) {
      this.openSockets();
      for (const r of fresh) {
        this.opts.owner.setVipsActive(r.cfg.vips, false);
        this.startOne(r);
      }
      const used = new Set(this.running.map((r) => r.cfg.interface));
      for (const [ifname, s] of this.sockets) {
        if (used.has(ifname)) continue;
        s.close();
        this.sockets.delete(ifname);
      }
      this.retrack();
    }
    return report;
  }

  /** Shutdown: masters resign (priority 0), VIPs are given up, sockets closed. */
  stop(): void {
    if (this.linkTimer) clearInterval(this.linkTimer);
    this.linkTimer = null;
    this.stopping = true;
    for (const c of this.checks.values()) c.stop();
    for (const r of this.running) r.inst.stop();
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
  }

  /** A datagram from an interface's socket (never throws). */
  receive(ifname: string, buf: Uint8Array): void {
    const d = decodePacket(buf);
    if (!d.ok) {
      this.drops[d.reason]++;
      return;
    }
    const a = d.packet.advert;
    const r = this.running.find((x) => x.cfg.interface === ifname && x.cfg.vrid === a.vrid);
    if (!r) {
      this.drops.vrid++;
      return;
    }
    r.inst.receive(a, d.packet.src);
  }

  status(): VrrpStatus {
    return {
      instances: this.running.map((r) => ({
        name: r.cfg.name,
        interface: r.cfg.interface,
        vrid: r.cfg.vrid,
        version: r.cfg.version,
        priority: r.inst.priority,
        state: r.inst.state,
        master: r.inst.state === 'MASTER' ? formatV4(r.inst.ourIp) : r.inst.masterIp ? formatV4(r.inst.masterIp) : '',
        since: new Date(r.since).toISOString(),
        vips: r.cfg.vips.map(formatV4),
        counters: { ...r.inst.counters },
      })),
      drops: { ...this.drops },
    };
  }

  instances(): readonly VrrpInstance[] {
    return this.running.map((r) => r.inst);
  }

  private pollLinks(isUp: (ifname: string) => boolean): void {
    let changed = false;
    for (const [ifname, was] of this.linkState) {
      const up = isUp(ifname);
      if (up === was) continue;
      changed = true;
      this.linkState.set(ifname, up);
      this.opts.log(`VRRP: link ${ifname} ${up ? 'up' : 'down'}`);
      if (up) {
        // the address may have changed while the link was down
        for (const r of this.running) if (r.cfg.interface === ifname && !r.cfg.unicastSrc) r.inst.ourIp = this.opts.addressOf(ifname) || r.inst.ourIp;
      }
    }
    if (changed) this.retrack();
  }

  /**
   * Applies links and checks to every instance: its priority (track.ts) and FAULT while
   * its own link is down or tracking says so. Called whenever one of them changes.
   */
  private retrack(): void {
    if (this.stopping) return;
    const up = (ifname: string) => this.linkState.get(ifname) ?? true;
    for (const r of this.running) {
      const t = trackOutcome(r.cfg, up, (name) => this.checks.get(name));
      if (t.priority !== r.inst.priority) {
        this.opts.log(`VRRP ${r.cfg.name}: priority ${r.inst.priority} -> ${t.priority} (tracking)`);
        r.inst.setPriority(t.priority);
      }
      const ownUp = up(r.cfg.interface);
      const fault = !ownUp || t.fault !== null;
      if (fault === (r.inst.state === 'FAULT')) continue;
      r.inst.setFault(fault, fault ? (ownUp ? t.fault! : 'interface down') : (r.cfg.trackInterfaces.length || r.cfg.trackScripts.length ? 'interface up, tracking ok' : 'interface up'));
    }
  }

  private sendAdvert(r: Running, a: Parameters<typeof encodePacket>[0]): void {
    const sock = this.sockets.get(r.cfg.interface);
    if (!sock) return;
    const src = r.inst.ourIp;
    const dsts = r.cfg.unicastPeers.length ? r.cfg.unicastPeers : [VRRP_GROUP4];
    for (const dst of dsts) sock.send(encodePacket(a, src, dst), dst);
  }

  private stateChanged(r: Running, from: VrrpState, to: VrrpState, why: string): void {
    r.since = this.clock.now();
    this.opts.log(`VRRP ${r.cfg.name} (VRID ${r.cfg.vrid} on ${r.cfg.interface}, priority ${r.cfg.priority}): ${from} -> ${to}: ${why}`);
    for (const t of r.garpTimers) this.clock.clearTimer(t);
    r.garpTimers = [];
    if (to === 'MASTER') {
      this.opts.owner.setVipsActive(r.cfg.vips, true);
      this.garp(r, r.cfg.garpMasterRepeat);
      if (r.cfg.garpMasterDelaySec > 0) {
        r.garpTimers.push(this.clock.setTimer(r.cfg.garpMasterDelaySec * 1000, () => this.garp(r, r.cfg.garpMasterRepeat)));
      }
      if (r.cfg.garpMasterRefreshSec > 0) this.scheduleRefresh(r);
    } else if (from === 'MASTER' || to === 'INIT' || to === 'FAULT') {
      this.opts.owner.setVipsActive(r.cfg.vips, false);
    }
    this.opts.onState?.(r.cfg.name, from, to);
    // INIT: a stop (notify_stop), or passing through when the link comes back (no script)
    if (to !== 'INIT') this.scripts.notify(r.cfg, to, r.inst.priority);
    else if (this.stopping || r.removing) this.scripts.notify(r.cfg, 'STOP', r.inst.priority);
  }

  private scheduleRefresh(r: Running): void {
    r.garpTimers.push(this.clock.setTimer(r.cfg.garpMasterRefreshSec * 1000, () => {
      if (r.inst.state !== 'MASTER') return;
      this.garp(r, 1);
      this.scheduleRefresh(r);
    }));
  }

  private garp(r: Running, rounds: number): void {
    if (r.inst.state !== 'MASTER') return;
    for (let i = 0; i < rounds; i++) this.opts.owner.announceVips(r.cfg.vips);
  }
}
