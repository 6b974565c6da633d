// Prometheus metrics for a running director, built with prom-client on a private Registry.
//
// Nothing here touches the packet path: every metric has a collect() callback that reads
// the director's own counters (Stats, drops, the connection table, the pipeline's
// PipelineStats) when /metrics is scraped, and nothing runs in between.
//
// Counters: our counters are not monotonic — `tsvsadm -Z` zeroes the service and dest
// stats, a deleted service takes its series with it, and the Uint32Array drop counters wrap
// at 2^32. We still expose them as Prometheus *counters* (TYPE counter, `_total`), with
// the reset+inc pattern: collect() calls reset() (forgetting every label set, so a removed
// service or dest disappears) and then inc()s each series by its current absolute value.
// A zeroing then looks to Prometheus like a process restart, which rate()/increase()
// already handle as a counter reset. Gauges (rates, connection counts, weights, table
// occupancy) are simply reset and set().
//
// Labels: services carry `protocol` ("TCP", "UDP", "SCTP"; "FWM"/"FWM6" for firewall-mark
// services), `vip`, `port` and `fwmark` (the ones that do not apply are empty, which
// Prometheus treats as absent); dests add `real_server` ("192.0.2.11:80") and `forward`
// ("Route", "Masq", "Tunnel", as ipvsadm prints it).

import type { HealthCounters, HealthMonitor } from '../health/monitor';
import { Counter, Gauge, Registry, collectDefaultMetrics, type LabelValues } from 'prom-client';
import { AF_INET, fwdName, protoName } from '../core/constants';
import type { Dest } from '../core/dest';
import type { Director } from '../core/director';
import { DROP_NAMES } from '../core/drops';
import type { Service } from '../core/service';
import type { PipelineStats } from '../dataplane/pipeline';
import { registerSyncMetrics } from '../ha/sync/metrics';
import type { SyncFollowStatus } from '../ha/follow';
import { registerVrrpMetrics } from '../ha/vrrp/metrics';
import type { VrrpRunner } from '../ha/vrrp/vrrp';

const SVC_LABELS = ['protocol', 'vip', 'port', 'fwmark'] as const;
const DEST_LABELS = [...SVC_LABELS, 'real_server', 'forward'] as const;
type SvcLabel = (typeof SVC_LABELS)[number];
type DestLabel = (typeof DEST_LABELS)[number];

/** PipelineStats field -> `kind` label of tsvs_frames_total. */
const FRAME_KINDS: ReadonlyArray<[keyof PipelineStats, string]> = [
  ['rxFrames', 'rx'],
  ['rxBlocks', 'rx_blocks'],
  ['forwarded', 'forwarded'],
  ['txFrames', 'tx'],
  ['txFailed', 'tx_failed'],
  ['arpReplies', 'arp_replies'],
  ['echoReplies', 'echo_replies'],
  ['icmpErrors', 'icmp_errors'],
  ['notOurs', 'not_ours'],
  ['standbyVip', 'standby_vip'],
];

export interface MetricsOptions {
  /** Also export prom-client's default process/Node.js metrics (process_*, nodejs_*). Default false. */
  processMetrics?: boolean;
  /** The health checker, read at scrape time (it may appear after start-up). */
  health?: () => HealthMonitor | null;
  /** Connection-sync counters (SyncManager.counters()), read at scrape time. */
  sync?: () => Record<string, number>;
  /** Called before each scrape (worker shards: fold their counters into the director). */
  refresh?: () => void;
  /** Connection-table figures when the table is sharded over workers (default: director.conns). */
  table?: () => { size: number; occupied: number; capacity: number; refused: number; evicted: number };
  /** Sync following VRRP (daemons running, catch-up), read at scrape time. */
  follow?: () => SyncFollowStatus | null;
  /** The VRRP instances, read at scrape time (tsvs_vrrp_*). */
  vrrp?: () => VrrpRunner | null;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly refresh: (() => void) | undefined;

