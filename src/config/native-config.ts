// The native configuration file (YAML or JSON): services and their real servers.
//
//   services:
//     - vip: 192.0.2.100          # or "fwmark: 1"
//       port: 80
//       protocol: tcp              # tcp | udp | sctp (default tcp)
//       scheduler: wlc             # any IPVS scheduler (default wlc)
//       persistent: 360            # optional; seconds (true = 360)
//       netmask: 255.255.255.0     # optional, with persistent
//       schedflags: [sh-port]      # optional
//       ops: false                 # one-packet scheduling (UDP)
//       healthcheck:             # optional; ldirectord's per-virtual settings and defaults
//         checktype: negotiate     # checktype service request receive checkport checkinterval
//         service: http            # checktimeout negotiatetimeout checkcount failurecount quiescent
//         request: /index.html     # fallback fallbackcommand checkcommand httpmethod virtualhost
//         receive: Test Page       # login passwd database secret
//       realservers:
//         - address: 192.0.2.11
//           port: 80               # optional; DR/TUN take the service port
//           weight: 3              # default 1
//           method: dr             # dr | nat | tun (default dr)
//           uthreshold: 0
//           lthreshold: 0
//   sync:                          # optional: connection sync daemons (src/ha/sync/config.ts)
//     state: master                # master | backup | both
//     interface: eth0
//
//   vrrp:                          # optional: VRRP instances owning VIPs (src/ha/vrrp/yaml-config.ts)
//     instances: [...]
//
// Parsing produces the same ServiceSpec/DestSpec values as ipvsadm command lines, and
// validation reports every error with its line number.

import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isMap, isSeq, type Node } from 'yaml';
import { Addr, parseV4 } from '../core/addr';
import {
  AF_INET, AF_INET6, DEFAULT_PERSISTENT_TIMEOUT, FWD_DROUTE, FWD_MASQ, FWD_TUNNEL, IPPROTO_SCTP, IPPROTO_TCP,
  IPPROTO_UDP, MAX_THRESHOLD, MAX_TIMEOUT, MAX_WEIGHT, SVC_F_ONEPACKET, SVC_F_PERSISTENT,
  SVC_F_SCHED1, SVC_F_SCHED2, SVC_F_SCHED3,
} from '../core/constants';
import type { DestSpec, ServiceSpec } from '../core/services';
import type { HealthConfig, RealSpec } from '../health/types';
import { systemResolver } from '../ipvsadm/names';
import {
  NATIVE_HEALTH_KEYS, checkSettingValue, globalsOf, nativeHealthValue, resolveVirtual, type Settings,
} from './ldirectord';
import { findScheduler } from '../sched/registry';
import type { VrrpConfig } from '../ha/vrrp/config';
import { parseVrrpSection } from '../ha/vrrp/yaml-config';
import '../sched/all';
import { parseSyncSection, type NativeSyncConfig } from '../ha/sync/config';

export interface ConfiguredService {
  spec: ServiceSpec;
  dests: DestSpec[];
  line: number;
  /** The `healthcheck:` settings in ldirectord.cf text form (absent = ldirectord defaults). */
  health?: Settings;
  /** Line of each real server entry, in `dests` order. */
  destLines?: number[];
}

export interface NativeConfig {
  services: ConfiguredService[];
  /** The `sync:` section, when present. */
  sync?: NativeSyncConfig;
  /** `workers: N` (data-plane worker threads; read at start only, as --workers). */
  workers?: number;
  /** The `vrrp:` section, when present. */
  vrrp?: VrrpConfig;
}

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(file: string, problems: string[]) {
    super(`${file}: ${problems.length} error${problems.length > 1 ? 's' : ''}:\n  ${problems.join('\n  ')}`);
    this.problems = problems;
    this.name = 'ConfigError';
  }
}

export function loadNativeConfig(path: string): NativeConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(path, [`cannot read: ${(e as Error).message}`]);
  }
  return parseNativeConfig(text, path);
}

