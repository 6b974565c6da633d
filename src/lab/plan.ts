// The lab's address plan, computed without touching the system (so it can be printed and
// unit-tested). Documentation ranges only.
//
//   LAN 192.0.2.0/24, one bridge in the switch namespace `<name>-sw`:
//     .1    router   (routed topology only: its LAN leg)
//     .2    director (its kernel never holds the VIP: tsvs owns it at L2)
//     .3    director2 (with `directors: 2`: a second director for VRRP and sync tests)
//     .10   client   (flat topology only)
//     .11.. rs1..rsN (VIP/32 on lo, arp_ignore=1, arp_announce=2)
//     .100  VIP
//   WAN 203.0.113.0/24 (routed topology only), a veth pair client <-> router:
//     .1    router   (WAN leg; routes VIP/32 via 192.0.2.2, as in the LVS drawings)
//     .10   client   (default via 203.0.113.1)
//   198.51.100.0/24 is left free for tests that need a second segment or more VIPs.
// With natRoutes (one-arm NAT, lab-notes 10) each real server has its address as a /32, a
// link route to the director and its default route via the director, so its replies go
// back through the director even to a client on the same LAN.
//
// Namespaces are `<name>-sw`, `<name>-client`, `<name>-director`, `<name>-router`,
// `<name>-rsN`. Each host's interface is `eth0` (the router's WAN leg is `eth1`); the
// switch-side veth end is `p-<host>`. MACs are fixed per lab: 02:<2 bytes of a hash of the
// name>:00:<3rd octet>:<4th octet> of the interface's address, e.g. 02:a1:b2:00:02:0b for
// 192.0.2.11, so a capture reads at a glance.

import { createHash, randomBytes } from 'node:crypto';

export type Topology = 'flat' | 'routed';
export type OffloadMode = 'on' | 'off' | 'default';
export type Role = 'client' | 'director' | 'router' | 'realserver';

export interface LabOptions {
  /** Lab name, the prefix of every namespace (default `tsvs-<6 hex>`). */
  name?: string;
  /** Number of real servers rs1..rsN (default 2, at most 89). */
  realServers?: number;
  /** Client behind a router on 203.0.113.0/24 (default: flat, client on the LAN). */
  routed?: boolean;
  /** veth offloads (tx checksum, tso, gso, gro): on, off, or the kernel's default. */
  offloads?: OffloadMode;
  /** Real servers route everything via the director (for NAT); default: direct replies (DR). */
  natRoutes?: boolean;
  /** Start the HTTP/UDP programs on the real servers (default true). */
  servers?: boolean;
  /** The real-server programs exit by themselves after this many seconds (default: never). */
  serverTtlSec?: number;
  /** 2 adds a second director `director2` at .3 on the LAN (VRRP / sync pairs); default 1. */
  directors?: 1 | 2;
}

export interface Iface {
  ifname: string;
  ip: string;
  prefixLen: number;
  mac: string;
}

export interface Host extends Iface {
  name: string; // client, director, router, rs1...
  role: Role;
  ns: string;
  /** The veth end in the switch namespace, or undefined if not on the bridge. */
  bridgePort?: string;
  gateway?: string;
}

export interface Router extends Host {
  wan: Iface;
}

export interface LabPlan {
  name: string;
  topology: Topology;
  vip: string;
  lan: { subnet: string; prefixLen: number };
  wan?: { subnet: string; prefixLen: number };
  offloads: OffloadMode;
  /** 'direct': real servers answer clients themselves (DR, TUN); 'director': via the director (NAT). */
  rsRoute: 'direct' | 'director';
  switch: { ns: string; bridge: string };
  client: Host;
  director: Host;
  /** The second director (only with `directors: 2`). */
  director2?: Host;
  router?: Router;
  realServers: Host[];
}

export const LAN_NET = '192.0.2';
export const WAN_NET = '203.0.113';
export const VIP = `${LAN_NET}.100`;
export const MAX_REAL_SERVERS = 89;
export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;
/** A lab namespace is `<name>-<role>`; this matches the role part. */
export const ROLE_SUFFIX_RE = /^(sw|client|director2?|router|rs\d+)$/;

