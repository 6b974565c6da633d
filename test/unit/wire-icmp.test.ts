// src/wire/icmp.ts against what the Linux kernel sent: an echo reply made in place equals
// the kernel's reply, and a port unreachable built here equals the kernel's byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BAD_L4, OK, TRUNCATED } from '../../src/wire/errors';
import { WIRE_FIXTURES, fixtureFrame, toHex } from '../../src/wire/fixtures';
import {
  ICMP_DEST_UNREACH, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST, ICMP_FRAG_NEEDED, ICMP_PORT_UNREACH, ICMP_TIME_EXCEEDED, IcmpView,
  buildIcmpv4Error, destUnreachableRepr, echoReplyRepr, emitIcmpv4, icmpv4ErrorAllowed, icmpv4QuoteLength, parseIcmpv4,
  timeExceededRepr, writeIcmpv4DestUnreachable, writeIcmpv4Echo, writeIcmpv4TimeExceeded,
} from '../../src/wire/icmp';
import { Ipv4View, writeIpv4Header } from '../../src/wire/ipv4';

const byName = (s: string) => fixtureFrame(WIRE_FIXTURES.find((f) => f.name.startsWith(s)) ?? WIRE_FIXTURES[0]);

test('echo request -> reply in place equals the kernel reply (ICMP part), checksum 0xffcd', () => {
  const req = byName('lo: ICMP echo request');
  const rep = byName('lo: ICMP echo reply');
  const ip = new Ipv4View(), icmp = new IcmpView();
  assert.equal(ip.reset(req, 14, req.length - 14), OK);
  assert.equal(icmp.reset(req, ip.payloadOffset, ip.payloadLength), OK);
  assert.equal(icmp.type, ICMP_ECHO_REQUEST);
  assert.equal(icmp.ident, 0x1234);
  assert.equal(icmp.seq, 1);
  assert.equal(icmp.checksumValid(), true);
  icmp.toEchoReply();
  ip.swapAddresses();
  assert.equal(icmp.type, ICMP_ECHO_REPLY);
  assert.equal(icmp.checksum, 0xffcd);
  assert.equal(toHex(req, 34), toHex(rep, 34));
  assert.equal(icmp.checksumValid(), true);
  assert.equal(ip.checksumValid(), true);
});

test('port unreachable built from the offending datagram equals the kernel one byte for byte', () => {
  const udp = byName('lo: UDP 127.0.0.1');
  const kernel = byName('lo: ICMP port unreachable');
  const ip = new Ipv4View();
  assert.equal(ip.reset(udp, 14, udp.length - 14), OK);
  assert.equal(icmpv4ErrorAllowed(ip), true);
  const out = new Uint8Array(600);
  const n = buildIcmpv4Error(out, 0, ip, 0x7f000001, 0xb07b, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0);
  assert.equal(n, kernel.length - 14);
  assert.equal(toHex(out, 0, n), toHex(kernel, 14));
  // and it parses back
  const r = parseIcmpv4(out, 20, n - 20);
  assert.ok(typeof r !== 'number');
  assert.equal(r.type, ICMP_DEST_UNREACH);
  assert.equal(toHex(r.data), toHex(udp, 14));
  const q = new Ipv4View(), icmp = new IcmpView();
  icmp.reset(out, 20, n - 20);
  assert.equal(icmp.isError, true);
  assert.equal(q.resetQuoted(out, icmp.dataOffset, icmp.dataLength), OK);
  assert.equal(q.protocol, 17);
});

