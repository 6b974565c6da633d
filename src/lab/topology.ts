// Builds a lab's network from its plan (plan.ts): namespaces, the switch (a bridge with
// br_netfilter off, static FDB entries and unknown-unicast flooding off, lab-notes 11),
// veth pairs, addresses, routes and the sysctls each role needs:
//   real server: VIP/32 on lo, arp_ignore=1, arp_announce=2 (all, default, lo, eth0)
//   director:    no VIP (tsvs owns it at L2), ip_forward=0, send_redirects=0, RPS off
//   router:      ip_forward=1, VIP/32 via the director, send_redirects=0
// IPv6 is disabled in every namespace (the lab has only IPv4 documentation addresses, and
// this keeps DAD, RS and MLD frames off the wire); rp_filter is loose (2) everywhere.
// Teardown is not here: deleting the namespaces (lab.ts) removes every veth with them.

import { execIn, ipIn, nsAdd, sysctlIn } from './netns';
import { setOffloads } from './offloads';
import { hostsOf, namespacesOf, type Host, type LabPlan } from './plan';
import { run, sleep } from './run';

export type StepLog = (msg: string) => void;

export async function buildTopology(plan: LabPlan, log: StepLog = () => undefined): Promise<void> {
  const all = namespacesOf(plan);
  log(`namespaces: ${all.join(' ')}`);
  for (const ns of all) await nsAdd(ns);
  await Promise.all(all.map((ns) => quietNamespace(ns)));

  log(`switch ${plan.switch.ns}: bridge ${plan.switch.bridge}`);
  await buildSwitch(plan);
  for (const h of hostsOf(plan)) if (h.bridgePort) await plugIntoSwitch(plan, h);
  if (plan.router) {
    const r = plan.router;
    await ipIn(r.ns, ['link', 'add', r.wan.ifname, 'address', r.wan.mac, 'type', 'veth',
      'peer', 'name', plan.client.ifname, 'address', plan.client.mac, 'netns', plan.client.ns]);
  }

  log('addresses, routes, sysctls');
  await Promise.all(hostsOf(plan).map((h) => configureHost(plan, h)));

  if (plan.offloads !== 'default') {
    log(`offloads ${plan.offloads}`);
    await Promise.all(vethEnds(plan).map(([ns, ifname]) => setOffloads(ns, ifname, plan.offloads)));
  }

  log('checking reachability');
  await checkReachable(plan);
}

/** Namespace-wide settings, set before any interface exists so new ones inherit them. */
async function quietNamespace(ns: string): Promise<void> {
  await sysctlIn(ns, {
    'net.ipv6.conf.all.disable_ipv6': 1,
    'net.ipv6.conf.default.disable_ipv6': 1,
    'net.ipv4.conf.all.rp_filter': 2,
    'net.ipv4.conf.default.rp_filter': 2,
  });
  await ipIn(ns, ['link', 'set', 'lo', 'up']);
}

async function buildSwitch(plan: LabPlan): Promise<void> {
  const { ns, bridge } = plan.switch;
  // br_netfilter is built into this kernel: keep bridged frames out of iptables/arptables.
  await sysctlIn(ns, {}, {
    'net.bridge.bridge-nf-call-iptables': 0,
    'net.bridge.bridge-nf-call-ip6tables': 0,
    'net.bridge.bridge-nf-call-arptables': 0,
  });
  await ipIn(ns, ['link', 'add', bridge, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0',
    'mcast_snooping', '0', 'nf_call_iptables', '0', 'nf_call_ip6tables', '0', 'nf_call_arptables', '0']);
  await ipIn(ns, ['link', 'set', bridge, 'up']);
}

/** veth pair host:eth0 <-> switch:p-<host>, a static FDB entry, no unknown-unicast flooding. */
async function plugIntoSwitch(plan: LabPlan, h: Host): Promise<void> {
  const { ns: sw, bridge } = plan.switch;
  const port = h.bridgePort!;
  await ipIn(sw, ['link', 'add', port, 'type', 'veth', 'peer', 'name', h.ifname, 'address', h.mac, 'netns', h.ns]);
  await ipIn(sw, ['link', 'set', port, 'master', bridge]);
  await ipIn(sw, ['link', 'set', port, 'type', 'bridge_slave', 'learning', 'on', 'flood', 'off']);
  await execIn(sw, ['bridge', 'fdb', 'replace', h.mac, 'dev', port, 'master', 'static']);
  await ipIn(sw, ['link', 'set', port, 'up']);
}

