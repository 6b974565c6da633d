// SipHash with 64-bit arithmetic done on pairs of 32-bit halves, and the kernel's hsiphash
// of one u32 built on it (mh uses it for its Maglev permutations and lookups, §2.10).
//
// SipHash (Aumasson & Bernstein) keeps four 64-bit words v0..v3, started from the 128-bit
// key (k0, k1) xor-ed with four constants ("somepseudorandomlygeneratedbytes"). The
// message is cut into 64-bit little-endian words; the last word carries the remaining
// 0-7 bytes with the message length (mod 256) in its top byte. Each word m is absorbed as
//     v3 ^= m;  c rounds of SipRound;  v0 ^= m
// then v2 ^= 0xff, d more rounds, and the 64-bit result is v0 ^ v1 ^ v2 ^ v3. SipRound is
// add-rotate-xor: v0 += v1, v2 += v3, rotations by 13, 16, 21, 17 and swaps of halves
// (rotation by 32). SipHash-2-4 (c = 2, d = 4) is the published standard; the kernel's
// hsiphash on 64-bit machines is SipHash-1-3 with the 64-bit result truncated to its low
// 32 bits (on 32-bit kernels it is HalfSipHash-1-3, which gives other values; we follow
// the 64-bit kernel). hsiphash_key_t is two unsigned longs, so a "key" 2654435761 given to
// mh means k0 = k1 = 0x00000000_9E3779B1.
//
// JavaScript numbers cannot hold 64-bit integers and BigInt allocates, so each word is two
// int32 halves in locals: additions carry from the low half to the high half, rotations
// move bits between the halves. The core returns the low half and keeps the high half for
// sipResultHi(); it allocates nothing, so mh may call it per packet.

const C0H = 0x736f6d65, C0L = 0x70736575;
const C1H = 0x646f7261, C1L = 0x6e646f6d;
const C2H = 0x6c796765, C2L = 0x6e657261;
const C3H = 0x74656462, C3L = 0x79746573;

const NO_WORDS = new Uint32Array(0);

/** High 32 bits of the last sipCore() result (module-local: no export write per call). */
let resultHi = 0;

/** High 32 bits of the last sipCore() result. */
export function sipResultHi(): number {
  return resultHi;
}

/**
 * SipHash-c-d core over `nWords` 64-bit message words (in `words` as [lo0, hi0, lo1, hi1, …])
 * followed by the final block (bh:bl) that holds the tail bytes and the length byte.
 * Returns the low 32 bits (unsigned); sipResultHi() then gives the high 32 bits.
 */
export function sipCore(
  cRounds: number, dRounds: number,
  k0h: number, k0l: number, k1h: number, k1l: number,
  words: Uint32Array, nWords: number, bh: number, bl: number,
): number {
  let v0h = C0H ^ k0h, v0l = C0L ^ k0l;
  let v1h = C1H ^ k1h, v1l = C1L ^ k1l;
  let v2h = C2H ^ k0h, v2l = C2L ^ k0l;
  let v3h = C3H ^ k1h, v3l = C3L ^ k1l;
  let s = 0, t = 0;
  // Rounds run back to back; every cRounds rounds the next block is absorbed: block w is
  // message word w for w < nWords, then the final block; after it, finalisation. One
  // copy of SipRound serves all of them.
  let mh = 0, ml = 0;
  let w = 0;
  let nextAt = 0;
  const total = (nWords + 1) * cRounds + dRounds;
  for (let r = 0; r < total; r++) {
    if (r === nextAt) {
      v0h ^= mh; v0l ^= ml; // end of the previous block (nothing at r = 0)
      if (w < nWords) {
        ml = words[2 * w]; mh = words[2 * w + 1];
      } else if (w === nWords) {
        ml = bl; mh = bh;
      } else {
        ml = 0; mh = 0;
        v2l ^= 0xff;
      }
      if (w <= nWords) {
        v3h ^= mh; v3l ^= ml;
        nextAt += cRounds;
      }
      w++;
    }
    // v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32)
    s = (v0l >>> 0) + (v1l >>> 0);
    v0h = (v0h + v1h + (s > 0xffffffff ? 1 : 0)) | 0; v0l = s | 0;
    t = (v1h << 13) | (v1l >>> 19); v1l = (v1l << 13) | (v1h >>> 19); v1h = t;
    v1h ^= v0h; v1l ^= v0l;
    t = v0h; v0h = v0l; v0l = t;
    // v2 += v3; v3 = rotl(v3, 16); v3 ^= v2
    s = (v2l >>> 0) + (v3l >>> 0);
    v2h = (v2h + v3h + (s > 0xffffffff ? 1 : 0)) | 0; v2l = s | 0;
    t = (v3h << 16) | (v3l >>> 16); v3l = (v3l << 16) | (v3h >>> 16); v3h = t;
    v3h ^= v2h; v3l ^= v2l;
    // v0 += v3; v3 = rotl(v3, 21); v3 ^= v0
    s = (v0l >>> 0) + (v3l >>> 0);
    v0h = (v0h + v3h + (s > 0xffffffff ? 1 : 0)) | 0; v0l = s | 0;
    t = (v3h << 21) | (v3l >>> 11); v3l = (v3l << 21) | (v3h >>> 11); v3h = t;
    v3h ^= v0h; v3l ^= v0l;
    // v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32)
    s = (v2l >>> 0) + (v1l >>> 0);
    v2h = (v2h + v1h + (s > 0xffffffff ? 1 : 0)) | 0; v2l = s | 0;
    t = (v1h << 17) | (v1l >>> 15); v1l = (v1l << 17) | (v1h >>> 15); v1h = t;
    v1h ^= v2h; v1l ^= v2l;
    t = v2h; v2h = v2l; v2l = t;
  }
  resultHi = (v0h ^ v1h ^ v2h ^ v3h) >>> 0;
  return (v0l ^ v1l ^ v2l ^ v3l) >>> 0;
}

/**
 * SipHash-c-d of a byte string with a 16-byte key, as [hi, lo] of the 64-bit result.
 * For tests and tools: it allocates. The per-packet path uses hsiphashU32().
 */
export function siphash(key: Uint8Array, msg: Uint8Array, cRounds = 2, dRounds = 4): [number, number] {
  if (key.length !== 16) throw new RangeError('siphash key must be 16 bytes');
  const le32 = (b: Uint8Array, o: number): number =>
    (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
  const nWords = msg.length >>> 3;
  const words = new Uint32Array(2 * nWords);
  for (let i = 0; i < nWords; i++) {
    words[2 * i] = le32(msg, 8 * i);
    words[2 * i + 1] = le32(msg, 8 * i + 4);
  }
  const tail = new Uint8Array(8);
  tail.set(msg.subarray(8 * nWords));
  tail[7] = msg.length & 0xff;
  const lo = sipCore(cRounds, dRounds, le32(key, 4), le32(key, 0), le32(key, 12), le32(key, 8),
    words, nWords, le32(tail, 4), le32(tail, 0));
  return [resultHi, lo];
}

/**
 * The kernel's 64-bit hsiphash() of the 4 bytes of `value` (little-endian) with both key
 * words equal to `key` (an unsigned long, here at most 2^32 - 1): SipHash-1-3, low 32 bits.
 */
export function hsiphashU32(value: number, key: number): number {
  // Final block: the 4 bytes of value, then zeros, then the length 4 in the top byte.
  return sipCore(1, 3, 0, key | 0, 0, key | 0, NO_WORDS, 0, 0x04000000, value | 0);
}
