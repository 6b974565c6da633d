// Human-readable text for `tsvs lab`: the plan of a lab that is up, its status, a teardown.

import type { DownReport, LabStatus } from './lab';
import { hostsOf, type Host } from './plan';
import type { LabState } from './state';

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => `  ${r.map((c, i) => c.padEnd(widths[i])).join('  ')}`.trimEnd()).join('\n');
}

export function describeLab(s: LabState): string {
  const pidOf = (h: Host) => s.processes.find((p) => p.host === h.name)?.pid;
  const rows: string[][] = [['host', 'namespace', 'iface', 'address', 'MAC', 'gateway', 'serves']];
  for (const h of hostsOf(s)) {
    const pid = pidOf(h);
    rows.push([h.name, h.ns, h.ifname, `${h.ip}/${h.prefixLen}`, h.mac, h.gateway ?? '-',
      h.role === 'realserver' ? `VIP/32 on lo; http :80, udp :7${pid ? ` (pid ${pid})` : ''}` : h.role === 'director' ? 'no VIP (tsvs owns it)' : '']);
    if (h.role === 'router' && s.router) {
      const w = s.router.wan;
      rows.push(['', '', w.ifname, `${w.ip}/${w.prefixLen}`, w.mac, '-', `routes ${s.vip}/32 via ${s.director.ip}`]);
    }
  }
  const ports = hostsOf(s).filter((h) => h.bridgePort).map((h) => h.bridgePort).join(' ');
  return [
    `lab ${s.name}: ${s.topology}, real servers answer ${s.rsRoute === 'director' ? 'via the director (NAT routes)' : 'clients directly'}, offloads ${s.offloads}, ${s.status}`,
    `VIP ${s.vip}  (LAN ${s.lan.subnet}/${s.lan.prefixLen}${s.wan ? `, WAN ${s.wan.subnet}/${s.wan.prefixLen}` : ''})`,
    table(rows),
    `switch ${s.switch.ns}: bridge ${s.switch.bridge}, ports ${ports} (static FDB, no unknown-unicast flooding)`,
    `state ${s.stateFile}`,
    `a shell on a host: ip netns exec ${s.client.ns} bash`,
  ].join('\n');
}

export function describeStatus(st: LabStatus): string {
  const have = st.namespaces.filter((n) => n.present).length;
  const lines = [`lab ${st.name}: ${st.status}, ${have}/${st.namespaces.length} namespaces present`];
  const missing = st.namespaces.filter((n) => !n.present).map((n) => n.ns);
  if (missing.length) lines.push(`  missing: ${missing.join(' ')}`);
  for (const p of st.processes) lines.push(`  ${p.host} pid ${p.pid} ${p.alive ? 'running' : 'not running'}`);
  if (st.state?.error) lines.push(`  error: ${st.state.error}`);
  return lines.join('\n');
}

export function describeDown(r: DownReport): string {
  const lines = [`lab ${r.name}: deleted ${r.deleted.length} namespace(s)${r.deleted.length ? `: ${r.deleted.join(' ')}` : ''}`];
  const stopped = r.stopped.map((p) => `${p.host}:${p.pid} ${p.outcome}`);
  if (stopped.length) lines.push(`  processes: ${stopped.join(', ')}`);
  if (r.strays.length) lines.push(`  other processes in the lab's namespaces: ${r.strays.map((p) => `${p.pid} (${p.ns}) ${p.outcome}`).join(', ')}`);
  if (r.remaining.length) lines.push(`  could not delete: ${r.remaining.join(' ')}`);
  return lines.join('\n');
}
