// For peers that do not answer ARP for the VIP (nftables DR and DNAT): pin the VIP's
// neighbour entry on the client to the director's MAC. Returns the undo.

import { ipIn } from '../../lab/netns';
import type { Lab } from '../../lab/state';

export async function pinVipToDirector(lab: Lab): Promise<() => Promise<void>> {
  const edge = lab.router ?? lab.client;
  await ipIn(edge.ns, ['neigh', 'replace', lab.vip, 'lladdr', lab.director.mac, 'dev', edge.ifname, 'nud', 'permanent']);
  return async () => {
    await ipIn(edge.ns, ['neigh', 'del', lab.vip, 'dev', edge.ifname], { check: false });
  };
}
