// A background process in a lab namespace for the namespace tests: `ip netns exec NS argv`
// (which execs it, so the PID is the program's own), stdout/stderr collected, stdin a pipe,
// stopped by its PID only. The same shape as the Bg class of dataplane.test.ts, shared here
// so other tests need not copy it. Plus the polling helpers and a tool check for skips.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

/** True when `argv` runs and exits 0 within 5 s (is this tool installed?). */
export const has = (argv: string[]): boolean => spawnSync(argv[0], argv.slice(1), { timeout: 5000 }).status === 0;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `fn` every `stepMs` (25) until it returns something truthy; throws after `ms`. */
export async function until<T>(fn: () => T | undefined | null | false | Promise<T | undefined | null | false>, ms: number,
  what: string | (() => string), stepMs = 25): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await sleep(stepMs);
  }
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class Bg {
  readonly child: ChildProcess;
  readonly pid: number;
  out = '';
  err = '';
  readonly closed: Promise<ExitInfo>;
  private exited = false;

  constructor(readonly ns: string, readonly argv: string[], env?: NodeJS.ProcessEnv) {
    this.child = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['pipe', 'pipe', 'pipe'], env: env ?? process.env });
    if (this.child.pid === undefined) throw new Error(`could not start ${argv.join(' ')} in ${ns}`);
    this.pid = this.child.pid;
    this.child.stdout!.on('data', (d: Buffer) => (this.out += d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => (this.err += d.toString()));
    this.child.stdin!.on('error', () => undefined);
    this.child.on('error', () => undefined);
    this.child.on('exit', () => (this.exited = true));
    this.closed = new Promise((resolve) => this.child.on('close', (code, signal) => resolve({ code, signal })));
  }

  get running(): boolean {
    return !this.exited && this.child.exitCode === null && this.child.signalCode === null;
  }

  write(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  signal(sig: NodeJS.Signals): void {
    if (this.running) process.kill(this.pid, sig);
  }

  /** Sends `sig` (by PID), waits up to graceMs for the exit, then SIGKILL. */
  async stop(sig: NodeJS.Signals = 'SIGTERM', graceMs = 3000): Promise<ExitInfo & { ms: number; killed: boolean }> {
    const t0 = Date.now();
    this.signal(sig);
    let r = await Promise.race([this.closed, sleep(graceMs).then(() => null)]);
    let killed = false;
    if (r === null) {
      killed = true;
      this.signal('SIGKILL');
      r = await Promise.race([this.closed, sleep(3000).then(() => ({ code: null, signal: null }))]);
    }
    this.child.stdin!.destroy();
    return { ...r, ms: Date.now() - t0, killed };
  }
}

/** The background processes one test started, to stop by their PIDs at its end (newest first). */
export class BgGroup {
  private readonly list: Bg[] = [];

  start(ns: string, argv: string[]): Bg {
    const b = new Bg(ns, argv);
    this.list.push(b);
    return b;
  }

  async stopAll(graceMs = 2000): Promise<void> {
    for (const b of this.list.splice(0).reverse()) if (b.running) await b.stop('SIGTERM', graceMs);
  }
}
