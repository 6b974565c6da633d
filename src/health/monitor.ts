// The health monitor: runs each real's check every `checkinterval` seconds (per virtual)
// and applies ldirectord's state logic (§4.4) to the director through an Applier:
//   - a success resets the failure counter; a real not up is restored (-a, or -e with its
//     weight when it is still in the table quiesced);
//   - `failurecount` consecutive failures take it down: quiescent=yes -> -e weight 0 with
//     thresholds reset, quiescent=no -> -d;
//   - once every real has been checked and none is up, the fallback is added (weight 1)
//     and `fallbackcommand start VIP:PORT proto` runs; the first real back removes the
//     fallback and runs `fallbackcommand stop ...`;
//   - readdquiescent=yes: a quiesced real removed from the table by someone else is
//     re-added with weight 0 at its next check.
// checktype on adds every real without checks; off never adds reals or the fallback;
// combined N runs N connect checks, then one negotiate, in a cycle.
// Checks all run concurrently under a global bound (`maxInFlight`); each has a hard
// timeout, and stop() aborts them. Nothing in the check path blocks the event loop.

import type { Addr } from '../core/addr';
import type { Director } from '../core/director';
import type { DestSpec, ServiceRef } from '../core/services';
import { ServiceTable } from '../core/services';
import { IPPROTO_TCP, IPPROTO_UDP } from '../core/constants';
import { type Applier, ServiceTableApplier } from './applier';
import { type CheckResult, down, errText, hostPort, runCheck } from './check';
import { type CheckKind, runKind } from './dispatch';
import { spawnShell } from './external';
import type { HealthConfig, RealSpec, VirtualSpec } from './types';

export type HealthEventKind = 'up' | 'down' | 'fallback-on' | 'fallback-off';

export interface HealthEvent {
  kind: HealthEventKind;
  /** `TCP 192.0.2.100:80`, `UDP ...`, `FWM 5`. */
  virtual: string;
  /** `192.0.2.11:80`; absent for fallback events. */
  real?: string;
  reason: string;
}

export interface HealthCounters {
  checksRun: number;
  checkFailures: number;
  transitionsUp: number;
  transitionsDown: number;
  /** Times a virtual went to "no real up" (fallback added and/or fallbackcommand start). */
  fallbackActivations: number;
}

export interface HealthMonitorOptions {
  /** Global bound on checks in flight (default 32). */
  maxInFlight?: number;
  onChange?: (event: HealthEvent) => void;
}

export type RealStatus = 'unknown' | 'up' | 'down';

export interface RealStatusInfo {
  real: string;
  status: RealStatus;
  failures: number;
}

interface RealState {
  spec: RealSpec;
  key: string;
  status: RealStatus;
  failures: number;
  checked: boolean;
  round: number;
  busy: boolean;
}

interface VirtualState {
  spec: VirtualSpec;
  key: string;
  label: string;
  reals: Map<string, RealState>;
  timer: NodeJS.Timeout | null;
  allDown: boolean;
  fallbackAdded: boolean;
  cmdChain: Promise<void>;
}

type Job = () => Promise<void>;

export class HealthMonitor {
  readonly counters: HealthCounters = { checksRun: 0, checkFailures: 0, transitionsUp: 0, transitionsDown: 0, fallbackActivations: 0 };
  private readonly applier: Applier;
  private readonly virtuals = new Map<string, VirtualState>();
  private readonly queue: Job[] = [];
  private readonly running = new Set<Promise<void>>();
  private readonly maxInFlight: number;
  private readonly onChange: ((e: HealthEvent) => void) | undefined;
  private abort = new AbortController();
  private started = false;
  private config: HealthConfig;

  constructor(
    target: Director | ServiceTable | Applier,
    config: HealthConfig,
    private readonly log: (msg: string) => void,
    opts: HealthMonitorOptions = {},
  ) {
    if (target instanceof ServiceTable) this.applier = new ServiceTableApplier(target);
    else if ('services' in target && target.services instanceof ServiceTable) this.applier = new ServiceTableApplier(target.services);
    else this.applier = target as Applier;
    this.config = config;
    this.maxInFlight = Math.max(1, opts.maxInFlight ?? 32);
    this.onChange = opts.onChange;
  }

  /** Checks currently running (not counting queued ones). */
  get inFlight(): number {
    return this.running.size;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.abort = new AbortController();
    for (const v of this.config.virtuals) this.addVirtual(v);
  }

