// The HAProxy peer (2.6, mode tcp): the VIP on the director's lo, one frontend per TCP
// workload port, round robin to the real servers' nginx, `balance source` for iperf3
// (lab-notes 9). maxconn stays below HAProxy's FD limit (lab-notes 12). It carries TCP
// only: no UDP, and a ping to the VIP would be answered by the director's kernel.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pidMatches, startInNs, stopPid } from '../../lab/exec';
import { execIn, ipIn } from '../../lab/netns';
import { sleep } from '../../lab/run';
import type { Lab } from '../../lab/state';
import { PeerSkipped, PORTS, type Peer } from '../types';

/** HAProxy wants about 2 FDs per connection and refuses a maxconn above its FD limit (20000 here). */
export const HAPROXY_MAXCONN = 8000;

export function haproxyConfig(lab: Lab): string {
  const servers = (port: number) => lab.realServers.map((r) => `  server ${r.name} ${r.ip}:${port}`).join('\n');
  return `global
  maxconn ${HAPROXY_MAXCONN}
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend http
  bind ${lab.vip}:${PORTS.http}
  maxconn ${HAPROXY_MAXCONN}
  default_backend web
backend web
  balance roundrobin
${servers(PORTS.http)}
frontend iperf
  bind ${lab.vip}:${PORTS.iperf}
  default_backend iperf
backend iperf
  balance source
${servers(PORTS.iperf)}
`;
}

export const haproxyPeer: Peer = {
  id: 'haproxy',
  label: 'HAProxy mode tcp',
  workloads: ['conn', 'tcp'],
  install: async ({ lab, dir, log }) => {
    const d = lab.director;
    await ipIn(d.ns, ['addr', 'add', `${lab.vip}/32`, 'dev', 'lo']);
    const cfg = join(dir, 'haproxy.cfg');
    writeFileSync(cfg, haproxyConfig(lab));
    const bg = startInNs(d.ns, ['haproxy', '-db', '-f', cfg], join(dir, 'haproxy.log'));
    const undo = async () => {
      await stopPid(bg.pid, { graceMs: 2000 });
      await ipIn(d.ns, ['addr', 'del', `${lab.vip}/32`, 'dev', 'lo'], { check: false });
    };
    const deadline = Date.now() + 10_000;
    for (;;) {
      const ss = await execIn(d.ns, ['ss', '-Hltn', `sport = :${PORTS.http}`], { check: false });
      if (ss.stdout.includes(`:${PORTS.http}`)) break;
      if (!pidMatches(bg.pid) || Date.now() > deadline) {
        await undo();
        throw new PeerSkipped('haproxy did not start (see haproxy.log)');
      }
      await sleep(100);
    }
    log(`haproxy pid ${bg.pid}`);
    return { target: lab.vip, targetMac: d.mac, remove: undo };
  },
};
