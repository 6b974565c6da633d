// checktype=connect: a TCP connection to RIP:checkport within checktimeout is "up". For
// UDP virtuals ldirectord cannot connect, so it pings instead (see ping.ts).

import { connect as netConnect } from 'node:net';
import { type CheckOptions, type CheckResult, type CheckTarget, UP, down, errText, runCheck } from './check';
import { checkPing } from './ping';

export function checkConnect(target: CheckTarget, opts: CheckOptions, signal: AbortSignal): Promise<CheckResult> {
  if (target.protocol === 'udp') return checkPing(target, opts, signal);
  return runCheck(signal, opts.timeoutMs, (sig) => tcpConnectOnce(target.host, target.port, sig));
}

function tcpConnectOnce(host: string, port: number, signal: AbortSignal): Promise<CheckResult> {
  return new Promise((resolve) => {
    const sock = netConnect({ host, port });
    const done = (r: CheckResult): void => {
      signal.removeEventListener('abort', onAbort);
      sock.destroy();
      resolve(r);
    };
    const onAbort = (): void => done(down('connect aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    sock.once('connect', () => done(UP));
    sock.once('error', (e) => done(down(`connect failed: ${errText(e)}`)));
  });
}
