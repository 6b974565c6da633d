// The ldirectord.cf reader (reference §4.3): global directives at column 0, `virtual=` /
// `virtual6=` blocks whose lines are indented by at least 4 spaces or a tab, `#` comment
// lines. Every problem is collected with its line number; nothing throws on bad input.
//
// Defaults are the ones ldirectord's code really has (quiescent no, checkinterval 10,
// failurecount 1, checktype negotiate, scheduler wrr, protocol and service from the port)
// and the checktimeout/negotiatetimeout resolution order of §4.3. Globals are resolved
// after the whole file is read, so a global line after a virtual block still applies.
//
// Names: host names resolve through /etc/hosts only, port names through /etc/services
// (src/ipvsadm/names.ts).

import { readFileSync } from 'node:fs';
import { Addr, parseV4 } from '../core/addr';
import {
  AF_INET, AF_INET6, FWD_DROUTE, FWD_MASQ, FWD_TUNNEL, IPPROTO_TCP, IPPROTO_UDP, MAX_THRESHOLD, MAX_TIMEOUT,
  MAX_WEIGHT, SVC_F_ONEPACKET, SVC_F_PERSISTENT, SVC_F_SCHED1, SVC_F_SCHED2, SVC_F_SCHED3,
} from '../core/constants';
import type { ServiceSpec } from '../core/services';
import { findScheduler } from '../sched/registry';
import '../sched/all';
import { systemResolver, type NameResolver } from '../ipvsadm/names';
import type { CheckService, CheckType, ConfigProblem, FallbackSpec, HealthConfig, RealSpec, VirtualSpec } from '../health/types';
import { ConfigError } from './native-config';

/** One `name=value` as written, with its line. */
export interface Setting { value: string; line: number }
export type Settings = Map<string, Setting>;

const GLOBAL = new Set([
  'checktimeout', 'negotiatetimeout', 'checkinterval', 'checkcount', 'failurecount', 'fallback', 'fallback6',
  'fallbackcommand', 'autoreload', 'callback', 'logfile', 'execute', 'fork', 'supervised', 'quiescent',
  'readdquiescent', 'emailalert', 'emailalertfreq', 'emailalertstatus', 'emailalertfrom', 'smtp', 'cleanstop',
  'maintenancedir',
]);

const VIRTUAL = new Set([
  'request', 'receive', 'checktype', 'checkcommand', 'checktimeout', 'negotiatetimeout', 'checkcount', 'failurecount',
  'checkinterval', 'checkport', 'login', 'passwd', 'database', 'secret', 'scheduler', 'persistent', 'netmask',
  'schedflags', 'protocol', 'ops', 'service', 'httpmethod', 'virtualhost', 'fallback', 'fallback6', 'fallbackcommand',
  'quiescent', 'emailalert', 'emailalertfreq', 'emailalertstatus', 'cleanstop', 'smtp', 'monitorfile', 'servicename',
  'comment', 'load',
]);

/** Directives whose value must be written in double quotes. */
const QUOTED = new Set(['request', 'receive', 'login', 'passwd', 'database', 'secret', 'load', 'logfile', 'callback']);
const YESNO = new Set(['autoreload', 'fork', 'supervised', 'quiescent', 'readdquiescent', 'cleanstop', 'ops']);
const POSITIVE = new Set(['checktimeout', 'negotiatetimeout', 'checkinterval', 'checkcount', 'failurecount']);

const CHECKTYPES = new Set(['connect', 'negotiate', 'ping', 'external', 'external-perl', 'on', 'off']);
const SERVICES = new Set<CheckService>([
  'dns', 'ftp', 'http', 'https', 'http_proxy', 'imap', 'imaps', 'ldap', 'ldaps', 'mysql', 'nntp', 'none', 'oracle',
  'pop', 'pops', 'radius', 'pgsql', 'sip', 'smtp', 'submission', 'simpletcp',
]);
const SERVICE_BY_PORT: Record<number, CheckService> = {
  21: 'ftp', 25: 'smtp', 53: 'dns', 80: 'http', 110: 'pop', 119: 'nntp', 143: 'imap', 389: 'ldap', 443: 'https',
  587: 'submission', 636: 'ldaps', 993: 'imaps', 995: 'pops', 1521: 'oracle', 1812: 'radius', 3128: 'http_proxy',
  3306: 'mysql', 5060: 'sip', 5432: 'pgsql',
};

