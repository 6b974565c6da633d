// 48-bit MAC addresses: parse and format text (off the fast path), and copy, compare and
// classify 6-byte MACs in place inside any buffer (on it: no allocation). MAC tables in the
// data plane are flat Uint8Arrays of 6-byte records, so everything here takes (buf, off).

export const MAC_LEN = 6;

/** Parses "aa:bb:cc:dd:ee:ff" (or with '-', either case) into `out` at `off`. */
export function parseMacInto(text: string, out: Uint8Array, off: number): boolean {
  if (text.length !== 17) return false;
  const sep = text.charCodeAt(2);
  if (sep !== 0x3a && sep !== 0x2d) return false;
  for (let i = 0; i < 6; i++) {
    const hi = hexDigit(text.charCodeAt(i * 3));
    const lo = hexDigit(text.charCodeAt(i * 3 + 1));
    if (hi < 0 || lo < 0) return false;
    if (i < 5 && text.charCodeAt(i * 3 + 2) !== sep) return false;
  }
  for (let i = 0; i < 6; i++) out[off + i] = (hexDigit(text.charCodeAt(i * 3)) << 4) | hexDigit(text.charCodeAt(i * 3 + 1));
  return true;
}

/** Parses MAC text into a new 6-byte array; null if it is not a MAC. */
export function parseMac(text: string): Uint8Array | null {
  const m = new Uint8Array(MAC_LEN);
  return parseMacInto(text, m, 0) ? m : null;
}

/** "aa:bb:cc:dd:ee:ff" (lower case) of the 6 bytes at `off`. */
export function formatMac(buf: Uint8Array, off = 0): string {
  let s = '';
  for (let i = 0; i < 6; i++) s += (i ? ':' : '') + (buf[off + i] ?? 0).toString(16).padStart(2, '0');
  return s;
}

/** Copies the 6 bytes at src[srcOff] to dst[dstOff]. */
export function writeMac(dst: Uint8Array, dstOff: number, src: Uint8Array, srcOff: number): void {
  dst[dstOff] = src[srcOff];
  dst[dstOff + 1] = src[srcOff + 1];
  dst[dstOff + 2] = src[srcOff + 2];
  dst[dstOff + 3] = src[srcOff + 3];
  dst[dstOff + 4] = src[srcOff + 4];
  dst[dstOff + 5] = src[srcOff + 5];
}

/** Swaps the 6 bytes at a and b in one buffer (e.g. Ethernet dst and src for a reply). */
export function swapMacs(buf: Uint8Array, a: number, b: number): void {
  for (let i = 0; i < 6; i++) {
    const t = buf[a + i];
    buf[a + i] = buf[b + i];
    buf[b + i] = t;
  }
}

/** Whether the MAC at a[aOff] equals the one at b[bOff]. */
export function macEquals(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number): boolean {
  return a[aOff] === b[bOff] && a[aOff + 1] === b[bOff + 1] && a[aOff + 2] === b[bOff + 2] &&
    a[aOff + 3] === b[bOff + 3] && a[aOff + 4] === b[bOff + 4] && a[aOff + 5] === b[bOff + 5];
}

/** Writes ff:ff:ff:ff:ff:ff at `off`. */
export function fillBroadcastMac(buf: Uint8Array, off: number): void {
  for (let i = 0; i < 6; i++) buf[off + i] = 0xff;
}

/** Writes 00:00:00:00:00:00 at `off`. */
export function fillZeroMac(buf: Uint8Array, off: number): void {
  for (let i = 0; i < 6; i++) buf[off + i] = 0;
}

export function isBroadcastMac(buf: Uint8Array, off: number): boolean {
  return (buf[off] & buf[off + 1] & buf[off + 2] & buf[off + 3] & buf[off + 4] & buf[off + 5]) === 0xff;
}

/** Group bit set (multicast, broadcast included). */
export function isMulticastMac(buf: Uint8Array, off: number): boolean {
  return (buf[off] & 1) === 1;
}

export function isZeroMac(buf: Uint8Array, off: number): boolean {
  return (buf[off] | buf[off + 1] | buf[off + 2] | buf[off + 3] | buf[off + 4] | buf[off + 5]) === 0;
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}
