// IP addresses in the model: an address family plus four 32-bit words in host order
// (IPv4 uses word 0 only). The data plane keys connections by these same words, so no
// conversion happens between the control plane and the connection table.

import { isIP } from 'node:net';
import { AF_INET, AF_INET6, type AddressFamily } from './constants';

export class Addr {
  readonly af: AddressFamily;
  /** Host-order words; IPv4 keeps its value in w[0] and zeros elsewhere. */
  readonly w: Uint32Array;

  constructor(af: AddressFamily, w0: number, w1 = 0, w2 = 0, w3 = 0) {
    this.af = af;
    this.w = new Uint32Array([w0 >>> 0, w1 >>> 0, w2 >>> 0, w3 >>> 0]);
  }

  static v4(n: number): Addr {
    return new Addr(AF_INET, n);
  }

  /** Parses a numeric IPv4 or IPv6 literal; returns null when it is neither. */
  static parse(text: string): Addr | null {
    const kind = isIP(text);
    if (kind === 4) return Addr.v4(parseV4(text));
    if (kind === 6) {
      const w = parseV6(text);
      return w ? new Addr(AF_INET6, w[0], w[1], w[2], w[3]) : null;
    }
    return null;
  }

  /** The uint32 of an IPv4 address (host order). */
  get v4(): number {
    return this.w[0];
  }

  /** IPv4 value, or the XOR of the four words for IPv6 (the schedulers' addr_fold). */
  fold(): number {
    return this.af === AF_INET ? this.w[0] : (this.w[0] ^ this.w[1] ^ this.w[2] ^ this.w[3]) >>> 0;
  }

  equals(o: Addr): boolean {
    return this.af === o.af && this.w[0] === o.w[0] && this.w[1] === o.w[1] && this.w[2] === o.w[2] && this.w[3] === o.w[3];
  }

  /** Numeric comparison, word by word (for sorted listings). */
  compare(o: Addr): number {
    if (this.af !== o.af) return this.af - o.af;
    for (let i = 0; i < 4; i++) if (this.w[i] !== o.w[i]) return this.w[i] < o.w[i] ? -1 : 1;
    return 0;
  }

  isUnspecified(): boolean {
    return (this.w[0] | this.w[1] | this.w[2] | this.w[3]) === 0;
  }

  isMulticast(): boolean {
    return this.af === AF_INET ? this.w[0] >>> 28 === 0xe : this.w[0] >>> 24 === 0xff;
  }

  toString(): string {
    return this.af === AF_INET ? formatV4(this.w[0]) : formatV6(this.w);
  }

  /** `a.b.c.d:port` or `[v6]:port`, as ipvsadm -n prints. */
  withPort(port: number): string {
    return this.af === AF_INET ? `${formatV4(this.w[0])}:${port}` : `[${formatV6(this.w)}]:${port}`;
  }
}

export function parseV4(text: string): number {
  const p = text.split('.');
  return ((+p[0] << 24) | (+p[1] << 16) | (+p[2] << 8) | +p[3]) >>> 0;
}

export function formatV4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

function parseV6(text: string): number[] | null {
  let s = text;
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(':');
  if (s.indexOf('.', lastColon) > 0) {
    const v4 = parseV4(s.slice(lastColon + 1));
    tail = [v4 >>> 16, v4 & 0xffff];
    s = s.slice(0, lastColon + 1) + '0:0';
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const groups: number[] = [];
  const fill = 8 - head.length - rest.length;
  if (halves.length === 1 && fill !== 0) return null;
  for (const g of head) groups.push(parseInt(g, 16));
  for (let i = 0; i < fill; i++) groups.push(0);
  for (const g of rest) groups.push(parseInt(g, 16));
  if (tail.length) {
    groups[6] = tail[0];
    groups[7] = tail[1];
  }
  if (groups.length !== 8 || groups.some((g) => !(g >= 0 && g <= 0xffff))) return null;
  const w: number[] = [];
  for (let i = 0; i < 4; i++) w.push(((groups[2 * i] << 16) | groups[2 * i + 1]) >>> 0);
  return w;
}

/** RFC 5952 text (what inet_ntop prints), including ::ffff:a.b.c.d for mapped addresses. */
export function formatV6(w: ArrayLike<number>): string {
  const g: number[] = [];
  for (let i = 0; i < 4; i++) g.push(w[i] >>> 16, w[i] & 0xffff);
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${formatV4(w[3])}`;
  }
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** IPv4 netmask from a prefix length. */
export function v4MaskFromPrefix(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}
