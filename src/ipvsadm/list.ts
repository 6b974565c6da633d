// ipvsadm's output formats, byte for byte (§1.6): -L in all its layouts, -L -c, --timeout,
// --daemon and -S. Input is an IpvsSnapshot; output is the exact stdout text.
//
// The layouts are written with ipvsadm's own printf formats through sprintf(), so the
// trailing blanks of "%-10u" and the column widths are the same by construction.
//
// Sorting (unless --nosort): services by (fwmark, family, protocol, address, port) and
// dests by (address, port), numerically ascending. ipvsadm's comparators subtract uint32
// values into an int, so addresses or marks 2^31 or more apart sort "backwards" there
// (10.0.0.1 after 192.168.0.1); that quirk is deliberately not replicated.
//
// Without -n, names come from the NameResolver (files only: /etc/hosts, /etc/services).

import { Addr, formatV4 } from '../core/addr';
import {
  AF_INET,
  AF_INET6,
  FWD_DROUTE,
  FWD_LOCALNODE,
  FWD_MASK,
  FWD_MASQ,
  FWD_TUNNEL,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_IP,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  SVC_F_ONEPACKET,
  SVC_F_PERSISTENT,
  SVC_F_SCHED1,
  SVC_F_SCHED2,
  SVC_F_SCHED3,
} from '../core/constants';
import type { ServiceRef } from '../core/services';
import type { ListCommand, ListFormat } from './commands';
import { inetNtop } from './cnum';
import { IpvsadmError } from './errors';
import { defaultResolver, type NameResolver } from './names';
import { sprintf } from './printf';
import type { ConnSnapshot, DestSnapshot, IpvsSnapshot, ServiceSnapshot } from './snapshot';

export interface ListOptions {
  numeric?: boolean;
  format?: ListFormat;
  exact?: boolean;
  nosort?: boolean;
}

/** Resolved options plus the name source, passed down to the row printers. */
interface Fmt {
  numeric: boolean;
  format: ListFormat;
  exact: boolean;
  nosort: boolean;
  rule: boolean;
  names: NameResolver;
}

function fmtOf(opts: ListOptions, names: NameResolver | undefined, rule = false): Fmt {
  return {
    numeric: opts.numeric ?? false,
    format: opts.format ?? 'default',
    exact: opts.exact ?? false,
    nosort: opts.nosort ?? false,
    rule,
    names: names ?? defaultResolver(),
  };
}

/** Runs a parsed -L command against a snapshot. Throws "No such service" (exit 1). */
export function renderList(cmd: ListCommand, snap: IpvsSnapshot, names?: NameResolver): string {
  if (cmd.connection) return listConnections(snap, cmd, names);
  if (cmd.service) return listService(snap, cmd.service, cmd, names);
  if (cmd.timeout) return listTimeout(snap);
  if (cmd.daemon) return listDaemon(snap);
  return listAll(snap, cmd, names);
}

/** -L (and plain `ipvsadm`): version header, title, every service. */
export function listAll(snap: IpvsSnapshot, opts: ListOptions = {}, names?: NameResolver): string {
  const f = fmtOf(opts, names);
  return versionHeader(snap) + title(f) + sortedServices(snap, f).map((s) => serviceEntry(s, f)).join('');
}

/** -L -t/-u/-f ...: no version header. */
export function listService(snap: IpvsSnapshot, ref: ServiceRef, opts: ListOptions = {}, names?: NameResolver): string {
  const svc = findService(snap, ref);
  if (!svc) throw new IpvsadmError('No such service', 1);
  const f = fmtOf(opts, names);
  return title(f) + serviceEntry(svc, f);
}

/** -S [-n]: the rules as ipvsadm commands (thresholds are not saved). */
export function saveRules(snap: IpvsSnapshot, opts: { numeric?: boolean } = {}, names?: NameResolver): string {
  const f = fmtOf({ numeric: opts.numeric }, names, true);
  return sortedServices(snap, f).map((s) => serviceEntry(s, f)).join('');
}

