// src/wire/checksum.ts: RFC 1071 sums against known values and a naive reference, RFC 1624
// incremental updates against full recomputes on many random headers, pseudo-header
// checksums against frames the Linux kernel built, and CHECKSUM_PARTIAL completion.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checksum, completePartialChecksum, csumDecTtl, csumReplace, csumReplace16, csumReplace32, fold, l4Checksum4,
  l4Checksum6, pseudoSum4, pseudoSum6, sum16, sum32,
} from '../../src/wire/checksum';
import { OK, TRUNCATED } from '../../src/wire/errors';
import { IPV4_HEADER_CLASSIC, RFC1071_BYTES, WIRE_FIXTURES, fixtureFrame, hex } from '../../src/wire/fixtures';
import { mulberry32 as rng } from '../fixtures/prng';

/** The textbook algorithm, word by word, folding at the end: the reference. */
function naiveSum(b: Uint8Array, off: number, len: number): number {
  let s = 0;
  for (let i = 0; i < len; i += 2) s += (b[off + i] << 8) | (i + 1 < len ? b[off + i + 1] : 0);
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}


function randomIpv4Header(r: () => number): Uint8Array {
  const h = new Uint8Array(20);
  for (let i = 0; i < 20; i++) h[i] = Math.floor(r() * 256);
  h[0] = 0x45;
  h[10] = 0;
  h[11] = 0;
  const c = checksum(h, 0, 20);
  h[10] = c >>> 8;
  h[11] = c & 0xff;
  return h;
}

test('RFC 1071 section 3 example: sum 0xddf2, checksum 0x220d', () => {
  const b = hex(RFC1071_BYTES);
  assert.equal(sum16(b, 0, b.length, 0), 0xddf2);
  assert.equal(checksum(b, 0, b.length), 0x220d);
});

test('the classic IPv4 header: checksum 0xb861, and the header with it sums to 0xffff', () => {
  const h = hex(IPV4_HEADER_CLASSIC);
  assert.equal(sum16(h, 0, 20, 0), 0xffff);
  h[10] = 0;
  h[11] = 0;
  assert.equal(checksum(h, 0, 20), 0xb861);
});

test('sum16 equals the naive sum for odd/even lengths, offsets, seeds and > 16 KiB ranges', () => {
  const r = rng(1);
  const b = new Uint8Array(70000);
  for (let i = 0; i < b.length; i++) b[i] = Math.floor(r() * 256);
  for (const len of [0, 1, 2, 3, 19, 20, 1499, 1500, 16383, 16384, 16385, 32769, 65535, 69999]) {
    for (const off of [0, 1]) {
      if (off + len > b.length) continue;
      assert.equal(sum16(b, off, len, 0), naiveSum(b, off, len), `len ${len} off ${off}`);
    }
  }
  const all = new Uint8Array(65536).fill(0xff);
  assert.equal(sum16(all, 0, all.length, 0), 0xffff);
  assert.equal(sum16(b, 0, 100, 0x1234), fold(naiveSum(b, 0, 100) + 0x1234));
  assert.equal(sum32(0xc0a80001), fold(0xc0a8 + 0x0001));
});

test('TTL decrement: incremental checksum equals a full recompute on 20000 random headers', () => {
  const r = rng(2);
  for (let n = 0; n < 20000; n++) {
    const h = randomIpv4Header(r);
    if (n < 256) h[8] = n; // every TTL value, 0 excepted below
    if (h[8] === 0) h[8] = 1;
    h[10] = 0;
    h[11] = 0;
    const c = checksum(h, 0, 20);
    const inc = csumDecTtl(c);
    h[8] -= 1;
    assert.equal(inc, checksum(h, 0, 20), `header ${Buffer.from(h).toString('hex')}`);
  }
});

test('RFC 1624: a 16-bit field change, incrementally, equals a full recompute (random headers, every word)', () => {
  const r = rng(3);
  for (let n = 0; n < 20000; n++) {
    const h = randomIpv4Header(r);
    const at = 2 * Math.floor(r() * 10);
    if (at === 10) continue; // the checksum word itself
    const old = (h[at] << 8) | h[at + 1];
    const nu = n < 4 ? [0, 0xffff, old, old ^ 0xffff][n] : Math.floor(r() * 65536);
    const c = (h[10] << 8) | h[11];
    h[at] = nu >>> 8;
    h[at + 1] = nu & 0xff;
    h[10] = 0;
    h[11] = 0;
    assert.equal(csumReplace16(c, old, nu), checksum(h, 0, 20));
  }
});

test('RFC 1624: 32-bit (address) and multi-word changes equal a full recompute', () => {
  const r = rng(4);
  for (let n = 0; n < 20000; n++) {
    const h = randomIpv4Header(r);
    const at = r() < 0.5 ? 12 : 16;
    const old = ((h[at] << 24) | (h[at + 1] << 16) | (h[at + 2] << 8) | h[at + 3]) >>> 0;
    const nu = n === 0 ? 0 : n === 1 ? 0xffffffff : Math.floor(r() * 2 ** 32);
    const c = (h[10] << 8) | h[11];
    const oldSum = sum16(h, 12, 8, 0);
    h[at] = nu >>> 24;
    h[at + 1] = (nu >>> 16) & 0xff;
    h[at + 2] = (nu >>> 8) & 0xff;
    h[at + 3] = nu & 0xff;
    const viaRange = csumReplace(c, oldSum, sum16(h, 12, 8, 0));
    h[10] = 0;
    h[11] = 0;
    const full = checksum(h, 0, 20);
    assert.equal(csumReplace32(c, old, nu), full);
    assert.equal(viaRange, full);
  }
});

