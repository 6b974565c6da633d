// ipvsadm's command line: parseArgs() turns one argv (without the program name) into a
// ParsedCommand, or throws IpvsadmError with ipvsadm's exact stderr text and exit status.
//
// The order of the checks is ipvsadm 1.31's, because the first failing check is the one
// reported: options are handled left to right as popt returns them (each option's own
// validation fails at once), then popt's own error if the scan stopped on one, then the
// --set values, leftover words, -b flags; then the command x option table, then the
// per-command checks (zero port, -o, real-server family, tunnel options, list conflicts).
//
// Notes on ipvsadm behaviour kept here (§1 of the reference, checked against ipvsadm.c):
//  - the first option must be a command; anything else (or a popt error there) is tryhelp;
//  - a later command word is "invalid option `<word>'" (exit 2): ipvsadm 1.31 never
//    reaches its "multiple commands specified" message;
//  - `<word>` in "invalid option" is the last argv word popt consumed, which may be the
//    option's argument (`-L --start-daemon master` reports `master');
//  - -a/-e: the dest port is forced to the service port for -g/-i on non-fwmark services
//    (as ipvsadm does before calling the kernel; ServiceTable does it again); -d keeps
//    the given port;
//  - -r without a port takes the service port known at that point (0 if -r comes first).

import { Addr } from '../core/addr';
import {
  AF_INET,
  AF_INET6,
  DEFAULT_PERSISTENT_TIMEOUT,
  DEFAULT_SCHEDULER,
  FWD_DROUTE,
  FWD_MASQ,
  FWD_TUNNEL,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  MAX_TIMEOUT,
  SVC_F_ONEPACKET,
  SVC_F_PERSISTENT,
  SVC_F_SCHED1,
  SVC_F_SCHED2,
  SVC_F_SCHED3,
  type AddressFamily,
} from '../core/constants';
import type { ServiceRef } from '../core/services';
import { parseServiceAddress } from './address';
import { atoiU32, fwmarkValue, inetAton, inetPton4, inetPton6, stringToNumber } from './cnum';
import type { DaemonState, ListCommand, ListFormat, ParsedCommand, TunnelType } from './commands';
import { TUN_F_CSUM, TUN_F_REMCSUM } from './commands';
import { IpvsadmError, failure, poptFailure, tryHelp } from './errors';
import { defaultResolver, type NameResolver } from './names';
import { OPTION_DEFS, type CommandName, type OptionKey, type OptionName } from './options';
import { PoptScanner } from './popt';
import { TUNNEL_TYPES, checkLegality, checkTunnelOptions, schedFlags } from './checks';
import { usageText, versionText } from './usage';

export type { ListCommand, ListFormat, ParsedCommand } from './commands';
export { IpvsadmError } from './errors';

export interface ParseContext {
  /** Name printed in the tryhelp and usage texts (ipvsadm prints argv[0]); default "ipvsadm". */
  program?: string;
  /** True for the lines of -R: a nested -R is then refused with tryhelp. */
  readingStdin?: boolean;
  /** Host and service name lookups; default /etc/hosts and /etc/services. */
  resolver?: NameResolver;
}

const SCHED_MASK = SVC_F_SCHED1 | SVC_F_SCHED2 | SVC_F_SCHED3;
const MAX_SYNC_MAXLEN = 65535 - 20 - 8;

/** The working copy of ipvsadm's `struct ipvs_command_entry`. */
interface Entry {
  cmd: CommandName;
  svc: {
    af: number;
    proto: number;
    addr: Addr | null;
    port: number;
    fwmark: number;
    sched: string;
    flags: number;
    timeout: number;
    netmask: number;
    pe: string;
  };
  dest: {
    af: number;
    addr: Addr | null;
    port: number;
    fwd: number;
    weight: number;
    u: number;
    l: number;
    tunType: number;
    tunPort: number;
    tunFlags: number;
  };
  daemon: {
    state: DaemonState;
    ifn: string;
    syncid: number;
    maxlen: number;
    group: Addr | null;
    port: number;
    ttl: number;
  };
  options: Set<OptionName>;
  /** List formats in the order they were given (precedence is applied at the end). */
  formats: Set<ListFormat>;
  numeric: boolean;
  exact: boolean;
  nosort: boolean;
  schedFlagsArg: string;
}

