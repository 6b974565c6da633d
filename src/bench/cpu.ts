// CPU accounting for "director CPU per delivered packet".
//
// Method: over a measurement window we take
//   (a) the softirq time of all CPUs, from the `cpu` line of /proc/stat, plus
//   (b) the user+system time of every process inside the director's namespace
//       (/proc/PID/stat fields utime and stime, which include all threads).
// (a) is where the kernel paths do their work (nftables ingress/forward, conntrack, the
// bridge and the veths). With veth, the receiver's softirq runs on the sender's CPU
// (lab-notes 1), so a per-CPU or per-namespace split is not possible; (a) therefore also
// holds the generator's and the real servers' softirq, which is the same work for every
// peer. The "none" peer (client straight to a real server) measures that baseline, and the
// report subtracts it to give the director's own cost. This kernel has no
// IRQ_TIME_ACCOUNTING, so softirq time is sampled at the tick (USER_HZ units); over a
// window of seconds that is precise enough. Other tenants of the machine add noise to (a).

import { readFileSync } from 'node:fs';
import { nsInode, pidsInNsInode } from '../lab/netns';

export const USER_HZ = 100;

export interface CpuSnapshot {
  /** Seconds of softirq time, all CPUs. */
  softirqSec: number;
  /** Seconds of user+system time of the director namespace's processes (cumulative per PID). */
  procSec: Map<number, number>;
  at: number;
}

export function parseProcStatSoftirq(text: string): number {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new Error('/proc/stat: no cpu line');
  const f = line.trim().split(/\s+/);
  // cpu user nice system idle iowait irq softirq ...
  return Number(f[7]) / USER_HZ;
}

/** utime+stime of /proc/PID/stat in seconds (the comm field may hold spaces and parens). */
export function parsePidStatCpu(text: string): number {
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state); utime is field 14, stime field 15.
  return (Number(rest[11]) + Number(rest[12])) / USER_HZ;
}

export function cpuSnapshot(ns: string): CpuSnapshot {
  const softirqSec = parseProcStatSoftirq(readFileSync('/proc/stat', 'utf8'));
  const procSec = new Map<number, number>();
  const ino = nsInode(ns);
  if (ino !== undefined) {
    for (const pid of pidsInNsInode(ino)) {
      try {
        procSec.set(pid, parsePidStatCpu(readFileSync(`/proc/${pid}/stat`, 'utf8')));
      } catch {
        // exited meanwhile
      }
    }
  }
  return { softirqSec, procSec, at: Date.now() };
}

/** Softirq and director-process CPU seconds spent between two snapshots. */
export function cpuDelta(a: CpuSnapshot, b: CpuSnapshot): { softirqSec: number; procSec: number } {
  let procSec = 0;
  for (const [pid, t] of b.procSec) procSec += t - (a.procSec.get(pid) ?? t);
  return { softirqSec: b.softirqSec - a.softirqSec, procSec };
}
