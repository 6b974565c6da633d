// The tsvs peer: `tsvs daemon` in the director namespace, direct routing to every real
// server, one service per workload port (UDP wlc, HTTP wlc, iperf3 sh so that iperf3's
// control and data connections meet on one real server, lab-notes 9). tsvs answers ARP
// and ping for the VIP itself (except with --capture tun, see below).
//
// The variants are argument sets for the daemon; a new row is one line in TSVS_VARIANTS,
// plus a small hook when the lab needs preparing for it:
//   tun   the kernel routes the VIP into a TUN device: ip_forward=1 in the director
//         namespace, and since nobody answers ARP for the VIP, the client (or the router)
//         routes VIP/32 via the director's address;
//   pcap  libpcap cannot inject TSO super-frames nor fill in partial checksums, so the
//         lab's veth offloads are all off for the whole row, and the TCP workload measures
//         only its offloads-off rows.
// A variant whose flags this daemon does not know exits at start-up: the row is skipped
// with the daemon's own message as the note.
//
// Pinning: trafgen runs on CPU 0, and the director's receive softirq runs there too (on
// the sender's CPU, lab-notes 1-2). The daemon with N workers gets CPUs 1..N; where the
// machine has fewer, the list wraps onto CPU 0 and the row note says that a worker shares
// a core with trafgen (2 workers on a 2-vCPU VM do).

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus as hostCpus } from 'node:os';
import { join } from 'node:path';
import { pidMatches, startInNs, stopPid } from '../../lab/exec';
import { execIn, ipIn } from '../../lab/netns';
import { setOffloads } from '../../lab/offloads';
import { sleep } from '../../lab/run';
import type { Lab } from '../../lab/state';
import { vethEnds } from '../../lab/topology';
import { PeerSkipped, PORTS, type InstalledPeer, type OffloadConstraint, type Peer, type PeerContext } from '../types';

/** What a variant's hook did to the lab: its undo, row notes, and an offload constraint. */
export interface VariantPrep {
  undo?: () => Promise<void>;
  notes?: string[];
  offloads?: OffloadConstraint;
}

export interface TsvsVariant {
  id: string;
  label: string;
  args: readonly string[];
  /** CPU list for taskset; default: from the worker count (workerPinning). */
  cpus?: string;
  /** Prepares the lab before the daemon starts (after it stops, `undo` runs). */
  prepare?: (lab: Lab) => Promise<VariantPrep>;
}

/** The TUN device of the tun variant (inside the director namespace, so no clash). */
export const BENCH_TUN = 'tsvsb0';

export const TSVS_VARIANTS: readonly TsvsVariant[] = [
  { id: 'tsvs', label: 'tsvs', args: [] },
  { id: 'tsvs-w2', label: 'tsvs --workers 2', args: ['--workers', '2'] },
  { id: 'tsvs-tun', label: 'tsvs --capture tun', args: ['--capture', 'tun', '--tun', BENCH_TUN, '--tun-routes'], prepare: routeVipViaDirector },
  { id: 'tsvs-pcap', label: 'tsvs --capture pcap', args: ['--capture', 'pcap'], prepare: offloadsOff },
  { id: 'tsvs-v3', label: 'tsvs --rx-ring v3', args: ['--rx-ring', 'v3'] },
];

/** The --workers value in a daemon argument list (1 without it). */
export function workersOf(args: readonly string[]): number {
  const i = args.indexOf('--workers');
  const n = i >= 0 ? Number(args[i + 1]) : 1;
  return Number.isInteger(n) && n >= 1 ? n : 1;
}

/**
 * CPUs 1..workers for the daemon (trafgen has CPU 0), wrapping onto 0 when the machine has
 * fewer; the note says when a worker shares trafgen's CPU.
 */
export function workerPinning(workers: number, ncpu: number): { cpus: string; note?: string } {
  if (ncpu <= 1) return { cpus: '0', note: 'one CPU: the daemon shares it with trafgen' };
  const list = [...new Set(Array.from({ length: workers }, (_, i) => (1 + i) % ncpu))].sort((a, b) => a - b);
  const shares = list.includes(0);
  return {
    cpus: list.join(','),
    note: shares ? `${workers} workers on ${ncpu} CPUs: pinned to CPUs ${list.join(',')}, so a worker shares CPU 0 with trafgen and the receive softirq` : undefined,
  };
}