/** Parses one ipvsadm command line. `argv` excludes the program name. */
export function parseArgs(argv: readonly string[], ctx: ParseContext = {}): ParsedCommand {
  const program = ctx.program ?? 'ipvsadm';
  const names = ctx.resolver ?? defaultResolver();
  if (argv.length === 0 && !ctx.readingStdin) return defaultList();

  const scan = new PoptScanner(argv, OPTION_DEFS);
  const first = scan.nextOption();
  if (!first || first.kind === 'error') throw tryHelp(program);

  const e = newEntry();
  switch (first.def.key) {
    case 'A': e.cmd = 'add-service'; break;
    case 'E': e.cmd = 'edit-service'; break;
    case 'D': e.cmd = 'delete-service'; break;
    case 'a': e.cmd = 'add-server'; break;
    case 'e': e.cmd = 'edit-server'; break;
    case 'd': e.cmd = 'delete-server'; break;
    case 'C': e.cmd = 'flush'; break;
    case 'L': e.cmd = 'list'; break;
    case 'Z': e.cmd = 'zero'; break;
    case 'set': e.cmd = 'set'; break;
    case 'R': e.cmd = 'restore'; break;
    case 'S': e.cmd = 'save'; break;
    case 'start-daemon':
      e.cmd = 'start-daemon';
      e.daemon.state = daemonState(first.arg, 'illegal start-daemon parameter specified');
      break;
    case 'stop-daemon':
      e.cmd = 'stop-daemon';
      e.daemon.state = daemonState(first.arg, 'illegal start_daemon specified');
      break;
    case 'h': return { cmd: 'help', text: usageText(program) };
    case 'v': return { cmd: 'version', text: versionText() };
    default: throw tryHelp(program);
  }

  for (;;) {
    const r = scan.nextOption();
    if (r === null) break;
    if (r.kind === 'error') throw poptFailure(r.word, r.text);
    applyOption(e, r.def.key, r.arg, r.word, names);
  }

  let timeouts = { tcp: 0, tcpfin: 0, udp: 0 };
  const rest = scan.leftovers;
  if (e.cmd === 'set') {
    if (rest.length < 3) throw failure('--set option requires 3 timeout values');
    timeouts = {
      tcp: timeoutValue(rest[0], 0),
      tcpfin: timeoutValue(rest[1], 0),
      udp: timeoutValue(rest[2], 0),
    };
    rest.splice(0, 3);
  }
  if (rest.length > 0) throw failure(`unexpected argument ${rest[0]}`);

  if (e.schedFlagsArg !== '') {
    e.svc.flags = (e.svc.flags & ~SCHED_MASK) | schedFlags(e.svc.sched, e.schedFlagsArg);
  }

  checkLegality(e.cmd, e.options);
  return finish(e, timeouts, ctx, program);
}

function newEntry(): Entry {
  return {
    cmd: 'list',
    svc: { af: 0, proto: 0, addr: null, port: 0, fwmark: 0, sched: '', flags: 0, timeout: 0, netmask: 0xffffffff, pe: '' },
    dest: { af: 0, addr: null, port: 0, fwd: FWD_DROUTE, weight: 1, u: 0, l: 0, tunType: 0, tunPort: 0, tunFlags: 0 },
    daemon: { state: 'master', ifn: '', syncid: 0, maxlen: 0, group: null, port: 0, ttl: 0 },
    options: new Set(),
    formats: new Set(),
    numeric: false,
    exact: false,
    nosort: false,
    schedFlagsArg: '',
  };
}

/** `ipvsadm` alone: list everything, resolving names. */
function defaultList(): ListCommand {
  return {
    cmd: 'list', numeric: false, format: 'default', connection: false, timeout: false,
    daemon: false, exact: false, nosort: false,
  };
}

function daemonState(arg: string | null, message: string): DaemonState {
  if (arg === 'master' || arg === 'backup') return arg;
  throw failure(message);
}

function setOption(e: Entry, name: OptionName): void {
  if (e.options.has(name)) throw failure(`multiple '${name}' options specified`);
  e.options.add(name);
}

