// ipvsadm's option vocabulary: the words popt recognises, the option names used in error
// messages (in ipvsadm's order, which decides which error is reported first), and which
// options each command requires, allows, or allows only one of (§1.4).

/** Option names as ipvsadm prints them, in its checking order. */
export const OPTION_NAMES = [
  'numeric', 'connection', 'service-address', 'scheduler', 'persistent', 'netmask',
  'real-server', 'forwarding-method', 'weight', 'u-threshold', 'l-threshold',
  'mcast-interface', 'timeout', 'daemon', 'stats', 'rate', 'thresholds', 'persistent-conn',
  'nosort', 'syncid', 'exact', 'ops', 'pe', 'sched-flags', 'mcast-group', 'mcast-port',
  'mcast-ttl', 'sync-maxlen', 'tun-info', 'tun-type', 'tun-port', 'tun-nocsum', 'tun-csum',
  'tun-remcsum',
] as const;
export type OptionName = (typeof OPTION_NAMES)[number];

export const COMMAND_NAMES = [
  'add-service', 'edit-service', 'delete-service', 'flush', 'list', 'add-server',
  'delete-server', 'edit-server', 'set', 'start-daemon', 'stop-daemon', 'restore', 'save',
  'zero',
] as const;
/** Commands that carry out work (help and version are handled before any checking). */
export type CommandName = (typeof COMMAND_NAMES)[number];

/** How one command treats the options: required, allowed, or "at most one of". */
interface Legality {
  required?: readonly OptionName[];
  optional?: readonly OptionName[];
  oneOf?: readonly OptionName[];
}

const SERVICE_OPTS: readonly OptionName[] = ['scheduler', 'persistent', 'netmask', 'ops', 'pe', 'sched-flags'];
const SERVER_OPTS: readonly OptionName[] = [
  'forwarding-method', 'weight', 'u-threshold', 'l-threshold',
  'tun-type', 'tun-port', 'tun-nocsum', 'tun-csum', 'tun-remcsum',
];

export const LEGALITY: Readonly<Record<CommandName, Legality>> = {
  'add-service': { required: ['service-address'], optional: SERVICE_OPTS },
  'edit-service': { required: ['service-address'], optional: SERVICE_OPTS },
  'delete-service': { required: ['service-address'] },
  flush: {},
  list: {
    oneOf: ['connection', 'service-address', 'timeout', 'daemon'],
    // --syncid is accepted (and ignored) by -L in ipvsadm 1.31's table.
    optional: ['numeric', 'stats', 'rate', 'thresholds', 'persistent-conn', 'nosort', 'syncid', 'exact', 'tun-info'],
  },
  'add-server': { required: ['service-address', 'real-server'], optional: SERVER_OPTS },
  'delete-server': { required: ['service-address', 'real-server'] },
  'edit-server': { required: ['service-address', 'real-server'], optional: SERVER_OPTS },
  set: {},
  'start-daemon': { optional: ['mcast-interface', 'syncid', 'mcast-group', 'mcast-port', 'mcast-ttl', 'sync-maxlen'] },
  'stop-daemon': { optional: ['syncid'] },
  restore: {},
  save: { optional: ['numeric'] },
  zero: { optional: ['service-address'] },
};

/** What a popt option word stands for. */
export type OptionKey =
  // commands
  | 'A' | 'E' | 'D' | 'C' | 'L' | 'Z' | 'a' | 'e' | 'd' | 'set' | 'h' | 'v' | 'R' | 'S'
  | 'start-daemon' | 'stop-daemon'
  // options
  | 't' | 'u' | 'sctp' | 'f' | 's' | 'p' | 'M' | 'r' | 'm' | 'i' | 'g' | 'w' | 'x' | 'y'
  | 'n' | 'c' | 'mcast-interface' | 'syncid' | 'timeout' | 'daemon' | 'stats' | 'rate'
  | 'thresholds' | 'persistent-conn' | 'nosort' | 'sort' | 'X' | '6' | 'o' | 'pe' | 'b'
  | 'mcast-group' | 'mcast-port' | 'mcast-ttl' | 'sync-maxlen' | 'tun-info' | 'tun-type'
  | 'tun-port' | 'tun-nocsum' | 'tun-csum' | 'tun-remcsum';

