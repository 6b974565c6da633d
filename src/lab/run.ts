// Runs one external program (ip, sysctl, bridge, ethtool, curl, ...) with a hard time limit,
// async or sync. A command that overstays is killed with SIGKILL; a non-zero exit becomes a
// CommandError naming the command and its stderr unless `check: false`.

import { spawn, spawnSync } from 'node:child_process';

export interface RunOptions {
  /** Kill the command after this many milliseconds (default 10 s). */
  timeoutMs?: number;
  /** Throw CommandError on a non-zero exit or a timeout (default true). */
  check?: boolean;
  /** Written to the command's stdin, which is then closed. */
  input?: string;
  env?: NodeJS.ProcessEnv;
}

export interface RunResult {
  argv: string[];
  /** Exit code; -1 when killed by a signal (including the timeout). */
  code: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export class CommandError extends Error {
  readonly result: RunResult;
  constructor(result: RunResult) {
    const why = result.timedOut ? 'timed out' : `exited ${result.code}`;
    const err = result.stderr.trim().split('\n').slice(-3).join(' | ');
    super(`'${result.argv.join(' ')}' ${why}${err ? `: ${err}` : ''}`);
    this.name = 'CommandError';
    this.result = result;
  }
}

const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_OUTPUT = 8 * 1024 * 1024;

export function run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), {
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let timedOut = false;
    let spawnError: Error | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout!.on('data', (b: Buffer) => {
      outLen += b.length;
      if (outLen <= MAX_OUTPUT) out.push(b);
    });
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      spawnError = e;
    });
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => undefined);
      child.stdin!.end(opts.input);
    }
    child.on('close', (code) => {
      clearTimeout(timer);
      if (spawnError) {
        reject(new Error(`cannot run '${argv[0]}': ${spawnError.message}`));
        return;
      }
      const result: RunResult = {
        argv,
        code: code ?? -1,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        timedOut,
      };
      if ((opts.check ?? true) && (result.code !== 0 || timedOut)) reject(new CommandError(result));
      else resolve(result);
    });
  });
}

export function runSync(argv: string[], opts: RunOptions = {}): RunResult {
  const r = spawnSync(argv[0], argv.slice(1), {
    input: opts.input,
    stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    killSignal: 'SIGKILL',
    maxBuffer: MAX_OUTPUT,
    env: opts.env ?? process.env,
  });
  const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
  if (r.error && !timedOut) throw new Error(`cannot run '${argv[0]}': ${r.error.message}`);
  const result: RunResult = {
    argv,
    code: r.status ?? -1,
    stdout: r.stdout?.toString('utf8') ?? '',
    stderr: r.stderr?.toString('utf8') ?? '',
    timedOut,
  };
  if ((opts.check ?? true) && (result.code !== 0 || timedOut)) throw new CommandError(result);
  return result;
}

/** Blocks the thread for `ms` (for the synchronous teardown paths used from 'exit' hooks). */
export function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
