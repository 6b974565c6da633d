// Both RX ring modes (--rx-ring v2 and v3) through a real tsvs daemon in a namespace lab
// with veth offloads on: ARP for the VIP, TCP (curl, no RST), UDP echo, a TCP upload large
// enough to arrive as GSO super-frames (vnet headers in v2 slots), and a ping through the
// VIP whose RTTs are printed. Correctness only: timings belong to bench/rx-tuning.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { withLab, labSkipReason } from '../../src/lab/fixture';
import { arping, httpGet, nsRun, startInNs, stopPid, udpSend } from '../../src/lab/exec';

const ROOT = join(__dirname, '..', '..', '..');
const skip = labSkipReason();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

for (const ring of ['v2', 'v3'] as const) {
  test(`--rx-ring ${ring}: ARP, TCP, UDP, GSO upload and ping through the VIP (offloads on)`, { skip, timeout: 120000 }, async () => {
    await withLab({ realServers: 1, offloads: 'on' }, async (lab) => {
      const rs = lab.realServers[0];
      const cfg = join(lab.stateDir, 'director.yaml');
      writeFileSync(cfg,
        `services:\n  - vip: ${lab.vip}\n    port: 80\n    scheduler: rr\n    realservers:\n      - { address: ${rs.ip} }\n` +
          `  - vip: ${lab.vip}\n    port: 7\n    protocol: udp\n    scheduler: rr\n    realservers:\n      - { address: ${rs.ip} }\n` +
          `  - vip: ${lab.vip}\n    port: 5201\n    scheduler: sh\n    realservers:\n      - { address: ${rs.ip} }\n`);
      const status = join(lab.stateDir, 'status.json');
      const log = join(lab.stateDir, 'director.log');
      const daemon = startInNs(lab.director.ns, [process.execPath, join(ROOT, 'dist', 'src', 'cli', 'tsvs.js'), 'daemon', '--interface', 'eth0',
        '--config', cfg, '--status-file', status, '--socket', join(lab.stateDir, 'tsvs.sock'), '--rx-ring', ring], log).pid;
      let iperfPid = 0;
      try {
        for (let i = 0; i < 200 && !existsSync(status); i++) await sleep(100);
        assert.ok(existsSync(status), 'the daemon started');
        const arp = await arping(lab, lab.vip, { count: 2, deadlineS: 4 });
        assert.ok(arp.replies > 0, 'the VIP answers ARP');
        const get = await httpGet(lab, `http://${lab.vip}/`, { count: 3 });
        assert.deepEqual(get.statuses, [200, 200, 200]);
        assert.equal(get.bodies[0].trim(), rs.name);
        const udp = await udpSend(lab, lab.vip, 7, ['a', 'b']);
        assert.equal(udp.length, 2, 'both UDP datagrams echoed');
        // 16 MB upload: with offloads on the client's TCP builds TSO super-frames.
        iperfPid = startInNs(rs.ns, ['iperf3', '-s', '-1'], join(lab.stateDir, 'iperf3.log')).pid;
        await sleep(500);
        const ip = await nsRun(lab.client.ns, ['iperf3', '-c', lab.vip, '-n', '16M', '-J'], { timeoutMs: 30000, check: false });
        const j = JSON.parse(ip.stdout) as { end?: { sum_sent?: { bytes: number }; sum_received?: { bytes: number; bits_per_second: number } }; error?: string };
        // The client wrote all 16 MB; the server's count in the client's JSON is taken when
        // the client stops and can lag by the last window, so it only has to be most of it.
        assert.ok((j.end?.sum_sent?.bytes ?? 0) >= 16 * 1024 * 1024, `iperf3 upload completed: ${j.error ?? ''}`);
        assert.ok((j.end?.sum_received?.bytes ?? 0) >= 8 * 1024 * 1024, `iperf3 data reached the real server: ${j.end?.sum_received?.bytes ?? 0} bytes`);
        const p = await nsRun(lab.client.ns, ['ping', '-n', '-c', '20', '-i', '0.01', lab.vip], { timeoutMs: 10000, check: false });
        const rtts = [...p.stdout.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
        console.log(`# ${ring}: ping via the VIP, RTT ms: ${rtts.join(' ')}; iperf3 ${((j.end?.sum_received?.bits_per_second ?? 0) / 1e9).toFixed(2)} Gbps`);
        assert.equal(rtts.length, 20, 'every ping answered');
      } finally {
        if (iperfPid) await stopPid(iperfPid, { graceMs: 1000 });
        await stopPid(daemon, { graceMs: 3000 });
      }
    });
  });
}
