// src/ha/vrrp/packet.ts on hand-built bytes: VRRPv2 and VRRPv3 goldens (checksums worked
// out by hand in the comments), round trips, and every validation failure as its reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AUTH_NONE, AUTH_PASS, decodePacket, encodePacket, encodeVrrp, passAuthData, type Advert } from '../../src/ha/vrrp/packet';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+|#[^\n]*/g, ''), 'hex'));
const SRC = 0xc0000202; // 192.0.2.2
const GROUP = 0xe0000012; // 224.0.0.18
const VIP = 0xc0000264; // 192.0.2.100

// VRRPv2, VRID 51, priority 100, one address, no authentication, advert_int 1.
//   sum = 2133 + 6401 + 0001 + c000 + 0264 = 1_4799 -> fold 479a; checksum = ~479a = b865
const V2_GOLDEN = hex(`
  21      # version 2, type 1 (ADVERTISEMENT)
  33      # VRID 51
  64      # priority 100
  01      # count 1
  00      # auth type 0 (none)
  01      # advert interval 1 s
  b865    # checksum over the VRRP message
  c0000264 # 192.0.2.100
  0000000000000000 # authentication data (8 bytes, zero)
`);

// VRRPv3, VRID 51, priority 150, one address, max advert interval 100 cs,
// from 192.0.2.2 to 224.0.0.18. Pseudo-header: c000 0202 e000 0012 0070(proto 112) 000c(len 12)
//   pseudo sum  = c000+0202+e000+0012+0070+000c = 1_a290
//   message sum = 3133+9601+0064+c000+0264      = 1_89fc
//   total 3_2c8c -> fold 2c8f; checksum = ~2c8f = d370
const V3_GOLDEN = hex(`
  31      # version 3, type 1
  33      # VRID 51
  96      # priority 150
  01      # count 1
  0064    # 4 reserved bits 0, max advert interval 100 centiseconds
  d370    # checksum over pseudo-header + message
  c0000264 # 192.0.2.100
`);

const v2: Advert = { version: 2, vrid: 51, priority: 100, intervalCs: 100, addrs: [VIP], authType: AUTH_NONE, authData: new Uint8Array(8) };
const v3: Advert = { version: 3, vrid: 51, priority: 150, intervalCs: 100, addrs: [VIP], authType: AUTH_NONE, authData: new Uint8Array(8) };

test('v2 golden: encode byte for byte', () => {
  assert.deepEqual(encodeVrrp(v2, SRC, GROUP), V2_GOLDEN);
});

test('v3 golden: encode byte for byte (checksum over the pseudo-header)', () => {
  assert.deepEqual(encodeVrrp(v3, SRC, GROUP), V3_GOLDEN);
});

test('v3 checksum depends on the addresses of the IP header (unicast differs from multicast)', () => {
  const uni = encodeVrrp(v3, SRC, 0xc0000203);
  assert.notDeepEqual(uni.subarray(6, 8), V3_GOLDEN.subarray(6, 8));
});

test('whole datagram: IP header fields, then decode returns the same advert', () => {
  for (const a of [v2, v3, { ...v2, authType: AUTH_PASS, authData: passAuthData('secret12345') }]) {
    const p = encodePacket(a, SRC, GROUP);
    assert.equal(p[0], 0x45);
    assert.equal(p[1], 0xc0, 'TOS 0xc0 (network control) as keepalived');
    assert.equal(p[8], 255, 'TTL 255');
    assert.equal(p[9], 112, 'protocol 112');
    assert.equal((p[2] << 8) | p[3], p.length);
    const d = decodePacket(p);
    assert.ok(d.ok, JSON.stringify(d));
    assert.equal(d.packet.src, SRC);
    assert.equal(d.packet.dst, GROUP);
    assert.deepEqual({ ...d.packet.advert, authData: [...d.packet.advert.authData] }, { ...a, authData: [...a.authData] });
  }
});

test('PASS authentication data: first 8 bytes of the password, zero padded', () => {
  assert.deepEqual([...passAuthData('abc')], [0x61, 0x62, 0x63, 0, 0, 0, 0, 0]);
  assert.deepEqual(Buffer.from(passAuthData('0123456789')).toString(), '01234567');
});

/** A good v3 datagram, changed by `mutate` (checksums left as they were unless fixed). */
function bad(mutate: (p: Uint8Array) => void, base: Advert = v3): Uint8Array {
  const p = encodePacket(base, SRC, GROUP);
  mutate(p);
  return p;
}

test('validation failures come back as reasons, never exceptions', () => {
  const cases: [string, Uint8Array, string][] = [
    ['empty', new Uint8Array(0), 'ip_header'],
    ['IPv6 version nibble', bad((p) => (p[0] = 0x65)), 'ip_header'],
    ['other protocol', bad((p) => (p[9] = 17)), 'ip_header'],
    ['IP total length beyond the data', bad((p) => (p[3] += 4)), 'ip_header'],
    ['TTL 254 (routed)', bad((p) => (p[8] = 254)), 'ttl'],
    ['TTL 1', bad((p) => (p[8] = 1)), 'ttl'],
    ['VRRP version 4', bad((p) => (p[20] = 0x41)), 'version'],
    ['VRRP version 1', bad((p) => (p[20] = 0x11)), 'version'],
    ['type 2', bad((p) => (p[20] = 0x32)), 'type'],
    ['count says 2, one address present', bad((p) => (p[23] = 2)), 'length'],
    ['count says 0, one address present', bad((p) => (p[23] = 0)), 'length'],
    ['shorter than the VRRP header', encodePacket(v3, SRC, GROUP).subarray(0, 24).map((x, i) => (i === 3 ? 24 : x)), 'length'],
    ['a flipped bit', bad((p) => (p[26] ^= 1)), 'checksum'],
    ['v3 checksum computed for another destination', bad((p) => p.set([0xc0, 0, 2, 3], 16)), 'checksum'],
    ['v2 without its authentication data', bad((p) => (p[3] -= 8), v2).subarray(0, 20 + 12), 'length'],
  ];
  for (const [what, p, reason] of cases) {
    const d = decodePacket(p);
    assert.equal(d.ok, false, what);
    if (!d.ok) assert.equal(d.reason, reason, what);
  }
});

test('fuzz: random bytes and truncations never throw', () => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) & 0xff;
  const good = encodePacket(v2, SRC, GROUP);
  for (let i = 0; i < 20000; i++) {
    const p = good.slice(0, rnd() % (good.length + 1));
    for (let k = rnd() % 4; k > 0; k--) if (p.length) p[rnd() % p.length] = rnd();
    decodePacket(p);
  }
});
