// Small programs for the VRRP namespace tests, run inside a namespace with `ip netns exec`:
//
//   vrrp-tools.js slowstream --host H --port P [--every-ms 20] [--chunk 512] [--max-ms 120000]
//       One TCP connection that keeps sending CHUNK bytes every EVERY ms (a long-lived
//       stream across a failover). Prints `READY {"localPort":N}`. On the stdin line `end`
//       it stops, half-closes and waits (up to 5 s) for the sink's reply
//       (`<name> <bytes> <sha256>`, tcp-tools.js sink), then prints one JSON line
//       {sent, reply} or {sent, error} and exits.
//
//   vrrp-tools.js inject --ifname IF --hex H1,H2,... [--dst 224.0.0.18]
//       Sends each hex string as a whole IPv4 datagram (our own IP header: IP_HDRINCL) on
//       a raw protocol-112 socket bound to IF; prints `SENT n` and exits.

import * as net from 'node:net';
import { parseArgs } from 'node:util';

const out = (obj: unknown) => process.stdout.write(`${JSON.stringify(obj)}\n`);

function slowstream(v: Record<string, string | undefined>): void {
  const every = Number(v['every-ms'] ?? 20);
  const chunk = Buffer.alloc(Number(v.chunk ?? 512), 0x61);
  const sock = net.connect(Number(v.port), v.host!);
  let sent = 0;
  let reply = '';
  let timer: NodeJS.Timeout | null = null;
  const end = (obj: Record<string, unknown>) => {
    out({ sent, ...obj });
    process.exit(0);
  };
  setTimeout(() => end({ error: 'max-ms' }), Number(v['max-ms'] ?? 120000)).unref();
  sock.setNoDelay(true);
  sock.on('connect', () => {
    process.stdout.write(`READY ${JSON.stringify({ localPort: sock.localPort })}\n`);
    timer = setInterval(() => {
      // write only what the kernel takes: a stalled connection does not pile up in node
      if (sock.writableLength === 0) {
        sock.write(chunk);
        sent += chunk.length;
      }
    }, every);
  });
  sock.on('data', (d) => (reply += d.toString()));
  sock.on('error', (e) => end({ error: e.message, reply }));
  sock.on('close', () => end({ reply: reply.trim() }));
  process.stdin.on('data', (d) => {
    if (!d.toString().includes('end')) return;
    if (timer) clearInterval(timer);
    sock.end();
    setTimeout(() => end({ error: 'no reply within 5 s', reply }), 5000).unref();
  });
}

interface RawSocket {
  send(buf: Buffer, offset: number, length: number, address: string, after: (e: Error | null) => void): void;
  setOption(level: number, option: number, value: number | Buffer, length?: number): void;
  close(): void;
}

function inject(v: Record<string, string | undefined>): void {
  const raw = require('raw-socket') as { createSocket(o: { protocol: number }): RawSocket };
  const sock = raw.createSocket({ protocol: 112 });
  const dev = Buffer.from(`${v.ifname}\0`);
  sock.setOption(1, 25, dev, dev.length); // SO_BINDTODEVICE
  sock.setOption(0, 3, 1); // IP_HDRINCL
  const packets = (v.hex ?? '').split(',').filter(Boolean).map((h) => Buffer.from(h, 'hex'));
  let n = 0;
  let errors = 0;
  const next = () => {
    if (n === packets.length) {
      process.stdout.write(`SENT ${n - errors}\n`);
      sock.close();
      return;
    }
    const p = packets[n++];
    sock.send(p, 0, p.length, v.dst ?? '224.0.0.18', (e) => {
      if (e) {
        errors++;
        process.stderr.write(`send: ${e.message}\n`);
      }
      setTimeout(next, 5);
    });
  };
  next();
}

function main(): void {
  const [mode, ...rest] = process.argv.slice(2);
  const { values } = parseArgs({
    args: rest,
    options: {
      host: { type: 'string' }, port: { type: 'string' }, 'every-ms': { type: 'string' }, chunk: { type: 'string' },
      'max-ms': { type: 'string' }, ifname: { type: 'string' }, hex: { type: 'string' }, dst: { type: 'string' },
    },
    strict: true,
  });
  if (mode === 'slowstream') slowstream(values);
  else if (mode === 'inject') inject(values);
  else process.stderr.write('usage: vrrp-tools.js slowstream|inject ...\n'); // e.g. picked up by node --test: do nothing
}

if (require.main === module) main();
