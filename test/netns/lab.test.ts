// The namespace lab itself (needs root; skipped otherwise): a flat lab with 2 real servers
// answers HTTP (with keep-alive) and UDP echo on each server's own address; no real server
// and no director kernel answers ARP for the VIP; the director holds no VIP; the switch has
// br_netfilter off and static FDB entries; a kernel-only DR path (nftables) through the VIP
// reaches a real server, which answers from the VIP. Then: a second lab alongside the first,
// a routed lab with offloads off, `down` of a half-built lab, and that nothing is left.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { withLab, labSkipReason } from '../../src/lab/fixture';
import { arping, httpGet, neighbour, ping, pidMatches, startInNs, udpSend, nsRun } from '../../src/lab/exec';
import { labDownSync, labNamespaces } from '../../src/lab/lab';
import { makePlan, namespacesOf, randomLabName } from '../../src/lab/plan';
import { nsAdd, nsInode, nsList, pidsInNsInode, sysctlGet } from '../../src/lab/netns';
import { getOffloads } from '../../src/lab/offloads';
import { installNftDr } from '../../src/lab/nft-dr';
import { readState, stateDirFor, writeState, STATE_VERSION, type Lab } from '../../src/lab/state';
import { vethEnds } from '../../src/lab/topology';
import { run } from '../../src/lab/run';

const skip = labSkipReason();
const hasNft = spawnSync('nft', ['--version'], { timeout: 5000 }).status === 0;
const hasArping = spawnSync('arping', ['-V'], { timeout: 5000 }).status === 0;
const T = { timeout: 120_000 };

async function ipJson<X>(ns: string, args: string[]): Promise<X> {
  return JSON.parse((await run(['ip', '-n', ns, '-j', ...args])).stdout) as X;
}

