// AF_PACKET I/O against real traffic (needs root). Two network namespaces A and B joined by
// a veth pair, addresses from the documentation range 198.51.100.0/24 only:
//   A: vethA 198.51.100.1   (the sockets under test run here)
//   B: vethB 198.51.100.2   (traffic comes from here; VIP .10 and .11 point at A's MAC)
// Node cannot setns(), so each side runs as a child process of this same file started with
// `ip netns exec NS node <this file>` and TSVS_AFP_ROLE set; a child prints READY when its
// sockets are open and one `RESULT <json>` line at the end. Every child has a deadline and
// is killed (by its PID) if it overstays; namespaces are deleted in after(), even on failure.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { readdirSync } from 'node:fs';
import {
  AfPacketSocket, ifInfo, DESC_STRIDE, DESC_OFFSET, DESC_SNAPLEN, DESC_LEN, DESC_STATUS,
  DESC_VNET_FLAGS_GSO_HDRLEN, DESC_VNET_GSOSIZE_CSUMSTART, TX_DESC_STRIDE, VNET_HDR_LEN, DESC_VLAN,
  TP_STATUS_USER, TP_STATUS_CSUMNOTREADY, TP_STATUS_VLAN_VALID, VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4,
} from '../../src/io/afpacket';
import { vipFilter } from '../../src/io/bpf';
import { hasNative, isNativeError } from '../../src/io/native';

const IP_A = '198.51.100.1';
const IP_B = '198.51.100.2';
const VIP = '198.51.100.10';
const OTHER = '198.51.100.11';
const END_MARK = 0xffffffff; // payload sequence number of the last datagram of a run

type Args = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

// ===================================================================================
// Frame helpers (test code: clarity over speed)
// ===================================================================================

function rd16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}
function rd32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}
function wr16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v & 0xff;
}
function ipBytes(ip: string): number[] {
  return ip.split('.').map(Number);
}
function ipText(b: Uint8Array, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}
function macBytes(mac: string): number[] {
  return mac.split(':').map((x) => parseInt(x, 16));
}
function macText(b: Uint8Array, o: number): string {
  return Array.from(b.subarray(o, o + 6), (x) => x.toString(16).padStart(2, '0')).join(':');
}
function csumAdd(sum: number, b: Uint8Array, o: number, len: number): number {
  for (let i = 0; i + 1 < len; i += 2) sum += (b[o + i] << 8) | b[o + i + 1];
  if (len & 1) sum += b[o + len - 1] << 8;
  return sum;
}
function csumFold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/** Writes Ethernet + IPv4 + UDP with correct checksums at `o`; returns the frame length. */
function writeUdpFrame(b: Uint8Array, o: number, f: { dstMac: string; srcMac: string; src: string; dst: string; sport: number; dport: number; payload: Uint8Array }): number {
  const ipLen = 20 + 8 + f.payload.length;
  b.set(macBytes(f.dstMac), o);
  b.set(macBytes(f.srcMac), o + 6);
  wr16(b, o + 12, 0x0800);
  const ip = o + 14;
  b.fill(0, ip, ip + 20);
  b[ip] = 0x45;
  wr16(b, ip + 2, ipLen);
  b[ip + 8] = 64;
  b[ip + 9] = 17;
  b.set(ipBytes(f.src), ip + 12);
  b.set(ipBytes(f.dst), ip + 16);
  wr16(b, ip + 10, csumFold(csumAdd(0, b, ip, 20)));
  const u = ip + 20;
  wr16(b, u, f.sport);
  wr16(b, u + 2, f.dport);
  wr16(b, u + 4, 8 + f.payload.length);
  wr16(b, u + 6, 0);
  b.set(f.payload, u + 8);
  let sum = csumAdd(0, b, ip + 12, 8) + 17 + 8 + f.payload.length;
  sum = csumAdd(sum, b, u, 8 + f.payload.length);
  wr16(b, u + 6, csumFold(sum) || 0xffff);
  return 14 + ipLen;
}

interface UdpView {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  payloadOff: number;
  payloadLen: number;
}

/** Parses an untagged IPv4/UDP frame; null for anything else. */
function parseUdp(b: Uint8Array, o: number, snaplen: number): UdpView | null {
  if (snaplen < 42 || rd16(b, o + 12) !== 0x0800) return null;
  const ip = o + 14;
  const ihl = (b[ip] & 0x0f) * 4;
  if (b[ip + 9] !== 17 || snaplen < 14 + ihl + 8) return null;
  const u = ip + ihl;
  return { src: ipText(b, ip + 12), dst: ipText(b, ip + 16), sport: rd16(b, u), dport: rd16(b, u + 2), payloadOff: u + 8, payloadLen: rd16(b, u + 4) - 8 };
}

/** Payload of datagram `seq`: the sequence number, then a pattern derived from it. */
function payloadFor(seq: number, size: number): Buffer {
  const p = Buffer.alloc(size);
  p.writeUInt32BE(seq >>> 0, 0);
  for (let i = 4; i < size; i++) p[i] = (seq + i) & 0xff;
  return p;
}

function payloadOk(b: Uint8Array, o: number, len: number): boolean {
  const seq = rd32(b, o);
  for (let i = 4; i < len; i++) if (b[o + i] !== ((seq + i) & 0xff)) return false;
  return true;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ===================================================================================
// Roles: what a child process does inside a namespace
// ===================================================================================

function ready(): void {
  process.stdout.write('READY\n');
}
function result(obj: unknown): void {
  process.stdout.write(`RESULT ${JSON.stringify(obj)}\n`);
}

/** Resolves when `done()` returns true (checked every 10 ms) or after `ms`; true if done. */
async function until(done: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (done()) return true;
    await sleep(10);
  }
  return done();
}

interface RxRecord {
  seq: number;
  dst: string;
  len: number;
  snaplen: number;
  status: number;
  payloadOk: boolean;
  dstMac: string;
  src: string;
  /** VLAN TCI | TPID << 16 when TP_STATUS_VLAN_VALID, else -1. */
  vlan: number;
}

