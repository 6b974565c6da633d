// `tsvs bench` arguments: defaults, --quick, lists of peers and workloads, output paths,
// and clear errors (exit 2) for bad values; --help text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseBenchArgs, HELP } from '../../src/cli/bench-cmd';
import { UsageError } from '../../src/cli/usage-error';
import { PEER_IDS } from '../../src/bench/peers';

const CLI = join(__dirname, '..', '..', 'src', 'cli', 'tsvs.js');

test('defaults: 3 runs of 5 s, every peer and workload, results under bench/results', () => {
  const a = parseBenchArgs([]);
  assert.deepEqual(a.settings, { runs: 3, seconds: 5, flows: 1000, connections: 64, pings: 50 });
  assert.deepEqual(a.peers, [...PEER_IDS]);
  assert.deepEqual(a.workloads, ['udp', 'ping', 'conn', 'tcp']);
  assert.match(a.out, /bench\/results\/e2e\.json$/);
  assert.match(a.svg, /bench\/results\/e2e\.svg$/);
});

test('--quick shortens; explicit values win; lists; relative paths resolve against cwd', () => {
  const q = parseBenchArgs(['--quick']);
  assert.equal(q.settings.runs, 1);
  assert.equal(q.settings.seconds, 2);
  const a = parseBenchArgs(['--quick', '--runs', '2', '--seconds=1', '--peers', 'tsvs,nft-dr,tsvs', '--workloads', 'udp,ping', '--out', 'x/r.json'], '/tmp');
  assert.equal(a.settings.runs, 2);
  assert.equal(a.settings.seconds, 1);
  assert.deepEqual(a.peers, ['tsvs', 'nft-dr']);
  assert.deepEqual(a.workloads, ['udp', 'ping']);
  assert.equal(a.out, '/tmp/x/r.json');
  assert.equal(a.svg, '/tmp/x/r.svg');
});

test('bad arguments are UsageErrors naming the problem', () => {
  const bad: Array<[string[], RegExp]> = [
    [['--runs', '0'], /--runs wants a whole number from 1 to 50, not '0'/],
    [['--seconds', '2.5'], /--seconds wants a whole number/],
    [['--peers', 'tsvs,ipvs'], /unknown peer 'ipvs' \(known: tsvs,/],
    [['--workloads', 'udp,http'], /unknown workload 'http'/],
    [['--peers', ','], /--peers is empty/],
    [['--frobnicate'], /Unknown option '--frobnicate'/],
    [['extra'], /positional/],
  ];
  for (const [argv, re] of bad) {
    assert.throws(() => parseBenchArgs(argv), (e: unknown) => e instanceof UsageError && e.exitCode === 2 && re.test(e.message), argv.join(' '));
  }
});

test('tsvs bench --help and a bad argument through the CLI', () => {
  const h = spawnSync(process.execPath, [CLI, 'bench', '--help'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(h.status, 0);
  assert.equal(h.stdout, HELP);
  assert.match(HELP, /--quick/);
  const b = spawnSync(process.execPath, [CLI, 'bench', '--runs', 'x'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(b.status, 2);
  assert.equal(b.stderr.trim(), "tsvs bench: --runs wants a whole number from 1 to 50, not 'x'");
  const l = spawnSync(process.execPath, [CLI, 'help'], { encoding: 'utf8', timeout: 20_000 });
  assert.match(l.stdout, /bench \[--quick\]/);
});
