// keepalived's notify scripts for VRRP instances (notify_master, notify_backup,
// notify_fault, notify_stop and the generic notify), so that configs which hook alerts or
// service changes on a state change keep doing so under tsvs.
//
// What runs, as keepalived does it: on entering MASTER, BACKUP or FAULT, and when the
// daemon stops the instance (STOP), first the script for that state with its own
// arguments, then the generic `notify` script with "INSTANCE" NAME STATE PRIORITY appended.
// Scripts are executed directly (no shell), their output discarded, and never waited for:
// VRRP timing does not depend on them. A script that cannot start, exits non-zero or is
// still running after `timeoutMs` (then sent SIGTERM) is logged. A state change of an
// instance does not wait for the previous change's scripts (keepalived does not either).

import { spawn } from 'node:child_process';
import type { NotifyScripts, VrrpInstanceConfig } from './config';

export type NotifyState = 'MASTER' | 'BACKUP' | 'FAULT' | 'STOP';

/** Starts argv; calls done(exit code or null, signal or error text) once. For tests to replace. */
export type ScriptRunner = (argv: string[], timeoutMs: number, done: (code: number | null, why: string) => void) => void;

const KEY: Record<NotifyState, keyof NotifyScripts> = { MASTER: 'master', BACKUP: 'backup', FAULT: 'fault', STOP: 'stop' };
const SETTING: Record<keyof NotifyScripts, string> = {
  master: 'notify_master', backup: 'notify_backup', fault: 'notify_fault', stop: 'notify_stop', any: 'notify',
};

export const DEFAULT_SCRIPT_TIMEOUT_MS = 30_000;

/** Runs argv as a child process, output discarded, bounded by timeoutMs (then SIGTERM). */
export const runScript: ScriptRunner = (argv, timeoutMs, done) => {
  let finished = false;
  const finish = (code: number | null, why: string) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    done(code, why);
  };
  const child = spawn(argv[0], argv.slice(1), { stdio: 'ignore' });
  const timer = setTimeout(() => {
    child.kill('SIGTERM');
    finish(null, `still running after ${timeoutMs / 1000} s: sent SIGTERM`);
  }, timeoutMs);
  timer.unref();
  child.on('error', (e) => finish(null, e.message));
  child.on('exit', (code, signal) => finish(code, signal ? `killed by ${signal}` : ''));
};

export class NotifyScriptRunner {
  /** Scripts started and not finished yet. */
  running = 0;
  /** Scripts that could not start, failed or timed out. */
  failures = 0;

  constructor(
    private readonly log: (msg: string) => void,
    private readonly run: ScriptRunner = runScript,
    private readonly timeoutMs = DEFAULT_SCRIPT_TIMEOUT_MS,
  ) {}

  /** The scripts of `cfg` for entering `state`: the state's own, then the generic one. */
  notify(cfg: VrrpInstanceConfig, state: NotifyState, priority: number): void {
    const own = cfg.notify[KEY[state]];
    if (own) this.start(cfg.name, KEY[state], own);
    const any = cfg.notify.any;
    if (any) this.start(cfg.name, 'any', [...any, 'INSTANCE', cfg.name, state, String(priority)]);
  }

  private start(instance: string, key: keyof NotifyScripts, argv: string[]): void {
    this.running++;
    this.run(argv, this.timeoutMs, (code, why) => {
      this.running--;
      if (code === 0) return;
      this.failures++;
      this.log(`VRRP ${instance}: ${SETTING[key]} ${argv.join(' ')}: ${code !== null ? `exit status ${code}` : why}`);
    });
  }
}