/** Collects UDP frames to `port` from a socket; counts everything else by kind. */
class Collector {
  frames: RxRecord[] = [];
  arp = 0;
  others = 0;
  blocks = 0;
  maxPerBlock = 0;
  sawEnd = false;
  constructor(readonly sock: AfPacketSocket, readonly port: number) {
    sock.start((err) => {
      if (err) throw err;
      this.drain();
    });
  }
  drain(): void {
    this.sock.drain((bytes, descs, n) => {
      this.blocks++;
      this.maxPerBlock = Math.max(this.maxPerBlock, n);
      for (let i = 0; i < n; i++) {
        const d = i * DESC_STRIDE;
        const off = descs[d + DESC_OFFSET];
        const snaplen = descs[d + DESC_SNAPLEN];
        const u = parseUdp(bytes, off, snaplen);
        if (u === null || u.dport !== this.port) {
          if (snaplen >= 14 && rd16(bytes, off + 12) === 0x0806) this.arp++;
          else this.others++;
          continue;
        }
        const seq = rd32(bytes, u.payloadOff);
        if (seq === END_MARK) {
          this.sawEnd = true;
          continue;
        }
        this.frames.push({
          seq, dst: u.dst, src: u.src, len: descs[d + DESC_LEN], snaplen, status: descs[d + DESC_STATUS],
          payloadOk: payloadOk(bytes, u.payloadOff, u.payloadLen), dstMac: macText(bytes, off),
          vlan: descs[d + DESC_STATUS] & TP_STATUS_VLAN_VALID ? descs[d + DESC_VLAN] : -1,
        });
      }
    });
  }
  summary(): object {
    const s = this.sock.stats();
    return { frames: this.frames, arp: this.arp, others: this.others, blocks: this.blocks, maxPerBlock: this.maxPerBlock, sawEnd: this.sawEnd, stats: s, heldBlocks: this.sock.heldBlocks };
  }
}