export function parseNativeConfig(text: string, file: string): NativeConfig {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  const problems: string[] = [];
  const lineOf = (n: Node | null | undefined): number => (n?.range ? lc.linePos(n.range[0]).line : 1);
  for (const e of doc.errors) problems.push(`line ${lc.linePos(e.pos[0]).line}: ${e.message.split("\n")[0]}`);
  if (problems.length) throw new ConfigError(file, problems);
  const root = doc.contents;
  if (!isMap(root)) throw new ConfigError(file, ['line 1: expected a mapping with a "services" list']);
  const servicesNode = root.get('services', true);
  const out: NativeConfig = { services: [] };
  const syncNode = root.get('sync', true) as Node | undefined;
  if (syncNode !== undefined && syncNode !== null) {
    const syncLine = lineOf(syncNode);
    out.sync = parseSyncSection((syncNode as { toJSON(): unknown }).toJSON(), (m) => problems.push(`line ${syncLine}: ${m}`));
  }
  const workers = root.get('workers');
  if (workers !== undefined) {
    if (typeof workers !== 'number' || !Number.isInteger(workers) || workers < 1 || workers > 256) {
      throw new ConfigError(file, [`line ${lineOf(root.get('workers', true) as Node)}: "workers" must be a whole number from 1 to 256`]);
    }
    out.workers = workers;
  }
  const vrrp = parseVrrpSection(root.get('vrrp', true), lc, problems);
  if (vrrp) out.vrrp = vrrp;
  if (servicesNode === undefined || servicesNode === null) {
    if (problems.length) throw new ConfigError(file, problems);
    return out;
  }
  if (!isSeq(servicesNode)) throw new ConfigError(file, [`line ${lineOf(servicesNode as Node)}: "services" must be a list`]);
  const seen = new Set<string>();
  for (const item of servicesNode.items) {
    const line = lineOf(item as Node);
    const bad = (msg: string) => problems.push(`line ${line}: ${msg}`);
    if (!isMap(item)) {
      bad('each service must be a mapping');
      continue;
    }
    const s = item.toJSON() as Record<string, unknown>;
    checkKeys(s, ['vip', 'port', 'protocol', 'fwmark', 'ipv6', 'scheduler', 'persistent', 'netmask', 'schedflags', 'ops', 'realservers', 'healthcheck'], bad);
    const proto = protocolOf(s.protocol ?? 'tcp');
    if (proto === 0) bad(`protocol must be tcp, udp or sctp, not ${JSON.stringify(s.protocol)}`);
    const fwmark = s.fwmark === undefined ? 0 : intIn(s.fwmark, 1, 0xffffffff, 'fwmark', bad);
    let addr = Addr.v4(0);
    let port = 0;
    if (!fwmark) {
      const a = typeof s.vip === 'string' ? Addr.parse(s.vip) : null;
      if (!a) bad(`vip must be an IPv4 or IPv6 address, not ${JSON.stringify(s.vip)}`);
      else addr = a;
      port = intIn(s.port ?? -1, 0, 65535, 'port', bad);
    }
    const af = fwmark ? (s.ipv6 === true ? AF_INET6 : AF_INET) : addr.af;
    const scheduler = s.scheduler === undefined ? 'wlc' : String(s.scheduler);
    if (!findScheduler(scheduler)) bad(`unknown scheduler "${scheduler}"`);
    let flags = 0;
    let timeout = 0;
    if (s.persistent !== undefined && s.persistent !== false) {
      flags |= SVC_F_PERSISTENT;
      timeout = s.persistent === true ? DEFAULT_PERSISTENT_TIMEOUT : intIn(s.persistent, 1, MAX_TIMEOUT, 'persistent', bad);
    }
    if (s.ops === true) {
      if (proto !== IPPROTO_UDP && !fwmark) bad('ops (one-packet scheduling) is only for UDP services');
      flags |= SVC_F_ONEPACKET;
    }
    if (!fwmark && port === 0 && !(flags & SVC_F_PERSISTENT)) bad('port 0 is only allowed for persistent services');
    let netmask: number | undefined;
    if (s.netmask !== undefined) {
      if (af === AF_INET) {
        const m = typeof s.netmask === 'string' && Addr.parse(s.netmask);
        if (!m || m.af !== AF_INET) bad(`netmask must be a dotted quad, not ${JSON.stringify(s.netmask)}`);
        else netmask = parseV4(s.netmask as string);
      } else {
        netmask = intIn(s.netmask, 1, 128, 'netmask', bad);
      }
    }
    const schedFlags = schedFlagsOf(s.schedflags, scheduler, bad);
    const spec: ServiceSpec = { af, proto: fwmark ? IPPROTO_TCP : proto, addr, port, fwmark, scheduler, flags, schedFlags, timeout, netmask };
    const key = fwmark ? `fwm ${af} ${fwmark}` : `${proto} ${addr.withPort(port)}`;
    if (seen.has(key)) bad(`service ${key} is listed twice`);
    seen.add(key);
    let health: Settings | undefined;
    const hcNode = item.get('healthcheck', true);
    if (hcNode !== undefined && hcNode !== null) {
      if (!isMap(hcNode)) bad('"healthcheck" must be a mapping');
      else {
        health = new Map();
        for (const pair of hcNode.items) {
          const k = String((pair.key as { value?: unknown })?.value ?? pair.key);
          const kline = lineOf(pair.key as Node);
          const hbad = (msg: string) => problems.push(`line ${kline}: ${msg}`);
          if (!NATIVE_HEALTH_KEYS.includes(k)) {
            hbad(`unknown healthcheck setting "${k}" (expected one of ${NATIVE_HEALTH_KEYS.join(', ')})`);
            continue;
          }
          const raw = (pair.value as { toJSON?: () => unknown })?.toJSON?.() ?? null;
          const value = nativeHealthValue(k, raw);
          const err = checkSettingValue(k, value);
          if (err) hbad(err);
          else health.set(k, { value, line: kline });
        }
      }
    }
    const dests: DestSpec[] = [];
    const destLines: number[] = [];
    const rsNode = item.get('realservers', true);
    if (rsNode !== undefined && rsNode !== null) {
      if (!isSeq(rsNode)) bad('"realservers" must be a list');
      else {
        for (const rs of rsNode.items) {
          const rline = lineOf(rs as Node);
          const rbad = (msg: string) => problems.push(`line ${rline}: ${msg}`);
          if (!isMap(rs)) {
            rbad('each real server must be a mapping');
            continue;
          }
          const r = rs.toJSON() as Record<string, unknown>;
          checkKeys(r, ['address', 'port', 'weight', 'method', 'uthreshold', 'lthreshold'], rbad);
          const raddr = typeof r.address === 'string' ? Addr.parse(r.address) : null;
          if (!raddr) {
            rbad(`address must be an IP address, not ${JSON.stringify(r.address)}`);
            continue;
          }
          const fwd = methodOf(r.method ?? 'dr');
          if (fwd < 0) rbad(`method must be dr, nat or tun, not ${JSON.stringify(r.method)}`);
          const weight = intIn(r.weight ?? 1, 0, MAX_WEIGHT, 'weight', rbad);
          const u = intIn(r.uthreshold ?? 0, 0, MAX_THRESHOLD, 'uthreshold', rbad);
          const l = intIn(r.lthreshold ?? 0, 0, MAX_THRESHOLD, 'lthreshold', rbad);
          if (l > u) rbad('lthreshold must not exceed uthreshold');
          if (raddr.af !== af && fwd !== FWD_TUNNEL) rbad('a real server of another address family needs method tun');
          const rport = r.port === undefined ? port : intIn(r.port, 0, 65535, 'port', rbad);
          destLines.push(rline);
          dests.push({ addr: raddr, port: !fwmark && fwd !== FWD_MASQ ? port : rport, weight, fwd: fwd < 0 ? FWD_DROUTE : fwd, uThreshold: u, lThreshold: l });
        }
      }
    }
    out.services.push(health ? { spec, dests, line, health, destLines } : { spec, dests, line, destLines });
  }
  if (problems.length) throw new ConfigError(file, problems);
  return out;
}

