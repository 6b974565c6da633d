// The director core: scheduling only on SYN, Active/InAct accounting, expiry,
// persistence templates, thresholds, quiescing, conn reuse, one-packet UDP, a full table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Addr, parseV4 } from '../../src/core/addr';
import {
  AF_INET, DEST_F_OVERLOAD, FWD_DROUTE, FWD_MASQ, IPPROTO_TCP, IPPROTO_UDP, SVC_F_ONEPACKET, SVC_F_PERSISTENT,
} from '../../src/core/constants';
import { Director } from '../../src/core/director';
import { DROP_DEST_GONE, DROP_NOT_SYN, DROP_NO_DEST, DROP_TABLE_FULL } from '../../src/core/drops';
import type { ServiceRef } from '../../src/core/services';
import { TH_ACK, TH_FIN, TH_RST, TH_SYN } from '../../src/conn/tcp-states';

const VIP = parseV4('192.0.2.100');
const A = '192.0.2.11', B = '192.0.2.12';

function tcpService(d: Director, sched = 'rr', extra: { flags?: number; timeout?: number; netmask?: number } = {}): ServiceRef {
  const ref = { af: AF_INET as 2, proto: IPPROTO_TCP, addr: Addr.v4(VIP), port: 80, fwmark: 0 };
  d.services.addService({ ...ref, scheduler: sched, ...extra });
  return ref;
}

function addDest(d: Director, ref: ServiceRef, ip: string, weight = 1, u = 0, l = 0, fwd = FWD_DROUTE) {
  return d.services.addDest(ref, { addr: Addr.parse(ip)!, port: 80, weight, fwd, uThreshold: u, lThreshold: l });
}

const client = (n: number) => parseV4('198.51.100.1') + n;
const syn = (d: Director, c: number, port: number) => d.inPacket4(IPPROTO_TCP, c, port, VIP, 80, TH_SYN, 60);
const ack = (d: Director, c: number, port: number) => d.inPacket4(IPPROTO_TCP, c, port, VIP, 80, TH_ACK, 52);

test('TCP is scheduled only on a SYN; a stray ACK is a counted drop', () => {
  const d = new Director();
  const ref = tcpService(d);
  addDest(d, ref, A);
  assert.equal(ack(d, client(1), 1000), 0);
  assert.equal(d.drops[DROP_NOT_SYN], 1);
  assert.equal(d.inPacket4(IPPROTO_TCP, client(1), 1000, VIP, 80, TH_SYN | TH_RST, 60), 0);
  assert.ok(syn(d, client(1), 1000) > 0);
  assert.equal(d.conns.size, 1);
});

test('a SYN makes the conn active; FIN makes it inactive; expiry clears both', () => {
  const d = new Director();
  const ref = tcpService(d);
  const a = addDest(d, ref, A);
  assert.equal(syn(d, client(1), 1000), a.id);
  assert.deepEqual([a.activeConns, a.inactConns], [1, 0]);
  ack(d, client(1), 1000);
  assert.deepEqual([a.activeConns, a.inactConns], [1, 0]);
  d.inPacket4(IPPROTO_TCP, client(1), 1000, VIP, 80, TH_FIN | TH_ACK, 52);
  assert.deepEqual([a.activeConns, a.inactConns], [0, 1]);
  d.tick(119);
  assert.equal(d.conns.size, 1, 'FIN_WAIT lasts 120 s');
  d.tick(121);
  assert.equal(d.conns.size, 0);
  assert.deepEqual([a.activeConns, a.inactConns], [0, 0]);
  assert.equal(a.stats.conns, 1);
  assert.equal(a.stats.inpkts, 3);
  assert.equal(a.stats.inbytes, 60 + 52 + 52);
});

test('UDP conns are always InActConn and live 300 s idle', () => {
  const d = new Director();
  const ref = { af: AF_INET as 2, proto: IPPROTO_UDP, addr: Addr.v4(VIP), port: 53, fwmark: 0 };
  d.services.addService({ ...ref, scheduler: 'rr' });
  const a = d.services.addDest(ref, { addr: Addr.parse(A)!, port: 53, weight: 1, fwd: FWD_DROUTE, uThreshold: 0, lThreshold: 0 });
  assert.equal(d.inPacket4(IPPROTO_UDP, client(1), 5000, VIP, 53, 0, 40), a.id);
  assert.deepEqual([a.activeConns, a.inactConns], [0, 1]);
  d.tick(200);
  d.inPacket4(IPPROTO_UDP, client(1), 5000, VIP, 53, 0, 40);
  d.tick(499);
  assert.equal(d.conns.size, 1, 'each packet re-arms the idle timer');
  d.tick(501);
  assert.equal(d.conns.size, 0);
  assert.equal(a.inactConns, 0);
});

