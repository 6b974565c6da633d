// Every truncation of every fixture gives a drop reason through the layered parse, and a
// small fuzz: thousands of random and mutated frames through every view's reset() and
// accessors (and the setters, and the Repr parsers) must never throw; a failed reset()
// leaves the view on the scratch buffer; a successful one keeps its ranges in the window.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ArpView, parseArp } from '../../src/wire/arp';
import { completePartialChecksum } from '../../src/wire/checksum';
import { OK, TRUNCATED, dropClass, wireReasonName } from '../../src/wire/errors';
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6, EthernetView, parseEthernet } from '../../src/wire/ethernet';
import { WIRE_FIXTURES, fixtureFrame } from '../../src/wire/fixtures';
import { IcmpView, icmpv4ErrorAllowed, parseIcmpv4 } from '../../src/wire/icmp';
import { Ipv4View, parseIpv4 } from '../../src/wire/ipv4';
import { Ipv6View, parseIpv6 } from '../../src/wire/ipv6';
import { SCRATCH } from '../../src/wire/scratch';
import { TcpView, parseTcp } from '../../src/wire/tcp';
import { UdpView, parseUdp } from '../../src/wire/udp';
import { DROP_LAST } from '../../src/core/drops';
import { mulberry32 as rng } from '../fixtures/prng';

const eth = new EthernetView(), arp = new ArpView(), ip4 = new Ipv4View(), ip6 = new Ipv6View();
const tcp = new TcpView(), udp = new UdpView(), icmp = new IcmpView();
const MAC = new Uint8Array([2, 0, 0, 0, 0, 9]);

/** The pipeline's parse, layer by layer: 0 or the first drop reason. */
function parse(b: Uint8Array, off: number, len: number): number {
  let r = eth.reset(b, off, len);
  if (r !== OK) return r;
  const t = eth.ethertype;
  if (t === ETHERTYPE_ARP) return arp.reset(b, eth.l3Offset, eth.l3Length);
  let proto: number, l4: number, l4len: number;
  if (t === ETHERTYPE_IPV4) {
    r = ip4.reset(b, eth.l3Offset, eth.l3Length);
    if (r !== OK) return r;
    if (ip4.fragmentOffset !== 0) return OK;
    proto = ip4.protocol;
    l4 = ip4.payloadOffset;
    l4len = ip4.payloadLength;
  } else if (t === ETHERTYPE_IPV6) {
    r = ip6.reset(b, eth.l3Offset, eth.l3Length);
    if (r !== OK) return r;
    proto = ip6.protocol;
    l4 = ip6.payloadOffset;
    l4len = ip6.payloadLength;
  } else {
    return OK;
  }
  if (proto === 6) return tcp.reset(b, l4, l4len);
  if (proto === 17) return udp.reset(b, l4, l4len);
  if (proto === 1 || proto === 58) return icmp.reset(b, l4, l4len);
  return OK;
}


/** Reads every getter of a view (found on its prototype), returning them to keep them live. */
function readAll(view: object): unknown[] {
  const out: unknown[] = [];
  const proto = Object.getPrototypeOf(view) as object;
  for (const name of Object.getOwnPropertyNames(proto)) {
    const d = Object.getOwnPropertyDescriptor(proto, name);
    if (d?.get) out.push(d.get.call(view));
  }
  return out;
}

function exercise(b: Uint8Array, off: number, len: number, r: () => number): void {
  const reasons = [
    eth.reset(b, off, len), arp.reset(b, off, len), ip4.reset(b, off, len), ip6.reset(b, off, len),
    tcp.reset(b, off, len), udp.reset(b, off, len), icmp.reset(b, off, len),
  ];
  const views: object[] = [eth, arp, ip4, ip6, tcp, udp, icmp];
  views.forEach((v, i) => {
    const buffer = (v as { buffer: Uint8Array }).buffer;
    if (reasons[i] === OK) {
      assert.equal(buffer, b);
    } else {
      assert.equal(buffer, SCRATCH, `${v.constructor.name} failed with ${wireReasonName(reasons[i])} but kept the frame`);
      assert.ok(dropClass(reasons[i]) > 0 && dropClass(reasons[i]) < DROP_LAST);
    }
    readAll(v);
  });
  if (reasons[2] === OK) {
    assert.ok(ip4.payloadOffset + ip4.payloadLength <= off + len && ip4.payloadLength >= 0);
    icmpv4ErrorAllowed(ip4);
    ip4.resetQuoted(b, off, len);
  }
  if (reasons[3] === OK) assert.ok(ip6.payloadOffset + ip6.payloadLength <= off + len && ip6.payloadLength >= 0);
  if (reasons[4] === OK) assert.ok(tcp.payloadOffset + tcp.payloadLength <= off + len && tcp.payloadLength >= 0);
  if (reasons[5] === OK) assert.ok(udp.payloadOffset + udp.payloadLength <= off + len && udp.payloadLength >= 0);
  // Setters and methods, on valid and on failed views alike.
  const copy = b.slice();
  const word = Math.floor(r() * 2 ** 32);
  eth.setDst(MAC, 0);
  eth.swapMacs();
  arp.toReply(MAC, 0);
  ip4.decrementTtl();
  ip4.daddr = word;
  ip4.saddr = word ^ 0x55;
  ip4.setTos(word & 0xff);
  ip4.recomputeChecksum();
  ip4.checksumValid();
  ip6.decrementHopLimit();
  ip6.setDst32(word & 7, word);
  ip6.swapAddresses();
  tcp.natDport(word & 0xffff);
  tcp.natAddr4(word, ~word);
  tcp.natAddr6(b, 0, MAC, 0);
  tcp.checksumValid4(word, word);
  tcp.fillChecksum6(b, 0, 0);
  udp.natSport(word & 0xffff);
  udp.natAddr4(word, word >>> 1);
  udp.fillChecksum4(word, word);
  udp.checksumValid6(b, 0, 0);
  icmp.toEchoReply();
  icmp.fillChecksum();
  icmp.checksumValid();
  b.set(copy);
  // The Repr parsers return a reason, never throw.
  for (const p of [parseEthernet, parseArp, parseIpv4, parseIpv6, parseTcp, parseUdp, parseIcmpv4]) p(b, off, len);
  completePartialChecksum(b, off, len, Math.floor(r() * 80) - 4, Math.floor(r() * 24));
  parse(b, off, len);
}

