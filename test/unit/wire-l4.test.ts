// src/wire/tcp.ts and udp.ts on byte fixtures: ports, flags, data offset and length checks,
// checksums, and the NAT rewrites whose incremental checksum must equal a full recompute.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { completePartialChecksum } from '../../src/wire/checksum';
import { BAD_DATA_OFFSET, BAD_UDP_LENGTH, OK, TRUNCATED } from '../../src/wire/errors';
import { WIRE_FIXTURES, fixtureFrame, hex } from '../../src/wire/fixtures';
import { Ipv4View } from '../../src/wire/ipv4';
import { Ipv6View } from '../../src/wire/ipv6';
import { TCP_ACK, TCP_RST, TCP_SYN, TcpView, emitTcp, parseTcp } from '../../src/wire/tcp';
import { UdpView, emitUdp, parseUdp } from '../../src/wire/udp';
import { mulberry32 as rng } from '../fixtures/prng';


/** Frame of a fixture with any CHECKSUM_PARTIAL completed, and its IP view. */
function complete(i: number): { b: Uint8Array; ip4: Ipv4View; ip6: Ipv6View; v6: boolean } {
  const f = WIRE_FIXTURES[i];
  const b = fixtureFrame(f);
  const ip4 = new Ipv4View(), ip6 = new Ipv6View();
  const v6 = f.ethertype === 0x86dd;
  const l3 = f.name.startsWith('802.1Q') ? 18 : 14;
  assert.equal(v6 ? ip6.reset(b, l3, b.length - l3) : ip4.reset(b, l3, b.length - l3), OK);
  const l4 = v6 ? ip6.payloadOffset : ip4.payloadOffset;
  if (f.partial) assert.equal(completePartialChecksum(b, 0, b.length, l4, f.proto === 6 ? 16 : 6), OK);
  return { b, ip4, ip6, v6 };
}

test('TCP fixtures: ports, flags, options, checksums verify (after completing partial ones)', () => {
  const tcp = new TcpView();
  WIRE_FIXTURES.forEach((f, i) => {
    if (f.proto !== 6) return;
    const { b, ip4, ip6, v6 } = complete(i);
    const off = v6 ? ip6.payloadOffset : ip4.payloadOffset, len = v6 ? ip6.payloadLength : ip4.payloadLength;
    assert.equal(tcp.reset(b, off, len), OK, f.name);
    assert.equal(tcp.sport, f.sport);
    assert.equal(tcp.dport, f.dport);
    assert.equal(tcp.flags, f.flags);
    assert.equal(tcp.checksumOffset, off + 16);
    assert.equal(tcp.hasOptions, (f.flags & TCP_SYN) !== 0 && !f.name.startsWith('802.1Q'));
    assert.equal(tcp.payloadLength, 0);
    assert.equal(v6 ? tcp.checksumValid6(b, ip6.srcOffset, ip6.dstOffset) : tcp.checksumValid4(ip4.saddr, ip4.daddr), true, f.name);
  });
  const { b, ip4 } = complete(1);
  tcp.reset(b, ip4.payloadOffset, ip4.payloadLength);
  assert.equal(tcp.flags, TCP_RST | TCP_ACK);
  assert.equal(tcp.ack, 0x2ab451c6);
  assert.equal(tcp.seq, 0);
});

test('TCP data offset: < 5 is BAD_DATA_OFFSET, beyond len TRUNCATED; every truncation TRUNCATED', () => {
  const { b, ip4 } = complete(0);
  const tcp = new TcpView();
  const off = ip4.payloadOffset;
  for (let len = 0; len < 40; len++) assert.equal(tcp.reset(b, off, len), TRUNCATED, `len ${len}`);
  assert.equal(tcp.reset(b, off, 40), OK);
  assert.equal(tcp.headerLength, 40);
  for (const doff of [0, 1, 4]) {
    const c = b.slice();
    c[off + 12] = doff << 4;
    assert.equal(tcp.reset(c, off, 40), BAD_DATA_OFFSET);
  }
  const c = b.slice();
  c[off + 12] = 0xf0;
  assert.equal(tcp.reset(c, off, 40), TRUNCATED);
});

test('TCP NAT: natDport/natSport/natAddr4 incremental checksum equals a full recompute (random segments)', () => {
  const r = rng(21);
  const tcp = new TcpView();
  for (let n = 0; n < 5000; n++) {
    const len = 20 + 4 * Math.floor(r() * 5) + Math.floor(r() * 64);
    const b = new Uint8Array(len);
    for (let i = 0; i < len; i++) b[i] = Math.floor(r() * 256);
    b[12] = (5 + Math.floor(r() * 5)) << 4;
    let saddr = Math.floor(r() * 2 ** 32), daddr = Math.floor(r() * 2 ** 32);
    assert.equal(tcp.reset(b, 0, len), (b[12] >>> 4) * 4 > len ? TRUNCATED : OK);
    if ((b[12] >>> 4) * 4 > len) continue;
    tcp.fillChecksum4(saddr, daddr);
    const nd = Math.floor(r() * 65536), ns = Math.floor(r() * 65536), na = Math.floor(r() * 2 ** 32);
    tcp.natDport(nd);
    tcp.natSport(ns);
    tcp.natAddr4(daddr, na);
    daddr = na;
    if (n % 2) {
      const nb = Math.floor(r() * 2 ** 32);
      tcp.natAddr4(saddr, nb);
      saddr = nb;
    }
    assert.equal(tcp.dport, nd);
    assert.equal(tcp.sport, ns);
    assert.equal(tcp.checksumValid4(saddr, daddr), true, `n=${n}`);
    const inc = tcp.checksum;
    tcp.fillChecksum4(saddr, daddr);
    assert.equal(inc, tcp.checksum, `n=${n}: incremental equals recompute`);
  }
});

