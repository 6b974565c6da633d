// `tsvsadm`: the ipvsadm-compatible front end. It parses the command line with
// ipvsadm's rules and messages. Commands that need the director are sent to the tsvs
// daemon's control socket; until the daemon grows one (the control-plane work), they
// fail as ipvsadm does when IPVS is missing: "Can't initialize ipvs", exit 2.

import { basename } from 'node:path';
import { IpvsadmError, parseArgs } from '../ipvsadm/argv';
import { cannotInitialize } from '../ipvsadm/errors';

export function main(argv: string[]): void {
  const program = basename(process.argv[1] ?? 'ipvsadm') === 'tsvsadm' ? 'tsvsadm' : 'ipvsadm';
  try {
    const cmd = parseArgs(argv, { program });
    if (cmd.cmd === 'help' || cmd.cmd === 'version') {
      process.stdout.write(cmd.text);
      process.exitCode = 0;
      return;
    }
    throw cannotInitialize('the tsvs control plane is not available yet (no daemon control socket)');
  } catch (e) {
    if (e instanceof IpvsadmError) {
      process.stderr.write(`${e.message}\n`);
      process.exitCode = e.exitCode;
      return;
    }
    process.stderr.write(`${program}: ${(e as Error).message}\n`);
    process.exitCode = 1;
  }
}

if (require.main === module) main(process.argv.slice(2));
