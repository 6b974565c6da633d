// Running things inside a lab namespace: a command with a timeout, a background process
// (detached, output to a log file, identified by PID plus a marker argument in its command line),
// and stopping such a process by that PID only (SIGTERM, then SIGKILL after a grace time).
// The traffic helpers (httpGet, udpSend, arping, ping) live in client.ts and are re-exported.

import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { run, sleep, sleepSync, type RunOptions, type RunResult } from './run';

export { httpGet, udpSend, arping, ping, neighbour } from './client';
export type { HttpGetOptions, HttpGetResult, UdpReply, ArpingResult } from './client';

/** Runs `argv` inside namespace `ns` (`ip netns exec`), bounded by `timeoutMs` (default 10 s). */
export function nsRun(ns: string, argv: string[], opts?: RunOptions): Promise<RunResult> {
  return run(['ip', 'netns', 'exec', ns, ...argv], opts);
}

export interface Background {
  ns: string;
  pid: number;
  argv: string[];
  log: string;
}

/**
 * Starts `argv` in namespace `ns` in the background, detached from us (it outlives this
 * process), stdout+stderr appended to `log`. `ip netns exec` execs the command in place, so
 * the PID returned is the command's own.
 */
export function startInNs(ns: string, argv: string[], log: string, env?: NodeJS.ProcessEnv): Background {
  const fd = openSync(log, 'a');
  try {
    const child = spawn('ip', ['netns', 'exec', ns, ...argv], {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: env ?? process.env,
    });
    if (child.pid === undefined) throw new Error(`could not start '${argv.join(' ')}' in ${ns}`);
    child.on('error', () => undefined);
    child.unref();
    return { ns, pid: child.pid, argv, log };
  } finally {
    closeSync(fd);
  }
}

/** True if PID exists and (when given) one argument of its command line equals `marker`. */
export function pidMatches(pid: number, marker?: string): boolean {
  if (!pidAlive(pid)) return false;
  if (marker === undefined) return true;
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return false;
  }
  return cmdline.split('\0').includes(marker);
}

/**
 * True if PID exists and has not exited. The state letter in /proc/PID/stat is the test,
 * not an empty cmdline: during execve the new address space briefly has no arguments, so
 * a process that is starting up also reads as an empty cmdline.
 */
function pidAlive(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && state !== 'X';
}

export type StopOutcome = 'gone' | 'not-ours' | 'stopped' | 'killed' | 'stuck';

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/**
 * Stops PID: SIGTERM, wait up to graceMs, then SIGKILL. With `marker`, a PID whose command
 * line no longer has it as an argument (exited, PID reused) is left alone: 'not-ours'.
 */
export async function stopPid(pid: number, opts: { marker?: string; graceMs?: number } = {}): Promise<StopOutcome> {
  if (!pidMatches(pid)) return 'gone';
  if (!pidMatches(pid, opts.marker)) return 'not-ours';
  signal(pid, 'SIGTERM');
  const deadline = Date.now() + (opts.graceMs ?? 2000);
  while (Date.now() < deadline) {
    if (!pidMatches(pid)) return 'stopped';
    await sleep(20);
  }
  signal(pid, 'SIGKILL');
  for (let i = 0; i < 50; i++) {
    if (!pidMatches(pid)) return 'killed';
    await sleep(20);
  }
  return 'stuck';
}

/** stopPid for synchronous paths ('exit' hooks). */
export function stopPidSync(pid: number, opts: { marker?: string; graceMs?: number } = {}): StopOutcome {
  if (!pidMatches(pid)) return 'gone';
  if (!pidMatches(pid, opts.marker)) return 'not-ours';
  signal(pid, 'SIGTERM');
  const deadline = Date.now() + (opts.graceMs ?? 2000);
  while (Date.now() < deadline) {
    if (!pidMatches(pid)) return 'stopped';
    sleepSync(20);
  }
  signal(pid, 'SIGKILL');
  for (let i = 0; i < 50; i++) {
    if (!pidMatches(pid)) return 'killed';
    sleepSync(20);
  }
  return 'stuck';
}
