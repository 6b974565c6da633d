// `tsvs simulate`: the operator's check of a rules file before deploying it.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Director } from '../core/director';
import { loadRules } from '../control/rules-file';
import { describe, simulate } from '../control/simulate';
import { UsageError } from './usage-error';

const HELP = `Usage: tsvs simulate --rules FILE --flows N [options]

Runs N new TCP connections through the rules in FILE (ipvsadm-save form, e.g.
  -A -t 192.0.2.100:80 -s wrr
  -a -t 192.0.2.100:80 -r 192.0.2.11:80 -g -w 4)
with the same schedulers, connection table and TCP state machine as the data plane, and
shows which real server each connection got and the counters -L -n would show.

Options:
  --rules FILE        rules in ipvsadm-save / ipvsadm-restore form ('-' for stdin)
  --flows N           number of new connections (required)
  --clients K         distinct client addresses, used round-robin (default: N)
  --close-every M     close (FIN) every M-th connection after it is established
  --service VIP:PORT  the service to connect to (default: the first TCP service)
  --json              print {"assignments": [...], "dests": [...]} instead of a summary
`;

export function run(argv: string[]): number {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        rules: { type: 'string' },
        flows: { type: 'string' },
        clients: { type: 'string' },
        'close-every': { type: 'string' },
        service: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new UsageError(`tsvs simulate: ${(e as Error).message}`);
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.rules === undefined) throw new UsageError('tsvs simulate: --rules FILE is required');
  const flows = count('--flows', values.flows, true);
  const clients = values.clients === undefined ? flows : count('--clients', values.clients, true);
  const closeEvery = values['close-every'] === undefined ? 0 : count('--close-every', values['close-every'], true);
  let text: string;
  try {
    text = readFileSync(values.rules === '-' ? 0 : values.rules, 'utf8');
  } catch (e) {
    throw new UsageError(`tsvs simulate: cannot read ${values.rules}: ${(e as Error).message}`, 1);
  }
  const director = new Director({ maxConns: Math.max(1024, flows * 2 + 16) });
  loadRules(director, text, values.rules);
  const result = simulate(director, { flows, clients, closeEvery, service: values.service });
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ assignments: result.assignments, dests: result.dests, drops: result.drops })}\n`);
  } else {
    process.stdout.write(`${describe(result)}\n`);
  }
  return 0;
}

function count(name: string, text: string | undefined, positive: boolean): number {
  if (text === undefined) throw new UsageError(`tsvs simulate: ${name} N is required`);
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || (positive && n < 1) || n > 50_000_000) {
    throw new UsageError(`tsvs simulate: ${name} wants a whole number from 1 to 50000000, not '${text}'`);
  }
  return n;
}
