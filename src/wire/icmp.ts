// ICMPv4 view (RFC 792) and the messages tsvs sends: echo replies for a VIP (turned around
// in place), time exceeded and destination unreachable (written into a TX buffer without
// allocating, quoting as much of the offending datagram as fits in 576 bytes, RFC 1812
// 4.3.2.3, as the kernel's icmp_send() does). reset() gets the IP payload and only needs
// the 8-byte header; the checksum covers the whole message (`len` bytes).
// View contract: see ethernet.ts.

import { checksum, csumReplace16, sum16 } from './checksum';
import { BAD_L4, TRUNCATED } from './errors';
import { IPV4_HEADER_LEN, type Ipv4View, writeIpv4Header } from './ipv4';
import { SCRATCH, SCRATCH_DV } from './scratch';

const OK = 0; // errors.ts OK, as a local (see the note at the export list below)

const ICMP_TYPE = 0;
const ICMP_CODE = 1;
const ICMP_CHECKSUM = 2;
const ICMP_REST = 4;        // rest of header: id/seq (echo), unused/MTU (errors), ...
const ICMP_IDENT = 4;
const ICMP_SEQ = 6;
const ICMP_NEXT_HOP_MTU = 6;
const ICMP_HEADER_LEN = 8;

const IPPROTO_ICMP = 1;

const ICMP_ECHO_REPLY = 0;
const ICMP_DEST_UNREACH = 3;
const ICMP_SOURCE_QUENCH = 4;
const ICMP_REDIRECT = 5;
const ICMP_ECHO_REQUEST = 8;
const ICMP_TIME_EXCEEDED = 11;
const ICMP_PARAMETER_PROB = 12;

// Destination unreachable codes.
const ICMP_NET_UNREACH = 0;
const ICMP_HOST_UNREACH = 1;
const ICMP_PROT_UNREACH = 2;
const ICMP_PORT_UNREACH = 3;
const ICMP_FRAG_NEEDED = 4;
// Time exceeded codes.
const ICMP_EXC_TTL = 0;
const ICMP_EXC_FRAGTIME = 1;

/** Highest type the kernel knows (NR_ICMP_TYPES); errors are never sent about higher ones. */
const ICMP_MAX_KNOWN_TYPE = 18;
/** Largest ICMP error datagram (IP header included), RFC 1812 4.3.2.3. */
const ICMP_ERROR_MAX_LEN = 576;
/** IP precedence "internetwork control", the TOS of ICMP errors. */
const IPTOS_PREC_INTERNETCONTROL = 0xc0;

// Offsets and values are plain locals, exported in this list: the compiled CommonJS then
// uses the local instead of loading `exports.NAME` on every access (which tsc emits for an
// `export const`; measured 44 -> 35 ns per frame for the Ethernet + IPv4 + TCP parse).
export {
  ICMP_TYPE, ICMP_CODE, ICMP_CHECKSUM, ICMP_REST, ICMP_IDENT, ICMP_SEQ, ICMP_NEXT_HOP_MTU,
  ICMP_HEADER_LEN, IPPROTO_ICMP, ICMP_ECHO_REPLY, ICMP_DEST_UNREACH, ICMP_SOURCE_QUENCH,
  ICMP_REDIRECT, ICMP_ECHO_REQUEST, ICMP_TIME_EXCEEDED, ICMP_PARAMETER_PROB, ICMP_NET_UNREACH,
  ICMP_HOST_UNREACH, ICMP_PROT_UNREACH, ICMP_PORT_UNREACH, ICMP_FRAG_NEEDED, ICMP_EXC_TTL,
  ICMP_EXC_FRAGTIME, ICMP_MAX_KNOWN_TYPE, ICMP_ERROR_MAX_LEN, IPTOS_PREC_INTERNETCONTROL,
};

