// Connection sync between two in-process directors: the master's send rules (threshold and
// period, forced state changes, refresh period, templates), the backup's apply rules
// (state, timeout, dest, counters; unknown dest, wrong syncid, bad flags, dest conflicts),
// active-active without echo, the ipvsadm commands and `-L --daemon`, the config section,
// and a SyncManager pair over loopback UDP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Addr, parseV4 } from '../../src/core/addr';
import { AF_INET, FWD_DROUTE, IPPROTO_TCP, IPPROTO_UDP, SVC_F_PERSISTENT } from '../../src/core/constants';
import { Director } from '../../src/core/director';
import type { ServiceRef } from '../../src/core/services';
import { TCP_S_ESTABLISHED, TCP_S_FIN_WAIT, TH_ACK, TH_FIN, TH_SYN } from '../../src/conn/tcp-states';
import {
  IP_VS_CONN_F_INACTIVE, IP_VS_CONN_F_ONE_PACKET, IP_VS_CONN_F_TEMPLATE, SyncConn, SyncMessage, decodeSyncMessage, encodeSyncMessage,
} from '../../src/ha/sync/codec';
import { SyncMaster, type SyncSendRules } from '../../src/ha/sync/master';
import { SyncBackup } from '../../src/ha/sync/backup';
import { SyncManager } from '../../src/ha/sync/manager';
import { parseSyncSection } from '../../src/ha/sync/config';
import { execIpvsadm, connections } from '../../src/control/ipvsadm-exec';
import { parseNativeConfig } from '../../src/config/native-config';

const VIP = parseV4('192.0.2.100');
const RS1 = '192.0.2.11';
const RS2 = '192.0.2.12';
const CLIENT = parseV4('198.51.100.1');

function director(opts: { persistent?: boolean; udp?: boolean } = {}): { d: Director; ref: ServiceRef } {
  const d = new Director({ now: 100 });
  const ref = { af: AF_INET as 2, proto: opts.udp ? IPPROTO_UDP : IPPROTO_TCP, addr: Addr.v4(VIP), port: 80, fwmark: 0 };
  d.services.addService({ ...ref, scheduler: 'rr', ...(opts.persistent ? { flags: SVC_F_PERSISTENT, timeout: 360 } : {}) });
  for (const ip of [RS1, RS2]) d.services.addDest(ref, { addr: Addr.parse(ip)!, port: 80, weight: 1, fwd: FWD_DROUTE, uThreshold: 0, lThreshold: 0 });
  d.sync();
  return { d, ref };
}

/** A master on d whose messages are decoded into `sent` (one array of entries per message). */
function master(d: Director, rules: Partial<SyncSendRules> = {}, maxlen = 1472) {
  const sent: SyncConn[][] = [];
  const raw: Uint8Array[] = [];
  const m = new SyncMaster(d, {
    syncid: 9, maxlen, rules,
    send: (buf, len) => {
      const copy = buf.slice(0, len);
      raw.push(copy);
      const msg = new SyncMessage();
      assert.equal(decodeSyncMessage(copy, 0, len, 0, msg), 0);
      sent.push(msg.conns.slice(0, msg.count).map((c) => Object.assign(new SyncConn(), c)));
    },
  });
  d.syncHook = m;
  return { m, sent, raw };
}

const pkt = (d: Director, cport: number, flags: number, caddr = CLIENT) => d.inPacket4(IPPROTO_TCP, caddr, cport, VIP, 80, flags, 60);

