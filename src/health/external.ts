// checktype=external: runs checkcommand with the arguments `VIP VPORT RIP RPORT` (for a
// fwmark virtual the mark replaces VIP), through /bin/sh as ldirectord does, so the
// command may carry its own arguments. Exit status 0 = up. At checktimeout the whole
// process group is killed (SIGKILL), so children such as `sleep` die too.
// checktype=external-perl runs the script with `perl` (ldirectord evaluates it in-process).

import { spawn } from 'node:child_process';
import { type CheckOptions, type CheckResult, type CheckTarget, UP, down, errText, runCheck } from './check';

export function checkExternal(target: CheckTarget, opts: CheckOptions, signal: AbortSignal, perl = false): Promise<CheckResult> {
  const first = target.fwmark ? String(target.fwmark) : target.vip;
  const args = [first, String(target.vport), target.host, String(target.realPort)];
  return runCheck(signal, opts.timeoutMs, (sig) => runCommand(opts.checkcommand || '/bin/true', args, sig, perl));
}

/** Runs `command "$@"` through /bin/sh; resolves with the exit status (null if killed). */
export function spawnShell(command: string, args: string[], signal: AbortSignal | null): Promise<{ code: number | null; error?: string }> {
  return new Promise((resolve) => {
    let child;
    try {
      child = spawn('/bin/sh', ['-c', `${command} "$@"`, 'sh', ...args], { stdio: 'ignore', detached: true });
    } catch (e) {
      resolve({ code: null, error: errText(e) });
      return;
    }
    const pid = child.pid;
    const kill = (): void => {
      if (pid === undefined) return;
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    };
    const onAbort = (): void => kill();
    signal?.addEventListener('abort', onAbort, { once: true });
    child.once('error', (e) => {
      signal?.removeEventListener('abort', onAbort);
      resolve({ code: null, error: errText(e) });
    });
    child.once('exit', (code) => {
      signal?.removeEventListener('abort', onAbort);
      kill(); // leftover background children of the command
      resolve({ code });
    });
  });
}

async function runCommand(command: string, args: string[], signal: AbortSignal, perl: boolean): Promise<CheckResult> {
  const cmd = perl ? `perl ${command}` : command;
  const r = await spawnShell(cmd, args, signal);
  if (r.error) return down(`${command}: ${r.error}`);
  if (r.code === 0) return UP;
  return down(r.code === null ? `${command} killed` : `${command} exited with status ${r.code}`);
}
