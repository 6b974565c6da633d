// `tsvs simulate` end to end: the rules file, the JSON shape, the wrr sequence of the
// LVS documents, wlc following weights, and bad rules refused with ipvsadm's messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Director } from '../../src/core/director';
import { loadRules, RulesError } from '../../src/control/rules-file';
import { simulate } from '../../src/control/simulate';

const CLI = join(__dirname, '..', '..', 'src', 'cli', 'tsvs.js');
const dir = mkdtempSync(join(tmpdir(), 'tsvs-sim-'));

function rulesFile(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

function cli(...args: string[]) {
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30_000 });
}

const WRR = `-A -t 192.0.2.100:80 -s wrr
-a -t 192.0.2.100:80 -r 192.0.2.13:80 -g -w 2
-a -t 192.0.2.100:80 -r 192.0.2.12:80 -g -w 3
-a -t 192.0.2.100:80 -r 192.0.2.11:80 -g -w 4
`;

test('--json: wrr built with -A then -a C2 B3 A4 gives A B C, then A A B A B C A B C', () => {
  const r = cli('simulate', '--rules', rulesFile('wrr.rules', WRR), '--flows', '12', '--json');
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { assignments: string[]; dests: { address: string; weight: number; activeConns: number; inactConns: number }[] };
  const name: Record<string, string> = { '192.0.2.11:80': 'A', '192.0.2.12:80': 'B', '192.0.2.13:80': 'C' };
  assert.equal(out.assignments.map((a) => name[a]).join(' '), 'A B C A A B A B C A B C');
  assert.deepEqual(out.dests.map((d) => [d.address, d.weight, d.activeConns, d.inactConns]), [
    ['192.0.2.11:80', 4, 5, 0], ['192.0.2.12:80', 3, 4, 0], ['192.0.2.13:80', 2, 3, 0],
  ]);
});

test('--close-every moves closed connections to InActConn; wlc follows the weights', () => {
  const d = new Director({ maxConns: 1 << 14 });
  loadRules(d, `-A -t 192.0.2.100:80 -s wlc
-a -t 192.0.2.100:80 -r 192.0.2.11:80 -g -w 1
-a -t 192.0.2.100:80 -r 192.0.2.12:80 -g -w 3
`, 'wlc.rules');
  const r = simulate(d, { flows: 400, clients: 40, closeEvery: 4 });
  const active = r.dests.map((x) => x.activeConns);
  const inact = r.dests.map((x) => x.inactConns);
  assert.equal(active[0] + active[1], 300);
  assert.equal(inact[0] + inact[1], 100);
  const ratio = (active[1] * 256 + inact[1]) / (active[0] * 256 + inact[0]);
  assert.ok(ratio > 2.8 && ratio < 3.2, `overhead ratio ${ratio} should follow the 1:3 weights`);
});

test('bad rules: ipvsadm messages with the line number, exit 2, nothing applied', () => {
  const cases: [string, RegExp][] = [
    ['-A -t 192.0.2.100:80 -s wrr\n-a -t 192.0.2.100:80 -r 192.0.2.11:80 -g -w 70000\n', /:2: illegal weight specified/],
    ['-A -t 192.0.2.100:80 -s nosuch\n', /:1: Scheduler or persistence engine not found/],
    ['-A -t 192.0.2.100:99999\n', /:1: illegal virtual server address\[:port\] specified/],
    ['-A -t 192.0.2.100:80\n-a -t 192.0.2.100:80 -r 192.0.2.11 -x 1 -y 5\n', /:2: Numerical result out of range/],
    ['-a -t 192.0.2.100:80 -r 192.0.2.11\n', /:1: Service not defined/],
  ];
  for (const [text, want] of cases) {
    const r = cli('simulate', '--rules', rulesFile('bad.rules', text), '--flows', '1');
    assert.equal(r.status, 2, `${text} -> ${r.stderr}`);
    assert.match(r.stderr, want);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
  const d = new Director();
  assert.throws(() => loadRules(d, '-A -t 192.0.2.100:80\n-a -t 192.0.2.100:80 -r 192.0.2.11 -w -1\n', 'x'), RulesError);
  assert.equal(d.services.services.length, 0, 'a syntax error anywhere applies nothing');
});

test('bad simulate arguments give one clear line and exit 2', () => {
  for (const args of [['--flows', '10'], ['--rules', 'x', '--flows', 'abc'], ['--rules', 'x', '--flows', '1', '--bogus']]) {
    const r = cli('simulate', ...args);
    assert.equal(r.status, 2, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
  const missing = cli('simulate', '--rules', join(dir, 'nope.rules'), '--flows', '1');
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /cannot read/);
});
