// TCP header view (RFC 9293). reset() gets the segment's bytes (the IP payload: pass
// ip.payloadOffset and ip.payloadLength, so the checksum covers exactly the segment) and
// checks 5 <= data offset and data offset * 4 <= len. Ports, flags byte, sequence numbers
// and the absolute offset of the checksum field are exposed; the nat* methods rewrite a
// port or account for a rewritten IP address with RFC 1624 incremental updates, as IPVS's
// tcp_fast_csum_update() does (complete a CHECKSUM_PARTIAL segment first: checksum.ts).
// View contract: see ethernet.ts.

import { csumReplace, csumReplace16, csumReplace32, l4Checksum4, pseudoSum4, pseudoSum6, sum16 } from './checksum';
import { BAD_DATA_OFFSET, TRUNCATED } from './errors';
import { SCRATCH, SCRATCH_DV } from './scratch';

const OK = 0; // errors.ts OK, as a local (see the note at the export list below)

const TCP_SRC_PORT = 0;
const TCP_DST_PORT = 2;
const TCP_SEQ_NUM = 4;
const TCP_ACK_NUM = 8;
const TCP_DATA_OFF = 12;   // data offset in the high nibble
const TCP_FLAGS = 13;
const TCP_WINDOW = 14;
const TCP_CHECKSUM = 16;
const TCP_URGENT = 18;
const TCP_HEADER_LEN = 20;

// The flags byte (same values as TH_* in src/conn/tcp-states.ts).
const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_RST = 0x04;
const TCP_PSH = 0x08;
const TCP_ACK = 0x10;
const TCP_URG = 0x20;
const TCP_ECE = 0x40;
const TCP_CWR = 0x80;

const IPPROTO_TCP = 6;

// Offsets and values are plain locals, exported in this list: the compiled CommonJS then
// uses the local instead of loading `exports.NAME` on every access (which tsc emits for an
// `export const`; measured 44 -> 35 ns per frame for the Ethernet + IPv4 + TCP parse).
export {
  TCP_SRC_PORT, TCP_DST_PORT, TCP_SEQ_NUM, TCP_ACK_NUM, TCP_DATA_OFF, TCP_FLAGS, TCP_WINDOW,
  TCP_CHECKSUM, TCP_URGENT, TCP_HEADER_LEN, TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK, TCP_URG,
  TCP_ECE, TCP_CWR, IPPROTO_TCP,
};

export class TcpView {
  private buf: Uint8Array = SCRATCH;
  private dv: DataView = SCRATCH_DV;
  private cbuf: Uint8Array = SCRATCH; // the last buffer pointed at, and its DataView
  private cdv: DataView = SCRATCH_DV;
  private off = 0;
  private len = TCP_HEADER_LEN;
  private hlen = TCP_HEADER_LEN;