/** The argument of an option that requires one (popt guarantees it is there). */
function req(arg: string | null): string {
  return arg ?? '';
}

function applyOption(e: Entry, key: OptionKey, arg: string | null, word: string, names: NameResolver): void {
  const { svc, dest, daemon } = e;
  switch (key) {
    case 't':
    case 'u':
    case 'sctp': {
      setOption(e, 'service-address');
      svc.proto = key === 't' ? IPPROTO_TCP : key === 'u' ? IPPROTO_UDP : IPPROTO_SCTP;
      const p = parseServiceAddress(req(arg), svc.proto, names);
      if (!p) throw failure('illegal virtual server address[:port] specified');
      svc.addr = p.addr;
      svc.af = p.addr.af;
      if (p.addr.af === AF_INET6) svc.netmask = 128;
      if (p.port !== null) svc.port = p.port;
      return;
    }
    case 'f': {
      setOption(e, 'service-address');
      svc.af = AF_INET;
      svc.proto = IPPROTO_TCP;
      const mark = fwmarkValue(req(arg));
      if (mark === null) throw failure(`invalid fwmark value \`${req(arg)}' specified`);
      svc.fwmark = mark;
      return;
    }
    case 's':
      setOption(e, 'scheduler');
      svc.sched = req(arg).slice(0, 15);
      return;
    case 'p':
      setOption(e, 'persistent');
      svc.flags |= SVC_F_PERSISTENT;
      svc.timeout = arg === null ? DEFAULT_PERSISTENT_TIMEOUT : timeoutValue(arg, 1);
      return;
    case 'M': {
      setOption(e, 'netmask');
      const text = req(arg);
      if (svc.af !== AF_INET6) {
        const mask = inetAton(text) ?? names.hostToAddr(text);
        if (mask === null) throw failure('illegal virtual server persistent mask specified');
        svc.netmask = mask;
      } else {
        svc.netmask = atoiU32(text);
        if (svc.netmask < 1 || svc.netmask > 128) throw failure('illegal ipv6 netmask specified');
      }
      return;
    }
    case 'r': {
      setOption(e, 'real-server');
      const p = parseServiceAddress(req(arg), svc.proto, names);
      if (!p) throw failure('illegal real server address[:port] specified');
      dest.af = p.addr.af;
      dest.addr = p.addr;
      dest.port = p.port ?? svc.port;
      return;
    }
    case 'i':
    case 'g':
    case 'm':
      setOption(e, 'forwarding-method');
      dest.fwd = key === 'i' ? FWD_TUNNEL : key === 'g' ? FWD_DROUTE : FWD_MASQ;
      return;
    case 'w':
      setOption(e, 'weight');
      dest.weight = stringToNumber(req(arg), 0, 65535);
      if (dest.weight < 0) throw failure('illegal weight specified');
      return;
    case 'x':
      setOption(e, 'u-threshold');
      dest.u = stringToNumber(req(arg), 0, 2147483647);
      if (dest.u < 0) throw failure('illegal u_threshold specified');
      return;
    case 'y':
      setOption(e, 'l-threshold');
      dest.l = stringToNumber(req(arg), 0, 2147483647);
      if (dest.l < 0) throw failure('illegal l_threshold specified');
      return;
    case 'c': setOption(e, 'connection'); return;
    case 'n': setOption(e, 'numeric'); e.numeric = true; return;
    case 'mcast-interface':
      setOption(e, 'mcast-interface');
      daemon.ifn = req(arg).slice(0, 15);
      return;
    case 'syncid':
      setOption(e, 'syncid');
      daemon.syncid = stringToNumber(req(arg), 0, 255);
      if (daemon.syncid < 0) throw failure('illegal syncid specified');
      return;
    case 'timeout': setOption(e, 'timeout'); return;
    case 'daemon': setOption(e, 'daemon'); return;
    case 'stats':
    case 'rate':
    case 'thresholds':
    case 'persistent-conn':
    case 'tun-info':
      setOption(e, key);
      e.formats.add(key);
      return;
    case 'nosort': setOption(e, 'nosort'); e.nosort = true; return;
    case 'sort': return; // a no-op kept for compatibility, not even counted
    case 'X': setOption(e, 'exact'); e.exact = true; return;
    case '6':
      if (!svc.fwmark) throw failure('-6 used before -f\n');
      svc.af = AF_INET6;
      svc.netmask = 128;
      return;
    case 'o':
      setOption(e, 'ops');
      svc.flags |= SVC_F_ONEPACKET;
      return;
    case 'pe':
      setOption(e, 'pe');
      svc.pe = req(arg).slice(0, 16);
      return;
    case 'b':
      setOption(e, 'sched-flags');
      e.schedFlagsArg = req(arg).slice(0, 127);
      return;
    case 'mcast-group': {
      setOption(e, 'mcast-group');
      const text = req(arg);
      if (text.includes(':')) {
        const a = inetPton6(text);
        if (!a || !a.isMulticast()) throw failure(`invalid IPv6 mcast-group \`${text}'`);
        daemon.group = a;
      } else {
        const a = inetPton4(text);
        if (!a || !a.isMulticast()) throw failure(`invalid IPv4 mcast-group \`${text}'`);
        daemon.group = a;
      }
      return;
    }
    case 'mcast-port':
      setOption(e, 'mcast-port');
      daemon.port = stringToNumber(req(arg), 1, 65535);
      if (daemon.port < 0) throw failure('illegal mcast-port specified');
      return;
    case 'mcast-ttl':
      setOption(e, 'mcast-ttl');
      daemon.ttl = stringToNumber(req(arg), 1, 255);
      if (daemon.ttl < 0) throw failure('illegal mcast-ttl specified');
      return;
    case 'sync-maxlen':
      setOption(e, 'sync-maxlen');
      daemon.maxlen = stringToNumber(req(arg), 1, MAX_SYNC_MAXLEN);
      if (daemon.maxlen < 0) throw failure('illegal sync-maxlen specified');
      return;
    case 'tun-type': {
      setOption(e, 'tun-type');
      const t = TUNNEL_TYPES.indexOf(req(arg) as TunnelType);
      if (t < 0) throw failure('illegal tunnel type specified');
      dest.tunType = t;
      return;
    }
    case 'tun-port':
      setOption(e, 'tun-port');
      dest.tunPort = stringToNumber(req(arg), 1, 65535);
      if (dest.tunPort < 0) throw failure('illegal tunnel port specified');
      return;
    case 'tun-nocsum': setOption(e, 'tun-nocsum'); return;
    case 'tun-csum': setOption(e, 'tun-csum'); dest.tunFlags |= TUN_F_CSUM; return;
    case 'tun-remcsum': setOption(e, 'tun-remcsum'); dest.tunFlags |= TUN_F_REMCSUM; return;
    default:
      // Another command word after the first one.
      throw failure(`invalid option \`${word}'`);
  }
}

