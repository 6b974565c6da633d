// `tsvsadm-save [-n]`: Debian's ipvsadm-save for tsvs. It prints the daemon's rules in
// ipvsadm-save form (what `tsvsadm -S [-n]` prints), ready for `tsvsadm-restore` or
// `tsvs daemon --rules FILE`.

import { main as tsvsadm } from './tsvsadm';

const USAGE = 'Usage: tsvsadm-save [-n]\n  prints the rules of the running tsvs daemon in ipvsadm-save form (-n: numeric)\n';

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 1 && (argv[0] === '-h' || argv[0] === '--help')) {
    process.stdout.write(USAGE);
    process.exitCode = 0;
    return 0;
  }
  if (argv.some((a) => a !== '-n')) {
    process.stderr.write(`tsvsadm-save: unexpected argument ${argv.find((a) => a !== '-n')}\n${USAGE}`);
    process.exitCode = 2;
    return 2;
  }
  return tsvsadm(['-S', ...(argv.length ? ['-n'] : [])]);
}

if (require.main === module) void main(process.argv.slice(2));