  /** Cancels timers and in-flight checks; resolves once they have all settled. */
  async stop(): Promise<void> {
    this.started = false;
    for (const vs of this.virtuals.values()) this.stopTimer(vs);
    this.queue.length = 0;
    this.abort.abort();
    await Promise.allSettled([...this.running]);
    await Promise.allSettled([...this.virtuals.values()].map((v) => v.cmdChain));
    for (const vs of this.virtuals.values()) for (const rs of vs.reals.values()) rs.busy = false;
  }

  /** Autoreload: diff virtuals and reals; unchanged reals keep their state. */
  update(config: HealthConfig): void {
    this.config = config;
    if (!this.started) return;
    const next = new Map(config.virtuals.map((v) => [virtualKey(v), v] as const));
    for (const [key, vs] of [...this.virtuals]) {
      const v = next.get(key);
      if (!v || v.checktype !== vs.spec.checktype) {
        this.removeVirtual(vs, !v);
      }
    }
    for (const [key, v] of next) {
      const vs = this.virtuals.get(key);
      if (!vs) this.addVirtual(v);
      else this.updateVirtual(vs, v);
    }
  }

  /** A snapshot of every real's state, by virtual label. */
  status(): Record<string, RealStatusInfo[]> {
    const out: Record<string, RealStatusInfo[]> = {};
    for (const vs of this.virtuals.values()) {
      out[vs.label] = [...vs.reals.values()].map((r) => ({ real: r.key, status: r.status, failures: r.failures }));
    }
    return out;
  }

  // ---- virtuals --------------------------------------------------------------------

  private addVirtual(v: VirtualSpec): void {
    const vs: VirtualState = {
      spec: v,
      key: virtualKey(v),
      label: virtualLabel(v),
      reals: new Map(),
      timer: null,
      allDown: false,
      fallbackAdded: false,
      cmdChain: Promise.resolve(),
    };
    this.virtuals.set(vs.key, vs);
    this.guard(`service ${vs.label}`, () => this.applier.ensureService(v.service));
    for (const r of v.reals) vs.reals.set(realKey(r), newRealState(r));
    if (v.checktype === 'on') {
      for (const rs of vs.reals.values()) this.markUp(vs, rs, 'checktype on');
      return;
    }
    if (v.checktype === 'off') return;
    this.tick(vs);
  }

  private updateVirtual(vs: VirtualState, v: VirtualSpec): void {
    const intervalChanged = v.checkinterval !== vs.spec.checkinterval;
    vs.spec = v;
    this.guard(`service ${vs.label}`, () => this.applier.ensureService(v.service));
    const wanted = new Map(v.reals.map((r) => [realKey(r), r] as const));
    for (const [key, rs] of [...vs.reals]) {
      if (!wanted.has(key)) {
        vs.reals.delete(key);
        this.removeDest(vs, rs.spec);
      }
    }
    for (const [key, r] of wanted) {
      const rs = vs.reals.get(key);
      if (!rs) {
        const n = newRealState(r);
        vs.reals.set(key, n);
        if (v.checktype === 'on') this.markUp(vs, n, 'checktype on');
        else if (v.checktype !== 'off' && this.started) this.schedule(vs, n);
        continue;
      }
      const old = rs.spec;
      rs.spec = r;
      const changed = old.weight !== r.weight || old.fwd !== r.fwd || old.uThreshold !== r.uThreshold || old.lThreshold !== r.lThreshold;
      if (changed && rs.status === 'up') this.guard(`real ${key}`, () => this.applier.editDest(v.service, destSpec(r, r.weight)));
    }
    if (intervalChanged && vs.timer) {
      this.stopTimer(vs);
      this.armTimer(vs);
    }
    this.updateFallback(vs);
  }

  private removeVirtual(vs: VirtualState, deleteService: boolean): void {
    this.stopTimer(vs);
    this.virtuals.delete(vs.key);
    if (deleteService) {
      this.guard(`service ${vs.label}`, () => this.applier.deleteService(vs.spec.service));
      return;
    }
    for (const rs of vs.reals.values()) this.removeDest(vs, rs.spec);
    if (vs.fallbackAdded && vs.spec.fallback) {
      const fb = vs.spec.fallback;
      this.guard('fallback', () => this.applier.deleteDest(vs.spec.service, fb.addr, fb.port, fb.fwd));
    }
  }

  private removeDest(vs: VirtualState, r: RealSpec): void {
    const ref = vs.spec.service;
    if (this.applier.destWeight(ref, r.addr, r.port, r.fwd) !== null) {
      this.guard(`real ${realKey(r)}`, () => this.applier.deleteDest(ref, r.addr, r.port, r.fwd));
    }
  }

  // ---- scheduling ------------------------------------------------------------------

