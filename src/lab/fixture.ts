// For namespace tests: withLab(opts, async (lab) => ...) brings a lab up under a unique
// name and always takes it down: in a finally, and, should the process end first, from
// 'exit' and SIGINT/SIGTERM/SIGHUP hooks (a SIGKILL can still leave one: `tsvs lab down
// --name` clears it). The real-server programs get a time-to-live as a last safety net.

import { spawnSync } from 'node:child_process';
import { labDownSync, labNamespaces, labUp, type UpOptions } from './lab';
import { randomLabName } from './plan';
import type { Lab } from './state';

const active = new Set<string>();
let hooked = false;

function teardownAll(): void {
  for (const name of [...active]) {
    try {
      labDownSync(name);
    } catch {
      // best effort while exiting
    }
    active.delete(name);
  }
}

function installHooks(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', teardownAll);
  const signals: Array<[NodeJS.Signals, number]> = [['SIGINT', 2], ['SIGTERM', 15], ['SIGHUP', 1]];
  for (const [sig, num] of signals) {
    process.on(sig, () => {
      teardownAll();
      process.exit(128 + num);
    });
  }
}

/** Why lab tests cannot run here (not root, no `ip`), or undefined when they can. */
export function labSkipReason(): string | undefined {
  if (process.platform !== 'linux') return 'the namespace lab needs Linux';
  if (process.getuid?.() !== 0) return 'the namespace lab needs root';
  const r = spawnSync('ip', ['-V'], { timeout: 5000 });
  if (r.status !== 0) return "the namespace lab needs iproute2's ip";
  return undefined;
}

export type WithLabOptions = Omit<UpOptions, 'keepOnFailure'>;

export async function withLab<T>(opts: WithLabOptions, fn: (lab: Lab) => Promise<T>): Promise<T> {
  const name = opts.name ?? randomLabName();
  // Never take down a lab this call did not make.
  if (labNamespaces(name).length) throw new Error(`lab ${name} already exists`);
  installHooks();
  active.add(name);
  try {
    const lab = await labUp({ ...opts, name, serverTtlSec: opts.serverTtlSec ?? 1800 });
    return await fn(lab);
  } finally {
    try {
      labDownSync(name);
    } finally {
      active.delete(name);
    }
  }
}