const DEPRECATED: Record<string, string> = {
  connecttimeout: 'connecttimeout is deprecated in favour of negotiatetimeout',
  timeout: 'timeout is deprecated in favour of checktimeout and negotiatetimeout',
};

export const DEFAULT_LOGFILE = '/var/log/ldirectord.log';

/** The value of a quoted directive without its quotes (callers have validated it). */
function unquote(v: string): string {
  const m = /^"(.*)"$/.exec(v);
  return m ? m[1] : v;
}

const isInt = (v: string): boolean => /^\d+$/.test(v);

/**
 * Checks one directive's value on its own (context-free checks only); returns the problem
 * text or null. Used for ldirectord.cf lines and for native `healthcheck:` settings.
 */
export function checkSettingValue(name: string, value: string): string | null {
  if (QUOTED.has(name) && !/^".*"$/.test(value)) {
    return `${name} must be quoted, e.g. ${name}="${value.replace(/"/g, '') || '...'}"`;
  }
  if (YESNO.has(name) && value !== 'yes' && value !== 'no') return `${name} must be yes or no, not "${value}"`;
  if (POSITIVE.has(name) && (!isInt(value) || Number(value) < 1)) return `${name} must be a whole number greater than 0, not "${value}"`;
  switch (name) {
    case 'emailalertfreq':
      if (!isInt(value)) return `emailalertfreq must be a whole number, not "${value}"`;
      break;
    case 'persistent':
      if (!isInt(value) || Number(value) < 1 || Number(value) > MAX_TIMEOUT) return `persistent must be a whole number from 1 to ${MAX_TIMEOUT}, not "${value}"`;
      break;
    case 'checkport':
      if (!isInt(value) || Number(value) < 1 || Number(value) > 65535) return `checkport must be a port from 1 to 65535, not "${value}"`;
      break;
    case 'checktype':
      if (!CHECKTYPES.has(value) && !(isInt(value) && Number(value) > 0)) {
        return `checktype must be connect, negotiate, ping, external, external-perl, on, off or a number, not "${value}"`;
      }
      break;
    case 'service':
      if (!SERVICES.has(value as CheckService)) return `unknown service "${value}" (expected one of ${[...SERVICES].join(', ')})`;
      break;
    case 'httpmethod':
      if (value !== 'GET' && value !== 'HEAD') return `httpmethod must be GET or HEAD, not "${value}"`;
      break;
    case 'protocol':
      if (value !== 'tcp' && value !== 'udp' && value !== 'fwm') return `protocol must be tcp, udp or fwm, not "${value}"`;
      break;
    case 'scheduler':
      if (!/^[a-z]+$/.test(value) || !findScheduler(value)) return `unknown scheduler "${value}"`;
      break;
    case 'fallbackcommand': case 'checkcommand': case 'maintenancedir': case 'execute': case 'virtualhost':
    case 'monitorfile':
      if (value === '') return `${name} needs a value`;
      break;
  }
  return null;
}

interface RawVirtual {
  v6: boolean;
  /** The text after `virtual=`. */
  target: string;
  line: number;
  settings: Settings;
  reals: RealSpec[];
  /** Set when the virtual= value itself was bad (the block is still read for its problems). */
  bad: boolean;
  service: Pick<ServiceSpec, 'af' | 'addr' | 'port' | 'fwmark'>;
}