  private tick(vs: VirtualState): void {
    if (!this.started || this.virtuals.get(vs.key) !== vs) return;
    for (const rs of vs.reals.values()) this.schedule(vs, rs);
    this.armTimer(vs);
  }

  private armTimer(vs: VirtualState): void {
    const secs = vs.spec.checkinterval > 0 ? vs.spec.checkinterval : this.config.checkinterval || 10;
    vs.timer = setTimeout(() => this.tick(vs), secs * 1000);
  }

  private stopTimer(vs: VirtualState): void {
    if (vs.timer) clearTimeout(vs.timer);
    vs.timer = null;
  }

  /** Queues one check of `rs` unless one is already queued or running. */
  private schedule(vs: VirtualState, rs: RealState): void {
    if (rs.busy) return;
    rs.busy = true;
    this.queue.push(() => this.checkOnce(vs, rs));
    this.pump();
  }

  private pump(): void {
    while (this.running.size < this.maxInFlight && this.queue.length > 0) {
      const job = this.queue.shift()!;
      const p: Promise<void> = job()
        .catch((e: unknown) => this.log(`health check error: ${errText(e)}`))
        .finally(() => {
          this.running.delete(p);
          this.pump();
        });
      this.running.add(p);
    }
  }

  private async checkOnce(vs: VirtualState, rs: RealState): Promise<void> {
    const v = vs.spec;
    let kind: CheckKind;
    if (v.checktype === 'combined') {
      const n = Math.max(0, v.combinedCount);
      kind = rs.round % (n + 1) < n ? 'connect' : 'negotiate';
      rs.round++;
    } else if (v.checktype === 'on' || v.checktype === 'off') {
      rs.busy = false;
      return;
    } else {
      kind = v.checktype;
    }
    // Belt and braces: the checkers enforce their own timeouts; this one catches any slip.
    const limit = (Math.max(v.checktimeout, v.negotiatetimeout) * Math.max(1, kind === 'ping' ? v.checkcount : 1) + 1) * 1000;
    let res: CheckResult;
    try {
      res = await runCheck(this.abort.signal, limit, (sig) => runKind(kind, v, rs.spec, sig));
    } finally {
      rs.busy = false;
    }
    if (!this.started || this.virtuals.get(vs.key) !== vs || vs.reals.get(rs.key) !== rs) return;
    this.counters.checksRun++;
    if (res.up) this.onSuccess(vs, rs);
    else {
      this.counters.checkFailures++;
      this.onFailure(vs, rs, res.reason || down('unknown').reason);
    }
  }

  // ---- state logic -------------------------------------------------------------------

  private onSuccess(vs: VirtualState, rs: RealState): void {
    rs.failures = 0;
    rs.checked = true;
    if (rs.status !== 'up') this.markUp(vs, rs, 'check succeeded');
  }

  private onFailure(vs: VirtualState, rs: RealState, reason: string): void {
    rs.failures++;
    rs.checked = true;
    const ref = vs.spec.service;
    const r = rs.spec;
    if (rs.status === 'down') {
      if (vs.spec.quiescent && this.config.readdquiescent && this.applier.destWeight(ref, r.addr, r.port, r.fwd) === null) {
        if (this.guard(`real ${rs.key}`, () => this.applier.addDest(ref, destSpec(r, 0, true)))) {
          this.log(`real server ${rs.key} (${vs.label}) re-added quiescent`);
        }
      }
      this.updateFallback(vs);
      return;
    }
    if (rs.failures < Math.max(1, vs.spec.failurecount)) {
      this.updateFallback(vs);
      return;
    }
    const present = this.applier.destWeight(ref, r.addr, r.port, r.fwd) !== null;
    if (vs.spec.quiescent) {
      this.guard(`real ${rs.key}`, () =>
        present ? this.applier.editDest(ref, destSpec(r, 0, true)) : this.applier.addDest(ref, destSpec(r, 0, true)),
      );
    } else if (present) {
      this.guard(`real ${rs.key}`, () => this.applier.deleteDest(ref, r.addr, r.port, r.fwd));
    }
    const was = rs.status;
    rs.status = 'down';
    if (was === 'up') this.counters.transitionsDown++;
    this.log(`real server ${rs.key} (${vs.label}) down: ${reason}`);
    this.emit({ kind: 'down', virtual: vs.label, real: rs.key, reason });
    this.updateFallback(vs);
  }