const roles: Record<string, (a: Args) => Promise<void>> = {
  // A: interface facts as the addon sees them.
  async ifinfo(a) {
    const info = ifInfo(a.ifname);
    let missing = '';
    try {
      ifInfo('nonexistent-if0');
    } catch (e) {
      missing = isNativeError(e) ? e.code : String(e);
    }
    result({ ifindex: info.ifindex, mac: macText(info.mac, 0), mtu: info.mtu, up: info.up, running: info.running, hwType: info.hwType, missing });
  },

  // A: receive; `filtered` gets the VIP filter, `control` (optional) sees everything.
  async rx(a) {
    const filtered = new AfPacketSocket(a.ifname, { filter: a.filterVips ? vipFilter({ vips: a.filterVips }) : undefined, blockSize: 1 << 16, blockCount: 16 });
    const control = a.control ? new AfPacketSocket(a.ifname, { blockSize: 1 << 16, blockCount: 16 }) : null;
    const cf = new Collector(filtered, a.port);
    const cc = control ? new Collector(control, a.port) : null;
    ready();
    // The end marker goes to the VIP, so the filtered socket sees it too.
    const timedOut = !(await until(() => cf.sawEnd && (!cc || cc.sawEnd), a.timeoutMs));
    await sleep(50);
    cf.drain();
    cc?.drain();
    const out = { timedOut, filtered: cf.summary(), control: cc?.summary() ?? null };
    filtered.close();
    control?.close();
    // The ring ArrayBuffer is detached by close(): views become empty, never dangling.
    result({ ...out, ringAfterClose: filtered.ring.byteLength });
    // No process.exit(): the process must end by itself, proving close() released the poll handle.
  },

  // A: three sockets: VIP filter without vlan, VIP filter with vlan, no filter.
  async rxVlan(a) {
    const opts = { blockSize: 1 << 16, blockCount: 8 };
    const socks = [
      new AfPacketSocket(a.ifname, { ...opts, filter: vipFilter({ vips: [VIP] }) }),
      new AfPacketSocket(a.ifname, { ...opts, filter: vipFilter({ vips: [VIP], vlan: true }) }),
      new AfPacketSocket(a.ifname, opts),
    ];
    const cols = socks.map((s) => new Collector(s, a.port));
    ready();
    const timedOut = !(await until(() => cols.every((c) => c.sawEnd), a.timeoutMs));
    await sleep(50);
    cols.forEach((c) => c.drain());
    result({ timedOut, seen: cols.map((c) => c.frames.map((f) => ({ seq: f.seq, vlan: f.vlan, len: f.len, ok: f.payloadOk }))) });
    socks.forEach((s) => s.close());
  },

  // B: send UDP frames to VIP through a packet socket: `tagged` with an 802.1Q tag (VLAN
  // 100) in the packet, then `untagged` plain, then the end marker.
  async vlanTx(a) {
    const sock = new AfPacketSocket(a.ifname, { blockSize: 1 << 16, blockCount: 4 });
    const buf = new Uint8Array(64 * 1024);
    const descs: number[] = [];
    let o = 0;
    const add = (seq: number, tag: boolean) => {
      const tmp = new Uint8Array(2048);
      const len = writeUdpFrame(tmp, 0, { dstMac: a.dstMac, srcMac: a.srcMac, src: IP_B, dst: VIP, sport: 4000, dport: a.port, payload: payloadFor(seq, 40) });
      if (tag) {
        buf.set(tmp.subarray(0, 12), o);
        buf.set([0x81, 0x00, 0x00, 100], o + 12);
        buf.set(tmp.subarray(12, len), o + 16);
        descs.push(o, len + 4);
      } else {
        buf.set(tmp.subarray(0, len), o);
        descs.push(o, len);
      }
      o += 128;
    };
    for (let i = 0; i < a.tagged; i++) add(i, true);
    for (let i = 0; i < a.untagged; i++) add(a.tagged + i, false);
    add(END_MARK, false);
    const sent = sock.send(buf, Uint32Array.from(descs), descs.length / 2);
    sock.close();
    result({ sent });
  },

  // B: send UDP datagrams. sends: [{ dst, port, sport?, sizes: number[] }]; seqs count up
  // across all sends; `end` adds the END_MARK datagram to the VIP.
  async udpSend(a) {
    let seq = 0;
    for (const s of a.sends) {
      const sock = dgram.createSocket('udp4');
      await new Promise<void>((r) => sock.bind(s.sport ?? 0, IP_B, r));
      for (const size of s.sizes) {
        await new Promise<void>((r, j) => sock.send(payloadFor(seq++, size), s.port, s.dst, (e) => (e ? j(e) : r())));
      }
      sock.close();
    }
    if (a.end) {
      const sock = dgram.createSocket('udp4');
      await new Promise<void>((r, j) => sock.send(payloadFor(END_MARK, 16), a.end.port, a.end.dst, (e) => (e ? j(e) : r())));
      sock.close();
    }
    result({ sent: seq });
  },

  // B: receive UDP datagrams on IP_B:port.
  async udpRecv(a) {
    const sock = dgram.createSocket('udp4');
    const msgs: { from: string; port: number; text: string }[] = [];
    sock.on('message', (m, r) => msgs.push({ from: r.address, port: r.port, text: m.toString() }));
    await new Promise<void>((r) => sock.bind(a.port, IP_B, r));
    ready();
    const timedOut = !(await until(() => msgs.length >= a.expect, a.timeoutMs));
    await sleep(100); // anything extra (duplicates) would show up now
    sock.close();
    result({ timedOut, msgs });
  },

  // A: craft UDP frames to B and send them in one batch, without and with vnet headers;
  // count which of our sockets see our own frames (ignoreOutgoing).
  async tx(a) {
    const plain = new AfPacketSocket(a.ifname, { ignoreOutgoing: true, blockSize: 1 << 16, blockCount: 8 });
    const vnet = new AfPacketSocket(a.ifname, { ignoreOutgoing: true, vnetHdr: true, blockSize: 1 << 17, blockCount: 8 });
    const bypass = new AfPacketSocket(a.ifname, { ignoreOutgoing: true, qdiscBypass: true, blockSize: 1 << 16, blockCount: 8 });
    const all = new AfPacketSocket(a.ifname, { ignoreOutgoing: false, blockSize: 1 << 16, blockCount: 8 });
    const cPlain = new Collector(plain, a.port);
    const cVnet = new Collector(vnet, a.port);
    const cAll = new Collector(all, a.port);
    const build = (kind: string, sport: number) => {
      const buf = new Uint8Array(a.count * 256);
      const descs = new Uint32Array(a.count * TX_DESC_STRIDE);
      for (let i = 0; i < a.count; i++) {
        const off = i * 256 + 16; // 16 >= VNET_HDR_LEN bytes of zeros in front: "no offload"
        const payload = Buffer.from(`tsvs-tx-${kind}-${i}`);
        descs[i * 2] = off;
        descs[i * 2 + 1] = writeUdpFrame(buf, off, { dstMac: a.dstMac, srcMac: a.srcMac, src: IP_A, dst: IP_B, sport, dport: a.port, payload });
      }
      return { buf, descs };
    };
    const p = build('plain', 5555);
    const v = build('vnet', 5556);
    const q = build('bypass', 5557);
    const sentPlain = plain.send(p.buf, p.descs, a.count);
    const sentVnet = vnet.send(v.buf.buffer, v.descs, a.count); // an ArrayBuffer works too
    // PACKET_QDISC_BYPASS hands frames straight to the driver, past the taps: `all` will not see these.
    const sentBypass = bypass.send(q.buf, q.descs, a.count);
    // Descriptors outside the buffer are refused before any syscall.
    const errors: string[] = [];
    try {
      plain.send(p.buf, new Uint32Array([p.buf.length - 10, 100]), 1);
    } catch (e) {
      errors.push((e as Error).name);
    }
    try {
      vnet.send(v.buf, new Uint32Array([VNET_HDR_LEN - 1, 60]), 1); // no room for the header
    } catch (e) {
      errors.push((e as Error).name);
    }
    await sleep(200);
    for (const c of [cPlain, cVnet, cAll]) c.drain();
    result({
      sentPlain, sentVnet, sentBypass, errors,
      txCounters: [plain.txFrames, plain.txRejected, plain.txBackpressureDrops, vnet.txFrames, vnet.txRejected],
      seenByIgnoring: cPlain.frames.length + cVnet.frames.length, seenByAll: cAll.frames.length,
      seenAllSports: cAll.frames.length ? [...new Set(cAll.frames.map((f) => f.src))] : [],
    });
    plain.close();
    vnet.close();
    bypass.close();
    all.close();
  },

  // A: echo UDP to VIP:port back to the sender by swapping MACs, addresses and ports in
  // place in the ring, then sending the frames straight from the ring with their vnet
  // headers (partial checksums stay partial; the swap keeps them valid).
  async echo(a) {
    const sock = new AfPacketSocket(a.ifname, { vnetHdr: true, filter: vipFilter({ vips: [VIP] }) });
    const tx = new Uint32Array(4096 * TX_DESC_STRIDE);
    let echoed = 0;
    let sent = 0;
    let csumNotReady = 0;
    let needsCsum = 0;
    let rejected: number[] = [];
    sock.start(() => {
      sock.drain((bytes, descs, n) => {
        let m = 0;
        for (let i = 0; i < n; i++) {
          const d = i * DESC_STRIDE;
          const off = descs[d + DESC_OFFSET];
          const snaplen = descs[d + DESC_SNAPLEN];
          const u = parseUdp(bytes, off, snaplen);
          if (u === null || u.dport !== a.port || u.dst !== VIP) continue;
          if (descs[d + DESC_STATUS] & TP_STATUS_CSUMNOTREADY) csumNotReady++;
          if (descs[d + DESC_VNET_FLAGS_GSO_HDRLEN] & VIRTIO_NET_HDR_F_NEEDS_CSUM) needsCsum++;
          for (let k = 0; k < 6; k++) {
            const t = bytes[off + k];
            bytes[off + k] = bytes[off + 6 + k];
            bytes[off + 6 + k] = t;
          }
          const ip = off + 14;
          for (let k = 0; k < 4; k++) {
            const t = bytes[ip + 12 + k];
            bytes[ip + 12 + k] = bytes[ip + 16 + k];
            bytes[ip + 16 + k] = t;
          }
          const up = u.payloadOff - 8;
          for (let k = 0; k < 2; k++) {
            const t = bytes[up + k];
            bytes[up + k] = bytes[up + 2 + k];
            bytes[up + 2 + k] = t;
          }
          tx[m * 2] = off;
          tx[m * 2 + 1] = snaplen;
          m++;
        }
        echoed += m;
        if (m) sent += sock.send(sock.ring, tx, m); // zero copy: from the ring itself
      });
      rejected = [sock.txRejected, sock.txBackpressureDrops, sock.txLastErrno];
    });
    ready();
    const timedOut = !(await until(() => echoed >= a.expect, a.timeoutMs));
    await sleep(50);
    sock.close();
    result({ timedOut, echoed, sent, csumNotReady, needsCsum, rejected });
  },

  // B: ping-pong `count` datagrams with VIP:port from IP_B:sport, one at a time (low
  // rate: each echo waits for the ring block's retire timer); round-trip times in µs.
  async udpPing(a) {
    const sock = dgram.createSocket('udp4');
    const got = new Set<string>();
    const bad: string[] = [];
    let waiting: ((text: string) => void) | null = null;
    sock.on('message', (m, r) => {
      if (r.address !== VIP || r.port !== a.port) bad.push(`${r.address}:${r.port}`);
      got.add(m.toString());
      waiting?.(m.toString());
    });
    await new Promise<void>((r) => sock.bind(a.sport, IP_B, r));
    const rtts: number[] = [];
    const deadline = Date.now() + a.timeoutMs;
    for (let i = 0; i < a.count && Date.now() < deadline; i++) {
      const text = `ping-${i}`;
      const t0 = process.hrtime.bigint();
      const echoed = new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), 500);
        waiting = (t) => {
          if (t !== text) return;
          clearTimeout(timer);
          resolve(true);
        };
      });
      await new Promise<void>((r, j) => sock.send(Buffer.from(text), a.port, VIP, (e) => (e ? j(e) : r())));
      if (await echoed) rtts.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
    waiting = null;
    sock.close();
    rtts.sort((x, y) => x - y);
    const pct = (q: number) => (rtts.length ? Math.round(rtts[Math.min(rtts.length - 1, Math.floor(q * rtts.length))]) : -1);
    result({ timedOut: got.size < a.count, replies: got.size, bad, rttP50us: pct(0.5), rttP99us: pct(0.99) });
  },

  // A: a TCP server on IP_A:port, and a vnetHdr socket watching its incoming segments.
  async gso(a) {
    const sock = new AfPacketSocket(a.ifname, { vnetHdr: true, blockSize: 1 << 20, blockCount: 16 });
    let frames = 0;
    let superFrames = 0;
    let truncated = 0;
    let maxLen = 0;
    let tcpPayload = 0;
    const gsoTypes = new Set<number>();
    const gsoSizes = new Set<number>();
    sock.start(() => {
      sock.drain((bytes, descs, n) => {
        for (let i = 0; i < n; i++) {
          const d = i * DESC_STRIDE;
          const off = descs[d + DESC_OFFSET];
          const snaplen = descs[d + DESC_SNAPLEN];
          const len = descs[d + DESC_LEN];
          if (rd16(bytes, off + 12) !== 0x0800 || bytes[off + 14 + 9] !== 6) continue;
          const ihl = (bytes[off + 14] & 15) * 4;
          const t = off + 14 + ihl;
          if (rd16(bytes, t + 2) !== a.port) continue;
          frames++;
          if (snaplen !== len) truncated++;
          maxLen = Math.max(maxLen, len);
          tcpPayload += rd16(bytes, off + 16) - ihl - (bytes[t + 12] >> 4) * 4;
          if (len > 1514) {
            superFrames++;
            gsoTypes.add((descs[d + DESC_VNET_FLAGS_GSO_HDRLEN] >> 8) & 0xff);
            gsoSizes.add(descs[d + DESC_VNET_GSOSIZE_CSUMSTART] & 0xffff);
          }
        }
      });
    });
    let received = 0;
    let ended = false;
    const server = net.createServer((c) => {
      c.on('data', (x) => (received += x.length));
      c.on('end', () => {
        ended = true;
        c.end();
      });
    });
    await new Promise<void>((r) => server.listen(a.port, IP_A, r));
    ready();
    const timedOut = !(await until(() => ended, a.timeoutMs));
    await sleep(50);
    server.close();
    sock.close();
    result({ timedOut, received, frames, superFrames, truncated, maxLen, tcpPayload, gsoTypes: [...gsoTypes], gsoSizes: [...gsoSizes] });
  },

  // B: send `bytes` over one TCP connection to IP_A:port.
  async tcpSend(a) {
    const c = net.connect(a.port, IP_A);
    await new Promise<void>((r, j) => {
      c.on('connect', r);
      c.on('error', j);
    });
    const chunk = Buffer.alloc(64 * 1024, 0x5a);
    let left = a.bytes;
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      if (!c.write(n === chunk.length ? chunk : chunk.subarray(0, n))) await new Promise((r) => c.once('drain', r));
      left -= n;
    }
    c.end();
    await new Promise((r) => c.on('close', r));
    result({ written: a.bytes });
  },

  // A: two sockets in one PACKET_FANOUT_HASH group; which socket saw which flow.
  async fanout(a) {
    const socks = [0, 1].map(() => new AfPacketSocket(a.ifname, { fanout: { group: a.group, mode: 'hash' }, blockSize: 1 << 16, blockCount: 8 }));
    const cols = socks.map((s) => new Collector(s, a.port));
    ready();
    const total = () => cols[0].frames.length + cols[1].frames.length;
    const timedOut = !(await until(() => total() >= a.expect, a.timeoutMs));
    await sleep(50);
    cols.forEach((c) => c.drain());
    const flowSockets = new Map<number, Set<number>>();
    cols.forEach((c, i) =>
      c.frames.forEach((f) => {
        const key = Math.floor(f.seq / a.perFlow);
        if (!flowSockets.has(key)) flowSockets.set(key, new Set());
        flowSockets.get(key)!.add(i);
      }),
    );
    result({ timedOut, bySocket: cols.map((c) => c.frames.length), flows: flowSockets.size, split: [...flowSockets.values()].filter((s) => s.size > 1).length });
    socks.forEach((s) => s.close());
  },

  // A (on lo), run with --expose-gc: sockets dropped without close() are finalized (fds
  // closed), a ring view outlives its socket safely, close() inside the callback works, and
  // neither a stopped nor an unref()ed socket keeps the process alive.
  async lifecycle() {
    const gc = (globalThis as { gc?: () => void }).gc!;
    const fds = () => readdirSync('/proc/self/fd').length;
    const settle = async () => {
      for (let i = 0; i < 5; i++) {
        gc();
        await new Promise((r) => setImmediate(r));
        await sleep(10);
      }
    };
    await settle();
    const fds0 = fds();
    let view: Uint8Array | null = null;
    (() => {
      for (let i = 0; i < 20; i++) {
        const s = new AfPacketSocket('lo', { blockSize: 1 << 16, blockCount: 4 });
        s.start(() => {});
        s.stop();
        if (i === 0) view = s.bytes;
      }
    })();
    const fdsOpen = fds();
    await settle();
    const fdsAfterGc = fds();
    const viewLen = view!.length;
    let sum = 0;
    for (let i = 0; i < view!.length; i += 4096) sum += view![i]; // still mapped: no crash

    // close() from inside the readiness callback.
    const s = new AfPacketSocket('lo', { blockSize: 1 << 16, blockCount: 4, ignoreOutgoing: false });
    let calls = 0;
    s.start(() => {
      calls++;
      s.drain(() => {});
      s.close();
    });
    const u = dgram.createSocket('udp4');
    for (let i = 0; i < 3; i++) await new Promise<void>((r) => u.send(Buffer.from('x'), 9, '127.0.0.1', () => r()));
    u.close();
    await until(() => calls > 0, 3000);
    await sleep(50);

    // A started but unref()ed socket must not hold the process.
    const held = new AfPacketSocket('lo', { blockSize: 1 << 16, blockCount: 4 });
    held.start(() => {});
    held.unref();
    result({ fds0, fdsOpen, fdsAfterGc, viewLen, sum: sum >= 0, callsAfterClose: calls, fdClosed: s.fd });
  },

  // A: its own veth pair (l0/l1): link down while polling -> callback error ENETDOWN and
  // polling stops; sends while down are counted, not thrown; start() again after link up.
  async linkdown(a) {
    const ip = (...args: string[]) => execFileSync('ip', args, { stdio: 'ignore', timeout: 5000 });
    ip('link', 'add', a.l0, 'type', 'veth', 'peer', 'name', a.l1);
    ip('link', 'set', a.l0, 'up');
    ip('link', 'set', a.l1, 'up');
    const s = new AfPacketSocket(a.l0);
    const errors: string[] = [];
    let readable = 0;
    const onReadable = (err?: Error) => {
      if (err) errors.push(`${(err as { code?: string }).code}:${(err as { syscall?: string }).syscall}`);
      else {
        readable++;
        s.drain(() => {});
      }
    };
    s.start(onReadable);
    ip('link', 'set', a.l0, 'down');
    await until(() => errors.length > 0, 3000);
    const frame = new Uint8Array(64);
    frame.fill(0xff, 0, 6); // broadcast
    const one = new Uint32Array([0, 60]);
    const sentDown = s.send(frame, new Uint32Array([0, 60, 0, 60, 0, 60]), 3);
    const counters = [s.txLinkDrops, s.txRejected, s.txLastErrno];
    ip('link', 'set', a.l0, 'up');
    s.start(onReadable);
    const sentUp = s.send(frame, one, 1);
    // Something readable after link up: the peer sends a broadcast frame to us.
    const peer = new AfPacketSocket(a.l1);
    peer.send(frame, one, 1);
    await until(() => readable > 0, 3000);
    peer.close();
    s.close();
    ip('link', 'del', a.l0);
    result({ errors, sentDown, counters, sentUp, readable: readable > 0 });
  },

  // anywhere, as nobody: opening a packet socket must fail with EPERM.
  async eperm() {
    try {
      new AfPacketSocket('lo').close();
      result({ code: 'none' });
    } catch (e) {
      result({ code: (e as { code?: string }).code ?? '', message: (e as Error).message, syscall: (e as { syscall?: string }).syscall ?? '' });
    }
  },

  // B: send prebuilt 64-byte frames to VIP (1024 source ports) in 1024-frame batches for
  // `ms` milliseconds, through sendmmsg.
  async blast(a) {
    const sock = new AfPacketSocket(a.ifname, { blockSize: 1 << 16, blockCount: 4, sndbuf: 16 << 20 });
    const n = 1024;
    const buf = new Uint8Array(n * 64);
    const descs = new Uint32Array(n * 2);
    for (let i = 0; i < n; i++) {
      descs[i * 2] = i * 64;
      descs[i * 2 + 1] = writeUdpFrame(buf, i * 64, { dstMac: a.dstMac, srcMac: a.srcMac, src: IP_B, dst: VIP, sport: 10000 + i, dport: a.port, payload: payloadFor(i, 18) });
    }
    ready();
    await sleep(200);
    const t0 = process.hrtime.bigint();
    const end = Date.now() + a.ms;
    let sent = 0;
    let calls = 0;
    while (Date.now() < end) {
      sent += sock.send(buf, descs, n);
      calls++;
    }
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    result({ sent, calls, pps: Math.round(sent / secs), backpressure: sock.txBackpressureDrops, rejected: sock.txRejected, lastErrno: sock.txLastErrno });
    sock.close();
  },

  // A: count frames to VIP through the ring; rate from the first to the last frame.
  async sink(a) {
    const sock = new AfPacketSocket(a.ifname, { filter: vipFilter({ vips: [VIP] }) });
    let frames = 0;
    let blocks = 0;
    let touched = 0;
    let first = 0n;
    let last = 0n;
    let cpu0: NodeJS.CpuUsage | null = null;
    sock.start(() => {
      if (cpu0 === null) cpu0 = process.cpuUsage();
      const got = sock.drain((bytes, descs, n) => {
        blocks++;
        for (let i = 0; i < n; i++) touched += bytes[descs[i * DESC_STRIDE + DESC_OFFSET] + 37]; // low byte of the UDP dport
      });
      if (got) {
        if (first === 0n) first = process.hrtime.bigint();
        last = process.hrtime.bigint();
        frames += got;
      }
    });
    ready();
    await until(() => first !== 0n, a.timeoutMs);
    await until(() => last !== 0n && process.hrtime.bigint() - last > 300_000_000n, a.timeoutMs);
    const secs = Number(last - first) / 1e9;
    const cpu = process.cpuUsage(cpu0 ?? undefined);
    const stats = sock.stats();
    sock.close();
    // CPU of this process per frame (includes the 300 ms idle tail, which costs ~nothing).
    const nsPerFrame = Math.round(((cpu.user + cpu.system) * 1000) / Math.max(frames, 1));
    result({ frames, blocks, secs, pps: Math.round(frames / secs), stats, touched: touched > 0, nsPerFrame, cpuUserMs: cpu.user / 1000, cpuSysMs: cpu.system / 1000 });
  },
};

