// New TCP connections per second: nginx on every real server (a generated minimal
// config in our directory, keep-alive off), wrk on the client with `Connection: close`
// so every request is a new connection, and wrk's latency distribution (p50, p99).
// The client gets a wide ephemeral port range and tcp_tw_reuse. Peers that keep state
// (conntrack) clear it before each run through beforeRun (lab-notes 10).

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nsRun, startInNs, stopPid } from '../../lab/exec';
import { execIn, sysctlIn } from '../../lab/netns';
import { sleep } from '../../lab/run';
import { PORTS, type MetricDef, type Workload } from '../types';

export const CONN_METRICS: readonly MetricDef[] = [
  { id: 'conn.rate', label: 'new TCP connections (wrk, Connection: close)', unit: 'conn/s', better: 'higher' },
  { id: 'conn.p50Ms', label: 'connection+request latency p50', unit: 'ms', better: 'lower' },
  { id: 'conn.p99Ms', label: 'connection+request latency p99', unit: 'ms', better: 'lower' },
];

export function nginxConfig(dir: string, name: string, port: number): string {
  return `worker_processes 1;
daemon off;
master_process on;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  keepalive_timeout 0;
  server {
    listen ${port} reuseport backlog=4096;
    location / { return 200 "${name}\\n"; }
  }
}
`;
}

/** A wrk duration such as 850.00us, 1.20ms or 2.01s, in milliseconds. */
export function parseWrkDuration(s: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(s.trim());
  if (!m) return NaN;
  const scale: Record<string, number> = { us: 1e-3, ms: 1, s: 1e3, m: 60e3 };
  return Number(m[1]) * scale[m[2]];
}

export interface WrkResult {
  rate: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

export function parseWrk(text: string): WrkResult {
  const rate = Number(/Requests\/sec:\s+([\d.]+)/.exec(text)?.[1] ?? NaN);
  const p = (q: string) => parseWrkDuration(new RegExp(`^\\s+${q}%\\s+(\\S+)`, 'm').exec(text)?.[1] ?? '');
  const se = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(text)?.[1] ?? 0);
  const errors = (se ? Number(se[1]) + Number(se[3]) + Number(se[4]) : 0) + non2xx;
  return { rate, p50Ms: p('50'), p99Ms: p('99'), errors };
}

export const connWorkload: Workload = {
  id: 'conn',
  label: 'new TCP connections',
  metrics: CONN_METRICS,
  runBoundMs: (s) => s.seconds * 1000 + 25_000,
  prepare: async (ctx) => {
    await sysctlIn(ctx.lab.client.ns, { 'net.ipv4.ip_local_port_range': '1024 65535', 'net.ipv4.tcp_tw_reuse': 1 });
    const pids: number[] = [];
    const undo = async () => {
      for (const pid of pids) await stopPid(pid, { graceMs: 2000 });
    };
    try {
      for (const rs of ctx.lab.realServers) {
        const dir = join(ctx.dir, `nginx-${rs.name}`);
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir, rs.name, PORTS.http));
        pids.push(startInNs(rs.ns, ['nginx', '-p', dir, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf')], join(dir, 'out.log')).pid);
      }
      for (const rs of ctx.lab.realServers) {
        for (let i = 0; ; i++) {
          const ss = await execIn(rs.ns, ['ss', '-Hltn', `sport = :${PORTS.http}`], { check: false });
          if (ss.stdout.includes(`:${PORTS.http}`)) break;
          if (i > 100) throw new Error(`nginx on ${rs.name} is not listening (see ${ctx.dir}/nginx-${rs.name}/error.log)`);
          await sleep(50);
        }
      }
    } catch (e) {
      await undo();
      throw e;
    }
    return undo;
  },
  runOnce: async (ctx) => {
    const s = ctx.settings.seconds;
    const r = await nsRun(ctx.lab.client.ns, ['wrk', '-t1', `-c${ctx.settings.connections}`, `-d${s}s`, '--latency', '--timeout', '2s',
      '-H', 'Connection: close', `http://${ctx.installed.target}:${PORTS.http}/`], { check: false, timeoutMs: s * 1000 + 20_000 });
    const w = parseWrk(r.stdout);
    if (!(w.rate > 0)) throw new Error(`wrk: no result (${(r.stderr || r.stdout).trim().split('\n').slice(-2).join(' | ')})`);
    const notes = w.errors ? [`wrk: ${w.errors} socket errors or bad responses`] : [];
    return { values: { 'conn.rate': w.rate, 'conn.p50Ms': w.p50Ms, 'conn.p99Ms': w.p99Ms }, notes };
  },
};