export type ArgKind = 'none' | 'required' | 'optional';

export interface OptionDef {
  long: string | null;
  short: string | null;
  arg: ArgKind;
  key: OptionKey;
}

function o(long: string | null, short: string | null, arg: ArgKind, key: OptionKey): OptionDef {
  return { long, short, arg, key };
}

/** The popt table: long name, short letter, argument kind. */
export const OPTION_DEFS: readonly OptionDef[] = [
  o('add-service', 'A', 'none', 'A'),
  o('edit-service', 'E', 'none', 'E'),
  o('delete-service', 'D', 'none', 'D'),
  o('clear', 'C', 'none', 'C'),
  o('list', 'L', 'none', 'L'),
  o('list', 'l', 'none', 'L'),
  o('zero', 'Z', 'none', 'Z'),
  o('add-server', 'a', 'none', 'a'),
  o('edit-server', 'e', 'none', 'e'),
  o('delete-server', 'd', 'none', 'd'),
  o('set', null, 'none', 'set'),
  o('help', 'h', 'none', 'h'),
  o('version', 'v', 'none', 'v'),
  o('restore', 'R', 'none', 'R'),
  o('save', 'S', 'none', 'S'),
  o('start-daemon', null, 'required', 'start-daemon'),
  o('stop-daemon', null, 'required', 'stop-daemon'),
  o('tcp-service', 't', 'required', 't'),
  o('udp-service', 'u', 'required', 'u'),
  o('sctp-service', null, 'required', 'sctp'),
  o('fwmark-service', 'f', 'required', 'f'),
  o('scheduler', 's', 'required', 's'),
  o('persistent', 'p', 'optional', 'p'),
  o('netmask', 'M', 'required', 'M'),
  o('real-server', 'r', 'required', 'r'),
  o('masquerading', 'm', 'none', 'm'),
  o('ipip', 'i', 'none', 'i'),
  o('gatewaying', 'g', 'none', 'g'),
  o('weight', 'w', 'required', 'w'),
  o('u-threshold', 'x', 'required', 'x'),
  o('l-threshold', 'y', 'required', 'y'),
  o('numeric', 'n', 'none', 'n'),
  o('connection', 'c', 'none', 'c'),
  o('mcast-interface', null, 'required', 'mcast-interface'),
  o('syncid', null, 'required', 'syncid'),
  o('timeout', null, 'none', 'timeout'),
  o('daemon', null, 'none', 'daemon'),
  o('stats', null, 'none', 'stats'),
  o('rate', null, 'none', 'rate'),
  o('thresholds', null, 'none', 'thresholds'),
  o('persistent-conn', null, 'none', 'persistent-conn'),
  o('nosort', null, 'none', 'nosort'),
  o('sort', null, 'none', 'sort'),
  o('exact', 'X', 'none', 'X'),
  o('ipv6', '6', 'none', '6'),
  o('ops', 'o', 'none', 'o'),
  o('pe', null, 'required', 'pe'),
  o('sched-flags', 'b', 'required', 'b'),
  o('mcast-group', null, 'required', 'mcast-group'),
  o('mcast-port', null, 'required', 'mcast-port'),
  o('mcast-ttl', null, 'required', 'mcast-ttl'),
  o('sync-maxlen', null, 'required', 'sync-maxlen'),
  o('tun-info', null, 'none', 'tun-info'),
  o('tun-type', null, 'required', 'tun-type'),
  o('tun-port', null, 'required', 'tun-port'),
  o('tun-nocsum', null, 'none', 'tun-nocsum'),
  o('tun-csum', null, 'none', 'tun-csum'),
  o('tun-remcsum', null, 'none', 'tun-remcsum'),
];
