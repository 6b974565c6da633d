// Active-active connection sync between two directors (needs root). A flat lab with two
// directors on the LAN (`directors: 2`) and 2 real servers; both are active and run the
// same rules (HTTP :80 and a stream sink :9000, rr, DR), and each runs a master and a
// backup sync daemon (`sync: state: both` in the native config), so each learns what the
// other schedules. ECMP in front of them is stood in for by the client's neighbour entry for
// the VIP, pinned by hand to one director's MAC and then moved to the other's:
//   - clients 1 (20 idle keep-alive connections + a long stream) connect through A;
//     B lists every one of them on the same real server;
//   - the client's entry moves to B: every connection of clients 1 answers from the same
//     real server; clients 2 (10 idle + a stream) connect through B and A learns them;
//   - the entry moves back to A: clients 1 and 2 all still answer from their real server,
//     and both streams end intact (the sink's byte count and hash);
//   - no echo: each side created from sync exactly the connections the other one scheduled
//     (updates for the ones it forwarded for the other side are applied, not created).
// Every wait is bounded; every process started here is stopped by its PID in a finally,
// then the lab goes down (withLab).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withLab, labSkipReason } from '../../src/lab/fixture';
import { run } from '../../src/lab/run';
import type { Lab } from '../../src/lab/state';
import { hasNative } from '../../src/io/native';
import { Bg, BgGroup, sleep, until } from './helpers/bg';
import { connsOf } from './helpers/conn-listing';

const ROOT = join(__dirname, '..', '..');
const TSVS = join(ROOT, 'src', 'cli', 'tsvs.js');
const TSVSADM = join(ROOT, 'src', 'cli', 'tsvsadm.js');
const TCP_TOOLS = join(__dirname, 'helpers', 'tcp-tools.js');
const CLIENTS = join(__dirname, 'helpers', 'sync-clients.js');

const skip = labSkipReason() ?? (!hasNative() ? 'the native addon is not built (npm run build:native)' : undefined);

const started = new BgGroup();
const bg = (ns: string, argv: string[]): Bg => started.start(ns, argv);

async function listConns(sock: string, port: number): Promise<Map<number, string>> {
  const r = await run([process.execPath, TSVSADM, '-L', '-c', '-n'], { check: false, timeoutMs: 15_000, env: { ...process.env, TSVS_SOCKET: sock } });
  return connsOf(r.stdout, port);
}

function config(lab: Lab): string {
  const svc = (port: number) => `  - vip: ${lab.vip}
    port: ${port}
    scheduler: rr
    realservers:
${lab.realServers.map((rs) => `      - { address: ${rs.ip} }`).join('\n')}
`;
  return `services:
${svc(80)}${svc(9000)}sync:
  state: both
  interface: eth0
  syncid: 7
`;
}

interface Clients {
  bg: Bg;
  ports: number[];
  streamPort: number;
  rounds: number;
}

async function startClients(lab: Lab, idle: number): Promise<Clients> {
  const b = bg(lab.client.ns, [process.execPath, CLIENTS, '--host', lab.vip, '--idle', String(idle), '--max-ms', '150000']);
  await until(() => /"ready":true/.test(b.out) || !b.running, 15_000, () => `clients: ${b.out} ${b.err}`);
  const ready = JSON.parse(b.out.split('\n').find((l) => l.includes('"ready"'))!) as { ports: number[]; streamPort: number };
  return { bg: b, ports: ready.ports, streamPort: ready.streamPort, rounds: 0 };
}

/** One GET on every idle connection; the body (real-server name) of each. */
async function getRound(c: Clients): Promise<string[]> {
  const n = ++c.rounds;
  c.bg.write('get');
  await until(() => c.bg.out.includes(`"round":${n}`), 15_000, () => `round ${n}: ${c.bg.out}`);
  return (JSON.parse(c.bg.out.split('\n').find((l) => l.includes(`"round":${n}`))!) as { servers: string[] }).servers;
}

async function pinVip(lab: Lab, mac: string): Promise<void> {
  await run(['ip', 'netns', 'exec', lab.client.ns, 'ip', 'neigh', 'replace', lab.vip, 'lladdr', mac, 'nud', 'permanent', 'dev', lab.client.ifname], { timeoutMs: 5000 });
}

/** Waits until `sock` lists every idle connection and the stream of `c`, on the real servers `other` lists. */
async function waitLearned(sock: string, otherSock: string, c: Clients, what: string): Promise<void> {
  let have = new Map<number, string>();
  await until(async () => {
    have = await listConns(sock, 80);
    const stream = await listConns(sock, 9000);
    return c.ports.every((p) => have.has(p)) && stream.has(c.streamPort);
  }, 15_000, () => `${what}: ${have.size} of ${c.ports.length} idle conns listed`, 200);
  const theirs = await listConns(otherSock, 80);
  for (const p of c.ports) assert.equal(have.get(p), theirs.get(p), `${what}: conn ${p} on the same real server on both directors`);
}

