// The director daemon: one capture backend, the pipeline, the director core, neighbour
// resolution and the housekeeping clock. With `workers` the packets are forwarded by
// worker threads (src/control/daemon-workers.ts) and this thread's backend and pipeline
// handle ARP only; the director here is then the control-plane model, its counters
// folded in from the workers by refresh(). It owns the VIPs at L2 (gratuitous ARP at
// start, ARP answers), reloads its configuration without dropping connections, and can
// write a status snapshot (ipvsadm's snapshot form) for tools and the demo.
//
// High availability: `sync` is the connection-sync engine (src/ha/sync/manager.ts; the
// control socket's --start-daemon/--stop-daemon, the config's `sync:` section and VRRP
// drive it). Standby is one per-VIP mechanism in the pipeline: a VIP on standby gets no
// ARP answers, no echo replies, no forwarding and no gratuitous ARP.
//   - setVipsActive(vips, bool): VRRP, per instance's VIPs, until it becomes MASTER.
//   - setActive(bool): the whole director (--standby, SIGUSR1/SIGUSR2): every VIP, present
//     and future; setActive(true) lifts that and announces the VIPs that are not held on
//     standby by VRRP.

import { writeFileSync, renameSync } from 'node:fs';
import { formatV4 } from '../core/addr';
import { AF_INET } from '../core/constants';
import { Director } from '../core/director';
import { DROP_NAMES } from '../core/drops';
import type { Dest } from '../core/dest';
import type { IoBackend } from '../io/backend';
import { snapshotFromTable, type IpvsSnapshot } from '../ipvsadm/snapshot';
import { buildArpFrame, gratuitousArp } from '../wire/arp';
import { Neighbours } from '../dataplane/neighbours';
import type { EarlyDrop } from '../dataplane/early-drop';
import { Pipeline } from '../dataplane/pipeline';
import type { NativeConfig } from '../config/native-config';
import type { LoadedConfig } from '../config/detect';
import { serviceKey } from '../core/service';
import { HealthMonitor, type HealthEvent } from '../health/monitor';
import type { HealthConfig } from '../health/types';
import { reconcile, type ReconcileReport } from './reconcile';
import { SyncManager, type SyncDaemonConfig } from '../ha/sync/manager';
import type { SyncSendRules } from '../ha/sync/master';
import { DataPlaneWorkers, type WorkerFigures, type WorkersOptions } from './daemon-workers';
import type { ConnSnapshot } from '../ipvsadm/snapshot';
import type { VrrpStatus } from '../ha/vrrp/vrrp';
import type { SyncFollowStatus } from '../ha/follow';

export type Logger = (msg: string) => void;

export interface DaemonOptions {
  backend: IoBackend;
  /** The director's own IPv4 address on the interface. */
  ourIp: number;
  maxConns?: number;
  log: Logger;
  statusFile?: string;
  /** Drops the kernel's copy of VIP traffic at nft netdev ingress (src/dataplane/early-drop.ts). */
  earlyDrop?: EarlyDrop | null;
  /** Start as a standby (no ARP answers, no gratuitous ARP) until setActive(true). */
  standby?: boolean;
  /** Sync sending rules and message version (the config's `sync:` tunables). */
  syncRules?: Partial<SyncSendRules>;
  syncVersion?: 0 | 1;
  /**
   * Forward in worker threads (src/control/daemon-workers.ts). `backend` is then the main
   * thread's ARP-only socket (openCapture(..., MAIN_THREAD, n)). Absent: forward here.
   */
  workers?: WorkersOptions | null;
}

export interface DaemonStatus extends IpvsSnapshot {
  drops: Record<string, number>;
  pipeline: Record<string, number>;
  conns: number;
  unresolved: string[];
  health: { counters: Record<string, number>; reals: Record<string, { real: string; status: string; failures: number }[]> } | null;
  /** False while the whole director is a standby (setActive(false)). */
  active: boolean;
  sync: Record<string, number>;
  /** With worker threads: each one's CPU and own counts (the totals above include them). */
  workers?: WorkerFigures[];
  /** VRRP instances and drops, when --vrrp is given. */
  vrrp?: VrrpStatus;
  /** Sync following a VRRP instance, and its catch-up. */
  follow?: SyncFollowStatus;
}

export class Daemon {
  readonly director: Director;
  readonly pipeline: Pipeline;
  readonly neighbours: Neighbours;
  private readonly backend: IoBackend;
  private readonly log: Logger;
  private timer: NodeJS.Timeout | null = null;
  private readonly t0 = Date.now();
  private vipsKey = '';
  private readonly statusFile: string | undefined;
  private readonly earlyDrop: EarlyDrop | null;
  /** Connection sync (master and/or backup). */
  readonly sync: SyncManager;
  private active: boolean;
  /** The data-plane workers, when the daemon forwards in several threads. */
  readonly workers: DataPlaneWorkers | null;