/** Parses ldirectord.cf text. `resolver` is for tests; the default reads /etc/hosts and /etc/services. */
export function parseLdirectord(
  text: string,
  _file: string,
  resolver: NameResolver = systemResolver(),
): { config: HealthConfig; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const problem = (line: number, message: string) => problems.push({ line, message });
  const globals: Settings = new Map();
  const virtuals: RawVirtual[] = [];
  let cur: RawVirtual | null = null;

  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    const raw = lines[i];
    if (/^\s*(#.*)?$/.test(raw)) continue;
    const indented = /^[ \t]/.test(raw);
    if (indented) {
      if (!cur) {
        problem(line, 'indented line outside a virtual block (global directives start at column 0)');
        continue;
      }
      if (!/^(\t| {4})/.test(raw)) {
        problem(line, 'lines of a virtual block must be indented by at least 4 spaces or a tab');
        continue;
      }
    } else {
      cur = null;
    }
    const body = raw.trim();
    const m = /^([A-Za-z0-9_]+)\s*=\s*(.*)$/.exec(body);
    if (!m) {
      problem(line, `expected directive=value, not "${body}"`);
      continue;
    }
    const name = m[1];
    const value = m[2];
    if (DEPRECATED[name]) {
      problem(line, DEPRECATED[name]);
      continue;
    }
    if (!indented) {
      if (name === 'virtual' || name === 'virtual6') {
        cur = {
          v6: name === 'virtual6', target: value, line, settings: new Map(), reals: [], bad: false,
          service: { af: AF_INET, addr: Addr.v4(0), port: 0, fwmark: 0 },
        };
        const err = parseVirtualTarget(cur, resolver);
        if (err) {
          problem(line, err);
          cur.bad = true;
        }
        virtuals.push(cur);
      } else if (GLOBAL.has(name)) {
        const err = checkSettingValue(name, value);
        if (err) problem(line, err);
        else globals.set(name, { value, line });
      } else if (name === 'real' || name === 'real6' || VIRTUAL.has(name)) {
        problem(line, `${name} belongs in a virtual block (indent it by at least 4 spaces or a tab)`);
      } else {
        problem(line, `unknown directive "${name}"`);
      }
      continue;
    }
    // Inside a virtual block.
    if (!cur) continue;
    if (name === 'real' || name === 'real6') {
      const res = parseReal(value, name === 'real6', line, resolver);
      if (typeof res === 'string') problem(line, res);
      else cur.reals.push(...res);
    } else if (VIRTUAL.has(name)) {
      const err = checkSettingValue(name, value);
      if (err) problem(line, err);
      else cur.settings.set(name, { value, line });
    } else if (name === 'virtual' || name === 'virtual6') {
      problem(line, `${name} must start at column 0`);
    } else {
      problem(line, `unknown directive "${name}" in a virtual block`);
    }
  }

  const config = globalsOf(globals);
  const seen = new Map<string, number>();
  for (const v of virtuals) {
    if (v.bad) continue;
    const spec = resolveVirtual(v, globals, resolver, problem);
    if (!spec) continue;
    const s = spec.service;
    const key = s.fwmark ? `fwm ${s.af} ${s.fwmark}` : `${spec.protocol} ${s.addr.withPort(s.port)}`;
    const prev = seen.get(key);
    if (prev !== undefined) problem(v.line, `virtual service ${key} is already defined on line ${prev}`);
    else seen.set(key, v.line);
    config.virtuals.push(spec);
  }
  problems.sort((a, b) => a.line - b.line);
  return { config, problems };
}

/** Reads and parses an ldirectord.cf; throws ConfigError listing `line N: message` entries. */
export function loadLdirectord(path: string, resolver?: NameResolver): HealthConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(path, [`cannot read: ${(e as Error).message}`]);
  }
  const { config, problems } = parseLdirectord(text, path, resolver);
  if (problems.length) throw new ConfigError(path, problems.map((p) => `line ${p.line}: ${p.message}`));
  return config;
}

/** HealthConfig globals with ldirectord's defaults (no virtuals yet). */
export function globalsOf(globals: Settings): HealthConfig {
  const g = (k: string) => globals.get(k)?.value;
  return {
    checkinterval: Number(g('checkinterval') ?? 10),
    autoreload: g('autoreload') === 'yes',
    readdquiescent: g('readdquiescent') === 'yes',
    logfile: g('logfile') !== undefined ? unquote(g('logfile')!) : DEFAULT_LOGFILE,
    callback: g('callback') !== undefined ? unquote(g('callback')!) : '',
    cleanstop: (g('cleanstop') ?? 'yes') === 'yes',
    maintenancedir: g('maintenancedir') ?? '',
    virtuals: [],
  };
}

