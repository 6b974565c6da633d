// `tsvs demo` (npm run demo): shows the scheduling core at work on the sample rules:
// the wrr sequence of the LVS documents and a wlc service whose connections follow the
// weights as clients come and go.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Director } from '../core/director';
import { loadRules } from '../control/rules-file';
import { describe, simulate } from '../control/simulate';

const EXAMPLES = join(__dirname, '..', '..', '..', 'examples');

export function run(): number {
  for (const [file, flows, closeEvery, note] of [
    ['wrr-lvs-howto.rules', 12, 0, 'wrr, dests added C=2, B=3, A=4: A B C, then A A B A B C A B C'],
    ['wlc-3-servers.rules', 600, 3, 'wlc, weights 1:2:3, every 3rd connection closed'],
  ] as const) {
    const path = join(EXAMPLES, file);
    const rules = readFileSync(path, 'utf8');
    const director = new Director({ maxConns: 1 << 16 });
    loadRules(director, rules, path);
    const result = simulate(director, { flows, clients: flows, closeEvery });
    process.stdout.write(`== ${file}: ${note}\n${rules.replace(/^/gm, '   ')}`);
    if (flows <= 20) process.stdout.write(`   sequence: ${result.assignments.join(' ')}\n`);
    process.stdout.write(`${describe(result)}\n\n`);
  }
  return 0;
}
