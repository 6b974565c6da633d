// Health checkers against real servers on 127.0.0.1 started by the test (no root needed,
// except for the ping case, which is skipped otherwise).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as dgram from 'node:dgram';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CheckOptions, CheckTarget } from '../../src/health/check';
import { checkConnect } from '../../src/health/connect';
import { checkHttp } from '../../src/health/http';
import { checkExternal } from '../../src/health/external';
import { checkPing } from '../../src/health/ping';
import { checkDns } from '../../src/health/dns';
import {
  checkFtp, checkImap, checkMysql, checkNntp, checkPgsql, checkPop, checkSimpleTcp, checkSmtp,
} from '../../src/health/simple-protocols';

const sig = (): AbortSignal => new AbortController().signal;

function target(port: number, extra: Partial<CheckTarget> = {}): CheckTarget {
  return { host: '127.0.0.1', port, realPort: port, vip: '192.0.2.100', vport: 80, fwmark: 0, protocol: 'tcp', ...extra };
}
function opts(extra: Partial<CheckOptions> = {}): CheckOptions {
  return {
    timeoutMs: 2000, request: '/', receive: '', httpmethod: 'GET', virtualhost: '', login: '', passwd: '',
    database: '', checkcommand: '/bin/true', checkcount: 1, ...extra,
  };
}

