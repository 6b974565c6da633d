// The daemon's early drop: while it runs, an nft netdev ingress table drops the kernel's
// copy of VIP traffic (after our AF_PACKET tap, so forwarding is unaffected); it follows
// VIP changes and is removed when the daemon stops. --no-early-drop installs nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withLab, labSkipReason } from '../../src/lab/fixture';
import { httpGet, nsRun } from '../../src/lab/exec';
import { hasNative } from '../../src/io/native';
import { Bg, until } from './helpers/bg';

const TSVS = join(__dirname, '..', '..', 'src', 'cli', 'tsvs.js');
const TSVSADM = join(__dirname, '..', '..', 'src', 'cli', 'tsvsadm.js');
const skip = labSkipReason() ?? (hasNative() ? undefined : 'the native addon is not built');

async function nftTable(ns: string): Promise<string> {
  const r = await nsRun(ns, ['nft', 'list', 'table', 'netdev', 'tsvs_eth0'], { check: false, timeoutMs: 5000 });
  return r.code === 0 ? r.stdout : '';
}

test('early drop: installed with the VIPs, follows changes, removed at stop', { skip, timeout: 90_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvs-early-'));
  try {
    await withLab({ realServers: 1 }, async (lab) => {
      const rs = lab.realServers[0];
      const cfg = join(dir, 'd.yaml');
      writeFileSync(cfg, `services:\n  - vip: ${lab.vip}\n    port: 80\n    realservers:\n      - { address: ${rs.ip} }\n`);
      const sock = join(dir, 'd.sock');
      const d = new Bg(lab.director.ns, [process.execPath, TSVS, 'daemon', '--interface', 'eth0', '--config', cfg, '--socket', sock]);
      try {
        await until(() => /director on eth0/.test(d.err), 10_000, () => `daemon start: ${d.err}`);
        const table = await until(async () => (await nftTable(lab.director.ns)) || false, 5000, 'the nft table');
        assert.match(table, new RegExp(`ip daddr ${lab.vip.replace(/\./g, '\\.')} counter packets \\d+ bytes \\d+ drop`));
        const r = await httpGet(lab, `http://${lab.vip}/`, { count: 3, keepAlive: false });
        assert.deepEqual(r.bodies.map((b) => b.trim()), [rs.name, rs.name, rs.name], 'forwarding is unaffected');
        const after = await nftTable(lab.director.ns);
        const dropped = Number(/counter packets (\d+)/.exec(after)?.[1] ?? 0);
        assert.ok(dropped > 0, `the kernel's copies were dropped at ingress (${dropped})`);
        // A new VIP through tsvsadm is added to the rule.
        const add = await nsRun(lab.director.ns, ['env', `TSVS_SOCKET=${sock}`, process.execPath, TSVSADM, '-A', '-t', '192.0.2.101:80'], { check: false, timeoutMs: 10_000 });
        assert.equal(add.code, 0, add.stderr);
        await until(async () => (await nftTable(lab.director.ns)).includes('192.0.2.101') || false, 5000, 'the second VIP in the rule');
        const stop = await d.stop('SIGTERM', 5000);
        assert.equal(stop.code, 0, d.err);
        assert.equal(await nftTable(lab.director.ns), '', 'the table is gone after the daemon stops');
        // --no-early-drop: nothing installed.
        const d2 = new Bg(lab.director.ns, [process.execPath, TSVS, 'daemon', '--interface', 'eth0', '--config', cfg, '--socket', sock, '--no-early-drop']);
        try {
          await until(() => /director on eth0/.test(d2.err), 10_000, () => `daemon start: ${d2.err}`);
          assert.equal(await nftTable(lab.director.ns), '');
        } finally {
          await d2.stop('SIGTERM', 5000);
        }
      } finally {
        if (d.running) await d.stop('SIGKILL', 2000);
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
