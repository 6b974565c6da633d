// What the daemon needs to forward with worker threads, in one object: the shared
// counters, the pool of workers, the model it sends them and the aggregation of their
// counters into the main thread's director. The Daemon calls push() after every
// configuration change (and MAC change), setStandby() after every standby switch, pull()
// before anything reads counters, and connections() for `-L -c`. With one worker the
// daemon does not create this at all.

import type { Director } from '../core/director';
import type { ConnSnapshot } from '../ipvsadm/snapshot';
import type { PipelineStats, StandbyState } from '../dataplane/pipeline';
import { DEFAULT_MAX_DESTS, DEFAULT_MAX_SERVICES, PIPE_FIELDS, SharedCounters, T_SIZE } from '../dataplane/shared-counters';
import { buildModel } from '../dataplane/worker-model';
import { CounterAggregator } from './counter-aggregator';
import { ServiceSlots } from './service-slots';
import { WorkerPool, type WorkerPoolOptions } from './worker-pool';
import { FLOW_KEY, keyForPersistence, workerForFlow, type FanoutKey } from '../io/fanout';
import type { AppliedCounts, SyncEntry } from '../ha/sync/backup';
import type { ShardMasterConfig, ShardMasterOutput, SyncShards } from '../ha/sync/shards';
import type { ToWorker } from '../dataplane/worker-messages';
import { AF_INET } from '../core/constants';
import { formatV4 } from '../core/addr';

export interface WorkersOptions {
  /** CPU of each worker (-1 unpinned); the length is the number of workers (>= 2). */
  cpus: number[];
  ifname: string;
  vnetHdr: boolean;
  fanoutGroup: number;
  /** Connection-table capacity of each shard. */
  maxConnsPerShard: number;
  /** A worker died: the daemon must stop and exit non-zero. */
  onFatal: (msg: string) => void;
}

export interface WorkerFigures {
  index: number;
  cpu: number;
  rxFrames: number;
  forwarded: number;
  conns: number;
}

export class DataPlaneWorkers implements SyncShards {
  readonly shared: SharedCounters;
  private pool: WorkerPool | null = null;
  private readonly poolOpts: Omit<WorkerPoolOptions, 'init'> & { init: Omit<WorkerPoolOptions['init'], 'fanoutKey'> };
  /** The fanout key chosen at start (src/io/fanout.ts), for workerForFlow callers. */
  fanoutKey: FanoutKey = FLOW_KEY;
  private readonly warnedPersistence = new Set<string>();
  private readonly log: (msg: string) => void;
  private readonly aggregator: CounterAggregator;
  private readonly slots = new ServiceSlots(DEFAULT_MAX_SERVICES);
  private version = 0;
  private started = false;
  private standby: StandbyState = { all: false, vips: [] };
  /** The sync master to start in every worker once they run (set before start()). */
  private syncMaster: Extract<ToWorker, { type: 'syncMaster' }> | null = null;
  onMasterOutput: ((shard: number, out: ShardMasterOutput) => void) | null = null;
  onApplied: ((shard: number, counts: AppliedCounts) => void) | null = null;
  private readonly cpus: number[];

  constructor(
    private readonly director: Director,
    pipelineStats: PipelineStats,
    opts: WorkersOptions & { ourIp: number; t0: number; log: (msg: string) => void },
  ) {
    this.cpus = [...opts.cpus];
    const layout = { workers: opts.cpus.length, maxDests: DEFAULT_MAX_DESTS, maxServices: DEFAULT_MAX_SERVICES };
    this.shared = new SharedCounters(layout);
    this.aggregator = new CounterAggregator(this.shared, director, pipelineStats, this.slots.slotOf);
    director.services.idReusable = (id) => this.aggregator.idFree(id);
    director.services.limits = { maxServices: layout.maxServices, maxDestIds: layout.maxDests };
    this.log = opts.log;
    this.poolOpts = {
      init: {
        workers: layout.workers, ifname: opts.ifname, vnetHdr: opts.vnetHdr, fanoutGroup: opts.fanoutGroup,
        maxConns: opts.maxConnsPerShard, ourIp: opts.ourIp, t0: opts.t0, sab: this.shared.sab, layout,
      },
      cpus: opts.cpus,
      log: opts.log,
      onFatal: opts.onFatal,
    };
  }

  get count(): number {
    return this.cpus.length;
  }