async function addrsOf(ns: string, dev: string): Promise<string[]> {
  const rows = await ipJson<Array<{ addr_info: Array<{ family: string; local: string; prefixlen: number }> }>>(ns, ['addr', 'show', 'dev', dev]);
  return rows.flatMap((r) => r.addr_info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`));
}

test('plan: addresses, MACs and namespace names (no root needed)', () => {
  const flat = makePlan({ name: 'tsvs-plan', realServers: 3 });
  assert.deepEqual([flat.client.ip, flat.director.ip, ...flat.realServers.map((r) => r.ip), flat.vip],
    ['192.0.2.10', '192.0.2.2', '192.0.2.11', '192.0.2.12', '192.0.2.13', '192.0.2.100']);
  assert.deepEqual(namespacesOf(flat), ['tsvs-plan-sw', 'tsvs-plan-director', 'tsvs-plan-client', 'tsvs-plan-rs1', 'tsvs-plan-rs2', 'tsvs-plan-rs3']);
  assert.match(flat.realServers[0].mac, /^02:[0-9a-f]{2}:[0-9a-f]{2}:00:02:0b$/);
  assert.equal(new Set([flat.client, flat.director, ...flat.realServers].map((h) => h.mac)).size, 5);
  const routed = makePlan({ name: 'tsvs-plan', realServers: 1, routed: true });
  assert.deepEqual([routed.client.ip, routed.client.gateway, routed.router?.ip, routed.router?.wan.ip, routed.realServers[0].gateway],
    ['203.0.113.10', '203.0.113.1', '192.0.2.1', '203.0.113.1', '192.0.2.1']);
  assert.equal(routed.client.bridgePort, undefined);
  const nat = makePlan({ name: 'tsvs-plan', natRoutes: true });
  assert.deepEqual([nat.rsRoute, nat.realServers[0].prefixLen, nat.realServers[0].gateway], ['director', 32, '192.0.2.2']);
  assert.throws(() => makePlan({ name: 'a b' }), RangeError);
  assert.throws(() => makePlan({ realServers: 0 }), RangeError);
});

test('flat lab: hosts, real-server programs, ARP, director, switch', { ...T, skip }, async (t) => {
  let name = '';
  let pids: number[] = [];
  await withLab({ realServers: 2 }, async (lab: Lab) => {
    name = lab.name;
    pids = lab.processes.map((p) => p.pid);
    assert.match(lab.name, /^tsvs-[0-9a-f]{6}$/);
    assert.equal(lab.status, 'up');
    assert.deepEqual(readState(lab.name), lab, 'the state file holds what up returned');
    assert.deepEqual(labNamespaces(lab.name).sort(), namespacesOf(lab).sort());
    assert.equal(lab.vip, '192.0.2.100');
    assert.deepEqual(lab.realServers.map((r) => [r.name, r.ip]), [['rs1', '192.0.2.11'], ['rs2', '192.0.2.12']]);
    assert.equal(lab.processes.length, 2);
    for (const p of lab.processes) assert.ok(pidMatches(p.pid, p.marker), `${p.host} runs`);

    await t.test('each interface has the planned MAC and address', async () => {
      for (const h of [lab.client, lab.director, ...lab.realServers]) {
        const [link] = await ipJson<Array<{ address: string; operstate: string }>>(h.ns, ['link', 'show', 'dev', h.ifname]);
        assert.equal(link.address, h.mac, `${h.name} MAC`);
        assert.equal(link.operstate, 'UP', `${h.name} up`);
        assert.deepEqual(await addrsOf(h.ns, h.ifname), [`${h.ip}/24`], `${h.name} address`);
      }
    });

    await t.test('HTTP from the client to each real server answers its name, with keep-alive', async () => {
      for (const rs of lab.realServers) {
        const one = await httpGet(lab, `http://${rs.ip}/`);
        assert.deepEqual(one.bodies, [`${rs.name}\n`]);
        const kept = await httpGet(lab, `http://${rs.ip}/`, { count: 3 });
        assert.deepEqual(kept.bodies, [`${rs.name}\n`, `${rs.name}\n`, `${rs.name}\n`]);
        assert.deepEqual(kept.connects, [1, 0, 0], 'one connection for three requests');
        const closed = await httpGet(lab, `http://${rs.ip}/`, { count: 2, keepAlive: false });
        assert.deepEqual(closed.connects, [1, 1]);
      }
      const info = await httpGet(lab, `http://${lab.realServers[0].ip}/info`);
      const seen = JSON.parse(info.bodies[0]) as { local: string; remote: string };
      assert.equal(seen.local, `${lab.realServers[0].ip}:80`);
      assert.match(seen.remote, new RegExp(`^${lab.client.ip.replace(/\./g, '\\.')}:\\d+$`));
    });

    await t.test('UDP echo answers <name>:<payload> from the address it was sent to', async () => {
      for (const rs of lab.realServers) {
        const replies = await udpSend(lab, rs.ip, 7, ['a1', 'b2']);
        assert.deepEqual(replies.map((r) => r.data).sort(), [`${rs.name}:a1`, `${rs.name}:b2`]);
        for (const r of replies) assert.deepEqual([r.address, r.port], [rs.ip, 7]);
      }
    });

    await t.test('real servers: VIP/32 on lo, arp_ignore=1, arp_announce=2', async () => {
      for (const rs of lab.realServers) {
        assert.ok((await addrsOf(rs.ns, 'lo')).includes(`${lab.vip}/32`));
        for (const i of ['all', 'lo', rs.ifname]) {
          assert.equal(await sysctlGet(rs.ns, `net.ipv4.conf.${i}.arp_ignore`), '1');
          assert.equal(await sysctlGet(rs.ns, `net.ipv4.conf.${i}.arp_announce`), '2');
        }
      }
    });

    await t.test('nobody answers ARP for the VIP (no tsvs running); real servers answer for their own address', { skip: !hasArping && 'arping not installed' }, async () => {
      const own = await arping(lab, lab.realServers[0].ip);
      assert.ok(own.replies >= 1, 'positive control: rs1 answers for its own address');
      assert.deepEqual(own.macs, [lab.realServers[0].mac]);
      const vip = await arping(lab, lab.vip);
      assert.equal(vip.replies, 0, `VIP answered by ${vip.macs.join(' ')}`);
    });

    await t.test('ping to the VIP fails and leaves no resolved neighbour entry', async () => {
      const p = await ping(lab, lab.vip, { count: 1, deadlineS: 1 });
      assert.equal(p.received, 0);
      const n = await neighbour(lab.client.ns, lab.vip);
      assert.ok(n === undefined || n.mac === undefined, `VIP resolved to ${n?.mac}`);
    });

    await t.test('director: no VIP, ip_forward=0, send_redirects=0, RPS off', async () => {
      const all = await ipJson<Array<{ addr_info: Array<{ local: string }> }>>(lab.director.ns, ['addr', 'show']);
      const locals = all.flatMap((r) => r.addr_info.map((a) => a.local));
      assert.ok(!locals.includes(lab.vip), `director holds ${locals.join(' ')}`);
      assert.equal(await sysctlGet(lab.director.ns, 'net.ipv4.ip_forward'), '0');
      assert.equal(await sysctlGet(lab.director.ns, 'net.ipv4.conf.all.send_redirects'), '0');
      assert.equal(await sysctlGet(lab.director.ns, `net.ipv4.conf.${lab.director.ifname}.send_redirects`), '0');
      const rps = await nsRun(lab.director.ns, ['cat', `/sys/class/net/${lab.director.ifname}/queues/rx-0/rps_cpus`]);
      assert.match(rps.stdout.trim(), /^[0,]+$/, 'RPS off on the director');
    });

    await t.test('switch: br_netfilter off, a static FDB entry per host, no unknown-unicast flooding', async () => {
      const sw = lab.switch.ns;
      const nf = await sysctlGet(sw, 'net.bridge.bridge-nf-call-iptables');
      if (nf !== undefined) assert.equal(nf, '0');
      const fdb = (await nsRun(sw, ['bridge', 'fdb', 'show', 'br', lab.switch.bridge])).stdout;
      for (const h of [lab.client, lab.director, ...lab.realServers]) {
        assert.match(fdb, new RegExp(`^${h.mac} dev ${h.bridgePort} master ${lab.switch.bridge} static$`, 'm'));
      }
      const ports = JSON.parse((await nsRun(sw, ['bridge', '-d', '-j', 'link', 'show'])).stdout) as Array<{ ifname: string; flood?: boolean }>;
      for (const p of ports.filter((x) => x.ifname.startsWith('p-'))) assert.equal(p.flood, false, `${p.ifname} floods`);
    });

    await t.test('a kernel DR path (nftables) via the VIP reaches a real server, which answers from the VIP', { skip: !hasNft && 'nft not installed' }, async () => {
      const rs2 = lab.realServers[1];
      const undo = await installNftDr(lab, rs2);
      try {
        const info = JSON.parse((await httpGet(lab, `http://${lab.vip}/info`)).bodies[0]) as { name: string; local: string };
        assert.deepEqual([info.name, info.local], ['rs2', `${lab.vip}:80`]);
        const replies = await udpSend(lab, lab.vip, 7, 'via-dr');
        assert.deepEqual(replies, [{ address: lab.vip, port: 7, data: 'rs2:via-dr' }]);
      } finally {
        await undo();
      }
    });

    await t.test('a second lab (with NAT routes) can exist beside the first', async () => {
      await withLab({ realServers: 1, natRoutes: true }, async (other) => {
        const rs = other.realServers[0];
        assert.deepEqual(await addrsOf(rs.ns, rs.ifname), [`${rs.ip}/32`]);
        const [route] = await ipJson<Array<{ gateway?: string }>>(rs.ns, ['route', 'get', other.client.ip]);
        assert.equal(route.gateway, other.director.ip, 'NAT routes: replies go via the director');
        assert.deepEqual((await httpGet(other, `http://${rs.ip}/`, { ns: other.director.ns })).bodies, ['rs1\n']);
        assert.notEqual(other.name, lab.name);
        assert.equal(labNamespaces(other.name).length, namespacesOf(other).length);
        assert.equal(labNamespaces(lab.name).length, namespacesOf(lab).length);
        assert.deepEqual((await httpGet(lab, `http://${lab.realServers[1].ip}/`)).bodies, ['rs2\n']);
        assert.notEqual(other.realServers[0].mac, lab.realServers[0].mac);
      });
      assert.equal(labNamespaces(lab.name).length, namespacesOf(lab).length, 'the first lab is untouched');
    });
  });
  assert.deepEqual(labNamespaces(name), [], 'no namespace of the lab is left');
  assert.ok(!nsList().some((ns) => ns.startsWith(`${name}-`)));
  assert.equal(readState(name), undefined, 'state removed');
  for (const pid of pids) assert.ok(!pidMatches(pid), `pid ${pid} stopped`);
});

