// Which CPUs the data-plane workers run on, kept apart from the CPUs that run the
// interface's receive softirq (lab-notes pitfall 2: a worker sharing a core with receive
// softirq livelocks, the ring drops most frames).
//
// Where receive softirq runs:
//   - a NIC: on the CPUs its RX queue interrupts are routed to (the IRQs listed in
//     /sys/class/net/IF/device/msi_irqs, or /proc/interrupts lines naming IF; each IRQ's
//     /proc/irq/N/smp_affinity_list), plus every CPU named in an RX queue's RPS mask
//     (/sys/class/net/IF/queues/rx-*/rps_cpus), where protocol processing is moved to;
//   - a veth (no IRQ, RPS off): on the CPU of the process that SENT the frame into the
//     pair (lab-notes pitfall 1). We cannot know that CPU, so the default keeps CPU 0 for
//     the main thread and the rest of the system and runs max(1, ncpu - 1) workers on
//     CPUs 1..ncpu-1.
// `--cpus LIST` overrides the choice; `--steer-softirq` writes the RPS masks so that
// protocol processing goes to the CPUs the workers do not use (RpsSteering), and puts the
// old masks back at stop.

import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';

/** "0-3,6" -> [0, 1, 2, 3, 6] (sorted, unique). Throws RangeError on bad text. */
export function parseCpuList(text: string): number[] {
  const out = new Set<number>();
  const t = text.trim();
  if (t === '') return [];
  for (const part of t.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new RangeError(`bad CPU list '${text}' (want e.g. 1-3,5)`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a || b > 4095) throw new RangeError(`bad CPU range '${part}' in '${text}'`);
    for (let c = a; c <= b; c++) out.add(c);
  }
  return [...out].sort((x, y) => x - y);
}

/** A hex CPU mask as /sys prints it ("00000000,0000000c") -> [2, 3]. */
export function parseCpuMask(text: string): number[] {
  const hex = text.trim().replace(/,/g, '');
  if (!/^[0-9a-fA-F]*$/.test(hex)) throw new RangeError(`bad CPU mask '${text}'`);
  const out: number[] = [];
  for (let i = 0; i < hex.length; i++) {
    const nibble = parseInt(hex[hex.length - 1 - i], 16);
    for (let b = 0; b < 4; b++) if (nibble & (1 << b)) out.push(i * 4 + b);
  }
  return out;
}

/** [0, 1] -> "3" (the form rps_cpus accepts). */
export function formatCpuMask(cpus: readonly number[]): string {
  let hex = '';
  const max = cpus.length ? Math.max(...cpus) : 0;
  for (let i = 0; i <= Math.floor(max / 4); i++) {
    let nibble = 0;
    for (let b = 0; b < 4; b++) if (cpus.includes(i * 4 + b)) nibble |= 1 << b;
    hex = nibble.toString(16) + hex;
  }
  return hex;
}

export interface SoftirqInfo {
  /** CPUs that run the interface's receive softirq (empty: unknown, e.g. veth). */
  cpus: number[];
  /** How we know, for the start-up log. */
  source: string;
}

/** Reads where IF's receive softirq runs (see the file comment). `root` is for tests. */
export function softirqCpus(ifname: string, root = ''): SoftirqInfo {
  const cpus = new Set<number>();
  const sources: string[] = [];
  const irqs = new Set<number>();
  try {
    for (const n of readdirSync(`${root}/sys/class/net/${ifname}/device/msi_irqs`)) if (/^\d+$/.test(n)) irqs.add(Number(n));
  } catch {
    /* no device (veth, bridge) or no MSI */
  }
  try {
    for (const line of readFileSync(`${root}/proc/interrupts`, 'utf8').split('\n')) {
      const m = /^\s*(\d+):/.exec(line);
      if (m && new RegExp(`[\\s-]${ifname.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?:[-\\s]|$)`).test(line)) irqs.add(Number(m[1]));
    }
  } catch {
    /* no /proc */
  }
  for (const irq of irqs) {
    try {
      for (const c of parseCpuList(readFileSync(`${root}/proc/irq/${irq}/smp_affinity_list`, 'utf8'))) cpus.add(c);
    } catch {
      /* IRQ gone */
    }
  }
  if (irqs.size) sources.push(`IRQ ${[...irqs].sort((a, b) => a - b).join(',')}`);
  const rps = new Set<number>();
  for (const q of rxQueues(ifname, root)) {
    try {
      for (const c of parseCpuMask(readFileSync(`${q}/rps_cpus`, 'utf8'))) rps.add(c);
    } catch {
      /* no RPS */
    }
  }
  for (const c of rps) cpus.add(c);
  if (rps.size) sources.push('RPS');
  return {
    cpus: [...cpus].sort((a, b) => a - b),
    source: sources.length ? sources.join(' + ') : 'no IRQ and RPS off (virtual interface: receive softirq runs on the sending CPU)',
  };
}

