// The control socket and tsvsadm end to end, without root: a control server for an
// in-process Director on a socket in a temp dir, and the compiled tsvsadm run as a child
// process with TSVS_SOCKET pointing at it.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseV4 } from '../../src/core/addr';
import { Director } from '../../src/core/director';
import { TH_SYN } from '../../src/conn/tcp-states';
import { ControlServer, handleRequest } from '../../src/control/control-socket';
import { Daemon } from '../../src/control/daemon';
import { execIpvsadm } from '../../src/control/ipvsadm-exec';
import { MemoryBackend } from '../../src/io/memory-backend';
import { noNames } from '../../src/ipvsadm/names';

const TSVSADM = join(__dirname, '..', '..', 'src', 'cli', 'tsvsadm.js');

interface Run {
  stdout: string;
  stderr: string;
  code: number | null;
}

function tsvsadm(sock: string, args: string[], stdin?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TSVSADM, ...args], { env: { ...process.env, TSVS_SOCKET: sock }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ stdout, stderr, code }));
    child.stdin.end(stdin ?? '');
  });
}

let dir: string;
let sock: string;
let director: Director;
let server: ControlServer;
let changes = 0;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tsvs-ctl-'));
  sock = join(dir, 'run', 'tsvs.sock');
  director = new Director({ maxConns: 1024, now: 0 });
  server = await ControlServer.start({ path: sock, director, connTabSize: 4096, afterChange: () => changes++ });
});

after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const ok = async (args: string[], stdin?: string): Promise<string> => {
  const r = await tsvsadm(sock, args, stdin);
  assert.equal(r.stderr, '', `stderr of ${args.join(' ')}`);
  assert.equal(r.code, 0, `exit of ${args.join(' ')}`);
  return r.stdout;
};

const HEAD =
  'IP Virtual Server version 1.2.1 (size=4096)\n' +
  'Prot LocalAddress:Port Scheduler Flags\n' +
  '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n';

const LVS_LIST = HEAD + 'TCP  192.0.2.100:22 rr\n' + '  -> 192.0.2.11:22                Route   1      0          0         \n';

const WLC_LIST =
  LVS_LIST +
  'TCP  192.0.2.100:80 wlc\n' +
  '  -> 192.0.2.21:80                Route   1000   0          0         \n' +
  '  -> 192.0.2.22:80                Route   500    0          0         \n' +
  '  -> 192.0.2.23:80                Route   800    0          0         \n';

test('socket file is mode 0600 in a created directory of mode 0700', () => {
  assert.equal(statSync(sock).mode & 0o777, 0o600);
  assert.equal(statSync(join(dir, 'run')).mode & 0o777, 0o700);
});

test('the LVS director script, --timeout and -L -n', async () => {
  assert.equal(await ok(['-C']), '');
  assert.equal(await ok(['-A', '-t', '192.0.2.100:22', '-s', 'rr']), '');
  assert.equal(await ok(['-a', '-t', '192.0.2.100:22', '-r', '192.0.2.11', '-g', '-w', '1']), '');
  assert.equal(await ok(['--set', '259200', '0', '0']), '');
  assert.equal(await ok(['-L', '--timeout']), 'Timeout (tcp tcpfin udp): 259200 120 300\n');
  assert.equal(await ok(['-L', '-n']), LVS_LIST);
  assert.ok(changes > 0, 'afterChange was called');
});

test('a wlc service with weights, then -S -n / -C / -R round trip', async () => {
  await ok(['-A', '-t', '192.0.2.100:80', '-s', 'wlc']);
  for (const [ip, w] of [['192.0.2.21', '1000'], ['192.0.2.22', '500'], ['192.0.2.23', '800']]) {
    await ok(['-a', '-t', '192.0.2.100:80', '-r', ip, '-g', '-w', w]);
  }
  assert.equal(await ok(['-L', '-n']), WLC_LIST);
  const saved = await ok(['-S', '-n']);
  assert.equal(
    saved,
    '-A -t 192.0.2.100:22 -s rr\n' +
      '-a -t 192.0.2.100:22 -r 192.0.2.11:22 -g -w 1\n' +
      '-A -t 192.0.2.100:80 -s wlc\n' +
      '-a -t 192.0.2.100:80 -r 192.0.2.21:80 -g -w 1000\n' +
      '-a -t 192.0.2.100:80 -r 192.0.2.22:80 -g -w 500\n' +
      '-a -t 192.0.2.100:80 -r 192.0.2.23:80 -g -w 800\n',
  );
  await ok(['-C']);
  assert.equal(await ok(['-L', '-n']), HEAD);
  assert.equal(await ok(['-R'], saved), '');
  assert.equal(await ok(['-L', '-n']), WLC_LIST);
});

