// src/wire/ethernet.ts and mac.ts on byte fixtures: parse, 802.1Q, construct, truncation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OK, TRUNCATED } from '../../src/wire/errors';
import {
  ETH_HEADER_LEN, ETH_VLAN_HEADER_LEN, ETHERTYPE_IPV4, EthernetView, emitEthernet, parseEthernet, writeEthernetHeader,
} from '../../src/wire/ethernet';
import { WIRE_FIXTURES, fixtureFrame, hex, toHex } from '../../src/wire/fixtures';
import {
  fillBroadcastMac, formatMac, isBroadcastMac, isMulticastMac, isZeroMac, macEquals, parseMac, parseMacInto, swapMacs, writeMac,
} from '../../src/wire/mac';

test('every fixture: ethertype and L3 offset', () => {
  const v = new EthernetView();
  for (const f of WIRE_FIXTURES) {
    const b = fixtureFrame(f);
    assert.equal(v.reset(b, 0, b.length), OK, f.name);
    assert.equal(v.ethertype, f.ethertype, f.name);
    assert.equal(v.l3Offset, v.hasVlan ? 18 : 14, f.name);
    assert.equal(v.l3Length, b.length - v.l3Offset, f.name);
  }
});

test('802.1Q: VLAN 100, PCP 5; the view reports the inner ethertype and an L3 offset of 18', () => {
  const f = WIRE_FIXTURES.find((x) => x.name.startsWith('802.1Q'));
  assert.ok(f);
  const b = fixtureFrame(f);
  const v = new EthernetView();
  assert.equal(v.reset(b, 0, b.length), OK);
  assert.equal(v.hasVlan, true);
  assert.equal(v.outerEthertype, 0x8100);
  assert.equal(v.ethertype, ETHERTYPE_IPV4);
  assert.equal(v.vlanId, 100);
  assert.equal(v.vlanPcp, 5);
  assert.equal(v.headerLength, ETH_VLAN_HEADER_LEN);
  assert.equal(v.l3Offset, 18);
  assert.equal(formatMac(b, v.dstOffset), '02:00:00:00:00:01');
  assert.equal(formatMac(b, v.srcOffset), '02:00:00:00:00:02');
  // Tagged but cut inside the tag: truncated, not misread as untagged.
  for (let len = ETH_HEADER_LEN; len < ETH_VLAN_HEADER_LEN; len++) assert.equal(v.reset(b, 0, len), TRUNCATED);
  // QinQ outer TPID is accepted as the single tag as well.
  b[12] = 0x88;
  b[13] = 0xa8;
  assert.equal(v.reset(b, 0, b.length), OK);
  assert.equal(v.ethertype, ETHERTYPE_IPV4);
});

test('offsets are absolute: a frame at an odd offset inside a larger buffer', () => {
  const f = fixtureFrame(WIRE_FIXTURES[0]);
  const ring = new Uint8Array(4096);
  ring.set(f, 1001);
  const v = new EthernetView();
  assert.equal(v.reset(ring, 1001, f.length), OK);
  assert.equal(v.l3Offset, 1015);
  assert.equal(v.dstOffset, 1001);
  assert.equal(v.srcOffset, 1007);
  assert.equal(v.reset(ring, 4000, 200), TRUNCATED, 'window past the end of the buffer');
  assert.equal(v.reset(ring, -1, 60), TRUNCATED);
});

test('every truncation below 14 bytes is TRUNCATED; a failed view reads zeros and never writes the frame', () => {
  const b = fixtureFrame(WIRE_FIXTURES[0]);
  const copy = b.slice();
  const v = new EthernetView();
  for (let len = 0; len < ETH_HEADER_LEN; len++) {
    assert.equal(v.reset(b, 0, len), TRUNCATED);
    assert.equal(v.ethertype, 0);
    v.ethertype = 0x1234;
    v.setDst(hex('ffffffffffff'), 0);
    v.swapMacs();
  }
  assert.deepEqual(b, copy);
  assert.equal(v.reset(b, 0, 3), TRUNCATED);
  assert.equal(v.ethertype, 0, 'the next failed reset reads zeros again');
});

test('DR rewrite: set destination (real server) and source (us) MACs in place', () => {
  const b = fixtureFrame(WIRE_FIXTURES.find((x) => x.name.startsWith('802.1Q')) ?? WIRE_FIXTURES[0]);
  const macs = hex('020000000001 0a0b0c0d0e0f 665544332211'); // a flat MAC table
  const v = new EthernetView();
  assert.equal(v.reset(b, 0, b.length), OK);
  v.setDst(macs, 6);
  v.setSrc(macs, 12);
  assert.equal(formatMac(b, 0), '0a:0b:0c:0d:0e:0f');
  assert.equal(formatMac(b, 6), '66:55:44:33:22:11');
  v.swapMacs();
  assert.equal(formatMac(b, 0), '66:55:44:33:22:11');
  assert.equal(v.ethertype, ETHERTYPE_IPV4, 'tag untouched');
});

test('Repr: parse and emit round trip, tagged and untagged', () => {
  for (const f of WIRE_FIXTURES) {
    const b = fixtureFrame(f);
    const r = parseEthernet(b, 0, b.length);
    assert.ok(typeof r !== 'number');
    const out = new Uint8Array(18);
    const n = emitEthernet(r, out, 0);
    assert.equal(toHex(out, 0, n), toHex(b, 0, n), f.name);
  }
  assert.equal(parseEthernet(new Uint8Array(10), 0, 10), TRUNCATED);
  const h = new Uint8Array(14);
  writeEthernetHeader(h, 0, hex('ffffffffffff'), 0, hex('020000000002'), 0, 0x0806);
  assert.equal(toHex(h), 'ffffffffffff0200000000020806');
});

test('mac.ts: parse and format text, compare and classify in place', () => {
  const m = parseMac('02:AB:cd:00:10:ff');
  assert.ok(m);
  assert.equal(formatMac(m), '02:ab:cd:00:10:ff');
  assert.equal(formatMac(parseMac('02-ab-cd-00-10-ff') ?? new Uint8Array(6)), '02:ab:cd:00:10:ff');
  for (const bad of ['', '02:ab:cd:00:10', '02:ab:cd:00:10:fg', '02:ab-cd:00:10:ff', '02:ab:cd:00:10:ff:', '0:ab:cd:00:10:ff1']) {
    assert.equal(parseMac(bad), null, bad);
  }
  const table = new Uint8Array(18);
  assert.equal(parseMacInto('02:ab:cd:00:10:ff', table, 6), true);
  assert.equal(macEquals(table, 6, m, 0), true);
  assert.equal(macEquals(table, 0, m, 0), false);
  writeMac(table, 12, table, 6);
  assert.equal(macEquals(table, 12, m, 0), true);
  assert.equal(isZeroMac(table, 0), true);
  fillBroadcastMac(table, 0);
  assert.equal(isBroadcastMac(table, 0), true);
  assert.equal(isMulticastMac(table, 0), true);
  assert.equal(isMulticastMac(m, 0), false);
  assert.equal(isMulticastMac(hex('01005e000001'), 0), true);
  swapMacs(table, 0, 6);
  assert.equal(formatMac(table, 0), '02:ab:cd:00:10:ff');
  assert.equal(formatMac(table, 6), 'ff:ff:ff:ff:ff:ff');
});
