// The daemon's control socket: a Unix stream socket over which `tsvsadm` runs ipvsadm
// commands against the live director.
//
// Protocol: newline-delimited JSON. Each request is one line
//   {"argv": ["-A", "-t", "10.0.0.1:80"], "stdin"?: "...", "program"?: "tsvsadm"}
// (argv without the program name; stdin is the text -R reads; program names the tool in
// tryhelp/usage texts, default "ipvsadm") and gets one response line
//   {"stdout": "...", "stderr": "...", "exit": N}
// A connection may carry several requests, answered in order. A line that is not such a
// request gets {"stdout":"","stderr":"tsvs: bad control request: ...\n","exit":2}.
//
// Each request runs to completion synchronously in the daemon's event loop (execIpvsadm
// does no I/O), so it is atomic with respect to packets: the data plane runs between
// requests, never during one.
//
// Path: `tsvs daemon --socket PATH`, else $TSVS_SOCKET, else /run/tsvs/tsvs.sock. The
// directory is created (mode 0700) if missing; the socket is mode 0600 (root only, as
// ipvsadm needs root). A leftover socket file is removed at start only if nothing answers
// on it; the socket file is removed on stop.

import { chmodSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Director } from '../core/director';
import { execIpvsadm, type ExecContext, type ExecResult } from './ipvsadm-exec';

export const DEFAULT_SOCKET = '/run/tsvs/tsvs.sock';
/** A request line may not be longer than this (a large -R input fits easily). */
export const MAX_REQUEST = 64 << 20;

export function socketPath(option?: string): string {
  return option || process.env.TSVS_SOCKET || DEFAULT_SOCKET;
}

export interface ControlOptions extends ExecContext {
  path: string;
  director: Director;
  log?: (msg: string) => void;
  /**
   * Runs before each request (worker shards: fold their counters into `director`, and
   * gather their connections when the request lists them). Requests on one connection
   * still run in order.
   */
  prepare?: (argv: readonly string[]) => Promise<void> | void;
}

export interface ControlRequest {
  argv: string[];
  stdin?: string;
  program?: string;
}

export class ControlServer {
  readonly path: string;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private closed = false;

  private constructor(path: string, server: Server) {
    this.path = path;
    this.server = server;
  }

  /** Creates the directory and the socket; rejects with a one-line message on failure. */
  static async start(opts: ControlOptions): Promise<ControlServer> {
    const path = opts.path;
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    await removeStale(path);
    const server = createServer();
    const cs = new ControlServer(path, server);
    server.on('connection', (sock) => cs.serve(sock, opts));
    const oldMask = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      throw new Error(`cannot listen on control socket ${path}: ${(e as Error).message}`);
    } finally {
      process.umask(oldMask);
    }
    chmodSync(path, 0o600);
    server.on('error', (e) => opts.log?.(`control socket ${path}: ${e.message}`));
    return cs;
  }

  /** Stops listening, drops open connections and removes the socket file. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      // server.close() removes the socket file on Linux; make sure.
      try {
        unlinkSync(this.path);
      } catch {
        /* already gone */
      }
    });
  }

  private serve(sock: Socket, opts: ControlOptions): void {
    this.sockets.add(sock);
    sock.on('close', () => this.sockets.delete(sock));
    sock.on('error', () => sock.destroy());
    let buf = '';
    let chain: Promise<void> = Promise.resolve();
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.trim() === '') continue;
        if (!opts.prepare) {
          sock.write(`${JSON.stringify(handleRequest(line, opts))}\n`);
          continue;
        }
        chain = chain
          .then(() => opts.prepare!(requestArgv(line)))
          .catch((e: Error) => opts.log?.(`control request: ${e.message}`))
          .then(() => {
            if (!sock.destroyed) sock.write(`${JSON.stringify(handleRequest(line, opts))}\n`);
          });
      }
      if (buf.length > MAX_REQUEST) {
        sock.end(`${JSON.stringify(badRequest('request too long'))}\n`);
        buf = '';
      }
    });
  }
}

/** Parses one request line and runs it (synchronously). */
export function handleRequest(line: string, opts: ControlOptions): ExecResult {
  let req: ControlRequest;
  try {
    req = JSON.parse(line) as ControlRequest;
  } catch {
    return badRequest('not JSON');
  }
  if (!req || typeof req !== 'object' || !Array.isArray(req.argv) || !req.argv.every((a) => typeof a === 'string')) {
    return badRequest('"argv" must be an array of strings');
  }
  if (req.stdin !== undefined && typeof req.stdin !== 'string') return badRequest('"stdin" must be a string');
  const program = typeof req.program === 'string' && /^[\w.-]{1,32}$/.test(req.program) ? req.program : opts.program;
  try {
    return execIpvsadm(opts.director, req.argv, req.stdin, { ...opts, program });
  } catch (e) {
    opts.log?.(`control request failed: ${(e as Error).stack ?? String(e)}`);
    return { stdout: '', stderr: `tsvs: internal error: ${(e as Error).message}\n`, exit: 1 };
  }
}

/** The argv of a request line, [] when it is not a valid request (handleRequest says why). */
function requestArgv(line: string): readonly string[] {
  try {
    const req = JSON.parse(line) as Partial<ControlRequest> | null;
    return Array.isArray(req?.argv) && req.argv.every((a) => typeof a === 'string') ? req.argv : [];
  } catch {
    return [];
  }
}

/** Does this ipvsadm command line list connections (-c, --connection, -Lc...)? */
export function listsConnections(argv: readonly string[]): boolean {
  return argv.some((a) => a === '--connection' || /^-[a-zA-Z]*c/.test(a));
}

function badRequest(why: string): ExecResult {
  return { stdout: '', stderr: `tsvs: bad control request: ${why}\n`, exit: 2 };
}

/** Removes a leftover socket file nobody answers on; refuses a live one or a non-socket. */
async function removeStale(path: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new Error(`${path} exists and is not a socket; not removing it`);
  const alive = await new Promise<boolean>((resolve) => {
    const c = createConnection(path);
    const done = (v: boolean) => {
      c.destroy();
      resolve(v);
    };
    c.once('connect', () => done(true));
    c.once('error', () => done(false));
    c.setTimeout(2000, () => done(true));
  });
  if (alive) throw new Error(`another daemon is answering on control socket ${path}`);
  unlinkSync(path);
}
