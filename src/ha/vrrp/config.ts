// VRRP instance settings, and building them from either configuration format.
//
// Both the `vrrp:` section of the native YAML (native-config.ts) and keepalived.conf's
// `vrrp_instance` blocks (keepalived-conf.ts) are first turned into RawInstance: each
// setting a keyword, its arguments, its line, and for block settings (virtual_ipaddress,
// unicast_peer, authentication) the argument lists of the block's lines. instanceFrom()
// then checks them the same way for both, with keepalived's names, defaults and ranges
// (reference §5.4), and reports every problem with its line number.

import { parseV4, formatV4 } from '../../core/addr';
import { AUTH_NONE, AUTH_PASS } from './packet';
import { trackRefs, type TrackRef, type VrrpScriptConfig } from './track-config';

export type VrrpState = 'INIT' | 'BACKUP' | 'MASTER' | 'FAULT';

export interface VrrpInstanceConfig {
  name: string;
  /** Line of the instance in its file (for messages). */
  line: number;
  interface: string;
  vrid: number;
  /** 1..255; 255 = address owner (master at once). */
  priority: number;
  /** `state MASTER` makes the instance claim mastership at start (keepalived does so). */
  initialState: 'MASTER' | 'BACKUP';
  version: 2 | 3;
  /** Advertisement interval in centiseconds (advert_int 1 = 100). */
  advertIntCs: number;
  /** The VIPs (IPv4, unsigned 32-bit). */
  vips: number[];
  authType: typeof AUTH_NONE | typeof AUTH_PASS;
  authPass: string;
  /** false with `nopreempt`. */
  preempt: boolean;
  /** `preempt_delay`: seconds after start during which a lower-priority master is tolerated. */
  preemptDelaySec: number;
  /** unicast_src_ip (0 = the interface's first IPv4 address). */
  unicastSrc: number;
  /** unicast_peer addresses; empty = multicast to 224.0.0.18. */
  unicastPeers: number[];
  /** Gratuitous ARP on becoming master: rounds now, then again after the delay (0 = no second batch). */
  garpMasterRepeat: number;
  garpMasterDelaySec: number;
  /** Periodic gratuitous ARP while master (0 = off). */
  garpMasterRefreshSec: number;
  /** keepalived's notify scripts, as argv (notify.ts runs them). */
  notify: NotifyScripts;
  /** track_interface and track_script (track-config.ts, track.ts). */
  trackInterfaces: TrackRef[];
  trackScripts: TrackRef[];
}

/**
 * notify_master / notify_backup / notify_fault / notify_stop: run on entering that state
 * (stop: when the daemon stops the instance). notify: run on every one of those changes
 * with the arguments keepalived gives it: "INSTANCE" NAME STATE PRIORITY.
 */
export interface NotifyScripts {
  master?: string[];
  backup?: string[];
  fault?: string[];
  stop?: string[];
  any?: string[];
}

const NOTIFY_KEYS: Record<string, keyof NotifyScripts> = {
  notify_master: 'master', notify_backup: 'backup', notify_fault: 'fault', notify_stop: 'stop', notify: 'any',
};

/**
 * A script setting's words as argv. keepalived.conf quotes a script with its arguments as
 * one string ("/path/x.sh arg 'two words'") that keepalived splits into words again; the
 * tokenizer leaves the quotes on the words, so the words are joined, one pair of outer
 * double quotes is taken off, and the rest is split honouring double and single quotes.
 * null when a quote is left open.
 */
export function scriptArgv(words: string[]): string[] | null {
  let text = words.join(' ').trim();
  if (text.length >= 2 && text.startsWith('"') && text.endsWith('"')) text = text.slice(1, -1);
  const out: string[] = [];
  let cur = '';
  let has = false;
  let quote = '';
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = '';
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      has = true;
    } else if (/\s/.test(ch)) {
      if (has || cur) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += ch;
    }
  }
  if (quote) return null;
  if (has || cur) out.push(cur);
  return out;
}

