// The daemon's capture-tuning flags, parsed into AfPacketOptions:
//   --rx-ring v2|v3        the RX ring format (see src/io/afpacket.ts; default v2)
//   --rx-tune K=V[,K=V]    advanced, for measurements (bench/rx-tuning.ts): blockSize,
//                          blockCount, frameSize, retireMs, maxBatch (whole numbers, sizes
//                          may end in k or m) and tx=sendmmsg|send.
// Also read from $TSVS_RX_RING and $TSVS_RX_TUNE when the flag is absent. Only the syntax
// is checked here, with one clear message per mistake; the combination (sizes that fit
// together) is checked by AfPacketSocket, whose RangeError the daemon reports as it is.

import type { RingVersion, TxMethod } from '../io/afpacket';

import type { RxTuning } from '../io/open-capture';
export type { RxTuning };

const NUMERIC_KEYS = ['blockSize', 'blockCount', 'frameSize', 'retireMs', 'maxBatch'] as const;
type NumericKey = (typeof NUMERIC_KEYS)[number];

/** Thrown for a malformed value; the message names the flag and the bad part. */
export class RxOptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RxOptionError';
  }
}

function parseSize(flag: string, key: string, text: string): number {
  const m = /^(\d{1,10})([kKmM]?)$/.exec(text);
  if (!m) throw new RxOptionError(`${flag}: ${key} wants a whole number (optionally with k or m), not '${text}'`);
  const n = Number(m[1]) * (m[2] === '' ? 1 : m[2].toLowerCase() === 'k' ? 1024 : 1024 * 1024);
  if (!Number.isSafeInteger(n) || n > 2 ** 31) throw new RxOptionError(`${flag}: ${key} is too large: '${text}'`);
  return n;
}

/** Parses --rx-ring and --rx-tune (undefined: not given). */
export function parseRxOptions(ring: string | undefined, tune: string | undefined): RxTuning {
  const out: RxTuning = {};
  if (ring !== undefined) {
    if (ring !== 'v2' && ring !== 'v3') throw new RxOptionError(`--rx-ring wants v2 or v3, not '${ring}'`);
    out.ringVersion = ring satisfies RingVersion;
  }
  if (tune === undefined || tune.trim() === '') return out;
  const seen = new Set<string>();
  for (const part of tune.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new RxOptionError(`--rx-tune wants KEY=VALUE pairs separated by commas, not '${part}'`);
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (seen.has(key)) throw new RxOptionError(`--rx-tune: ${key} is given twice`);
    seen.add(key);
    if (key === 'tx') {
      if (value !== 'sendmmsg' && value !== 'send') throw new RxOptionError(`--rx-tune: tx wants sendmmsg or send, not '${value}'`);
      out.txMethod = value satisfies TxMethod;
    } else if ((NUMERIC_KEYS as readonly string[]).includes(key)) {
      out[key as NumericKey] = parseSize('--rx-tune', key, value);
    } else {
      throw new RxOptionError(`--rx-tune: unknown key '${key}' (known: ${[...NUMERIC_KEYS, 'tx'].join(', ')})`);
    }
  }
  return out;
}

/** One line for the start-up log: the ring in use. */
export function describeRx(s: { ringVersion: RingVersion; blockSize: number; blockCount: number; frameSize: number; maxBatch: number }): string {
  const slots = Math.floor(s.blockSize / s.frameSize) * s.blockCount;
  const mib = ((s.blockSize * s.blockCount) / (1 << 20)).toFixed(1);
  return s.ringVersion === 'v2'
    ? `rx ring v2: ${slots} slots of ${s.frameSize} B (${mib} MiB), batches up to ${s.maxBatch}`
    : `rx ring v3: ${s.blockCount} blocks of ${s.blockSize / 1024} KiB (${mib} MiB)`;
}