export function randomLabName(): string {
  return `tsvs-${randomBytes(3).toString('hex')}`;
}

export function validateName(name: string): string | undefined {
  if (!NAME_RE.test(name)) return `lab name '${name}' must be 1-32 characters of letters, digits, '-' or '_', starting with a letter or digit`;
  return undefined;
}

/** True if namespace `ns` belongs to lab `name` (and not to a lab whose name merely starts alike). */
export function isLabNamespace(name: string, ns: string): boolean {
  return ns.startsWith(`${name}-`) && ROLE_SUFFIX_RE.test(ns.slice(name.length + 1));
}

export function macFor(name: string, ip: string): string {
  const h = createHash('sha256').update(name).digest();
  const [, , c, d] = ip.split('.').map(Number);
  return ['02', h[0], h[1], 0, c, d].map((x) => (typeof x === 'string' ? x : x.toString(16).padStart(2, '0'))).join(':');
}

export function makePlan(opts: LabOptions = {}): LabPlan {
  const name = opts.name ?? randomLabName();
  const bad = validateName(name);
  if (bad) throw new RangeError(bad);
  const n = opts.realServers ?? 2;
  if (!Number.isInteger(n) || n < 1 || n > MAX_REAL_SERVERS) {
    throw new RangeError(`real servers: want 1..${MAX_REAL_SERVERS}, not ${n}`);
  }
  const routed = opts.routed ?? false;
  const ns = (role: string) => `${name}-${role}`;
  const lanHost = (hostName: string, role: Role, octet: number, gateway?: string): Host => {
    const ip = `${LAN_NET}.${octet}`;
    return { name: hostName, role, ns: ns(hostName), ifname: 'eth0', ip, prefixLen: 24, mac: macFor(name, ip), bridgePort: `p-${hostName}`, gateway };
  };
  const lanGateway = routed ? `${LAN_NET}.1` : undefined;

  let client: Host;
  let router: Router | undefined;
  if (routed) {
    const wanIp = `${WAN_NET}.1`;
    router = {
      ...lanHost('router', 'router', 1),
      wan: { ifname: 'eth1', ip: wanIp, prefixLen: 24, mac: macFor(name, wanIp) },
    };
    const cip = `${WAN_NET}.10`;
    client = { name: 'client', role: 'client', ns: ns('client'), ifname: 'eth0', ip: cip, prefixLen: 24, mac: macFor(name, cip), gateway: wanIp };
  } else {
    client = lanHost('client', 'client', 10);
  }
  const nat = opts.natRoutes ?? false;
  const realServers: Host[] = [];
  for (let i = 1; i <= n; i++) {
    const rs = lanHost(`rs${i}`, 'realserver', 10 + i, nat ? `${LAN_NET}.2` : lanGateway);
    if (nat) rs.prefixLen = 32;
    realServers.push(rs);
  }

  return {
    name,
    topology: routed ? 'routed' : 'flat',
    vip: VIP,
    lan: { subnet: `${LAN_NET}.0`, prefixLen: 24 },
    wan: routed ? { subnet: `${WAN_NET}.0`, prefixLen: 24 } : undefined,
    offloads: opts.offloads ?? 'default',
    rsRoute: nat ? 'director' : 'direct',
    switch: { ns: ns('sw'), bridge: 'br0' },
    client,
    director: lanHost('director', 'director', 2, lanGateway),
    ...(opts.directors === 2 ? { director2: lanHost('director2', 'director', 3, lanGateway) } : {}),
    router,
    realServers,
  };
}

/** Every host of the plan, in build order. */
export function hostsOf(plan: LabPlan): Host[] {
  return [...(plan.router ? [plan.router] : []), plan.director, ...(plan.director2 ? [plan.director2] : []), plan.client, ...plan.realServers];
}

/** Every namespace of the plan (switch first). */
export function namespacesOf(plan: LabPlan): string[] {
  return [plan.switch.ns, ...hostsOf(plan).map((h) => h.ns)];
}
