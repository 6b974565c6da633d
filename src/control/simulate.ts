// "Where would these flows go?" — runs synthetic TCP connections through a real Director
// (same schedulers, connection table and state machine as the data plane) and reports
// which real server each connection got and the counters -L -n would show afterwards.
//
// Flows: N new TCP connections from K distinct clients (198.18.0.0/15, the benchmarking
// range, never sent anywhere). Connection i comes from client i mod K with a fresh
// source port, sends SYN then ACK (so it is ESTABLISHED, i.e. ActiveConn); with
// closeEvery = M, every M-th connection then sends FIN (it moves to InActConn), which is
// what lets lc/wlc react as they do on a live director.

import { AF_INET, IPPROTO_TCP } from '../core/constants';
import { Director } from '../core/director';
import { DROP_NAMES } from '../core/drops';
import type { Service } from '../core/service';
import { TH_ACK, TH_FIN, TH_SYN } from '../conn/tcp-states';

export interface SimulateOptions {
  flows: number;
  clients: number;
  closeEvery: number;
  /** `addr:port` of the service to send to; default: the first TCP service. */
  service?: string;
}

export interface SimulatedDest {
  service: string;
  address: string;
  weight: number;
  activeConns: number;
  inactConns: number;
}

export interface SimulateResult {
  /** Dest `addr:port` per connection in order, or null when it was dropped. */
  assignments: (string | null)[];
  dests: SimulatedDest[];
  drops: Record<string, number>;
}

const CLIENT_BASE = 0xc6120000; // 198.18.0.0
const CLIENT_SPAN = 1 << 17; // a /15
const FIRST_PORT = 1024;

export function simulate(director: Director, opts: SimulateOptions): SimulateResult {
  const svc = pickService(director, opts.service);
  const assignments: (string | null)[] = [];
  const counts = new Map<number, number>();
  const vaddr = svc.addr.v4;
  const vport = svc.port === 0 ? 80 : svc.port;
  const K = Math.max(1, Math.min(opts.clients, CLIENT_SPAN - 2));
  for (let i = 0; i < opts.flows; i++) {
    const caddr = (CLIENT_BASE + 1 + (i % K)) >>> 0;
    const cport = FIRST_PORT + (Math.floor(i / K) % (65536 - FIRST_PORT));
    const destId = director.inPacket4(IPPROTO_TCP, caddr, cport, vaddr, vport, TH_SYN, 60, svc.fwmark);
    if (destId === 0) {
      assignments.push(null);
      continue;
    }
    const dest = director.services.dests[destId]!;
    assignments.push(dest.toString());
    counts.set(destId, (counts.get(destId) ?? 0) + 1);
    director.inPacket4(IPPROTO_TCP, caddr, cport, vaddr, vport, TH_ACK, 52, svc.fwmark);
    if (opts.closeEvery > 0 && (i + 1) % opts.closeEvery === 0) {
      director.inPacket4(IPPROTO_TCP, caddr, cport, vaddr, vport, TH_FIN | TH_ACK, 52, svc.fwmark);
    }
  }
  const dests: SimulatedDest[] = [];
  for (const s of sortedServices(director)) {
    for (const d of [...s.dests].sort((a, b) => a.addr.compare(b.addr) || a.port - b.port)) {
      dests.push({ service: s.toString(), address: d.toString(), weight: d.weight, activeConns: d.activeConns, inactConns: d.inactConns });
    }
  }
  const drops: Record<string, number> = {};
  director.drops.forEach((n, i) => {
    if (n > 0) drops[DROP_NAMES[i]] = n;
  });
  return { assignments, dests, drops };
}

function pickService(director: Director, want?: string): Service {
  const list = director.services.services.filter((s) => s.af === AF_INET && (s.proto === IPPROTO_TCP || s.fwmark !== 0));
  if (want !== undefined) {
    const found = list.find((s) => s.fwmark === 0 && s.addr.withPort(s.port) === want) ?? list.find((s) => `${s.fwmark}` === want);
    if (!found) throw new Error(`no TCP or fwmark service ${want} in the rules`);
    return found;
  }
  if (!list.length) throw new Error('the rules define no IPv4 TCP or fwmark service to send flows to');
  return list[0];
}

function sortedServices(director: Director): Service[] {
  return [...director.services.services].sort(
    (a, b) => a.fwmark - b.fwmark || a.af - b.af || a.proto - b.proto || a.addr.compare(b.addr) || a.port - b.port,
  );
}

/** Human summary: per dest, how many of the flows it received. */
export function describe(result: SimulateResult): string {
  const total = result.assignments.length;
  const got = new Map<string, number>();
  for (const a of result.assignments) if (a !== null) got.set(a, (got.get(a) ?? 0) + 1);
  const lines = [`${total} flows`];
  for (const d of result.dests) {
    const n = got.get(d.address) ?? 0;
    const pct = total ? ((100 * n) / total).toFixed(1) : '0.0';
    lines.push(`  ${d.service.padEnd(26)} -> ${d.address.padEnd(22)} weight ${String(d.weight).padEnd(6)} flows ${String(n).padStart(7)} (${pct.padStart(5)}%)  active ${d.activeConns} inactive ${d.inactConns}`);
  }
  const drops = Object.entries(result.drops);
  if (drops.length) lines.push(`  dropped: ${drops.map(([k, v]) => `${k}=${v}`).join(' ')}`);
  return lines.join('\n');
}

