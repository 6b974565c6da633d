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