/**
 * The health checker's view of a native config: one VirtualSpec per service, with the
 * `healthcheck:` settings and ldirectord's defaults (a service without `healthcheck:` gets
 * checktype negotiate, service from the port, and so on). Throws ConfigError for settings
 * that only make sense together (e.g. a bad fallback address).
 */
export function healthConfigFromNative(cfg: NativeConfig, file = 'config'): HealthConfig {
  const out = globalsOf(new Map());
  out.logfile = '';
  const problems: string[] = [];
  const resolver = systemResolver();
  for (const s of cfg.services) {
    const reals: RealSpec[] = s.dests.map((d, i) => ({ ...d, line: s.destLines?.[i] ?? s.line }));
    const v = resolveVirtual(
      { v6: s.spec.af === AF_INET6, line: s.line, settings: s.health ?? new Map(), reals, service: s.spec },
      new Map(), resolver, (line, message) => problems.push(`line ${line}: ${message}`),
    );
    if (v) {
      // The native spec (scheduler, persistence, protocol) is authoritative.
      v.service = s.spec;
      v.protocol = s.spec.fwmark ? 'fwm' : s.spec.proto === IPPROTO_UDP ? 'udp' : 'tcp';
      out.virtuals.push(v);
    }
  }
  if (problems.length) throw new ConfigError(file, problems);
  return out;
}