function rxQueues(ifname: string, root: string): string[] {
  const dir = `${root}/sys/class/net/${ifname}/queues`;
  try {
    return readdirSync(dir).filter((q) => q.startsWith('rx-')).map((q) => `${dir}/${q}`);
  } catch {
    return [];
  }
}

export interface LayoutRequest {
  ncpu: number;
  /** CPUs running receive softirq (softirqCpus). */
  softirq: readonly number[];
  /** --workers; default from the CPUs free of softirq. */
  workers?: number;
  /** --cpus; default chosen here. */
  cpus?: readonly number[];
}

export interface Layout {
  workers: number;
  /** CPU of worker i (workers beyond the list reuse it round-robin). */
  cpus: number[];
  /** One line for the start-up log. */
  why: string;
}

/**
 * The layout: with --cpus, worker i runs on cpus[i mod len] (N defaults to the list's
 * length). Otherwise the candidates are the CPUs free of receive softirq; when softirq's
 * CPUs are unknown (veth) or cover every CPU, CPUs 1..ncpu-1 (CPU 0 keeps the main thread
 * and the system). N defaults to the number of candidates, at least 1.
 */
export function chooseLayout(req: LayoutRequest): Layout {
  const ncpu = Math.max(1, req.ncpu);
  if (req.cpus && req.cpus.length) {
    const n = req.workers ?? req.cpus.length;
    return { workers: n, cpus: Array.from({ length: n }, (_, i) => req.cpus![i % req.cpus!.length]), why: `--cpus ${req.cpus.join(',')}` };
  }
  const soft = new Set(req.softirq);
  let cand = Array.from({ length: ncpu }, (_, c) => c).filter((c) => !soft.has(c));
  let why = `CPUs free of receive softirq (softirq on ${[...soft].join(',')})`;
  if (soft.size === 0 || cand.length === 0) {
    cand = ncpu > 1 ? Array.from({ length: ncpu - 1 }, (_, i) => i + 1) : [0];
    why = soft.size === 0 ? 'softirq CPUs unknown (veth: the sender\'s CPU); CPU 0 left to the main thread' : 'receive softirq on every CPU: expect livelock, consider --steer-softirq';
  }
  const n = req.workers ?? Math.max(1, cand.length);
  if (n > cand.length) {
    // more workers than candidates: spill onto the other CPUs before doubling up
    cand = [...cand, ...Array.from({ length: ncpu }, (_, c) => c).filter((c) => !cand.includes(c))];
    why += `; ${n} workers asked for: some share a CPU with receive softirq or the main thread`;
  }
  return { workers: n, cpus: Array.from({ length: n }, (_, i) => cand[i % cand.length]), why };
}

/**
 * --steer-softirq: sets every RX queue's RPS mask to the CPUs the workers do not use
 * (so the kernel's protocol processing for received frames runs there), and restores the
 * old masks at stop. With no CPU left over it does nothing and says so.
 */
export class RpsSteering {
  private readonly saved: [string, string][] = [];

  static apply(ifname: string, workerCpus: readonly number[], ncpu: number, log: (m: string) => void, root = ''): RpsSteering | null {
    const others = Array.from({ length: ncpu }, (_, c) => c).filter((c) => !workerCpus.includes(c));
    if (others.length === 0) {
      log(`--steer-softirq: every CPU runs a worker; RPS of ${ifname} left as it is`);
      return null;
    }
    const s = new RpsSteering();
    const mask = formatCpuMask(others);
    for (const q of rxQueues(ifname, root)) {
      const f = `${q}/rps_cpus`;
      if (!existsSync(f)) continue;
      try {
        s.saved.push([f, readFileSync(f, 'utf8').trim()]);
        writeFileSync(f, mask);
      } catch (e) {
        log(`--steer-softirq: cannot write ${f}: ${(e as Error).message}`);
      }
    }
    log(`--steer-softirq: RPS of ${ifname} (${s.saved.length} RX queue(s)) -> CPUs ${others.join(',')} (mask ${mask})`);
    return s;
  }

  restore(): void {
    for (const [f, old] of this.saved) {
      try {
        writeFileSync(f, old);
      } catch {
        /* interface gone */
      }
    }
    this.saved.length = 0;
  }
}
