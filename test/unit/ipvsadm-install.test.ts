// The ipvsadm-compatible tools around the daemon, without root and without touching the
// real /usr/sbin:
//   - `tsvs ipvsadm install|uninstall` in a temp dir (TSVS_SBIN_DIR, and install()/
//     uninstall() with a fake dpkg that diverts by renaming, as dpkg-divert --rename does);
//   - tsvsadm-save / tsvsadm-restore against an in-process control server;
//   - `tsvs daemon --rules FILE` refusing a broken rules file with one file:line line, exit 2.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Director } from '../../src/core/director';
import { ControlServer } from '../../src/control/control-socket';
import { execIpvsadm } from '../../src/control/ipvsadm-exec';
import { install, isOurs, MARKER, uninstall, wrapperScript, type Dpkg, type InstallOptions } from '../../src/cli/ipvsadm-install-cmd';
import { stripComments } from '../../src/cli/tsvsadm-restore';
import { UsageError } from '../../src/cli/usage-error';

const CLI = join(__dirname, '..', '..', 'src', 'cli');
const TSVS = join(CLI, 'tsvs.js');
const TSVSADM = join(CLI, 'tsvsadm.js');
const BIN = join(__dirname, '..', '..', '..', 'bin');

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'tsvs-inst-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function sub(name: string): string {
  const d = join(dir, name);
  spawnSync('mkdir', ['-p', d]);
  return d;
}

function opts(sbin: string, extra: Partial<InstallOptions> = {}): InstallOptions & { lines: string[] } {
  const lines: string[] = [];
  return {
    targets: [join(sbin, 'ipvsadm')],
    divertNames: [],
    dpkg: { owner: () => undefined, diverted: () => false, divert: () => assert.fail('no dpkg'), undivert: () => assert.fail('no dpkg') },
    uid: 0,
    node: process.execPath,
    tsvsadmJs: TSVSADM,
    out: (l) => lines.push(l),
    lines,
    ...extra,
  };
}

test('install writes a marked, executable wrapper that runs tsvsadm; both ways idempotent', () => {
  const sbin = sub('plain');
  const target = join(sbin, 'ipvsadm');
  const o = opts(sbin);
  assert.equal(install(o), 0);
  const text = readFileSync(target, 'utf8');
  assert.equal(text, wrapperScript(process.execPath, TSVSADM));
  assert.ok(text.startsWith('#!/bin/sh\n'));
  assert.ok(text.split('\n').includes(MARKER));
  assert.match(text, /exec '.*node[^']*' '.*\/dist\/src\/cli\/tsvsadm\.js' "\$@"\n$/);
  assert.equal(statSync(target).mode & 0o777, 0o755);
  assert.ok(isOurs(target));
  // The wrapper really runs tsvsadm, as ipvsadm (ldirectord runs it through /bin/sh).
  const v = spawnSync('/bin/sh', ['-c', `${target} -v`], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(v.status, 0, v.stderr);
  assert.match(v.stdout, /^ipvsadm v1\.31/);
  const l = spawnSync(target, ['-L', '-n'], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, TSVS_SOCKET: join(dir, 'none.sock') } });
  assert.equal(l.status, 2);
  assert.match(l.stderr, /^Can't initialize ipvs: the tsvs daemon is not running/);
  assert.equal(install(o), 0);
  assert.match(o.lines.at(-1)!, /already installed/);
  assert.equal(readFileSync(target, 'utf8'), text);
  // An older wrapper (another tsvs path) is updated in place.
  writeFileSync(target, wrapperScript('/usr/bin/node', '/old/tsvsadm.js'));
  assert.equal(install(o), 0);
  assert.match(o.lines.at(-1)!, /updated/);
  assert.equal(readFileSync(target, 'utf8'), text);
  assert.equal(uninstall(o), 0);
  assert.ok(!existsSync(target));
  assert.match(o.lines.at(-1)!, /removed/);
  assert.equal(uninstall(o), 0);
  assert.match(o.lines.at(-1)!, /not installed/);
});

