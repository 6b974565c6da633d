// Exercises the addon's TunDevice inside a namespace (run with `ip netns exec NS node
// tun-probe.js`; test/netns/tun.test.ts reads its one JSON line):
//   - opens a TUN device with an MTU, checks it is up with that MTU (ifInfo);
//   - gives it 198.51.100.1/24 and sends UDP datagrams to 198.51.100.2 (routed into the
//     device), reads them in ONE readBatch: descriptors as AF_PACKET, a zeroed vnet header,
//     a synthetic Ethernet header (our MAC, TUN_PEER_MAC, IPv4) in front of each packet;
//   - writes back, in ONE writeBatch, UDP datagrams from 198.51.100.2 to a socket bound on
//     198.51.100.1, and reports what that socket received;
//   - a second device of the same name without multi-queue is refused (EBUSY/EINVAL).

import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { DESC_LEN, DESC_OFFSET, DESC_SNAPLEN, DESC_STATUS, DESC_STRIDE, ifInfo } from '../../../src/io/afpacket';
import { isNativeError } from '../../../src/io/native';
import { TUN_HEADROOM, TUN_PEER_MAC, TunDevice } from '../../../src/io/tun';
import { l4Checksum4 } from '../../../src/wire/checksum';

const NAME = process.argv[2] ?? 'tsvsprobe0';
const OUR_MAC = [0x02, 0x11, 0x22, 0x33, 0x44, 0x55];

function udpPacket(buf: Uint8Array, at: number, payload: string, sport: number, dport: number): number {
  const src = [198, 51, 100, 2];
  const dst = [198, 51, 100, 1];
  const p = Buffer.from(payload);
  const total = 28 + p.length;
  const ip = [0x45, 0, total >> 8, total & 0xff, 0, 1, 0x40, 0, 64, 17, 0, 0, ...src, ...dst];
  let s = 0;
  for (let i = 0; i < 20; i += 2) s += (ip[i] << 8) | ip[i + 1];
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  ip[10] = (~s >> 8) & 0xff;
  ip[11] = ~s & 0xff;
  buf.set(ip, at);
  const u = at + 20;
  buf.set([sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, (8 + p.length) >> 8, (8 + p.length) & 0xff, 0, 0], u);
  buf.set(p, u + 8);
  const c = l4Checksum4(buf, u, 8 + p.length, 17, 0xc6336402, 0xc6336401) || 0xffff;
  buf[u + 6] = c >> 8;
  buf[u + 7] = c & 0xff;
  return total;
}

async function main(): Promise<void> {
  const out: Record<string, unknown> = {};
  const dev = new TunDevice(NAME, { mtu: 1400 });
  const info = ifInfo(dev.name);
  out.name = dev.name;
  out.mtu = info.mtu;
  out.up = info.up;
  out.hwType = info.hwType;
  try {
    new TunDevice(NAME, {});
    out.second = 'opened';
  } catch (e) {
    out.second = isNativeError(e) ? `${e.code} ${e.syscall}` : String(e);
  }
  execFileSync('ip', ['addr', 'add', '198.51.100.1/24', 'dev', dev.name]);

  // RX: three datagrams routed into the device, read in one batch.
  const tx = createSocket('udp4');
  for (const m of ['one', 'two', 'three']) await new Promise<void>((r) => tx.send(m, 7777, '198.51.100.2', () => r()));
  await new Promise((r) => setTimeout(r, 100));
  const slot = 2048;
  const arena = new Uint8Array(slot * 8);
  const descs = new Uint32Array(DESC_STRIDE * 8);
  const eth = new Uint8Array([...OUR_MAC, ...TUN_PEER_MAC, 0x08, 0x00]);
  const n = dev.readBatch(arena, descs, eth, slot, 8);
  out.read = n;
  out.frames = Array.from({ length: n }, (_, i) => {
    const d = i * DESC_STRIDE;
    const off = descs[d + DESC_OFFSET];
    const len = descs[d + DESC_SNAPLEN];
    const f = arena.subarray(off, off + len);
    return {
      off, snap: len, len: descs[d + DESC_LEN], status: descs[d + DESC_STATUS],
      vnetZero: arena.subarray(off - 10, off).every((b) => b === 0),
      eth: Buffer.from(f.subarray(0, 14)).toString('hex'),
      proto: f[14 + 9],
      payload: Buffer.from(f.subarray(14 + 28)).toString(),
    };
  });
  out.again = dev.readBatch(arena, descs, eth, slot, 8); // empty now: 0, no throw

  // TX: two datagrams written back in one batch, to a socket bound on the device's address.
  const rx = createSocket('udp4');
  const got: string[] = [];
  rx.on('message', (m) => got.push(m.toString()));
  await new Promise<void>((r) => rx.bind(7778, '198.51.100.1', () => r()));
  const txBuf = new Uint8Array(4096);
  const pairs = new Uint32Array(4);
  let at = 64;
  for (const [i, m] of ['back-a', 'back-b'].entries()) {
    txBuf.set(eth, at);
    const len = 14 + udpPacket(txBuf, at + 14, m, 40000 + i, 7778);
    pairs[2 * i] = at;
    pairs[2 * i + 1] = len;
    at += 1024;
  }
  out.written = dev.writeBatch(txBuf, pairs, 0, 2);
  await new Promise((r) => setTimeout(r, 200));
  out.received = got.sort();
  tx.close();
  rx.close();
  dev.close();
  out.headroom = TUN_HEADROOM;
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((e: unknown) => {
  process.stdout.write(`${JSON.stringify({ error: (e as Error).message, code: (e as { code?: string }).code })}\n`);
  process.exit(1);
});