  /** Points the view at a segment of `len` bytes. OK, TRUNCATED or BAD_DATA_OFFSET. */
  reset(buf: Uint8Array, off: number, len: number): number {
    if (off < 0 || len < TCP_HEADER_LEN || off + len > buf.length) return this.fail(TRUNCATED);
    if (buf !== this.cbuf) {
      this.cbuf = buf;
      this.cdv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    const hlen = (buf[off + TCP_DATA_OFF] >>> 4) << 2;
    if (hlen < TCP_HEADER_LEN) return this.fail(BAD_DATA_OFFSET);
    if (hlen > len) return this.fail(TRUNCATED);
    this.buf = buf;
    this.dv = this.cdv;
    this.off = off;
    this.len = len;
    this.hlen = hlen;
    return OK;
  }

  private fail(reason: number): number {
    SCRATCH.fill(0); // undo whatever a setter on a failed view wrote there
    this.buf = SCRATCH;
    this.dv = SCRATCH_DV;
    this.off = 0;
    this.len = TCP_HEADER_LEN;
    this.hlen = TCP_HEADER_LEN;
    return reason;
  }

  get buffer(): Uint8Array { return this.buf; }
  get offset(): number { return this.off; }
  /** Segment length (header and data). */
  get length(): number { return this.len; }
  get sport(): number { return this.dv.getUint16(this.off + TCP_SRC_PORT); }
  /** Raw write (no checksum update): for building segments. NAT uses natSport(). */
  set sport(v: number) { this.dv.setUint16(this.off + TCP_SRC_PORT, v); }
  get dport(): number { return this.dv.getUint16(this.off + TCP_DST_PORT); }
  set dport(v: number) { this.dv.setUint16(this.off + TCP_DST_PORT, v); }
  get seq(): number { return this.dv.getUint32(this.off + TCP_SEQ_NUM); }
  set seq(v: number) { this.dv.setUint32(this.off + TCP_SEQ_NUM, v); }
  get ack(): number { return this.dv.getUint32(this.off + TCP_ACK_NUM); }
  set ack(v: number) { this.dv.setUint32(this.off + TCP_ACK_NUM, v); }
  /** The flags byte: TCP_FIN | TCP_SYN | ... (NS, in the data offset byte, is not included). */
  get flags(): number { return this.buf[this.off + TCP_FLAGS]; }
  set flags(v: number) { this.buf[this.off + TCP_FLAGS] = v; }
  get window(): number { return this.dv.getUint16(this.off + TCP_WINDOW); }
  get urgent(): number { return this.dv.getUint16(this.off + TCP_URGENT); }
  get checksum(): number { return this.dv.getUint16(this.off + TCP_CHECKSUM); }
  /** Absolute offset of the checksum field. */
  get checksumOffset(): number { return this.off + TCP_CHECKSUM; }
  get headerLength(): number { return this.hlen; }
  get hasOptions(): boolean { return this.hlen > TCP_HEADER_LEN; }
  get payloadOffset(): number { return this.off + this.hlen; }
  get payloadLength(): number { return this.len - this.hlen; }

  /** Rewrites the source port, updating the checksum incrementally. */
  natSport(v: number): void { this.replace16(TCP_SRC_PORT, v); }
  /** Rewrites the destination port, updating the checksum incrementally. */
  natDport(v: number): void { this.replace16(TCP_DST_PORT, v); }

  private replace16(field: number, v: number): void {
    const dv = this.dv, o = this.off;
    const old = dv.getUint16(o + field);
    dv.setUint16(o + field, v);
    dv.setUint16(o + TCP_CHECKSUM, csumReplace16(dv.getUint16(o + TCP_CHECKSUM), old, v & 0xffff));
  }

  /** Accounts in the checksum for an IPv4 address (pseudo-header) changed from old to nu. */
  natAddr4(old: number, nu: number): void {
    const at = this.off + TCP_CHECKSUM;
    this.dv.setUint16(at, csumReplace32(this.dv.getUint16(at), old >>> 0, nu >>> 0));
  }

  /**
   * Accounts for an IPv6 address changed from the 16 bytes at oldBuf[oldOff] to those at
   * newBuf[newOff] (call before overwriting the old one if both live in the frame).
   */
  natAddr6(oldBuf: Uint8Array, oldOff: number, newBuf: Uint8Array, newOff: number): void {
    const at = this.off + TCP_CHECKSUM;
    this.dv.setUint16(at, csumReplace(this.dv.getUint16(at), sum16(oldBuf, oldOff, 16, 0), sum16(newBuf, newOff, 16, 0)));
  }

  /** Whether the checksum verifies over IPv4 (addresses host-order uint32). */
  checksumValid4(saddr: number, daddr: number): boolean {
    return sum16(this.buf, this.off, this.len, pseudoSum4(saddr, daddr, IPPROTO_TCP, this.len)) === 0xffff;
  }
  /** Computes and stores the checksum over IPv4. */
  fillChecksum4(saddr: number, daddr: number): void {
    this.dv.setUint16(this.off + TCP_CHECKSUM, 0);
    this.dv.setUint16(this.off + TCP_CHECKSUM, l4Checksum4(this.buf, this.off, this.len, IPPROTO_TCP, saddr, daddr));
  }
  /** Whether the checksum verifies over IPv6; addresses at ipBuf[srcOff], ipBuf[dstOff]. */
  checksumValid6(ipBuf: Uint8Array, srcOff: number, dstOff: number): boolean {
    return sum16(this.buf, this.off, this.len, pseudoSum6(ipBuf, srcOff, dstOff, IPPROTO_TCP, this.len)) === 0xffff;
  }
  /** Computes and stores the checksum over IPv6 (ipBuf must be the segment's buffer). */
  fillChecksum6(ipBuf: Uint8Array, srcOff: number, dstOff: number): void {
    this.dv.setUint16(this.off + TCP_CHECKSUM, 0);
    this.dv.setUint16(this.off + TCP_CHECKSUM, ~sum16(this.buf, this.off, this.len, pseudoSum6(ipBuf, srcOff, dstOff, IPPROTO_TCP, this.len)) & 0xffff);
  }
}

// ---- Repr (tests, building segments; allocates) ----

export interface TcpRepr {
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  window: number;
  urgent?: number;
  /** Option bytes, a multiple of 4 long (at most 40); none if absent. */
  options?: Uint8Array;
}

export function parseTcp(buf: Uint8Array, off: number, len: number): TcpRepr | number {
  const v = new TcpView();
  const r = v.reset(buf, off, len);
  if (r !== OK) return r;
  const repr: TcpRepr = { sport: v.sport, dport: v.dport, seq: v.seq, ack: v.ack, flags: v.flags, window: v.window, urgent: v.urgent };
  if (v.hasOptions) repr.options = buf.slice(off + TCP_HEADER_LEN, off + v.headerLength);
  return repr;
}

export function tcpHeaderLen(repr: TcpRepr): number {
  return TCP_HEADER_LEN + (repr.options ? repr.options.length : 0);
}

/**
 * Writes the header at buf[off] with a zero checksum; returns its length. Put the data
 * after it, then reset a view on the segment and fillChecksum4/6.
 */
export function emitTcp(repr: TcpRepr, buf: Uint8Array, off: number): number {
  const hlen = tcpHeaderLen(repr);
  const w = (v: number, at: number) => { buf[off + at] = v >>> 8; buf[off + at + 1] = v; };
  w(repr.sport, TCP_SRC_PORT);
  w(repr.dport, TCP_DST_PORT);
  w(repr.seq >>> 16, TCP_SEQ_NUM);
  w(repr.seq, TCP_SEQ_NUM + 2);
  w(repr.ack >>> 16, TCP_ACK_NUM);
  w(repr.ack, TCP_ACK_NUM + 2);
  buf[off + TCP_DATA_OFF] = (hlen >>> 2) << 4;
  buf[off + TCP_FLAGS] = repr.flags;
  w(repr.window, TCP_WINDOW);
  w(0, TCP_CHECKSUM);
  w(repr.urgent ?? 0, TCP_URGENT);
  if (repr.options) buf.set(repr.options, off + TCP_HEADER_LEN);
  return hlen;
}
