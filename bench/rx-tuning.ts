// RX ring and TX tuning, measured end to end in a namespace lab (root; bounded in time;
// cleans up). One lab, one tsvs daemon per variant (--rx-ring / --rx-tune), every variant
// measured side by side in each round, rounds interleaved so that the drift of a shared
// machine spreads over all variants alike. Per variant and round:
//   - latency at low rate: 100 pings at 10 ms from the client to the VIP (answered by tsvs
//     from its ring) and, as the baseline, to the director's own address (answered by its
//     kernel over the same wires); added latency = p50(VIP) - p50(director);
//   - UDP small packets: trafgen on the client sends a fixed set of 256 64-byte frames
//     (256 source ports) to VIP:9 at a bounded offered rate (lab-notes pitfall 8), tsvs
//     forwards them to the real server (DR); delivered pps = the real server's rx_packets
//     over a 2 s window; meanwhile 100 pings at 10 ms give latency under load, and the
//     daemon's CPU time gives µs of CPU per delivered packet;
//   - iperf3, 1 stream, offloads on, through the VIP (source hash).
// Prints a table (median of the rounds, min-max) and writes bench/results/rx-tuning.json.
//
//   npx tsc -p . && node dist/bench/rx-tuning.js [--rounds 3] [--rate 400000] [--variants a,b]

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { labDown, labUp } from '../src/lab/lab';
import { nsRun, startInNs, stopPid } from '../src/lab/exec';
import type { LabState } from '../src/lab/state';

const ROOT = join(__dirname, '..', '..');
const TRAFGEN = '/usr/sbin/trafgen';

interface Variant {
  name: string;
  ring: 'v2' | 'v3';
  tune: string;
  noVnet?: boolean;
  /** Pin the daemon to this CPU (taskset), for experiments. */
  cpu?: number;
  what: string;
}

const VARIANTS: Variant[] = [
  { name: 'v3', ring: 'v3', tune: '', what: 'V3 256 KiB x 64 blocks, retire 1 ms (the old default)' },
  { name: 'v3-small', ring: 'v3', tune: 'blockSize=128k,blockCount=128', what: 'V3 128 KiB x 128 blocks (smallest with vnet), retire 1 ms' },
  { name: 'v3-send', ring: 'v3', tune: 'tx=send', what: 'V3 default, TX one send() per frame' },
  { name: 'v2', ring: 'v2', tune: '', what: 'V2 480 slots of 64 KiB (vnet), batch <= 1024' },
  { name: 'v2-batch64', ring: 'v2', tune: 'maxBatch=64', what: 'V2, batch <= 64' },
  { name: 'v2-ring16', ring: 'v2', tune: 'blockCount=16', what: 'V2 240 slots (16 MiB)' },
  { name: 'v2-ring64', ring: 'v2', tune: 'blockCount=64', what: 'V2 960 slots (64 MiB)' },
  { name: 'v2-send', ring: 'v2', tune: 'tx=send', what: 'V2, TX one send() per frame' },
  { name: 'v2-novnet', ring: 'v2', tune: '', noVnet: true, what: 'V2 8192 slots of 2 KiB, no vnet (offloads must be off)' },
];

interface Sample {
  pingVip: number[];
  pingDirect: number[];
  pingLoad: number[];
  pps: number;
  cpuUsPerPkt: number;
  gbps: number;
  ringDrops: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function pct(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}
function median(xs: number[]): number {
  return pct(xs, 50);
}

/** RTTs in ms of `count` pings at `intervalS` from ns to ip. */
async function ping(ns: string, ip: string, count: number, intervalS: number): Promise<number[]> {
  const r = await nsRun(ns, ['ping', '-n', '-c', String(count), '-i', String(intervalS), '-W', '1', ip], { timeoutMs: count * intervalS * 1000 + 10000, check: false });
  const out: number[] = [];
  for (const m of r.stdout.matchAll(/time=([\d.]+) ms/g)) out.push(Number(m[1]));
  return out;
}

async function counter(ns: string, path: string): Promise<number> {
  const r = await nsRun(ns, ['cat', path], { check: false });
  return Number(r.stdout.trim()) || 0;
}

function cpuTicks(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return Number(rest[11]) + Number(rest[12]); // utime + stime
  } catch {
    return 0;
  }
}