test('a file that is neither ours nor from a package is never overwritten or removed', () => {
  const sbin = sub('foreign');
  const target = join(sbin, 'ipvsadm');
  writeFileSync(target, '#!/bin/sh\necho mine\n', { mode: 0o755 });
  const o = opts(sbin);
  assert.throws(() => install(o), (e: unknown) => e instanceof UsageError && e.exitCode === 1 && /exists, is not from a package/.test(e.message));
  assert.equal(uninstall(o), 1);
  assert.match(o.lines.at(-1)!, /not written by tsvs; left alone/);
  assert.equal(readFileSync(target, 'utf8'), '#!/bin/sh\necho mine\n');
});

test('root is required: a clear error, nothing written', () => {
  const sbin = sub('user');
  const o = opts(sbin, { uid: 1000 });
  assert.throws(() => install(o), (e: unknown) => e instanceof UsageError && e.exitCode === 1 && /permission denied: run as root/.test(e.message));
  assert.throws(() => uninstall(o), /run as root/);
  assert.ok(!existsSync(join(sbin, 'ipvsadm')));
});

test('a packaged ipvsadm is diverted to ipvsadm.distrib and given back on uninstall', () => {
  const sbin = sub('dpkg');
  const target = join(sbin, 'ipvsadm');
  const original = '#!/bin/sh\necho packaged ipvsadm\n';
  writeFileSync(target, original, { mode: 0o755 });
  const diversions = new Set<string>();
  const calls: string[] = [];
  const dpkg: Dpkg = {
    owner: (p) => (p === target ? 'ipvsadm' : undefined),
    diverted: (p) => diversions.has(p),
    divert: (p, to) => {
      calls.push(`divert ${p} ${to}`);
      diversions.add(p);
      if (existsSync(p)) renameSync(p, to);
    },
    undivert: (p) => {
      calls.push(`undivert ${p}`);
      diversions.delete(p);
      if (existsSync(`${p}.distrib`)) renameSync(`${p}.distrib`, p);
    },
  };
  const o = opts(sbin, { divertNames: [target, join(dir, 'no-such-alias', 'ipvsadm')], dpkg });
  assert.equal(install(o), 0);
  assert.deepEqual(calls, [`divert ${target} ${target}.distrib`]);
  assert.equal(readFileSync(`${target}.distrib`, 'utf8'), original);
  assert.ok(isOurs(target));
  assert.equal(install(o), 0, 'again');
  assert.equal(calls.length, 1, 'no second diversion');
  assert.ok(o.lines.some((l) => /already diverted/.test(l)));
  assert.equal(uninstall(o), 0);
  assert.deepEqual(calls, [`divert ${target} ${target}.distrib`, `undivert ${target}`]);
  assert.equal(readFileSync(target, 'utf8'), original);
  assert.ok(!existsSync(`${target}.distrib`));
  assert.equal(uninstall(o), 1, 'the packaged file is not ours: left alone, said so');
  assert.equal(readFileSync(target, 'utf8'), original);
  assert.equal(calls.length, 2);
});

test('`tsvs ipvsadm install|uninstall` with TSVS_SBIN_DIR (no dpkg-divert outside /usr/sbin)', () => {
  const sbin = sub('cli');
  const env = { ...process.env, TSVS_SBIN_DIR: sbin };
  const ins = spawnSync(process.execPath, [TSVS, 'ipvsadm', 'install'], { encoding: 'utf8', env, timeout: 20_000 });
  assert.equal(ins.status, 0, ins.stderr);
  assert.match(ins.stdout, new RegExp(`${sbin}/ipvsadm: installed: runs `));
  assert.ok(isOurs(join(sbin, 'ipvsadm')));
  const again = spawnSync(process.execPath, [TSVS, 'ipvsadm', 'install'], { encoding: 'utf8', env, timeout: 20_000 });
  assert.equal(again.status, 0);
  assert.match(again.stdout, /already installed/);
  const un = spawnSync(process.execPath, [TSVS, 'ipvsadm', 'uninstall'], { encoding: 'utf8', env, timeout: 20_000 });
  assert.equal(un.status, 0, un.stderr);
  assert.match(un.stdout, /removed/);
  assert.ok(!existsSync(join(sbin, 'ipvsadm')));
  const bad = spawnSync(process.execPath, [TSVS, 'ipvsadm', 'frobnicate'], { encoding: 'utf8', env, timeout: 20_000 });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^tsvs ipvsadm: unknown subcommand 'frobnicate'/);
});

