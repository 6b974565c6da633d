// VRRP advertisements on the wire: VRRPv2 (RFC 3768) and VRRPv3 for IPv4 (RFC 5798),
// as keepalived sends them (reference §5.2).
//
//   IPv4 header  TTL 255, protocol 112, dst 224.0.0.18 (or a unicast peer), TOS 0xc0
//   0      ver(4) | type(4)      0x21 (v2) or 0x31 (v3); type 1 = ADVERTISEMENT
//   1      VRID                  1..255
//   2      priority              255 = address owner, 0 = the master resigns
//   3      count of addresses
//   4..5   v2: auth type (byte 4), advert interval in seconds (byte 5)
//          v3: 4 reserved bits + max advert interval in centiseconds (12 bits)
//   6..7   checksum              v2: over the VRRP message; v3: IPv4 pseudo-header
//                                (src, dst, 0, 112, VRRP length) + the VRRP message
//   8..    IPv4 addresses, 4 bytes each
//   end    v2 only: 8 bytes of authentication data (PASS: the password, zero-padded)
//
// decodePacket() takes the whole IP datagram, as a raw IPv4 socket delivers it, and either
// returns the advertisement or a reason (a short stable name, counted by the caller as a
// drop). Nothing here throws on input bytes. This is the control plane (one packet a
// second per router), so plain objects are fine.

import { checksum, sum16, sum32, fold } from '../../wire/checksum';

export const IPPROTO_VRRP = 112;
/** 224.0.0.18 */
export const VRRP_GROUP4 = 0xe0000012;
export const VRRP_TTL = 255;
export const VRRP_TYPE_ADVERT = 1;
export const AUTH_NONE = 0;
export const AUTH_PASS = 1;
export const AUTH_AH = 2;
export const AUTH_DATA_LEN = 8;
const VRRP_HDR_LEN = 8;
const IP_HDR_LEN = 20;

/** Why a received packet was not used; each is a counted drop reason. */
export const DROP_REASONS = [
  'ip_header', // not a well-formed IPv4 header carrying protocol 112
  'ttl', // TTL is not 255: it crossed a router
  'version', // neither 2 nor 3, or not the instance's version
  'type', // not an ADVERTISEMENT
  'length', // shorter than the header + count addresses (+ auth data for v2)
  'checksum',
  'vrid', // no instance with this VRID on this interface
  'auth', // v2 authentication type or password differs from ours
  'interval', // v2: advert interval differs from ours (RFC 3768 7.1)
  'addresses', // address list differs from ours
  'own', // our own advertisement looped back
  'not_peer', // unicast mode: the source is not a configured peer
] as const;
export type DropReason = (typeof DROP_REASONS)[number];

export interface Advert {
  version: 2 | 3;
  vrid: number;
  priority: number;
  /** Advertisement interval in centiseconds (v2 carries whole seconds: 100 × the byte). */
  intervalCs: number;
  /** IPv4 addresses as unsigned 32-bit numbers. */
  addrs: number[];
  /** v2 only (0 for v3). */
  authType: number;
  /** v2 only: the 8 authentication bytes (zeros when none). */
  authData: Uint8Array;
}

export interface Received {
  advert: Advert;
  src: number;
  dst: number;
  ttl: number;
}

export type DecodeResult = { ok: true; packet: Received } | { ok: false; reason: DropReason };

/** The 8 authentication bytes for a PASS password: its first 8 bytes, zero-padded (as keepalived). */
export function passAuthData(pass: string): Uint8Array {
  const out = new Uint8Array(AUTH_DATA_LEN);
  out.set(Buffer.from(pass, 'utf8').subarray(0, AUTH_DATA_LEN));
  return out;
}

/** Length of the VRRP message (without IP header) for `count` IPv4 addresses. */
export function vrrpLength(version: 2 | 3, count: number): number {
  return VRRP_HDR_LEN + 4 * count + (version === 2 ? AUTH_DATA_LEN : 0);
}

/** One's-complement sum of the IPv4 pseudo-header for a VRRPv3 message of `len` bytes. */
function pseudoSum(src: number, dst: number, len: number): number {
  return fold(sum32(src) + sum32(dst) + IPPROTO_VRRP + len);
}