  /**
   * Starts the workers one by one, then sends them the configuration. The fanout key is
   * chosen here from the services configured now: by client network when any is
   * persistent (src/io/fanout.ts explains why).
   */
  async start(): Promise<void> {
    this.fanoutKey = keyForPersistence(this.persistentMasks());
    this.log(this.fanoutKey.byClient
      ? `fanout: by client network (address & ${formatV4(this.fanoutKey.mask)}): persistent services keep a client on one worker`
      : 'fanout: by flow (client address ^ source port)');
    this.pool = new WorkerPool({ ...this.poolOpts, init: { ...this.poolOpts.init, fanoutKey: this.fanoutKey } });
    this.pool.onSync = (i, m) => {
      if (m.type === 'syncOut') this.onMasterOutput?.(i, m.out);
      else this.onApplied?.(i, m.counts);
    };
    await this.pool.start();
    this.started = true;
    // Standby first: a worker must know which VIPs to leave alone before it learns them.
    this.pool.sendStandby(this.standby);
    this.push();
    if (this.syncMaster) this.pool.post(this.syncMaster);
  }

  // ---------------------------------------------------------------- SyncShards (src/ha/sync/shards.ts)

  shardOf(proto: number, caddr: number, cport: number): number {
    return workerForFlow(proto, caddr, cport, this.cpus.length, false, this.fanoutKey);
  }

  startMaster(gen: number, cfg: ShardMasterConfig): void {
    this.syncMaster = { type: 'syncMaster', gen, cfg };
    if (this.started) this.pool?.post(this.syncMaster);
  }

  stopMaster(gen: number): void {
    if (this.syncMaster?.gen === gen) this.syncMaster = null;
    if (this.started) this.pool?.post({ type: 'syncMasterStop', gen });
  }

  apply(shard: number, version: number, threshold: number, entries: SyncEntry[]): void {
    if (this.started) this.pool?.postTo(shard, { type: 'syncApply', version, threshold, entries });
  }

  /**
   * The VIPs the workers stand by for (VRRP backup, --standby): the same state as the main
   * thread's pipeline, so a standby director's workers neither forward nor answer ping for
   * them. Kept until start() when it comes before.
   */
  setStandby(state: StandbyState): void {
    this.standby = state;
    if (this.started) this.pool?.sendStandby(state);
  }

  /** Sends the current configuration to every worker (they apply it between blocks). */
  push(): void {
    if (!this.started || !this.pool) return;
    this.warnPersistence();
    this.slots.prune(this.director.services.services);
    this.version++;
    this.aggregator.sentVersion = this.version;
    this.pool.send(buildModel(this.director, this.version, this.slots.slotOf));
  }

  /** Folds the workers' counters into the main thread's director. */
  pull(): void {
    this.aggregator.pull();
  }

  /** Each worker's own figures (status file): CPU, frames received and forwarded, connections. */
  perWorker(): WorkerFigures[] {
    const sh = this.shared;
    return this.cpus.map((cpu, w) => ({
      index: w,
      cpu,
      rxFrames: sh.f64[w][sh.offPipe + PIPE_FIELDS.indexOf('rxFrames')],
      forwarded: sh.f64[w][sh.offPipe + PIPE_FIELDS.indexOf('forwarded')],
      conns: sh.f64[w][T_SIZE],
    }));
  }

  connections(): Promise<ConnSnapshot[]> {
    return this.pool ? this.pool.connections() : Promise.resolve([]);
  }

  stop(): void {
    this.pool?.stop();
  }

  private persistentMasks(): number[] {
    return this.director.services.services.filter((s) => s.persistent && s.af === AF_INET).map((s) => s.netmask >>> 0);
  }

  /** A persistent service added after start whose client network the fanout key splits. */
  private warnPersistence(): void {
    const key = this.fanoutKey;
    for (const svc of this.director.services.services) {
      if (!svc.persistent || svc.af !== AF_INET || this.warnedPersistence.has(svc.key)) continue;
      if (key.byClient && ((svc.netmask & key.mask) >>> 0) === key.mask) continue;
      this.warnedPersistence.add(svc.key);
      this.log(`warning: persistent service ${svc} was added after start: the workers split clients by ${key.byClient ? `network ${formatV4(key.mask)}` : 'flow'}, ` +
        'so one client may get a different real server on each worker until the daemon restarts');
    }
  }
}
