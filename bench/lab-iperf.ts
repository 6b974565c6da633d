// iperf3 through the VIP in a namespace lab, with veth offloads on and off, beside the
// same client talking straight to the real server (the lab's ceiling). Prints a table
// and writes bench/results/lab-iperf.json. Root; bounded in time; cleans up.
//
//   npm run build:ts && node dist/bench/lab-iperf.js [--seconds 5] [--runs 3]
//
// The director uses sh (source hash) so iperf3's control and data connections land on
// the same real server (lab-notes pitfall 9).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { labDown, labUp } from '../src/lab/lab';
import { nsRun, startInNs, stopPid } from '../src/lab/exec';

const ROOT = join(__dirname, '..', '..');

async function iperf(ns: string, target: string, seconds: number): Promise<number> {
  const r = await nsRun(ns, ['iperf3', '-c', target, '-t', String(seconds), '-J', '-P', '1'], { timeoutMs: (seconds + 20) * 1000, check: false });
  const j = JSON.parse(r.stdout) as { end?: { sum_received?: { bits_per_second: number } }; error?: string };
  if (!j.end?.sum_received) throw new Error(`iperf3 to ${target} failed: ${j.error ?? r.stderr}`);
  return j.end.sum_received.bits_per_second / 1e9;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
  if (spawnSync('iperf3', ['--version']).error) throw new Error('iperf3 is not installed: apt-get install iperf3');
  const args = process.argv.slice(2);
  const seconds = Number(args[args.indexOf('--seconds') + 1]) || 5;
  const runs = Number(args[args.indexOf('--runs') + 1]) || 3;
  const results: Record<string, { medianGbps: number; minGbps: number; maxGbps: number }> = {};
  for (const offloads of ['on', 'off'] as const) {
    const lab = await labUp({ realServers: 1, offloads, log: () => undefined });
    let daemon = 0;
    const servers: number[] = [];
    try {
      const rs = lab.realServers[0];
      servers.push(startInNs(rs.ns, ['iperf3', '-s'], join(lab.stateDir, 'iperf3.log')).pid);
      const cfg = join(lab.stateDir, 'director.yaml');
      writeFileSync(cfg, `services:\n  - vip: ${lab.vip}\n    port: 5201\n    scheduler: sh\n    realservers:\n      - { address: ${rs.ip} }\n`);
      const status = join(lab.stateDir, 'status.json');
      daemon = startInNs(lab.director.ns, [process.execPath, join(ROOT, 'dist', 'src', 'cli', 'tsvs.js'), 'daemon', '--interface', 'eth0', '--config', cfg, '--status-file', status], join(lab.stateDir, 'director.log')).pid;
      for (let i = 0; i < 100 && !existsSync(status); i++) await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 500));
      for (const [label, target] of [['direct to the real server', rs.ip], ['through tsvs (VIP)', lab.vip]] as const) {
        const xs: number[] = [];
        for (let i = 0; i < runs; i++) xs.push(await iperf(lab.client.ns, target, seconds));
        results[`${label}, offloads ${offloads}`] = { medianGbps: +median(xs).toFixed(2), minGbps: +Math.min(...xs).toFixed(2), maxGbps: +Math.max(...xs).toFixed(2) };
        process.stderr.write(`${label}, offloads ${offloads}: ${xs.map((x) => x.toFixed(2)).join(' ')} Gbps\n`);
      }
    } finally {
      if (daemon) await stopPid(daemon, { graceMs: 3000 });
      for (const p of servers) await stopPid(p, { graceMs: 1000 });
      await labDown(lab.name);
    }
  }
  console.log('iperf3, 1 stream, median of', runs, 'runs of', seconds, 's (min-max)');
  for (const [k, v] of Object.entries(results)) console.log(`  ${k.padEnd(44)} ${v.medianGbps.toFixed(2).padStart(6)} Gbps  (${v.minGbps}-${v.maxGbps})`);
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'lab-iperf.json'), JSON.stringify({ date: new Date().toISOString(), seconds, runs, results }, null, 2) + '\n');
}

main().catch((e) => {
  process.stderr.write(`lab-iperf: ${(e as Error).message}\n`);
  process.exitCode = 1;
});
