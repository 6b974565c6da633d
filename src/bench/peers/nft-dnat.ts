// The nftables DNAT + conntrack peer, one-arm NAT: the lab routes the real servers via the
// director (natRoutes), the director forwards (ip_forward=1, send_redirects=0 as the lab
// sets), and a prerouting nat chain picks a real server: jhash of source address and port
// for UDP, numgen round robin for HTTP, jhash of the source address for everything else
// (iperf3's two connections must meet, lab-notes 9). conntrack is flushed before every
// connection-rate and UDP run (lab-notes 10: TIME_WAIT entries fill the table).

import { execIn, sysctlIn } from '../../lab/netns';
import type { Lab } from '../../lab/state';
import { PORTS, type Peer } from '../types';
import { pinVipToDirector } from './pin';

const TABLE = 'tsvs_bench_dnat';

export function nftDnatRules(lab: Lab): string {
  const n = lab.realServers.length;
  const map = `{ ${lab.realServers.map((r, i) => `${i} : ${r.ip}`).join(', ')} }`;
  return `table ip ${TABLE} {
  chain pre {
    type nat hook prerouting priority dstnat; policy accept;
    ip daddr ${lab.vip} udp dport ${PORTS.udp} dnat to jhash ip saddr . udp sport mod ${n} map ${map}
    ip daddr ${lab.vip} tcp dport ${PORTS.http} dnat to numgen inc mod ${n} map ${map}
    ip daddr ${lab.vip} dnat to jhash ip saddr mod ${n} map ${map}
  }
}
`;
}

export const nftDnatPeer: Peer = {
  id: 'nft-dnat',
  label: 'nft DNAT+conntrack',
  workloads: ['udp', 'ping', 'conn', 'tcp'],
  natRoutes: true,
  install: async ({ lab }) => {
    const d = lab.director;
    await sysctlIn(d.ns, { 'net.ipv4.ip_forward': 1 });
    await execIn(d.ns, ['nft', '-f', '-'], { input: nftDnatRules(lab) });
    const unpin = await pinVipToDirector(lab);
    return {
      target: lab.vip,
      targetMac: d.mac,
      beforeRun: async (w) => {
        if (w === 'conn' || w === 'udp') await execIn(d.ns, ['conntrack', '-F'], { check: false, timeoutMs: 15_000 });
      },
      remove: async () => {
        await unpin();
        await execIn(d.ns, ['nft', 'delete', 'table', 'ip', TABLE], { check: false });
        await sysctlIn(d.ns, { 'net.ipv4.ip_forward': 0 });
      },
    };
  },
};
