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
//
// Only read at start-up; a reload keeps the running sync daemons (tsvsadm changes them).

import { isIPv4 } from 'node:net';
import type { SyncDaemonConfig } from './manager';
import { DEFAULT_SEND_RULES, checkSendRules, type SyncSendRules } from './master';

export interface NativeSyncConfig {
  daemons: SyncDaemonConfig[];
  rules: SyncSendRules;
  version: 0 | 1;
}

const KEYS = ['state', 'interface', 'syncid', 'maxlen', 'group', 'port', 'ttl', 'peers', 'version', 'threshold', 'period', 'refresh_period', 'retries', 'persist_mode'];

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
  const rules: SyncSendRules = {
    threshold: int('threshold', 0, 254, DEFAULT_SEND_RULES.threshold),
    period: int('period', 0, 255, DEFAULT_SEND_RULES.period),
    refreshPeriod: int('refresh_period', 0, 86400, DEFAULT_SEND_RULES.refreshPeriod),
    retries: int('retries', 0, 3, DEFAULT_SEND_RULES.retries),
    persistMode: s.persist_mode === true,
  };
  if (s.persist_mode !== undefined && typeof s.persist_mode !== 'boolean') bad('sync: persist_mode must be true or false');
  const r = checkSendRules(rules);
  if (r) bad(`sync: ${r}`);
  const base = {
    mcastIfn: String(ifn), syncid: int('syncid', 0, 255, 0), maxlen: int('maxlen', 64, 65507, 0) || undefined,
    group: typeof group === 'string' ? group : '', port: int('port', 1, 65535, 0) || undefined, ttl: int('ttl', 1, 255, 0) || undefined,
    peers: Array.isArray(peers) ? peers.map(String) : [],
  };
  const states: Array<'master' | 'backup'> = state === 'both' ? ['master', 'backup'] : state === 'backup' ? ['backup'] : ['master'];
  return { daemons: states.map((st) => ({ state: st, ...base })), rules, version };
}
