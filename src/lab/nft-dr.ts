// A reference director made of the kernel alone, for tests and side-by-side benches:
// stateless DR in an nftables netdev ingress chain on the director (every frame for the VIP
// gets the real server's MAC as destination and goes back out of eth0, as in lab-notes'
// "nftables netdev ingress, stateless DR"). Nothing answers ARP for the VIP in that setup,
// so the VIP's neighbour entry is pinned to the director's MAC where the traffic comes from
// (the client when flat, the router when routed). Returns the function that undoes it.
// installNftDrHashed spreads over several real servers by jhash (for the end-to-end bench).

import { execIn, ipIn } from './netns';
import type { Host } from './plan';
import type { Lab } from './state';

const TABLE = 'tsvs_lab_dr';

export async function installNftDr(lab: Lab, rs: Host): Promise<() => Promise<void>> {
  const d = lab.director;
  const rules = `table netdev ${TABLE} {
  chain ingress {
    type filter hook ingress device ${d.ifname} priority 0;
    ip daddr ${lab.vip} ether saddr set ${d.mac} ether daddr set ${rs.mac} fwd to ${d.ifname}
  }
}
`;
  await execIn(d.ns, ['nft', '-f', '-'], { input: rules });
  const edge = lab.router ?? lab.client;
  await ipIn(edge.ns, ['neigh', 'replace', lab.vip, 'lladdr', d.mac, 'dev', edge.ifname, 'nud', 'permanent']);
  return async () => {
    await ipIn(edge.ns, ['neigh', 'del', lab.vip, 'dev', edge.ifname], { check: false });
    await execIn(d.ns, ['nft', 'delete', 'table', 'netdev', TABLE], { check: false });
  };
}

export interface NftDrPorts {
  /** UDP port whose flows are spread by (source address, source port). */
  udpPort?: number;
  /** TCP port whose connections are spread by (source address, source port). */
  httpPort?: number;
}

const HASHED_TABLE = 'tsvs_lab_dr_hash';

/**
 * The stateless DR rules over several real servers: the real server's MAC is chosen by
 * jhash, per flow (source address and port) on the given ports, per client address for any
 * other traffic to the VIP (so iperf3's control and data connections meet, lab-notes 9).
 */
export function nftDrHashedRules(lab: Lab, rss: readonly Host[], ports: NftDrPorts = {}): string {
  const d = lab.director;
  const n = rss.length;
  const map = `{ ${rss.map((r, i) => `${i} : ${r.mac}`).join(', ')} }`;
  const rule = (match: string, key: string) =>
    `    ip daddr ${lab.vip} ${match}ether saddr set ${d.mac} ether daddr set jhash ${key} mod ${n} map ${map} fwd to ${d.ifname}\n`;
  let rules = '';
  if (ports.udpPort !== undefined) rules += rule(`udp dport ${ports.udpPort} `, 'ip saddr . udp sport');
  if (ports.httpPort !== undefined) rules += rule(`tcp dport ${ports.httpPort} `, 'ip saddr . tcp sport');
  rules += rule('', 'ip saddr');
  return `table netdev ${HASHED_TABLE} {
  chain ingress {
    type filter hook ingress device ${d.ifname} priority 0;
${rules}  }
}
`;
}

/** Installs nftDrHashedRules on the director; returns the undo. The VIP's ARP is the caller's. */
export async function installNftDrHashed(lab: Lab, rss: readonly Host[], ports: NftDrPorts = {}): Promise<() => Promise<void>> {
  const d = lab.director;
  await execIn(d.ns, ['nft', '-f', '-'], { input: nftDrHashedRules(lab, rss, ports) });
  return async () => {
    await execIn(d.ns, ['nft', 'delete', 'table', 'netdev', HASHED_TABLE], { check: false });
  };
}
