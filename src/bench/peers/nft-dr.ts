// The nftables stateless DR peer: a netdev ingress chain on the director's eth0 sets the
// real server's MAC (chosen by jhash) and `fwd`s the frame back out of the same device
// (src/lab/nft-dr.ts builds the rules). The client's neighbour entry for the VIP is pinned
// to the director, since nothing answers ARP for it.

import { installNftDrHashed } from '../../lab/nft-dr';
import { PORTS, type Peer } from '../types';
import { pinVipToDirector } from './pin';

export const nftDrPeer: Peer = {
  id: 'nft-dr',
  label: 'nft DR (stateless)',
  workloads: ['udp', 'ping', 'conn', 'tcp'],
  install: async ({ lab }) => {
    const unpin = await pinVipToDirector(lab);
    const undo = await installNftDrHashed(lab, lab.realServers, { udpPort: PORTS.udp, httpPort: PORTS.http });
    return {
      target: lab.vip,
      targetMac: lab.director.mac,
      remove: async () => {
        await undo();
        await unpin();
      },
    };
  },
};
