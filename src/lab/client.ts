// Traffic helpers run from a lab namespace (the client's unless `ns` says otherwise), each
// bounded in time: HTTP GETs with curl (one curl for all requests, so keep-alive really
// reuses one connection), UDP datagrams with a node one-liner, ARP probes with arping,
// ping, and a look at the neighbour table.

import { run } from './run';
import type { Lab } from './state';

export interface HttpGetOptions {
  /** Reuse one connection for all `count` requests (default true); false sends Connection: close. */
  keepAlive?: boolean;
  /** Requests to make, one after another (default 1). */
  count?: number;
  /** Limit per request (default 3000 ms). */
  timeoutMs?: number;
  /** Namespace to run curl in (default the client's). */
  ns?: string;
  /** Return failed requests (status 0) instead of throwing. */
  allowFail?: boolean;
}

export interface HttpGetResult {
  bodies: string[];
  /** HTTP status per request; 0 when the request failed (refused, timed out...). */
  statuses: number[];
  /** New TCP connections opened per request (0 = reused a kept-alive one). */
  connects: number[];
  exitCode: number;
  stderr: string;
}

const SEP = '@@tsvs-lab@@';

export async function httpGet(lab: Lab, url: string, opts: HttpGetOptions = {}): Promise<HttpGetResult> {
  const count = opts.count ?? 1;
  const perReq = opts.timeoutMs ?? 3000;
  const secs = (perReq / 1000).toFixed(3);
  const argv = ['ip', 'netns', 'exec', opts.ns ?? lab.client.ns, 'curl', '-sS', '--noproxy', '*',
    '--connect-timeout', secs, '--max-time', secs, '-w', `\n${SEP} %{http_code} %{num_connects}\n`];
  if (opts.keepAlive === false) argv.push('-H', 'Connection: close');
  for (let i = 0; i < count; i++) argv.push(url);
  const r = await run(argv, { check: false, timeoutMs: perReq * count + 3000 });
  const out: HttpGetResult = { bodies: [], statuses: [], connects: [], exitCode: r.code, stderr: r.stderr };
  const re = new RegExp(`\\n${SEP} (\\d+) (\\d+)\\n`, 'g');
  let last = 0;
  for (let m = re.exec(r.stdout); m; m = re.exec(r.stdout)) {
    out.bodies.push(r.stdout.slice(last, m.index));
    out.statuses.push(Number(m[1]));
    out.connects.push(Number(m[2]));
    last = m.index + m[0].length;
  }
  if (!opts.allowFail && (out.statuses.length !== count || out.statuses.some((s) => s === 0))) {
    throw new Error(`GET ${url} from ${opts.ns ?? lab.client.ns} failed (curl exit ${r.code}${r.timedOut ? ', timed out' : ''}): ${r.stderr.trim()}`);
  }
  return out;
}

export interface UdpReply {
  address: string;
  port: number;
  data: string;
}

// argv: host port timeoutMs payload...; sends each payload, prints one JSON line per reply,
// exits when as many replies as payloads arrived or at the deadline.
const UDP_SCRIPT = `
const dgram = require('dgram');
const [host, port, ms, ...payloads] = process.argv.slice(1);
const s = dgram.createSocket('udp4');
let got = 0;
const done = () => { s.close(); process.exit(0); };
setTimeout(done, Number(ms));
s.on('message', (m, r) => {
  process.stdout.write(JSON.stringify({ address: r.address, port: r.port, data: m.toString() }) + '\\n');
  if (++got >= payloads.length) done();
});
s.bind(0, () => { for (const p of payloads) s.send(p, Number(port), host); });
`;

/** Sends each payload as one datagram to host:port; returns the replies that came back in time. */
export async function udpSend(lab: Lab, host: string, port: number, payload: string | string[], opts: { timeoutMs?: number; ns?: string } = {}): Promise<UdpReply[]> {
  const payloads = Array.isArray(payload) ? payload : [payload];
  const ms = opts.timeoutMs ?? 2000;
  const r = await run(['ip', 'netns', 'exec', opts.ns ?? lab.client.ns, process.execPath, '-e', UDP_SCRIPT, '--',
    host, String(port), String(ms), ...payloads], { check: false, timeoutMs: ms + 5000 });
  if (r.code !== 0) throw new Error(`udpSend to ${host}:${port} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as UdpReply);
}

export interface ArpingResult {
  /** Reply lines seen. */
  replies: number;
  /** Distinct MACs that answered. */
  macs: string[];
}

/**
 * ARP requests for `ip` with arping: `count` requests one second apart (this arping takes
 * whole seconds only), waiting at most `deadlineS` (default `count`) for as many replies.
 */
export async function arping(lab: Lab, ip: string, opts: { count?: number; deadlineS?: number; ns?: string; iface?: string } = {}): Promise<ArpingResult> {
  const count = opts.count ?? 2;
  const deadline = opts.deadlineS ?? count;
  const r = await run(['ip', 'netns', 'exec', opts.ns ?? lab.client.ns, 'arping', '-c', String(count),
    '-w', String(deadline), '-I', opts.iface ?? 'eth0', ip], { check: false, timeoutMs: deadline * 1000 + 3000 });
  if (r.code !== 0 && r.code !== 1) throw new Error(`arping failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  const macs = new Set<string>();
  let replies = 0;
  for (const m of r.stdout.matchAll(/reply from \S+ \[([0-9a-fA-F:]{17})\]/g)) {
    replies++;
    macs.add(m[1].toLowerCase());
  }
  return { replies, macs: [...macs] };
}

/** ping `ip` `count` times (0.2 s apart), waiting at most `deadlineS`. */
export async function ping(lab: Lab, ip: string, opts: { count?: number; deadlineS?: number; ns?: string } = {}): Promise<{ transmitted: number; received: number }> {
  const count = opts.count ?? 1;
  const deadline = opts.deadlineS ?? 2;
  const r = await run(['ip', 'netns', 'exec', opts.ns ?? lab.client.ns, 'ping', '-n', '-q', '-c', String(count),
    '-i', '0.2', '-w', String(deadline), ip], { check: false, timeoutMs: deadline * 1000 + 3000 });
  const m = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(r.stdout);
  if (!m) throw new Error(`ping ${ip} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  return { transmitted: Number(m[1]), received: Number(m[2]) };
}

/** The neighbour-table entry for `ip` in namespace `ns`, if any. */
export async function neighbour(ns: string, ip: string): Promise<{ state: string[]; mac?: string } | undefined> {
  const r = await run(['ip', '-n', ns, '-j', 'neigh', 'show', 'to', ip], { timeoutMs: 5000 });
  const rows = JSON.parse(r.stdout || '[]') as Array<{ dst: string; lladdr?: string; state?: string[] }>;
  const row = rows.find((x) => x.dst === ip);
  return row ? { state: row.state ?? [], mac: row.lladdr } : undefined;
}
