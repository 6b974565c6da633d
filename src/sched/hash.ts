// The kernel's multiplicative hash, hash_32() of include/linux/hash.h, used by sh, dh, lblc
// and lblcr to pick a bucket.
//
// hash_32(x, bits) multiplies x by the 32-bit golden-ratio constant 0x61C88647 modulo 2^32
// and keeps the top `bits` bits of the product: those bits depend on every bit of x, where
// the low bits of a product would depend only on the low bits of x. Math.imul gives the
// low 32 bits of the product exactly (it reduces its operands modulo 2^32 first, so an
// argument like `port + addr` that overflowed 32 bits is wrapped as C would wrap it).

export const GOLDEN_RATIO_32 = 0x61c88647;

/** hash_32(x, bits) for 1 <= bits <= 32: the top `bits` bits of x * 0x61C88647 mod 2^32. */
export function hash32(x: number, bits: number): number {
  return (Math.imul(x, GOLDEN_RATIO_32) >>> 0) >>> (32 - bits);
}
