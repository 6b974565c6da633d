// src/wire/ipv6.ts on byte fixtures: parse, extension headers, fragments, construct, truncation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BAD_EXT_HEADER, BAD_VERSION, FRAGMENT, OK, TRUNCATED, UNSUPPORTED } from '../../src/wire/errors';
import { WIRE_FIXTURES, fixtureFrame, hex, toHex } from '../../src/wire/fixtures';
import { IPPROTO_FRAGMENT, Ipv6View, emitIpv6, parseIpv6 } from '../../src/wire/ipv6';

const LOOPBACK = '0000 0000 0000 0000 0000 0000 0000 0001';

/** An IPv6 datagram: fixed header with next header `nh` and the given payload bytes. */
function datagram(nh: number, payload: string): Uint8Array {
  const p = hex(payload);
  const b = new Uint8Array(40 + p.length);
  b.set(hex('6000 0000'), 0);
  b[4] = p.length >>> 8;
  b[5] = p.length & 0xff;
  b[6] = nh;
  b[7] = 64;
  b.set(hex(LOOPBACK), 8);
  b.set(hex('2001 0db8 0000 0000 0000 0000 0000 0064'), 24);
  b.set(p, 40);
  return b;
}

const TCP20 = '9c40 0050 0000 0001 0000 0000 5002 ffff 0000 0000';

test('fixtures: protocol, ports offset, addresses as host-order words', () => {
  const v = new Ipv6View();
  for (const f of WIRE_FIXTURES.filter((x) => x.ethertype === 0x86dd)) {
    const b = fixtureFrame(f);
    assert.equal(v.reset(b, 14, b.length - 14), OK, f.name);
    assert.equal(v.protocol, f.proto);
    assert.equal(v.hasExtHeaders, false);
    assert.equal(v.payloadOffset, 54);
    assert.equal(v.payloadLength, b.length - 54);
    assert.equal(v.hopLimit, 64);
    assert.deepEqual([0, 1, 2, 3].map((i) => v.dst32(i)), [0, 0, 0, 1]);
    if (f.proto !== 58) assert.equal((b[v.payloadOffset] << 8) | b[v.payloadOffset + 1], f.sport);
  }
  const b = fixtureFrame(WIRE_FIXTURES[6]);
  v.reset(b, 14, b.length - 14);
  assert.equal(v.trafficClass, 0);
  assert.equal(v.flowLabel, 0x83b6f);
});

test('extension headers: hop-by-hop, destination options, routing, AH are stepped over', () => {
  const v = new Ipv6View();
  // HBH (8 bytes, next = DSTOPTS) -> DSTOPTS (16 bytes: len 1, next = ROUTING) -> ROUTING (8, next = AH)
  // -> AH (len 4 => 24 bytes, next = TCP) -> TCP
  const b = datagram(0, '3c00 0000 0000 0000' + '2b01 0000 0000 0000 0000 0000 0000 0000' + '3300 0000 0000 0000' +
    '0604 0000 0000 0000 0000 0000 0000 0000 0000 0000 0000 0000' + TCP20);
  assert.equal(v.reset(b, 0, b.length), OK);
  assert.equal(v.nextHeader, 0);
  assert.equal(v.protocol, 6);
  assert.equal(v.extHeadersLength, 8 + 16 + 8 + 24);
  assert.equal(v.payloadOffset, 40 + 56);
  assert.equal(v.payloadLength, 20);
  assert.equal(v.isFragment, false);
  // every truncation, of the datagram or of its payload length, is TRUNCATED
  for (let len = 0; len < b.length; len++) assert.equal(v.reset(b, 0, len), TRUNCATED, `len ${len}`);
  for (let plen = 0; plen < 56; plen++) {
    const c = b.slice();
    c[4] = 0;
    c[5] = plen;
    assert.equal(v.reset(c, 0, c.length), TRUNCATED, `payload length ${plen}`);
  }
});

