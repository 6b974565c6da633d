// src/wire/ipv4.ts on byte fixtures: parse, construct, bad version/IHL/total length,
// truncation, fragments, options, and the forwarding setters (TTL, addresses, TOS) whose
// incremental checksum must equal a full recompute.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checksum } from '../../src/wire/checksum';
import { BAD_IHL, BAD_TOTAL_LENGTH, BAD_VERSION, FRAGMENT, OK, TRUNCATED } from '../../src/wire/errors';
import { IPV4_HEADER_CLASSIC, WIRE_FIXTURES, fixtureFrame, hex, toHex } from '../../src/wire/fixtures';
import { IPV4_DF, IPV4_MF, Ipv4View, emitIpv4, parseIpv4, writeIpv4Header } from '../../src/wire/ipv4';
import { mulberry32 as rng } from '../fixtures/prng';

/** The classic header followed by its 95 payload bytes. */
function classic(): Uint8Array {
  const b = new Uint8Array(0x73);
  b.set(hex(IPV4_HEADER_CLASSIC));
  return b;
}


/** A random valid header with `optWords` 32-bit words of options, and its checksum. */
function randomHeader(r: () => number, optWords: number, ttl = -1): Uint8Array {
  const hlen = 20 + optWords * 4;
  const b = new Uint8Array(hlen + 8);
  for (let i = 0; i < b.length; i++) b[i] = Math.floor(r() * 256);
  b[0] = 0x40 | (hlen >>> 2);
  b[2] = 0;
  b[3] = b.length;
  if (ttl >= 0) b[8] = ttl;
  b[10] = 0;
  b[11] = 0;
  const c = checksum(b, 0, hlen);
  b[10] = c >>> 8;
  b[11] = c & 0xff;
  return b;
}

function recomputed(b: Uint8Array, hlen: number): number {
  const c = b.slice(0, hlen);
  c[10] = 0;
  c[11] = 0;
  return checksum(c, 0, hlen);
}

test('the classic header: fields, lengths, checksum 0xb861', () => {
  const b = classic();
  const v = new Ipv4View();
  assert.equal(v.reset(b, 0, b.length), OK);
  assert.equal(v.headerLength, 20);
  assert.equal(v.length, 0x73);
  assert.equal(v.payloadOffset, 20);
  assert.equal(v.payloadLength, 0x73 - 20);
  assert.equal(v.hasOptions, false);
  assert.equal(v.ttl, 64);
  assert.equal(v.protocol, 17);
  assert.equal(v.saddr, 0xc0a80001);
  assert.equal(v.daddr, 0xc0a800c7);
  assert.equal(v.checksum, 0xb861);
  assert.equal(v.checksumValid(), true);
  assert.equal(v.dontFragment, true);
  assert.equal(v.isFragment, false);
  assert.equal(v.fragmentReason, OK);
});

test('fixtures: protocol and addresses of every IPv4 frame; Ethernet padding is not payload', () => {
  const v = new Ipv4View();
  for (const f of WIRE_FIXTURES.filter((x) => x.ethertype === 0x0800)) {
    const frame = fixtureFrame(f);
    const l3 = f.name.startsWith('802.1Q') ? 18 : 14;
    const padded = new Uint8Array(frame.length + 30); // as if padded to a minimum frame
    padded.set(frame);
    assert.equal(v.reset(padded, l3, padded.length - l3), OK, f.name);
    assert.equal(v.protocol, f.proto, f.name);
    assert.equal(v.length, frame.length - l3, f.name);
    assert.equal(v.checksumValid(), true, f.name);
  }
});