  constructor(opts: DaemonOptions) {
    this.backend = opts.backend;
    this.log = opts.log;
    this.statusFile = opts.statusFile;
    this.earlyDrop = opts.earlyDrop ?? null;
    this.director = new Director({ maxConns: opts.maxConns ?? 1 << 20, now: 0 });
    this.neighbours = new Neighbours(opts.backend.mac, opts.ourIp, (f, len) => this.pipeline.queueFrame(f, len));
    this.pipeline = new Pipeline(this.director, opts.backend, opts.ourIp, this.neighbours);
    this.workers = opts.workers ? new DataPlaneWorkers(this.director, this.pipeline.stats, { ...opts.workers, ourIp: opts.ourIp, t0: this.t0, log: this.log }) : null;
    this.neighbours.onChange = (ip, mac) => {
      this.log(mac ? `real server ${formatV4(ip)} is at ${[...mac].map((b) => b.toString(16).padStart(2, '0')).join(':')}` : `real server ${formatV4(ip)} stopped answering ARP: unavailable`);
      this.workers?.push(); // the workers forward with the MACs resolved here
    };
    this.director.services.onDestRemoved = (d: Dest) => this.neighbours.untrack(d);
    this.sync = new SyncManager(this.director, { log: this.log, rules: opts.syncRules, version: opts.syncVersion, shards: this.workers });
    this.active = !opts.standby;
    this.pipeline.setAllVipsActive(this.active);
    this.workers?.setStandby(this.pipeline.standbyState());
  }

  /** False while the whole director is a standby (VRRP may still hold some VIPs back). */
  get isActive(): boolean {
    return this.active;
  }

  /**
   * Whole-director standby switch (all VIPs). false: every VIP on standby (no ARP answers,
   * no forwarding, no gratuitous ARP; synced conns are kept). true: lift it and announce
   * the VIPs with gratuitous ARP at once, so the segment moves to us (take-over); VIPs that
   * VRRP holds on standby stay so.
   */
  setActive(active: boolean): void {
    if (active === this.active) return;
    this.active = active;
    this.pipeline.setAllVipsActive(active);
    this.workers?.setStandby(this.pipeline.standbyState());
    this.log(active ? 'active: taking over the VIPs (gratuitous ARP)' : 'standby: not answering for the VIPs');
    if (active && this.timer) this.announce();
    this.writeStatus();
  }

  /** Starts the sync daemons a configuration asks for (errors are thrown as IpvsError). */
  startSync(daemons: readonly SyncDaemonConfig[]): void {
    for (const d of daemons) this.sync.start(d);
  }

  /** With workers: starts them (one by one) and sends them the configuration. Call before start(). */
  async startWorkers(): Promise<void> {
    await this.workers?.start();
  }

  /** With workers: folds their counters into `director` (listings, status, metrics read it). */
  refresh(): void {
    this.workers?.pull();
  }

  /** Entries in the connection table(s): the workers' shards summed, or this thread's table. */
  connCount(): number {
    return this.workers ? this.workers.shared.table().size : this.director.conns.size;
  }

  /** Every connection (`-L -c`): from the workers' shards, or null when this thread forwards. */
  connections(): Promise<ConnSnapshot[]> | null {
    return this.workers ? this.workers.connections() : null;
  }

  /** The health checker, once a configuration asks for checks. */
  monitor: HealthMonitor | null = null;
  /** Set by the VRRP runner: its part of the status. */
  vrrpStatus: (() => VrrpStatus) | null = null;
  /** Set when sync follows VRRP: its part of the status. */
  followStatus: (() => SyncFollowStatus) | null = null;
  /** Health transitions seen (for status and metrics). */
  readonly healthEvents: HealthEvent[] = [];

  /**
   * Applies a configuration of either format (start, SIGHUP or autoreload). Services of a
   * native config are reconciled; virtuals with health checks (every ldirectord.cf
   * virtual, native services with a `healthcheck:` mapping) get their real servers from
   * the health monitor instead. Existing connections are kept.
   */
  applyLoaded(loaded: LoadedConfig): ReconcileReport {
    let health: HealthConfig;
    let report: ReconcileReport = { added: [], changed: [], removed: [] };
    if (loaded.kind === 'native' && loaded.native) {
      const native = loaded.native;
      const checked = loaded.health.virtuals.filter((_, i) => native.services[i]?.health !== undefined);
      const managed = new Set(checked.map((v) => serviceKey(v.service.af, v.service.proto, v.service.addr, v.service.port, v.service.fwmark)));
      report = reconcile(this.director, native, managed);
      health = { ...loaded.health, virtuals: checked };
    } else {
      health = loaded.health;
    }
    if (this.monitor) this.monitor.update(health);
    else if (health.virtuals.length > 0) {
      this.monitor = new HealthMonitor(this.director, health, this.log, {
        onChange: (e) => {
          this.healthEvents.push(e);
          if (this.healthEvents.length > 1000) this.healthEvents.shift();
          this.afterChange();
        },
      });
      this.monitor.start();
    }
    this.afterChange();
    return report;
  }

