// The shape every health checker shares: a target (which real, which virtual), the options
// taken from the virtual's configuration, and an AbortSignal. A checker resolves to a
// CheckResult and never rejects; `runCheck` enforces the hard timeout and turns any throw
// into a failure, so a misbehaving checker can never stall or crash the monitor.

export interface CheckTarget {
  /** Real server address, as text (IPv4 dotted quad or IPv6 literal without brackets). */
  host: string;
  /** Port to check (checkport, else the real's port, else the service's well-known port). */
  port: number;
  /** The real's own port (RPORT for external commands). */
  realPort: number;
  /** Virtual address as text ('' for fwmark services). */
  vip: string;
  vport: number;
  fwmark: number;
  protocol: 'tcp' | 'udp' | 'fwm';
}

export interface CheckOptions {
  /** Hard limit for the whole check, in milliseconds. */
  timeoutMs: number;
  request: string;
  receive: string;
  httpmethod: 'GET' | 'HEAD';
  virtualhost: string;
  login: string;
  passwd: string;
  database: string;
  checkcommand: string;
  /** Ping attempts (each limited by timeoutMs). */
  checkcount: number;
}

export interface CheckResult {
  up: boolean;
  /** Why it is down (or a short note when up). */
  reason: string;
}

export type Checker = (target: CheckTarget, opts: CheckOptions, signal: AbortSignal) => Promise<CheckResult>;

export const UP: CheckResult = { up: true, reason: 'ok' };
export function down(reason: string): CheckResult {
  return { up: false, reason };
}

/**
 * Runs `fn` with a signal that aborts when `parent` aborts or `timeoutMs` elapses, and
 * settles by then whatever `fn` does. Never rejects.
 */
export function runCheck(
  parent: AbortSignal,
  timeoutMs: number,
  fn: (signal: AbortSignal) => Promise<CheckResult>,
): Promise<CheckResult> {
  return new Promise<CheckResult>((resolve) => {
    const ac = new AbortController();
    let settled = false;
    const finish = (r: CheckResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      parent.removeEventListener('abort', onParentAbort);
      if (!ac.signal.aborted) ac.abort();
      resolve(r);
    };
    const onParentAbort = (): void => finish(down('check cancelled'));
    const timer = setTimeout(() => finish(down(`timed out after ${timeoutMs / 1000}s`)), Math.max(1, timeoutMs));
    if (parent.aborted) {
      finish(down('check cancelled'));
      return;
    }
    parent.addEventListener('abort', onParentAbort, { once: true });
    let p: Promise<CheckResult>;
    try {
      p = fn(ac.signal);
    } catch (e) {
      finish(down(errText(e)));
      return;
    }
    p.then(finish, (e: unknown) => finish(down(errText(e))));
  });
}

export function errText(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    return code && !e.message.includes(code) ? `${code} ${e.message}` : e.message;
  }
  return String(e);
}

/**
 * Compiles ldirectord's `receive` (a Perl regex) as a JavaScript RegExp. Most simple
 * patterns mean the same; differences: no `(?i)`-style inline modifiers, no possessive
 * quantifiers or atomic groups, no `\Z`/`\A`/`\z`, and `$` does not match before a final
 * newline. An invalid pattern yields null (the check then fails with a clear reason).
 */
export function compileReceive(receive: string): RegExp | null {
  try {
    return new RegExp(receive);
  } catch {
    return null;
  }
}

/** Brackets an IPv6 literal for use in URLs and host:port texts. */
export function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