test('time exceeded / frag needed: quote cut at 576 bytes, checksums verify; Repr builders agree', () => {
  const big = new Uint8Array(1500);
  writeIpv4Header(big, 0, 0, 1500, 7, 0, 1, 6, 0xc6336407, 0xc0000264);
  const ip = new Ipv4View();
  assert.equal(ip.reset(big, 0, 1500), OK);
  assert.equal(icmpv4QuoteLength(1500), 548);
  const out = new Uint8Array(600);
  const n = buildIcmpv4Error(out, 0, ip, 0xc0000201, 1, ICMP_TIME_EXCEEDED, 0, 0);
  assert.equal(n, 576);
  const oip = new Ipv4View(), icmp = new IcmpView();
  assert.equal(oip.reset(out, 0, n), OK);
  assert.equal(oip.daddr, 0xc6336407);
  assert.equal(oip.tos, 0xc0);
  assert.equal(oip.checksumValid(), true);
  assert.equal(icmp.reset(out, 20, n - 20), OK);
  assert.equal(icmp.checksumValid(), true);
  const viaRepr = new Uint8Array(600);
  assert.equal(emitIcmpv4(timeExceededRepr(big), viaRepr, 0), 556);
  assert.equal(toHex(viaRepr, 0, 556), toHex(out, 20, 556));
  const t = new Uint8Array(600);
  assert.equal(writeIcmpv4TimeExceeded(t, 0, big, 0, 548), 556);
  assert.equal(toHex(t, 0, 556), toHex(out, 20, 556));

  const fn = new Uint8Array(40);
  const m = writeIcmpv4DestUnreachable(fn, 0, ICMP_FRAG_NEEDED, 1400, big, 0, 28);
  assert.equal(icmp.reset(fn, 0, m), OK);
  assert.equal(icmp.nextHopMtu, 1400);
  assert.equal(icmp.checksumValid(), true);
  const viaRepr2 = new Uint8Array(40);
  emitIcmpv4(destUnreachableRepr(ICMP_FRAG_NEEDED, big.subarray(0, 28), 1400), viaRepr2, 0);
  assert.equal(toHex(viaRepr2), toHex(fn));
});

test('icmpv4ErrorAllowed: not about fragments, broadcast/multicast/unspecified, or ICMP errors', () => {
  const b = new Uint8Array(60);
  const ip = new Ipv4View();
  const mk = (src: number, dst: number, proto: number, frag: number, icmpType: number) => {
    writeIpv4Header(b, 0, 0, 28, 0, frag, 1, proto, src, dst);
    b[20] = icmpType;
    assert.equal(ip.reset(b, 0, 28), OK);
    return icmpv4ErrorAllowed(ip);
  };
  assert.equal(mk(0x0a000001, 0x0a000002, 6, 0, 0), true);
  assert.equal(mk(0x0a000001, 0x0a000002, 6, 0x2000, 0), true, 'first fragment: allowed');
  assert.equal(mk(0x0a000001, 0x0a000002, 6, 0x0010, 0), false, 'later fragment');
  assert.equal(mk(0, 0x0a000002, 6, 0, 0), false);
  assert.equal(mk(0x0a000001, 0xffffffff, 17, 0, 0), false);
  assert.equal(mk(0x0a000001, 0xe0000001, 17, 0, 0), false);
  assert.equal(mk(0xe0000001, 0x0a000002, 17, 0, 0), false);
  assert.equal(mk(0x0a000001, 0x0a000002, 1, 0, ICMP_ECHO_REQUEST), true);
  assert.equal(mk(0x0a000001, 0x0a000002, 1, 0, ICMP_DEST_UNREACH), false);
  assert.equal(mk(0x0a000001, 0x0a000002, 1, 0, ICMP_TIME_EXCEEDED), false);
  assert.equal(mk(0x0a000001, 0x0a000002, 1, 0, 200), false, 'unknown type');
});

test('echo writer and Repr; truncated ICMP', () => {
  const req = byName('lo: ICMP echo request');
  const rep = byName('lo: ICMP echo reply');
  const out = new Uint8Array(40);
  const n = writeIcmpv4Echo(out, 0, ICMP_ECHO_REPLY, 0x1234, 1, req, 42, req.length - 42);
  assert.equal(toHex(out, 0, n), toHex(rep, 34));
  const r = parseIcmpv4(req, 34, req.length - 34);
  assert.ok(typeof r !== 'number');
  const o2 = new Uint8Array(40);
  const m = emitIcmpv4(echoReplyRepr(r), o2, 0);
  assert.equal(toHex(o2, 0, m), toHex(rep, 34));
  const v = new IcmpView();
  for (let len = 0; len < 8; len++) assert.equal(v.reset(req, 34, len), TRUNCATED);
  const bad = req.slice();
  bad[40] ^= 1;
  assert.equal(parseIcmpv4(bad, 34, bad.length - 34), BAD_L4, 'checksum fails');
});
