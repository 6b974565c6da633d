// UDP header view (RFC 768). reset() gets the IP payload (ip.payloadOffset, ip.payloadLength)
// and checks 8 <= length field <= len; the datagram is what the length field says (bytes
// after it are ignored, as the kernel trims them). A zero checksum means "none" over IPv4:
// incremental updates then leave it zero, and a computed zero is sent as 0xffff.
// View contract: see ethernet.ts.

import { csumReplace, csumReplace16, csumReplace32, pseudoSum4, pseudoSum6, sum16 } from './checksum';
import { BAD_UDP_LENGTH, TRUNCATED } from './errors';
import { SCRATCH, SCRATCH_DV } from './scratch';

const OK = 0; // errors.ts OK, as a local (see the note at the export list below)

const UDP_SRC_PORT = 0;
const UDP_DST_PORT = 2;
const UDP_LENGTH = 4;
const UDP_CHECKSUM = 6;
const UDP_HEADER_LEN = 8;

const IPPROTO_UDP = 17;

// Offsets and values are plain locals, exported in this list: the compiled CommonJS then
// uses the local instead of loading `exports.NAME` on every access (which tsc emits for an
// `export const`; measured 44 -> 35 ns per frame for the Ethernet + IPv4 + TCP parse).
export {
  UDP_SRC_PORT, UDP_DST_PORT, UDP_LENGTH, UDP_CHECKSUM, UDP_HEADER_LEN, IPPROTO_UDP,
};

export class UdpView {
  private buf: Uint8Array = SCRATCH;
  private dv: DataView = SCRATCH_DV;
  private cbuf: Uint8Array = SCRATCH; // the last buffer pointed at, and its DataView
  private cdv: DataView = SCRATCH_DV;
  private off = 0;
  private len = UDP_HEADER_LEN;

