// The Internet checksum. RFC 1071 one's-complement sum over a byte range, RFC 1624
// incremental updates (a 16/32-bit field, a TTL decrement, any range whose sum is known),
// the TCP/UDP pseudo-header for IPv4 and IPv6, and completing a CHECKSUM_PARTIAL checksum
// (the field holds the pseudo-header sum; fold csum_start..end into it and store it).
//
// Conventions: a "sum" is a folded one's-complement sum in 1..0xffff (or 0 for no data),
// never complemented; a "checksum" is the 16-bit value stored in a header (~sum). All
// functions take (buffer, offset, length) and allocate nothing; none checks bounds: the
// views call them only on ranges their reset() has checked.

import { OK, TRUNCATED } from './errors';

/** Folds a non-negative sum below 2^32 to 16 bits with end-around carry. */
export function fold(sum: number): number {
  sum = (sum >>> 16) + (sum & 0xffff);
  return (sum >>> 16) + (sum & 0xffff);
}

/**
 * One's-complement sum of `len` bytes from `off` (RFC 1071), big-endian 16-bit words, an
 * odd last byte padded with zero, added to `seed` (a folded sum). Returns a folded sum.
 */
export function sum16(buf: Uint8Array, off: number, len: number, seed: number): number {
  let s = seed & 0xffff;
  let i = off;
  const end = off + len - 1; // last index that starts a full word is end - 1
  while (i < end) {
    // At most 8192 words per chunk keeps s a small integer (8192 * 0xffff + 0xffff < 2^30).
    const stop = end - i > 16384 ? i + 16384 : end;
    for (; i < stop; i += 2) s += (buf[i] << 8) | buf[i + 1];
    s = fold(s);
  }
  if (i === end) s += buf[i] << 8; // odd length
  return fold(s);
}

/** RFC 1071 checksum of a range: the complement of its sum. */
export function checksum(buf: Uint8Array, off: number, len: number): number {
  return ~sum16(buf, off, len, 0) & 0xffff;
}

/** Sum of a 32-bit value's two 16-bit halves (e.g. an IPv4 address). */
export function sum32(v: number): number {
  return fold((v >>> 16) + (v & 0xffff));
}

/**
 * RFC 1624 eqn. 3, general form: HC' = ~(~HC + ~m + m'), where m and m' are the sums of
 * the old and the new contents of whatever changed (one field or several).
 */
export function csumReplace(csum: number, oldSum: number, newSum: number): number {
  return ~fold((~csum & 0xffff) + (~oldSum & 0xffff) + newSum) & 0xffff;
}

/** New checksum after one 16-bit word changes from `oldVal` to `newVal` (RFC 1624). */
export function csumReplace16(csum: number, oldVal: number, newVal: number): number {
  return ~fold((~csum & 0xffff) + (~oldVal & 0xffff) + (newVal & 0xffff)) & 0xffff;
}

/** New checksum after a 32-bit field (two aligned words, e.g. an address) changes. */
export function csumReplace32(csum: number, oldVal: number, newVal: number): number {
  const s = (~csum & 0xffff) + (~oldVal >>> 16 & 0xffff) + (~oldVal & 0xffff) + (newVal >>> 16) + (newVal & 0xffff);
  return ~fold(s) & 0xffff;
}

/**
 * New IPv4 header checksum after the TTL drops by one. The word TTL|protocol falls by
 * 0x0100, so ~m + m' = 0xfeff (RFC 1624 eqn. 3; the kernel's ip_decrease_ttl() is the
 * same in one's-complement arithmetic). Equals a full recompute for any valid header.
 */
export function csumDecTtl(csum: number): number {
  return ~fold((~csum & 0xffff) + 0xfeff) & 0xffff;
}

/** Reads the 16-bit checksum at `at`, applies a 16-bit change, writes it back. */
export function csumReplace16At(buf: Uint8Array, at: number, oldVal: number, newVal: number): void {
  const c = csumReplace16((buf[at] << 8) | buf[at + 1], oldVal, newVal);
  buf[at] = c >>> 8;
  buf[at + 1] = c;
}

/** Reads the 16-bit checksum at `at`, applies a 32-bit change, writes it back. */
export function csumReplace32At(buf: Uint8Array, at: number, oldVal: number, newVal: number): void {
  const c = csumReplace32((buf[at] << 8) | buf[at + 1], oldVal, newVal);
  buf[at] = c >>> 8;
  buf[at + 1] = c;
}

/** Sum of the IPv4 pseudo-header: addresses (host-order uint32), protocol, L4 length. */
export function pseudoSum4(saddr: number, daddr: number, proto: number, l4len: number): number {
  return fold((saddr >>> 16) + (saddr & 0xffff) + (daddr >>> 16) + (daddr & 0xffff) + proto + l4len);
}

/** Sum of the IPv6 pseudo-header; the two 16-byte addresses are read at srcOff/dstOff. */
export function pseudoSum6(buf: Uint8Array, srcOff: number, dstOff: number, proto: number, l4len: number): number {
  const s = sum16(buf, srcOff, 16, 0) + sum16(buf, dstOff, 16, 0) + (l4len >>> 16) + (l4len & 0xffff) + proto;
  return fold(s);
}

/**
 * TCP/UDP checksum over IPv4: pseudo-header plus `l4len` bytes at `l4off`, with the
 * checksum field as it stands (zero it first to compute, leave it to verify: a valid
 * segment gives 0). UDP maps a computed 0 to 0xffff itself (see udp.ts).
 */
export function l4Checksum4(buf: Uint8Array, l4off: number, l4len: number, proto: number, saddr: number, daddr: number): number {
  return ~sum16(buf, l4off, l4len, pseudoSum4(saddr, daddr, proto, l4len)) & 0xffff;
}

/** TCP/UDP/ICMPv6 checksum over IPv6; addresses read from `buf` at srcOff/dstOff. */
export function l4Checksum6(buf: Uint8Array, l4off: number, l4len: number, proto: number, srcOff: number, dstOff: number): number {
  return ~sum16(buf, l4off, l4len, pseudoSum6(buf, srcOff, dstOff, proto, l4len)) & 0xffff;
}

/**
 * Completes a checksum left by CHECKSUM_PARTIAL offload (virtio_net_hdr csum_start /
 * csum_offset, or TP_STATUS_CSUMNOTREADY with csumStart = the L4 offset and csumOffset =
 * 16 for TCP, 6 for UDP). The field at csumStart + csumOffset holds the pseudo-header sum;
 * the sum of csumStart..len (field included) is folded, complemented and stored, 0 being
 * stored as 0xffff as the kernel's skb_checksum_help() does. Offsets are relative to `off`;
 * `len` is where the checksummed data ends (the frame's end, or the IP datagram's end if
 * the frame may carry Ethernet padding). Returns OK, or TRUNCATED if the field lies
 * outside the range (nothing is written then).
 */
export function completePartialChecksum(buf: Uint8Array, off: number, len: number, csumStart: number, csumOffset: number): number {
  const at = csumStart + csumOffset;
  if (csumStart < 0 || csumOffset < 0 || at + 2 > len || off + len > buf.length) return TRUNCATED;
  let c = ~sum16(buf, off + csumStart, len - csumStart, 0) & 0xffff;
  if (c === 0) c = 0xffff;
  buf[off + at] = c >>> 8;
  buf[off + at + 1] = c;
  return OK;
}
