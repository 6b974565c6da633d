// src/wire/arp.ts on byte fixtures: parse, answer a request in place, gratuitous ARP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ARP_LEN, ARP_OP_REPLY, ARP_OP_REQUEST, ArpView, arpReply, buildArpFrame, emitArp, gratuitousArp, parseArp } from '../../src/wire/arp';
import { OK, TRUNCATED, UNSUPPORTED } from '../../src/wire/errors';
import { EthernetView } from '../../src/wire/ethernet';
import { WIRE_FIXTURES, fixtureFrame, hex, toHex } from '../../src/wire/fixtures';
import { formatMac } from '../../src/wire/mac';

const VIP = 0xc0000264; // 192.0.2.100
const OUR_MAC = hex('0242ac110002');
const request = () => fixtureFrame(WIRE_FIXTURES.find((f) => f.ethertype === 0x0806) ?? WIRE_FIXTURES[0]);

test('parse the who-has fixture', () => {
  const b = request();
  const v = new ArpView();
  assert.equal(v.reset(b, 14, b.length - 14), OK);
  assert.equal(v.operation, ARP_OP_REQUEST);
  assert.equal(v.spa, 0xc0000201);
  assert.equal(v.tpa, VIP);
  assert.equal(formatMac(b, v.senderMacOffset), '02:00:00:00:00:02');
  assert.equal(v.isGratuitous, false);
});

test('answer in place: the reply equals the one built from the Repr, byte for byte', () => {
  const b = request();
  const eth = new EthernetView();
  const arp = new ArpView();
  assert.equal(eth.reset(b, 0, b.length), OK);
  assert.equal(arp.reset(b, eth.l3Offset, eth.l3Length), OK);
  const req = parseArp(b, 14, 28);
  assert.ok(typeof req !== 'number');
  // in place: ARP, then Ethernet (dst <- requester, src <- us)
  arp.toReply(OUR_MAC, 0);
  eth.swapMacs();
  eth.setSrc(OUR_MAC, 0);
  const built = buildArpFrame(arpReply(req, OUR_MAC), req.senderMac);
  assert.equal(toHex(b), toHex(built));
  assert.equal(toHex(b),
    '020000000002' + '0242ac110002' + '0806' + '0001080006040002' + '0242ac110002' + 'c0000264' + '020000000002' + 'c0000201');
  assert.equal(arp.operation, ARP_OP_REPLY);
});

test('gratuitous ARP: broadcast request, sender = target = VIP, zero target MAC', () => {
  const g = buildArpFrame(gratuitousArp(OUR_MAC, VIP));
  assert.equal(toHex(g),
    'ffffffffffff' + '0242ac110002' + '0806' + '0001080006040001' + '0242ac110002' + 'c0000264' + '000000000000' + 'c0000264');
  const v = new ArpView();
  assert.equal(v.reset(g, 14, 28), OK);
  assert.equal(v.isGratuitous, true);
});

test('truncated and unsupported ARP', () => {
  const b = request();
  const v = new ArpView();
  for (let len = 0; len < ARP_LEN; len++) assert.equal(v.reset(b, 14, len), TRUNCATED);
  for (const [at, val] of [[1, 6], [2, 0x86], [4, 8], [5, 16]]) {
    const c = b.slice();
    c[14 + at] = val;
    assert.equal(v.reset(c, 14, 28), UNSUPPORTED, `byte ${at}`);
    assert.equal(v.tpa, 0, 'a failed view reads zeros');
  }
  const r = parseArp(b, 14, 28);
  assert.ok(typeof r !== 'number');
  const out = new Uint8Array(28);
  assert.equal(emitArp(r, out, 0), 28);
  assert.equal(toHex(out), toHex(b, 14, 28));
});
