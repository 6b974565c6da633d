// The `sync:` section of the native configuration (src/config/native-config.ts): the
// sync daemons a director starts with, and the sending tunables IPVS keeps in sysctls.
//
//   sync:
//     state: master            # master | backup | both (active-active)
//     interface: eth0          # --mcast-interface (default eth0)
//     syncid: 0                # 0..255
//     maxlen: 1472             # optional, 64..65507 (default MTU - 28)
//     group: 224.0.0.81        # optional multicast group
//     port: 8848               # optional
//     ttl: 1                   # optional, 1..255
//     peers: [192.0.2.3]       # optional: unicast to these instead of multicast
//     version: 1               # sync_version: 1 (default) or 0
//     threshold: 3             # sync_threshold[0]
//     period: 50               # sync_threshold[1], 0..255
//     refresh_period: 0        # sync_refresh_period, seconds
//     retries: 0               # sync_retries, 0..3
//     persist_mode: false      # sync_persist_mode
//     full_sync_period: 10     # tsvs: the master re-sends its whole table every N s, then an
//                              # end-of-walk marker (walk.ts); 0 = off. Default 0, or 10
//                              # with follow_vrrp and catch_up.
//     # sync following a VRRP instance (keepalived's lvs_sync_daemon IF INSTANCE):
//     follow_vrrp: VI_1        # master while VI_1 is MASTER, backup otherwise (no `state`)
//     active_active: false     # true: send and receive whatever the state (ECMP pairs)
//     catch_up: true           # hold preemption after start until caught up (catchup.ts)
//     catch_up_timeout: 60     # seconds; then preempt anyway (logged)
//
// Only read at start-up; a reload keeps the running sync daemons (tsvsadm changes them).

import { isIPv4 } from 'node:net';
import type { SyncFollowConfig } from '../follow';
import type { SyncDaemonConfig } from './manager';
import { DEFAULT_SEND_RULES, checkSendRules, type SyncSendRules } from './master';

export interface NativeSyncConfig {
  /** Daemons started at once (none with follow_vrrp: VRRP starts them). */
  daemons: SyncDaemonConfig[];
  /** follow_vrrp: the daemons follow that instance's state. */
  follow?: SyncFollowConfig;
  rules: SyncSendRules;
  version: 0 | 1;
}

const KEYS = [
  'state', 'interface', 'syncid', 'maxlen', 'group', 'port', 'ttl', 'peers', 'version', 'threshold', 'period', 'refresh_period', 'retries',
  'persist_mode', 'full_sync_period', 'follow_vrrp', 'active_active', 'catch_up', 'catch_up_timeout',
];
/** Defaults when sync follows VRRP with catch-up. */
export const FOLLOW_FULL_SYNC_PERIOD = 10;
export const CATCH_UP_TIMEOUT = 60;

/** Parses the section's plain value; problems go to bad(). */
export function parseSyncSection(v: unknown, bad: (msg: string) => void): NativeSyncConfig | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) {
    bad('"sync" must be a mapping');
    return undefined;
  }
  const s = v as Record<string, unknown>;
  for (const k of Object.keys(s)) if (!KEYS.includes(k)) bad(`sync: unknown setting "${k}" (expected one of ${KEYS.join(', ')})`);
  const int = (key: string, min: number, max: number, def: number): number => {
    const x = s[key];
    if (x === undefined) return def;
    if (typeof x !== 'number' || !Number.isInteger(x) || x < min || x > max) {
      bad(`sync: ${key} must be a whole number from ${min} to ${max}, not ${JSON.stringify(x)}`);
      return def;
    }
    return x;
  };
  const state = s.state ?? 'master';
  if (state !== 'master' && state !== 'backup' && state !== 'both') bad(`sync: state must be master, backup or both, not ${JSON.stringify(state)}`);
  const ifn = s.interface ?? 'eth0';
  if (typeof ifn !== 'string' || ifn.length === 0 || ifn.length > 15) bad('sync: interface must be an interface name (at most 15 characters)');
  const group = s.group ?? '';
  if (typeof group !== 'string' || (group !== '' && (!isIPv4(group) || Number(group.split('.')[0]) < 224 || Number(group.split('.')[0]) > 239))) {
    bad(`sync: group must be an IPv4 multicast address, not ${JSON.stringify(group)}`);
  }
  const peers = s.peers ?? [];
  if (!Array.isArray(peers) || !peers.every((p) => typeof p === 'string' && isIPv4(p))) bad('sync: peers must be a list of IPv4 addresses');
  const version = int('version', 0, 1, 1) as 0 | 1;
  const follow = s.follow_vrrp;
  if (follow !== undefined && (typeof follow !== 'string' || follow === '')) bad('sync: follow_vrrp must be a vrrp_instance name');
  if (follow !== undefined && s.state !== undefined) bad('sync: state and follow_vrrp exclude each other (with follow_vrrp the VRRP state decides; active_active: true for both)');
  for (const k of ['active_active', 'catch_up']) if (s[k] !== undefined && typeof s[k] !== 'boolean') bad(`sync: ${k} must be true or false`);
  const catchUp = s.catch_up !== false;
  const following = typeof follow === 'string' && follow !== '';
  const rules: SyncSendRules = {
    threshold: int('threshold', 0, 254, DEFAULT_SEND_RULES.threshold),
    period: int('period', 0, 255, DEFAULT_SEND_RULES.period),
    refreshPeriod: int('refresh_period', 0, 86400, DEFAULT_SEND_RULES.refreshPeriod),
    retries: int('retries', 0, 3, DEFAULT_SEND_RULES.retries),
    persistMode: s.persist_mode === true,
    fullSyncPeriod: int('full_sync_period', 0, 86400, following && catchUp ? FOLLOW_FULL_SYNC_PERIOD : DEFAULT_SEND_RULES.fullSyncPeriod),
  };
  if (s.persist_mode !== undefined && typeof s.persist_mode !== 'boolean') bad('sync: persist_mode must be true or false');
  const r = checkSendRules(rules);
  if (r) bad(`sync: ${r}`);
  const base = {
    mcastIfn: String(ifn), syncid: int('syncid', 0, 255, 0), maxlen: int('maxlen', 64, 65507, 0) || undefined,
    group: typeof group === 'string' ? group : '', port: int('port', 1, 65535, 0) || undefined, ttl: int('ttl', 1, 255, 0) || undefined,
    peers: Array.isArray(peers) ? peers.map(String) : [],
  };
  if (following) {
    const followCfg: SyncFollowConfig = {
      instance: String(follow), daemon: base, activeActive: s.active_active === true, catchUp,
      catchUpTimeoutSec: int('catch_up_timeout', 1, 86400, CATCH_UP_TIMEOUT),
    };
    return { daemons: [], follow: followCfg, rules, version };
  }
  const states: Array<'master' | 'backup'> = state === 'both' ? ['master', 'backup'] : state === 'backup' ? ['backup'] : ['master'];
  return { daemons: states.map((st) => ({ state: st, ...base })), rules, version };
}
