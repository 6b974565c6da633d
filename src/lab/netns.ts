// Network-namespace primitives: create, delete, list, identify (nsfs inode), sysctls and
// `ip` inside one namespace, and which processes live in a namespace. Named namespaces are
// the bind mounts under /run/netns that `ip netns add` makes.

import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { run, runSync, type RunOptions, type RunResult } from './run';

export const NETNS_DIR = '/run/netns';

export function nsList(): string[] {
  try {
    return readdirSync(NETNS_DIR).sort();
  } catch {
    return [];
  }
}

export function nsExists(ns: string): boolean {
  return nsList().includes(ns);
}

/** The namespace's nsfs inode (what /proc/PID/ns/net links to), or undefined if absent. */
export function nsInode(ns: string): number | undefined {
  try {
    return statSync(`${NETNS_DIR}/${ns}`).ino;
  } catch {
    return undefined;
  }
}

export async function nsAdd(ns: string): Promise<void> {
  await run(['ip', 'netns', 'add', ns]);
}

/** Deletes a named namespace; true if it existed. Its veth ends go with it. */
export function nsDeleteSync(ns: string): boolean {
  if (!nsExists(ns)) return false;
  runSync(['ip', 'netns', 'delete', ns], { check: false, timeoutMs: 10_000 });
  return !nsExists(ns);
}

/** `ip -n NS ARGS...` */
export function ipIn(ns: string, args: string[], opts?: RunOptions): Promise<RunResult> {
  return run(['ip', '-n', ns, ...args], opts);
}

/** `ip netns exec NS ARGV...` */
export function execIn(ns: string, argv: string[], opts?: RunOptions): Promise<RunResult> {
  return run(['ip', 'netns', 'exec', ns, ...argv], opts);
}

/**
 * Sets sysctls inside a namespace in one `sysctl` call. Keys that may not exist on every
 * kernel (e.g. net.bridge.*) go in `optional`: failures there are ignored.
 */
export async function sysctlIn(ns: string, required: Record<string, string | number>, optional: Record<string, string | number> = {}): Promise<void> {
  const assign = (o: Record<string, string | number>) => Object.entries(o).map(([k, v]) => `${k}=${v}`);
  if (Object.keys(required).length) await execIn(ns, ['sysctl', '-q', '-w', ...assign(required)]);
  if (Object.keys(optional).length) await execIn(ns, ['sysctl', '-q', '-w', ...assign(optional)], { check: false });
}

export async function sysctlGet(ns: string, key: string): Promise<string | undefined> {
  const r = await execIn(ns, ['sysctl', '-n', key], { check: false });
  return r.code === 0 ? r.stdout.trim() : undefined;
}

/** PIDs whose network namespace is `inode` (scans /proc). */
export function pidsInNsInode(inode: number): number[] {
  const want = `net:[${inode}]`;
  const pids: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readlinkSync(`/proc/${e}/ns/net`) === want) pids.push(Number(e));
    } catch {
      // gone, or a kernel thread we cannot read
    }
  }
  return pids;
}

/** This process and its ancestors: never to be stopped by lab teardown. */
export function selfAndAncestors(): Set<number> {
  const out = new Set<number>();
  let pid = process.pid;
  for (let i = 0; i < 64 && pid > 1; i++) {
    out.add(pid);
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      pid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      break;
    }
  }
  return out;
}