async function listen(server: net.Server): Promise<number> {
  server.on('connection', (c: net.Socket) => {
    conns.add(c);
    c.on('close', () => conns.delete(c));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}
const conns = new Set<net.Socket>();
async function close(server: net.Server): Promise<void> {
  if ('closeAllConnections' in server) (server as http.Server).closeAllConnections();
  for (const c of conns) c.destroy();
  await new Promise<void>((r) => server.close(() => r()));
}

const httpHandler: http.RequestListener = (req, res) => {
  if (req.url === '/ok') {
    res.end(`hello from ${req.headers.host}`);
  } else if (req.url === '/fail') {
    res.statusCode = 500;
    res.end('broken');
  } else if (req.url === '/slow') {
    setTimeout(() => res.end('late'), 5000).unref();
  } else {
    res.statusCode = 404;
    res.end();
  }
};

test('http: 2xx up, 500 down, receive regex, Host header, HEAD, slow times out', async () => {
  const srv = http.createServer(httpHandler);
  const port = await listen(srv);
  try {
    assert.equal((await checkHttp(target(port), opts({ request: '/ok' }), sig(), 'http')).up, true);
    const bad = await checkHttp(target(port), opts({ request: '/fail' }), sig(), 'http');
    assert.equal(bad.up, false);
    assert.match(bad.reason, /500/);
    assert.equal((await checkHttp(target(port), opts({ request: '/ok', receive: 'hello' }), sig(), 'http')).up, true);
    assert.equal((await checkHttp(target(port), opts({ request: '/ok', receive: '^nope' }), sig(), 'http')).up, false);
    assert.equal((await checkHttp(target(port), opts({ request: '/ok', receive: 'from www\\.example' , virtualhost: 'www.example' }), sig(), 'http')).up, true);
    assert.equal((await checkHttp(target(port), opts({ request: 'ok', httpmethod: 'HEAD' }), sig(), 'http')).up, true);
    assert.equal((await checkHttp(target(9), opts({ request: `http://127.0.0.1:${port}/ok` }), sig(), 'http')).up, true);
    const t0 = Date.now();
    const slow = await checkHttp(target(port), opts({ request: '/slow', timeoutMs: 300 }), sig(), 'http');
    assert.equal(slow.up, false);
    assert.ok(Date.now() - t0 < 1000, 'slow check ended at its timeout');
  } finally {
    await close(srv);
  }
});

test('https with a self-signed certificate (skipped without openssl)', async (t) => {
  let have = false;
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    have = true;
  } catch {
    /* none */
  }
  if (!have) {
    t.skip('openssl not found');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'tsvs-health-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'),
    '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
  const srv = https.createServer({ key: readFileSync(join(dir, 'k.pem')), cert: readFileSync(join(dir, 'c.pem')) }, httpHandler);
  const port = await listen(srv);
  try {
    assert.equal((await checkHttp(target(port), opts({ request: '/ok', receive: 'hello' }), sig(), 'https')).up, true);
    assert.equal((await checkHttp(target(port), opts({ request: '/fail' }), sig(), 'https')).up, false);
  } finally {
    await close(srv);
  }
});

test('connect: open port up, closed port down, non-answering address times out', async () => {
  const srv = net.createServer((s) => s.destroy());
  const port = await listen(srv);
  assert.equal((await checkConnect(target(port), opts(), sig())).up, true);
  await close(srv);
  assert.equal((await checkConnect(target(port), opts(), sig())).up, false);
  // 192.0.2.1 (TEST-NET-1) does not answer; the check must end at its timeout.
  const t0 = Date.now();
  const r = await checkConnect({ ...target(80), host: '192.0.2.1' }, opts({ timeoutMs: 400 }), sig());
  assert.equal(r.up, false);
  assert.ok(Date.now() - t0 < 1400, `took ${Date.now() - t0} ms`);
});

test('a server that accepts and never answers: negotiate ends within timeout + slack', async () => {
  const held: net.Socket[] = [];
  const srv = net.createServer((s) => held.push(s));
  const port = await listen(srv);
  try {
    for (const fn of [checkSmtp, checkPop, checkImap, checkFtp, checkNntp, checkMysql, checkPgsql]) {
      const t0 = Date.now();
      const r = await fn(target(port), opts({ timeoutMs: 300 }), sig());
      assert.equal(r.up, false);
      assert.ok(Date.now() - t0 < 900, `${fn.name} took ${Date.now() - t0} ms`);
    }
  } finally {
    for (const s of held) s.destroy();
    await close(srv);
  }
});

test('external: exit 0 up, non-zero down, args VIP VPORT RIP RPORT, killed at timeout', async () => {
  assert.equal((await checkExternal(target(80), opts({ checkcommand: '/bin/true' }), sig())).up, true);
  assert.equal((await checkExternal(target(80), opts({ checkcommand: '/bin/false' }), sig())).up, false);
  const dir = mkdtempSync(join(tmpdir(), 'tsvs-ext-'));
  const out = join(dir, 'args');
  const r = await checkExternal(target(8080, { realPort: 8080 }), opts({ checkcommand: `printf '%s ' >${out}` }), sig());
  assert.equal(r.up, true);
  assert.equal(readFileSync(out, 'utf8'), '192.0.2.100 80 127.0.0.1 8080 ');
  await checkExternal(target(8080, { fwmark: 7, vip: '' }), opts({ checkcommand: `printf '%s ' >${out}` }), sig());
  assert.equal(readFileSync(out, 'utf8'), '7 80 127.0.0.1 8080 ');
  const marker = join(dir, 'survived');
  const t0 = Date.now();
  const slow = await checkExternal(target(80), opts({ checkcommand: `sleep 2; touch ${marker}; true`, timeoutMs: 300 }), sig());
  assert.equal(slow.up, false);
  assert.ok(Date.now() - t0 < 1000);
  await new Promise((res) => setTimeout(res, 2300));
  assert.equal(existsSync(marker), false, 'the command was killed');
});

function greeter(script: (s: net.Socket) => void): net.Server {
  return net.createServer(script);
}
function lines(s: net.Socket, onLine: (l: string) => void): void {
  let buf = '';
  s.on('data', (d) => {
    buf += d.toString('latin1');
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, i).replace(/\r$/, '');
      buf = buf.slice(i + 1);
      onLine(l);
    }
  });
  s.on('error', () => {});
}

