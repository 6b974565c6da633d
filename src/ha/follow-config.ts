// Where "sync follows VRRP" comes from: the native config's `sync: { follow_vrrp: ... }`
// (src/ha/sync/config.ts), or keepalived.conf's `lvs_sync_daemon IF INSTANCE ...` in
// global_defs (src/ha/vrrp/keepalived-conf.ts). The native section wins when both say it.
// keepalived.conf cannot express tsvs's extras, so they take their defaults there:
// catch-up on (60 s bound), a table walk every 10 s, not active-active.

import type { SyncFollowConfig } from './follow';
import { CATCH_UP_TIMEOUT, FOLLOW_FULL_SYNC_PERIOD, type NativeSyncConfig } from './sync/config';
import type { SyncSendRules } from './sync/master';
import type { VrrpConfig } from './vrrp/config';

export interface FollowSetup {
  follow: SyncFollowConfig | null;
  /** Sending rules for the daemon's SyncManager (undefined: the defaults). */
  rules: Partial<SyncSendRules> | undefined;
  /** A problem to report (an instance that does not exist), or "". */
  problem: string;
}

export function followSetup(sync: NativeSyncConfig | undefined, vrrp: VrrpConfig | undefined): FollowSetup {
  let follow: SyncFollowConfig | null = sync?.follow ?? null;
  let rules: Partial<SyncSendRules> | undefined = sync?.rules;
  const lvs = vrrp?.lvsSyncDaemon;
  if (!follow && lvs) {
    follow = {
      instance: lvs.instance,
      daemon: { mcastIfn: lvs.interface, syncid: lvs.syncid, maxlen: lvs.maxlen, port: lvs.port, ttl: lvs.ttl, group: lvs.group ?? '', peers: [] },
      activeActive: false, catchUp: true, catchUpTimeoutSec: CATCH_UP_TIMEOUT,
    };
    rules = { ...(rules ?? {}), fullSyncPeriod: rules?.fullSyncPeriod || FOLLOW_FULL_SYNC_PERIOD };
  }
  let problem = '';
  if (follow && !(vrrp?.instances ?? []).some((i) => i.name === follow!.instance)) {
    problem = `sync follows VRRP instance "${follow.instance}", which is not configured (--vrrp FILE or a vrrp: section)`;
  }
  return { follow, rules, problem };
}

export interface FollowCheck {
  /** What the daemon would refuse to start with. */
  problems: string[];
  /** What works but is likely not what was meant. */
  warnings: string[];
}

/**
 * `tsvs check-config`'s view of sync-follow in one file: `vrrp` is that file's VRRP
 * configuration (undefined: the file has none, so the daemon would need `--vrrp FILE`).
 * (`state` together with `follow_vrrp` is already a parse problem, src/ha/sync/config.ts.)
 */
export function checkFollow(sync: NativeSyncConfig | undefined, vrrp: VrrpConfig | undefined): FollowCheck {
  const out: FollowCheck = { problems: [], warnings: [] };
  const { follow, rules } = followSetup(sync, vrrp);
  if (!follow) return out;
  const from = sync?.follow ? 'sync: follow_vrrp' : 'lvs_sync_daemon';
  if (!vrrp) {
    out.warnings.push(`${from} "${follow.instance}": this file has no VRRP instances; the daemon needs --vrrp FILE defining "${follow.instance}"`);
  } else if (!vrrp.instances.some((i) => i.name === follow.instance)) {
    const names = vrrp.instances.map((i) => i.name);
    out.problems.push(`${from} "${follow.instance}": no VRRP instance of that name (${names.length ? `configured: ${names.join(', ')}` : 'none configured'})`);
  }
  if (follow.catchUp && (rules?.fullSyncPeriod ?? 0) === 0) {
    out.warnings.push(`${from}: catch_up is on but full_sync_period is 0: as master this director sends no end-of-walk markers, so its peer's catch-up always waits the full catch_up_timeout (${follow.catchUpTimeoutSec} s)`);
  }
  return out;
}