test('one-packet UDP: every datagram is scheduled and counted, nothing is inserted', () => {
  const d = new Director();
  const ref = { af: AF_INET as 2, proto: IPPROTO_UDP, addr: Addr.v4(VIP), port: 53, fwmark: 0 };
  d.services.addService({ ...ref, scheduler: 'rr', flags: SVC_F_ONEPACKET });
  const a = d.services.addDest(ref, { addr: Addr.parse(A)!, port: 53, weight: 1, fwd: FWD_DROUTE, uThreshold: 0, lThreshold: 0 });
  const b = d.services.addDest(ref, { addr: Addr.parse(B)!, port: 53, weight: 1, fwd: FWD_DROUTE, uThreshold: 0, lThreshold: 0 });
  const got = [0, 1, 2, 3].map(() => d.inPacket4(IPPROTO_UDP, client(1), 5000, VIP, 53, 0, 40));
  assert.deepEqual(got, [b.id, a.id, b.id, a.id]);
  assert.equal(d.conns.size, 0);
  assert.equal(a.stats.conns + b.stats.conns, 4);
  assert.equal(a.inactConns + b.inactConns, 0);
});

test('an empty service gives no dest and counts "no destination available"', () => {
  const d = new Director();
  tcpService(d);
  assert.equal(syn(d, client(1), 1000), 0);
  assert.equal(d.drops[DROP_NO_DEST], 1);
});

test('weight 0: existing conns continue, new conns go elsewhere', () => {
  const d = new Director();
  const ref = tcpService(d, 'wlc');
  const a = addDest(d, ref, A);
  assert.equal(syn(d, client(1), 1000), a.id);
  const b = addDest(d, ref, B);
  d.services.editDest(ref, { addr: a.addr, port: 80, weight: 0, fwd: FWD_DROUTE, uThreshold: 0, lThreshold: 0 });
  assert.equal(ack(d, client(1), 1000), a.id, 'existing conn still forwarded to the quiesced dest');
  for (let i = 2; i < 10; i++) assert.equal(syn(d, client(i), 1000), b.id);
});

test('a deleted dest: its conns are dropped (expire_nodest_conn=0) or rescheduled on SYN (=1)', () => {
  const d = new Director();
  const ref = tcpService(d);
  const a = addDest(d, ref, A);
  syn(d, client(1), 1000);
  addDest(d, ref, B);
  d.services.deleteDest(ref, a.addr, 80);
  assert.equal(ack(d, client(1), 1000), 0);
  assert.equal(d.drops[DROP_DEST_GONE], 1);
  assert.equal(d.services.dests[a.id], a, 'kept while a conn refers to it');
  d.sysctl.expireNodestConn = 1;
  assert.ok(syn(d, client(1), 1000) > 0);
  assert.notEqual(d.lastSlot, -1);
  d.tick(1000);
  assert.equal(d.services.dests[a.id], null, 'freed once no conn refers to it');
});

test('conn reuse: a SYN on a TIME_WAIT/CLOSE conn expires it and schedules afresh', () => {
  const d = new Director();
  const ref = tcpService(d, 'rr');
  const a = addDest(d, ref, A);
  const b = addDest(d, ref, B); // list: B, A
  assert.equal(syn(d, client(1), 1000), b.id);
  ack(d, client(1), 1000);
  d.inPacket4(IPPROTO_TCP, client(1), 1000, VIP, 80, TH_RST, 40); // ESTABLISHED -> CLOSE
  assert.equal(syn(d, client(1), 1000), a.id, 'rescheduled, rr moved on');
  assert.deepEqual([b.activeConns, b.inactConns, a.activeConns], [0, 0, 1]);
});