function parsePort(text: string, resolver: NameResolver): number | null {
  if (isInt(text)) {
    const n = Number(text);
    return n <= 65535 ? n : null;
  }
  if (!/^[A-Za-z][A-Za-z0-9_-]*$/.test(text)) return null;
  return resolver.serviceToPort(text, IPPROTO_TCP) ?? resolver.serviceToPort(text, IPPROTO_UDP);
}

/** An IPv4 literal or an /etc/hosts name (v6: a literal, optionally in brackets). */
function parseHost(text: string, v6: boolean, resolver: NameResolver): Addr | null {
  if (v6) {
    const a = Addr.parse(text.replace(/^\[(.*)\]$/, '$1'));
    return a && a.af === AF_INET6 ? a : null;
  }
  const a = Addr.parse(text);
  if (a) return a.af === AF_INET ? a : null;
  if (!/^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(text)) return null;
  const n = resolver.hostToAddr(text);
  return n === null ? null : Addr.v4(n);
}

/** Splits `host[:port]` / `[v6][:port]`; port is undefined when absent. */
function splitHostPort(text: string, v6: boolean): { host: string; port?: string } | null {
  if (v6) {
    const m = /^\[([^\]]+)\](?::(\S+))?$/.exec(text);
    if (m) return { host: m[1], port: m[2] };
    return text.includes(':') && !/\s/.test(text) ? { host: text } : null;
  }
  const m = /^([^:\s]+)(?::(\S+))?$/.exec(text);
  return m ? { host: m[1], port: m[2] } : null;
}

function parseVirtualTarget(v: RawVirtual, resolver: NameResolver): string | null {
  const t = v.target.trim();
  const what = v.v6 ? 'virtual6' : 'virtual';
  if (isInt(t)) {
    const mark = Number(t);
    if (mark < 1 || mark > 0xffffffff) return `${what} fwmark must be from 1 to 4294967295, not ${t}`;
    v.service = { af: v.v6 ? AF_INET6 : AF_INET, addr: v.v6 ? new Addr(AF_INET6, 0) : Addr.v4(0), port: 0, fwmark: mark };
    return null;
  }
  const hp = splitHostPort(t, v.v6);
  if (!hp || hp.port === undefined) return `${what} must be ${v.v6 ? '[IPv6]:port' : 'address:port'} or a fwmark, not "${t}"`;
  const addr = parseHost(hp.host, v.v6, resolver);
  if (!addr) return `${what}: unknown or invalid ${v.v6 ? 'IPv6 ' : ''}address "${hp.host}"`;
  const port = parsePort(hp.port, resolver);
  if (port === null) return `${what}: unknown or invalid port "${hp.port}"`;
  v.service = { af: addr.af, addr, port, fwmark: 0 };
  return null;
}

function fwdOf(word: string): number {
  return word === 'gate' ? FWD_DROUTE : word === 'masq' ? FWD_MASQ : word === 'ipip' ? FWD_TUNNEL : -1;
}

const MAX_RANGE = 65536;

/**
 * `ADDR[->ADDR2][:port] gate|masq|ipip [weight] ["request", "receive"] [l:N] [u:N]`.
 * Returns the expanded reals or a problem text.
 */
