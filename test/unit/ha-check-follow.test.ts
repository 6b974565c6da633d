// `tsvs check-config`'s sync-follow checks (checkFollow in src/ha/follow-config.ts): a
// follow_vrrp / lvs_sync_daemon instance missing from the file's VRRP section is a problem,
// a file with no VRRP section a warning (--vrrp FILE must bring it), catch-up without a
// table walk a warning; `state` with `follow_vrrp` stays a parse problem with its line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkFollow } from '../../src/ha/follow-config';
import { parseSyncSection } from '../../src/ha/sync/config';
import { parseKeepalived } from '../../src/ha/vrrp/keepalived-conf';
import { parseNativeConfig, ConfigError } from '../../src/config/native-config';

const VRRP = parseKeepalived(`vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        192.0.2.100
    }
}
`).config;

function sync(v: Record<string, unknown>) {
  const bad: string[] = [];
  const s = parseSyncSection(v, (m) => bad.push(m));
  assert.deepEqual(bad, []);
  return s;
}

test('checkFollow: nothing to say without follow, or when the instance is there', () => {
  assert.deepEqual(checkFollow(undefined, undefined), { problems: [], warnings: [] });
  assert.deepEqual(checkFollow(sync({ state: 'master' }), VRRP), { problems: [], warnings: [] });
  assert.deepEqual(checkFollow(sync({ follow_vrrp: 'VI_1' }), VRRP), { problems: [], warnings: [] });
});

test('checkFollow: a missing instance is a problem naming the configured ones', () => {
  const r = checkFollow(sync({ follow_vrrp: 'VI_9' }), VRRP);
  assert.deepEqual(r.problems, ['sync: follow_vrrp "VI_9": no VRRP instance of that name (configured: VI_1)']);
  const none = checkFollow(sync({ follow_vrrp: 'VI_9' }), { instances: [], warnings: [], scripts: [] });
  assert.match(none.problems[0], /none configured/);
});

test('checkFollow: no VRRP section in the file is a warning (the daemon needs --vrrp)', () => {
  const r = checkFollow(sync({ follow_vrrp: 'VI_1' }), undefined);
  assert.deepEqual(r.problems, []);
  assert.match(r.warnings[0], /needs --vrrp FILE defining "VI_1"/);
});

test('checkFollow: catch-up with full_sync_period 0 is a warning; catch_up false is not', () => {
  const r = checkFollow(sync({ follow_vrrp: 'VI_1', full_sync_period: 0 }), VRRP);
  assert.equal(r.problems.length, 0);
  assert.match(r.warnings[0], /full_sync_period is 0.*catch_up_timeout \(60 s\)/);
  assert.deepEqual(checkFollow(sync({ follow_vrrp: 'VI_1', catch_up: false, full_sync_period: 0 }), VRRP).warnings, []);
});

test('checkFollow: lvs_sync_daemon is checked under its own name', () => {
  const k = parseKeepalived(`global_defs {
    lvs_sync_daemon eth1 VI_1
}
`);
  // the parser already reports the missing instance; checkFollow says it for check-config too
  assert.ok(k.problems.some((p) => /^line 2: lvs_sync_daemon: no vrrp_instance named "VI_1"/.test(p)));
  const r = checkFollow(undefined, k.config);
  assert.match(r.problems[0], /^lvs_sync_daemon "VI_1": no VRRP instance/);
});

test("state with follow_vrrp is a parse problem with a line number (the section's first key)", () => {
  const text = `services: []
sync:
  state: master
  follow_vrrp: VI_1
`;
  assert.throws(() => parseNativeConfig(text, 'x.yaml'), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.ok(e.problems.some((p) => /^line 3: sync: state and follow_vrrp exclude each other/.test(p)), JSON.stringify(e.problems));
    return true;
  });
});