test('routed lab with offloads off: client behind a router, VIP routed to the director', { ...T, skip }, async () => {
  let name = '';
  await withLab({ realServers: 1, routed: true, offloads: 'off' }, async (lab) => {
    name = lab.name;
    assert.equal(lab.topology, 'routed');
    assert.ok(lab.router);
    assert.equal(lab.client.ip, '203.0.113.10');
    const routes = await ipJson<Array<{ dst: string; gateway?: string }>>(lab.router.ns, ['route', 'show']);
    assert.ok(routes.some((r) => r.dst === lab.vip && r.gateway === lab.director.ip), 'VIP/32 via the director');
    assert.equal(await sysctlGet(lab.router.ns, 'net.ipv4.ip_forward'), '1');
    const rs = lab.realServers[0];
    const info = JSON.parse((await httpGet(lab, `http://${rs.ip}/info`)).bodies[0]) as { remote: string };
    assert.match(info.remote, /^203\.0\.113\.10:\d+$/, 'the real server sees the client address, routed');
    for (const [ns, ifname] of vethEnds(lab)) {
      assert.deepEqual(await getOffloads(ns, ifname), { tx: 'off', tso: 'off', gso: 'off', gro: 'off' }, `${ns} ${ifname}`);
    }
    if (hasNft) {
      const undo = await installNftDr(lab, rs);
      try {
        const via = JSON.parse((await httpGet(lab, `http://${lab.vip}/info`)).bodies[0]) as { name: string; local: string };
        assert.deepEqual([via.name, via.local], ['rs1', `${lab.vip}:80`]);
      } finally {
        await undo();
      }
    }
  });
  assert.deepEqual(labNamespaces(name), []);
});