/** -L --timeout */
export function listTimeout(snap: IpvsSnapshot): string {
  const t = snap.timeouts;
  return sprintf('Timeout (tcp tcpfin udp): %d %d %d\n', t.tcp, t.tcpfin, t.udp);
}

/** -L --daemon: one line per running daemon, master first; nothing when none runs. */
export function listDaemon(snap: IpvsSnapshot): string {
  let out = '';
  for (const state of ['master', 'backup'] as const) {
    const d = snap.daemons.find((x) => x.state === state);
    if (!d) continue;
    out += sprintf('%s sync daemon (mcast=%s, syncid=%d', state, d.mcastIfn, d.syncid);
    if (d.syncMaxlen) out += sprintf(', maxlen=%u', d.syncMaxlen);
    if (d.mcastGroup) out += sprintf(', group=%s', d.mcastGroup);
    if (d.mcastPort) out += sprintf(', port=%u', d.mcastPort);
    if (d.mcastTtl) out += sprintf(', ttl=%u', d.mcastTtl);
    out += ')\n';
  }
  return out;
}

/** -L -c [--persistent-conn] */
export function listConnections(snap: IpvsSnapshot, opts: ListOptions = {}, names?: NameResolver): string {
  const f = fmtOf(opts, names);
  const pc = f.format === 'persistent-conn';
  let out = 'IPVS connection entries\n';
  out += pc
    ? sprintf('pro expire %-11s %-18s %-18s %-18s %-16s %s\n', 'state', 'source', 'virtual', 'destination', 'pe name', 'pe_data')
    : sprintf('pro expire %-11s %-18s %-18s %s\n', 'state', 'source', 'virtual', 'destination');
  for (const c of snap.connections) out += connRow(c, f, pc);
  return out;
}

function connRow(c: ConnSnapshot, f: Fmt, pc: boolean): string {
  // ipvsadm resolves port names only for TCP, UDP and SCTP.
  const nameProto = c.proto === IPPROTO_TCP || c.proto === IPPROTO_UDP || c.proto === IPPROTO_SCTP ? c.proto : 0;
  const cname = addrPort(c.af, c.caddr, c.cport, nameProto, f);
  const vname = addrPort(c.af, c.vaddr, c.vport, nameProto, f);
  const dname = addrPort(c.daf, c.daddr, c.dport, nameProto, f);
  const secs = Math.max(0, Math.floor(c.expires));
  const expire = sprintf('%02d:%02d', Math.floor(secs / 60), secs % 60);
  const proto = kernelProtoName(c.proto);
  if (pc && c.peName && c.peData !== undefined && c.peData !== '') {
    return sprintf('%-3s %-6s %-11s %-18s %-18s %-16s %-18s %s\n', proto, expire, c.state, cname, vname, dname, c.peName, c.peData);
  }
  return sprintf('%-3s %-6s %-11s %-18s %-18s %s\n', proto, expire, c.state, cname, vname, dname);
}

/** ip_vs_proto_name(): the protocol column of /proc/net/ip_vs_conn. */
function kernelProtoName(proto: number): string {
  switch (proto) {
    case IPPROTO_IP: return 'IP';
    case IPPROTO_UDP: return 'UDP';
    case IPPROTO_TCP: return 'TCP';
    case IPPROTO_SCTP: return 'SCTP';
    case IPPROTO_ICMP: return 'ICMP';
    case IPPROTO_ICMPV6: return 'ICMPv6';
    default: return `IP_${proto}`;
  }
}