async function configureHost(plan: LabPlan, h: Host): Promise<void> {
  const eth = h.ifname;
  const conf = (iface: string, key: string) => `net.ipv4.conf.${iface}.${key}`;
  const sysctls: Record<string, number> = {};
  switch (h.role) {
    case 'realserver':
      for (const i of ['all', 'default', 'lo', eth]) {
        sysctls[conf(i, 'arp_ignore')] = 1;
        sysctls[conf(i, 'arp_announce')] = 2;
      }
      break;
    case 'director':
      sysctls['net.ipv4.ip_forward'] = 0;
      for (const i of ['all', 'default', eth]) sysctls[conf(i, 'send_redirects')] = 0;
      break;
    case 'router':
      sysctls['net.ipv4.ip_forward'] = 1;
      for (const i of ['all', 'default', eth, plan.router!.wan.ifname]) sysctls[conf(i, 'send_redirects')] = 0;
      break;
    case 'client':
      break;
  }
  if (Object.keys(sysctls).length) await sysctlIn(h.ns, sysctls);

  await ipIn(h.ns, ['addr', 'add', `${h.ip}/${h.prefixLen}`, 'dev', eth]);
  await ipIn(h.ns, ['link', 'set', eth, 'up']);
  if (h.role === 'router') {
    const wan = plan.router!.wan;
    await ipIn(h.ns, ['addr', 'add', `${wan.ip}/${wan.prefixLen}`, 'dev', wan.ifname]);
    await ipIn(h.ns, ['link', 'set', wan.ifname, 'up']);
    await ipIn(h.ns, ['route', 'add', `${plan.vip}/32`, 'via', plan.director.ip, 'dev', eth]);
  }
  if (h.role === 'realserver') await ipIn(h.ns, ['addr', 'add', `${plan.vip}/32`, 'dev', 'lo']);
  if (h.gateway && h.prefixLen === 32) await ipIn(h.ns, ['route', 'add', h.gateway, 'dev', eth, 'scope', 'link']);
  if (h.gateway) await ipIn(h.ns, ['route', 'add', 'default', 'via', h.gateway, 'dev', eth]);
  if (h.role === 'director') await rpsOff(h.ns, eth);
}

/**
 * Receive packet steering off on the director (lab-notes 2): its receive softirq must not be
 * moved onto the core where the userspace workers run.
 */
async function rpsOff(ns: string, ifname: string): Promise<void> {
  await execIn(ns, ['sh', '-c', `for f in /sys/class/net/${ifname}/queues/rx-*/rps_cpus; do echo 0 > "$f"; done`]);
}

/** [namespace, ifname] of both ends of every veth pair. */
export function vethEnds(plan: LabPlan): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const h of hostsOf(plan)) {
    if (h.bridgePort) out.push([h.ns, h.ifname], [plan.switch.ns, h.bridgePort]);
  }
  if (plan.router) out.push([plan.router.ns, plan.router.wan.ifname], [plan.client.ns, plan.client.ifname]);
  return out;
}

/**
 * The client pings the director (through the router when routed), the director pings every
 * real server (that works whichever way the real servers route); a few tries each.
 */
async function checkReachable(plan: LabPlan): Promise<void> {
  const pairs: Array<[string, string]> = [[plan.client.ns, plan.director.ip]];
  if (plan.router) pairs.push([plan.client.ns, plan.router.wan.ip]);
  for (const rs of plan.realServers) pairs.push([plan.director.ns, rs.ip]);
  if (plan.director2) pairs.push([plan.director2.ns, plan.director.ip], [plan.director2.ns, plan.realServers[0].ip]);
  await Promise.all(pairs.map(async ([ns, ip]) => {
    for (let attempt = 1; ; attempt++) {
      const r = await run(['ip', 'netns', 'exec', ns, 'ping', '-n', '-q', '-c', '1', '-W', '1', ip], { check: false, timeoutMs: 3000 });
      if (r.code === 0) return;
      if (attempt >= 5) throw new Error(`lab ${plan.name}: ${ns} cannot reach ${ip} (ping: ${(r.stderr.trim() || r.stdout.trim()).split('\n').pop()})`);
      await sleep(100);
    }
  }));
}
