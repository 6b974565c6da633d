// Client side of the sync namespace test, run in the client namespace with `ip netns exec`:
//
//   sync-clients.js --host VIP --idle N --http-port 80 --stream-port 9000 [--max-ms 90000]
//
// Opens N idle HTTP/1.1 keep-alive connections to HOST:http-port and one long TCP stream to
// HOST:stream-port, then prints `READY {"ports":[...idle local ports], "streamPort":P}`.
// The stream writes a 1 KiB chunk of deterministic bytes every 20 ms until told to finish.
// stdin commands:
//   get     one GET on every idle connection; prints {"round":n,"servers":[body per conn or
//           "ERR:<why>"]} when all answered (or after 5 s)
//   finish  half-closes the stream and prints {"stream":{"reply":..., "bytes":N, "sha256":...,
//           "maxGapMs":M}} when the sink answers (its reply names the real server, bytes and
//           hash: the stream is intact end to end); maxGapMs is the longest pause between
//           two successful writes' drain events
//   quit    exits
// Exits after --max-ms in any case.

import { createHash } from 'node:crypto';
import * as net from 'node:net';
import { parseArgs } from 'node:util';

const out = (obj: unknown) => process.stdout.write(`${JSON.stringify(obj)}\n`);

interface Idle {
  sock: net.Socket;
  buf: string;
  waiting: ((body: string) => void) | null;
  dead: string;
}

function main(): void {
  const { values: v } = parseArgs({
    options: {
      host: { type: 'string' }, idle: { type: 'string', default: '20' }, 'http-port': { type: 'string', default: '80' },
      'stream-port': { type: 'string', default: '9000' }, 'max-ms': { type: 'string', default: '90000' },
    },
    strict: true,
  });
  const host = v.host!;
  setTimeout(() => process.exit(3), Number(v['max-ms'])).unref();
  const idles: Idle[] = [];
  let connected = 0;
  const n = Number(v.idle);
  const ready = () => {
    if (connected === n + 1) out({ ready: true, ports: idles.map((i) => i.sock.localPort), streamPort: stream.localPort });
  };
  for (let i = 0; i < n; i++) {
    const it: Idle = { sock: net.connect(Number(v['http-port']), host), buf: '', waiting: null, dead: '' };
    it.sock.setNoDelay(true);
    it.sock.on('connect', () => { connected++; ready(); });
    it.sock.on('data', (d) => {
      it.buf += d.toString('latin1');
      const h = it.buf.indexOf('\r\n\r\n');
      if (h < 0) return;
      const len = Number(/\r\ncontent-length:\s*(\d+)/i.exec(it.buf.slice(0, h))?.[1] ?? 0);
      if (it.buf.length < h + 4 + len) return;
      const body = it.buf.slice(h + 4, h + 4 + len).trim();
      it.buf = it.buf.slice(h + 4 + len);
      const w = it.waiting;
      it.waiting = null;
      w?.(body);
    });
    const die = (why: string) => {
      it.dead ||= why;
      const w = it.waiting;
      it.waiting = null;
      w?.(`ERR:${why}`);
    };
    it.sock.on('error', (e) => die(e.message));
    it.sock.on('close', () => die('closed'));
    idles.push(it);
  }

  // the long stream
  const hash = createHash('sha256');
  let sent = 0;
  let x = 0x2545f491;
  const chunk = Buffer.alloc(1024);
  let lastDrainAt = Date.now();
  let maxGapMs = 0;
  let reply = '';
  let finishing = false;
  let streamErr = '';
  const stream = net.connect(Number(v['stream-port']), host);
  stream.setNoDelay(true);
  const writer = setInterval(() => {
    if (finishing || streamErr) return;
    for (let i = 0; i < chunk.length; i += 4) {
      x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
      chunk.writeUInt32LE(x >>> 0, i);
    }
    hash.update(chunk);
    sent += chunk.length;
    stream.write(Buffer.from(chunk), () => {
      const now = Date.now();
      if (now - lastDrainAt > maxGapMs) maxGapMs = now - lastDrainAt;
      lastDrainAt = now;
    });
  }, 20);
  stream.on('connect', () => { connected++; lastDrainAt = Date.now(); ready(); });
  stream.on('data', (d) => (reply += d.toString()));
  stream.on('error', (e) => (streamErr = e.message));
  stream.on('close', () => {
    clearInterval(writer);
    if (finishing) out({ stream: { reply: reply.trim(), bytes: sent, sha256: hash.digest('hex'), maxGapMs, error: streamErr || undefined } });
    else out({ streamClosedEarly: true, error: streamErr, bytes: sent });
  });

  let round = 0;
  let lines = '';
  process.stdin.on('data', (d) => {
    lines += d.toString();
    let i: number;
    while ((i = lines.indexOf('\n')) >= 0) {
      const cmd = lines.slice(0, i).trim();
      lines = lines.slice(i + 1);
      if (cmd === 'get') {
        const r = ++round;
        void Promise.all(idles.map((it) => new Promise<string>((resolve) => {
          if (it.dead) return resolve(`ERR:${it.dead}`);
          const t = setTimeout(() => { it.waiting = null; resolve('ERR:timeout'); }, 5000);
          it.waiting = (body) => { clearTimeout(t); resolve(body); };
          it.sock.write(`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: keep-alive\r\n\r\n`);
        }))).then((servers) => out({ round: r, servers }));
      } else if (cmd === 'finish') {
        finishing = true;
        clearInterval(writer);
        stream.end();
      } else if (cmd === 'quit') {
        process.exit(0);
      }
    }
  });
}

if (process.argv.length > 2) main();