  constructor(
    readonly director: Director,
    readonly pipeline: PipelineStats | null = null,
    opts: MetricsOptions = {},
  ) {
    const reg = [this.registry];
    this.refresh = opts.refresh;
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry });
    if (opts.health) registerHealthMetrics(reg, opts.health);
    if (opts.sync) registerSyncMetrics(reg, opts.sync, opts.follow);
    if (opts.vrrp) registerVrrpMetrics(reg, opts.vrrp);

    // Per service and per dest: the ipvsadm --stats counters and --rate gauges.
    for (const [level, labelNames] of [['service', SVC_LABELS], ['dest', DEST_LABELS]] as const) {
      const each = (fn: (labels: LabelValues<DestLabel>, s: Service, d: Dest | null) => void) =>
        level === 'service' ? this.eachService((l, s) => fn(l, s, null)) : this.eachDest((l, d, s) => fn(l, s, d));
      const statsOf = (s: Service, d: Dest | null) => (d ?? s).stats;
      const counter = (name: string, help: string, dir: boolean, read: (st: Service['stats'], out: boolean) => number) =>
        new Counter<string>({
          name: `tsvs_${level}_${name}`,
          help,
          labelNames: dir ? [...labelNames, 'direction'] : [...labelNames],
          registers: reg,
          collect() {
            this.reset();
            each((l, s, d) => {
              const st = statsOf(s, d);
              if (!dir) this.inc(l, read(st, false));
              else {
                this.inc({ ...l, direction: 'in' }, read(st, false));
                this.inc({ ...l, direction: 'out' }, read(st, true));
              }
            });
          },
        });
      const gauge = (name: string, help: string, dir: boolean, read: (s: Service, d: Dest | null, out: boolean) => number) =>
        new Gauge<string>({
          name: `tsvs_${level}_${name}`,
          help,
          labelNames: dir ? [...labelNames, 'direction'] : [...labelNames],
          registers: reg,
          collect() {
            this.reset();
            each((l, s, d) => {
              if (!dir) this.set(l, read(s, d, false));
              else {
                this.set({ ...l, direction: 'in' }, read(s, d, false));
                this.set({ ...l, direction: 'out' }, read(s, d, true));
              }
            });
          },
        });
      counter('connections_total', `Connections scheduled to the ${level} (ipvsadm Conns).`, false, (st) => st.conns);
      counter('packets_total', `Packets of the ${level}, by direction (ipvsadm InPkts/OutPkts).`, true, (st, out) => (out ? st.outpkts : st.inpkts));
      counter('bytes_total', `Bytes of the ${level}, by direction (ipvsadm InBytes/OutBytes).`, true, (st, out) => (out ? st.outbytes : st.inbytes));
      gauge('rate_cps', `Estimated new connections per second of the ${level} (ipvsadm CPS).`, false, (s, d) => statsOf(s, d).est.rates.cps);
      gauge('rate_pps', `Estimated packets per second of the ${level}, by direction (ipvsadm InPPS/OutPPS).`, true, (s, d, out) => {
        const r = statsOf(s, d).est.rates;
        return out ? r.outpps : r.inpps;
      });
      gauge('rate_bps', `Estimated bytes per second of the ${level}, by direction (ipvsadm InBPS/OutBPS).`, true, (s, d, out) => {
        const r = statsOf(s, d).est.rates;
        return out ? r.outbps : r.inbps;
      });
      if (level === 'dest') {
        gauge('active_connections', 'Active connections of the real server (ipvsadm ActiveConn).', false, (_s, d) => d!.activeConns);
        gauge('inactive_connections', 'Inactive connections of the real server (ipvsadm InActConn).', false, (_s, d) => d!.inactConns);
        gauge('persistent_connections', 'Persistence templates bound to the real server (ipvsadm PersistConn).', false, (_s, d) => d!.persistConns);
        gauge('weight', 'Scheduling weight of the real server (0 = quiesced).', false, (_s, d) => d!.weight);
      }
    }

    new Counter<'reason'>({
      name: 'tsvs_drops_total',
      help: 'Packets dropped by the data path, by reason.',
      labelNames: ['reason'],
      registers: reg,
      collect() {
        this.reset();
        for (let i = 1; i < DROP_NAMES.length; i++) this.inc({ reason: DROP_NAMES[i] }, director.drops[i]);
      },
    });

    const tableGauge = (name: string, help: string, read: () => number) =>
      new Gauge({ name, help, registers: reg, collect() { this.set(read()); } });
    const t = director.conns;
    const table = opts.table ?? (() => ({ size: t.size, occupied: t.occupied, capacity: t.maxConns, refused: t.refusedFull, evicted: t.evicted }));
    tableGauge('tsvs_conn_table_entries', 'Connections (and persistence templates) in the connection table.', () => table().size);
    tableGauge('tsvs_conn_table_occupied', 'Records holding a table place: entries plus expired records not yet reclaimed.', () => table().occupied);
    tableGauge('tsvs_conn_table_capacity', 'Most records the connection table holds (--max-conns).', () => table().capacity);
    const tableCounter = (name: string, help: string, read: () => number) =>
      new Counter({ name, help, registers: reg, collect() { this.reset(); this.inc(read()); } });
    tableCounter('tsvs_conn_table_refused_total', 'New connections refused because the connection table was full.', () => table().refused);
    tableCounter('tsvs_conn_table_evicted_total', 'Connections evicted to make room in a full table.', () => table().evicted);

    if (pipeline) {
      new Counter<'kind'>({
        name: 'tsvs_frames_total',
        help: 'Frames handled by the data plane, by kind.',
        labelNames: ['kind'],
        registers: reg,
        collect() {
          this.reset();
          for (const [field, kind] of FRAME_KINDS) this.inc({ kind }, pipeline[field]);
        },
      });
    }
  }

  /** The exposition text (what GET /metrics serves). */
  text(): Promise<string> {
    this.refresh?.();
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private eachService(fn: (labels: LabelValues<SvcLabel>, s: Service) => void): void {
    for (const s of this.director.services.services) fn(serviceLabels(s), s);
  }

  private eachDest(fn: (labels: LabelValues<DestLabel>, d: Dest, s: Service) => void): void {
    for (const s of this.director.services.services) {
      const sl = serviceLabels(s);
      for (const d of s.dests) fn({ ...sl, real_server: d.toString(), forward: fwdName(d.fwd) }, d, s);
    }
  }
}