test('master: TCP is sent at packet 3 (threshold) and every 50 after, only in synced states', () => {
  const { d } = director();
  const { m, sent } = master(d);
  pkt(d, 1000, TH_SYN); // SYN_RECV: not a synced state
  pkt(d, 1000, TH_ACK); // -> ESTABLISHED at packet 2: an ES change is not forced, 2 % 50 != 3
  assert.equal(m.pending, 0);
  pkt(d, 1000, TH_ACK); // packet 3
  assert.equal(m.pending, 1);
  for (let i = 4; i <= 52; i++) pkt(d, 1000, TH_ACK);
  assert.equal(m.pending, 1);
  pkt(d, 1000, TH_ACK); // packet 53
  assert.equal(m.pending, 2);
  assert.equal(m.drain(), 2);
  assert.equal(sent.length, 1, 'one message for both');
  assert.equal(sent[0][0].state, TCP_S_ESTABLISHED);
  assert.equal(sent[0][0].timeout, 900);
  assert.equal(sent[0][0].cport, 1000);
  assert.equal(sent[0][0].daddr, parseV4(RS2) >>> 0); // rr: the list order puts the last added first
});

test('master: a change to FIN_WAIT is sent at once; UDP goes by count alone', () => {
  const { d } = director();
  const { m, sent } = master(d);
  pkt(d, 1001, TH_SYN);
  pkt(d, 1001, TH_ACK);
  pkt(d, 1001, TH_FIN | TH_ACK); // ES -> FIN_WAIT at packet 3 (also the threshold)
  pkt(d, 1001, TH_ACK); // packet 4, FIN_WAIT again: no change, not the threshold
  assert.equal(m.pending, 1);
  m.drain();
  assert.equal(sent[0][0].state, TCP_S_FIN_WAIT);
  assert.equal(sent[0][0].timeout, 120);

  const u = director({ udp: true });
  const mu = master(u.d);
  for (let i = 1; i <= 103; i++) u.d.inPacket4(IPPROTO_UDP, CLIENT, 5000, VIP, 80, 0, 60);
  assert.equal(mu.m.pending, 3); // packets 3, 53, 103
  mu.m.drain();
  assert.equal(mu.sent[0][0].timeout, 300);
  assert.equal(mu.sent[0][0].flags & IP_VS_CONN_F_INACTIVE, IP_VS_CONN_F_INACTIVE); // UDP conns stay "inactive" in IPVS
});

test('master: period 0 sends once at the threshold; a refresh period repeats when the expiry moved', () => {
  const { d } = director({ udp: true });
  const once = master(d, { period: 0, threshold: 2 });
  for (let i = 0; i < 40; i++) d.inPacket4(IPPROTO_UDP, CLIENT, 6000, VIP, 80, 0, 60);
  assert.equal(once.m.pending, 1);

  const r = director({ udp: true });
  const rm = master(r.d, { period: 0, threshold: 1, refreshPeriod: 20 });
  const send = () => r.d.inPacket4(IPPROTO_UDP, CLIENT, 6001, VIP, 80, 0, 60);
  send(); // first packet: never announced before -> sent
  assert.equal(rm.m.pending, 1);
  send();
  r.d.tick(110); // the expiry moves by 10 s, below min(20, max(150, 10)) = 20: skipped
  send();
  assert.equal(rm.m.pending, 1);
  r.d.tick(125); // moved by 25 s since the announce: news, sent
  send();
  assert.equal(rm.m.pending, 2);
});

test('master: a persistence template follows its child; persist mode sends the template only', () => {
  const { d } = director({ persistent: true });
  const { m, sent } = master(d);
  pkt(d, 2000, TH_SYN);
  pkt(d, 2000, TH_ACK);
  pkt(d, 2000, TH_ACK);
  m.drain();
  assert.equal(sent[0].length, 2);
  assert.equal(sent[0][0].flags & IP_VS_CONN_F_TEMPLATE, 0, 'the conn first');
  assert.equal(sent[0][1].flags & IP_VS_CONN_F_TEMPLATE, IP_VS_CONN_F_TEMPLATE, 'then its template');
  assert.equal(sent[0][1].cport, 0);
  assert.equal(sent[0][1].timeout, 360);

  const p = director({ persistent: true });
  const pm = master(p.d, { persistMode: true });
  pkt(p.d, 2001, TH_SYN);
  pkt(p.d, 2001, TH_ACK);
  pkt(p.d, 2001, TH_ACK);
  pm.m.drain();
  const all = pm.sent.flat();
  assert.ok(all.length > 0 && all.every((c) => (c.flags & IP_VS_CONN_F_TEMPLATE) !== 0));
});

