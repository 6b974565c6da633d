// Small TCP programs for the namespace tests, run inside a namespace with `ip netns exec`:
//
//   tcp-tools.js sink --name rs1 --port 9000 [--ttl 300]
//       Listens on 0.0.0.0:PORT; for each connection, hashes everything received and, when
//       the client half-closes, answers `<name> <bytes> <sha256>\n` and closes. Prints READY.
//       Exits on SIGTERM/SIGINT or after --ttl seconds.
//
//   tcp-tools.js stream --host H --port P --bytes N [--timeout-ms 20000]
//       Connects, sends N deterministic pseudo-random bytes, half-closes, and prints one
//       JSON line {reply, bytes, sha256, localPort, ms} (or {error}).
//
//   tcp-tools.js keepalive --host H --port P [--max-ms 60000]
//       Opens ONE TCP connection and keeps it: prints `READY {"localPort":N}`, then for every
//       line `get` on stdin sends an HTTP/1.1 keep-alive GET / on that same connection and
//       prints one JSON line {n, status, body, server}. `quit` (or stdin closing, or
//       --max-ms) ends it; if the peer closes or resets, prints {closed, error?} and exits.

import { createHash } from 'node:crypto';
import * as net from 'node:net';
import { parseArgs } from 'node:util';

const out = (obj: unknown) => process.stdout.write(`${JSON.stringify(obj)}\n`);

/** Deterministic bytes: a xorshift stream, so both ends can agree on the hash. */
export function patternBytes(n: number): Buffer {
  const b = Buffer.alloc(n);
  let x = 0x2545f491;
  for (let i = 0; i < n; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b.writeUInt32LE(x >>> 0, Math.min(i, n - 4));
  }
  return b;
}

function sink(v: Record<string, string | undefined>): void {
  const name = v.name ?? 'sink';
  const server = net.createServer((sock) => {
    const h = createHash('sha256');
    let bytes = 0;
    sock.on('data', (d) => {
      bytes += d.length;
      h.update(d);
    });
    sock.on('end', () => sock.end(`${name} ${bytes} ${h.digest('hex')}\n`));
    sock.on('error', () => undefined);
  });
  server.listen(Number(v.port ?? 9000), '0.0.0.0', () => process.stdout.write(`READY ${name}\n`));
  const stop = () => process.exit(0);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  setTimeout(stop, Number(v.ttl ?? 300) * 1000).unref();
}

function stream(v: Record<string, string | undefined>): void {
  const data = patternBytes(Number(v.bytes ?? 1 << 22));
  const sha256 = createHash('sha256').update(data).digest('hex');
  const t0 = Date.now();
  const sock = net.connect(Number(v.port), v.host!);
  const timer = setTimeout(() => {
    out({ error: 'timeout' });
    process.exit(1);
  }, Number(v['timeout-ms'] ?? 20000));
  let reply = '';
  sock.on('connect', () => {
    const chunk = 64 * 1024;
    for (let o = 0; o < data.length; o += chunk) sock.write(data.subarray(o, o + chunk));
    sock.end();
  });
  sock.on('data', (d) => (reply += d.toString()));
  sock.on('error', (e) => {
    out({ error: e.message });
    process.exit(1);
  });
  sock.on('close', () => {
    clearTimeout(timer);
    out({ reply: reply.trim(), bytes: data.length, sha256, localPort: sock.localPort, ms: Date.now() - t0 });
    process.exit(0);
  });
}

function keepalive(v: Record<string, string | undefined>): void {
  const sock = net.connect(Number(v.port), v.host!);
  let buf = '';
  let n = 0;
  let pending = 0;
  const end = (obj: unknown) => {
    out(obj);
    process.exit(0);
  };
  setTimeout(() => end({ closed: true, error: 'max-ms' }), Number(v['max-ms'] ?? 60000)).unref();
  sock.setNoDelay(true);
  sock.on('connect', () => process.stdout.write(`READY ${JSON.stringify({ localPort: sock.localPort })}\n`));
  sock.on('data', (d) => {
    buf += d.toString('latin1');
    for (;;) {
      const h = buf.indexOf('\r\n\r\n');
      if (h < 0) return;
      const head = buf.slice(0, h);
      const len = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      if (buf.length < h + 4 + len) return;
      const body = buf.slice(h + 4, h + 4 + len);
      buf = buf.slice(h + 4 + len);
      pending--;
      out({ n: ++n, status: Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1] ?? 0), body, server: /\r\nx-real-server:\s*(\S+)/i.exec(head)?.[1] ?? '' });
    }
  });
  sock.on('error', (e) => end({ closed: true, error: e.message, pending }));
  sock.on('close', () => end({ closed: true, pending }));
  let lineBuf = '';
  process.stdin.on('data', (d) => {
    lineBuf += d.toString();
    let i: number;
    while ((i = lineBuf.indexOf('\n')) >= 0) {
      const cmd = lineBuf.slice(0, i).trim();
      lineBuf = lineBuf.slice(i + 1);
      if (cmd === 'get') {
        pending++;
        sock.write(`GET / HTTP/1.1\r\nHost: ${v.host}\r\nConnection: keep-alive\r\n\r\n`);
      } else if (cmd === 'quit') {
        sock.end();
      }
    }
  });
  process.stdin.on('end', () => sock.destroy());
}

function main(): void {
  const [mode, ...rest] = process.argv.slice(2);
  if (mode === undefined) {
    // Without arguments (e.g. picked up by `node --test dist/test/`) do nothing.
    process.stderr.write('usage: tcp-tools.js sink|stream|keepalive [options]\n');
    return;
  }
  const { values } = parseArgs({
    args: rest,
    options: {
      name: { type: 'string' }, port: { type: 'string' }, ttl: { type: 'string' }, host: { type: 'string' },
      bytes: { type: 'string' }, 'timeout-ms': { type: 'string' }, 'max-ms': { type: 'string' },
    },
    strict: true,
  });
  if (mode === 'sink') sink(values);
  else if (mode === 'stream') stream(values);
  else if (mode === 'keepalive') keepalive(values);
  else throw new Error(`tcp-tools: unknown mode ${mode}`);
}

if (require.main === module) main();
