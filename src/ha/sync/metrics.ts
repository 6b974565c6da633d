// Prometheus metrics of the connection-sync engine, read from the SyncManager at scrape
// time:
//   tsvs_sync_events_total{event}   one series per SyncManager counter: sent_msgs,
//                                   sent_conns, rx_msgs, accepted_msgs, received_conns,
//                                   applied_created/updated, drop_<decode reason>,
//                                   skip_<apply reason>, walk/markers, ...
// and, when sync follows VRRP (src/ha/follow.ts):
//   tsvs_sync_daemon_running{state}           1 while the master / backup daemon runs
//   tsvs_sync_catching_up                     1 while preemption is held for catch-up
//   tsvs_sync_catchup_conns_received          entries received by the current catch-up
//   tsvs_sync_catchups_total{outcome}         started, caught_up, timed_out, not_needed

import { Counter, Gauge, type Registry } from 'prom-client';
import type { SyncFollowStatus } from '../follow';

export function registerSyncMetrics(reg: Registry[], source: () => Record<string, number>, follow?: () => SyncFollowStatus | null): void {
  new Counter<'event'>({
    name: 'tsvs_sync_events_total',
    help: 'Connection sync: messages and entries sent, received, applied, and each drop or skip reason.',
    labelNames: ['event'],
    registers: reg,
    collect() {
      this.reset();
      for (const [event, n] of Object.entries(source())) this.inc({ event }, n);
    },
  });
  if (!follow) return;
  new Gauge<'state'>({
    name: 'tsvs_sync_daemon_running', help: 'Sync daemons running (following VRRP): 1 per state.', labelNames: ['state'], registers: reg,
    collect() {
      this.reset();
      const f = follow();
      if (!f) return;
      this.set({ state: 'master' }, f.master ? 1 : 0);
      this.set({ state: 'backup' }, f.backup ? 1 : 0);
    },
  });
  new Gauge({
    name: 'tsvs_sync_catching_up', help: '1 while preemption is held until sync caught up.', registers: reg,
    collect() {
      const c = follow()?.catchUp;
      this.set(c && (c.phase === 'waiting' || c.phase === 'walk_started') ? 1 : 0);
    },
  });
  new Gauge({
    name: 'tsvs_sync_catchup_conns_received', help: 'Sync entries received by the current (or last) catch-up.', registers: reg,
    collect() {
      this.set(follow()?.catchUp?.connsReceived ?? 0);
    },
  });
  new Counter<'outcome'>({
    name: 'tsvs_sync_catchups_total', help: 'Catch-ups started and how they ended.', labelNames: ['outcome'], registers: reg,
    collect() {
      this.reset();
      const c = follow()?.catchUp?.counters;
      if (!c) return;
      this.inc({ outcome: 'started' }, c.started);
      this.inc({ outcome: 'caught_up' }, c.caughtUp);
      this.inc({ outcome: 'timed_out' }, c.timedOut);
      this.inc({ outcome: 'not_needed' }, c.notNeeded);
    },
  });
}