/** keepalived's `lvs_sync_daemon IF INSTANCE [id N] [maxlen N] [port N] [ttl N] [group ADDR]` (global_defs). */
export interface LvsSyncDaemon {
  interface: string;
  instance: string;
  /** Default: the instance's virtual_router_id (keepalived's default). */
  syncid: number;
  maxlen?: number;
  port?: number;
  ttl?: number;
  group?: string;
  line: number;
}

export interface VrrpConfig {
  instances: VrrpInstanceConfig[];
  /** keepalived.conf's lvs_sync_daemon, when given. */
  lvsSyncDaemon?: LvsSyncDaemon;
  /** vrrp_script definitions (track_script refers to them by name). */
  scripts: VrrpScriptConfig[];
  /** Things accepted but ignored (keepalived settings tsvs does not act on), with lines. */
  warnings: string[];
}

export interface RawEntry {
  key: string;
  args: string[];
  line: number;
  /** The lines of a `{ ... }` block, each as its words. */
  block?: { args: string[]; line: number }[];
}

export interface RawInstance {
  name: string;
  line: number;
  entries: RawEntry[];
}

export type Problem = (line: number, message: string) => void;

/** Settings keepalived has that tsvs accepts and ignores (a warning each). */
const IGNORED = new Set([
  'notify_deleted', 'smtp_alert',
  'track_file', 'track_process', 'dont_track_primary', 'virtual_routes',
  'virtual_rules', 'virtual_ipaddress_excluded', 'accept', 'no_accept', 'strict_mode', 'debug', 'mcast_src_ip',
  'garp_lower_prio_delay', 'garp_lower_prio_repeat', 'lvs_sync_daemon_interface', 'vrrp_garp_master_refresh_repeat',
  'garp_master_refresh_repeat', 'skip_check_adv_addr', 'old_unicast_checksum', 'linkbeat_use_polling', 'preempt',
]);

export const INSTANCE_KEYS = [
  'state', 'interface', 'virtual_router_id', 'priority', 'advert_int', 'version', 'virtual_ipaddress', 'authentication',
  'nopreempt', 'preempt_delay', 'unicast_src_ip', 'unicast_peer', 'garp_master_delay', 'garp_master_repeat',
  'garp_master_refresh', 'track_interface', 'track_script', ...Object.keys(NOTIFY_KEYS),
];

