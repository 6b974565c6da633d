// `tsvs check-config FILE`: validates an ldirectord.cf or a native YAML/JSON config.
// Prints `FILE: OK (N virtual services, M real servers)` and exits 0, or one
// `FILE:LINE: message` per problem (on stderr) and exits 1.

import { ConfigError } from '../config/native-config';
import { loadAnyConfig } from '../config/detect';
import { UsageError } from './usage-error';

const USAGE = `Usage: tsvs check-config FILE

Checks FILE (ldirectord.cf or the native YAML/JSON config) and reports every problem
as FILE:LINE: message. Exit status 0 when the file is valid, 1 otherwise.
`;

export function run(argv: string[]): number {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (argv.length !== 1 || argv[0].startsWith('-')) throw new UsageError(`tsvs check-config: expected one FILE argument\n${USAGE}`);
  const file = argv[0];
  try {
    const { health } = loadAnyConfig(file);
    const reals = health.virtuals.reduce((n, v) => n + v.reals.length, 0);
    const nv = health.virtuals.length;
    process.stdout.write(`${file}: OK (${nv} virtual service${nv === 1 ? '' : 's'}, ${reals} real server${reals === 1 ? '' : 's'})\n`);
    return 0;
  } catch (e) {
    if (!(e instanceof ConfigError)) {
      process.stderr.write(`${file}: ${(e as Error).message ?? String(e)}\n`);
      return 1;
    }
    for (const p of e.problems) {
      const m = /^line (\d+): (.*)$/s.exec(p);
      process.stderr.write(m ? `${file}:${m[1]}: ${m[2]}\n` : `${file}: ${p}\n`);
    }
    return 1;
  }
}
