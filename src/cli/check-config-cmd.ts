// `tsvs check-config FILE`: validates an ldirectord.cf or a native YAML/JSON config.
// Prints `FILE: OK (N virtual services, M real servers)` and exits 0, or one
// `FILE:LINE: message` per problem (on stderr) and exits 1. A keepalived.conf (its
// vrrp_instance blocks, for `tsvs daemon --vrrp`) is checked too, and a native config's
// `vrrp:` section with the rest. Sync following VRRP (`sync: follow_vrrp` or
// lvs_sync_daemon) is checked as the daemon would (src/ha/follow-config.ts, checkFollow):
// an instance missing from the file's VRRP section is a problem; no VRRP section at all, or
// catch-up with no table walk, a warning.

import { ConfigError } from '../config/native-config';
import { loadAnyConfig } from '../config/detect';
import { readFileSync } from 'node:fs';
import { looksLikeKeepalived } from '../ha/vrrp/keepalived-conf';
import { loadVrrpFile } from '../ha/vrrp/load';
import { checkFollow } from '../ha/follow-config';
import { UsageError } from './usage-error';

const USAGE = `Usage: tsvs check-config FILE

Checks FILE (ldirectord.cf, the native YAML/JSON config, or a keepalived.conf with
vrrp_instance blocks) and reports every problem
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
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      // loadAnyConfig reports it
    }
    if (looksLikeKeepalived(text)) {
      const { config } = loadVrrpFile(file);
      for (const w of config.warnings) process.stderr.write(`${file}:${w.replace(/^line (\d+): /, '$1: warning: ')}\n`);
      const fc = checkFollow(undefined, config);
      if (reportFollow(file, fc)) return 1;
      const n = config.instances.length;
      const follows = config.lvsSyncDaemon ? `, sync follows ${config.lvsSyncDaemon.instance}` : '';
      process.stdout.write(`${file}: OK (keepalived.conf, ${n} VRRP instance${n === 1 ? '' : 's'}${follows})\n`);
      return 0;
    }
    const { health, native } = loadAnyConfig(file);
    if (reportFollow(file, checkFollow(native?.sync, native?.vrrp))) return 1;
    const nvrrp = native?.vrrp?.instances.length ?? 0;
    const reals = health.virtuals.reduce((n, v) => n + v.reals.length, 0);
    const nv = health.virtuals.length;
    process.stdout.write(`${file}: OK (${nv} virtual service${nv === 1 ? '' : 's'}, ${reals} real server${reals === 1 ? '' : 's'}${nvrrp ? `, ${nvrrp} VRRP instance${nvrrp === 1 ? '' : 's'}` : ''})\n`);
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

/** Prints sync-follow warnings and problems; true when there is a problem. */
function reportFollow(file: string, fc: { problems: string[]; warnings: string[] }): boolean {
  for (const w of fc.warnings) process.stderr.write(`${file}: warning: ${w}\n`);
  for (const p of fc.problems) process.stderr.write(`${file}: ${p}\n`);
  return fc.problems.length > 0;
}
