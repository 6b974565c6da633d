// `tsvs`: the director's own command. Subcommands:
//   simulate   where would these flows go? (rules in ipvsadm-save form)
//   demo       the demonstration run behind `npm run demo`
//   bench      the end-to-end bench behind `npm run bench`
// Each subcommand lives in its own module; this file only dispatches and turns errors
// into one clear line and an exit code.

import { UsageError } from './usage-error';

const USAGE = `Usage: tsvs <command> [options]

Commands:
  simulate --rules FILE --flows N [--clients K] [--close-every M] [--service VIP:PORT] [--json]
             run N synthetic TCP connections from K clients through the rules
             (ipvsadm-save form) and show which real server each one gets
  daemon --interface IF [--config FILE] [--rules FILE] [--vrrp FILE] [--socket PATH]
             run the director on IF (AF_PACKET capture, direct routing); --rules
             applies ipvsadm rules (ipvsadm-save form) at start; --vrrp runs VRRP
             instances (keepalived.conf or YAML) that own the VIPs
  status [--status-file FILE] [--json]
             a running daemon's state: VRRP instances, sync, connections, drops
  check-config FILE
             validate an ldirectord.cf or native YAML/JSON config; prints
             FILE:LINE: message per problem (exit 1) or FILE: OK (exit 0)
  ipvsadm install|uninstall
             install tsvsadm as /usr/sbin/ipvsadm (dpkg-divert of a packaged
             ipvsadm) for tools such as ldirectord; uninstall undoes it (root)
  demo       the demonstration run (npm run demo)
  bench [--quick] [--runs N] [--seconds S] [--peers LIST] [--workloads LIST]
             end-to-end bench in a namespace lab: tsvs beside nftables DR, nftables
             DNAT, HAProxy and no director; table, JSON and SVG (npm run bench)
  lab up|down|status [--realservers N] [--name NAME] [--routed] [--offloads on|off]
             an LVS-DR lab in network namespaces: client, director, real servers
  help       this text
  version    print the version

Run 'tsvs <command> --help' for a command's options.
`;

type Handler = (args: string[]) => Promise<number> | number;

const commands: Record<string, () => Promise<Handler>> = {
  simulate: async () => (await import('./simulate-cmd')).run,
  demo: async () => (await import('./demo-cmd')).run,
  bench: async () => (await import('./bench-cmd')).run,
  lab: async () => (await import('../lab/cli')).run,
  daemon: async () => (await import('./daemon-cmd')).run,
  ipvsadm: async () => (await import('./ipvsadm-install-cmd')).run,
  status: async () => (await import('./status-cmd')).run,
  'check-config': async () => (await import('./check-config-cmd')).run,
};

export async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  try {
    if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') {
      process.stdout.write(USAGE);
      return;
    }
    if (cmd === 'version' || cmd === '--version') {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      process.stdout.write(`tsvs ${(require('../../../package.json') as { version: string }).version}\n`);
      return;
    }
    const load = commands[cmd];
    if (!load) throw new UsageError(`tsvs: unknown command '${cmd}'. Try 'tsvs help'.`);
    const code = await (await load())(rest);
    process.exitCode = code;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${err.message}\n`);
      process.exitCode = err.exitCode;
      return;
    }
    const e = err as NodeJS.ErrnoException;
    process.stderr.write(`tsvs: ${e.message ?? String(err)}\n`);
    if (process.env.TSVS_DEBUG) process.stderr.write(`${e.stack}\n`);
    process.exitCode = e.name === 'RulesError' ? 2 : 1;
  }
}

if (require.main === module) void main(process.argv.slice(2));