test('master: messages are cut at maxlen; a conn gone before the drain is skipped', () => {
  const { d } = director();
  const { m, sent } = master(d, {}, 8 + 36 * 4);
  for (let c = 0; c < 10; c++) for (let i = 0; i < 3; i++) pkt(d, 3000 + c, i === 0 ? TH_SYN : TH_ACK);
  assert.equal(m.pending, 10);
  d.expireNow(d.conns.lookupIn4(IPPROTO_TCP, CLIENT, 3000, VIP, 80, 0));
  assert.equal(m.drain(), 9);
  assert.deepEqual(sent.map((s) => s.length), [4, 4, 1]);
  assert.equal(m.counters.stale, 1);
  assert.equal(m.counters.sentMsgs, 3);
});

/** Runs the master's messages into a backup director. */
function replicate(raw: Uint8Array[], b: SyncBackup): void {
  for (const msg of raw) b.receive(msg);
}

test('backup: creates conns with the synced dest, state, timeout and counters', () => {
  const A = director({ persistent: true });
  const am = master(A.d);
  for (let c = 0; c < 5; c++) for (let i = 0; i < 3; i++) pkt(A.d, 4000 + c, i === 0 ? TH_SYN : TH_ACK);
  am.m.drain();
  const B = director({ persistent: true });
  const bk = new SyncBackup(B.d, { syncid: 9 });
  replicate(am.raw, bk);
  assert.equal(bk.counters.created, 6, '5 conns + 1 template');
  const la = connections(A.d).sort((x, y) => x.cport - y.cport);
  const lb = connections(B.d).sort((x, y) => x.cport - y.cport);
  assert.deepEqual(lb.map((c) => [c.cport, c.daddr, c.state, c.expires, c.template]), la.map((c) => [c.cport, c.daddr, c.state, c.expires, c.template]));
  const dests = B.d.services.services[0].dests;
  const totals = dests.reduce((a, x) => [a[0] + x.activeConns, a[1] + x.inactConns, a[2] + x.persistConns], [0, 0, 0]);
  assert.deepEqual(totals, [5, 0, 1]);
  // the packet counter starts at the threshold, and the conn is marked SYNC
  const slot = B.d.conns.lookupIn4(IPPROTO_TCP, CLIENT, 4000, VIP, 80, 0);
  assert.equal(B.d.conns.spare(slot), 3);
  assert.equal(B.d.conns.flags(slot) & 0x40, 0x40);
  // B forwards an existing conn to the same dest (without a SYN) and keeps the template's choice for a new one
  const destA = A.d.services.dests[A.d.conns.destId(A.d.conns.lookupIn4(IPPROTO_TCP, CLIENT, 4000, VIP, 80, 0))]!;
  assert.equal(B.d.services.dests[pkt(B.d, 4000, TH_ACK)]!.addr.toString(), destA.addr.toString());
  assert.equal(B.d.services.dests[pkt(B.d, 4999, TH_SYN)]!.addr.toString(), destA.addr.toString());
  // an update: a later message moves the conn to FIN_WAIT (inactive)
  pkt(A.d, 4001, TH_FIN | TH_ACK);
  am.raw.length = 0;
  am.m.drain();
  replicate(am.raw, bk);
  const s2 = B.d.conns.lookupIn4(IPPROTO_TCP, CLIENT, 4001, VIP, 80, 0);
  assert.equal(B.d.conns.state(s2), TCP_S_FIN_WAIT);
  assert.equal(B.d.conns.expires(s2), B.d.now + 120);
  assert.ok(bk.counters.updated >= 1);
});