/** tun hook: ip_forward=1 in the director namespace, VIP/32 via the director on the client side. */
export async function routeVipViaDirector(lab: Lab): Promise<VariantPrep> {
  const edge = lab.router ?? lab.client;
  await execIn(lab.director.ns, ['sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  await ipIn(edge.ns, ['route', 'replace', `${lab.vip}/32`, 'via', lab.director.ip, 'dev', edge.ifname]);
  return {
    notes: [`lab: ip_forward=1 on the director, ${edge.name} routes ${lab.vip}/32 via ${lab.director.ip} (no ARP for the VIP in tun mode); TTL drops by 2`],
    undo: async () => {
      await ipIn(edge.ns, ['route', 'del', `${lab.vip}/32`, 'dev', edge.ifname], { check: false });
      await execIn(lab.director.ns, ['sysctl', '-qw', 'net.ipv4.ip_forward=0'], { check: false });
    },
  };
}

/** pcap hook: every veth offload off for the whole row. */
export async function offloadsOff(lab: Lab): Promise<VariantPrep> {
  await Promise.all(vethEnds(lab).map(([ns, ifname]) => setOffloads(ns, ifname, 'off')));
  const why = 'libpcap cannot inject TSO super-frames or partial checksums';
  return {
    notes: [`lab: veth offloads off for every workload (${why}); iperf3 offloads-on rows not measured`],
    offloads: { only: 'off', why },
    undo: async () => {
      await Promise.all(vethEnds(lab).map(([ns, ifname]) => setOffloads(ns, ifname, 'on').catch(() => undefined)));
    },
  };
}

const TSVS_JS = join(__dirname, '..', '..', 'cli', 'tsvs.js');

export function tsvsConfig(lab: Lab): string {
  const rs = lab.realServers.map((r) => `      - { address: ${r.ip}, method: dr }`).join('\n');
  const svc = (port: number, protocol: string, scheduler: string) =>
    `  - vip: ${lab.vip}\n    port: ${port}\n    protocol: ${protocol}\n    scheduler: ${scheduler}\n    realservers:\n${rs}\n`;
  return `services:\n${svc(PORTS.udp, 'udp', 'wlc')}${svc(PORTS.http, 'tcp', 'wlc')}${svc(PORTS.iperf, 'tcp', 'sh')}`;
}

export function tsvsPeer(v: TsvsVariant): Peer {
  return {
    id: v.id,
    label: v.label,
    workloads: ['udp', 'ping', 'conn', 'tcp'],
    install: (ctx) => install(ctx, v),
  };
}

async function install(ctx: PeerContext, v: TsvsVariant): Promise<InstalledPeer> {
  const { lab, dir } = ctx;
  const config = join(dir, `${v.id}.yaml`);
  const status = join(dir, `${v.id}-status.json`);
  const log = join(dir, `${v.id}.log`);
  writeFileSync(config, tsvsConfig(lab));
  const pin = workerPinning(workersOf(v.args), hostCpus().length);
  const cpus = v.cpus ?? pin.cpus;
  const prep = v.prepare ? await v.prepare(lab) : {};
  const undo = async () => {
    await prep.undo?.().catch(() => undefined);
  };
  const daemon = [process.execPath, TSVS_JS, 'daemon', '--interface', lab.director.ifname, '--config', config,
    '--status-file', status, '--socket', join(dir, `${v.id}.sock`), ...v.args];
  const argv = ['taskset', '-c', cpus, ...daemon];
  const bg = startInNs(lab.director.ns, argv, log);
  const deadline = Date.now() + 15_000;
  while (!existsSync(status)) {
    if (!pidMatches(bg.pid) || Date.now() > deadline) {
      const why = lastLines(log);
      await stopPid(bg.pid, { graceMs: 1000 });
      await undo();
      throw new PeerSkipped(`daemon ${v.args.join(' ') || '(no flags)'} did not start: ${why || 'no output'}`);
    }
    await sleep(100);
  }
  await sleep(300); // ARP for the real servers settles
  ctx.log(`tsvs daemon pid ${bg.pid} ${v.args.join(' ')} on CPUs ${cpus}`);
  const notes = [...(prep.notes ?? [])];
  if (v.cpus === undefined && pin.note) notes.push(pin.note);
  return {
    target: lab.vip,
    targetMac: lab.director.mac,
    notes,
    offloads: prep.offloads,
    remove: async () => {
      await stopPid(bg.pid, { graceMs: 3000 });
      await undo();
    },
  };
}

function lastLines(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-2).join(' | ');
  } catch {
    return '';
  }
}
