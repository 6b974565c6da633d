// Core micro benchmarks: prints a table and writes bench/results/core.json.
//
//   node --expose-gc dist/bench/core.js [--skip-10m]
//
// Each area lives in its own module exporting a function that returns flat
// { name: number } results; this file only runs them, prints and saves.
//   bench/conn-table.ts  connection table (lookups, memory per connection, hugepages)
//   bench/sched.ts       (lead) new-connection cost with wlc / mh, Maglev rebuild time

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { benchConnTable } from './conn-table';
import { benchSched } from './sched';

type Results = Record<string, number | null>;

/** Goals from the issue, shown beside the numbers (not assertions). */
const TARGETS: Record<string, string> = {
  lookup64kNs: '<= 25',
  lookup1MNs: '<= 1.3 x randomRead1MNs',
  lookup10MNs: '<= 1.3 x randomRead10MNs',
  lookup10MHugeNs: 'vs lookup10MNs',
  bytesPerConn1M: '<= 64',
  bytesPerConn10M: '<= 64',
  newConnWlcNs: '<= 200',
  newConnMhNs: '<= 200',
  mhRebuildMs: '<= 5',
};

function main(): void {
  const skip10M = process.argv.includes('--skip-10m');
  const res: Results = {};
  Object.assign(res, benchConnTable({ skip10M }));

  Object.assign(res, benchSched());

  const rows = Object.keys(res).map((k) => [k, String(res[k]), TARGETS[k] ?? '']);
  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  console.log(`${'metric'.padEnd(w0)}  ${'value'.padStart(w1)}  target`);
  for (const [k, v, t] of rows) console.log(`${k.padEnd(w0)}  ${v.padStart(w1)}  ${t}`);

  // the project's bench/results (run from the project root, or from dist/bench)
  const root = existsSync(join(process.cwd(), 'package.json')) ? process.cwd() : join(__dirname, '..', '..');
  const dir = join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'core.json');
  writeFileSync(file, JSON.stringify({ date: new Date().toISOString(), node: process.version, results: res }, null, 2) + '\n');
  console.log(`wrote ${file}`);
}

main();