test('down clears a half-built lab: no state but "building", a process, some namespaces', { ...T, skip }, async () => {
  const plan = makePlan({ name: randomLabName(), realServers: 2 });
  try {
    await nsAdd(plan.switch.ns);
    await nsAdd(plan.realServers[0].ns);
    const stateDir = stateDirFor(plan.name);
    mkdirSync(stateDir, { recursive: true });
    const marker = `--marker=tsvs-lab:${plan.name}:rs1`;
    const bg = startInNs(plan.realServers[0].ns, [process.execPath, '-e', 'setTimeout(()=>{},60000)', '--', marker], join(stateDir, 'rs1.log'));
    writeState({
      ...plan, version: STATE_VERSION, status: 'building', createdAt: new Date().toISOString(), stateDir,
      stateFile: join(stateDir, 'state.json'),
      processes: [{ host: 'rs1', ns: plan.realServers[0].ns, pid: bg.pid, argv: [], log: join(stateDir, 'rs1.log'), marker }],
    });
    // and one process nobody recorded, inside another of the lab's namespaces
    const stray = startInNs(plan.switch.ns, ['sleep', '60'], join(stateDir, 'stray.log'));
    // `ip netns exec` enters the namespace a moment after it starts: wait until both
    // processes are inside, or a busy machine races the teardown's namespace scan.
    const inside = (ns: string, pid: number) => pidsInNsInode(nsInode(ns) ?? -1).includes(pid);
    for (let i = 0; i < 100 && !(inside(plan.switch.ns, stray.pid) && inside(plan.realServers[0].ns, bg.pid)); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const report = labDownSync(plan.name);
    assert.deepEqual(report.stopped.map((s) => [s.pid, s.outcome]), [[bg.pid, 'stopped']]);
    assert.deepEqual(report.strays.map((s) => s.pid), [stray.pid]);
    assert.deepEqual(report.deleted.sort(), [plan.switch.ns, plan.realServers[0].ns].sort());
    assert.deepEqual(labNamespaces(plan.name), []);
    assert.ok(!existsSync(stateDir));
    assert.ok(!pidMatches(bg.pid) && !pidMatches(stray.pid));
  } finally {
    labDownSync(plan.name);
  }
});