/** Checks one instance; returns null (after reporting) when it cannot be used. */
export function instanceFrom(raw: RawInstance, defaultVersion: 2 | 3, bad: Problem, warn: Problem): VrrpInstanceConfig | null {
  const errorsBefore = { n: 0 };
  const fail: Problem = (line, msg) => {
    errorsBefore.n++;
    bad(line, msg);
  };
  const c: VrrpInstanceConfig = {
    name: raw.name, line: raw.line, interface: '', vrid: 0, priority: -1, initialState: 'BACKUP', version: defaultVersion,
    advertIntCs: 100, vips: [], authType: AUTH_NONE, authPass: '', preempt: true, preemptDelaySec: 0, unicastSrc: 0,
    unicastPeers: [], garpMasterRepeat: 5, garpMasterDelaySec: 5, garpMasterRefreshSec: 0, notify: {},
    trackInterfaces: [], trackScripts: [],
  };
  const seen = new Map<string, number>();
  let authLine = 0;
  for (const e of raw.entries) {
    if (IGNORED.has(e.key)) {
      warn(e.line, `"${e.key}" is accepted but ignored by tsvs`);
      continue;
    }
    if (e.key === 'use_vmac' || e.key === 'vmac_xmit_base') {
      fail(e.line, `"${e.key}" (a virtual MAC) is not supported: tsvs answers ARP for the VIPs with the interface's own MAC`);
      continue;
    }
    if (!INSTANCE_KEYS.includes(e.key)) {
      fail(e.line, `unknown vrrp_instance setting "${e.key}"`);
      continue;
    }
    if (seen.has(e.key)) fail(e.line, `"${e.key}" is set twice (first on line ${seen.get(e.key)})`);
    seen.set(e.key, e.line);
    const one = (): string | null => {
      if (e.args.length !== 1) {
        fail(e.line, `"${e.key}" takes one value`);
        return null;
      }
      return e.args[0];
    };
    const int = (min: number, max: number): number | null => {
      const v = one();
      if (v === null) return null;
      if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
        fail(e.line, `${e.key} must be a whole number from ${min} to ${max}, not "${v}"`);
        return null;
      }
      return Number(v);
    };
    const addr = (v: string, line: number): number | null => {
      const ip = v.replace(/\/32$/, '');
      if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ip) || ip.split('.').some((o) => Number(o) > 255)) {
        fail(line, `"${v}" is not an IPv4 address${v.includes(':') ? ' (IPv6 VRRP is not supported)' : ''}`);
        return null;
      }
      return parseV4(ip);
    };
    if (NOTIFY_KEYS[e.key] !== undefined) {
      const argv = scriptArgv(e.args);
      if (argv === null) fail(e.line, `${e.key}: a quote is not closed`);
      else if (argv.length === 0 || !argv[0].startsWith('/')) fail(e.line, `${e.key} wants the absolute path of a script (and its arguments)`);
      else c.notify[NOTIFY_KEYS[e.key]] = argv;
      continue;
    }
    if (e.key === 'track_interface' || e.key === 'track_script') {
      const refs = trackRefs(e, fail);
      if (e.key === 'track_interface') c.trackInterfaces.push(...refs);
      else c.trackScripts.push(...refs);
      continue;
    }
    switch (e.key) {
      case 'state': {
        const v = one()?.toUpperCase();
        if (v === 'MASTER' || v === 'BACKUP') c.initialState = v;
        else if (v !== undefined) fail(e.line, `state must be MASTER or BACKUP, not "${e.args[0]}"`);
        break;
      }
      case 'interface': {
        const v = one();
        if (v !== null) c.interface = v;
        break;
      }
      case 'virtual_router_id': c.vrid = int(1, 255) ?? 0; break;
      case 'priority': c.priority = int(1, 255) ?? 100; break;
      case 'version': {
        const v = int(2, 3);
        if (v !== null) c.version = v as 2 | 3;
        break;
      }
      case 'advert_int': {
        const v = one();
        if (v === null) break;
        const n = /^\d+(\.\d+)?$/.test(v) ? Math.round(Number(v) * 100) : NaN;
        if (!(n >= 1 && n <= 4095)) fail(e.line, `advert_int must be seconds from 0.01 to 40.95, not "${v}"`);
        else c.advertIntCs = n;
        break;
      }
      case 'virtual_ipaddress':
        if (!e.block) fail(e.line, 'virtual_ipaddress wants a block { ADDR ... }');
        for (const l of e.block ?? []) {
          // keepalived's ADDR[/MASK] [dev IF] [label L] ...: tsvs needs only the address.
          const [a, ...rest] = l.args;
          const ip = a === undefined ? null : addr(a.replace(/\/\d+$/, ''), l.line);
          if (rest.length) warn(l.line, `"${rest.join(' ')}" after the address is ignored (tsvs owns the VIP at L2)`);
          if (ip !== null) {
            if (c.vips.includes(ip)) fail(l.line, `${formatV4(ip)} is listed twice`);
            else c.vips.push(ip);
          }
        }
        break;
      case 'unicast_peer':
        if (!e.block) fail(e.line, 'unicast_peer wants a block { ADDR ... }');
        for (const l of e.block ?? []) {
          const ip = l.args[0] === undefined ? null : addr(l.args[0], l.line);
          if (ip !== null) c.unicastPeers.push(ip);
        }
        break;
      case 'unicast_src_ip': {
        const v = one();
        if (v !== null) c.unicastSrc = addr(v, e.line) ?? 0;
        break;
      }
      case 'authentication': {
        authLine = e.line;
        if (!e.block) fail(e.line, 'authentication wants a block { auth_type PASS auth_pass SECRET }');
        let type = '';
        for (const l of e.block ?? []) {
          const [k, v] = l.args;
          if (k === 'auth_type') type = (v ?? '').toUpperCase();
          else if (k === 'auth_pass') c.authPass = v ?? '';
          else fail(l.line, `unknown authentication setting "${k}" (expected auth_type, auth_pass)`);
          if (l.args.length !== 2) fail(l.line, `"${k}" takes one value`);
          if (k === 'auth_type' && type === 'AH') fail(l.line, 'auth_type AH (IPsec AH) is not supported; use PASS or none');
          else if (k === 'auth_type' && type !== 'PASS') fail(l.line, `auth_type must be PASS or AH, not "${v}"`);
        }
        if (type === 'PASS') c.authType = AUTH_PASS;
        if (type === 'PASS' && !c.authPass) fail(e.line, 'auth_type PASS needs auth_pass');
        break;
      }
      case 'nopreempt':
        if (e.args.length) fail(e.line, 'nopreempt takes no value');
        c.preempt = false;
        break;
      case 'preempt_delay': c.preemptDelaySec = int(0, 1000) ?? 0; break;
      case 'garp_master_delay': c.garpMasterDelaySec = int(0, 3600) ?? 5; break;
      case 'garp_master_repeat': c.garpMasterRepeat = int(1, 100) ?? 5; break;
      case 'garp_master_refresh': c.garpMasterRefreshSec = int(0, 3600) ?? 0; break;
    }
  }
  if (!c.interface) fail(raw.line, `vrrp_instance ${raw.name}: "interface" is required`);
  if (!c.vrid) fail(raw.line, `vrrp_instance ${raw.name}: "virtual_router_id" is required`);
  if (c.vips.length === 0) fail(raw.line, `vrrp_instance ${raw.name}: "virtual_ipaddress" needs at least one address`);
  if (c.vips.length > 255) fail(raw.line, `vrrp_instance ${raw.name}: at most 255 addresses per instance`);
  // keepalived: priority defaults to 100, or 255 for `state MASTER` without a priority... but
  // only an address owner may use 255; we follow keepalived 2.x: 100 unless given.
  if (c.priority < 0) c.priority = 100;
  if (c.version === 2 && c.advertIntCs % 100 !== 0) {
    fail(seen.get('advert_int') ?? raw.line, `VRRPv2 carries advert_int in whole seconds, not ${c.advertIntCs / 100}; use version 3 for fractions`);
  }
  if (c.authType !== AUTH_NONE && c.version === 3) fail(authLine, 'authentication is VRRPv2 only (RFC 5798 removed it); drop it or use version 2');
  if (!c.preempt && c.initialState === 'MASTER') {
    warn(seen.get('nopreempt') ?? raw.line, 'nopreempt needs state BACKUP: starting as BACKUP');
    c.initialState = 'BACKUP';
  }
  if (c.preemptDelaySec > 0 && c.initialState === 'MASTER') {
    warn(seen.get('preempt_delay') ?? raw.line, 'preempt_delay needs state BACKUP: starting as BACKUP');
    c.initialState = 'BACKUP';
  }
  if (c.unicastSrc && c.unicastPeers.length === 0) warn(seen.get('unicast_src_ip')!, 'unicast_src_ip without unicast_peer: multicast is used');
  return errorsBefore.n ? null : c;
}

/** Problems across instances: a VRID used twice on one interface, a VIP in two instances. */
export function checkInstances(list: VrrpInstanceConfig[], bad: Problem): void {
  const vrids = new Map<string, VrrpInstanceConfig>();
  const vips = new Map<number, VrrpInstanceConfig>();
  const names = new Map<string, VrrpInstanceConfig>();
  for (const c of list) {
    const n = names.get(c.name);
    if (n) bad(c.line, `vrrp_instance ${c.name} is defined twice (first on line ${n.line})`);
    names.set(c.name, c);
    const k = `${c.interface}/${c.vrid}`;
    const o = vrids.get(k);
    if (o) bad(c.line, `virtual_router_id ${c.vrid} on ${c.interface} is already used by ${o.name} (line ${o.line})`);
    vrids.set(k, c);
    for (const v of c.vips) {
      const p = vips.get(v);
      if (p && p !== c) bad(c.line, `${formatV4(v)} is also a VIP of ${p.name} (line ${p.line})`);
      vips.set(v, c);
    }
  }
}
