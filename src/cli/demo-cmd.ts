// `tsvs demo` (npm run demo): the product's main job, end to end, in network namespaces.
//
//   1. a lab: a client, the director and three real servers on one L2 segment, each real
//      server with the VIP on lo (arp_ignore/arp_announce), an HTTP server answering its
//      own name and a UDP echo server;
//   2. the tsvs daemon on the director: wlc, weights 1, 2 and 3, direct routing;
//   3. the client makes a few hundred new HTTP connections to the VIP and sends UDP
//      datagrams from many source ports;
//   4. it prints how many each real server served beside what the weights ask for, and
//      the director's own counters in ipvsadm's formats; then it tears the lab down.
//
// Without root (no namespaces), `tsvs demo --simulate` shows the scheduling core on the
// sample rules instead.

import { readFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Director } from '../core/director';
import { loadRules } from '../control/rules-file';
import { describe, simulate } from '../control/simulate';
import type { DaemonStatus } from '../control/daemon';
import { renderList } from '../ipvsadm/list';
import type { ListCommand } from '../ipvsadm/commands';
import { labUp, labDown } from '../lab/lab';
import { httpGet, nsRun, startInNs, stopPid } from '../lab/exec';
import type { Lab } from '../lab/state';
import { UsageError } from './usage-error';

const ROOT = join(__dirname, '..', '..', '..');
const WEIGHTS = [1, 2, 3];
const HTTP_CONNS = 300;
const UDP_FLOWS = 60;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { simulate: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true });
  if (values.help) {
    process.stdout.write('Usage: tsvs demo [--simulate]\n  Builds a namespace lab, runs the director, sends real traffic through the VIP and shows the result (root).\n  --simulate  show the scheduling core on the sample rules instead (no root needed)\n');
    return 0;
  }
  if (values.simulate) return simulateDemo();
  if (process.getuid?.() !== 0) throw new UsageError('tsvs demo: the lab needs root (network namespaces); run as root, or try `tsvs demo --simulate`', 1);
  return labDemo();
}

async function labDemo(): Promise<number> {
  const say = (s = '') => process.stdout.write(`${s}\n`);
  say('tsvs demo: a userspace IPVS director forwarding real traffic by direct routing (LVS-DR)');
  const lab = await labUp({ realServers: 3, log: () => undefined });
  let daemonPid = 0;
  try {
    const vip = lab.vip;
    say(`lab ${lab.name}: client ${lab.client.ip}, director ${lab.director.ip}, VIP ${vip}`);
    lab.realServers.forEach((rs, i) => say(`  ${rs.name}  ${rs.ip}  ${rs.mac}  weight ${WEIGHTS[i]}  (VIP on lo, arp_ignore=1, arp_announce=2)`));

    const config = join(lab.stateDir, 'director.yaml');
    const status = join(lab.stateDir, 'status.json');
    const log = join(lab.stateDir, 'director.log');
    writeFileSync(config, directorConfig(vip, lab));
    const tsvs = join(ROOT, 'dist', 'src', 'cli', 'tsvs.js');
    const d = startInNs(lab.director.ns, [process.execPath, tsvs, 'daemon', '--interface', lab.director.ifname, '--config', config, '--status-file', status], log);
    daemonPid = d.pid;
    await waitFor(() => existsSync(status), 10_000, () => `the director did not start:\n${readFileSync(log, 'utf8')}`);
    say(`director: tsvs daemon --interface ${lab.director.ifname} --config director.yaml  (wlc, pid ${d.pid})`);

    const t0 = Date.now();
    const http = await httpGet(lab, `http://${vip}/`, { keepAlive: false, count: HTTP_CONNS, timeoutMs: 3000 });
    const httpMs = Date.now() - t0;
    say(`client: ${HTTP_CONNS} new HTTP connections to http://${vip}/ in ${(httpMs / 1000).toFixed(1)} s (curl, Connection: close)`);
    const udp = await udpFlows(lab, vip, UDP_FLOWS);
    say(`client: ${UDP_FLOWS} UDP datagrams to ${vip}:7 from ${UDP_FLOWS} source ports, ${udp.length} answered`);

    await sleep(1200); // one status period, so the counters below include everything
    const st = JSON.parse(readFileSync(status, 'utf8')) as DaemonStatus;
    say();
    say('served by each real server (what the client got back):');
    say('  real server      weight  HTTP conns  share   weights ask  UDP flows');
    const total = WEIGHTS.reduce((a, b) => a + b, 0);
    lab.realServers.forEach((rs, i) => {
      const n = http.bodies.filter((b) => b.trim() === rs.name).length;
      const u = udp.filter((r) => r.startsWith(`${rs.name}:`)).length;
      say(`  ${`${rs.name} ${rs.ip}`.padEnd(16)} ${String(WEIGHTS[i]).padStart(6)}  ${String(n).padStart(10)}  ${pct(n, HTTP_CONNS)}  ${pct(WEIGHTS[i], total).padStart(11)}  ${String(u).padStart(9)}`);
    });
    say();
    say('the director\'s counters (tsvsadm -L -n --stats):');
    process.stdout.write(renderList(listCmd('stats'), st));
    say();
    say('the director\'s table (tsvsadm -L -n):');
    process.stdout.write(renderList(listCmd('default'), st));
    const drops = Object.entries(st.drops).map(([k, v]) => `${k}=${v}`).join(' ');
    say();
    say(`frames: ${st.pipeline.rxFrames} received, ${st.pipeline.forwarded} forwarded, ${st.pipeline.arpReplies} ARP replies; drops: ${drops || 'none'}`);
    return 0;
  } finally {
    if (daemonPid) await stopPid(daemonPid, { graceMs: 3000 });
    await labDown(lab.name);
    say(`lab ${lab.name} torn down`);
  }
}