test('hop-by-hop options anywhere but first: BAD_EXT_HEADER; more than 8 headers: UNSUPPORTED', () => {
  const v = new Ipv6View();
  assert.equal(v.reset(datagram(60, '0000 0000 0000 0000' + TCP20), 0, 68), BAD_EXT_HEADER);
  const nine = '3c00 0000 0000 0000'.repeat(8) + '0600 0000 0000 0000' + TCP20;
  const b = datagram(60, nine);
  assert.equal(v.reset(b, 0, b.length), UNSUPPORTED);
  const eight = datagram(60, '3c00 0000 0000 0000'.repeat(7) + '0600 0000 0000 0000' + TCP20);
  assert.equal(v.reset(eight, 0, eight.length), OK);
  assert.equal(v.protocol, 6);
});

test('fragments: first fragment reaches the upper layer, later ones stop; atomic fragment is not one', () => {
  const v = new Ipv6View();
  const first = datagram(IPPROTO_FRAGMENT, '0600 0001 1234 5678' + TCP20);
  assert.equal(v.reset(first, 0, first.length), OK);
  assert.equal(v.isFragment, true);
  assert.equal(v.fragmentReason, FRAGMENT);
  assert.equal(v.protocol, 6);
  assert.equal(v.payloadOffset, 48);
  const later = datagram(IPPROTO_FRAGMENT, '0600 00b8 1234 5678' + 'ffff ffff ffff ffff'); // offset 23*8, M=0
  assert.equal(v.reset(later, 0, later.length), OK);
  assert.equal(v.isFragment, true);
  assert.equal(v.protocol, 6);
  assert.equal(v.payloadLength, 8);
  const atomic = datagram(IPPROTO_FRAGMENT, '0600 0000 1234 5678' + TCP20);
  assert.equal(v.reset(atomic, 0, atomic.length), OK);
  assert.equal(v.isFragment, false);
  assert.equal(parseIpv6(first, 0, first.length), FRAGMENT);
});

test('bad version; truncated fixed header; ESP and No Next Header end the walk', () => {
  const v = new Ipv6View();
  const b = fixtureFrame(WIRE_FIXTURES[6]);
  b[14] = 0x40;
  assert.equal(v.reset(b, 14, b.length - 14), BAD_VERSION);
  for (let len = 0; len < 40; len++) assert.equal(v.reset(b, 14, len), TRUNCATED);
  const esp = datagram(50, '0000 0001 0000 0001');
  assert.equal(v.reset(esp, 0, esp.length), OK);
  assert.equal(v.protocol, 50);
  const none = datagram(59, '');
  assert.equal(v.reset(none, 0, none.length), OK);
  assert.equal(v.protocol, 59);
  assert.equal(v.payloadLength, 0);
});

test('setters: hop limit, address words, swap; Repr round trip', () => {
  const b = fixtureFrame(WIRE_FIXTURES[6]);
  const v = new Ipv6View();
  v.reset(b, 14, b.length - 14);
  assert.equal(v.decrementHopLimit(), 63);
  v.setDst32(0, 0x20010db8);
  v.setDst32(3, 0x64);
  assert.deepEqual([0, 1, 2, 3].map((i) => v.dst32(i)), [0x20010db8, 0, 0, 0x64]);
  v.swapAddresses();
  assert.deepEqual([0, 1, 2, 3].map((i) => v.src32(i)), [0x20010db8, 0, 0, 0x64]);
  assert.equal(v.dstEquals(hex(LOOPBACK), 0), true);
  v.hopLimit = 0;
  assert.equal(v.decrementHopLimit(), 0);
  const r = parseIpv6(b, 14, b.length - 14);
  assert.ok(typeof r !== 'number');
  const out = new Uint8Array(40);
  emitIpv6(r, out, 0);
  assert.equal(toHex(out), toHex(b, 14, 40));
});
