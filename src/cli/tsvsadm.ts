// `tsvsadm`: the ipvsadm-compatible front end, a thin client of the tsvs daemon's
// control socket (src/control/control-socket.ts).
//
// The command line is parsed here first, with ipvsadm's rules and messages, so that help,
// version and argument errors work without a daemon; everything else is sent to the
// daemon ($TSVS_SOCKET, default /run/tsvs/tsvs.sock) as {"argv", "stdin"?} (stdin read in
// full for -R), and the daemon's stdout, stderr and exit status are passed through.
// With no daemon listening, it fails as ipvsadm does when IPVS is missing: two lines on
// stderr, exit 2. A request gets at most 10 seconds.

import { createConnection } from 'node:net';
import { basename } from 'node:path';
import { IpvsadmError, parseArgs } from '../ipvsadm/argv';
import { cannotInitialize } from '../ipvsadm/errors';

const DEFAULT_SOCKET = '/run/tsvs/tsvs.sock';
const TIMEOUT_MS = 10_000;

interface Reply {
  stdout: string;
  stderr: string;
  exit: number;
}

/** Runs tsvsadm and sets process.exitCode (bin/tsvsadm calls this without awaiting). */
export async function main(argv: string[]): Promise<number> {
  let code: number;
  try {
    code = await run(argv);
  } catch (e) {
    process.stderr.write(`tsvsadm: ${(e as Error).message}\n`);
    code = 1;
  }
  process.exitCode = code;
  return code;
}

async function run(argv: string[]): Promise<number> {
  const program = basename(process.argv[1] ?? 'ipvsadm') === 'tsvsadm' ? 'tsvsadm' : 'ipvsadm';
  const path = socketPath();
  let restore = false;
  try {
    const cmd = parseArgs(argv, { program });
    if (cmd.cmd === 'help' || cmd.cmd === 'version') {
      process.stdout.write(cmd.text);
      return 0;
    }
    restore = cmd.cmd === 'restore';
  } catch (e) {
    if (e instanceof IpvsadmError) {
      process.stderr.write(`${e.message}\n`);
      return e.exitCode;
    }
    process.stderr.write(`${program}: ${(e as Error).message}\n`);
    return 1;
  }
  const stdin = restore ? await readStdin() : undefined;
  let reply: Reply;
  try {
    reply = await request(path, { argv, ...(stdin !== undefined ? { stdin } : {}), program });
  } catch (e) {
    const msg = socketErrorMessage(e as NodeJS.ErrnoException, path, program);
    process.stderr.write(`${msg}\n`);
    return 2;
  }
  await write(process.stdout, reply.stdout);
  await write(process.stderr, reply.stderr);
  return reply.exit;
}

export function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    process.stdin.on('data', (c: Buffer) => chunks.push(c));
    process.stdin.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.once('error', reject);
  });
}

export function write(stream: NodeJS.WriteStream, text: string): Promise<void> {
  if (!text) return Promise.resolve();
  return new Promise((resolve) => stream.write(text, () => resolve()));
}

/** The control socket tsvsadm talks to: $TSVS_SOCKET, else the daemon's default. */
export function socketPath(): string {
  return process.env.TSVS_SOCKET || DEFAULT_SOCKET;
}

/** What to print when the control socket cannot be used (ipvsadm's words when no daemon). */
export function socketErrorMessage(err: NodeJS.ErrnoException, path: string, program: string): string {
  if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED' || err.code === 'ENOTDIR') {
    return cannotInitialize(`the tsvs daemon is not running (no control socket at ${path})`).message;
  }
  if (err.code === 'EACCES' || err.code === 'EPERM') {
    return cannotInitialize(`Permission denied (you must be root) (control socket ${path})`).message;
  }
  if (err.code === 'ETIMEDOUT') return `${program}: the tsvs daemon did not answer within ${TIMEOUT_MS / 1000} s (control socket ${path})`;
  return `${program}: control socket ${path}: ${err.message}`;
}

/** Sends one request line and resolves with the daemon's one response line. */
export function request(path: string, req: { argv: string[]; stdin?: string; program?: string }, timeoutMs = TIMEOUT_MS): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(path);
    let buf = '';
    let settled = false;
    const finish = (err: Error | null, reply?: Reply) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(reply!);
    };
    const timer = setTimeout(() => finish(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })), timeoutMs);
    sock.setEncoding('utf8');
    sock.once('connect', () => sock.write(`${JSON.stringify(req)}\n`));
    sock.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      try {
        const r = JSON.parse(buf.slice(0, nl)) as Reply;
        if (typeof r.exit !== 'number') throw new Error('no exit status');
        finish(null, { stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), exit: r.exit });
      } catch (e) {
        finish(new Error(`bad answer from the daemon: ${(e as Error).message}`));
      }
    });
    sock.once('error', (e) => finish(e));
    sock.once('end', () => finish(new Error('the daemon closed the connection without answering')));
  });
}

if (require.main === module) void main(process.argv.slice(2));
