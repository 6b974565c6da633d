// The ceiling: no director, the client talks straight to the first real server.

import type { Peer } from '../types';

export const nonePeer: Peer = {
  id: 'none',
  label: 'no director',
  workloads: ['udp', 'ping', 'conn', 'tcp'],
  install: async ({ lab }) => {
    const rs = lab.realServers[0];
    return { target: rs.ip, targetMac: rs.mac, remove: async () => undefined };
  },
};