test('backup: unknown service or dest, wrong syncid, bad flags, IPv6, a conflicting inactive entry: counted, not applied', () => {
  const { d } = director();
  const bk = new SyncBackup(d, { syncid: 9 });
  const base = { protocol: 6, flags: 3, state: 1, cport: 1, vport: 80, dport: 80, timeout: 900, caddr: CLIENT, vaddr: VIP, daddr: parseV4(RS1) };
  const e = (f: Partial<SyncConn>) => Object.assign(new SyncConn(), base, f);
  bk.receive(encodeSyncMessage(1, 9, [
    e({ daddr: parseV4('192.0.2.99') }), // no such dest
    e({ vport: 81 }), // no such service
    e({ flags: 3 | IP_VS_CONN_F_ONE_PACKET }),
    e({ protocol: 47 }),
    e({ state: 11 }),
    e({ af: 6 }),
    e({ peName: 'sip', peData: Uint8Array.of(1) }),
  ]));
  assert.deepEqual(
    Object.fromEntries(Object.entries(bk.counters.skipped).filter(([, n]) => n > 0)),
    { no_dest: 1, no_service: 1, bad_flags: 1, unknown_protocol: 1, bad_state: 1, ipv6: 1, unknown_pe: 1 },
  );
  assert.equal(d.conns.size, 0);
  assert.equal(bk.receive(encodeSyncMessage(1, 8, [e({})])), 3);
  assert.equal(bk.counters.dropped.syncid, 1);
  assert.equal(d.conns.size, 0);
  // a conn on RS1; an INACTIVE entry naming RS2 is ignored, an active one replaces it
  bk.receive(encodeSyncMessage(1, 9, [e({})]));
  bk.receive(encodeSyncMessage(1, 9, [e({ daddr: parseV4(RS2), flags: 3 | IP_VS_CONN_F_INACTIVE, state: 4 })]));
  assert.equal(bk.counters.skipped.dest_conflict, 1);
  bk.receive(encodeSyncMessage(1, 9, [e({ daddr: parseV4(RS2) })]));
  const l = connections(d);
  assert.equal(l.length, 1);
  assert.equal(l[0].daddr, RS2);
  const [r2, r1] = d.services.services[0].dests; // RS2 first (list order)
  assert.equal(r1.activeConns + r1.inactConns, 0);
  assert.equal(r2.activeConns, 1);
});

test('backup: v0 entries get the protocol timeout of their state', () => {
  const { d } = director();
  const bk = new SyncBackup(d, { syncid: 0 });
  const c = Object.assign(new SyncConn(), { protocol: 6, flags: 3, state: TCP_S_FIN_WAIT, cport: 7, vport: 80, dport: 80, caddr: CLIENT, vaddr: VIP, daddr: parseV4(RS1) });
  bk.receive(encodeSyncMessage(0, 3, [c]));
  const l = connections(d);
  assert.equal(l[0].state, 'FIN_WAIT');
  assert.equal(l[0].expires, 120);
});

test('active-active: what a director applies is not sent again', () => {
  const A = director();
  const am = master(A.d);
  for (let i = 0; i < 3; i++) pkt(A.d, 5000, i === 0 ? TH_SYN : TH_ACK);
  am.m.drain();
  const B = director();
  const bm = master(B.d); // B runs a master too
  const bk = new SyncBackup(B.d, { syncid: 0 });
  replicate(am.raw, bk);
  assert.equal(bk.counters.created, 1);
  assert.equal(bm.m.pending, 0);
  assert.equal(bm.m.drain(), 0);
  // B's own traffic on the synced conn is announced from its counter (threshold + 50 packets later)
  for (let i = 0; i < 49; i++) pkt(B.d, 5000, TH_ACK);
  assert.equal(bm.m.pending, 0);
  pkt(B.d, 5000, TH_ACK);
  assert.equal(bm.m.pending, 1);
});