  /** Points the view at a datagram in `len` bytes. OK, TRUNCATED or BAD_UDP_LENGTH. */
  reset(buf: Uint8Array, off: number, len: number): number {
    if (off < 0 || len < UDP_HEADER_LEN || off + len > buf.length) return this.fail(TRUNCATED);
    if (buf !== this.cbuf) {
      this.cbuf = buf;
      this.cdv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    const dv = this.cdv;
    const ulen = dv.getUint16(off + UDP_LENGTH);
    if (ulen < UDP_HEADER_LEN) return this.fail(BAD_UDP_LENGTH);
    if (ulen > len) return this.fail(TRUNCATED);
    this.buf = buf;
    this.dv = dv;
    this.off = off;
    this.len = ulen;
    return OK;
  }

  private fail(reason: number): number {
    SCRATCH.fill(0); // undo whatever a setter on a failed view wrote there
    this.buf = SCRATCH;
    this.dv = SCRATCH_DV;
    this.off = 0;
    this.len = UDP_HEADER_LEN;
    return reason;
  }

  get buffer(): Uint8Array { return this.buf; }
  get offset(): number { return this.off; }
  /** The length field: header and data. */
  get length(): number { return this.len; }
  get sport(): number { return this.dv.getUint16(this.off + UDP_SRC_PORT); }
  /** Raw write (no checksum update): for building datagrams. NAT uses natSport(). */
  set sport(v: number) { this.dv.setUint16(this.off + UDP_SRC_PORT, v); }
  get dport(): number { return this.dv.getUint16(this.off + UDP_DST_PORT); }
  set dport(v: number) { this.dv.setUint16(this.off + UDP_DST_PORT, v); }
  get checksum(): number { return this.dv.getUint16(this.off + UDP_CHECKSUM); }
  /** Over IPv4 a zero checksum means the sender did not compute one. */
  get hasChecksum(): boolean { return this.dv.getUint16(this.off + UDP_CHECKSUM) !== 0; }
  /** Absolute offset of the checksum field. */
  get checksumOffset(): number { return this.off + UDP_CHECKSUM; }
  get payloadOffset(): number { return this.off + UDP_HEADER_LEN; }
  get payloadLength(): number { return this.len - UDP_HEADER_LEN; }

  /** Rewrites the source port (incremental checksum update unless the checksum is 0). */
  natSport(v: number): void { this.replace16(UDP_SRC_PORT, v); }
  /** Rewrites the destination port (incremental checksum update unless it is 0). */
  natDport(v: number): void { this.replace16(UDP_DST_PORT, v); }

  private replace16(field: number, v: number): void {
    const dv = this.dv, o = this.off;
    const old = dv.getUint16(o + field);
    dv.setUint16(o + field, v);
    const c = dv.getUint16(o + UDP_CHECKSUM);
    if (c !== 0) dv.setUint16(o + UDP_CHECKSUM, csumReplace16(c, old, v & 0xffff) || 0xffff);
  }

  /** Accounts for an IPv4 address (pseudo-header) changed from old to nu. */
  natAddr4(old: number, nu: number): void {
    const at = this.off + UDP_CHECKSUM;
    const c = this.dv.getUint16(at);
    if (c !== 0) this.dv.setUint16(at, csumReplace32(c, old >>> 0, nu >>> 0) || 0xffff);
  }

  /** Accounts for an IPv6 address changed from oldBuf[oldOff..+16] to newBuf[newOff..+16]. */
  natAddr6(oldBuf: Uint8Array, oldOff: number, newBuf: Uint8Array, newOff: number): void {
    const at = this.off + UDP_CHECKSUM;
    const c = this.dv.getUint16(at);
    this.dv.setUint16(at, csumReplace(c, sum16(oldBuf, oldOff, 16, 0), sum16(newBuf, newOff, 16, 0)) || 0xffff);
  }

  /** Whether the checksum verifies over IPv4 (a zero checksum is accepted). */
  checksumValid4(saddr: number, daddr: number): boolean {
    if (!this.hasChecksum) return true;
    return sum16(this.buf, this.off, this.len, pseudoSum4(saddr, daddr, IPPROTO_UDP, this.len)) === 0xffff;
  }
  /** Computes and stores the checksum over IPv4 (0 sent as 0xffff). */
  fillChecksum4(saddr: number, daddr: number): void {
    this.dv.setUint16(this.off + UDP_CHECKSUM, 0);
    const c = ~sum16(this.buf, this.off, this.len, pseudoSum4(saddr, daddr, IPPROTO_UDP, this.len)) & 0xffff;
    this.dv.setUint16(this.off + UDP_CHECKSUM, c || 0xffff);
  }
  /** Whether the checksum verifies over IPv6 (where it is mandatory: zero fails). */
  checksumValid6(ipBuf: Uint8Array, srcOff: number, dstOff: number): boolean {
    if (!this.hasChecksum) return false;
    return sum16(this.buf, this.off, this.len, pseudoSum6(ipBuf, srcOff, dstOff, IPPROTO_UDP, this.len)) === 0xffff;
  }
  /** Computes and stores the checksum over IPv6. */
  fillChecksum6(ipBuf: Uint8Array, srcOff: number, dstOff: number): void {
    this.dv.setUint16(this.off + UDP_CHECKSUM, 0);
    const c = ~sum16(this.buf, this.off, this.len, pseudoSum6(ipBuf, srcOff, dstOff, IPPROTO_UDP, this.len)) & 0xffff;
    this.dv.setUint16(this.off + UDP_CHECKSUM, c || 0xffff);
  }
}

// ---- Repr (tests, building datagrams; allocates) ----

export interface UdpRepr {
  sport: number;
  dport: number;
  /** Data length (the length field is 8 more). */
  payloadLen: number;
}

export function parseUdp(buf: Uint8Array, off: number, len: number): UdpRepr | number {
  const v = new UdpView();
  const r = v.reset(buf, off, len);
  if (r !== OK) return r;
  return { sport: v.sport, dport: v.dport, payloadLen: v.payloadLength };
}

/** Writes the header at buf[off] with a zero checksum (fill it after the data); returns 8. */
export function emitUdp(repr: UdpRepr, buf: Uint8Array, off: number): number {
  const len = UDP_HEADER_LEN + repr.payloadLen;
  buf[off + UDP_SRC_PORT] = repr.sport >>> 8;
  buf[off + UDP_SRC_PORT + 1] = repr.sport;
  buf[off + UDP_DST_PORT] = repr.dport >>> 8;
  buf[off + UDP_DST_PORT + 1] = repr.dport;
  buf[off + UDP_LENGTH] = len >>> 8;
  buf[off + UDP_LENGTH + 1] = len;
  buf[off + UDP_CHECKSUM] = 0;
  buf[off + UDP_CHECKSUM + 1] = 0;
  return UDP_HEADER_LEN;
}
