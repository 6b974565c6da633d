// veth offloads for the lab: TX checksum, TSO, GSO and GRO all on or all off (ethtool -K),
// on both ends of every veth. 'default' leaves the kernel's choice (veth: tx/tso/gso on,
// gro off). See lab-notes pitfalls 4 and 5 for why a userspace director cares.

import { execIn } from './netns';
import type { OffloadMode } from './plan';

export const OFFLOAD_FEATURES = ['tx', 'tso', 'gso', 'gro'] as const;

export async function setOffloads(ns: string, ifname: string, mode: OffloadMode): Promise<void> {
  if (mode === 'default') return;
  const args = OFFLOAD_FEATURES.flatMap((f) => [f, mode]);
  try {
    await execIn(ns, ['ethtool', '-K', ifname, ...args]);
  } catch (e) {
    if (/cannot run|No such file|exited 255/.test((e as Error).message)) {
      throw new Error(`ethtool is needed for --offloads (scripts/bootstrap installs it): ${(e as Error).message}`);
    }
    throw e;
  }
}

/** Reads the four features back: { tx: 'on', tso: 'on', ... } from `ethtool -k`. */
export async function getOffloads(ns: string, ifname: string): Promise<Record<string, string>> {
  const r = await execIn(ns, ['ethtool', '-k', ifname]);
  const long: Record<string, string> = {
    'tx-checksumming': 'tx',
    'tcp-segmentation-offload': 'tso',
    'generic-segmentation-offload': 'gso',
    'generic-receive-offload': 'gro',
  };
  const out: Record<string, string> = {};
  for (const line of r.stdout.split('\n')) {
    const m = /^([a-z-]+):\s+(on|off)/.exec(line);
    if (m && long[m[1]]) out[long[m[1]]] = m[2];
  }
  return out;
}