export function serviceLabels(s: Service): LabelValues<SvcLabel> {
  if (s.fwmark) return { protocol: s.af === AF_INET ? 'FWM' : 'FWM6', vip: '', port: '', fwmark: String(s.fwmark) };
  return { protocol: protoName(s.proto), vip: s.addr.toString(), port: String(s.port), fwmark: '' };
}

/**
 * Health-check metrics: checks run and failed, state transitions, fallback activations
 * (counters), and each real server's checked state (1 up, 0 down or not yet known).
 */
function registerHealthMetrics(reg: Registry[], source: () => HealthMonitor | null): void {
  const counters: [string, string, keyof HealthCounters][] = [
    ['tsvs_health_checks_total', 'Health checks run.', 'checksRun'],
    ['tsvs_health_check_failures_total', 'Health checks that failed.', 'checkFailures'],
    ['tsvs_health_transitions_up_total', 'Real servers that came up (or were first found up).', 'transitionsUp'],
    ['tsvs_health_transitions_down_total', 'Real servers taken down (removed, or weight 0 when quiescent).', 'transitionsDown'],
    ['tsvs_health_fallback_activations_total', 'Times a virtual service had no real server up (fallback on).', 'fallbackActivations'],
  ];
  for (const [name, help, key] of counters) {
    new Counter<string>({
      name,
      help,
      registers: reg,
      collect() {
        this.reset();
        const m = source();
        if (m) this.inc(m.counters[key]);
      },
    });
  }
  new Gauge<string>({
    name: 'tsvs_health_real_up',
    help: 'Checked state of each real server: 1 up, 0 down or not yet checked.',
    labelNames: ['virtual', 'real_server'],
    registers: reg,
    collect() {
      this.reset();
      const m = source();
      if (!m) return;
      for (const [virtual, reals] of Object.entries(m.status())) {
        for (const r of reals) this.set({ virtual, real_server: r.real }, r.status === 'up' ? 1 : 0);
      }
    },
  });
}