test('wrong arguments give ipvsadm messages and exit codes and change nothing', async () => {
  const before = await ok(['-L', '-n']);
  const cases: [string[], string, number][] = [
    [['-a', '-t', '192.0.2.100:80', '-r', '192.0.2.30', '-w', '70000'], 'illegal weight specified\n', 2],
    [['-A', '-t', '192.0.2.100:443', '-s', 'nosuch'], 'Scheduler or persistence engine not found\n', 255],
    [['-a', '-t', '192.0.2.200:80', '-r', '192.0.2.30'], 'Service not defined\n', 255],
    [['-A', '-t', '192.0.2.100:80'], 'Service already exists\n', 255],
    [['-e', '-t', '192.0.2.100:80', '-r', '192.0.2.99'], 'No such destination\n', 255],
    [['-L', '-n', '-t', '192.0.2.200:80'], 'No such service\n', 1],
    [['--set', '9999999', '0', '0'], "invalid timeout value `9999999' specified\n", 2],
    [['-D', '-t', '192.0.2.100:443'], 'No such service\n', 255],
    [['-d', '-t', '192.0.2.100:80', '-r', '192.0.2.99'], 'No such destination\n', 255],
    [['-X'], "Try `ipvsadm -h' or 'ipvsadm --help' for more information.\n", 255],
    [['--start-daemon', 'master'], 'tsvs: connection sync is not available here (no sync engine in this process)\n', 2],
    [['--start-daemon', 'nosuch'], 'illegal start-daemon parameter specified\n', 2],
  ];
  for (const [args, stderr, code] of cases) {
    const r = await tsvsadm(sock, args);
    assert.equal(r.stderr, stderr, args.join(' '));
    assert.equal(r.code, code, args.join(' '));
    assert.equal(r.stdout, '', args.join(' '));
  }
  assert.equal(await ok(['-L', '-n']), before);
});

test('-R: kernel errors go on, a fatal parse error stops, status of the last line', async () => {
  const before = await ok(['-L', '-n']);
  // line 1 fails in the "kernel", line 2 succeeds: exit 0, error printed
  let r = await tsvsadm(sock, ['-R'], '-A -t 192.0.2.100:80 -s rr\n-A -t 192.0.2.100:8080 -s rr\n');
  assert.deepEqual([r.stderr, r.code], ['Service already exists\n', 0]);
  r = await tsvsadm(sock, ['-R'], '-D -t 192.0.2.100:8080\n-a -t 192.0.2.100:80 -r 192.0.2.30 -w x\n-A -t 192.0.2.100:9 -s rr\n');
  assert.deepEqual([r.stderr, r.code], ['illegal weight specified\n', 2]);
  assert.equal(await ok(['-L', '-n']), before, 'lines after the fatal error were not run');
  r = await tsvsadm(sock, ['-R'], '-R\n');
  assert.deepEqual([r.stderr, r.code], ["Try `ipvsadm -h' or 'ipvsadm --help' for more information.\n", 255]);
  // the "ipvsadm" word is dropped
  r = await tsvsadm(sock, ['-R'], 'ipvsadm -L --timeout\n');
  assert.deepEqual([r.stdout, r.code], ['Timeout (tcp tcpfin udp): 259200 120 300\n', 0]);
});

test('-L -c lists a connection; -Z zeroes the counters', async () => {
  director.now = 100;
  const d = director.inPacket4(6, parseV4('198.51.100.7'), 40000, parseV4('192.0.2.100'), 22, TH_SYN, 60);
  assert.ok(d > 0, 'SYN was scheduled');
  const conns = await ok(['-L', '-c', '-n']);
  assert.equal(
    conns,
    'IPVS connection entries\n' +
      'pro expire state       source             virtual            destination\n' +
      'TCP 01:00  SYN_RECV    198.51.100.7:40000 192.0.2.100:22     192.0.2.11:22\n',
  );
  const stats = await ok(['-L', '-n', '--stats', '-t', '192.0.2.100:22']);
  assert.match(stats, /TCP {2}192\.0\.2\.100:22 +1 +1 +0 +60 +0\n/);
  const listed = await ok(['-L', '-n', '-t', '192.0.2.100:22']);
  assert.match(listed, /192\.0\.2\.11:22 +Route +1 +1 +0 +\n$/);
  assert.equal(await ok(['-Z']), '');
  const zeroed = await ok(['-L', '-n', '--stats', '-t', '192.0.2.100:22']);
  assert.match(zeroed, /TCP {2}192\.0\.2\.100:22 +0 +0 +0 +0 +0\n/);
});

