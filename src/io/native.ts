// The one place that knows where the compiled addon lives and what it exports.
// Everything else imports `native()` and gets typed functions.

import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface NativeAddon {
  /** Anonymous mmap of `bytes` (rounded up), zero-filled; `huge` asks for MADV_HUGEPAGE. */
  allocHuge(bytes: number, huge: boolean): ArrayBuffer;
}

let cached: NativeAddon | null = null;

function candidates(): string[] {
  const rel = join('build', 'Release', 'tsvs_native.node');
  return [
    process.env.TSVS_NATIVE ?? '',
    join(__dirname, '..', '..', '..', rel), // dist/src/io -> project root
    join(__dirname, '..', '..', rel),
    join(process.cwd(), rel),
  ].filter((p) => p !== '');
}

/** Loads the addon once; throws an Error naming the build command when it is missing. */
export function native(): NativeAddon {
  if (cached) return cached;
  for (const p of candidates()) {
    if (existsSync(p)) {
      cached = require(p) as NativeAddon;
      return cached;
    }
  }
  throw new Error('the tsvs native addon is not built: run `npm run build:native` (or `npm install`)');
}

/** True when the addon can be loaded (unit tests skip native-only cases otherwise). */
export function hasNative(): boolean {
  try {
    native();
    return true;
  } catch {
    return false;
  }
}