/** Encodes the VRRP message alone (checksum filled; v3 needs the IP src and dst for it). */
export function encodeVrrp(a: Advert, src: number, dst: number): Uint8Array {
  const len = vrrpLength(a.version, a.addrs.length);
  const b = new Uint8Array(len);
  b[0] = (a.version << 4) | VRRP_TYPE_ADVERT;
  b[1] = a.vrid;
  b[2] = a.priority;
  b[3] = a.addrs.length;
  if (a.version === 2) {
    b[4] = a.authType;
    b[5] = Math.max(1, Math.round(a.intervalCs / 100)) & 0xff;
  } else {
    b[4] = (a.intervalCs >> 8) & 0x0f;
    b[5] = a.intervalCs & 0xff;
  }
  let at = VRRP_HDR_LEN;
  for (const ip of a.addrs) {
    b[at] = ip >>> 24;
    b[at + 1] = (ip >>> 16) & 0xff;
    b[at + 2] = (ip >>> 8) & 0xff;
    b[at + 3] = ip & 0xff;
    at += 4;
  }
  if (a.version === 2) b.set(a.authData.subarray(0, AUTH_DATA_LEN), at);
  const seed = a.version === 3 ? pseudoSum(src, dst, len) : 0;
  const c = ~sum16(b, 0, len, seed) & 0xffff;
  b[6] = c >> 8;
  b[7] = c & 0xff;
  return b;
}

let ipId = 0;

/**
 * The whole IPv4 datagram (for a raw socket with IP_HDRINCL): TOS 0xc0, an ID counter that
 * skips 0, DF clear, TTL 255, protocol 112, header checksum filled.
 */
export function encodePacket(a: Advert, src: number, dst: number): Uint8Array {
  const vrrp = encodeVrrp(a, src, dst);
  const total = IP_HDR_LEN + vrrp.length;
  const p = new Uint8Array(total);
  ipId = (ipId + 1) & 0xffff || 1;
  p[0] = 0x45;
  p[1] = 0xc0;
  p[2] = total >> 8;
  p[3] = total & 0xff;
  p[4] = ipId >> 8;
  p[5] = ipId & 0xff;
  p[8] = VRRP_TTL;
  p[9] = IPPROTO_VRRP;
  put32(p, 12, src);
  put32(p, 16, dst);
  const c = checksum(p, 0, IP_HDR_LEN);
  p[10] = c >> 8;
  p[11] = c & 0xff;
  p.set(vrrp, IP_HDR_LEN);
  return p;
}

/** Parses and validates a received IPv4 datagram carrying VRRP. Never throws. */
export function decodePacket(buf: Uint8Array): DecodeResult {
  if (buf.length < IP_HDR_LEN || buf[0] >> 4 !== 4) return { ok: false, reason: 'ip_header' };
  const ihl = (buf[0] & 0x0f) * 4;
  const total = (buf[2] << 8) | buf[3];
  // The kernel hands raw sockets the datagram as received; a total length beyond what
  // arrived, or a header longer than the datagram, is a broken header.
  if (ihl < IP_HDR_LEN || total < ihl || total > buf.length || buf[9] !== IPPROTO_VRRP) return { ok: false, reason: 'ip_header' };
  const ttl = buf[8];
  const src = get32(buf, 12);
  const dst = get32(buf, 16);
  if (ttl !== VRRP_TTL) return { ok: false, reason: 'ttl' };
  const off = ihl;
  const len = total - ihl;
  if (len < VRRP_HDR_LEN) return { ok: false, reason: 'length' };
  const version = buf[off] >> 4;
  if (version !== 2 && version !== 3) return { ok: false, reason: 'version' };
  if ((buf[off] & 0x0f) !== VRRP_TYPE_ADVERT) return { ok: false, reason: 'type' };
  const count = buf[off + 3];
  const need = vrrpLength(version, count);
  // RFC 5798 7.1: the length must cover the addresses; extra bytes are not allowed either.
  if (len !== need) return { ok: false, reason: 'length' };
  const seed = version === 3 ? pseudoSum(src, dst, len) : 0;
  if (sum16(buf, off, len, seed) !== 0xffff) return { ok: false, reason: 'checksum' };
  const addrs: number[] = [];
  for (let i = 0; i < count; i++) addrs.push(get32(buf, off + VRRP_HDR_LEN + 4 * i));
  const advert: Advert = {
    version,
    vrid: buf[off + 1],
    priority: buf[off + 2],
    intervalCs: version === 2 ? buf[off + 5] * 100 : ((buf[off + 4] & 0x0f) << 8) | buf[off + 5],
    addrs,
    authType: version === 2 ? buf[off + 4] : AUTH_NONE,
    authData: version === 2 ? buf.slice(off + VRRP_HDR_LEN + 4 * count, off + len) : new Uint8Array(AUTH_DATA_LEN),
  };
  return { ok: true, packet: { advert, src, dst, ttl } };
}

function put32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}

function get32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}
