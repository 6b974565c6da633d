// negotiate checks for simple TCP protocols, kept to what ldirectord's outcome depends on:
//   smtp/submission  220 greeting, EHLO (HELO if refused) answered 250, QUIT
//   pop/pops         +OK greeting (USER/PASS answered +OK when login is set), QUIT
//   imap/imaps       `* OK` greeting (LOGIN answered OK when login is set), LOGOUT
//   ftp              220 greeting, USER (login or anonymous) -> 230, or 331 then PASS -> 230
//   nntp             first ≤64 bytes start with `2`
//   simpletcp        send request (`\n` escapes honoured), half-close, a line matches receive
//   mysql            the server handshake packet has protocol version 10
//   pgsql            SSLRequest answered with a valid protocol byte (S, N, R or E)
// ldirectord's full database/FTP sessions (DBI query, RETR of `request`) are not done.

import { hostname } from 'node:os';
import { connect as netConnect } from 'node:net';
import { type CheckOptions, type CheckResult, type CheckTarget, UP, compileReceive, down, errText, runCheck } from './check';
import { Conversation } from './conversation';

type Dialog = (c: Conversation, opts: CheckOptions) => Promise<CheckResult>;

function converse(target: CheckTarget, opts: CheckOptions, signal: AbortSignal, tls: boolean, name: string, dialog: Dialog): Promise<CheckResult> {
  return runCheck(signal, opts.timeoutMs, async (sig) => {
    let c: Conversation;
    try {
      c = await Conversation.open(target.host, target.port, tls, sig);
    } catch (e) {
      return down(`${name}: connect failed: ${errText(e)}`);
    }
    try {
      const r = await dialog(c, opts);
      return r.up ? r : down(`${name}: ${r.reason}`);
    } catch (e) {
      return down(`${name}: ${errText(e)}`);
    } finally {
      c.close();
    }
  });
}

const smtpDialog: Dialog = async (c) => {
  const greet = await c.readReply();
  if (greet.code !== 220) return down(`greeting ${greet.text}`);
  const me = hostname() || 'localhost';
  c.write(`EHLO ${me}\r\n`);
  let hello = await c.readReply();
  if (hello.code !== 250) {
    c.write(`HELO ${me}\r\n`);
    hello = await c.readReply();
    if (hello.code !== 250) return down(`HELO answered ${hello.text}`);
  }
  c.write('QUIT\r\n');
  return UP;
};

const popDialog: Dialog = async (c, opts) => {
  const greet = await c.readLine();
  if (greet === null || !greet.startsWith('+OK')) return down(`greeting ${greet ?? '(none)'}`);
  if (opts.login) {
    c.write(`USER ${opts.login}\r\n`);
    const u = await c.readLine();
    if (u === null || !u.startsWith('+OK')) return down(`USER answered ${u ?? '(nothing)'}`);
    c.write(`PASS ${opts.passwd}\r\n`);
    const p = await c.readLine();
    if (p === null || !p.startsWith('+OK')) return down(`PASS answered ${p ?? '(nothing)'}`);
  }
  c.write('QUIT\r\n');
  return UP;
};

const imapDialog: Dialog = async (c, opts) => {
  const greet = await c.readLine();
  if (greet === null || !/^\* (OK|PREAUTH)/i.test(greet)) return down(`greeting ${greet ?? '(none)'}`);
  if (opts.login) {
    c.write(`a1 LOGIN "${opts.login}" "${opts.passwd}"\r\n`);
    for (;;) {
      const l = await c.readLine();
      if (l === null) return down('closed during LOGIN');
      if (l.startsWith('a1 ')) {
        if (!/^a1 OK/i.test(l)) return down(`LOGIN answered ${l}`);
        break;
      }
    }
  }
  c.write('a2 LOGOUT\r\n');
  return UP;
};

const ftpDialog: Dialog = async (c, opts) => {
  const greet = await c.readReply();
  if (greet.code !== 220) return down(`greeting ${greet.text}`);
  c.write(`USER ${opts.login || 'anonymous'}\r\n`);
  const u = await c.readReply();
  if (u.code === 331 || u.code === 332) {
    c.write(`PASS ${opts.passwd || `ldirectord@${hostname()}`}\r\n`);
    const p = await c.readReply();
    if (p.code !== 230 && p.code !== 202) return down(`PASS answered ${p.text}`);
  } else if (u.code !== 230) {
    return down(`USER answered ${u.text}`);
  }
  c.write('QUIT\r\n');
  return UP;
};