async function finishStream(c: Clients, lab: Lab, streamRs: string | undefined): Promise<void> {
  c.bg.write('finish');
  await until(() => /"stream":/.test(c.bg.out) || /streamClosedEarly/.test(c.bg.out), 20_000, () => `stream end: ${c.bg.out}`);
  const st = (JSON.parse(c.bg.out.split('\n').find((l) => l.includes('"stream"'))!) as { stream: { reply: string; bytes: number; sha256: string } }).stream;
  const name = lab.realServers.find((rs) => rs.ip === streamRs)?.name;
  assert.equal(st.reply, `${name} ${st.bytes} ${st.sha256}`, 'the stream reached one real server intact');
}

test('active-active: both directors schedule, each learns the other\'s conns, traffic moves between them', { skip, timeout: 240_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvs-aa-'));
  try {
    await withLab({ realServers: 2, directors: 2 }, async (lab) => {
      try {
        const A = lab.director;
        const B = lab.director2!;
        const cfg = join(dir, 'tsvs.yaml');
        writeFileSync(cfg, config(lab));
        for (const rs of lab.realServers) {
          const sink = bg(rs.ns, [process.execPath, TCP_TOOLS, 'sink', '--name', rs.name, '--port', '9000', '--ttl', '300']);
          await until(() => /READY/.test(sink.out), 10_000, `sink on ${rs.name}`);
        }
        const sockA = join(dir, 'a.sock');
        const sockB = join(dir, 'b.sock');
        const statusA = join(dir, 'a.json');
        const statusB = join(dir, 'b.json');
        const da = bg(A.ns, [process.execPath, TSVS, 'daemon', '--interface', A.ifname, '--socket', sockA, '--config', cfg, '--status-file', statusA, '--no-early-drop']);
        const db = bg(B.ns, [process.execPath, TSVS, 'daemon', '--interface', B.ifname, '--socket', sockB, '--config', cfg, '--status-file', statusB, '--no-early-drop']);
        await until(() => /control socket/.test(da.err) || !da.running, 15_000, () => `daemon A: ${da.err}`);
        await until(() => /control socket/.test(db.err) || !db.running, 15_000, () => `daemon B: ${db.err}`);
        assert.ok(da.running && db.running, `${da.err}\n${db.err}`);
        const daemons = await run([process.execPath, TSVSADM, '-L', '--daemon'], { timeoutMs: 10_000, env: { ...process.env, TSVS_SOCKET: sockA } });
        assert.match(daemons.stdout, /^master sync daemon \(mcast=eth0, syncid=7,/m);
        assert.match(daemons.stdout, /^backup sync daemon \(mcast=eth0, syncid=7,/m);

        // 1. clients 1 through A; B learns them
        await pinVip(lab, A.mac);
        const c1 = await startClients(lab, 20);
        const servers1 = await getRound(c1);
        assert.ok(servers1.every((s) => /^rs\d$/.test(s)), servers1.join(','));
        await waitLearned(sockB, sockA, c1, 'B learns clients 1');
        const stream1Rs = (await listConns(sockA, 9000)).get(c1.streamPort);

        // 2. traffic moves to B; clients 2 connect through B and A learns them
        await pinVip(lab, B.mac);
        await sleep(500);
        assert.deepEqual(await getRound(c1), servers1, 'through B: every conn of clients 1 answers from its real server');
        const c2 = await startClients(lab, 10);
        const servers2 = await getRound(c2);
        assert.ok(servers2.every((s) => /^rs\d$/.test(s)), servers2.join(','));
        await waitLearned(sockA, sockB, c2, 'A learns clients 2');
        const stream2Rs = (await listConns(sockB, 9000)).get(c2.streamPort);

        // 3. back to A: everything still answers, both streams end intact
        await pinVip(lab, A.mac);
        await sleep(500);
        assert.deepEqual(await getRound(c1), servers1, 'back through A: clients 1');
        assert.deepEqual(await getRound(c2), servers2, 'back through A: clients 2');
        await finishStream(c1, lab, stream1Rs);
        await finishStream(c2, lab, stream2Rs);

        // 4. no echo: what each side received by sync is what the other scheduled
        await sleep(1500); // the status files are rewritten every second
        const synced = (file: string) => (JSON.parse(readFileSync(file, 'utf8')) as { sync: Record<string, number> }).sync;
        const onB = synced(statusB);
        const onA = synced(statusA);
        process.stderr.write(`active-active: B created ${onB.applied_created} conns from A's sync, A created ${onA.applied_created} from B's; ` +
          `sent A ${onA.sent_conns} B ${onB.sent_conns}\n`);
        assert.equal(onB.applied_created, c1.ports.length + 1, 'B created exactly clients 1 (20 idle + 1 stream) from sync');
        assert.equal(onA.applied_created, c2.ports.length + 1, 'A created exactly clients 2 (10 idle + 1 stream): nothing of its own came back');
      } finally {
        await started.stopAll();
      }
    });
  } finally {
    await started.stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
});
