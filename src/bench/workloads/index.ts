// Every workload the bench knows, in run order, by id.

import type { Workload, WorkloadId } from '../types';
import { connWorkload } from './conn-rate';
import { pingWorkload } from './ping';
import { tcpWorkload } from './tcp-iperf';
import { udpWorkload } from './udp-pps';

export const ALL_WORKLOADS: readonly Workload[] = [udpWorkload, pingWorkload, connWorkload, tcpWorkload];

export function workloadById(id: WorkloadId): Workload {
  const w = ALL_WORKLOADS.find((x) => x.id === id);
  if (!w) throw new RangeError(`unknown workload ${id}`);
  return w;
}