  private markUp(vs: VirtualState, rs: RealState, reason: string): void {
    const ref = vs.spec.service;
    const r = rs.spec;
    const present = this.applier.destWeight(ref, r.addr, r.port, r.fwd) !== null;
    this.guard(`real ${rs.key}`, () =>
      present ? this.applier.editDest(ref, destSpec(r, r.weight)) : this.applier.addDest(ref, destSpec(r, r.weight)),
    );
    rs.status = 'up';
    rs.checked = true;
    this.counters.transitionsUp++;
    this.log(`real server ${rs.key} (${vs.label}) up`);
    this.emit({ kind: 'up', virtual: vs.label, real: rs.key, reason });
    this.updateFallback(vs);
  }

  private updateFallback(vs: VirtualState): void {
    const v = vs.spec;
    if (v.checktype === 'off') return;
    const reals = [...vs.reals.values()];
    const allDown = reals.every((r) => r.checked && r.status !== 'up');
    if (allDown === vs.allDown) return;
    vs.allDown = allDown;
    const ref = v.service;
    const fb = v.fallback;
    if (allDown) {
      this.counters.fallbackActivations++;
      if (fb) {
        const spec: DestSpec = { addr: fb.addr, port: fb.port, fwd: fb.fwd, weight: 1, uThreshold: 0, lThreshold: 0 };
        const present = this.applier.destWeight(ref, fb.addr, fb.port, fb.fwd) !== null;
        vs.fallbackAdded = this.guard('fallback', () => (present ? this.applier.editDest(ref, spec) : this.applier.addDest(ref, spec)));
        this.log(`fallback server ${hostPort(fb.addr.toString(), fb.port)} (${vs.label}) added: no real server is up`);
      }
      this.emit({ kind: 'fallback-on', virtual: vs.label, reason: 'no real server is up' });
      this.fallbackCommand(vs, 'start');
    } else {
      if (fb && vs.fallbackAdded) {
        this.guard('fallback', () => this.applier.deleteDest(ref, fb.addr, fb.port, fb.fwd));
        vs.fallbackAdded = false;
        this.log(`fallback server ${hostPort(fb.addr.toString(), fb.port)} (${vs.label}) removed`);
      }
      this.emit({ kind: 'fallback-off', virtual: vs.label, reason: 'a real server is up' });
      this.fallbackCommand(vs, 'stop');
    }
  }

  private fallbackCommand(vs: VirtualState, action: 'start' | 'stop'): void {
    const cmd = vs.spec.fallbackcommand;
    if (!cmd) return;
    const v = vs.spec;
    const where = v.service.fwmark ? String(v.service.fwmark) : hostPort(v.service.addr.toString(), v.service.port);
    // Serialised per virtual, so a quick start/stop pair runs in order.
    vs.cmdChain = vs.cmdChain.then(async () => {
      const r = await spawnShell(cmd, [action, where, v.protocol], null);
      if (r.error || r.code !== 0) this.log(`fallbackcommand ${cmd} ${action} ${where} ${v.protocol} failed: ${r.error ?? `status ${r.code}`}`);
    });
  }

  private emit(e: HealthEvent): void {
    if (!this.onChange) return;
    try {
      this.onChange(e);
    } catch (err) {
      this.log(`health onChange hook failed: ${errText(err)}`);
    }
  }

  /** Runs an applier call; logs and returns false on error. */
  private guard(what: string, fn: () => void): boolean {
    try {
      fn();
      return true;
    } catch (e) {
      this.log(`${what}: ${errText(e)}`);
      return false;
    }
  }
}

function newRealState(r: RealSpec): RealState {
  return { spec: r, key: realKey(r), status: 'unknown', failures: 0, checked: false, round: 0, busy: false };
}

function destSpec(r: RealSpec, weight: number, resetThresholds = false): DestSpec {
  return {
    addr: r.addr,
    port: r.port,
    fwd: r.fwd,
    weight,
    uThreshold: resetThresholds ? 0 : r.uThreshold,
    lThreshold: resetThresholds ? 0 : r.lThreshold,
  };
}

export function realKey(r: { addr: Addr; port: number }): string {
  return hostPort(r.addr.toString(), r.port);
}

function virtualKey(v: VirtualSpec): string {
  const s: ServiceRef = v.service;
  return `${s.af}/${s.fwmark ? 0 : s.proto}/${s.addr.toString()}/${s.port}/${s.fwmark}`;
}

function virtualLabel(v: VirtualSpec): string {
  const s = v.service;
  if (s.fwmark) return `FWM ${s.fwmark}`;
  const p = s.proto === IPPROTO_TCP ? 'TCP' : s.proto === IPPROTO_UDP ? 'UDP' : 'SCTP';
  return `${p} ${hostPort(s.addr.toString(), s.port)}`;
}
