// `tsvs bench --quick` end to end on a small subset (needs root, trafgen and nft; skipped
// otherwise): tsvs and nftables DR, UDP rate and ping, one run of one second. The JSON
// must hold positive figures for both peers, the SVG must exist, and no namespace or
// process of the bench's labs may be left behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labSkipReason } from '../../src/lab/fixture';
import { nsList } from '../../src/lab/netns';
import type { BenchReport } from '../../src/bench/report';

const CLI = join(__dirname, '..', '..', 'src', 'cli', 'tsvs.js');
const missing = ['trafgen', 'nft', 'ping', 'taskset'].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`], { timeout: 5000 }).status !== 0);
const skip = labSkipReason() ?? (missing.length ? `missing ${missing.join(', ')}` : undefined);

function runCli(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b));
    child.stderr.on('data', (b: Buffer) => (stderr += b));
    const timer = setTimeout(() => child.kill('SIGINT'), timeoutMs); // the bench cleans up on SIGINT
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('tsvs bench --quick: tsvs and nft DR, UDP and ping', { skip, timeout: 90_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvs-bench-'));
  const out = join(dir, 'e2e.json');
  const r = await runCli(['bench', '--quick', '--peers', 'tsvs,nft-dr', '--workloads', 'udp,ping', '--runs', '1', '--seconds', '1', '--no-progress', '--out', out], 75_000);
  assert.equal(r.code, 0, `exit ${r.code}\n${r.stderr}\n${r.stdout}`);
  const rep = JSON.parse(readFileSync(out, 'utf8')) as BenchReport;
  assert.ok(existsSync(join(dir, 'e2e.svg')));
  assert.deepEqual(rep.peers.map((p) => p.id), ['tsvs', 'nft-dr']);
  for (const peer of ['tsvs', 'nft-dr']) {
    for (const m of ['udp.mpps', 'udp.cpuNsPerPkt', 'ping.p50Us']) {
      const v = rep.results[peer]?.[m]?.median;
      assert.ok(v !== undefined && v > 0, `${peer} ${m} = ${v}; notes: ${rep.peers.find((p) => p.id === peer)?.notes.join('; ')}`);
    }
  }
  assert.ok(rep.targets.find((t) => t.id === 'udp-vs-nftdr')?.value! > 0);
  assert.match(r.stdout, /== udp:/);
  assert.equal(rep.labs.length, 2);
  const left = nsList().filter((ns) => rep.labs.some((l) => ns.startsWith(`${l}-`)));
  assert.deepEqual(left, [], 'namespaces left behind');
  const ps = spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).stdout;
  for (const l of rep.labs) assert.ok(!ps.includes(l), `a process of ${l} is still running`);
});