test('smtp, pop, imap, ftp, nntp, mysql, pgsql, simpletcp against fake servers', async () => {
  const servers: net.Server[] = [];
  const start = async (fn: (s: net.Socket) => void): Promise<number> => {
    const srv = greeter(fn);
    servers.push(srv);
    return listen(srv);
  };
  try {
    const smtp = await start((s) => {
      s.write('220-mail.example ESMTP\r\n220 ready\r\n');
      lines(s, (l) => {
        if (l.startsWith('EHLO')) s.write('250-mail.example\r\n250 PIPELINING\r\n');
        else if (l === 'QUIT') s.end('221 bye\r\n');
      });
    });
    assert.deepEqual(await checkSmtp(target(smtp), opts(), sig()), { up: true, reason: 'ok' });
    const smtpBad = await start((s) => s.end('554 go away\r\n'));
    assert.equal((await checkSmtp(target(smtpBad), opts(), sig())).up, false);

    const pop = await start((s) => {
      s.write('+OK POP3 ready\r\n');
      lines(s, (l) => {
        if (l.startsWith('USER')) s.write('+OK\r\n');
        else if (l.startsWith('PASS')) s.write(l === 'PASS good' ? '+OK\r\n' : '-ERR denied\r\n');
        else if (l === 'QUIT') s.end('+OK\r\n');
      });
    });
    assert.equal((await checkPop(target(pop), opts(), sig())).up, true);
    assert.equal((await checkPop(target(pop), opts({ login: 'u', passwd: 'good' }), sig())).up, true);
    assert.equal((await checkPop(target(pop), opts({ login: 'u', passwd: 'bad' }), sig())).up, false);

    const imap = await start((s) => {
      s.write('* OK IMAP4rev1 ready\r\n');
      lines(s, (l) => {
        if (l.startsWith('a1 LOGIN')) s.write('a1 OK done\r\n');
        else if (l.startsWith('a2 LOGOUT')) s.end('* BYE\r\na2 OK\r\n');
      });
    });
    assert.equal((await checkImap(target(imap), opts({ login: 'u', passwd: 'p' }), sig())).up, true);
    const imapBad = await start((s) => s.end('* BYE busy\r\n'));
    assert.equal((await checkImap(target(imapBad), opts(), sig())).up, false);

    const ftp = await start((s) => {
      s.write('220 FTP ready\r\n');
      lines(s, (l) => {
        if (l === 'USER anonymous') s.write('331 send password\r\n');
        else if (l.startsWith('PASS')) s.write('230 logged in\r\n');
        else if (l.startsWith('USER')) s.write('530 no\r\n');
        else if (l === 'QUIT') s.end('221 bye\r\n');
      });
    });
    assert.equal((await checkFtp(target(ftp), opts(), sig())).up, true);
    assert.equal((await checkFtp(target(ftp), opts({ login: 'bob' }), sig())).up, false);

    const nntp = await start((s) => s.end('200 news ready\r\n'));
    assert.equal((await checkNntp(target(nntp), opts(), sig())).up, true);
    const nntpBad = await start((s) => s.end('502 no permission\r\n'));
    assert.equal((await checkNntp(target(nntpBad), opts(), sig())).up, false);

    const mysql = await start((s) => {
      const payload = Buffer.concat([Buffer.from([10]), Buffer.from('8.0.36\0', 'latin1'), Buffer.alloc(20)]);
      const head = Buffer.from([payload.length & 0xff, (payload.length >> 8) & 0xff, 0, 0]);
      s.end(Buffer.concat([head, payload]));
    });
    assert.equal((await checkMysql(target(mysql), opts(), sig())).up, true);
    const mysqlBad = await start((s) => s.end(Buffer.from([5, 0, 0, 0, 0xff, 0x6a, 0x04, 0x48, 0x6f])));
    assert.equal((await checkMysql(target(mysqlBad), opts(), sig())).up, false);

    const pg = await start((s) => {
      s.once('data', (d: Buffer) => {
        assert.equal(d.readUInt32BE(4), 80877103);
        s.end('N');
      });
      s.on('error', () => {});
    });
    assert.equal((await checkPgsql(target(pg), opts(), sig())).up, true);
    const pgBad = await start((s) => s.end('HTTP/1.1 400 Bad Request\r\n'));
    assert.equal((await checkPgsql(target(pgBad), opts(), sig())).up, false);

    const stcp = await start((s) => {
      let got = '';
      s.on('data', (d) => (got += d.toString()));
      s.on('end', () => s.end(`echo: ${got.trim()}\nstatus: ok\n`));
      s.on('error', () => {});
    });
    assert.equal((await checkSimpleTcp(target(stcp), opts({ request: 'PING\\n', receive: '^status: ok' }), sig())).up, true);
    assert.equal((await checkSimpleTcp(target(stcp), opts({ request: 'PING\\n', receive: '^status: bad' }), sig())).up, false);
  } finally {
    for (const s of servers) await close(s);
  }
});

