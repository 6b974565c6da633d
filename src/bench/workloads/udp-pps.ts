// Small-packet UDP: trafgen on the client (pinned to CPU 0) sends a fixed set of 64-byte
// frames, one per flow (source ports 10000.., lab-notes 8: no per-packet rewriting), to the
// target. An nft netdev ingress counter on each real server counts what arrives on the UDP
// port, and drops it (the real server's stack is not under test). Delivered pps is the
// counters' delta over a window that starts after a warm-up; trafgen runs unbounded (its
// sender runs the veth/bridge path in its own softirq, so it backs off by itself here) and
// a run in which it stops early is reported as an error. CPU per packet: see ../cpu.ts.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pidMatches, startInNs, stopPid } from '../../lab/exec';
import { execIn } from '../../lab/netns';
import { sleep } from '../../lab/run';
import { cpuDelta, cpuSnapshot } from '../cpu';
import { PORTS, type MetricDef, type Workload, type WorkloadContext } from '../types';

const COUNT_TABLE = 'tsvs_bench_count';
const FIRST_SPORT = 10_000;
const WARMUP_MS = 700;

export const UDP_METRICS: readonly MetricDef[] = [
  { id: 'udp.mpps', label: 'UDP 64 B delivered', unit: 'Mpps', better: 'higher' },
  { id: 'udp.sentMpps', label: 'UDP 64 B sent by trafgen (over its whole life, approximate)', unit: 'Mpps', better: 'higher' },
  { id: 'udp.cpuNsPerPkt', label: 'CPU per delivered packet (softirq + director processes)', unit: 'ns', better: 'lower' },
];

/** The trafgen frame set: one 64-byte frame (60 without FCS) per flow. */
export function trafgenConfig(o: { srcMac: string; dstMac: string; srcIp: string; dstIp: string; dport: number; flows: number }): string {
  const lines: string[] = [];
  for (let i = 0; i < o.flows; i++) {
    lines.push(`{ eth(da=${o.dstMac}, sa=${o.srcMac}), ipv4(saddr=${o.srcIp}, daddr=${o.dstIp}, ttl=64), ` +
      `udp(sport=${FIRST_SPORT + i}, dport=${o.dport}), fill(0x00, 18) }`);
  }
  return `${lines.join('\n')}\n`;
}

function countRules(): string {
  return `table netdev ${COUNT_TABLE} {\n  chain in {\n    type filter hook ingress device eth0 priority 0;\n    udp dport ${PORTS.udp} counter drop\n  }\n}\n`;
}

/** Packets counted by the rule in `nft -j list table` output. */
export function parseNftCounter(json: string): number {
  const j = JSON.parse(json) as { nftables?: Array<{ rule?: { expr?: Array<{ counter?: { packets: number } }> } }> };
  let n = 0;
  for (const item of j.nftables ?? []) for (const e of item.rule?.expr ?? []) if (e.counter) n += e.counter.packets;
  return n;
}

async function delivered(ctx: WorkloadContext): Promise<number> {
  const counts = await Promise.all(ctx.lab.realServers.map(async (rs) => {
    const r = await execIn(rs.ns, ['nft', '-j', 'list', 'table', 'netdev', COUNT_TABLE], { timeoutMs: 5000 });
    return parseNftCounter(r.stdout);
  }));
  return counts.reduce((a, b) => a + b, 0);
}

export const udpWorkload: Workload = {
  id: 'udp',
  label: 'UDP small-packet rate',
  metrics: UDP_METRICS,
  runBoundMs: (s) => s.seconds * 1000 + 20_000,
  prepare: async (ctx) => {
    for (const rs of ctx.lab.realServers) await execIn(rs.ns, ['nft', '-f', '-'], { input: countRules() });
    const c = ctx.lab.client;
    writeFileSync(join(ctx.dir, 'trafgen.cfg'), trafgenConfig({
      srcMac: c.mac, dstMac: ctx.installed.targetMac, srcIp: c.ip, dstIp: ctx.installed.target, dport: PORTS.udp, flows: ctx.settings.flows,
    }));
    return async () => {
      for (const rs of ctx.lab.realServers) await execIn(rs.ns, ['nft', 'delete', 'table', 'netdev', COUNT_TABLE], { check: false });
    };
  },
  runOnce: async (ctx) => {
    const log = join(ctx.dir, 'trafgen.log');
    writeFileSync(log, '');
    const t0 = Date.now();
    const tg = startInNs(ctx.lab.client.ns, ['taskset', '-c', '0', 'trafgen', '-o', ctx.lab.client.ifname,
      '-i', join(ctx.dir, 'trafgen.cfg'), '-P', '1'], log);
    try {
      await sleep(WARMUP_MS);
      if (!pidMatches(tg.pid)) throw new Error(`trafgen exited at start: ${tail(log)}`);
      const d0 = await delivered(ctx);
      const c0 = cpuSnapshot(ctx.lab.director.ns);
      await sleep(ctx.settings.seconds * 1000);
      const c1 = cpuSnapshot(ctx.lab.director.ns);
      const d1 = await delivered(ctx);
      if (!pidMatches(tg.pid)) throw new Error(`trafgen stopped during the window: ${tail(log)}`);
      const secs = (c1.at - c0.at) / 1000;
      const pkts = d1 - d0;
      const cpu = cpuDelta(c0, c1);
      await interrupt(tg.pid);
      const lifeSec = (Date.now() - t0) / 1000;
      const sent = /(\d+) packets outgoing/.exec(readFileSync(log, 'utf8'));
      const out: Record<string, number> = { 'udp.mpps': pkts / secs / 1e6 };
      if (pkts > 0) out['udp.cpuNsPerPkt'] = ((cpu.softirqSec + cpu.procSec) * 1e9) / pkts;
      // trafgen's total covers its whole life (warm-up included), so divide by that.
      if (sent) out['udp.sentMpps'] = Number(sent[1]) / lifeSec / 1e6;
      return { values: out };
    } finally {
      await interrupt(tg.pid);
    }
  },
};

/**
 * trafgen forks one sender per CPU and prints its totals only on SIGINT to the whole group
 * (as a terminal's ^C does). startInNs made it the leader of a process group of its own,
 * so the group is ours: SIGINT it, wait, then SIGKILL the group if anything is left.
 */
async function interrupt(pid: number): Promise<void> {
  const group = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      // the group is gone
    }
  };
  group('SIGINT');
  for (let i = 0; i < 100 && groupAlive(pid); i++) await sleep(20);
  if (groupAlive(pid)) {
    group('SIGKILL');
    for (let i = 0; i < 50 && groupAlive(pid); i++) await sleep(20);
  }
  await stopPid(pid, { graceMs: 1000 });
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-2).join(' | ');
  } catch {
    return '';
  }
}
