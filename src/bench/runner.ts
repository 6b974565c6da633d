// Runs the bench: for each peer in turn a fresh namespace lab (two real servers; real
// servers routed via the director for the NAT peer), the peer installed in the director
// namespace, then each workload it can carry, `runs` times. Everything is bounded: each
// child has its own timeout and each run a watchdog. The lab is torn down after each peer,
// on failure, and on SIGINT/SIGTERM (synchronously, from the signal handler), so no
// namespace or process outlives the bench.

import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { join } from 'node:path';
import { nsRun } from '../lab/exec';
import { labDownSync, labUp } from '../lab/lab';
import { sleep } from '../lab/run';
import type { Lab } from '../lab/state';
import type { Progress } from './progress';
import { parsePingRtts } from './workloads/ping';
import { summarize, type Summary } from './stats';
import { PeerSkipped, type BenchSettings, type InstalledPeer, type MetricDef, type Peer, type Workload, type WorkloadId } from './types';

export const RESULTS_VERSION = 1;

export interface PeerRecord {
  id: string;
  label: string;
  /** Why the row is empty, when it is. */
  skipped?: string;
  notes: string[];
}

export interface MetricInfo extends MetricDef {
  workload: WorkloadId;
}

export interface BenchResults {
  version: number;
  date: string;
  command: string;
  host: { cpus: number; kernel: string; loadavgStart: number[]; loadavgEnd?: number[] };
  settings: BenchSettings;
  workloads: WorkloadId[];
  metrics: MetricInfo[];
  peers: PeerRecord[];
  /** peer id -> metric id -> summary of the runs. */
  results: Record<string, Record<string, Summary>>;
  /** Names of the labs built (all torn down). */
  labs: string[];
  durationSec?: number;
}

export interface RunOptions {
  peers: readonly Peer[];
  workloads: readonly Workload[];
  settings: BenchSettings;
  progress: Progress;
  command: string;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result within ${Math.round(ms / 1000)} s`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/**
 * Waits (up to 5 s) until one ping to the target comes back within 20 ms, so that a run
 * does not start while the director still works off the previous run's backlog.
 */
async function settle(clientNs: string, target: string): Promise<void> {
  const end = Date.now() + 5000;
  while (Date.now() < end) {
    const r = await nsRun(clientNs, ['ping', '-n', '-c', '1', '-W', '1', target], { check: false, timeoutMs: 3000 });
    const rtt = parsePingRtts(r.stdout)[0];
    if (rtt !== undefined && rtt < 20_000) return;
    await sleep(200);
  }
}

/** Tears down the current lab if the process is interrupted. */
class LabGuard {
  private current: string | undefined;
  private readonly onSignal = (sig: NodeJS.Signals) => {
    process.stderr.write(`\ntsvs bench: ${sig}, cleaning up\n`);
    this.teardown();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  private readonly onExit = () => this.teardown();

  arm(): void {
    process.on('SIGINT', this.onSignal);
    process.on('SIGTERM', this.onSignal);
    process.on('exit', this.onExit);
  }

  disarm(): void {
    process.off('SIGINT', this.onSignal);
    process.off('SIGTERM', this.onSignal);
    process.off('exit', this.onExit);
  }

  set(name: string | undefined): void {
    this.current = name;
  }

  teardown(): void {
    if (this.current) labDownSync(this.current);
    this.current = undefined;
  }
}

export async function runBench(o: RunOptions): Promise<BenchResults> {
  const t0 = Date.now();
  const res: BenchResults = {
    version: RESULTS_VERSION,
    date: new Date().toISOString(),
    command: o.command,
    host: { cpus: cpus().length, kernel: release(), loadavgStart: loadavg().map((x) => +x.toFixed(2)) },
    settings: o.settings,
    workloads: o.workloads.map((w) => w.id),
    metrics: o.workloads.flatMap((w) => w.metrics.map((m) => ({ ...m, workload: w.id }))),
    peers: [],
    results: {},
    labs: [],
  };
  const guard = new LabGuard();
  guard.arm();
  try {
    for (const [i, peer] of o.peers.entries()) {
      const rec: PeerRecord = { id: peer.id, label: peer.label, notes: [] };
      res.peers.push(rec);
      const samples: Record<string, number[]> = {};
      const say = (m: string) => o.progress.update(`[${i + 1}/${o.peers.length}] ${peer.label}: ${m}`);
      say('building the lab');
      let lab: Lab | undefined;
      let installed: InstalledPeer | undefined;
      try {
        lab = await labUp({ name: `tsvsbench-${randomBytes(3).toString('hex')}`, realServers: 2, servers: false, natRoutes: peer.natRoutes ?? false });
        guard.set(lab.name);
        res.labs.push(lab.name);
        const dir = join(lab.stateDir, 'bench');
        mkdirSync(dir, { recursive: true });
        const ctx = { lab, dir, log: (m: string) => say(m) };
        say('installing');
        installed = await peer.install(ctx);
        rec.notes.push(...(installed.notes ?? []));
        for (const w of o.workloads) {
          if (!peer.workloads.includes(w.id)) continue;
          const wctx = { ...ctx, peer, installed, settings: o.settings };
          say(`${w.label}: preparing`);
          let undo: (() => Promise<void>) | undefined;
          try {
            undo = await w.prepare(wctx);
            for (let r = 1; r <= o.settings.runs; r++) {
              say(`${w.label}: run ${r}/${o.settings.runs}`);
              try {
                await settle(lab.client.ns, installed.target);
                await installed.beforeRun?.(w.id);
                const s = await withTimeout(w.runOnce(wctx), w.runBoundMs(o.settings), `${w.id} run ${r}`);
                for (const [k, v] of Object.entries(s.values)) if (Number.isFinite(v)) (samples[k] ??= []).push(v);
                for (const n of s.notes ?? []) rec.notes.push(`${w.id} run ${r}: ${n}`);
              } catch (e) {
                rec.notes.push(`${w.id} run ${r}: ${(e as Error).message}`);
                o.progress.note(`  ${peer.label}: ${w.id} run ${r} failed: ${(e as Error).message}`);
              }
            }
          } catch (e) {
            rec.notes.push(`${w.id}: ${(e as Error).message}`);
            o.progress.note(`  ${peer.label}: ${w.id} failed: ${(e as Error).message}`);
          } finally {
            await undo?.().catch(() => undefined);
          }
        }
      } catch (e) {
        if (e instanceof PeerSkipped) {
          rec.skipped = e.message;
          o.progress.note(`  ${peer.label}: skipped: ${e.message}`);
        } else {
          rec.notes.push((e as Error).message);
          o.progress.note(`  ${peer.label}: failed: ${(e as Error).message}`);
        }
      } finally {
        await installed?.remove().catch(() => undefined);
        guard.teardown();
      }
      const out: Record<string, Summary> = {};
      for (const [k, xs] of Object.entries(samples)) {
        const s = summarize(xs);
        if (s) out[k] = s;
      }
      res.results[peer.id] = out;
    }
  } finally {
    guard.teardown();
    guard.disarm();
    o.progress.done();
  }
  res.host.loadavgEnd = loadavg().map((x) => +x.toFixed(2));
  res.durationSec = Math.round((Date.now() - t0) / 1000);
  return res;
}