function versionHeader(snap: IpvsSnapshot): string {
  const v = snap.version;
  return sprintf('IP Virtual Server version %d.%d.%d (size=%d)\n', (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff, snap.connTabSize);
}

function title(f: Fmt): string {
  const second = '  -> RemoteAddress:Port\n';
  switch (f.format) {
    case 'stats':
      return sprintf('%-33s %8s %8s %8s %8s %8s\n', 'Prot LocalAddress:Port', 'Conns', 'InPkts', 'OutPkts', 'InBytes', 'OutBytes') + second;
    case 'rate':
      return sprintf('%-33s %8s %8s %8s %8s %8s\n', 'Prot LocalAddress:Port', 'CPS', 'InPPS', 'OutPPS', 'InBPS', 'OutBPS') + second;
    case 'thresholds':
      return sprintf('%-33s %-10s %-10s %-10s %-10s\n', 'Prot LocalAddress:Port', 'Uthreshold', 'Lthreshold', 'ActiveConn', 'InActConn') + second;
    case 'persistent-conn':
      return sprintf('%-33s %-9s %-11s %-10s %-10s\n', 'Prot LocalAddress:Port', 'Weight', 'PersistConn', 'ActiveConn', 'InActConn') + second;
    case 'tun-info':
      return 'Prot LocalAddress:Port Scheduler Flags\n' +
        '  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n';
    default:
      return 'Prot LocalAddress:Port Scheduler Flags\n' +
        '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n';
  }
}

/** One service and its dests, in the layout `f` asks for. */
function serviceEntry(svc: ServiceSnapshot, f: Fmt): string {
  const name = serviceName(svc, f);
  let out: string;
  if (f.rule) {
    out = sprintf('-A %s -s %s', name, svc.scheduler);
    if (svc.flags & SVC_F_PERSISTENT) {
      out += sprintf(' -p %u', svc.timeout);
      if (svc.af === AF_INET && svc.netmask >>> 0 !== 0xffffffff) out += sprintf(' -M %s', formatV4(svc.netmask));
      if (svc.af === AF_INET6 && svc.netmask !== 128) out += sprintf(' -M %i', svc.netmask);
    }
    if (svc.pe) out += sprintf(' --pe %s', svc.pe);
    if (svc.flags & SVC_F_ONEPACKET) out += ' -o';
    const flags = schedFlagNames(svc);
    if (svc.schedFlags & (SVC_F_SCHED1 | SVC_F_SCHED2 | SVC_F_SCHED3)) out += ` -b ${flags}`;
  } else if (f.format === 'stats') {
    const s = svc.stats;
    out = sprintf('%-33s', name) + [s.conns, s.inpkts, s.outpkts, s.inbytes, s.outbytes].map((n) => largenum(n, f.exact)).join('');
  } else if (f.format === 'rate') {
    const r = svc.rates;
    out = sprintf('%-33s', name) + [r.cps, r.inpps, r.outpps, r.inbps, r.outbps].map((n) => largenum(n, f.exact)).join('');
  } else {
    out = sprintf('%s %s', name, svc.scheduler);
    if (svc.schedFlags & (SVC_F_SCHED1 | SVC_F_SCHED2 | SVC_F_SCHED3)) out += ` (${schedFlagNames(svc)})`;
    if (svc.flags & SVC_F_PERSISTENT) {
      out += sprintf(' persistent %u', svc.timeout);
      if (svc.af === AF_INET && svc.netmask >>> 0 !== 0xffffffff) out += sprintf(' mask %s', formatV4(svc.netmask));
      if (svc.af === AF_INET6 && svc.netmask !== 128) out += sprintf(' mask %i', svc.netmask);
      if (svc.pe) out += sprintf(' pe %s', svc.pe);
    }
    if (svc.flags & SVC_F_ONEPACKET) out += ' ops';
  }
  out += '\n';
  const dests = f.nosort ? svc.dests : [...svc.dests].sort(compareDests);
  for (const d of dests) out += destRow(svc, name, d, f);
  return out;
}

function destRow(svc: ServiceSnapshot, svcName: string, d: DestSnapshot, f: Fmt): string {
  let dname = addrPort(d.af, d.addr, d.port, svc.proto, f);
  if (!f.rule && d.af !== AF_INET6) dname = dname.slice(0, 28);
  const fwd = d.fwd & FWD_MASK;
  if (f.rule) {
    const base = sprintf('-a %s -r %s %s -w %d', svcName, dname, fwdSwitch(fwd), d.weight);
    if (fwd !== FWD_TUNNEL) return `${base}\n`;
    switch (d.tunType) {
      case 'gre': return `${base} --tun-type gre ${TUN_FLAG_OPTS[d.tunFlags] ?? ''}\n`;
      case 'gue': return `${base} --tun-type gue --tun-port ${d.tunPort} ${TUN_FLAG_OPTS[d.tunFlags] ?? ''}\n`;
      default: return `${base} --tun-type ipip\n`;
    }
  }
  switch (f.format) {
    case 'stats': {
      const s = d.stats;
      return sprintf('  -> %-28s', dname) + [s.conns, s.inpkts, s.outpkts, s.inbytes, s.outbytes].map((n) => largenum(n, f.exact)).join('') + '\n';
    }
    case 'rate': {
      const r = d.rates;
      return sprintf('  -> %-28s %8llu %8llu %8llu', dname, r.cps, r.inpps, r.outpps) +
        largenum(r.inbps, f.exact) + largenum(r.outbps, f.exact) + '\n';
    }
    case 'thresholds':
      return sprintf('  -> %-28s %-10u %-10u %-10u %-10u\n', dname, d.uThreshold, d.lThreshold, d.activeConns, d.inactConns);
    case 'persistent-conn':
      return sprintf('  -> %-28s %-9u %-11u %-10u %-10u\n', dname, d.weight, d.persistConns, d.activeConns, d.inactConns);
    case 'tun-info':
      return sprintf('  -> %-28s %-7s %-13s %-6d %-10u %-10u\n', dname, fwdName(fwd), tunnelInfo(d), d.weight, d.activeConns, d.inactConns);
    default:
      return sprintf('  -> %-28s %-7s %-6d %-10u %-10u\n', dname, fwdName(fwd), d.weight, d.activeConns, d.inactConns);
  }
}

const TUN_FLAG_NAMES = ['-c', '+c', 'r+c'];
const TUN_FLAG_OPTS = ['--tun-nocsum', '--tun-csum', '--tun-remcsum'];

/** The TunnelInfo column: ipip, gue:PORT:FLAGS, gre:FLAGS, or n/a. */
function tunnelInfo(d: DestSnapshot): string {
  if ((d.fwd & FWD_MASK) !== FWD_TUNNEL) return 'n/a';
  switch (d.tunType) {
    case 'ipip': return 'ipip';
    case 'gue': return `gue:${d.tunPort}:${TUN_FLAG_NAMES[d.tunFlags] ?? ''}`;
    case 'gre': return `gre:${TUN_FLAG_NAMES[d.tunFlags] ?? ''}`;
  }
}

function fwdName(fwd: number): string {
  switch (fwd) {
    case FWD_MASQ: return 'Masq';
    case FWD_LOCALNODE: return 'Local';
    case FWD_TUNNEL: return 'Tunnel';
    case FWD_DROUTE: return 'Route';
    default: return '(null)'; // what glibc prints for ipvsadm's NULL name
  }
}

function fwdSwitch(fwd: number): string {
  switch (fwd) {
    case FWD_MASQ: return '-m';
    case FWD_TUNNEL: return '-i';
    case FWD_LOCALNODE:
    case FWD_DROUTE: return '-g';
    default: return '(null)';
  }
}

/** sh/mh have their own flag names; other schedulers show flag-N. */
function schedFlagNames(svc: ServiceSnapshot): string {
  const names: string[] = [];
  const fl = svc.schedFlags;
  if (svc.scheduler === 'sh' || svc.scheduler === 'mh') {
    if (fl & SVC_F_SCHED1) names.push(`${svc.scheduler}-fallback`);
    if (fl & SVC_F_SCHED2) names.push(`${svc.scheduler}-port`);
  } else {
    if (fl & SVC_F_SCHED1) names.push('flag-1');
    if (fl & SVC_F_SCHED2) names.push('flag-2');
    if (fl & SVC_F_SCHED3) names.push('flag-3');
  }
  return names.join(',');
}

/** svc_name: "TCP  addr:port" / "FWM  1 [IPv6]" in listings, "-t addr:port" / "-f 1 [-6]" in -S. */
function serviceName(svc: ServiceSnapshot, f: Fmt): string {
  if (svc.fwmark) {
    const v6 = svc.af === AF_INET6;
    return f.rule ? sprintf('-f %u', svc.fwmark) + (v6 ? ' -6' : '') : sprintf('FWM  %u', svc.fwmark) + (v6 ? ' IPv6' : '');
  }
  const vname = addrPort(svc.af, svc.addr, svc.port, svc.proto, f);
  if (f.rule) return `${ruleOption(svc.proto)} ${vname}`;
  const text = sprintf('%-4s %s', listProtoName(svc.proto), vname);
  return svc.af !== AF_INET6 ? text.slice(0, 33) : text;
}

function ruleOption(proto: number): string {
  switch (proto) {
    case IPPROTO_TCP: return '-t';
    case IPPROTO_UDP: return '-u';
    case IPPROTO_SCTP: return '--sctp-service';
    default: return '--xxx-service';
  }
}

function listProtoName(proto: number): string {
  switch (proto) {
    case IPPROTO_TCP: return 'TCP';
    case IPPROTO_UDP: return 'UDP';
    case IPPROTO_SCTP: return 'SCTP';
    default: return '?';
  }
}

/**
 * addrport_to_anyname(): "a.b.c.d:port" / "[v6]:port" with -n; otherwise the host name
 * (if any) and the service name for `proto` (if any). At most 59 characters.
 */
function addrPort(af: number, addrText: string, port: number, proto: number, f: Fmt): string {
  const open = af === AF_INET ? '' : '[';
  const close = af === AF_INET ? '' : ']';
  const a = Addr.parse(addrText);
  let host = a ? inetNtop(a) : addrText;
  let portText = String(port);
  if (!f.numeric) {
    host = (a && f.names.addrToHost(a)) || host;
    portText = f.names.portToService(port, proto) ?? portText;
  }
  return `${open}${host}${close}:${portText}`.slice(0, 59);
}

/**
 * print_largenum(): 9 columns. Exact: the number right-aligned in 9 (or len+1) columns.
 * Otherwise abbreviated with K/M/G/T (decimal units, truncated) past 8 digits.
 */
export function largenum(n: number, exact = false): string {
  const v = BigInt(Math.max(0, Math.floor(n)));
  if (exact) {
    const len = v.toString().length;
    return sprintf('%*llu', len <= 8 ? 9 : len + 1, v);
  }
  if (v < 100000000n) return sprintf('%9llu', v);
  if (v < 1000000000n) return sprintf('%8lluK', v / 1000n);
  if (v < 100000000000n) return sprintf('%8lluM', v / 1000000n);
  if (v < 100000000000000n) return sprintf('%8lluG', v / 1000000000n);
  return sprintf('%8lluT', v / 1000000000000n);
}

function sortedServices(snap: IpvsSnapshot, f: Fmt): ServiceSnapshot[] {
  return f.nosort ? snap.services : [...snap.services].sort(compareServices);
}

function compareServices(a: ServiceSnapshot, b: ServiceSnapshot): number {
  return (
    a.fwmark - b.fwmark ||
    a.af - b.af ||
    a.proto - b.proto ||
    compareAddrText(a.addr, b.addr) ||
    a.port - b.port
  );
}

function compareDests(a: DestSnapshot, b: DestSnapshot): number {
  return a.af - b.af || compareAddrText(a.addr, b.addr) || a.port - b.port;
}

function compareAddrText(a: string, b: string): number {
  const x = Addr.parse(a);
  const y = Addr.parse(b);
  if (!x || !y) return a < b ? -1 : a > b ? 1 : 0;
  return x.compare(y);
}

/** ipvs_get_service(): by fwmark and family, or by protocol, family, address and port. */
function findService(snap: IpvsSnapshot, ref: ServiceRef): ServiceSnapshot | undefined {
  const want = ref.addr.toString();
  return snap.services.find((s) =>
    ref.fwmark
      ? s.fwmark === ref.fwmark && s.af === ref.af
      : !s.fwmark && s.af === ref.af && s.proto === ref.proto && s.port === ref.port && sameAddr(s.addr, want),
  );
}

function sameAddr(a: string, b: string): boolean {
  if (a === b) return true;
  const x = Addr.parse(a);
  const y = Addr.parse(b);
  return !!x && !!y && x.equals(y);
}
