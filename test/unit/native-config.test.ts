// The native YAML/JSON config: values map to the same specs as ipvsadm lines, and every
// problem is reported with its line number.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, parseNativeConfig } from '../../src/config/native-config';
import { FWD_DROUTE, FWD_MASQ, IPPROTO_UDP, SVC_F_PERSISTENT } from '../../src/core/constants';
import { Director } from '../../src/core/director';
import { reconcile } from '../../src/control/reconcile';

const GOOD = `services:
  - vip: 192.0.2.100
    port: 80
    scheduler: wrr
    persistent: 600
    netmask: 255.255.255.0
    realservers:
      - { address: 192.0.2.11, weight: 3 }
      - { address: 192.0.2.12, port: 8080, method: nat }
  - vip: 192.0.2.100
    port: 53
    protocol: udp
    ops: true
`;

test('a valid config gives the specs ipvsadm would', () => {
  const c = parseNativeConfig(GOOD, 'good.yaml');
  assert.equal(c.services.length, 2);
  const [web, dns] = c.services;
  assert.equal(web.spec.scheduler, 'wrr');
  assert.equal(web.spec.flags, SVC_F_PERSISTENT);
  assert.equal(web.spec.timeout, 600);
  assert.equal(web.spec.netmask, 0xffffff00);
  assert.deepEqual(web.dests.map((d) => [d.addr.toString(), d.port, d.weight, d.fwd]), [
    ['192.0.2.11', 80, 3, FWD_DROUTE], ['192.0.2.12', 8080, 1, FWD_MASQ],
  ]);
  assert.equal(dns.spec.proto, IPPROTO_UDP);
  assert.equal(web.line, 2);
});

test('every problem is reported with its line number', () => {
  const bad = `services:
  - vip: 192.0.2.300
    port: 80
    scheduler: nosuch
    realservers:
      - { address: 192.0.2.11, weight: 70000 }
      - { address: nothere, colour: red }
  - vip: 192.0.2.100
    port: 80
    protocol: tcp
    bogus: 1
`;
  try {
    parseNativeConfig(bad, 'bad.yaml');
    assert.fail('should throw');
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    const text = e.problems.join('\n');
    assert.match(text, /line 2: vip must be an IPv4 or IPv6 address/);
    assert.match(text, /line 2: unknown scheduler "nosuch"/);
    assert.match(text, /line 6: weight must be a whole number from 0 to 65535/);
    assert.match(text, /line 7: address must be an IP address/);
    assert.match(text, /line 8: unknown setting "bogus"/);
  }
  assert.throws(() => parseNativeConfig('services: [\n  {vip: 1\n', 'syntax.yaml'), /syntax.yaml: [\s\S]*line 3: /);
});

test('reconcile applies only differences and keeps dests (and their conns) that stay', () => {
  const d = new Director();
  reconcile(d, parseNativeConfig(GOOD, 'a'));
  const svc = d.services.services[0];
  const kept = svc.dests.find((x) => x.addr.toString() === '192.0.2.11')!;
  kept.activeConns = 7; // stands for live connections
  const changed = GOOD.replace('weight: 3', 'weight: 0').replace(/      - \{ address: 192.0.2.12.*\n/, '      - { address: 192.0.2.13 }\n');
  const r = reconcile(d, parseNativeConfig(changed, 'b'));
  assert.equal(svc.dests.find((x) => x.addr.toString() === '192.0.2.11'), kept, 'same dest object');
  assert.equal(kept.weight, 0);
  assert.equal(kept.activeConns, 7);
  assert.deepEqual(svc.dests.map((x) => x.addr.toString()).sort(), ['192.0.2.11', '192.0.2.13']);
  assert.ok(r.removed.some((s) => s.includes('192.0.2.12')));
  reconcile(d, parseNativeConfig('services: []\n', 'c'));
  assert.equal(d.services.services.length, 0);
});
