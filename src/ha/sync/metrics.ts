// Prometheus metrics of the connection-sync engine, read from the SyncManager at scrape
// time:
//   tsvs_sync_events_total{event}   one series per SyncManager counter: sent_msgs,
//                                   sent_conns, rx_msgs, accepted_msgs, received_conns,
//                                   applied_created/updated, drop_<decode reason>,
//                                   skip_<apply reason>, ...

import { Counter, type Registry } from 'prom-client';

export function registerSyncMetrics(reg: Registry[], source: () => Record<string, number>): void {
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
}
