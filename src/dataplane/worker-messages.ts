// Messages between the main thread and a data-plane worker (structured clone over the
// worker's MessagePort), and the data a worker starts with.

import type { ConnSnapshot } from '../ipvsadm/snapshot';
import type { FanoutKey } from '../io/fanout';
import type { StandbyState } from './pipeline';
import type { AppliedCounts, SyncEntry } from '../ha/sync/backup';
import type { ShardMasterConfig, ShardMasterOutput } from '../ha/sync/shards';
import type { CounterLayout } from './shared-counters';
import type { WorkerModel } from './worker-model';

export interface WorkerInit {
  index: number;
  workers: number;
  ifname: string;
  vnetHdr: boolean;
  fanoutGroup: number;
  fanoutKey: FanoutKey;
  /** CPU to pin the worker's thread to; -1 leaves it unpinned. */
  cpu: number;
  /** Connection-table capacity of this worker's shard. */
  maxConns: number;
  ourIp: number;
  /** The daemon's clock origin (Date.now() ms), so every shard counts the same seconds. */
  t0: number;
  sab: SharedArrayBuffer;
  layout: CounterLayout;
}

export type ToWorker =
  | { type: 'model'; model: WorkerModel }
  | { type: 'standby'; state: StandbyState }
  | { type: 'syncMaster'; gen: number; cfg: ShardMasterConfig }
  | { type: 'syncMasterStop'; gen: number }
  | { type: 'syncApply'; version: number; threshold: number; entries: SyncEntry[] }
  | { type: 'conns'; id: number }
  | { type: 'stop' };

export type FromWorker =
  | { type: 'ready'; cpus: number[] }
  | { type: 'log'; msg: string }
  | { type: 'conns'; id: number; conns: ConnSnapshot[] }
  | { type: 'syncOut'; out: ShardMasterOutput }
  | { type: 'syncApplied'; counts: AppliedCounts }
  | { type: 'fatal'; msg: string };