  /** Applies a native configuration (start or reload); existing connections are kept. */
  apply(config: NativeConfig): ReconcileReport {
    const report = reconcile(this.director, config);
    this.afterChange();
    return report;
  }

  /** Seconds on the daemon's clock. */
  now(): number {
    return Math.floor((Date.now() - this.t0) / 1000);
  }

  start(): void {
    this.earlyDrop?.apply([...this.director.index.vips4].sort((a, b) => a - b));
    this.backend.start(this.pipeline.onBlock);
    this.announce();
    this.timer = setInterval(() => this.tick(), 1000);
    this.timer.unref();
    this.writeStatus();
  }

  /** Gratuitous ARP for every VIP not on standby (at start, and when VIPs change); none when the VIPs are routed to us (TUN). */
  announce(): void {
    if (this.backend.ownsVipAtL2 === false) return;
    for (const vip of this.director.index.vips4) {
      if (!this.pipeline.isVipActive(vip)) continue;
      const frame = buildArpFrame(gratuitousArp(this.backend.mac, vip));
      for (let i = 0; i < 3; i++) this.pipeline.queueFrame(frame, frame.length);
    }
    this.pipeline.flush();
  }

  /**
   * VRRP: own these VIPs (true: answer ARP and ping, forward) or stand by for them (false),
   * from the next frame on. Per VIP set, independent of any whole-daemon switch.
   */
  setVipsActive(vips: readonly number[], active: boolean): void {
    this.pipeline.setVipsActive(vips, active);
    this.workers?.setStandby(this.pipeline.standbyState());
    this.writeStatus();
  }

  /** One gratuitous ARP for each of these VIPs (VRRP's rounds on becoming master). */
  announceVips(vips: readonly number[]): void {
    for (const vip of vips) {
      if (!this.pipeline.isVipActive(vip)) continue;
      const frame = buildArpFrame(gratuitousArp(this.backend.mac, vip));
      this.pipeline.queueFrame(frame, frame.length);
    }
    this.pipeline.flush();
  }

  stop(): void {
    this.sync.close();
    void this.monitor?.stop();
    this.workers?.stop();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.backend.stop();
    this.writeStatus();
    this.earlyDrop?.remove();
    this.backend.close();
  }

  status(): DaemonStatus {
    this.refresh();
    const snap = snapshotFromTable(this.director.services, {
      connTabSize: this.director.conns.slots,
      timeouts: this.director.timeouts.get(),
      daemons: this.sync.daemons(),
    });
    const drops: Record<string, number> = {};
    this.director.drops.forEach((n, i) => {
      if (n > 0 && i > 0) drops[DROP_NAMES[i]] = n;
    });
    return {
      ...snap,
      drops,
      pipeline: { ...this.pipeline.stats },
      conns: this.connCount(),
      unresolved: this.neighbours.unresolved().map(formatV4),
      health: this.monitor ? { counters: { ...this.monitor.counters }, reals: this.monitor.status() } : null,
      active: this.active,
      sync: this.sync.counters(),
      ...(this.workers ? { workers: this.workers.perWorker() } : {}),
      ...(this.vrrpStatus ? { vrrp: this.vrrpStatus() } : {}),
      ...(this.followStatus ? { follow: this.followStatus() } : {}),
    };
  }

  private tick(): void {
    const now = this.now();
    this.refresh(); // before the rate estimator samples the counters
    this.director.tick(now);
    this.neighbours.tick(now);
    this.pipeline.flush();
    this.writeStatus();
  }

  /** Called by the control socket after an ipvsadm command changed the configuration. */
  controlChanged(): void {
    this.afterChange();
    this.writeStatus();
  }

  private afterChange(): void {
    this.director.sync();
    for (const svc of this.director.services.services) {
      if (svc.af !== AF_INET) continue;
      for (const d of svc.dests) if (d.addr.af === AF_INET) this.neighbours.track(d);
    }
    const vips = [...this.director.index.vips4].sort((a, b) => a - b);
    const key = vips.join(',');
    if (key !== this.vipsKey) {
      this.backend.setVips(vips);
      if (this.timer) this.earlyDrop?.apply(vips); // before start(): installed by start()
      const fresh = this.vipsKey !== '';
      this.vipsKey = key;
      if (fresh || this.timer) this.announce();
    }
    this.pipeline.flush();
    this.workers?.push();
  }

  private writeStatus(): void {
    if (!this.statusFile) return;
    const tmp = `${this.statusFile}.tmp`;
    try {
      writeFileSync(tmp, JSON.stringify(this.status()));
      renameSync(tmp, this.statusFile);
    } catch (e) {
      this.log(`cannot write status file ${this.statusFile}: ${(e as Error).message}`);
    }
  }
}