/** parse_timeout(): min..31 days, else "invalid timeout value". */
function timeoutValue(text: string, min: number): number {
  const n = stringToNumber(text, min, MAX_TIMEOUT);
  if (n < 0) throw failure(`invalid timeout value \`${text}' specified`);
  return n;
}

function serviceRef(e: Entry): ServiceRef {
  const af = (e.svc.af === AF_INET6 ? AF_INET6 : AF_INET) as AddressFamily;
  return {
    af,
    proto: e.svc.proto,
    addr: e.svc.addr ?? new Addr(af, 0),
    port: e.svc.port,
    fwmark: e.svc.fwmark,
  };
}

function listFormat(formats: ReadonlySet<ListFormat>): ListFormat {
  for (const f of ['stats', 'rate', 'thresholds', 'persistent-conn', 'tun-info'] as const) {
    if (formats.has(f)) return f;
  }
  return 'default';
}

/** process_options() after the generic check: per-command rules and the result. */
function finish(
  e: Entry,
  timeouts: { tcp: number; tcpfin: number; udp: number },
  ctx: ParseContext,
  program: string,
): ParsedCommand {
  const { svc, dest, options } = e;
  switch (e.cmd) {
    case 'add-service':
    case 'edit-service': {
      if (!svc.fwmark && !svc.port && !(svc.flags & SVC_F_PERSISTENT)) {
        throw failure('Zero port specified for non-persistent service');
      }
      if (svc.flags & SVC_F_ONEPACKET && !svc.fwmark && svc.proto !== IPPROTO_UDP) {
        throw failure('One-Packet Scheduling is only for UDP virtual services');
      }
      const ref = serviceRef(e);
      return {
        cmd: e.cmd,
        service: {
          ...ref,
          scheduler: svc.sched || DEFAULT_SCHEDULER,
          flags: svc.flags & (SVC_F_PERSISTENT | SVC_F_ONEPACKET),
          schedFlags: svc.flags & SCHED_MASK,
          timeout: svc.flags & SVC_F_PERSISTENT ? svc.timeout : 0,
          netmask: svc.netmask,
          pe: svc.pe,
        },
      };
    }
    case 'add-server':
    case 'edit-server': {
      if (!svc.fwmark && (dest.fwd === FWD_TUNNEL || dest.fwd === FWD_DROUTE)) dest.port = svc.port;
      if (dest.af !== svc.af && dest.fwd !== FWD_TUNNEL) {
        throw failure('Different address family is allowed only for tunneling servers');
      }
      const tunOpts: OptionName[] = ['tun-type', 'tun-port', 'tun-nocsum', 'tun-csum', 'tun-remcsum'];
      if (tunOpts.some((o) => options.has(o)) && dest.fwd !== FWD_TUNNEL) {
        throw failure('Tunnel options conflict with forward method');
      }
      checkTunnelOptions(dest.tunType, options);
      return {
        cmd: e.cmd,
        service: serviceRef(e),
        dest: {
          addr: dest.addr as Addr,
          port: dest.port,
          weight: dest.weight,
          fwd: dest.fwd,
          uThreshold: dest.u,
          lThreshold: dest.l,
        },
        tunnel: { type: TUNNEL_TYPES[dest.tunType], port: dest.tunPort, flags: dest.tunFlags },
      };
    }
    case 'delete-server':
      return { cmd: 'delete-server', service: serviceRef(e), dest: { addr: dest.addr as Addr, port: dest.port } };
    case 'delete-service':
      return { cmd: 'delete-service', service: serviceRef(e) };
    case 'list': {
      const has = (o: OptionName): boolean => options.has(o);
      if (
        ((has('connection') || has('timeout') || has('daemon')) && (has('stats') || has('rate') || has('thresholds'))) ||
        ((has('timeout') || has('daemon')) && has('persistent-conn'))
      ) {
        throw failure('options conflicts in the list command');
      }
      const list: ListCommand = {
        cmd: 'list',
        numeric: e.numeric,
        format: listFormat(e.formats),
        connection: has('connection'),
        timeout: has('timeout'),
        daemon: has('daemon'),
        exact: e.exact,
        nosort: e.nosort,
      };
      if (has('service-address')) list.service = serviceRef(e);
      return list;
    }
    case 'restore':
      if (ctx.readingStdin) throw tryHelp(program);
      return { cmd: 'restore' };
    case 'save':
      return { cmd: 'save', numeric: e.numeric };
    case 'flush':
      return { cmd: 'flush' };
    case 'zero':
      return options.has('service-address') ? { cmd: 'zero', service: serviceRef(e) } : { cmd: 'zero' };
    case 'set':
      return { cmd: 'set', timeouts };
    case 'start-daemon':
      return {
        cmd: 'start-daemon',
        daemon: {
          state: e.daemon.state,
          mcastIfn: e.daemon.ifn || 'eth0',
          syncid: e.daemon.syncid,
          syncMaxlen: e.daemon.maxlen,
          mcastGroup: e.daemon.group,
          mcastPort: e.daemon.port,
          mcastTtl: e.daemon.ttl,
        },
      };
    case 'stop-daemon':
      return { cmd: 'stop-daemon', daemon: { state: e.daemon.state, syncid: e.daemon.syncid } };
  }
}

/** For callers that print: message + newline to stderr, then exit with `exitCode`. */
export function formatError(err: IpvsadmError): string {
  return `${err.message}\n`;
}
