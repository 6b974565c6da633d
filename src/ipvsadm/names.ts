// Host and service name lookups, as ipvsadm does them with gethostbyname/gethostbyaddr
// and getservbyname/getservbyport.
//
// Limit (deliberate): lookups are synchronous and use the files only -- /etc/hosts and
// /etc/services. ipvsadm goes through NSS and so may also ask DNS; a name that only DNS
// knows is rejected here ("illegal ... address[:port] specified"), and a listing without
// -n prints the numeric address where ipvsadm might have printed a DNS PTR name.

import { readFileSync } from 'node:fs';
import { AF_INET, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP } from '../core/constants';
import type { Addr } from '../core/addr';
import { inetPton4, inetPton6 } from './cnum';

export interface NameResolver {
  /** gethostbyname(): the first IPv4 address of `name` (host-order uint32), or null. */
  hostToAddr(name: string): number | null;
  /** gethostbyaddr(): the canonical name of `addr`, or null. */
  addrToHost(addr: Addr): string | null;
  /** getservbyname(name, proto): the port, or null. proto is an IPPROTO_* number. */
  serviceToPort(name: string, proto: number): number | null;
  /** getservbyport(port, proto): the service's official name, or null. */
  portToService(port: number, proto: number): string | null;
}

interface HostEntry { addr: Addr; names: string[] }
interface ServEntry { name: string; aliases: string[]; port: number; proto: string }

/** Parses hosts(5) and services(5) texts into a resolver. */
export function resolverFromText(hostsText: string, servicesText: string): NameResolver {
  const hosts = parseHosts(hostsText);
  const services = parseServices(servicesText);
  return {
    hostToAddr(name) {
      const key = name.toLowerCase();
      for (const h of hosts) {
        if (h.addr.af === AF_INET && h.names.some((n) => n.toLowerCase() === key)) return h.addr.v4;
      }
      return null;
    },
    addrToHost(addr) {
      for (const h of hosts) if (h.addr.equals(addr)) return h.names[0];
      return null;
    },
    serviceToPort(name, proto) {
      const p = protoText(proto);
      if (!p) return null;
      for (const s of services) if (s.proto === p && (s.name === name || s.aliases.includes(name))) return s.port;
      return null;
    },
    portToService(port, proto) {
      const p = protoText(proto);
      if (!p) return null;
      for (const s of services) if (s.proto === p && s.port === port) return s.name;
      return null;
    },
  };
}

/** A resolver over /etc/hosts and /etc/services, read once on first use. */
export function systemResolver(hostsPath = '/etc/hosts', servicesPath = '/etc/services'): NameResolver {
  let inner: NameResolver | null = null;
  const get = (): NameResolver => {
    if (!inner) inner = resolverFromText(readOrEmpty(hostsPath), readOrEmpty(servicesPath));
    return inner;
  };
  return {
    hostToAddr: (name) => get().hostToAddr(name),
    addrToHost: (addr) => get().addrToHost(addr),
    serviceToPort: (name, proto) => get().serviceToPort(name, proto),
    portToService: (port, proto) => get().portToService(port, proto),
  };
}

let shared: NameResolver | null = null;

/** The process-wide files resolver used when a caller passes none. */
export function defaultResolver(): NameResolver {
  shared ??= systemResolver();
  return shared;
}

/** A resolver that knows no names at all. */
export const noNames: NameResolver = {
  hostToAddr: () => null,
  addrToHost: () => null,
  serviceToPort: () => null,
  portToService: () => null,
};

function protoText(proto: number): string | null {
  switch (proto) {
    case IPPROTO_TCP: return 'tcp';
    case IPPROTO_UDP: return 'udp';
    case IPPROTO_SCTP: return 'sctp';
    default: return null;
  }
}

function readOrEmpty(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function fields(line: string): string[] {
  const hash = line.indexOf('#');
  const body = hash >= 0 ? line.slice(0, hash) : line;
  return body.split(/[ \t\r]+/).filter((f) => f.length > 0);
}

function parseHosts(text: string): HostEntry[] {
  const out: HostEntry[] = [];
  for (const line of text.split('\n')) {
    const f = fields(line);
    if (f.length < 2) continue;
    const addr = inetPton4(f[0]) ?? inetPton6(f[0]);
    if (addr) out.push({ addr, names: f.slice(1) });
  }
  return out;
}

function parseServices(text: string): ServEntry[] {
  const out: ServEntry[] = [];
  for (const line of text.split('\n')) {
    const f = fields(line);
    if (f.length < 2) continue;
    const m = /^(\d+)\/(\w+)$/.exec(f[1]);
    if (!m) continue;
    const port = Number(m[1]);
    if (port > 65535) continue;
    out.push({ name: f[0], aliases: f.slice(2), port, proto: m[2] });
  }
  return out;
}
