// Frame parsing and crafting for the namespace tests (test code: clarity over speed). The
// parser summarises a frame as JSON-friendly fields; the builders write valid Ethernet +
// IPv4 (+ options) + TCP/UDP frames with correct checksums that a test then breaks on
// purpose.

export interface Frame {
  /** ms since the capture started. */
  t?: number;
  /** Sent by the capturing host (source MAC is the interface's own). */
  out?: boolean;
  len: number;
  snap: number;
  dstMac: string;
  srcMac: string;
  type: number;
  arp?: { op: number; sha: string; spa: string; tha: string; tpa: string };
  ip?: { src: string; dst: string; ttl: number; proto: number; ihl: number; totLen: number; id: number; mf: boolean; fragOff: number; csumOk: boolean };
  tcp?: { sport: number; dport: number; flags: number; seq: number };
  udp?: { sport: number; dport: number };
  icmp?: { type: number; code: number; csumOk: boolean; inner?: { src: string; dst: string; proto: number; ttl: number; sport: number; dport: number } };
}

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

export function rd16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}
export function rd32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}
export function wr16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}
export function wr32(b: Uint8Array, o: number, v: number): void {
  wr16(b, o, (v >>> 16) & 0xffff);
  wr16(b, o + 2, v & 0xffff);
}
export function macText(b: Uint8Array, o: number): string {
  return Array.from(b.subarray(o, o + 6), (x) => x.toString(16).padStart(2, '0')).join(':');
}
export function ipText(b: Uint8Array, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}
export function macBytes(mac: string): number[] {
  return mac.split(':').map((x) => parseInt(x, 16));
}
export function ipBytes(ip: string): number[] {
  return ip.split('.').map(Number);
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
/** Internet checksum of b[o, o+len). */
export function checksum(b: Uint8Array, o: number, len: number): number {
  return csumFold(csumAdd(0, b, o, len));
}

/** Summarises one frame: Ethernet, ARP, IPv4 with TCP/UDP/ICMP (and an ICMP error's quote). */
export function parseFrame(b: Uint8Array, o: number, snap: number, len: number): Frame {
  const f: Frame = { len, snap, dstMac: macText(b, o), srcMac: macText(b, o + 6), type: snap >= 14 ? rd16(b, o + 12) : 0 };
  if (f.type === 0x0806 && snap >= 42) {
    const a = o + 14;
    f.arp = { op: rd16(b, a + 6), sha: macText(b, a + 8), spa: ipText(b, a + 14), tha: macText(b, a + 18), tpa: ipText(b, a + 24) };
    return f;
  }
  if (f.type !== 0x0800 || snap < 34) return f;
  const ip = o + 14;
  const ihl = (b[ip] & 0x0f) * 4;
  const flagsOff = rd16(b, ip + 6);
  f.ip = {
    src: ipText(b, ip + 12), dst: ipText(b, ip + 16), ttl: b[ip + 8], proto: b[ip + 9], ihl: b[ip] & 0x0f,
    totLen: rd16(b, ip + 2), id: rd16(b, ip + 4), mf: (flagsOff & 0x2000) !== 0, fragOff: (flagsOff & 0x1fff) * 8,
    csumOk: ihl >= 20 && snap >= 14 + ihl && checksum(b, ip, ihl) === 0,
  };
  if (ihl < 20 || f.ip.fragOff !== 0) return f;
  const l4 = ip + ihl;
  const l4len = Math.min(f.ip.totLen, snap - 14) - ihl;
  if (f.ip.proto === 6 && l4len >= 20) {
    f.tcp = { sport: rd16(b, l4), dport: rd16(b, l4 + 2), flags: b[l4 + 13], seq: rd32(b, l4 + 4) };
  } else if (f.ip.proto === 17 && l4len >= 8) {
    f.udp = { sport: rd16(b, l4), dport: rd16(b, l4 + 2) };
  } else if (f.ip.proto === 1 && l4len >= 8) {
    f.icmp = { type: b[l4], code: b[l4 + 1], csumOk: checksum(b, l4, l4len) === 0 };
    if ((f.icmp.type === 3 || f.icmp.type === 11) && l4len >= 8 + 20 + 4) {
      const q = l4 + 8;
      const qihl = (b[q] & 0x0f) * 4;
      if (qihl >= 20 && l4len >= 8 + qihl + 4) {
        f.icmp.inner = { src: ipText(b, q + 12), dst: ipText(b, q + 16), proto: b[q + 9], ttl: b[q + 8], sport: rd16(b, q + qihl), dport: rd16(b, q + qihl + 2) };
      }
    }
  }
  return f;
}

export interface TcpFrameSpec {
  dstMac: string;
  srcMac: string;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  flags: number;
  seq?: number;
  ack?: number;
  ttl?: number;
  /** IPv4 options (padded to a multiple of 4 with End of Options). */
  ipOptions?: number[];
  /** Set the More Fragments bit. */
  moreFragments?: boolean;
  payload?: Uint8Array;
}

/** A valid Ethernet + IPv4 + TCP frame (checksums right), as a fresh Uint8Array. */
export function tcpFrame(s: TcpFrameSpec): Uint8Array {
  const opts = [...(s.ipOptions ?? [])];
  while (opts.length % 4) opts.push(0);
  const ihl = 20 + opts.length;
  const payload = s.payload ?? new Uint8Array(0);
  const tot = ihl + 20 + payload.length;
  const b = new Uint8Array(14 + tot);
  b.set(macBytes(s.dstMac), 0);
  b.set(macBytes(s.srcMac), 6);
  wr16(b, 12, 0x0800);
  const ip = 14;
  b[ip] = 0x40 | (ihl / 4);
  wr16(b, ip + 2, tot);
  wr16(b, ip + 4, 0x1234);
  wr16(b, ip + 6, s.moreFragments ? 0x2000 : 0x4000);
  b[ip + 8] = s.ttl ?? 64;
  b[ip + 9] = 6;
  b.set(ipBytes(s.src), ip + 12);
  b.set(ipBytes(s.dst), ip + 16);
  b.set(opts, ip + 20);
  fixIpChecksum(b);
  const t = ip + ihl;
  wr16(b, t, s.sport);
  wr16(b, t + 2, s.dport);
  wr32(b, t + 4, s.seq ?? 0x01020304);
  wr32(b, t + 8, s.ack ?? 0);
  b[t + 12] = 5 << 4;
  b[t + 13] = s.flags;
  wr16(b, t + 14, 64240);
  b.set(payload, t + 20);
  let sum = csumAdd(0, b, ip + 12, 8) + 6 + 20 + payload.length;
  sum = csumAdd(sum, b, t, 20 + payload.length);
  wr16(b, t + 16, csumFold(sum));
  return b;
}

/** Recomputes the IPv4 header checksum of an Ethernet frame (header length from IHL, at most what is there). */
export function fixIpChecksum(b: Uint8Array): void {
  const ip = 14;
  const ihl = Math.min((b[ip] & 0x0f) * 4, b.length - ip);
  wr16(b, ip + 10, 0);
  wr16(b, ip + 10, checksum(b, ip, ihl));
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}
