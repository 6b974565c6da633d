// `tsvs lab up|down|status`: the namespace lab from the command line (needs root).
// Exports run(argv) for src/cli/tsvs.ts; also runnable as `node dist/src/lab/cli.js ...`.

import { parseArgs } from 'node:util';
import { UsageError } from '../cli/usage-error';
import { describeDown, describeLab, describeStatus } from './format';
import { labDown, labNames, labStatus, labUp } from './lab';
import { MAX_REAL_SERVERS, validateName, type OffloadMode } from './plan';
import { lastLabName, setLastLabName } from './state';

const HELP = `Usage: tsvs lab up|down|status [options]

  up       build a lab: a switch namespace (bridge), client, director and N real
           servers (HTTP :80 and UDP echo :7 each), print its plan, write its state file
  down     stop the lab's processes and delete its namespaces (works on a half-built lab)
  status   show what exists (every lab, or --name NAME)

Options:
  --name NAME         lab name, prefix of its namespaces (up: default tsvs-<6 hex>;
                      down: default the lab 'up' made last)
  --realservers N     real servers rs1..rsN (up; default 2, at most ${MAX_REAL_SERVERS})
  --routed            client on 203.0.113.0/24 behind a router that routes the VIP to the
                      director (up; default: client on the LAN)
  --directors 2       a second director (director2, 192.0.2.3) for VRRP / sync pairs
  --nat-routes        real servers route everything via the director, for one-arm
                      NAT (up; default: they answer clients directly, for DR)
  --offloads on|off   veth tx-checksum/tso/gso/gro (up; default: the kernel's)
  --ttl SEC           real-server programs exit by themselves after SEC seconds (up)
  --keep              leave a half-built lab in place if up fails (up)
  --json              machine-readable output (the state file for up)

Addresses: LAN 192.0.2.0/24 (router .1, director .2, client .10, rsN .10+N, VIP .100);
routed client 203.0.113.10, router 203.0.113.1.
`;

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === 'help' || sub === '--help' || sub === '-h') {
    process.stdout.write(HELP);
    return sub === undefined ? 2 : 0;
  }
  let values;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: {
        name: { type: 'string' },
        realservers: { type: 'string' },
        routed: { type: 'boolean' },
        'nat-routes': { type: 'boolean' },
        directors: { type: 'string' },
        offloads: { type: 'string' },
        ttl: { type: 'string' },
        keep: { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new UsageError(`tsvs lab: ${(e as Error).message}`);
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.name !== undefined) {
    const bad = validateName(values.name);
    if (bad) throw new UsageError(`tsvs lab: ${bad}`);
  }
  if (sub !== 'up' && sub !== 'down' && sub !== 'status') throw new UsageError(`tsvs lab: unknown subcommand '${sub}' (up, down or status)`);
  if (sub !== 'up') {
    for (const o of ['realservers', 'directors', 'routed', 'nat-routes', 'offloads', 'ttl', 'keep'] as const) {
      if (values[o] !== undefined) throw new UsageError(`tsvs lab ${sub}: --${o} applies to 'up' only`);
    }
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('tsvs lab: needs root (network namespaces, veth, sysctls)\n');
    return 1;
  }
  const json = values.json ?? false;
  const out = (x: unknown, text: string) => process.stdout.write(json ? `${JSON.stringify(x, null, 2)}\n` : `${text}\n`);

  if (sub === 'up') {
    let realServers = 2;
    if (values.realservers !== undefined) {
      realServers = Number(values.realservers);
      if (!/^\d+$/.test(values.realservers) || realServers < 1 || realServers > MAX_REAL_SERVERS) {
        throw new UsageError(`tsvs lab up: --realservers wants 1..${MAX_REAL_SERVERS}, not '${values.realservers}'`);
      }
    }
    const offloads = (values.offloads ?? 'default') as OffloadMode;
    if (!['on', 'off', 'default'].includes(offloads)) throw new UsageError(`tsvs lab up: --offloads wants on or off, not '${values.offloads}'`);
    let serverTtlSec: number | undefined;
    if (values.ttl !== undefined) {
      serverTtlSec = Number(values.ttl);
      if (!/^\d+$/.test(values.ttl) || serverTtlSec < 1) throw new UsageError(`tsvs lab up: --ttl wants whole seconds, not '${values.ttl}'`);
    }
    const state = await labUp({
      ...(values.directors !== undefined ? { directors: directorsOf(values.directors) } : {}),
      name: values.name, realServers, routed: values.routed ?? false, natRoutes: values['nat-routes'] ?? false,
      offloads, serverTtlSec,
      keepOnFailure: values.keep ?? false,
      log: (m) => process.stderr.write(`lab: ${m}\n`),
    });
    setLastLabName(state.name);
    out(state, describeLab(state));
    return 0;
  }

  if (sub === 'down') {
    const name = values.name ?? lastLabName();
    if (name === undefined) {
      const known = labNames();
      throw new UsageError(`tsvs lab down: which lab? --name NAME${known.length ? ` (labs: ${known.join(' ')})` : ' (no lab found)'}`);
    }
    const report = await labDown(name);
    out(report, describeDown(report));
    return report.remaining.length ? 1 : 0;
  }

  const names = values.name !== undefined ? [values.name] : labNames();
  const statuses = names.map((n) => labStatus(n));
  out(statuses, statuses.length ? statuses.map(describeStatus).join('\n') : 'no lab');
  return 0;
}

if (require.main === module) {
  run(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: Error) => {
      process.stderr.write(`${err instanceof UsageError ? '' : 'tsvs lab: '}${err.message}\n`);
      process.exitCode = err instanceof UsageError ? err.exitCode : 1;
    },
  );
}

function directorsOf(v: string): 1 | 2 {
  if (v !== '1' && v !== '2') throw new UsageError(`tsvs lab up: --directors wants 1 or 2, not '${v}'`);
  return Number(v) as 1 | 2;
}