test('bad version, bad IHL, bad total length', () => {
  const v = new Ipv4View();
  for (const ver of [0, 1, 5, 6, 15]) {
    const b = classic();
    b[0] = (ver << 4) | 5;
    assert.equal(v.reset(b, 0, b.length), BAD_VERSION, `version ${ver}`);
  }
  for (const ihl of [0, 1, 4]) {
    const b = classic();
    b[0] = 0x40 | ihl;
    assert.equal(v.reset(b, 0, b.length), BAD_IHL, `ihl ${ihl}`);
  }
  {
    const b = classic();
    b[0] = 0x4f; // IHL 15 = 60 bytes: fits in 115, but then total length 115 >= 60 is fine
    assert.equal(v.reset(b, 0, b.length), OK);
    assert.equal(v.reset(b, 0, 59), TRUNCATED, 'IHL beyond len');
  }
  for (const tot of [0, 1, 19]) {
    const b = classic();
    b[2] = 0;
    b[3] = tot;
    assert.equal(v.reset(b, 0, b.length), BAD_TOTAL_LENGTH, `total ${tot}`);
  }
  {
    const b = classic();
    b[0] = 0x46;
    b[2] = 0;
    b[3] = 22; // total length inside the 24-byte header
    assert.equal(v.reset(b, 0, b.length), BAD_TOTAL_LENGTH);
  }
  {
    const b = classic();
    assert.equal(v.reset(b, 0, 0x72), TRUNCATED, 'total length beyond len');
  }
});

test('every truncation of a valid datagram is TRUNCATED and never throws', () => {
  const v = new Ipv4View();
  const withOpts = randomHeader(rng(9), 3);
  for (const b of [classic(), withOpts]) {
    for (let len = 0; len < b.length; len++) assert.equal(v.reset(b, 0, len), TRUNCATED, `len ${len}`);
    assert.equal(v.reset(b, 0, b.length), OK);
  }
});

test('fragments are flagged, not refused: MF, offset, both; DF alone is not a fragment', () => {
  const v = new Ipv4View();
  const cases: [number, boolean, number][] = [
    [IPV4_DF, false, 0], [IPV4_MF, true, 0], [0x0001, true, 8], [IPV4_MF | 0x00b9, true, 0xb9 * 8], [0x1fff, true, 0x1fff * 8],
  ];
  for (const [word, frag, off] of cases) {
    const b = classic();
    b[6] = word >>> 8;
    b[7] = word & 0xff;
    assert.equal(v.reset(b, 0, b.length), OK);
    assert.equal(v.isFragment, frag, `flags ${word.toString(16)}`);
    assert.equal(v.fragmentOffset, off);
    assert.equal(v.fragmentReason, frag ? FRAGMENT : OK);
    assert.deepEqual(parseIpv4(b, 0, b.length), frag ? FRAGMENT : { ...(parseIpv4(classic(), 0, 0x73) as object), dontFragment: word === IPV4_DF });
  }
});

test('options: IHL 6 with Router Alert; payload starts after them', () => {
  // IGMPv2 report to 224.0.0.22 with Router Alert (94 04 00 00), the usual optioned packet.
  const b = hex('4600 0020 0000 4000 0102 0000 c000 0201 e000 0016 9404 0000' + '1600 0000 e000 0016');
  const c = checksum(b, 0, 24);
  b[10] = c >>> 8;
  b[11] = c & 0xff;
  const v = new Ipv4View();
  assert.equal(v.reset(b, 0, b.length), OK);
  assert.equal(v.hasOptions, true);
  assert.equal(v.headerLength, 24);
  assert.equal(v.payloadOffset, 24);
  assert.equal(v.payloadLength, 8);
  assert.equal(v.protocol, 2);
  assert.equal(v.checksumValid(), true);
  v.decrementTtl();
  assert.equal(v.ttl, 0);
  assert.equal(v.checksum, recomputed(b, 24));
  assert.equal(v.checksumValid(), true);
});

