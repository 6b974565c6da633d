// Prometheus metrics of the VRRP instances, read from the runner at scrape time:
//   tsvs_vrrp_state{instance,vrid,interface}             0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT
//   tsvs_vrrp_master{instance,...}                        1 while MASTER
//   tsvs_vrrp_transitions_total{instance,...}
//   tsvs_vrrp_adverts_sent_total / _received_total{instance,...}
//   tsvs_vrrp_priority_zero_sent_total / _received_total{instance,...}
//   tsvs_vrrp_drops_total{reason}                         received packets not used, by reason

import { Counter, Gauge, type Registry } from 'prom-client';
import { STATE_CODE, type VrrpRunner } from './vrrp';

const LABELS = ['instance', 'vrid', 'interface'] as const;

export function registerVrrpMetrics(reg: Registry[], source: () => VrrpRunner | null): void {
  const each = (fn: (labels: Record<(typeof LABELS)[number], string>, s: ReturnType<VrrpRunner['status']>['instances'][number]) => void) => {
    const r = source();
    if (!r) return;
    for (const s of r.status().instances) fn({ instance: s.name, vrid: String(s.vrid), interface: s.interface }, s);
  };
  new Gauge<string>({
    name: 'tsvs_vrrp_state', help: 'VRRP state per instance: 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT.', labelNames: [...LABELS], registers: reg,
    collect() {
      this.reset();
      each((l, s) => this.set(l, STATE_CODE[s.state]));
    },
  });
  new Gauge<string>({
    name: 'tsvs_vrrp_master', help: '1 while the instance is MASTER (owns its VIPs).', labelNames: [...LABELS], registers: reg,
    collect() {
      this.reset();
      each((l, s) => this.set(l, s.state === 'MASTER' ? 1 : 0));
    },
  });
  const counters: [string, string, string][] = [
    ['tsvs_vrrp_transitions_total', 'VRRP state changes.', 'transitions'],
    ['tsvs_vrrp_adverts_sent_total', 'VRRP advertisements sent.', 'advertsSent'],
    ['tsvs_vrrp_adverts_received_total', 'Valid VRRP advertisements received for the instance.', 'advertsReceived'],
    ['tsvs_vrrp_priority_zero_sent_total', 'Priority-0 (resign) advertisements sent.', 'priorityZeroSent'],
    ['tsvs_vrrp_priority_zero_received_total', 'Priority-0 (resign) advertisements received.', 'priorityZeroReceived'],
    ['tsvs_vrrp_became_master_total', 'Times the instance became MASTER.', 'becameMaster'],
  ];
  for (const [name, help, key] of counters) {
    new Counter<string>({
      name, help, labelNames: [...LABELS], registers: reg,
      collect() {
        this.reset();
        each((l, s) => this.inc(l, s.counters[key] ?? 0));
      },
    });
  }
  new Counter<string>({
    name: 'tsvs_vrrp_drops_total', help: 'Received VRRP packets not used, by reason.', labelNames: ['reason'], registers: reg,
    collect() {
      this.reset();
      const r = source();
      if (!r) return;
      for (const [reason, n] of Object.entries(r.drops)) this.inc({ reason }, n);
    },
  });
}
