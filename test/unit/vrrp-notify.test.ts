// The notify-script runner with real child processes (no root): a script gets its
// arguments, a failing or missing script is logged, a script that hangs is stopped after
// the timeout and logged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { VrrpInstanceConfig } from '../../src/ha/vrrp/config';
import { NotifyScriptRunner } from '../../src/ha/vrrp/notify';

const until = async (cond: () => boolean, ms: number) => {
  const t0 = Date.now();
  while (!cond() && Date.now() - t0 < ms) await new Promise((r) => setTimeout(r, 10));
};

test('notify scripts run as child processes with keepalived\'s arguments; failures and hangs are logged', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsvs-notify-'));
  try {
    const out = join(dir, 'out');
    const script = join(dir, 'notify.sh');
    writeFileSync(script, `#!/bin/sh\necho "$@" >> ${out}\n`);
    chmodSync(script, 0o755);
    const hang = join(dir, 'hang.sh');
    writeFileSync(hang, '#!/bin/sh\nexec sleep 30\n');
    chmodSync(hang, 0o755);
    const logs: string[] = [];
    const runner = new NotifyScriptRunner((m) => logs.push(m), undefined, 500);
    const cfg = { name: 'VI_9', notify: { master: [script, 'up'], any: [script], backup: [join(dir, 'missing.sh')], fault: [hang] } } as unknown as VrrpInstanceConfig;
    runner.notify(cfg, 'MASTER', 150);
    await until(() => runner.running === 0, 5000);
    const lines = readFileSync(out, 'utf8').trim().split('\n').sort();
    assert.deepEqual(lines, ['INSTANCE VI_9 MASTER 150', 'up']);
    runner.notify(cfg, 'BACKUP', 150);
    runner.notify(cfg, 'FAULT', 150);
    await until(() => runner.running === 0, 5000);
    assert.equal(runner.running, 0, 'the hanging script was stopped');
    assert.ok(logs.some((l) => /VRRP VI_9: notify_backup .*missing\.sh: .*ENOENT/.test(l)), logs.join('\n'));
    assert.ok(logs.some((l) => /VRRP VI_9: notify_fault .*hang\.sh: still running after 0\.5 s: sent SIGTERM/.test(l)), logs.join('\n'));
    assert.equal(runner.failures, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