test('decrementTtl(): incremental checksum equals a full recompute on 10000 random headers (with options too)', () => {
  const r = rng(10);
  const v = new Ipv4View();
  for (let n = 0; n < 10000; n++) {
    const opt = n % 11;
    const b = randomHeader(r, opt, n < 256 ? n : -1);
    assert.equal(v.reset(b, 0, b.length), OK);
    const before = v.ttl;
    const after = v.decrementTtl();
    if (before === 0) {
      assert.equal(after, 0);
      assert.equal(v.ttl, 0, 'TTL 0 left alone');
    } else {
      assert.equal(after, before - 1);
      assert.equal(v.ttl, before - 1);
    }
    assert.equal(v.checksum, recomputed(b, v.headerLength), `n=${n} ${toHex(b)}`);
    assert.equal(v.checksumValid(), true);
  }
});

test('saddr/daddr setters and setTos(): incremental checksum equals a full recompute', () => {
  const r = rng(11);
  const v = new Ipv4View();
  for (let n = 0; n < 10000; n++) {
    const b = randomHeader(r, n % 3);
    assert.equal(v.reset(b, 0, b.length), OK);
    const a = n === 0 ? 0 : n === 1 ? 0xffffffff : Math.floor(r() * 2 ** 32);
    switch (n % 3) {
      case 0: v.daddr = a; assert.equal(v.daddr, a >>> 0); break;
      case 1: v.saddr = a; assert.equal(v.saddr, a >>> 0); break;
      default: v.setTos(a & 0xff); assert.equal(v.tos, a & 0xff);
    }
    assert.equal(v.checksum, recomputed(b, v.headerLength), `n=${n}`);
  }
  // Setters take signed int32s too (what `|` arithmetic yields).
  const b = classic();
  v.reset(b, 0, b.length);
  v.daddr = 0xc0000264 | 0;
  assert.equal(v.daddr, 0xc0000264);
  assert.equal(v.checksum, recomputed(b, 20));
});

test('swapAddresses() keeps the checksum; recomputeChecksum() fixes a broken one', () => {
  const b = classic();
  const v = new Ipv4View();
  v.reset(b, 0, b.length);
  v.swapAddresses();
  assert.equal(v.saddr, 0xc0a800c7);
  assert.equal(v.daddr, 0xc0a80001);
  assert.equal(v.checksumValid(), true);
  b[10] ^= 0x55;
  assert.equal(v.checksumValid(), false);
  v.ttl = 1;
  v.recomputeChecksum();
  assert.equal(v.checksumValid(), true);
});

test('resetQuoted(): a header quoted in an ICMP error may claim more than is present', () => {
  const b = classic();
  const v = new Ipv4View();
  assert.equal(v.reset(b, 0, 28), TRUNCATED);
  assert.equal(v.resetQuoted(b, 0, 28), OK);
  assert.equal(v.length, 28);
  assert.equal(v.payloadLength, 8);
  assert.equal(v.daddr, 0xc0a800c7);
  assert.equal(v.resetQuoted(b, 0, 19), TRUNCATED);
  b[0] = 0x44;
  assert.equal(v.resetQuoted(b, 0, 28), BAD_IHL);
});

test('construct: writeIpv4Header / emitIpv4 reproduce the classic header; Repr round trip', () => {
  const out = new Uint8Array(20);
  writeIpv4Header(out, 0, 0, 0x73, 0, IPV4_DF, 64, 17, 0xc0a80001, 0xc0a800c7);
  assert.equal(toHex(out), toHex(hex(IPV4_HEADER_CLASSIC)));
  const r = parseIpv4(classic(), 0, 0x73);
  assert.ok(typeof r !== 'number');
  assert.deepEqual(r, { src: 0xc0a80001, dst: 0xc0a800c7, protocol: 17, payloadLen: 95, ttl: 64, tos: 0, ident: 0, dontFragment: true });
  const out2 = new Uint8Array(20);
  assert.equal(emitIpv4(r, out2, 0), 20);
  assert.equal(toHex(out2), toHex(hex(IPV4_HEADER_CLASSIC)));
  assert.equal(parseIpv4(new Uint8Array(5), 0, 5), TRUNCATED);
});
