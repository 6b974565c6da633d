// The tsvs peer: `tsvs daemon` in the director namespace, direct routing to every real
// server, one service per workload port (UDP wlc, HTTP wlc, iperf3 sh so that iperf3's
// control and data connections meet on one real server, lab-notes 9). tsvs answers ARP
// and ping for the VIP itself.
//
// The variants are argument sets for the daemon; a new row is one line in TSVS_VARIANTS.
// A variant whose flags this daemon does not know exits at start-up: the row is skipped
// with the daemon's own message as the note. The single-worker daemon is pinned to CPU 1
// and trafgen to CPU 0, so the director's receive softirq (which runs on the sender's
// CPU, lab-notes 1-2) and the userspace worker do not share a core.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pidMatches, startInNs, stopPid } from '../../lab/exec';
import { sleep } from '../../lab/run';
import type { Lab } from '../../lab/state';
import { PeerSkipped, PORTS, type InstalledPeer, type Peer, type PeerContext } from '../types';

export interface TsvsVariant {
  id: string;
  label: string;
  args: readonly string[];
  /** CPU list for taskset, or undefined to let the scheduler place it. */
  cpus?: string;
}

export const TSVS_VARIANTS: readonly TsvsVariant[] = [
  { id: 'tsvs', label: 'tsvs', args: [], cpus: '1' },
  { id: 'tsvs-w2', label: 'tsvs --workers 2', args: ['--workers', '2'] },
  { id: 'tsvs-tun', label: 'tsvs --capture tun', args: ['--capture', 'tun'], cpus: '1' },
  { id: 'tsvs-pcap', label: 'tsvs --capture pcap', args: ['--capture', 'pcap'], cpus: '1' },
];

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
  const daemon = [process.execPath, TSVS_JS, 'daemon', '--interface', lab.director.ifname, '--config', config,
    '--status-file', status, '--socket', join(dir, `${v.id}.sock`), ...v.args];
  const argv = v.cpus ? ['taskset', '-c', v.cpus, ...daemon] : daemon;
  const bg = startInNs(lab.director.ns, argv, log);
  const deadline = Date.now() + 15_000;
  while (!existsSync(status)) {
    if (!pidMatches(bg.pid) || Date.now() > deadline) {
      const why = lastLines(log);
      await stopPid(bg.pid, { graceMs: 1000 });
      throw new PeerSkipped(`daemon ${v.args.join(' ') || '(no flags)'} did not start: ${why || 'no output'}`);
    }
    await sleep(100);
  }
  await sleep(300); // ARP for the real servers settles
  ctx.log(`tsvs daemon pid ${bg.pid} ${v.args.join(' ')}`);
  return {
    target: lab.vip,
    targetMac: lab.director.mac,
    remove: async () => {
      await stopPid(bg.pid, { graceMs: 3000 });
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
