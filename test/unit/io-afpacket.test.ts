// The AF_PACKET I/O without root: the BPF builder (exact program for one VIP, and its
// behaviour through a small classic-BPF interpreter), argument validation of the wrapper,
// ifInfo's errors. The namespace test (test/netns/afpacket.test.ts) covers real traffic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { vipFilter, formatFilter, BPF_MAXINSNS, SKF_AD_OFF, SKF_AD_VLAN_TAG_PRESENT } from '../../src/io/bpf';
import { AfPacketSocket, ifInfo, checkIfName } from '../../src/io/afpacket';
import { hasNative, isNativeError } from '../../src/io/native';

// ---- a classic BPF interpreter for the instructions vipFilter emits ----------------------

interface Frame {
  bytes: Uint8Array;
  vlanTagPresent: boolean;
}

function runBpf(prog: Uint32Array, f: Frame): number {
  let a = 0;
  let pc = 0;
  for (let steps = 0; steps < 10000; steps++) {
    const code = prog[4 * pc], jt = prog[4 * pc + 1], jf = prog[4 * pc + 2], k = prog[4 * pc + 3];
    const cls = code & 7;
    if (cls === 0x00) {
      // ld abs
      const size = code & 0x18;
      if (k >= SKF_AD_OFF) {
        assert.equal(k, SKF_AD_OFF + SKF_AD_VLAN_TAG_PRESENT, 'only vlan_avail is used');
        a = f.vlanTagPresent ? 1 : 0;
      } else {
        const n = size === 0x00 ? 4 : size === 0x08 ? 2 : 1;
        if (k + n > f.bytes.length) return 0; // the kernel drops on an out-of-range load
        a = 0;
        for (let i = 0; i < n; i++) a = (a * 256 + f.bytes[k + i]) >>> 0;
      }
      pc++;
    } else if (cls === 0x05) {
      const op = code & 0xf0;
      if (op === 0x00) pc += 1 + k;
      else if (op === 0x10) pc += 1 + (a === k ? jt : jf);
      else throw new Error(`unexpected jump 0x${code.toString(16)}`);
    } else if (cls === 0x06) {
      return k;
    } else {
      throw new Error(`unexpected instruction 0x${code.toString(16)}`);
    }
    assert.ok(pc < prog.length / 4, 'pc stays inside the program');
  }
  throw new Error('BPF program did not terminate');
}

function ipv4Frame(dst: string, opts: { inbandVlan?: boolean; ethType?: number } = {}): Uint8Array {
  const tag = opts.inbandVlan ? 4 : 0;
  const b = new Uint8Array(14 + tag + 28);
  b.fill(0xaa, 0, 12);
  let o = 12;
  if (tag) {
    b[o] = 0x81; b[o + 1] = 0x00; b[o + 2] = 0x00; b[o + 3] = 0x64;
    o += 4;
  }
  const t = opts.ethType ?? 0x0800;
  b[o] = t >> 8; b[o + 1] = t & 0xff;
  b[o + 2] = 0x45;
  const d = dst.split('.').map(Number);
  b.set([198, 51, 100, 2], o + 2 + 12);
  b.set(d, o + 2 + 16);
  return b;
}

const ACCEPT = 0xffffffff;

