// UDP packets per second through tsvs with 1 worker (the in-thread path) and with 2
// workers, in a namespace lab (client, director, 2 real servers). Prints numbers, asserts
// nothing. Root; bounded in time; cleans up (labDown, and every PID it started).
//
//   npm run build:ts && node dist/bench/workers.js [--seconds 4] [--runs 3] [--rates 150000,300000,0]
//
// The client runs trafgen (one process: -P 1; -Q: it must not touch IRQ affinity) over a
// fixed set of 64 minimal UDP frames to VIP:7 that differ only in the source port (so the
// fanout spreads them; lab-notes pitfall 8: a fixed frame set rather than per-packet
// rewriting), at each rate in --rates (0 = as fast as it goes; trafgen may then stop
// early, pitfall 8, and the rate is computed over the time it really ran). Delivered =
// frames the real servers' eth0 received (their kernel counters, not the echo program,
// which could not keep up), per second of trafgen's run. Offered = frames trafgen sent.
//
// This VM has 2 vCPUs: trafgen and the veth softirq it triggers (which runs on trafgen's
// CPU, lab-notes pitfall 1) take one, so two workers share the other with the main thread
// and each other. The numbers show that, not the scaling of a real host.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { labDown, labUp } from '../src/lab/lab';
import { nsRun, startInNs, stopPid } from '../src/lab/exec';
import type { LabState } from '../src/lab/state';

const ROOT = join(__dirname, '..', '..');
const TRAFGEN = '/usr/sbin/trafgen';

function hexBytes(mac: string): string {
  return mac.split(':').map((h) => `0x${h}`).join(', ');
}

function ipBytes(ip: string): string {
  return ip.split('.').join(', ');
}

/** 64 frames: client -> VIP:7, source ports 20000..20063, 18 bytes of payload (60-byte frames). */
function trafgenConfig(lab: LabState): string {
  const frames: string[] = [];
  for (let i = 0; i < 64; i++) {
    frames.push(`{ ${hexBytes(lab.director.mac)}, ${hexBytes(lab.client.mac)}, 0x08, 0x00,
  0x45, 0x00, const16(46), const16(${i}), 0x40, 0x00, 64, 17, csumip(14, 33),
  ${ipBytes(lab.client.ip)}, ${ipBytes(lab.vip)},
  const16(${20000 + i}), const16(7), const16(26), const16(0),
  fill(0x61, 18) }`);
  }
  return `${frames.join('\n')}\n`;
}

async function rxPackets(ns: string): Promise<number> {
  const r = await nsRun(ns, ['cat', '/sys/class/net/eth0/statistics/rx_packets'], { timeoutMs: 5000 });
  return Number(r.stdout.trim());
}

async function delivered(lab: LabState): Promise<number> {
  let n = 0;
  for (const rs of lab.realServers) n += await rxPackets(rs.ns);
  return n;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

interface Row {
  workers: number;
  rate: string;
  offeredPps: number;
  deliveredPps: number;
  runs: string;
}

async function main(): Promise<void> {
  if (!existsSync(TRAFGEN)) throw new Error(`${TRAFGEN} is not installed (netsniff-ng)`);
  const args = process.argv.slice(2);
  const opt = (name: string, dflt: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
  const seconds = Number(opt('--seconds', '4'));
  const runs = Number(opt('--runs', '3'));
  const rates = opt('--rates', '150000,300000,0').split(',').map(Number);
  const rows: Row[] = [];
  const lab = await labUp({ realServers: 2, log: () => undefined });
  const pids: number[] = [];
  try {
    const cfg = join(lab.stateDir, 'workers-bench.yaml');
    const tg = join(lab.stateDir, 'udp64.trafgen');
    writeFileSync(tg, trafgenConfig(lab));
    for (const workers of [1, 2]) {
      writeFileSync(cfg, `services:\n  - vip: ${lab.vip}\n    port: 7\n    protocol: udp\n    scheduler: rr\n    realservers:\n` +
        lab.realServers.map((rs) => `      - { address: ${rs.ip} }\n`).join(''));
      const status = join(lab.stateDir, `status-${workers}.json`);
      const log = join(lab.stateDir, `director-${workers}.log`);
      const daemon = startInNs(lab.director.ns, [process.execPath, join(ROOT, 'dist', 'src', 'cli', 'tsvs.js'), 'daemon', '--interface', 'eth0',
        '--config', cfg, '--status-file', status, '--socket', join(lab.stateDir, `ctl-${workers}.sock`), '--workers', String(workers)], log).pid;
      pids.push(daemon);
      for (let i = 0; i < 100; i++) {
        try {
          if ((JSON.parse(readFileSync(status, 'utf8')) as { unresolved: string[] }).unresolved.length === 0) break;
        } catch {
          /* not yet */
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      await new Promise((r) => setTimeout(r, 500));
      process.stderr.write(`${readFileSync(log, 'utf8').split('\n').filter((l) => /data plane|director on/.test(l)).join('\n')}\n`);
      for (const rate of rates) {
        const off: number[] = [];
        const got: number[] = [];
        for (let k = 0; k < runs; k++) {
          const n = rate > 0 ? rate * seconds : 2_000_000;
          const argv = [TRAFGEN, '-o', 'eth0', '-i', tg, '-P', '1', '-Q', '-n', String(n), ...(rate > 0 ? ['-b', `${rate}pps`] : [])];
          const d0 = await delivered(lab);
          const t0 = process.hrtime.bigint();
          const r = await nsRun(lab.client.ns, argv, { timeoutMs: (seconds + 30) * 1000, check: false });
          const secs = Number(process.hrtime.bigint() - t0) / 1e9;
          await new Promise((res) => setTimeout(res, 300)); // the last frames drain
          const d1 = await delivered(lab);
          const sent = Number(/(\d+)\s+packets outgoing/.exec(r.stdout + r.stderr)?.[1] ?? n);
          off.push(sent / secs);
          got.push((d1 - d0) / secs);
        }
        const row: Row = {
          workers,
          rate: rate > 0 ? `${rate} pps` : 'unbounded',
          offeredPps: Math.round(median(off)),
          deliveredPps: Math.round(median(got)),
          runs: got.map((g) => Math.round(g)).join(' '),
        };
        rows.push(row);
        process.stdout.write(`workers ${workers}  rate ${row.rate.padEnd(10)}  offered ${String(row.offeredPps).padStart(8)} pps  delivered ${String(row.deliveredPps).padStart(8)} pps (runs: ${row.runs})\n`);
      }
      const st = JSON.parse(readFileSync(status, 'utf8')) as { drops: Record<string, number>; workers?: { index: number; cpu: number; forwarded: number }[] };
      process.stdout.write(`  drops ${JSON.stringify(st.drops)}${st.workers ? `  per worker ${JSON.stringify(st.workers.map((w) => ({ cpu: w.cpu, forwarded: w.forwarded })))}` : ''}\n`);
      await stopPid(daemon, { graceMs: 3000 });
    }
  } finally {
    for (const p of pids) await stopPid(p, { graceMs: 2000 });
    await labDown(lab.name);
  }
  process.stdout.write(`${JSON.stringify({ date: new Date().toISOString(), cpus: spawnSync('nproc').stdout.toString().trim(), seconds, runs, rows })}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