test('tsvsadm --start-daemon/--stop-daemon and -L --daemon print as ipvsadm', async () => {
  const { d } = director();
  const sync = new SyncManager(d, { log: () => undefined, ifaceAddr: (n) => (n === 'lo' || n === 'eth0' ? '127.0.0.1' : null), dropOwn: false });
  try {
    const run = (line: string) => execIpvsadm(d, line.split(' '), undefined, { sync });
    assert.deepEqual(run('-L --daemon'), { stdout: '', stderr: '', exit: 0 });
    assert.equal(run('--start-daemon master --mcast-interface lo --syncid 3').exit, 0);
    assert.deepEqual(run('--start-daemon master'), { stdout: '', stderr: 'Daemon has already run\n', exit: 255 });
    assert.deepEqual(run('--start-daemon backup --mcast-interface nosuch0'), { stdout: '', stderr: 'No such device\n', exit: 255 });
    assert.equal(run('--start-daemon backup --syncid 3 --mcast-port 18848 --mcast-ttl 2 --sync-maxlen 1400 --mcast-group 239.1.2.3').exit, 0);
    assert.equal(run('-L --daemon').stdout,
      'master sync daemon (mcast=lo, syncid=3, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n' +
      'backup sync daemon (mcast=eth0, syncid=3, maxlen=1400, group=239.1.2.3, port=18848, ttl=2)\n');
    assert.equal(run('--stop-daemon master').exit, 0);
    assert.deepEqual(run('--stop-daemon master'), { stdout: '', stderr: 'No daemon is running\n', exit: 255 });
    assert.equal(run('-L --daemon').stdout, 'backup sync daemon (mcast=eth0, syncid=3, maxlen=1400, group=239.1.2.3, port=18848, ttl=2)\n');
    // without a sync engine the commands say so
    assert.equal(execIpvsadm(d, ['--start-daemon', 'master'], undefined, {}).exit, 2);
  } finally {
    sync.close();
  }
});

test('SyncManager pair over loopback UDP (unicast peers): the backup sees the master\'s conns', async () => {
  const A = director();
  const B = director();
  const port = 20000 + Math.floor(Math.random() * 20000);
  const ma = new SyncManager(A.d, { log: () => undefined, ifaceAddr: () => '127.0.0.1', dropOwn: false, flushMs: 10 });
  const mb = new SyncManager(B.d, { log: () => undefined, ifaceAddr: () => '127.0.0.1', dropOwn: false });
  try {
    mb.start({ state: 'backup', mcastIfn: 'lo', syncid: 4, port, peers: ['127.0.0.1'] });
    ma.start({ state: 'master', mcastIfn: 'lo', syncid: 4, port, peers: ['127.0.0.1'] });
    await new Promise((r) => setTimeout(r, 100)); // sockets bound
    for (let c = 0; c < 30; c++) for (let i = 0; i < 3; i++) pkt(A.d, 7000 + c, i === 0 ? TH_SYN : TH_ACK);
    const t0 = Date.now();
    while (B.d.conns.size < 30 && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 5));
    assert.equal(B.d.conns.size, 30);
    const c = mb.counters();
    assert.equal(c.received_conns, 30);
    assert.equal(c.applied_created, 30);
    assert.equal(ma.counters().sent_conns, 30);
  } finally {
    ma.close();
    mb.close();
  }
});

test('config: the sync section', () => {
  const bad = [] as string[];
  const s = parseSyncSection({ state: 'both', interface: 'eth1', syncid: 7, peers: ['192.0.2.3'], period: 20, threshold: 2 }, (m) => bad.push(m))!;
  assert.equal(bad.length, 0, bad.join('\n'));
  assert.deepEqual(s.daemons.map((x) => x.state), ['master', 'backup']);
  assert.equal(s.daemons[0].mcastIfn, 'eth1');
  assert.equal(s.rules.period, 20);
  parseSyncSection({ state: 'primary', group: '10.0.0.1', threshold: 60, bogus: 1 }, (m) => bad.push(m));
  assert.equal(bad.length, 4, bad.join('\n'));
  const cfg = parseNativeConfig('sync:\n  state: backup\n  syncid: 3\nservices: []\n', 't.yaml');
  assert.equal(cfg.sync?.daemons[0].state, 'backup');
  assert.throws(() => parseNativeConfig('sync:\n  state: nope\n', 't.yaml'), /line 2: sync: state/);
});
