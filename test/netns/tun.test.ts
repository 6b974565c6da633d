// The addon's TUN device in a namespace of its own (needs root): helpers/tun-probe.ts opens
// a device, reads routed datagrams in one batch with the synthetic Ethernet header and the
// AF_PACKET descriptor layout, writes datagrams back in one batch, and checks a second
// opening of the same name is refused. The namespace is deleted whatever happens.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { labSkipReason } from '../../src/lab/fixture';
import { nsAdd, nsDeleteSync } from '../../src/lab/netns';
import { run } from '../../src/lab/run';
import { hasNative } from '../../src/io/native';

const PROBE = join(__dirname, 'helpers', 'tun-probe.js');
const skip = labSkipReason() ?? (!hasNative() ? 'the native addon is not built (npm run build:native)' : undefined);

test('TunDevice: batched read with Ethernet headroom, batched write, MTU and up, EBUSY', { skip, timeout: 30_000 }, async () => {
  const ns = `tsvscap-tun-${randomBytes(3).toString('hex')}`;
  const drop = () => nsDeleteSync(ns);
  process.once('exit', drop);
  try {
    await nsAdd(ns);
    await run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
    // No IPv6 (router solicitations, MLD) into the device: only the probe's datagrams.
    await run(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    const r = await run(['ip', 'netns', 'exec', ns, process.execPath, PROBE, 'tsvsprobe0'], { check: false, timeoutMs: 15_000 });
    const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
    assert.equal(out.error, undefined, `probe: ${r.stdout} ${r.stderr}`);
    assert.deepEqual([out.name, out.mtu, out.up, out.hwType], ['tsvsprobe0', 1400, true, 65534]);
    assert.match(out.second, /^(EBUSY|EINVAL) ioctl\(TUNSETIFF\)$/);
    assert.equal(out.read, 3, 'three datagrams in one batch');
    for (const [i, f] of out.frames.entries()) {
      assert.equal(f.off, i * 2048 + 10, 'frame i in slot i, Ethernet header 10 bytes in (after the vnet header)');
      assert.equal(f.snap, 14 + 28 + f.payload.length);
      assert.equal(f.len, f.snap);
      assert.equal(f.status, 1);
      assert.ok(f.vnetZero);
      assert.equal(f.eth, '021122334455' + '020074756e00' + '0800');
      assert.equal(f.proto, 17);
    }
    assert.deepEqual(out.frames.map((f: { payload: string }) => f.payload), ['one', 'two', 'three']);
    assert.equal(out.again, 0);
    assert.equal(out.written, 2);
    assert.deepEqual(out.received, ['back-a', 'back-b'], 'the written datagrams reached the local socket');
  } finally {
    drop();
    process.removeListener('exit', drop);
  }
});
