// The C library conversions ipvsadm relies on, with their exact acceptance rules:
// strtol (string_to_number, parse_fwmark), atoi (-M for IPv6), inet_aton (IPv4 service
// and real-server addresses, -M), inet_pton (IPv6 literals, --mcast-group).
// Text that glibc accepts is accepted here, and nothing more.

import { isIP } from 'node:net';
import { AF_INET, AF_INET6 } from '../core/constants';
import { Addr, formatV4 } from '../core/addr';

const C_SPACE = ' \t\n\v\f\r';
const LONG_MAX = (1n << 63n) - 1n;
const LONG_MIN = -(1n << 63n);

/**
 * strtol(s, &end, 10) requiring that the whole string was used: leading C white space, an
 * optional sign and at least one digit. Returns null for anything else or on ERANGE.
 */
export function strtolWhole(s: string): bigint | null {
  const m = /^[ \t\n\v\f\r]*([+-]?)([0-9]+)$/.exec(s);
  if (!m) return null;
  let n = BigInt(m[2]);
  if (m[1] === '-') n = -n;
  if (n > LONG_MAX || n < LONG_MIN) return null;
  return n;
}

/** ipvsadm's string_to_number(): the value when it is a whole decimal in [min, max], else -1. */
export function stringToNumber(s: string, min: number, max: number): number {
  const n = strtolWhole(s);
  if (n === null || n < BigInt(min) || n > BigInt(max)) return -1;
  return Number(n);
}

/** parse_fwmark(): 1..UINT_MAX, else null. */
export function fwmarkValue(s: string): number | null {
  const n = strtolWhole(s);
  if (n === null || n <= 0n || n > 0xffffffffn) return null;
  return Number(n);
}

/** atoi() stored into a u_int32_t (so "-1" is 4294967295 and "4294967297" is 1). */
export function atoiU32(s: string): number {
  let i = 0;
  while (i < s.length && C_SPACE.includes(s[i])) i++;
  let neg = false;
  if (s[i] === '+' || s[i] === '-') neg = s[i++] === '-';
  let n = 0n;
  while (i < s.length && s[i] >= '0' && s[i] <= '9') {
    n = n * 10n + BigInt(s.charCodeAt(i) - 48);
    if (n > LONG_MAX + 1n) n = LONG_MAX + 1n; // saturate like strtol
    i++;
  }
  if (neg) n = -n;
  if (n > LONG_MAX) n = LONG_MAX;
  if (n < LONG_MIN) n = LONG_MIN;
  return Number(BigInt.asUintN(32, BigInt.asIntN(32, n)));
}

/**
 * glibc inet_aton(): 1 to 4 parts (a, a.b, a.b.c, a.b.c.d), each decimal, 0-octal or
 * 0x-hex, the last part filling the remaining bytes; trailing white space (and whatever
 * follows it) is ignored. Returns the address as a host-order uint32, or null.
 */
export function inetAton(s: string): number | null {
  const parts: number[] = [];
  let i = 0;
  let val = 0;
  for (;;) {
    if (!(s[i] >= '0' && s[i] <= '9')) return null;
    const r = strtoulBase0(s, i);
    if (r === null) return null;
    val = r.value;
    i = r.end;
    if (s[i] === '.') {
      if (parts.length > 2 || val > 0xff) return null;
      parts.push(val);
      i++;
    } else break;
  }
  if (i < s.length && !C_SPACE.includes(s[i])) return null;
  const max = [0xffffffff, 0xffffff, 0xffff, 0xff][parts.length];
  if (val > max) return null;
  let word = 0;
  for (let k = 0; k < parts.length; k++) word |= parts[k] << (24 - 8 * k);
  return ((word >>> 0) | val) >>> 0;
}

/** strtoul(s + start, &end, 0) for a string known to start with a digit; null if > 2^32-1. */
function strtoulBase0(s: string, start: number): { value: number; end: number } | null {
  let i = start;
  let base = 10;
  if (s[i] === '0') {
    if ((s[i + 1] === 'x' || s[i + 1] === 'X') && /[0-9a-fA-F]/.test(s[i + 2] ?? '')) {
      base = 16;
      i += 2;
    } else base = 8;
  }
  let n = 0n;
  const b = BigInt(base);
  for (; i < s.length; i++) {
    const d = parseInt(s[i], base);
    if (Number.isNaN(d)) break;
    n = n * b + BigInt(d);
  }
  if (n > 0xffffffffn) return null;
  return { value: Number(n), end: i };
}

/** inet_pton(AF_INET6): a strict IPv6 literal (no zone index). */
export function inetPton6(s: string): Addr | null {
  if (s.includes('%') || isIP(s) !== 6) return null;
  const a = Addr.parse(s);
  return a && a.af === AF_INET6 ? a : null;
}

/** inet_pton(AF_INET): a strict dotted quad. */
export function inetPton4(s: string): Addr | null {
  if (isIP(s) !== 4) return null;
  const a = Addr.parse(s);
  return a && a.af === AF_INET ? a : null;
}

/**
 * inet_ntop() text of an address. glibc prints an IPv4 tail for ::ffff:a.b.c.d and also
 * for the old IPv4-compatible ::a.b.c.d (first 96 bits zero, 7th group non-zero).
 */
export function inetNtop(a: Addr): string {
  if (a.af === AF_INET6 && a.w[0] === 0 && a.w[1] === 0 && a.w[2] === 0 && a.w[3] >>> 16 !== 0) {
    return `::${formatV4(a.w[3])}`;
  }
  return a.toString();
}
