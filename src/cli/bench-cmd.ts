// `tsvs bench`: the end-to-end bench in a namespace lab, tsvs beside nftables DR, nftables
// DNAT, HAProxy and no director (src/bench/). This file parses and checks the arguments,
// runs the bench, and writes the table (stdout), the JSON and the SVG chart.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chartSpec } from '../bench/chart-data';
import { renderChart } from '../bench/chart-svg';
import { ALL_PEERS, PEER_IDS } from '../bench/peers';
import { Progress } from '../bench/progress';
import { buildReport, renderTable, writeJson } from '../bench/report';
import { runBench, RESULTS_VERSION, type BenchResults } from '../bench/runner';
import { WORKLOAD_IDS, type BenchSettings, type WorkloadId } from '../bench/types';
import { workloadById } from '../bench/workloads';
import { UsageError } from './usage-error';

const ROOT = join(__dirname, '..', '..', '..');
export const DEFAULT_OUT = join('bench', 'results', 'e2e.json');

export const HELP = `Usage: tsvs bench [options]

Builds a namespace lab and measures tsvs beside its peers in one run (root):
  peers      ${PEER_IDS.join(', ')}
             (tsvs-* are daemon variants; one the daemon does not support is skipped)
  workloads  udp   small-packet UDP rate with trafgen over many flows, delivered pps
                   at the real servers and CPU per delivered packet
             ping  ping RTT p50/p99 at low load (50 pings, 20 ms apart)
             conn  new TCP connections/s with wrk (Connection: close) against nginx,
                   latency p50/p99
             tcp   iperf3 throughput, 1 and 8 streams, veth offloads on and off
Each figure is the median of --runs runs, with min-max. Writes a table to stdout, the
JSON (--out) and an SVG chart beside it (--svg).

Options:
  --runs N          runs per figure (default 3; --quick: 1)
  --seconds S       seconds per run (default 5; --quick: 2)
  --quick           a short smoke run
  --peers LIST      comma-separated peer ids (default: all)
  --workloads LIST  comma-separated: ${WORKLOAD_IDS.join(',')} (default: all)
  --flows N         UDP flows in the trafgen frame set (default 1000)
  --connections N   wrk connections (default 64)
  --pings N         pings per run (default 50; --quick: 20)
  --out FILE        JSON results (default ${DEFAULT_OUT})
  --svg FILE        SVG chart (default: the JSON path with .svg)
  --from FILE       do not measure: rebuild the table, JSON (--out) and chart from
                    the results in FILE (a JSON this command wrote)
  --no-progress     no progress line on stderr
  -h, --help        this text
`;

export interface BenchArgs {
  settings: BenchSettings;
  peers: string[];
  workloads: WorkloadId[];
  out: string;
  svg: string;
  progress: boolean;
  help: boolean;
  /** Re-report these results instead of measuring. */
  from?: string;
}

function int(name: string, s: string | undefined, lo: number, hi: number, dflt: number): number {
  if (s === undefined) return dflt;
  const n = Number(s);
  if (!/^\d+$/.test(s) || n < lo || n > hi) throw new UsageError(`tsvs bench: ${name} wants a whole number from ${lo} to ${hi}, not '${s}'`);
  return n;
}

function list<T extends string>(name: string, s: string | undefined, known: readonly T[]): T[] {
  if (s === undefined || s === 'all') return [...known];
  const items = s.split(',').map((x) => x.trim()).filter(Boolean);
  if (items.length === 0) throw new UsageError(`tsvs bench: ${name} is empty`);
  for (const x of items) {
    if (!(known as readonly string[]).includes(x)) throw new UsageError(`tsvs bench: unknown ${name.replace('--', '').replace(/s$/, '')} '${x}' (known: ${known.join(', ')})`);
  }
  return [...new Set(items)] as T[];
}

export function parseBenchArgs(argv: string[], cwd = process.cwd()): BenchArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        runs: { type: 'string' },
        seconds: { type: 'string' },
        quick: { type: 'boolean' },
        peers: { type: 'string' },
        workloads: { type: 'string' },
        flows: { type: 'string' },
        connections: { type: 'string' },
        pings: { type: 'string' },
        out: { type: 'string' },
        svg: { type: 'string' },
        'no-progress': { type: 'boolean' },
        from: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    throw new UsageError(`tsvs bench: ${(e as Error).message}`);
  }
  const quick = values.quick ?? false;
  const settings: BenchSettings = {
    runs: int('--runs', values.runs, 1, 50, quick ? 1 : 3),
    seconds: int('--seconds', values.seconds, 1, 600, quick ? 2 : 5),
    flows: int('--flows', values.flows, 1, 20_000, 1000),
    connections: int('--connections', values.connections, 1, 5000, 64),
    pings: int('--pings', values.pings, 5, 10_000, quick ? 20 : 50),
  };
  const out = resolve(cwd, values.out ?? join(ROOT, DEFAULT_OUT));
  const svg = resolve(cwd, values.svg ?? out.replace(/\.json$/i, '') + '.svg');
  return {
    settings,
    peers: list('--peers', values.peers, PEER_IDS),
    workloads: list('--workloads', values.workloads, WORKLOAD_IDS),
    out,
    svg,
    progress: !values['no-progress'],
    help: values.help ?? false,
    from: values.from === undefined ? undefined : resolve(cwd, values.from),
  };
}

export async function run(argv: string[]): Promise<number> {
  const a = parseBenchArgs(argv);
  if (a.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const res = a.from ? readResults(a.from) : await measure(a, argv);
  const rep = buildReport(res);
  process.stdout.write(renderTable(rep));
  writeJson(a.out, rep);
  mkdirSync(dirname(a.svg), { recursive: true });
  writeFileSync(a.svg, renderChart(chartSpec(rep)));
  process.stdout.write(`\nwrote ${a.out} and ${a.svg}${a.from ? '' : ` (${res.durationSec} s)`}\n`);
  return 0;
}

async function measure(a: BenchArgs, argv: string[]): Promise<BenchResults> {
  if (process.getuid?.() !== 0) throw new UsageError('tsvs bench: the lab needs root (network namespaces)', 1);
  return runBench({
    peers: ALL_PEERS.filter((p) => a.peers.includes(p.id)),
    workloads: a.workloads.map(workloadById),
    settings: a.settings,
    progress: new Progress(process.stderr, !a.progress),
    command: ['tsvs', 'bench', ...argv].join(' '),
  });
}

function readResults(file: string): BenchResults {
  let j: BenchResults;
  try {
    j = JSON.parse(readFileSync(file, 'utf8')) as BenchResults;
  } catch (e) {
    throw new UsageError(`tsvs bench: --from ${file}: ${(e as Error).message}`, 1);
  }
  if (j.version !== RESULTS_VERSION || !j.results || !Array.isArray(j.peers)) {
    throw new UsageError(`tsvs bench: --from ${file}: not a tsvs bench results file (version ${RESULTS_VERSION})`, 1);
  }
  return j;
}