export function parseReal(value: string, v6: boolean, line: number, resolver: NameResolver): RealSpec[] | string {
  const what = v6 ? 'real6' : 'real';
  let rest = value.trim();
  const first = /^(\S+)/.exec(rest);
  if (!first) return `${what} needs an address and a forwarding method (gate, masq or ipip)`;
  rest = rest.slice(first[1].length).trim();
  // Address part: A[->B][:port]; the port follows the range end.
  let addrPart = first[1];
  let portText: string | undefined;
  let endText: string | undefined;
  const arrow = addrPart.indexOf('->');
  let startText: string;
  if (arrow >= 0) {
    if (v6) return 'real6 address ranges are not supported (IPv4 only)';
    startText = addrPart.slice(0, arrow);
    const hp = splitHostPort(addrPart.slice(arrow + 2), false);
    if (!hp) return `${what}: invalid address range "${addrPart}"`;
    endText = hp.host;
    portText = hp.port;
  } else {
    const hp = splitHostPort(addrPart, v6);
    if (!hp) return `${what}: invalid address "${addrPart}"`;
    startText = hp.host;
    portText = hp.port;
  }
  addrPart = startText;
  const start = parseHost(startText, v6, resolver);
  if (!start) return `${what}: unknown or invalid ${v6 ? 'IPv6 ' : ''}address "${startText}"`;
  let count = 1;
  if (endText !== undefined) {
    const end = parseHost(endText, false, resolver);
    if (!end) return `${what}: unknown or invalid address "${endText}"`;
    if (end.v4 < start.v4) return `${what}: range end ${end} is below its start ${start}`;
    count = end.v4 - start.v4 + 1;
    if (count > MAX_RANGE) return `${what}: range ${start}->${end} has more than ${MAX_RANGE} addresses`;
  }
  let port = 0;
  if (portText !== undefined) {
    const p = parsePort(portText, resolver);
    if (p === null) return `${what}: unknown or invalid port "${portText}"`;
    port = p;
  }
  const methodM = /^(\S+)/.exec(rest);
  if (!methodM) return `${what} needs a forwarding method: gate, masq or ipip`;
  const fwd = fwdOf(methodM[1]);
  if (fwd < 0) return `${what}: forwarding method must be gate, masq or ipip, not "${methodM[1]}"`;
  rest = rest.slice(methodM[1].length).trim();
  let weight = 1;
  const w = /^([^\s"]+)/.exec(rest);
  if (w && !/^[lu]:/.test(w[1])) {
    if (!isInt(w[1]) || Number(w[1]) > MAX_WEIGHT) return `${what}: weight must be a whole number from 0 to ${MAX_WEIGHT}, not "${w[1]}"`;
    weight = Number(w[1]);
    rest = rest.slice(w[1].length).trim();
  }
  let request: string | undefined;
  let receive: string | undefined;
  if (rest.startsWith('"')) {
    const q = /^"([^"]*)"\s*,\s*"([^"]*)"/.exec(rest);
    if (!q) return `${what}: request and receive must be written as "request", "receive"`;
    request = q[1].startsWith('/') ? q[1] : `/${q[1]}`;
    receive = q[2];
    rest = rest.slice(q[0].length).trim();
  }
  let u = 0;
  let l = 0;
  for (const tok of rest ? rest.split(/\s+/) : []) {
    const t = /^([lu]):(\d+)$/.exec(tok);
    if (!t || Number(t[2]) > MAX_THRESHOLD) return `${what}: unexpected "${tok}" (after the weight only "request", "receive", l:N and u:N may follow)`;
    if (t[1] === 'l') l = Number(t[2]);
    else u = Number(t[2]);
  }
  if (u && l > u) return `${what}: lower threshold l:${l} exceeds upper threshold u:${u}`;
  const out: RealSpec[] = [];
  for (let k = 0; k < count; k++) {
    const addr = count === 1 ? start : Addr.v4((start.v4 + k) >>> 0);
    const r: RealSpec = { addr, port, fwd, weight, uThreshold: u, lThreshold: l, line };
    if (request !== undefined) {
      r.request = request;
      r.receive = receive;
    }
    out.push(r);
  }
  return out;
}

function parseFallback(s: Setting, v6: boolean, resolver: NameResolver, problem: (l: number, m: string) => void): FallbackSpec | null {
  const parts = s.value.trim().split(/\s+/);
  const what = v6 ? 'fallback6' : 'fallback';
  if (!parts[0] || parts.length > 2) {
    problem(s.line, `${what} must be ${v6 ? '[IPv6]' : 'host'}[:port] [gate|masq|ipip], not "${s.value}"`);
    return null;
  }
  const hp = splitHostPort(parts[0], v6);
  const addr = hp && parseHost(hp.host, v6, resolver);
  if (!hp || !addr) {
    problem(s.line, `${what}: unknown or invalid address "${parts[0]}"`);
    return null;
  }
  let port = 0;
  if (hp.port !== undefined) {
    const p = parsePort(hp.port, resolver);
    if (p === null) {
      problem(s.line, `${what}: unknown or invalid port "${hp.port}"`);
      return null;
    }
    port = p;
  }
  const fwd = parts[1] === undefined ? FWD_DROUTE : fwdOf(parts[1]);
  if (fwd < 0) {
    problem(s.line, `${what}: forwarding method must be gate, masq or ipip, not "${parts[1]}"`);
    return null;
  }
  return { addr, port, fwd };
}

export function schedFlagsOf(text: string, scheduler: string): number | string {
  let flags = 0;
  for (const f of text.split(',').map((x) => x.trim()).filter(Boolean)) {
    switch (f) {
      case 'flag-1': flags |= SVC_F_SCHED1; break;
      case 'flag-2': flags |= SVC_F_SCHED2; break;
      case 'flag-3': flags |= SVC_F_SCHED3; break;
      case 'sh-fallback': case 'sh-port': case 'mh-fallback': case 'mh-port':
        if (!f.startsWith(`${scheduler}-`)) return `scheduler flag ${f} needs scheduler ${f.slice(0, 2)}`;
        flags |= f.endsWith('fallback') ? SVC_F_SCHED1 : SVC_F_SCHED2;
        break;
      default:
        return `unknown scheduler flag "${f}"`;
    }
  }
  return flags;
}

/** What resolveVirtual needs: the service identity, its settings and its reals. */
export interface VirtualInput {
  v6: boolean;
  line: number;
  settings: Settings;
  reals: RealSpec[];
  service: Pick<ServiceSpec, 'af' | 'addr' | 'port' | 'fwmark'>;
}

/** Applies the block's settings, the globals and ldirectord's defaults. */
export function resolveVirtual(
  v: VirtualInput,
  globals: Settings,
  resolver: NameResolver,
  problem: (line: number, message: string) => void,
): VirtualSpec | null {
  const own = (k: string) => v.settings.get(k);
  const glob = (k: string) => globals.get(k);
  const either = (k: string) => own(k) ?? glob(k);
  const val = (k: string) => either(k)?.value;
  const num = (s: Setting | undefined) => (s ? Number(s.value) : undefined);
  const svc = v.service;
  const isFwm = svc.fwmark !== 0;
  let ok = true;

  let protocol: 'tcp' | 'udp' | 'fwm' = isFwm ? 'fwm' : svc.port === 53 ? 'udp' : 'tcp';
  const p = own('protocol');
  if (p) {
    if ((p.value === 'fwm') !== isFwm) {
      problem(p.line, isFwm ? `protocol ${p.value} does not fit a fwmark virtual (use fwm)` : 'protocol fwm needs a fwmark virtual');
      ok = false;
    } else protocol = p.value as 'tcp' | 'udp' | 'fwm';
  }
  const scheduler = own('scheduler')?.value ?? 'wrr';
  let flags = 0;
  let timeout = 0;
  const pers = own('persistent');
  if (pers) {
    flags |= SVC_F_PERSISTENT;
    timeout = Number(pers.value);
  }
  const ops = own('ops');
  if (ops?.value === 'yes') {
    if (protocol !== 'udp') {
      problem(ops.line, 'ops (one-packet scheduling) is only for UDP virtual services');
      ok = false;
    }
    flags |= SVC_F_ONEPACKET;
  }
  let netmask: number | undefined;
  const nm = own('netmask');
  if (nm) {
    if (svc.af === AF_INET) {
      const a = Addr.parse(nm.value);
      if (!a || a.af !== AF_INET) {
        problem(nm.line, `netmask must be a dotted quad, not "${nm.value}"`);
        ok = false;
      } else netmask = parseV4(nm.value);
    } else if (!isInt(nm.value) || Number(nm.value) < 1 || Number(nm.value) > 128) {
      problem(nm.line, `netmask must be a prefix length from 1 to 128, not "${nm.value}"`);
      ok = false;
    } else netmask = Number(nm.value);
  }
  let schedFlags = 0;
  const sf = own('schedflags');
  if (sf) {
    const r = schedFlagsOf(sf.value, scheduler);
    if (typeof r === 'string') {
      problem(sf.line, r);
      ok = false;
    } else schedFlags = r;
  }
  const service: ServiceSpec = {
    af: svc.af, proto: protocol === 'udp' ? IPPROTO_UDP : IPPROTO_TCP, addr: svc.addr, port: svc.port, fwmark: svc.fwmark,
    scheduler, flags, schedFlags, timeout,
  };
  if (netmask !== undefined) service.netmask = netmask;

  // Reals: same family unless tunnelled; no duplicates.
  const seenReals = new Map<string, number>();
  for (const r of v.reals) {
    if (r.addr.af !== svc.af && r.fwd !== FWD_TUNNEL) {
      problem(r.line, 'a real server of another address family needs ipip');
      ok = false;
    }
    const key = r.addr.withPort(r.port);
    if (seenReals.has(key)) {
      problem(r.line, `real server ${key} is already listed on line ${seenReals.get(key)}`);
      ok = false;
    } else seenReals.set(key, r.line);
  }

  const checktypeText = val('checktype') ?? 'negotiate';
  const combined = isInt(checktypeText);
  const checktype: CheckType = combined ? 'combined' : (checktypeText as CheckType);
  const checkport = Number(val('checkport') ?? 0);
  const portForService = checkport || svc.port;
  const checkService = (val('service') as CheckService | undefined) ?? SERVICE_BY_PORT[portForService] ?? 'none';

  // Timeouts: §4.3 resolution order.
  const checktimeout = num(own('checktimeout')) ?? num(own('negotiatetimeout')) ?? num(glob('checktimeout')) ?? num(glob('negotiatetimeout')) ?? 5;
  const negotiatetimeout = num(own('negotiatetimeout')) ?? num(own('checktimeout')) ?? num(glob('negotiatetimeout')) ?? num(glob('checktimeout')) ?? 30;

  // Fallback: the block's own, else the global one (not for fwmark services).
  const fbName = v.v6 ? 'fallback6' : 'fallback';
  const fbSetting = own(fbName) ?? (isFwm ? undefined : glob(fbName));
  const wrongFb = own(v.v6 ? 'fallback' : 'fallback6');
  if (wrongFb) {
    problem(wrongFb.line, `${v.v6 ? 'fallback' : 'fallback6'} does not fit a ${v.v6 ? 'virtual6' : 'virtual'} block (use ${fbName})`);
    ok = false;
  }
  let fallback: FallbackSpec | null = null;
  if (fbSetting) {
    fallback = parseFallback(fbSetting, v.v6, resolver, problem);
    if (!fallback) ok = false;
  }
  if (!ok) return null;
  const q = (k: string, d: string) => {
    const s = val(k);
    return s === undefined ? d : unquote(s);
  };
  return {
    service,
    protocol,
    reals: v.reals,
    checktype,
    combinedCount: combined ? Number(checktypeText) : 0,
    checkService,
    checkport,
    request: q('request', '/'),
    receive: q('receive', ''),
    httpmethod: (val('httpmethod') as 'GET' | 'HEAD' | undefined) ?? 'GET',
    virtualhost: val('virtualhost') ?? '',
    login: q('login', ''),
    passwd: q('passwd', ''),
    database: q('database', ''),
    secret: q('secret', ''),
    checkcommand: val('checkcommand') ?? '/bin/true',
    checktimeout,
    negotiatetimeout,
    checkinterval: Number(val('checkinterval') ?? 10),
    checkcount: Number(val('checkcount') ?? 1),
    failurecount: Number(val('failurecount') ?? 1),
    quiescent: (val('quiescent') ?? 'no') === 'yes',
    fallback,
    fallbackcommand: val('fallbackcommand') ?? '',
    line: v.line,
  };
}

/** Directives a native `healthcheck:` mapping may carry (ldirectord names). */
export const NATIVE_HEALTH_KEYS = [
  'checktype', 'service', 'request', 'receive', 'checkport', 'checkinterval', 'checktimeout', 'negotiatetimeout',
  'checkcount', 'failurecount', 'quiescent', 'fallback', 'fallback6', 'fallbackcommand', 'checkcommand', 'httpmethod',
  'virtualhost', 'login', 'passwd', 'database', 'secret',
];

/** Turns a native YAML value into the ldirectord.cf text form (quoting the quoted ones). */
export function nativeHealthValue(name: string, v: unknown): string {
  let s: string;
  if (typeof v === 'boolean') s = v ? 'yes' : 'no';
  else s = String(v);
  return QUOTED.has(name) ? `"${s}"` : s;
}
