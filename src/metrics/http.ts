// The /metrics HTTP endpoint: GET (or HEAD) /metrics answers the registry's exposition
// text with its content type; every other path is 404. Plain HTTP, no auth: bind it to a
// management address.

import http from 'node:http';
import { isIPv4, isIPv6 } from 'node:net';
import type { Metrics } from './metrics';

export interface ListenAddress {
  /** undefined = every address (Node listens on :: and 0.0.0.0). */
  host: string | undefined;
  port: number;
}

/** Parses "ADDR:PORT", "[V6ADDR]:PORT" or ":PORT"; throws an Error saying what is wrong. */
export function parseListen(listen: string): ListenAddress {
  const bad = (why: string) => new Error(`metrics listen address '${listen}': ${why} (want ADDR:PORT, [IPV6]:PORT or :PORT)`);
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):([^:]*)$/.exec(listen);
  if (!m) throw bad('not of the form ADDR:PORT');
  const host = m[1] ?? m[2];
  if (m[1] !== undefined ? !isIPv6(host) : host !== '' && !isIPv4(host)) throw bad(`'${host}' is not an IP address`);
  if (!/^\d{1,5}$/.test(m[3]) || Number(m[3]) > 65535) throw bad(`port '${m[3]}' is not a number from 0 to 65535`);
  return { host: host === '' ? undefined : host, port: Number(m[3]) };
}

export function startMetricsServer(metrics: Metrics, listen: string): Promise<http.Server> {
  let addr: ListenAddress;
  try {
    addr = parseListen(listen);
  } catch (e) {
    return Promise.reject(e);
  }
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found; metrics are at GET /metrics\n');
      return;
    }
    metrics.text().then(
      (body) => {
        res.writeHead(200, { 'Content-Type': metrics.contentType, 'Content-Length': Buffer.byteLength(body) });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (err: Error) => {
        res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`metrics collection failed: ${err.message}\n`);
      },
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(new Error(`metrics: cannot listen on ${listen}: ${err.code === 'EADDRINUSE' ? 'address in use' : err.message}`));
    });
    server.listen(addr.port, addr.host, () => {
      server.removeAllListeners('error');
      server.on('error', () => {});
      resolve(server);
    });
  });
}