const nntpDialog: Dialog = async (c) => {
  const first = await c.readSome(64);
  return first.startsWith('2') ? UP : down(`greeting ${JSON.stringify(first.trim()) || '(none)'}`);
};

const simpleTcpDialog: Dialog = async (c, opts) => {
  const re = compileReceive(opts.receive);
  if (!re) return down(`receive is not a valid regular expression: ${opts.receive}`);
  c.write(opts.request.replace(/\\n/g, '\n').replace(/\\r/g, '\r'));
  c.endWrite();
  let any = false;
  for (;;) {
    const line = await c.readLine();
    if (line === null) break;
    any = true;
    if (re.test(line)) return UP;
  }
  if (!opts.receive && any) return UP;
  return down(any ? `no line matches /${opts.receive}/` : 'no answer');
};

export const checkSmtp = (t: CheckTarget, o: CheckOptions, s: AbortSignal): Promise<CheckResult> => converse(t, o, s, false, 'smtp', smtpDialog);
export const checkPop = (t: CheckTarget, o: CheckOptions, s: AbortSignal, tls = false): Promise<CheckResult> => converse(t, o, s, tls, tls ? 'pops' : 'pop', popDialog);
export const checkImap = (t: CheckTarget, o: CheckOptions, s: AbortSignal, tls = false): Promise<CheckResult> => converse(t, o, s, tls, tls ? 'imaps' : 'imap', imapDialog);
export const checkFtp = (t: CheckTarget, o: CheckOptions, s: AbortSignal): Promise<CheckResult> => converse(t, o, s, false, 'ftp', ftpDialog);
export const checkNntp = (t: CheckTarget, o: CheckOptions, s: AbortSignal): Promise<CheckResult> => converse(t, o, s, false, 'nntp', nntpDialog);
export const checkSimpleTcp = (t: CheckTarget, o: CheckOptions, s: AbortSignal): Promise<CheckResult> => converse(t, o, s, false, 'simpletcp', simpleTcpDialog);
export const checkNone = (): Promise<CheckResult> => Promise.resolve(UP);

/** Connects, optionally sends `hello`, and hands the first bytes to `judge`. */
function binaryProbe(
  target: CheckTarget,
  opts: CheckOptions,
  signal: AbortSignal,
  name: string,
  hello: Buffer | null,
  need: number,
  judge: (b: Buffer) => CheckResult,
): Promise<CheckResult> {
  return runCheck(signal, opts.timeoutMs, (sig) =>
    new Promise<CheckResult>((resolve) => {
      const sock = netConnect({ host: target.host, port: target.port });
      let got = Buffer.alloc(0);
      const done = (r: CheckResult): void => {
        sig.removeEventListener('abort', onAbort);
        sock.destroy();
        resolve(r.up ? r : down(`${name}: ${r.reason}`));
      };
      const onAbort = (): void => done(down('aborted'));
      sig.addEventListener('abort', onAbort, { once: true });
      sock.once('connect', () => {
        if (hello) sock.write(hello);
      });
      sock.on('data', (d: Buffer) => {
        got = Buffer.concat([got, d]);
        if (got.length >= need) done(judge(got));
      });
      sock.once('end', () => done(got.length ? judge(got) : down('closed without an answer')));
      sock.once('error', (e) => done(down(errText(e))));
    }),
  );
}

export function checkMysql(target: CheckTarget, opts: CheckOptions, signal: AbortSignal): Promise<CheckResult> {
  return binaryProbe(target, opts, signal, 'mysql', null, 5, (b) => {
    if (b.length < 5) return down('short handshake');
    const v = b[4];
    if (v === 10) return UP;
    if (v === 0xff) return down(`server refused: ${b.subarray(7).toString('latin1').replace(/[^\x20-\x7e]/g, '')}`);
    return down(`unexpected handshake protocol version ${v}`);
  });
}

export function checkPgsql(target: CheckTarget, opts: CheckOptions, signal: AbortSignal): Promise<CheckResult> {
  const ssl = Buffer.alloc(8);
  ssl.writeUInt32BE(8, 0);
  ssl.writeUInt32BE(80877103, 4);
  return binaryProbe(target, opts, signal, 'pgsql', ssl, 1, (b) => {
    const c = String.fromCharCode(b[0]);
    return 'SNRE'.includes(c) ? UP : down(`unexpected reply byte 0x${b[0].toString(16)}`);
  });
}