function checkKeys(obj: Record<string, unknown>, allowed: string[], bad: (m: string) => void): void {
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) bad(`unknown setting "${k}" (expected one of ${allowed.join(', ')})`);
}

function intIn(v: unknown, min: number, max: number, name: string, bad: (m: string) => void): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    bad(`${name} must be a whole number from ${min} to ${max}, not ${JSON.stringify(v)}`);
    return min;
  }
  return n;
}

function protocolOf(v: unknown): number {
  switch (String(v).toLowerCase()) {
    case 'tcp': return IPPROTO_TCP;
    case 'udp': return IPPROTO_UDP;
    case 'sctp': return IPPROTO_SCTP;
    default: return 0;
  }
}

function methodOf(v: unknown): number {
  switch (String(v).toLowerCase()) {
    case 'dr': case 'gate': case 'route': return FWD_DROUTE;
    case 'nat': case 'masq': return FWD_MASQ;
    case 'tun': case 'ipip': case 'tunnel': return FWD_TUNNEL;
    default: return -1;
  }
}

function schedFlagsOf(v: unknown, scheduler: string, bad: (m: string) => void): number {
  if (v === undefined) return 0;
  const list = Array.isArray(v) ? v.map(String) : String(v).split(',');
  let flags = 0;
  for (const f of list) {
    switch (f) {
      case 'flag-1': flags |= SVC_F_SCHED1; break;
      case 'flag-2': flags |= SVC_F_SCHED2; break;
      case 'flag-3': flags |= SVC_F_SCHED3; break;
      case 'sh-fallback': case 'sh-port': case 'mh-fallback': case 'mh-port':
        if (!f.startsWith(`${scheduler}-`)) bad(`scheduler flag ${f} needs scheduler ${f.slice(0, 2)}`);
        flags |= f.endsWith('fallback') ? SVC_F_SCHED1 : SVC_F_SCHED2;
        break;
      default:
        bad(`unknown scheduler flag "${f}"`);
    }
  }
  return flags;
}
