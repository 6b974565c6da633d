// The real-server program of the lab, run inside an RS namespace:
//   node rs-server.js --name rs2 [--http-port 80] [--udp-port 7] [--ttl SEC] [--marker M]
// HTTP on 0.0.0.0:80 with keep-alive: every path answers `<name>\n`, except
//   /info   {"name","local","remote"} (addresses as the server saw them, for NAT tests)
//   /stats  {"name","httpRequests","httpConnections","udpDatagrams"}
// UDP echo on :7 replying `<name>:<payload>`. One socket per local IPv4 address (the VIP on lo
// included), plus a wildcard one, so a reply leaves from the address the datagram was sent
// to: a wildcard-only socket would answer a VIP datagram from eth0's address (the DR UDP
// pitfall). Prints READY when listening; exits on SIGTERM/SIGINT, or after --ttl seconds.
// `--marker` is not used here: it tags the command line so `lab down` signals only us.

import * as dgram from 'node:dgram';
import * as http from 'node:http';
import { networkInterfaces } from 'node:os';
import { parseArgs } from 'node:util';

function main(): void {
  const { values } = parseArgs({
    options: {
      name: { type: 'string' },
      'http-port': { type: 'string', default: '80' },
      'udp-port': { type: 'string', default: '7' },
      ttl: { type: 'string' },
      marker: { type: 'string' },
    },
    strict: true,
  });
  const name = values.name;
  if (!name) throw new Error('rs-server: --name is required');
  const httpPort = Number(values['http-port']);
  const udpPort = Number(values['udp-port']);
  const stats = { httpRequests: 0, httpConnections: 0, udpDatagrams: 0 };

  const server = http.createServer((req, res) => {
    stats.httpRequests++;
    let body: string;
    if (req.url === '/info') {
      const s = req.socket;
      body = `${JSON.stringify({ name, local: `${s.localAddress}:${s.localPort}`, remote: `${s.remoteAddress}:${s.remotePort}` })}\n`;
    } else if (req.url === '/stats') {
      body = `${JSON.stringify({ name, ...stats })}\n`;
    } else {
      body = `${name}\n`;
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), 'x-real-server': name });
    res.end(body);
  });
  server.on('connection', () => stats.httpConnections++);
  server.keepAliveTimeout = 30_000;

  const addrs = new Set<string>(['0.0.0.0']);
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4') addrs.add(a.address);
  }
  const sockets: dgram.Socket[] = [];
  let pending = addrs.size + 1;
  const ready = () => {
    if (--pending === 0) process.stdout.write(`READY ${name} http:${httpPort} udp:${udpPort} on ${[...addrs].join(',')}\n`);
  };
  for (const addr of addrs) {
    const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    s.on('message', (msg, rinfo) => {
      stats.udpDatagrams++;
      s.send(Buffer.concat([Buffer.from(`${name}:`), msg]), rinfo.port, rinfo.address);
    });
    s.on('error', (e) => {
      process.stderr.write(`udp ${addr}:${udpPort}: ${e.message}\n`);
      process.exit(1);
    });
    s.bind(udpPort, addr, ready);
    sockets.push(s);
  }
  server.on('error', (e) => {
    process.stderr.write(`http :${httpPort}: ${e.message}\n`);
    process.exit(1);
  });
  server.listen(httpPort, '0.0.0.0', ready);

  const stop = () => {
    server.close();
    server.closeAllConnections();
    for (const s of sockets) s.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (values.ttl !== undefined) setTimeout(stop, Number(values.ttl) * 1000).unref();
}

main();