test('dns over UDP and TCP', async () => {
  const answer = (q: Buffer, ip: number[] | null): Buffer => {
    const qEnd = (() => {
      let o = 12;
      while (q[o] !== 0) o += q[o] + 1;
      return o + 5;
    })();
    const head = Buffer.from(q.subarray(0, 12));
    head.writeUInt16BE(0x8180, 2);
    head.writeUInt16BE(ip ? 1 : 0, 6);
    const parts = [head, q.subarray(12, qEnd)];
    if (ip) {
      const rr = Buffer.alloc(16);
      rr.writeUInt16BE(0xc00c, 0);
      rr.writeUInt16BE(1, 2);
      rr.writeUInt16BE(1, 4);
      rr.writeUInt32BE(60, 6);
      rr.writeUInt16BE(4, 10);
      Buffer.from(ip).copy(rr, 12);
      parts.push(rr);
    }
    return Buffer.concat(parts);
  };
  const udp = dgram.createSocket('udp4');
  udp.on('message', (m, r) => {
    const known = m.includes(Buffer.from('www'));
    udp.send(answer(m, known ? [192, 0, 2, 7] : null), r.port, r.address);
  });
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
  const uport = udp.address().port;
  const tcp = net.createServer((s) => {
    s.once('data', (d: Buffer) => {
      const a = answer(d.subarray(2), [192, 0, 2, 8]);
      const len = Buffer.alloc(2);
      len.writeUInt16BE(a.length);
      s.end(Buffer.concat([len, a]));
    });
    s.on('error', () => {});
  });
  const tport = await listen(tcp);
  try {
    const u = target(uport, { protocol: 'udp' });
    assert.equal((await checkDns(u, opts({ request: '/www.example.com' }), sig())).up, true);
    assert.equal((await checkDns(u, opts({ request: 'www.example.com', receive: '^192\\.0\\.2\\.7$' }), sig())).up, true);
    assert.equal((await checkDns(u, opts({ request: 'www.example.com', receive: '^10\\.' }), sig())).up, false);
    assert.equal((await checkDns(u, opts({ request: 'nothing.example' }), sig())).up, false);
    assert.equal((await checkDns(target(tport), opts({ request: 'www.example.com', receive: '192.0.2.8' }), sig())).up, true);
  } finally {
    udp.close();
    await close(tcp);
  }
});

test('ping 127.0.0.1 (root only)', async (t) => {
  if (process.getuid?.() !== 0) {
    const r = await checkPing(target(0), opts({ timeoutMs: 500 }), sig());
    assert.equal(r.up, false);
    assert.match(r.reason, /root|raw-socket/);
    t.skip('not root');
    return;
  }
  assert.equal((await checkPing(target(0), opts({ timeoutMs: 1000 }), sig())).up, true);
  // UDP virtuals' connect check pings.
  assert.equal((await checkConnect(target(0, { protocol: 'udp' }), opts({ timeoutMs: 1000 }), sig())).up, true);
  const t0 = Date.now();
  // Whether 192.0.2.1 answers depends on the host's network; only the time bound is checked.
  await checkPing({ ...target(0), host: '192.0.2.1' }, opts({ timeoutMs: 300, checkcount: 2 }), sig());
  assert.ok(Date.now() - t0 < 1200);
});