test('vipFilter emits the expected program for one VIP', () => {
  const prog = vipFilter({ vips: ['198.51.100.10'] });
  // prettier-ignore
  const expected = [
    0x20, 0, 0, 0xfffff030,  // (000) ld   vlan_avail
    0x15, 1, 0, 0,           // (001) jeq  #0        jt 3  jf 2
    0x06, 0, 0, 0,           // (002) ret  #0        tagged: drop
    0x28, 0, 0, 12,          // (003) ldh  [12]
    0x15, 0, 1, 0x0806,      // (004) jeq  #0x806    jt 5  jf 6
    0x06, 0, 0, ACCEPT,      // (005) ret  #-1       ARP: accept
    0x15, 1, 0, 0x0800,      // (006) jeq  #0x800    jt 8  jf 7
    0x06, 0, 0, 0,           // (007) ret  #0        not IPv4: drop
    0x20, 0, 0, 30,          // (008) ld   [30]      IPv4 destination
    0x15, 1, 0, 0xc633640a,  // (009) jeq  #198.51.100.10  jt 11  jf 10
    0x06, 0, 0, 0,           // (010) ret  #0
    0x06, 0, 0, ACCEPT,      // (011) ret  #-1
  ];
  assert.deepEqual(Array.from(prog), expected);
  assert.match(formatFilter(prog), /\(009\) jeq {2}#0xc633640a {2}jt 11 {2}jf 10/);
});

test('vipFilter accepts ARP and IPv4 to a VIP, drops the rest', () => {
  const vips = ['198.51.100.10', '198.51.100.20', 0xc6336414 /* .20 again, deduplicated */];
  const prog = vipFilter({ vips });
  const run = (bytes: Uint8Array, vlanTagPresent = false) => runBpf(prog, { bytes, vlanTagPresent });
  assert.equal(run(ipv4Frame('198.51.100.10')), ACCEPT);
  assert.equal(run(ipv4Frame('198.51.100.20')), ACCEPT);
  assert.equal(run(ipv4Frame('198.51.100.11')), 0);
  assert.equal(run(ipv4Frame('0.0.0.0', { ethType: 0x0806 })), ACCEPT, 'ARP');
  assert.equal(run(ipv4Frame('198.51.100.10', { ethType: 0x86dd })), 0, 'IPv6');
  assert.equal(run(ipv4Frame('198.51.100.10'), true), 0, 'tagged out of band, vlan off');
  assert.equal(run(ipv4Frame('198.51.100.10', { inbandVlan: true })), 0, 'tagged in band, vlan off');
  assert.equal(run(new Uint8Array(20)), 0, 'runt');
});

test('vipFilter with vlan accepts tagged frames, in band or not', () => {
  const prog = vipFilter({ vips: ['198.51.100.10'], vlan: true });
  const run = (bytes: Uint8Array, vlanTagPresent = false) => runBpf(prog, { bytes, vlanTagPresent });
  assert.equal(run(ipv4Frame('198.51.100.10')), ACCEPT);
  assert.equal(run(ipv4Frame('198.51.100.10'), true), ACCEPT);
  assert.equal(run(ipv4Frame('198.51.100.10', { inbandVlan: true })), ACCEPT);
  assert.equal(run(ipv4Frame('198.51.100.11', { inbandVlan: true })), 0);
  assert.equal(run(ipv4Frame('0.0.0.0', { inbandVlan: true, ethType: 0x0806 })), ACCEPT);
  assert.equal(run(ipv4Frame('198.51.100.11')), 0);
});

test('vipFilter handles long VIP lists with short jumps, and refuses too many', () => {
  const vips: number[] = [];
  for (let i = 0; i < 1000; i++) vips.push((0x0a000000 + i * 3) >>> 0);
  const prog = vipFilter({ vips, arp: false });
  for (let i = 0; i < prog.length; i += 4) assert.ok(prog[i + 1] <= 255 && prog[i + 2] <= 255);
  const frame = (n: number) => ipv4Frame(`${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`);
  for (const i of [0, 1, 253, 254, 255, 507, 508, 999]) assert.equal(runBpf(prog, { bytes: frame(vips[i]), vlanTagPresent: false }), ACCEPT, `vip #${i}`);
  assert.equal(runBpf(prog, { bytes: frame(vips[5] + 1), vlanTagPresent: false }), 0);
  assert.equal(runBpf(prog, { bytes: ipv4Frame('0.0.0.0', { ethType: 0x0806 }), vlanTagPresent: false }), 0, 'arp: false');
  const many: number[] = [];
  for (let i = 0; i < BPF_MAXINSNS; i++) many.push(i + 1);
  assert.throws(() => vipFilter({ vips: many }), RangeError);
  assert.equal(runBpf(vipFilter({ vips: [] }), { bytes: ipv4Frame('198.51.100.10'), vlanTagPresent: false }), 0);
});

test('vipFilter validates its input', () => {
  assert.throws(() => vipFilter({ vips: ['198.51.100.300'] }), RangeError);
  assert.throws(() => vipFilter({ vips: ['2001:db8::1'] }), RangeError);
  assert.throws(() => vipFilter({ vips: [-1] }), RangeError);
  assert.throws(() => vipFilter({ vips: [{} as unknown as string] }), TypeError);
  assert.throws(() => vipFilter({ vips: 'x' as unknown as string[] }), TypeError);
});

test('AfPacketSocket validates its arguments before touching the kernel', () => {
  assert.throws(() => new AfPacketSocket(42 as unknown as string), TypeError);
  assert.throws(() => new AfPacketSocket('a-very-long-interface-name'), RangeError);
  assert.throws(() => new AfPacketSocket('a/b'), RangeError);
  assert.throws(() => checkIfName(''), RangeError);
  assert.throws(() => new AfPacketSocket('lo', { blockSize: 1000 }), /blockSize must be between/);
  assert.throws(() => new AfPacketSocket('lo', { blockSize: 4097 * 4 }), /multiple of 4096/);
  assert.throws(() => new AfPacketSocket('lo', { ringVersion: 'v3', blockSize: 65536, vnetHdr: true }), /at least 131072 with vnetHdr/);
  assert.throws(() => new AfPacketSocket('lo', { blockSize: 1.5 as number }), TypeError);
  assert.throws(() => new AfPacketSocket('lo', { frameSize: 1000 }), /multiple of 16/);
  assert.throws(() => new AfPacketSocket('lo', { blockCount: 0 }), RangeError);
  assert.throws(() => new AfPacketSocket('lo', { retireMs: -1 }), RangeError);
  assert.throws(() => new AfPacketSocket('lo', { vnetHdr: 'yes' as unknown as boolean }), TypeError);
  assert.throws(() => new AfPacketSocket('lo', { filter: [1, 2, 3, 4] as unknown as Uint32Array }), TypeError);
  assert.throws(() => new AfPacketSocket('lo', { filter: new Uint32Array(3) }), RangeError);
  assert.throws(() => new AfPacketSocket('lo', { filter: new Uint32Array([0x10000, 0, 0, 0]) }), RangeError);
  assert.throws(() => new AfPacketSocket('lo', { fanout: { group: 70000 } }), RangeError);
  assert.throws(() => new AfPacketSocket('lo', { fanout: { group: 1, mode: 'magic' as 'hash' } }), /fanout.mode must be one of/);
});

test('ifInfo of a missing interface throws code ENODEV', { skip: hasNative() ? false : 'native addon not built' }, () => {
  assert.throws(
    () => ifInfo('nonexistent-if0'),
    (e: unknown) => {
      assert.ok(isNativeError(e));
      assert.equal(e.code, 'ENODEV');
      assert.equal(e.errno, 19);
      assert.equal(e.syscall, 'ioctl(SIOCGIFINDEX)');
      assert.match(e.message, /no such network interface/);
      return true;
    },
  );
  assert.throws(() => ifInfo('x'.repeat(16)), RangeError);
  const lo = ifInfo('lo');
  assert.equal(lo.ifindex, 1);
  assert.equal(lo.hwType, 772);
  assert.equal(lo.mac.length, 6);
  assert.equal(lo.up, (lo.flags & 1) !== 0);
});

test('without CAP_NET_RAW the socket fails with code EPERM', {
  skip: !hasNative() ? 'native addon not built' : process.getuid?.() === 0 ? 'running as root (the netns test covers EPERM as nobody)' : false,
}, () => {
  assert.throws(
    () => new AfPacketSocket('lo'),
    (e: unknown) => isNativeError(e) && e.code === 'EPERM' && /need root or CAP_NET_RAW/.test(e.message),
  );
});
