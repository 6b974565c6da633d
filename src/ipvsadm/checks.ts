// The table-driven checks of ipvsadm: the command x option table (generic_opt_check),
// the tunnel type x --tun-* option table (tunnel_opt_check) and the -b flag list
// (parse_sched_flags). Each walks its table in ipvsadm's order, so the first problem
// reported is the one ipvsadm reports.

import { DEFAULT_SCHEDULER, SVC_F_SCHED1, SVC_F_SCHED2, SVC_F_SCHED3 } from '../core/constants';
import type { TunnelType } from './commands';
import { failure } from './errors';
import { LEGALITY, OPTION_NAMES, type CommandName, type OptionName } from './options';

/** Tunnel types by their kernel number (IP_VS_CONN_F_TUNNEL_TYPE_*). */
export const TUNNEL_TYPES: readonly TunnelType[] = ['ipip', 'gue', 'gre'];

/** parse_sched_flags(): comma list; sh-/mh- flags need that scheduler (default wlc). */
export function schedFlags(schedName: string, text: string): number {
  const sched = schedName || DEFAULT_SCHEDULER;
  let flags = 0;
  // ipvsadm crashes on a list with no flag at all (",", ",,"); here that is no flag.
  for (const flag of text.split(',').filter((f) => f.length > 0)) {
    let needs: string | null = null;
    switch (flag) {
      case 'flag-1': flags |= SVC_F_SCHED1; break;
      case 'flag-2': flags |= SVC_F_SCHED2; break;
      case 'flag-3': flags |= SVC_F_SCHED3; break;
      case 'sh-fallback': flags |= SVC_F_SCHED1; needs = 'sh'; break;
      case 'sh-port': flags |= SVC_F_SCHED2; needs = 'sh'; break;
      case 'mh-fallback': flags |= SVC_F_SCHED1; needs = 'mh'; break;
      case 'mh-port': flags |= SVC_F_SCHED2; needs = 'mh'; break;
      default: throw failure(`invalid scheduler flag \`${flag}'`);
    }
    if (needs !== null && sched !== needs) throw failure(`incompatible scheduler flag \`${flag}'`);
  }
  return flags;
}

/** generic_opt_check(): walk the options in ipvsadm's order, first problem wins. */
export function checkLegality(cmd: CommandName, given: ReadonlySet<OptionName>): void {
  const rule = LEGALITY[cmd];
  let firstOfGroup: OptionName | null = null;
  for (const opt of OPTION_NAMES) {
    if (!given.has(opt)) {
      if (rule.required?.includes(opt)) {
        throw failure(`You need to supply the '${opt}' option for the '${cmd}' command`);
      }
      continue;
    }
    if (rule.oneOf?.includes(opt)) {
      if (firstOfGroup === null) firstOfGroup = opt;
      else throw failure(`The option '${opt}' conflicts with the '${firstOfGroup}' option in the '${cmd}' command`);
    } else if (!rule.required?.includes(opt) && !rule.optional?.includes(opt)) {
      throw failure(`Illegal '${opt}' option with the '${cmd}' command`);
    }
  }
}

/** tunnel_opt_check(): which --tun-* options each tunnel type takes. */
export function checkTunnelOptions(tunType: number, given: ReadonlySet<OptionName>): void {
  const type = TUNNEL_TYPES[tunType];
  const opts: OptionName[] = ['tun-port', 'tun-nocsum', 'tun-csum', 'tun-remcsum'];
  // '+' required, 'x' illegal, '1' at most one of the '1's
  const table: Record<TunnelType, string> = { ipip: 'xxxx', gue: '+111', gre: 'x11x' };
  let firstOfGroup: OptionName | null = null;
  opts.forEach((opt, j) => {
    const rule = table[type][j];
    if (!given.has(opt)) {
      if (rule === '+') throw failure(`You need to supply the '${opt}' option for the '${type}' tunnel type`);
      return;
    }
    if (rule === 'x') throw failure(`Illegal '${opt}' option with the '${type}' tunnel type`);
    if (rule === '1') {
      if (firstOfGroup === null) firstOfGroup = opt;
      else throw failure(`The option '${opt}' conflicts with the '${firstOfGroup}' option in the '${type}' tunnel type`);
    }
  });
}