export class IcmpView {
  private buf: Uint8Array = SCRATCH;
  private dv: DataView = SCRATCH_DV;
  private cbuf: Uint8Array = SCRATCH; // the last buffer pointed at, and its DataView
  private cdv: DataView = SCRATCH_DV;
  private off = 0;
  private len = ICMP_HEADER_LEN;

  /** Points the view at an ICMP message of `len` bytes. OK or TRUNCATED (< 8). */
  reset(buf: Uint8Array, off: number, len: number): number {
    if (off < 0 || len < ICMP_HEADER_LEN || off + len > buf.length) return this.fail(TRUNCATED);
    if (buf !== this.cbuf) {
      this.cbuf = buf;
      this.cdv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    this.buf = buf;
    this.dv = this.cdv;
    this.off = off;
    this.len = len;
    return OK;
  }

  private fail(reason: number): number {
    SCRATCH.fill(0); // undo whatever a setter on a failed view wrote there
    this.buf = SCRATCH;
    this.dv = SCRATCH_DV;
    this.off = 0;
    this.len = ICMP_HEADER_LEN;
    return reason;
  }

  get buffer(): Uint8Array { return this.buf; }
  get offset(): number { return this.off; }
  get length(): number { return this.len; }
  get type(): number { return this.buf[this.off + ICMP_TYPE]; }
  get code(): number { return this.buf[this.off + ICMP_CODE]; }
  get checksum(): number { return this.dv.getUint16(this.off + ICMP_CHECKSUM); }
  get ident(): number { return this.dv.getUint16(this.off + ICMP_IDENT); }
  get seq(): number { return this.dv.getUint16(this.off + ICMP_SEQ); }
  /** The 4 bytes after the checksum as a uint32. */
  get rest(): number { return this.dv.getUint32(this.off + ICMP_REST); }
  /** Next-hop MTU of a "fragmentation needed" (RFC 1191). */
  get nextHopMtu(): number { return this.dv.getUint16(this.off + ICMP_NEXT_HOP_MTU); }
  /** An error message (unreachable, quench, redirect, time exceeded, parameter problem). */
  get isError(): boolean { return isIcmpv4Error(this.type); }
  /** Absolute offset of the data: the echo data, or the quoted IP header of an error. */
  get dataOffset(): number { return this.off + ICMP_HEADER_LEN; }
  get dataLength(): number { return this.len - ICMP_HEADER_LEN; }

  checksumValid(): boolean { return sum16(this.buf, this.off, this.len, 0) === 0xffff; }
  fillChecksum(): void {
    this.dv.setUint16(this.off + ICMP_CHECKSUM, 0);
    this.dv.setUint16(this.off + ICMP_CHECKSUM, checksum(this.buf, this.off, this.len));
  }

  /**
   * Turns an echo request into its reply in place: type 0, code 0, checksum updated
   * incrementally; id, sequence and data stay. The IP and Ethernet headers are the
   * caller's (swap addresses and MACs).
   */
  toEchoReply(): void {
    const dv = this.dv, o = this.off;
    const old = dv.getUint16(o + ICMP_TYPE);
    dv.setUint16(o + ICMP_TYPE, ICMP_ECHO_REPLY << 8);
    dv.setUint16(o + ICMP_CHECKSUM, csumReplace16(dv.getUint16(o + ICMP_CHECKSUM), old, ICMP_ECHO_REPLY << 8));
  }
}

/** Whether an ICMPv4 type is an error message. */
export function isIcmpv4Error(type: number): boolean {
  return type === ICMP_DEST_UNREACH || type === ICMP_SOURCE_QUENCH || type === ICMP_REDIRECT ||
    type === ICMP_TIME_EXCEEDED || type === ICMP_PARAMETER_PROB;
}

/**
 * Whether an ICMP error may be sent about the datagram `ip` points at (RFC 1122 3.2.2,
 * RFC 1812 4.3.2.7, as icmp_send() checks): not about a non-first fragment, nor a datagram
 * to or from a broadcast/multicast/unspecified address, nor an ICMP error or an unknown
 * ICMP type. The link-layer check (frame sent to a broadcast MAC) is the caller's.
 */
export function icmpv4ErrorAllowed(ip: Ipv4View): boolean {
  if (ip.fragmentOffset !== 0) return false;
  const s = ip.saddr, d = ip.daddr;
  if (s === 0 || s === 0xffffffff || s >>> 28 === 0xe || d === 0xffffffff || d >>> 28 === 0xe) return false;
  if (ip.protocol === IPPROTO_ICMP && ip.payloadLength > 0) {
    const t = ip.buffer[ip.payloadOffset];
    if (t > ICMP_MAX_KNOWN_TYPE || isIcmpv4Error(t)) return false;
  }
  return true;
}

/** How many bytes of a datagram of `ipLen` bytes an ICMP error quotes (576-byte limit). */
export function icmpv4QuoteLength(ipLen: number): number {
  const room = ICMP_ERROR_MAX_LEN - IPV4_HEADER_LEN - ICMP_HEADER_LEN;
  return ipLen < room ? ipLen : room;
}

/**
 * Writes an ICMP error message at out[off]: type, code, the 4-byte `rest` (0, or the
 * next-hop MTU for ICMP_FRAG_NEEDED), then `quoteLen` bytes of the offending datagram from
 * quote[quoteOff], and the checksum. Returns the message length. No allocation.
 */
export function writeIcmpv4Error(out: Uint8Array, off: number, type: number, code: number, rest: number,
  quote: Uint8Array, quoteOff: number, quoteLen: number): number {
  out[off + ICMP_TYPE] = type;
  out[off + ICMP_CODE] = code;
  out[off + ICMP_CHECKSUM] = 0;
  out[off + ICMP_CHECKSUM + 1] = 0;
  out[off + ICMP_REST] = rest >>> 24;
  out[off + ICMP_REST + 1] = rest >>> 16;
  out[off + ICMP_REST + 2] = rest >>> 8;
  out[off + ICMP_REST + 3] = rest;
  copyBytes(out, off + ICMP_HEADER_LEN, quote, quoteOff, quoteLen);
  const len = ICMP_HEADER_LEN + quoteLen;
  const c = checksum(out, off, len);
  out[off + ICMP_CHECKSUM] = c >>> 8;
  out[off + ICMP_CHECKSUM + 1] = c;
  return len;
}

/** Copies len bytes without allocating (no subarray); overlap-safe within one buffer. */
function copyBytes(dst: Uint8Array, dstOff: number, src: Uint8Array, srcOff: number, len: number): void {
  if (dst === src) {
    dst.copyWithin(dstOff, srcOff, srcOff + len);
    return;
  }
  for (let i = 0; i < len; i++) dst[dstOff + i] = src[srcOff + i];
}

/** Time exceeded in transit (TTL expired) quoting quote[quoteOff, +quoteLen). */
export function writeIcmpv4TimeExceeded(out: Uint8Array, off: number, quote: Uint8Array, quoteOff: number, quoteLen: number): number {
  return writeIcmpv4Error(out, off, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, 0, quote, quoteOff, quoteLen);
}

/** Destination unreachable with `code`; `mtu` is the next-hop MTU for ICMP_FRAG_NEEDED. */
export function writeIcmpv4DestUnreachable(out: Uint8Array, off: number, code: number, mtu: number,
  quote: Uint8Array, quoteOff: number, quoteLen: number): number {
  return writeIcmpv4Error(out, off, ICMP_DEST_UNREACH, code, code === ICMP_FRAG_NEEDED ? mtu & 0xffff : 0, quote, quoteOff, quoteLen);
}

/**
 * A whole IPv4 datagram carrying an ICMP error about the datagram `ip` points at, written at
 * out[off]: from `saddr` (ours) to the offender's source, TTL 64, TOS internetwork control
 * plus the offender's TOS bits, no DF, quoting as much as fits in 576 bytes. Returns the
 * datagram length. The caller checks icmpv4ErrorAllowed(ip) first and writes the Ethernet
 * header in front.
 */
export function buildIcmpv4Error(out: Uint8Array, off: number, ip: Ipv4View, saddr: number, ident: number,
  type: number, code: number, rest: number): number {
  const q = icmpv4QuoteLength(ip.length);
  const icmpLen = writeIcmpv4Error(out, off + IPV4_HEADER_LEN, type, code, rest, ip.buffer, ip.offset, q);
  const tos = IPTOS_PREC_INTERNETCONTROL | (ip.tos & 0x1e);
  return writeIpv4Header(out, off, tos, IPV4_HEADER_LEN + icmpLen, ident, 0, 64, IPPROTO_ICMP, saddr, ip.saddr) + icmpLen;
}

/** Writes an echo message (request 8 or reply 0) with its checksum; returns its length. */
export function writeIcmpv4Echo(out: Uint8Array, off: number, type: number, ident: number, seq: number,
  data: Uint8Array, dataOff: number, dataLen: number): number {
  out[off + ICMP_TYPE] = type;
  out[off + ICMP_CODE] = 0;
  out[off + ICMP_CHECKSUM] = 0;
  out[off + ICMP_CHECKSUM + 1] = 0;
  out[off + ICMP_IDENT] = ident >>> 8;
  out[off + ICMP_IDENT + 1] = ident;
  out[off + ICMP_SEQ] = seq >>> 8;
  out[off + ICMP_SEQ + 1] = seq;
  copyBytes(out, off + ICMP_HEADER_LEN, data, dataOff, dataLen);
  const len = ICMP_HEADER_LEN + dataLen;
  const c = checksum(out, off, len);
  out[off + ICMP_CHECKSUM] = c >>> 8;
  out[off + ICMP_CHECKSUM + 1] = c;
  return len;
}

// ---- Repr (tests, building messages; allocates) ----

export interface Icmpv4Repr {
  type: number;
  code: number;
  /** The 4 bytes after the checksum: ident << 16 | seq for echo, MTU for frag needed, else 0. */
  rest: number;
  data: Uint8Array;
}

/** Parses a message whose checksum verifies; TRUNCATED if short, BAD_L4 if the checksum fails. */
export function parseIcmpv4(buf: Uint8Array, off: number, len: number): Icmpv4Repr | number {
  const v = new IcmpView();
  const r = v.reset(buf, off, len);
  if (r !== OK) return r;
  if (!v.checksumValid()) return BAD_L4;
  return { type: v.type, code: v.code, rest: v.rest, data: buf.slice(v.dataOffset, v.dataOffset + v.dataLength) };
}

/** Writes the message with its checksum at buf[off]; returns its length. */
export function emitIcmpv4(repr: Icmpv4Repr, buf: Uint8Array, off: number): number {
  return writeIcmpv4Error(buf, off, repr.type, repr.code, repr.rest, repr.data, 0, repr.data.length);
}

export function echoReplyRepr(request: Icmpv4Repr): Icmpv4Repr {
  return { type: ICMP_ECHO_REPLY, code: 0, rest: request.rest, data: request.data.slice() };
}

/** Time exceeded quoting `datagram` (cut to the 576-byte limit). */
export function timeExceededRepr(datagram: Uint8Array): Icmpv4Repr {
  return { type: ICMP_TIME_EXCEEDED, code: ICMP_EXC_TTL, rest: 0, data: datagram.slice(0, icmpv4QuoteLength(datagram.length)) };
}

/** Destination unreachable quoting `datagram`; `mtu` for ICMP_FRAG_NEEDED. */
export function destUnreachableRepr(code: number, datagram: Uint8Array, mtu = 0): Icmpv4Repr {
  return { type: ICMP_DEST_UNREACH, code, rest: code === ICMP_FRAG_NEEDED ? mtu & 0xffff : 0, data: datagram.slice(0, icmpv4QuoteLength(datagram.length)) };
}