test('help and argument errors work without a daemon; no daemon is the two-line message, exit 2', async () => {
  const none = join(dir, 'nothing', 'here.sock');
  let r = await tsvsadm(none, ['-L', '-n']);
  assert.equal(
    r.stderr,
    `Can't initialize ipvs: the tsvs daemon is not running (no control socket at ${none})\n` +
      'Are you sure that IP Virtual Server is built in the kernel or as module?\n',
  );
  assert.equal(r.code, 2);
  r = await tsvsadm(none, ['-h']);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^ipvsadm v1\.31/);
  r = await tsvsadm(none, ['-v']);
  assert.deepEqual([r.stdout, r.code], ['ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)\n', 0]);
  r = await tsvsadm(none, ['-a', '-t', '192.0.2.1:80', '-r', '192.0.2.2', '-w', '-3']);
  assert.deepEqual([r.stderr, r.code], ['illegal weight specified\n', 2]);
});

test('a stale socket file is replaced, a live one is refused, close removes it', async () => {
  const p = join(dir, 'stale.sock');
  const a = await ControlServer.start({ path: p, director: new Director({ maxConns: 64 }) });
  await assert.rejects(ControlServer.start({ path: p, director: new Director({ maxConns: 64 }) }), /another daemon/);
  await a.close();
  assert.equal(existsSync(p), false);
  const f = join(dir, 'plain-file');
  writeFileSync(f, 'x');
  await assert.rejects(ControlServer.start({ path: f, director: new Director({ maxConns: 64 }) }), /not a socket/);
  assert.equal(existsSync(f), true);
});

test('execIpvsadm in-process: bad request shapes and -h inside -R', () => {
  const d = new Director({ maxConns: 64 });
  const r = execIpvsadm(d, ['-R'], '-A -t 10.0.0.1:80 -s rr\n-h\n-A -t 10.0.0.2:80 -s rr\n', { resolver: noNames });
  assert.equal(r.exit, 0);
  assert.match(r.stdout, /^ipvsadm v1\.31/);
  assert.equal(d.services.services.length, 1);
  for (const line of ['nope', '{}', '{"argv":[1]}', '{"argv":[],"stdin":3}']) {
    const b = handleRequest(line, { path: '', director: d });
    assert.equal(b.exit, 2, line);
    assert.match(b.stderr, /^tsvs: bad control request: /, line);
  }
  assert.deepEqual(handleRequest('{"argv":["-L","--timeout"]}', { path: '', director: d }), {
    stdout: 'Timeout (tcp tcpfin udp): 900 120 300\n',
    stderr: '',
    exit: 0,
  });
});

test('through a Daemon: a control change reaches the data plane (VIPs)', async () => {
  const backend = new MemoryBackend(Uint8Array.from([2, 0, 0, 0, 0, 1]));
  const daemon = new Daemon({ backend, ourIp: parseV4('192.0.2.1'), maxConns: 1024, log: () => {} });
  daemon.apply({ services: [] });
  const p = join(dir, 'daemon.sock');
  const cs = await ControlServer.start({ path: p, director: daemon.director, afterChange: () => daemon.controlChanged() });
  daemon.start();
  try {
    const r = await tsvsadm(p, ['-A', '-t', '192.0.2.50:80', '-s', 'rr']);
    assert.deepEqual([r.stderr, r.code], ['', 0]);
    assert.deepEqual([...backend.vips], [parseV4('192.0.2.50')]);
    const l = await tsvsadm(p, ['-L', '-n']);
    assert.match(l.stdout, /\nTCP {2}192\.0\.2\.50:80 rr\n$/);
  } finally {
    daemon.stop();
    await cs.close();
  }
});