// ===================================================================================
// The tests (parent process)
// ===================================================================================

interface RoleRun {
  child: ChildProcess;
  ready: Promise<void>;
  result: Promise<Args>;
}

const children = new Set<ChildProcess>();

/** Starts this file in `ns` (or here, as `uid`) with a role; kills it after `timeoutMs`. */
function startRole(ns: string | null, role: string, args: Args, timeoutMs: number, uid?: number, nodeArgs: string[] = []): RoleRun {
  const env: NodeJS.ProcessEnv = { ...process.env, TSVS_AFP_ROLE: role, TSVS_AFP_ARGS: JSON.stringify(args) };
  delete env.NODE_TEST_CONTEXT;
  delete env.NODE_OPTIONS;
  const [cmd, argv] = ns ? ['ip', ['netns', 'exec', ns, process.execPath, ...nodeArgs, __filename]] : [process.execPath, [...nodeArgs, __filename]];
  const child = spawn(cmd, argv, { env, cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'], uid, gid: uid });
  children.add(child);
  let out = '';
  let err = '';
  let onReady: () => void = () => {};
  const readyP = new Promise<void>((resolve) => (onReady = resolve));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  child.stdout!.on('data', (d) => {
    out += d;
    if (/^READY$/m.test(out)) onReady();
  });
  child.stderr!.on('data', (d) => (err += d));
  const resultP = new Promise<Args>((resolve, reject) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      const m = /^RESULT (.*)$/m.exec(out);
      if (m && code === 0) resolve(JSON.parse(m[1]) as Args);
      else reject(new Error(`role ${role} in ${ns ?? 'root ns'} ended (code ${code}, signal ${signal}) ${m ? 'with' : 'without'} a result\nstdout: ${out}\nstderr: ${err}`));
    });
    child.on('error', reject);
  });
  // `ready` also settles (rejects) if the child dies first.
  const ready = Promise.race([readyP, resultP.then(() => { throw new Error(`role ${role} ended before READY\nstdout: ${out}`); })]);
  ready.catch(() => {});
  resultP.catch(() => {});
  return { child, ready, result: resultP };
}

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10000 });
}

