// Big-endian reads and writes of 16/32-bit fields on a bare Uint8Array, for code that has
// no view at hand (writing a field into a TX buffer, say). They allocate nothing and cannot
// throw: an index past the end reads undefined (0 after the shifts) and a write there is
// dropped. The views themselves read through a DataView, which bench/wire.ts measured
// faster; called from another module these cost a little more than inline code.

/** Unsigned 16-bit big-endian at b[o]. */
export function u16(b: Uint8Array, o: number): number {
  return (b[o] << 8) | b[o + 1];
}

/** Unsigned 32-bit big-endian at b[o] (a host-order uint32, e.g. an IPv4 address). */
export function u32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

export function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v;
}

export function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = v >>> 16;
  b[o + 2] = v >>> 8;
  b[o + 3] = v;
}