test('TCP NAT over IPv6: natAddr6 keeps the checksum right when a destination address changes', () => {
  const { b, ip6 } = complete(7);
  const tcp = new TcpView();
  assert.equal(tcp.reset(b, ip6.payloadOffset, ip6.payloadLength), OK);
  const newDst = hex('2001 0db8 0000 0000 0000 0000 0000 0064');
  tcp.natAddr6(b, ip6.dstOffset, newDst, 0);
  b.set(newDst, ip6.dstOffset);
  tcp.natDport(8080);
  assert.equal(tcp.checksumValid6(b, ip6.srcOffset, ip6.dstOffset), true);
  const inc = tcp.checksum;
  tcp.fillChecksum6(b, ip6.srcOffset, ip6.dstOffset);
  assert.equal(inc, tcp.checksum);
});

test('UDP fixtures: ports, length, checksums; length field checks', () => {
  const udp = new UdpView();
  for (const i of [2, 8]) {
    const f = WIRE_FIXTURES[i];
    const { b, ip4, ip6, v6 } = complete(i);
    const off = v6 ? ip6.payloadOffset : ip4.payloadOffset, len = v6 ? ip6.payloadLength : ip4.payloadLength;
    assert.equal(udp.reset(b, off, len), OK, f.name);
    assert.equal(udp.sport, f.sport);
    assert.equal(udp.dport, f.dport);
    assert.equal(udp.length, len);
    assert.equal(udp.checksumOffset, off + 6);
    assert.equal(v6 ? udp.checksumValid6(b, ip6.srcOffset, ip6.dstOffset) : udp.checksumValid4(ip4.saddr, ip4.daddr), true);
    for (let l = 0; l < len; l++) assert.equal(udp.reset(b, off, l), TRUNCATED, `len ${l}`);
    for (const ulen of [0, 7]) {
      const c = b.slice();
      c[off + 4] = 0;
      c[off + 5] = ulen;
      assert.equal(udp.reset(c, off, len), BAD_UDP_LENGTH);
    }
    // a length field shorter than the IP payload: the datagram is what it says
    const c = b.slice();
    c[off + 5] -= 2;
    assert.equal(udp.reset(c, off, len), OK);
    assert.equal(udp.payloadLength, len - 10);
  }
});

test('UDP NAT: zero checksum (none, over IPv4) stays zero; a computed zero is sent as 0xffff', () => {
  const r = rng(22);
  const udp = new UdpView();
  for (let n = 0; n < 20000; n++) {
    const b = new Uint8Array(8 + Math.floor(r() * 16));
    for (let i = 0; i < b.length; i++) b[i] = Math.floor(r() * 256);
    b[4] = 0;
    b[5] = b.length;
    const saddr = Math.floor(r() * 2 ** 32), daddr = Math.floor(r() * 2 ** 32);
    udp.reset(b, 0, b.length);
    udp.fillChecksum4(saddr, daddr);
    assert.notEqual(udp.checksum, 0);
    const nd = Math.floor(r() * 65536), na = Math.floor(r() * 2 ** 32);
    udp.natDport(nd);
    udp.natAddr4(daddr, na);
    assert.notEqual(udp.checksum, 0);
    assert.equal(udp.checksumValid4(saddr, na), true, `n=${n}`);
  }
  // A port chosen so the updated checksum comes out 0: it must be stored as 0xffff.
  {
    const b = hex('c20b 18d1 000a 0000 6869');
    udp.reset(b, 0, b.length);
    udp.fillChecksum4(0x0a000001, 0x0a000002);
    const c = udp.checksum, old = udp.dport;
    let x = (~c & 0xffff) + (~old & 0xffff);
    x = (x & 0xffff) + (x >>> 16);
    udp.natDport(0xffff - x);
    assert.equal(udp.checksum, 0xffff);
    assert.equal(udp.checksumValid4(0x0a000001, 0x0a000002), true);
  }
  const b = hex('c20b 18d1 000a 0000 6869');
  udp.reset(b, 0, b.length);
  assert.equal(udp.hasChecksum, false);
  udp.natDport(53);
  udp.natAddr4(1, 2);
  assert.equal(udp.checksum, 0, 'no checksum stays no checksum');
  assert.equal(udp.checksumValid4(1, 2), true);
  assert.equal(udp.checksumValid6(b, 0, 0), false, 'zero is invalid over IPv6');
});

test('Repr: TCP and UDP round trips', () => {
  const { b, ip4 } = complete(0);
  const r = parseTcp(b, ip4.payloadOffset, ip4.payloadLength);
  assert.ok(typeof r !== 'number');
  assert.equal(r.options?.length, 20);
  const out = new Uint8Array(40);
  assert.equal(emitTcp(r, out, 0), 40);
  const tcp = new TcpView();
  tcp.reset(out, 0, 40);
  tcp.fillChecksum4(ip4.saddr, ip4.daddr);
  assert.deepEqual(out, b.subarray(ip4.payloadOffset));
  const u = complete(2);
  const ur = parseUdp(u.b, u.ip4.payloadOffset, u.ip4.payloadLength);
  assert.deepEqual(ur, { sport: 49675, dport: 6353, payloadLen: 10 });
  const uo = new Uint8Array(18);
  emitUdp(ur as { sport: number; dport: number; payloadLen: number }, uo, 0);
  uo.set(u.b.subarray(u.ip4.payloadOffset + 8), 8);
  const udp = new UdpView();
  udp.reset(uo, 0, 18);
  udp.fillChecksum4(u.ip4.saddr, u.ip4.daddr);
  assert.deepEqual(uo, u.b.subarray(u.ip4.payloadOffset));
  assert.equal(parseTcp(b, 0, 3), TRUNCATED);
});