// ---- tsvsadm-save / tsvsadm-restore -----------------------------------------------

function runBin(name: string, args: string[], sock: string, stdin = ''): Promise<{ stdout: string; stderr: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(BIN, name), args, { env: { ...process.env, TSVS_SOCKET: sock }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ stdout, stderr, code }));
    child.stdin.end(stdin);
  });
}

test('stripComments drops exactly the lines that start with #', () => {
  assert.equal(stripComments('# a\n-A -t 1.2.3.4:80\n  # kept\n#\n-C\n'), '-A -t 1.2.3.4:80\n  # kept\n-C\n');
});

test('tsvsadm-save prints -S; tsvsadm-restore clears then restores (comments stripped)', async () => {
  const sock = join(dir, 'ctl', 'tsvs.sock');
  const director = new Director({ maxConns: 1024, now: 0 });
  const server = await ControlServer.start({ path: sock, director });
  try {
    const ex = (a: string[]) => execIpvsadm(director, a, undefined);
    ex(['-A', '-t', '10.1.1.1:80', '-s', 'wlc']);
    ex(['-a', '-t', '10.1.1.1:80', '-r', '10.1.1.11', '-g', '-w', '3']);
    const saved = await runBin('tsvsadm-save', ['-n'], sock);
    assert.equal(saved.code, 0, saved.stderr);
    assert.equal(saved.stdout, ex(['-S', '-n']).stdout);
    assert.match(saved.stdout, /^-A -t 10\.1\.1\.1:80 -s wlc\n-a -t 10\.1\.1\.1:80 -r 10\.1\.1\.11:80 -g -w 3\n$/);
    const bad = await runBin('tsvsadm-save', ['-x'], sock);
    assert.equal(bad.code, 2);
    // Restore replaces what is there: the old service goes (-C first), comments are dropped.
    ex(['-A', '-u', '10.9.9.9:53']);
    const rules = '# saved by hand\n-A -t 10.2.2.2:443 -s rr\n# a real server\n-a -t 10.2.2.2:443 -r 10.2.2.12:443 -g -w 1\n';
    const r = await runBin('tsvsadm-restore', [], sock, rules);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(ex(['-S', '-n']).stdout, '-A -t 10.2.2.2:443 -s rr\n-a -t 10.2.2.2:443 -r 10.2.2.12:443 -g -w 1\n');
    // A save restores to the same table.
    const again = await runBin('tsvsadm-restore', [], sock, saved.stdout);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(ex(['-S', '-n']).stdout, saved.stdout);
  } finally {
    await server.close();
  }
  const none = await runBin('tsvsadm-restore', [], sock, '-C\n');
  assert.equal(none.code, 2);
  assert.match(none.stderr, /^Can't initialize ipvs: the tsvs daemon is not running/);
});

test('tsvs daemon --rules: a broken or missing rules file is one file:line line, exit 2', () => {
  const file = join(dir, 'bad.rules');
  writeFileSync(file, '# comment\n-A -t 10.1.1.1:80 -s rr\n-a -t 10.1.1.1:80 -r 10.1.1.11 -w 99999999\n');
  const sock = join(dir, 'never.sock');
  const r = spawnSync(process.execPath, [TSVS, 'daemon', '--interface', 'no-such-if0', '--socket', sock, '--rules', file], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], new RegExp(`^tsvs daemon: ${file}:3: `));
  const missing = spawnSync(process.execPath, [TSVS, 'daemon', '--interface', 'no-such-if0', '--socket', sock, '--rules', join(dir, 'nope.rules')], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /^tsvs daemon: cannot read rules file .*nope\.rules: /);
  // A good file gets past the rules and stops at the (missing) interface: exit 1.
  writeFileSync(file, '-A -t 10.1.1.1:80 -s rr\n');
  const good = spawnSync(process.execPath, [TSVS, 'daemon', '--interface', 'no-such-if0', '--socket', sock, '--rules', file], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(good.status, 1);
  assert.match(good.stderr, /interface no-such-if0 does not exist/);
});