test('every truncation of every fixture: a drop reason (TRUNCATED) from some layer, never an exception', () => {
  for (const f of WIRE_FIXTURES) {
    const b = fixtureFrame(f);
    assert.equal(parse(b, 0, b.length), OK, f.name);
    for (let len = 0; len < b.length; len++) {
      assert.equal(parse(b, 0, len), TRUNCATED, `${f.name}: cut to ${len}`);
      assert.equal(parse(b.slice(0, len), 0, len), TRUNCATED, `${f.name}: buffer of ${len}`);
    }
  }
});

test('fuzz: 30000 random and mutated frames through every view; no exception, invariants hold', () => {
  const r = rng(0xf022);
  const seeds = WIRE_FIXTURES.map(fixtureFrame);
  const interesting = [0x00, 0xff, 0x45, 0x46, 0x4f, 0x60, 0x81, 0x08, 0x06, 0x86, 0xdd, 0x2c, 0x3c, 0x2b, 0x33, 0x06, 0x11, 0x01, 0x3a, 0x50, 0xf0];
  for (let n = 0; n < 30000; n++) {
    let b: Uint8Array;
    if (n % 4 === 0) {
      b = new Uint8Array(Math.floor(r() * 160));
      for (let i = 0; i < b.length; i++) b[i] = Math.floor(r() * 256);
    } else {
      const s = seeds[n % seeds.length];
      b = new Uint8Array(s.length + Math.floor(r() * 16));
      b.set(s);
      const flips = 1 + Math.floor(r() * 4);
      for (let k = 0; k < flips; k++) {
        const at = Math.floor(r() * b.length);
        b[at] = r() < 0.5 ? interesting[Math.floor(r() * interesting.length)] : Math.floor(r() * 256);
      }
    }
    // windows: whole, a random sub-range, and a few impossible ones
    const off = b.length ? Math.floor(r() * Math.min(b.length, 20)) : 0;
    const len = Math.floor(r() * (b.length - off + 1));
    exercise(b, 0, b.length, r);
    exercise(b, off, len, r);
    exercise(b, 14, b.length - 14, r);
    if (n % 50 === 0) {
      exercise(b, -1, 10, r);
      exercise(b, 0, b.length + 1, r);
      exercise(b, b.length, 0, r);
    }
  }
});

test('setters on a valid IPv4 header keep the header checksum valid (mutated fixtures)', () => {
  const r = rng(7);
  const v4 = WIRE_FIXTURES.filter((f) => f.ethertype === 0x0800).map(fixtureFrame);
  for (let n = 0; n < 5000; n++) {
    const s = v4[n % v4.length];
    const b = s.slice();
    const l3 = b[12] === 0x81 ? 18 : 14;
    // mutate fields that do not affect validity, then fix the checksum
    b[l3 + 1] = Math.floor(r() * 256);
    b[l3 + 4] = Math.floor(r() * 256);
    b[l3 + 8] = Math.floor(r() * 256);
    for (let i = 12; i < 20; i++) b[l3 + i] = Math.floor(r() * 256);
    assert.equal(ip4.reset(b, l3, b.length - l3), OK);
    ip4.recomputeChecksum();
    const w = Math.floor(r() * 2 ** 32);
    ip4.decrementTtl();
    ip4.daddr = w;
    ip4.saddr = ~w;
    ip4.setTos(w >>> 24);
    assert.equal(ip4.checksumValid(), true, `n=${n}`);
  }
});