function directorConfig(vip: string, lab: Lab): string {
  const rs = (i: number) => `      - { address: ${lab.realServers[i].ip}, weight: ${WEIGHTS[i]}, method: dr }`;
  const list = lab.realServers.map((_, i) => rs(i)).join('\n');
  return `services:\n  - vip: ${vip}\n    port: 80\n    protocol: tcp\n    scheduler: wlc\n    realservers:\n${list}\n` +
    `  - vip: ${vip}\n    port: 7\n    protocol: udp\n    scheduler: wlc\n    realservers:\n${list}\n`;
}

// Each datagram from its own socket (its own source port): a new UDP connection each.
const UDP_SCRIPT = `
const dgram = require('dgram');
const [host, n] = process.argv.slice(1);
let left = Number(n);
const out = [];
const end = () => { process.stdout.write(JSON.stringify(out)); process.exit(0); };
setTimeout(end, 4000);
for (let i = 0; i < Number(n); i++) {
  const s = dgram.createSocket('udp4');
  s.on('message', (m) => { out.push(String(m)); s.close(); if (--left === 0) end(); });
  s.bind(0, () => s.send('flow' + i, 7, host));
}`;

async function udpFlows(lab: Lab, vip: string, n: number): Promise<string[]> {
  const r = await nsRun(lab.client.ns, [process.execPath, '-e', UDP_SCRIPT, '--', vip, String(n)], { timeoutMs: 10_000, check: false });
  try {
    return JSON.parse(r.stdout) as string[];
  } catch {
    return [];
  }
}

function listCmd(format: 'stats' | 'default'): ListCommand {
  return { cmd: 'list', numeric: true, format, connection: false, timeout: false, daemon: false, exact: false, nosort: false };
}

function pct(n: number, of: number): string {
  return `${((100 * n) / of).toFixed(1).padStart(5)}%`;
}

async function waitFor(ok: () => boolean, ms: number, why: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(why());
    await sleep(100);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function simulateDemo(): number {
  const examples = join(ROOT, 'examples');
  for (const [file, flows, closeEvery, note] of [
    ['wrr-lvs-howto.rules', 12, 0, 'wrr, dests added C=2, B=3, A=4: A B C, then A A B A B C A B C'],
    ['wlc-3-servers.rules', 600, 3, 'wlc, weights 1:2:3, every 3rd connection closed'],
  ] as const) {
    const path = join(examples, file);
    const rules = readFileSync(path, 'utf8');
    const director = new Director({ maxConns: 1 << 16 });
    loadRules(director, rules, path);
    const result = simulate(director, { flows, clients: flows, closeEvery });
    process.stdout.write(`== ${file}: ${note}\n${rules.replace(/^/gm, '   ')}`);
    if (flows <= 20) process.stdout.write(`   sequence: ${result.assignments.join(' ')}\n`);
    process.stdout.write(`${describe(result)}\n\n`);
  }
  return 0;
}