test('pseudo-header checksum reproduces the kernel-built TCP RST checksum 0x5e5c', () => {
  const rst4 = fixtureFrame(WIRE_FIXTURES[1]);
  const l4 = 14 + 20;
  assert.equal((rst4[l4 + 16] << 8) | rst4[l4 + 17], 0x5e5c);
  rst4[l4 + 16] = 0;
  rst4[l4 + 17] = 0;
  assert.equal(l4Checksum4(rst4, l4, 20, 6, 0x7f000001, 0x7f000001), 0x5e5c);
});

test('IPv6 pseudo-header checksum reproduces the kernel-built ICMPv6 checksum 0xaf97', () => {
  const f = WIRE_FIXTURES.find((x) => x.proto === 58);
  assert.ok(f);
  const b = fixtureFrame(f);
  const l4 = 14 + 40;
  assert.equal((b[l4 + 2] << 8) | b[l4 + 3], 0xaf97);
  b[l4 + 2] = 0;
  b[l4 + 3] = 0;
  assert.equal(l4Checksum6(b, l4, b.length - l4, 58, 14 + 8, 14 + 24), 0xaf97);
});

test('CHECKSUM_PARTIAL: the lo captures hold the pseudo-header sum, and completion makes them verify', () => {
  const cases = [
    { f: WIRE_FIXTURES[0], ip: 4, csumOff: 16 },
    { f: WIRE_FIXTURES[2], ip: 4, csumOff: 6 },
    { f: WIRE_FIXTURES[6], ip: 6, csumOff: 16 },
    { f: WIRE_FIXTURES[7], ip: 6, csumOff: 16 },
    { f: WIRE_FIXTURES[8], ip: 6, csumOff: 6 },
  ];
  for (const { f, ip, csumOff } of cases) {
    assert.ok(f.partial, f.name);
    const b = fixtureFrame(f);
    const l4 = 14 + (ip === 4 ? 20 : 40);
    const l4len = b.length - l4;
    const field = (b[l4 + csumOff] << 8) | b[l4 + csumOff + 1];
    const pseudo = ip === 4 ? pseudoSum4(0x7f000001, 0x7f000001, f.proto, l4len) : pseudoSum6(b, 14 + 8, 14 + 24, f.proto, l4len);
    assert.equal(field, pseudo, `${f.name}: field holds the pseudo-header sum`);
    assert.equal(completePartialChecksum(b, 0, b.length, l4, csumOff), OK);
    const seed = ip === 4 ? pseudoSum4(0x7f000001, 0x7f000001, f.proto, l4len) : pseudoSum6(b, 14 + 8, 14 + 24, f.proto, l4len);
    assert.equal(sum16(b, l4, l4len, seed), 0xffff, `${f.name}: verifies after completion`);
    // The same as computing it from scratch.
    const got = (b[l4 + csumOff] << 8) | b[l4 + csumOff + 1];
    b[l4 + csumOff] = 0;
    b[l4 + csumOff + 1] = 0;
    const full = ip === 4 ? l4Checksum4(b, l4, l4len, f.proto, 0x7f000001, 0x7f000001) : l4Checksum6(b, l4, l4len, f.proto, 14 + 8, 14 + 24);
    assert.equal(got, full || 0xffff);
  }
});

test('CHECKSUM_PARTIAL completion on random segments equals a full computation; offsets relative to off', () => {
  const r = rng(5);
  for (let n = 0; n < 2000; n++) {
    const len = 20 + Math.floor(r() * 200);
    const pad = Math.floor(r() * 8);
    const b = new Uint8Array(pad + len);
    for (let i = pad; i < b.length; i++) b[i] = Math.floor(r() * 256);
    const saddr = Math.floor(r() * 2 ** 32), daddr = Math.floor(r() * 2 ** 32);
    b[pad + 16] = 0;
    b[pad + 17] = 0;
    const full = l4Checksum4(b, pad, len, 6, saddr, daddr);
    const ps = pseudoSum4(saddr, daddr, 6, len);
    b[pad + 16] = ps >>> 8;
    b[pad + 17] = ps & 0xff;
    assert.equal(completePartialChecksum(b, pad, len, 0, 16), OK);
    assert.equal((b[pad + 16] << 8) | b[pad + 17], full === 0 ? 0xffff : full);
  }
});

test('CHECKSUM_PARTIAL completion refuses a field outside the range and writes nothing', () => {
  const b = new Uint8Array(40).fill(7);
  const before = Buffer.from(b).toString('hex');
  assert.equal(completePartialChecksum(b, 0, 40, 30, 9), TRUNCATED);
  assert.equal(completePartialChecksum(b, 0, 40, -1, 0), TRUNCATED);
  assert.equal(completePartialChecksum(b, 10, 40, 0, 16), TRUNCATED); // off + len beyond buffer
  assert.equal(Buffer.from(b).toString('hex'), before);
});
