// keepalived.conf's `lvs_sync_daemon` line in global_defs (src/ha/vrrp/keepalived-conf.ts)
// and what the daemon makes of it (src/ha/follow-config.ts): good lines with every option,
// keepalived 2.x's `inst NAME` and old positional forms, the syncid defaulting to the VRID,
// bad lines reported with their line numbers, an unknown instance.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseKeepalived } from '../../src/ha/vrrp/keepalived-conf';
import { followSetup } from '../../src/ha/follow-config';
import { CATCH_UP_TIMEOUT, FOLLOW_FULL_SYNC_PERIOD, parseSyncSection } from '../../src/ha/sync/config';

/** A keepalived.conf whose global_defs line 3 is `lvs_sync_daemon ${args}`. */
function conf(args: string, extra = ''): string {
  return `! test
global_defs {
    lvs_sync_daemon ${args}
${extra}}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 150
    virtual_ipaddress {
        192.0.2.100
    }
}
`;
}

const parse = (args: string, extra = '') => parseKeepalived(conf(args, extra));

test('lvs_sync_daemon IF INSTANCE: the syncid defaults to the VRID; follow-setup gives tsvs defaults', () => {
  const r = parse('eth1 VI_1');
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.config.lvsSyncDaemon, { interface: 'eth1', instance: 'VI_1', syncid: 51, line: 3 });
  const s = followSetup(undefined, r.config);
  assert.equal(s.problem, '');
  assert.deepEqual(s.follow, {
    instance: 'VI_1', daemon: { mcastIfn: 'eth1', syncid: 51, maxlen: undefined, port: undefined, ttl: undefined, group: '', peers: [] },
    activeActive: false, catchUp: true, catchUpTimeoutSec: CATCH_UP_TIMEOUT,
  });
  assert.equal(s.rules?.fullSyncPeriod, FOLLOW_FULL_SYNC_PERIOD);
});

test('lvs_sync_daemon: every option', () => {
  const r = parse('eth1 VI_1 id 7 maxlen 1400 port 8850 ttl 2 group 239.1.2.3');
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.config.lvsSyncDaemon, { interface: 'eth1', instance: 'VI_1', syncid: 7, maxlen: 1400, port: 8850, ttl: 2, group: '239.1.2.3', line: 3 });
  const d = followSetup(undefined, r.config).follow!.daemon;
  assert.deepEqual(d, { mcastIfn: 'eth1', syncid: 7, maxlen: 1400, port: 8850, ttl: 2, group: '239.1.2.3', peers: [] });
  // id 0 is a real value (accept every syncid), not "unset"
  assert.equal(parse('eth1 VI_1 id 0').config.lvsSyncDaemon?.syncid, 0);
  // option edges
  assert.deepEqual(parse('eth1 VI_1 id 255 maxlen 64 port 1 ttl 255').problems, []);
  assert.deepEqual(parse('eth1 VI_1 maxlen 65507 port 65535 ttl 1').problems, []);
});

test('lvs_sync_daemon: keepalived 2.x forms: `inst NAME` anywhere, a bare old-style syncid', () => {
  for (const args of ['eth1 inst VI_1 id 9', 'eth1 id 9 inst VI_1', 'eth1 port 8850 inst VI_1 id 9']) {
    const r = parse(args);
    assert.deepEqual(r.problems, [], args);
    assert.equal(r.config.lvsSyncDaemon?.instance, 'VI_1', args);
    assert.equal(r.config.lvsSyncDaemon?.syncid, 9, args);
  }
  const old = parse('eth1 VI_1 9');
  assert.deepEqual(old.problems, []);
  assert.equal(old.config.lvsSyncDaemon?.syncid, 9);
  assert.ok(old.config.warnings.some((w) => /^line 3: .*write "id 9"/.test(w)));
});

test('lvs_sync_daemon: bad lines, each with its line number', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /^line 3: lvs_sync_daemon wants INTERFACE/],
    ['eth1', /^line 3: lvs_sync_daemon: no VRRP instance given/],
    ['eth1 id 5', /^line 3: lvs_sync_daemon: no VRRP instance given/],
    ['eth1 VI_1 id', /^line 3: lvs_sync_daemon: "id" wants a value/],
    ['eth1 VI_1 id 256', /^line 3: lvs_sync_daemon: id must be 0\.\.255, not "256"/],
    ['eth1 VI_1 id -1', /^line 3: lvs_sync_daemon: id must be 0\.\.255/],
    ['eth1 VI_1 maxlen 63', /^line 3: lvs_sync_daemon: maxlen must be 64\.\.65507/],
    ['eth1 VI_1 maxlen 65508', /^line 3: lvs_sync_daemon: maxlen must be 64\.\.65507/],
    ['eth1 VI_1 port 0', /^line 3: lvs_sync_daemon: port must be 1\.\.65535/],
    ['eth1 VI_1 port http', /^line 3: lvs_sync_daemon: port must be 1\.\.65535, not "http"/],
    ['eth1 VI_1 ttl 0', /^line 3: lvs_sync_daemon: ttl must be 1\.\.255/],
    ['eth1 VI_1 group 192.0.2.1', /^line 3: lvs_sync_daemon: group must be an IPv4 multicast address/],
    ['eth1 VI_1 group ff02::81', /^line 3: lvs_sync_daemon: group must be an IPv4 multicast address/],
    ['eth1 VI_1 9 10', /^line 3: lvs_sync_daemon: unknown option "10"/],
    ['eth1 VI_1 syncid 5', /^line 3: lvs_sync_daemon: unknown option "syncid"/],
    ['eth1 VI_1 inst VI_2', /^line 3: lvs_sync_daemon: the VRRP instance is given twice/],
    ['an-interface-name-too-long VI_1', /^line 3: lvs_sync_daemon: interface name .* longer than 15/],
  ];
  for (const [args, want] of cases) {
    const r = parse(args);
    assert.ok(r.problems.some((p) => want.test(p)), `"${args}": ${JSON.stringify(r.problems)}`);
  }
});

test('lvs_sync_daemon: an unknown instance is reported at its line; followSetup reports it too', () => {
  const r = parse('eth1 VI_9');
  assert.deepEqual(r.problems, ['line 3: lvs_sync_daemon: no vrrp_instance named "VI_9"']);
  const s = followSetup(undefined, r.config);
  assert.match(s.problem, /"VI_9", which is not configured/);
});

test('lvs_sync_daemon given twice: the second is reported', () => {
  const r = parse('eth1 VI_1', '    lvs_sync_daemon eth2 VI_1\n');
  assert.deepEqual(r.problems, ['line 4: lvs_sync_daemon is given twice (first on line 3)']);
  assert.equal(r.config.lvsSyncDaemon?.interface, 'eth1');
});

test('followSetup: the native sync section wins over lvs_sync_daemon and keeps its own rules', () => {
  const r = parse('eth1 VI_1 id 7');
  const bad: string[] = [];
  const native = parseSyncSection({ follow_vrrp: 'VI_1', interface: 'eth3', active_active: true, full_sync_period: 30 }, (m) => bad.push(m));
  assert.deepEqual(bad, []);
  const s = followSetup(native, r.config);
  assert.equal(s.follow?.daemon.mcastIfn, 'eth3');
  assert.equal(s.follow?.activeActive, true);
  assert.equal(s.rules?.fullSyncPeriod, 30);
  assert.equal(s.problem, '');
  assert.match(followSetup(native, undefined).problem, /"VI_1", which is not configured/);
});