interface Lab {
  nsA: string;
  nsB: string;
  vethA: string;
  vethB: string;
  macA: string;
  macB: string;
  ifindexA: number;
  mtuA: number;
}

function defineTests(): void {
  const isRoot = process.getuid?.() === 0;
  const skip = !isRoot ? 'needs root (network namespaces, AF_PACKET)' : !hasNative() ? 'native addon not built (npm run build:native)' : false;
  const tag = `${process.pid}-${randomBytes(3).toString('hex')}`;
  const short = randomBytes(4).toString('hex');
  const lab: Lab = { nsA: `tsvs-${tag}-a`, nsB: `tsvs-${tag}-b`, vethA: `ta${short}`, vethB: `tb${short}`, macA: '', macB: '', ifindexA: 0, mtuA: 0 };
  const created: string[] = [];

  before(() => {
    if (skip) return;
    for (const ns of [lab.nsA, lab.nsB]) {
      sh('ip', ['netns', 'add', ns]);
      created.push(ns);
      // Quiet links: no IPv6 autoconfiguration traffic on the veth.
      sh('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    sh('ip', ['link', 'add', lab.vethA, 'netns', lab.nsA, 'type', 'veth', 'peer', 'name', lab.vethB, 'netns', lab.nsB]);
    sh('ip', ['-n', lab.nsA, 'addr', 'add', `${IP_A}/24`, 'dev', lab.vethA]);
    sh('ip', ['-n', lab.nsB, 'addr', 'add', `${IP_B}/24`, 'dev', lab.vethB]);
    sh('ip', ['-n', lab.nsA, 'link', 'set', lab.vethA, 'up']);
    sh('ip', ['-n', lab.nsB, 'link', 'set', lab.vethB, 'up']);
    const a = JSON.parse(sh('ip', ['-n', lab.nsA, '-j', 'link', 'show', lab.vethA]))[0];
    const b = JSON.parse(sh('ip', ['-n', lab.nsB, '-j', 'link', 'show', lab.vethB]))[0];
    lab.macA = a.address;
    lab.macB = b.address;
    lab.ifindexA = a.ifindex;
    lab.mtuA = a.mtu;
    // B reaches the VIP and the non-VIP at A's MAC without ARP; A reaches B likewise.
    for (const ip of [VIP, OTHER]) sh('ip', ['-n', lab.nsB, 'neigh', 'replace', ip, 'lladdr', lab.macA, 'dev', lab.vethB, 'nud', 'permanent']);
    sh('ip', ['-n', lab.nsA, 'neigh', 'replace', IP_B, 'lladdr', lab.macB, 'dev', lab.vethA, 'nud', 'permanent']);
  });

  after(() => {
    for (const c of children) if (c.pid !== undefined && c.exitCode === null) c.kill('SIGKILL');
    for (const ns of created) {
      try {
        sh('ip', ['netns', 'del', ns]);
      } catch {
        /* already gone */
      }
    }
  });

  test('ifInfo inside the namespace agrees with ip link', { skip, timeout: 20000 }, async () => {
    const r = await startRole(lab.nsA, 'ifinfo', { ifname: lab.vethA }, 15000).result;
    assert.equal(r.ifindex, lab.ifindexA);
    assert.equal(r.mac, lab.macA);
    assert.equal(r.mtu, lab.mtuA);
    assert.equal(r.hwType, 1);
    assert.equal(r.up, true);
    assert.equal(r.running, true);
    assert.equal(r.missing, 'ENODEV');
  });

  test('RX ring: UDP frames arrive whole, in order, with their lengths and content', { skip, timeout: 30000 }, async () => {
    const rx = startRole(lab.nsA, 'rx', { ifname: lab.vethA, port: 9999, timeoutMs: 15000 }, 20000);
    await rx.ready;
    const sizes = [8, 9, 100, 333, 1000, 1471, 1472];
    const all: number[] = [];
    for (let i = 0; i < 7; i++) all.push(...sizes);
    const send = await startRole(lab.nsB, 'udpSend', { sends: [{ dst: VIP, port: 9999, sizes: all }], end: { dst: VIP, port: 9999 } }, 15000).result;
    const r = await rx.result;
    assert.equal(r.timedOut, false);
    const f = r.filtered;
    assert.equal(f.frames.length, send.sent);
    f.frames.forEach((x: RxRecord, i: number) => {
      assert.equal(x.seq, i, 'in order');
      assert.equal(x.len, 42 + all[i], `frame ${i} wire length`);
      assert.equal(x.snaplen, x.len, `frame ${i} whole`);
      assert.ok(x.status & TP_STATUS_USER);
      assert.ok(x.payloadOk, `frame ${i} payload`);
      assert.equal(x.dstMac, lab.macA);
      assert.equal(x.src, IP_B);
      assert.equal(x.dst, VIP);
    });
    assert.ok(f.blocks >= 1 && f.blocks <= f.frames.length + 1);
    assert.equal(f.heldBlocks, 0);
    assert.equal(f.stats.drops, 0);
    assert.ok(f.stats.packets >= f.frames.length);
    assert.equal(r.ringAfterClose, 0);
  });

  test('BPF filter: only ARP and IPv4 to the VIP reach the ring', { skip, timeout: 30000 }, async () => {
    const rx = startRole(lab.nsA, 'rx', { ifname: lab.vethA, port: 9999, filterVips: [VIP], control: true, timeoutMs: 15000 }, 20000);
    await rx.ready;
    const sizes = (n: number) => Array.from({ length: n }, () => 64);
    await startRole(lab.nsB, 'udpSend', {
      sends: [
        { dst: VIP, port: 9999, sizes: sizes(20) },
        { dst: OTHER, port: 9999, sizes: sizes(20) },
        { dst: VIP, port: 9999, sizes: sizes(20) },
      ],
      end: { dst: VIP, port: 9999 },
    }, 15000).result;
    const r = await rx.result;
    assert.equal(r.timedOut, false);
    const toVip = (c: { frames: RxRecord[] }) => c.frames.filter((x) => x.dst === VIP).length;
    const toOther = (c: { frames: RxRecord[] }) => c.frames.filter((x) => x.dst === OTHER).length;
    assert.equal(toVip(r.filtered), 40);
    assert.equal(toOther(r.filtered), 0, 'non-VIP frames are dropped by the filter');
    assert.equal(r.filtered.others, 0, 'nothing else passes the filter');
    assert.equal(toVip(r.control), 40);
    assert.equal(toOther(r.control), 20, 'the unfiltered socket does see them');
  });

  test('802.1Q: the tag comes out of band in the descriptor; the filter drops or keeps tagged frames', { skip, timeout: 30000 }, async () => {
    const rx = startRole(lab.nsA, 'rxVlan', { ifname: lab.vethA, port: 9999, timeoutMs: 15000 }, 20000);
    await rx.ready;
    const tx = await startRole(lab.nsB, 'vlanTx', { ifname: lab.vethB, dstMac: lab.macA, srcMac: lab.macB, port: 9999, tagged: 5, untagged: 5 }, 15000).result;
    assert.equal(tx.sent, 11);
    const r = await rx.result;
    assert.equal(r.timedOut, false);
    const [strict, vlan, control] = r.seen as { seq: number; vlan: number; len: number; ok: boolean }[][];
    const tagged = (x: { seq: number }) => x.seq < 5;
    assert.deepEqual(strict.map((x) => x.seq), [5, 6, 7, 8, 9], 'vlan: false drops tagged frames');
    assert.deepEqual(vlan.map((x) => x.seq), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 'vlan: true keeps them');
    assert.deepEqual(control.map((x) => x.seq), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const x of vlan) {
      // The kernel strips the tag before taps: the frame in the ring is untagged and the
      // descriptor carries TCI 100 and TPID 0x8100.
      assert.equal(x.vlan, tagged(x) ? 0x8100 * 65536 + 100 : -1, `seq ${x.seq}`);
      assert.equal(x.len, 14 + 20 + 8 + 40);
      assert.ok(x.ok);
    }
  });

  test('TX: crafted frames reach the peer in one batch; ignoreOutgoing hides them', { skip, timeout: 30000 }, async () => {
    const count = 10;
    const recv = startRole(lab.nsB, 'udpRecv', { port: 7777, expect: 3 * count, timeoutMs: 10000 }, 15000);
    await recv.ready;
    const tx = await startRole(lab.nsA, 'tx', { ifname: lab.vethA, dstMac: lab.macB, srcMac: lab.macA, port: 7777, count }, 15000).result;
    const r = await recv.result;
    assert.equal(tx.sentPlain, count);
    assert.equal(tx.sentVnet, count);
    assert.equal(tx.sentBypass, count);
    assert.deepEqual(tx.txCounters, [count, 0, 0, count, 0]);
    assert.deepEqual(tx.errors, ['RangeError', 'RangeError']);
    assert.equal(r.timedOut, false);
    const texts = r.msgs.map((m: { text: string }) => m.text).sort();
    const expected = ['plain', 'vnet', 'bypass'].flatMap((k) => Array.from({ length: count }, (_, i) => `tsvs-tx-${k}-${i}`)).sort();
    assert.deepEqual(texts, expected, 'every frame arrives once, checksums accepted by the peer');
    for (const m of r.msgs) {
      assert.equal(m.from, IP_A);
      assert.ok(m.port >= 5555 && m.port <= 5557);
    }
    assert.equal(tx.seenByIgnoring, 0, 'ignoreOutgoing sockets do not capture our transmissions');
    assert.equal(tx.seenByAll, 2 * count, 'a socket without ignoreOutgoing does, except for qdisc-bypass frames');
  });

  test('zero-copy echo from the ring with vnet headers (partial checksums carried through)', { skip, timeout: 30000 }, async (t) => {
    const count = 20;
    const echo = startRole(lab.nsA, 'echo', { ifname: lab.vethA, port: 9999, expect: count, timeoutMs: 15000 }, 20000);
    await echo.ready;
    const ping = await startRole(lab.nsB, 'udpPing', { sport: 6000, port: 9999, count, timeoutMs: 10000 }, 15000).result;
    const e = await echo.result;
    t.diagnostic(`echo: ${JSON.stringify(e)}; round trip through the JS echo at low rate (retireMs 1): p50 ${ping.rttP50us} µs, p99 ${ping.rttP99us} µs`);
    assert.equal(e.echoed, count);
    assert.equal(e.sent, count);
    assert.equal(ping.timedOut, false, `echoes received: ${ping.replies}`);
    assert.equal(ping.replies, count);
    assert.deepEqual(ping.bad, []);
    // veth's default TX checksum offload: B's datagrams arrive with partial checksums,
    // which the vnet header describes, and which the peer accepts when sent back with it.
    assert.ok(e.csumNotReady > 0, 'partial checksums arrive (veth offloads are on by default)');
    assert.equal(e.csumNotReady, e.needsCsum);
  });

  test('vnet headers: GSO super-frames arrive whole with their gso type and size', { skip, timeout: 30000 }, async (t) => {
    const bytes = 4 << 20;
    const gso = startRole(lab.nsA, 'gso', { ifname: lab.vethA, port: 8080, timeoutMs: 15000 }, 20000);
    await gso.ready;
    await startRole(lab.nsB, 'tcpSend', { port: 8080, bytes }, 15000).result;
    const r = await gso.result;
    t.diagnostic(`gso: ${JSON.stringify(r)}`);
    assert.equal(r.timedOut, false);
    assert.equal(r.received, bytes);
    assert.equal(r.truncated, 0, 'no frame truncated');
    assert.ok(r.superFrames > 0, `super-frames seen (max ${r.maxLen} bytes over ${r.frames} frames)`);
    assert.ok(r.maxLen > 1514 && r.maxLen <= 65536 + 14);
    assert.deepEqual(r.gsoTypes, [VIRTIO_NET_HDR_GSO_TCPV4]);
    assert.ok(r.gsoSizes.every((s: number) => s > 0 && s <= lab.mtuA - 40));
    assert.ok(r.tcpPayload >= bytes, `payload bytes seen ${r.tcpPayload}`);
  });

  test('PACKET_FANOUT hash: each flow goes to one socket, flows spread over both', { skip, timeout: 30000 }, async () => {
    const flows = 16;
    const perFlow = 4;
    const group = 1 + (process.pid % 60000);
    const fan = startRole(lab.nsA, 'fanout', { ifname: lab.vethA, port: 9999, group, expect: flows * perFlow, perFlow, timeoutMs: 15000 }, 20000);
    await fan.ready;
    const sends = Array.from({ length: flows }, (_, i) => ({ dst: VIP, port: 9999, sport: 20000 + i, sizes: Array.from({ length: perFlow }, () => 32) }));
    await startRole(lab.nsB, 'udpSend', { sends }, 15000).result;
    const r = await fan.result;
    assert.equal(r.timedOut, false);
    assert.equal(r.flows, flows);
    assert.equal(r.split, 0, 'no flow split between sockets');
    assert.ok(r.bySocket[0] > 0 && r.bySocket[1] > 0, `both sockets used: ${r.bySocket}`);
  });

  test('lifecycle: finalizers close, views stay safe, stopped or unref()ed sockets let the process exit', { skip, timeout: 20000 }, async () => {
    // The role's process must end by itself for the result to count (else it is killed).
    const r = await startRole(lab.nsA, 'lifecycle', {}, 15000, undefined, ['--expose-gc']).result;
    assert.equal(r.fdsOpen, r.fds0 + 20);
    assert.equal(r.fdsAfterGc, r.fds0, 'sockets dropped without close() are closed by their finalizer');
    assert.equal(r.viewLen, 1 << 18, 'a ring view outlives its socket, still mapped');
    assert.equal(r.callsAfterClose, 1, 'close() inside the callback stops further calls');
    assert.equal(r.fdClosed, -1);
  });

  test('link down: the readiness callback gets ENETDOWN, sends are counted drops', { skip, timeout: 20000 }, async () => {
    const r = await startRole(lab.nsA, 'linkdown', { l0: `l0${short}`, l1: `l1${short}` }, 15000).result;
    assert.deepEqual(r.errors, ['ENETDOWN:poll']);
    assert.equal(r.sentDown, 0);
    assert.deepEqual(r.counters, [3, 0, 100]);
    assert.equal(r.sentUp, 1);
    assert.equal(r.readable, true, 'polling resumes after start() again');
  });

  test('as an unprivileged user the socket fails with code EPERM', { skip, timeout: 20000 }, async (t) => {
    let r: Args;
    try {
      r = await startRole(null, 'eperm', {}, 15000, 65534).result;
    } catch (e) {
      t.skip(`cannot run node as nobody here: ${(e as Error).message.split('\n')[0]}`);
      return;
    }
    assert.equal(r.code, 'EPERM');
    assert.equal(r.syscall, 'socket(AF_PACKET)');
    assert.match(r.message, /need root or CAP_NET_RAW/);
  });

  test('throughput: sendmmsg batches from B, ring to JS in A', { skip, timeout: 30000 }, async (t) => {
    const sink = startRole(lab.nsA, 'sink', { ifname: lab.vethA, timeoutMs: 10000 }, 20000);
    await sink.ready;
    const blast = await startRole(lab.nsB, 'blast', { ifname: lab.vethB, dstMac: lab.macA, srcMac: lab.macB, port: 9999, ms: 2000 }, 15000).result;
    const s = await sink.result;
    t.diagnostic(`TX (B, sendmmsg 1024/batch, 60-byte frames): ${blast.sent} frames, ${blast.pps} frames/s, backpressure drops ${blast.backpressure}`);
    t.diagnostic(`RX (A, TPACKET_V3 ring into JS): ${s.frames} frames in ${s.blocks} blocks, ${s.pps} frames/s, ring drops ${s.stats.drops}, receiver CPU ${s.nsPerFrame} ns/frame (user ${s.cpuUserMs} ms, sys ${s.cpuSysMs} ms)`);
    assert.ok(blast.sent > 0);
    assert.ok(s.frames > 0);
    assert.ok(s.frames + s.stats.drops <= blast.sent + 1000);
  });
}

if (process.env.TSVS_AFP_ROLE) {
  const role = roles[process.env.TSVS_AFP_ROLE];
  if (!role) throw new Error(`unknown role ${process.env.TSVS_AFP_ROLE}`);
  role(JSON.parse(process.env.TSVS_AFP_ARGS ?? '{}') as Args).catch((e) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exit(1);
  });
} else {
  defineTests();
}