test('persistence: one client keeps its dest across ports; the netmask groups clients', () => {
  const d = new Director();
  const ref = tcpService(d, 'rr', { flags: SVC_F_PERSISTENT, timeout: 360, netmask: parseV4('255.255.255.0') });
  const a = addDest(d, ref, A);
  const b = addDest(d, ref, B);
  const first = syn(d, client(1), 1000);
  for (let p = 1001; p < 1010; p++) assert.equal(syn(d, client(1), p), first);
  assert.equal(syn(d, client(50), 2000), first, 'same /24 -> same template');
  const other = syn(d, parseV4('203.0.113.9'), 3000);
  assert.notEqual(other, first);
  assert.equal(a.persistConns + b.persistConns, 2);
});

test('persistence: a template outlives its children and then expires', () => {
  const d = new Director();
  const ref = tcpService(d, 'rr', { flags: SVC_F_PERSISTENT, timeout: 10 });
  const a = addDest(d, ref, A);
  syn(d, client(1), 1000); // SYN_RECV: 60 s
  assert.equal(d.conns.size, 2);
  d.tick(30);
  assert.equal(d.conns.size, 2, 'template (10 s) re-armed while its child lives');
  d.tick(61);
  assert.equal(d.conns.size, 1, 'child expired at 60 s, template waits for its re-arm');
  assert.equal(a.persistConns, 1);
  d.tick(200);
  assert.equal(d.conns.size, 0);
  assert.equal(a.persistConns, 0);
});

test('persistence: weight 0 keeps persistent clients; a deleted dest invalidates the template', () => {
  const d = new Director();
  const ref = tcpService(d, 'rr', { flags: SVC_F_PERSISTENT, timeout: 360 });
  const a = addDest(d, ref, A);
  assert.equal(syn(d, client(1), 1000), a.id);
  const b = addDest(d, ref, B);
  d.services.editDest(ref, { addr: a.addr, port: 80, weight: 0, fwd: FWD_DROUTE, uThreshold: 0, lThreshold: 0 });
  assert.equal(syn(d, client(1), 1001), a.id, 'template wins over weight 0 (§2.7)');
  d.sysctl.expireQuiescentTemplate = 1;
  assert.equal(syn(d, client(1), 1002), b.id, 'expire_quiescent_template=1 reschedules');
  d.services.deleteDest(ref, b.addr, 80);
  d.services.editDest(ref, { addr: a.addr, port: 80, weight: 1, fwd: FWD_DROUTE, uThreshold: 0, lThreshold: 0 });
  assert.equal(syn(d, client(1), 1003), a.id, 'template of a deleted dest is replaced');
});

test('thresholds: OVERLOAD at u, cleared below 3/4 u, or below l when l is set (§2.4)', () => {
  const d = new Director();
  const ref = tcpService(d, 'wlc');
  const a = addDest(d, ref, A, 1, 4, 0);
  for (let i = 0; i < 4; i++) assert.equal(syn(d, client(i), 1000), a.id);
  assert.ok(a.flags & DEST_F_OVERLOAD);
  assert.equal(syn(d, client(9), 1000), 0, 'overloaded dest gets no new conns');
  const rst = (i: number) => {
    ack(d, client(i), 1000); // ESTABLISHED, then RST -> CLOSE (10 s)
    d.inPacket4(IPPROTO_TCP, client(i), 1000, VIP, 80, TH_RST, 40);
  };
  rst(0);
  d.tick(11);
  assert.equal(a.activeConns + a.inactConns, 3);
  assert.ok(a.flags & DEST_F_OVERLOAD, '3*4 < 4*3 is false: still overloaded');
  rst(1);
  d.tick(22);
  assert.equal(a.flags & DEST_F_OVERLOAD, 0, '2*4 < 12: cleared');
  // With l=3: clears as soon as total < 3.
  const b = addDest(d, ref, B, 1, 4, 3);
  d.services.editDest(ref, { addr: a.addr, port: 80, weight: 0, fwd: FWD_DROUTE, uThreshold: 0, lThreshold: 0 });
  for (let i = 20; i < 24; i++) assert.equal(syn(d, client(i), 1000), b.id);
  assert.ok(b.flags & DEST_F_OVERLOAD);
  rst(20);
  d.tick(33);
  assert.ok(b.flags & DEST_F_OVERLOAD, 'total 3 is not < 3');
  rst(21);
  d.tick(44);
  assert.equal(b.flags & DEST_F_OVERLOAD, 0);
});

