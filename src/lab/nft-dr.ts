// A reference director made of the kernel alone, for tests and side-by-side benches:
// stateless DR in an nftables netdev ingress chain on the director (every frame for the VIP
// gets the real server's MAC as destination and goes back out of eth0, as in lab-notes'
// "nftables netdev ingress, stateless DR"). Nothing answers ARP for the VIP in that setup,
// so the VIP's neighbour entry is pinned to the director's MAC where the traffic comes from
// (the client when flat, the router when routed). Returns the function that undoes it.

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