function macBytes(mac: string): number[] {
  return mac.split(':').map((x) => parseInt(x, 16));
}
function ipBytes(ip: string): number[] {
  return ip.split('.').map(Number);
}
function csum(words: number[]): number {
  let s = 0;
  for (let i = 0; i < words.length; i += 2) s += (words[i] << 8) | (words[i + 1] ?? 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** A trafgen config of 256 fixed UDP frames (60 bytes + FCS on the wire) from 256 source ports to VIP:9. */
function trafgenConfig(lab: LabState): string {
  const blocks: string[] = [];
  const payload = new Array(18).fill(0x61);
  for (let i = 0; i < 256; i++) {
    const sport = 20000 + i;
    const ipLen = 20 + 8 + payload.length;
    const ip = [0x45, 0, ipLen >> 8, ipLen & 0xff, 0, 0, 0x40, 0, 64, 17, 0, 0, ...ipBytes(lab.client.ip), ...ipBytes(lab.vip)];
    const c = csum(ip);
    ip[10] = c >> 8;
    ip[11] = c & 0xff;
    const udp = [sport >> 8, sport & 0xff, 0, 9, 0, 8 + payload.length, 0, 0, ...payload];
    const pseudo = [...ipBytes(lab.client.ip), ...ipBytes(lab.vip), 0, 17, 0, 8 + payload.length, ...udp];
    const uc = csum(pseudo) || 0xffff;
    udp[6] = uc >> 8;
    udp[7] = uc & 0xff;
    const frame = [...macBytes(lab.director.mac), ...macBytes(lab.client.mac), 0x08, 0x00, ...ip, ...udp];
    blocks.push(`{ ${frame.map((b) => '0x' + b.toString(16).padStart(2, '0')).join(', ')} }`);
  }
  return blocks.join('\n') + '\n';
}

async function iperf(ns: string, target: string, seconds: number): Promise<number> {
  const r = await nsRun(ns, ['iperf3', '-c', target, '-t', String(seconds), '-J', '-P', '1'], { timeoutMs: (seconds + 20) * 1000, check: false });
  try {
    const j = JSON.parse(r.stdout) as { end?: { sum_received?: { bits_per_second: number } }; error?: string };
    if (!j.end?.sum_received) process.stderr.write(`iperf3 to ${target} failed: ${j.error ?? r.stderr}\n`);
    return (j.end?.sum_received?.bits_per_second ?? 0) / 1e9;
  } catch {
    process.stderr.write(`iperf3 to ${target} failed: ${r.stderr}\n`);
    return 0;
  }
}

async function measure(lab: LabState, v: Variant, rate: number, tgCfg: string, round: number): Promise<Sample> {
  const rs = lab.realServers[0];
  const status = join(lab.stateDir, `status-${v.name}.json`);
  rmSync(status, { force: true });
  const argv = [...(v.cpu === undefined ? [] : ['taskset', '-c', String(v.cpu)]), process.execPath, join(ROOT, 'dist', 'src', 'cli', 'tsvs.js'), 'daemon', '--interface', 'eth0', '--config', join(lab.stateDir, 'director.yaml'),
    '--status-file', status, '--socket', join(lab.stateDir, 'tsvs.sock'), '--rx-ring', v.ring];
  if (v.tune) argv.push('--rx-tune', v.tune);
  if (v.noVnet) argv.push('--no-vnet');
  const daemon = startInNs(lab.director.ns, argv, join(lab.stateDir, `director-${v.name}.log`)).pid;
  const servers: number[] = [];
  try {
    for (let i = 0; i < 300 && !existsSync(status); i++) await sleep(100);
    if (!existsSync(status)) throw new Error(`daemon ${v.name} did not start: ${readFileSync(join(lab.stateDir, `director-${v.name}.log`), 'utf8').slice(-500)}`);
    await sleep(300);
    // Low rate: VIP (tsvs) and the director's own address (kernel), interleaved.
    await ping(lab.client.ns, lab.vip, 5, 0.01); // ARP warm-up
    const pingVip = await ping(lab.client.ns, lab.vip, 100, 0.01);
    const pingDirect = await ping(lab.client.ns, lab.director.ip, 100, 0.01);

    // Under load: trafgen at a bounded rate on one CPU, not touching IRQs or socket sysctls.
    const rxPath = '/sys/class/net/eth0/statistics/rx_packets';
    const tg = startInNs(lab.client.ns, [TRAFGEN, '--dev', 'eth0', '--conf', tgCfg, '-P', '1', '-b', `${rate}pps`, '-n', String(Math.ceil(rate * 3.5)), '--notouch-irq', '--no-sock-mem', '--no-cpu-stats'], join(lab.stateDir, `trafgen-${v.name}-${round}.log`));
    await sleep(700);
    const c0 = await counter(rs.ns, rxPath);
    const t0 = process.hrtime.bigint();
    const cpu0 = cpuTicks(daemon);
    const pingLoad = await ping(lab.client.ns, lab.vip, 100, 0.01);
    const left = 2000 - Number(process.hrtime.bigint() - t0) / 1e6;
    if (left > 0) await sleep(left);
    const c1 = await counter(rs.ns, rxPath);
    const cpu1 = cpuTicks(daemon);
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    // trafgen ignores SIGTERM while its worker runs; SIGINT ends both (and -n bounds it anyway).
    try {
      process.kill(tg.pid, 'SIGINT');
    } catch {
      // already done
    }
    await stopPid(tg.pid, { graceMs: 2000 });
    const pps = (c1 - c0) / secs;
    const cpuUsPerPkt = c1 > c0 ? (((cpu1 - cpu0) / 100) * 1e6) / (c1 - c0) : NaN;
    await sleep(300);

    let gbps = NaN;
    if (!v.noVnet) {
      servers.push(startInNs(rs.ns, ['iperf3', '-s', '-1'], join(lab.stateDir, 'iperf3.log')).pid);
      await sleep(500);
      gbps = await iperf(lab.client.ns, lab.vip, 3);
      if (gbps < 0.5) process.stderr.write(`${v.name}: iperf3 ${gbps.toFixed(2)} Gbps; status: ${JSON.stringify((JSON.parse(readFileSync(status, "utf8")) as Record<string, unknown>).drops)} ${JSON.stringify((JSON.parse(readFileSync(status, "utf8")) as Record<string, unknown>).pipeline ?? "")}\n`);
    }
    let ringDrops = 0;
    try {
      const st = JSON.parse(readFileSync(status, 'utf8')) as Record<string, unknown>;
      ringDrops = Number((st.rx as { drops?: number } | undefined)?.drops ?? 0);
    } catch {
      // the status file has no ring counters: leave 0
    }
    return { pingVip, pingDirect, pingLoad, pps, cpuUsPerPkt, gbps, ringDrops };
  } finally {
    await stopPid(daemon, { graceMs: 3000 });
    for (const p of servers) await stopPid(p, { graceMs: 1000 });
  }
}

function fmtRange(xs: number[], digits: number, scale = 1): string {
  const ys = xs.filter((x) => Number.isFinite(x)).map((x) => x * scale);
  if (ys.length === 0) return '—';
  return `${median(ys).toFixed(digits)} (${Math.min(...ys).toFixed(digits)}-${Math.max(...ys).toFixed(digits)})`;
}

async function main(): Promise<void> {
  if (!existsSync(TRAFGEN)) throw new Error(`${TRAFGEN} is missing: apt-get install netsniff-ng`);
  if (spawnSync('iperf3', ['--version']).error) throw new Error('iperf3 is not installed: apt-get install iperf3');
  const args = process.argv.slice(2);
  const opt = (k: string) => (args.includes(k) ? args[args.indexOf(k) + 1] : undefined);
  const rounds = Number(opt('--rounds') ?? 3);
  const rate = Number(opt('--rate') ?? 400000);
  const pick = opt('--variants')?.split(',');
  const variants = pick ? VARIANTS.filter((v) => pick.includes(v.name)) : VARIANTS;
  const samples = new Map<string, Sample[]>(variants.map((v) => [v.name, []]));

  const lab = await labUp({ realServers: 1, offloads: 'on', log: () => undefined });
  try {
    const rs = lab.realServers[0];
    writeFileSync(join(lab.stateDir, 'director.yaml'),
      `services:\n  - vip: ${lab.vip}\n    port: 5201\n    scheduler: sh\n    realservers:\n      - { address: ${rs.ip} }\n` +
        `  - vip: ${lab.vip}\n    port: 9\n    protocol: udp\n    scheduler: rr\n    realservers:\n      - { address: ${rs.ip} }\n` +
        `  - vip: ${lab.vip}\n    port: 7\n    protocol: udp\n    scheduler: rr\n    realservers:\n      - { address: ${rs.ip} }\n`);
    const tgCfg = join(lab.stateDir, 'udp64.cfg');
    writeFileSync(tgCfg, trafgenConfig(lab));
    for (let r = 0; r < rounds; r++) {
      for (const v of variants) {
        const s = await measure(lab, v, rate, tgCfg, r);
        samples.get(v.name)!.push(s);
        process.stderr.write(
          `round ${r + 1} ${v.name.padEnd(11)} vip p50 ${median(s.pingVip).toFixed(3)} direct p50 ${median(s.pingDirect).toFixed(3)} ms, ` +
            `load p50 ${median(s.pingLoad).toFixed(3)} ms, ${(s.pps / 1e3).toFixed(0)} kpps, ${s.cpuUsPerPkt.toFixed(2)} us/pkt, ${s.gbps.toFixed(2)} Gbps\n`,
        );
      }
    }
  } finally {
    await labDown(lab.name);
  }

  const rows = variants.map((v) => {
    const ss = samples.get(v.name)!;
    const added = ss.map((s) => (median(s.pingVip) - median(s.pingDirect)) * 1000);
    return {
      variant: v.name, what: v.what, ring: v.ring, tune: v.tune, noVnet: !!v.noVnet,
      addedP50Us: ss.map((_, i) => +added[i].toFixed(1)),
      vipP50Ms: ss.map((s) => +median(s.pingVip).toFixed(3)),
      vipP99Ms: ss.map((s) => +pct(s.pingVip, 99).toFixed(3)),
      directP50Ms: ss.map((s) => +median(s.pingDirect).toFixed(3)),
      loadP50Ms: ss.map((s) => +median(s.pingLoad).toFixed(3)),
      loadP99Ms: ss.map((s) => +pct(s.pingLoad, 99).toFixed(3)),
      kpps: ss.map((s) => +(s.pps / 1e3).toFixed(1)),
      cpuUsPerPkt: ss.map((s) => +s.cpuUsPerPkt.toFixed(2)),
      gbps: ss.map((s) => +s.gbps.toFixed(2)),
    };
  });
  console.log(`rx-tuning: median of ${rounds} rounds (min-max), variants side by side in each round; UDP 64 B offered at ${rate} pps`);
  console.log(['variant', 'ping added p50 µs', 'VIP p50 ms', 'VIP p99 ms', 'loaded p50 ms', 'loaded p99 ms', 'delivered kpps', 'CPU µs/pkt', 'iperf3 Gbps'].join(' | '));
  for (const r of rows) {
    console.log([r.variant, fmtRange(r.addedP50Us, 0), fmtRange(r.vipP50Ms, 3), fmtRange(r.vipP99Ms, 3), fmtRange(r.loadP50Ms, 3), fmtRange(r.loadP99Ms, 3), fmtRange(r.kpps, 0), fmtRange(r.cpuUsPerPkt, 2), fmtRange(r.gbps, 2)].join(' | '));
  }
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'rx-tuning.json'), JSON.stringify({ date: new Date().toISOString(), rounds, offeredPps: rate, rows }, null, 2) + '\n');
}

main().catch((e) => {
  process.stderr.write(`rx-tuning: ${(e as Error).message}\n`);
  process.exitCode = 1;
});