test('editing a dest clears OVERLOAD when u becomes 0 or grows', () => {
  const d = new Director();
  const ref = tcpService(d, 'wlc');
  const a = addDest(d, ref, A, 1, 1, 0);
  syn(d, client(1), 1);
  assert.ok(a.flags & DEST_F_OVERLOAD);
  d.services.editDest(ref, { addr: a.addr, port: 80, weight: 1, fwd: FWD_DROUTE, uThreshold: 5, lThreshold: 0 });
  assert.equal(a.flags & DEST_F_OVERLOAD, 0);
});

test('a full table with the refuse policy counts drops and never grows', () => {
  const d = new Director({ maxConns: 8 });
  const ref = tcpService(d);
  addDest(d, ref, A);
  let ok = 0;
  for (let i = 0; i < 20; i++) if (syn(d, client(i), 1000) > 0) ok++;
  assert.equal(ok, 8);
  assert.equal(d.drops[DROP_TABLE_FULL], 12);
  assert.ok(d.conns.size <= 8);
});

test('NAT dests have no NOOUTPUT: a client FIN in INPUT goes to CLOSE_WAIT', () => {
  const d = new Director();
  const ref = tcpService(d);
  const a = d.services.addDest(ref, { addr: Addr.parse(A)!, port: 8080, weight: 1, fwd: FWD_MASQ, uThreshold: 0, lThreshold: 0 });
  assert.equal(a.port, 8080, 'NAT keeps its port');
  syn(d, client(1), 1000);
  ack(d, client(1), 1000);
  d.inPacket4(IPPROTO_TCP, client(1), 1000, VIP, 80, TH_FIN | TH_ACK, 52);
  assert.equal(d.conns.state(d.lastSlot), 7 /* CLOSE_WAIT */);
});

test('--set changes later transitions only; -L --timeout reads it back', () => {
  const d = new Director();
  d.timeouts.set(259200, 0, 0);
  assert.deepEqual(d.timeouts.get(), { tcp: 259200, tcpfin: 120, udp: 300 });
  assert.throws(() => d.timeouts.set(2678401, 0, 0), /Invalid operation/);
});

test('rate estimator: a steady 100 conn/s and 1000 pkt/s converge to those rates', () => {
  const d = new Director({ maxConns: 1 << 16 });
  const ref = tcpService(d);
  const a = addDest(d, ref, A);
  let port = 1;
  for (let s = 1; s <= 60; s++) {
    for (let i = 0; i < 100; i++) {
      syn(d, client(i), port);
      for (let k = 0; k < 9; k++) ack(d, client(i), port);
      port++;
    }
    d.tick(s);
  }
  const r = a.stats.est.rates;
  assert.equal(r.cps, 100);
  assert.equal(r.inpps, 1000);
  d.services.zero();
  assert.equal(a.stats.conns, 0);
  assert.equal(a.stats.est.rates.cps, 0);
  assert.ok(a.activeConns > 0, '-Z keeps Active/InAct');
});

test('limits (worker threads): a service or real server past the shared counters is refused with ENOMEM, nothing half-added', () => {
  const d = new Director();
  d.services.limits = { maxServices: 2, maxDestIds: 3 }; // dest ids 1 and 2
  const ref = tcpService(d);
  addDest(d, ref, '192.0.2.11');
  addDest(d, ref, '192.0.2.12');
  assert.throws(() => addDest(d, ref, '192.0.2.13'), (e: Error & { code?: string }) => e.code === 'ENOMEM' && /at most 2 real servers/.test(e.message));
  assert.equal(d.services.find(ref)!.dests.length, 2);
  d.services.addService({ af: AF_INET, proto: IPPROTO_UDP, addr: Addr.v4(VIP), port: 53, fwmark: 0 });
  assert.throws(() => d.services.addService({ af: AF_INET, proto: IPPROTO_UDP, addr: Addr.v4(VIP), port: 54, fwmark: 0 }),
    (e: Error & { code?: string }) => e.code === 'ENOMEM' && /at most 2 services/.test(e.message));
  assert.equal(d.services.services.length, 2);
});
