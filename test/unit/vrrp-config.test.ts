// keepalived.conf's vrrp_instance subset (src/ha/vrrp/keepalived-conf.ts) and the native
// YAML `vrrp:` section (yaml-config.ts): good files give the same settings; broken ones
// give every problem with its line number.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseKeepalived, looksLikeKeepalived } from '../../src/ha/vrrp/keepalived-conf';
import { parseVrrpText } from '../../src/ha/vrrp/load';
import { parseNativeConfig, ConfigError } from '../../src/config/native-config';
import { AUTH_PASS } from '../../src/ha/vrrp/packet';

const GOOD = `! keepalived.conf for the tsvs director
global_defs {
    router_id LVS_A
    vrrp_version 3
}

vrrp_script chk { script "/bin/true" }

vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    nopreempt
    unicast_src_ip 192.0.2.2
    unicast_peer {
        192.0.2.3
    }
    virtual_ipaddress {
        192.0.2.100/24 dev eth0 label eth0:vip
        198.51.100.7
    }
    garp_master_delay 2
    garp_master_repeat 3
    notify_master "/etc/keepalived/master.sh 'two words' x"
    notify /etc/keepalived/notify.sh
}

vrrp_instance VI_2 {
    interface eth0
    virtual_router_id 52
    version 2
    authentication {
        auth_type PASS
        auth_pass s3cret
    }
    preempt_delay 30
    virtual_ipaddress { 192.0.2.101 }
}
`;

test('keepalived.conf: a good file', () => {
  assert.ok(looksLikeKeepalived(GOOD));
  const { config, problems } = parseKeepalived(GOOD);
  assert.deepEqual(problems, []);
  assert.equal(config.instances.length, 2);
  const [a, b] = config.instances;
  assert.equal(a.name, 'VI_1');
  assert.equal(a.line, 9);
  assert.equal(a.version, 3, 'from global_defs vrrp_version');
  assert.equal(a.vrid, 51);
  assert.equal(a.priority, 150);
  assert.equal(a.advertIntCs, 100);
  assert.equal(a.preempt, false);
  assert.equal(a.unicastSrc, 0xc0000202);
  assert.deepEqual(a.unicastPeers, [0xc0000203]);
  assert.deepEqual(a.vips, [0xc0000264, 0xc6336407]);
  assert.equal(a.garpMasterDelaySec, 2);
  assert.equal(a.garpMasterRepeat, 3);
  assert.equal(b.version, 2);
  assert.equal(b.priority, 100, 'keepalived default');
  assert.equal(b.authType, AUTH_PASS);
  assert.equal(b.authPass, 's3cret');
  assert.equal(b.preemptDelaySec, 30);
  assert.equal(b.garpMasterRepeat, 5);
  assert.equal(b.garpMasterDelaySec, 5);
  assert.deepEqual(config.scripts.map((s) => [s.name, s.argv, s.intervalSec, s.weight]), [['chk', ['/bin/true'], 1, 0]]);
  assert.ok(!config.warnings.some((w) => w.includes('vrrp_script')), 'vrrp_script is read');
  assert.deepEqual(a.notify, { master: ['/etc/keepalived/master.sh', 'two words', 'x'], any: ['/etc/keepalived/notify.sh'] });
  assert.deepEqual(b.notify, {});
  assert.ok(!config.warnings.some((w) => w.includes('notify')), 'notify scripts are run, not ignored');
  assert.ok(config.warnings.some((w) => w.startsWith('line 21:') && w.includes('dev eth0')));
});

test('keepalived.conf: broken files, each problem with its line', () => {
  const text = `global_defs {
  vrrp_version 4
}
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 300
  priority 0
  advert_int fast
  state STANDBY
  use_vmac
  authentication {
    auth_type AH
    auth_pass x
  }
  frobnicate yes
  virtual_ipaddress {
    192.0.2.300
    2001:db8::1
  }
}
vrrp_instance VI_2 {
  virtual_ipaddress {
    192.0.2.100
  }
}
vrrp_instance VI_3 {
  interface eth0
  virtual_router_id 7
  version 3
  authentication {
    auth_type PASS
    auth_pass x
  }
  virtual_ipaddress {
    192.0.2.100
  }
}
vrrp_instance VI_4 {
  interface eth0
`;
  const { problems } = parseKeepalived(text);
  const expect = [
    ['line 2:', 'vrrp_version must be 2 or 3'],
    ['line 6:', 'virtual_router_id must be a whole number from 1 to 255, not "300"'],
    ['line 7:', 'priority must be a whole number from 1 to 255, not "0"'],
    ['line 8:', 'advert_int'],
    ['line 9:', 'state must be MASTER or BACKUP'],
    ['line 10:', 'use_vmac'],
    ['line 12:', 'AH (IPsec AH) is not supported'],
    ['line 15:', 'unknown vrrp_instance setting "frobnicate"'],
    ['line 17:', '"192.0.2.300" is not an IPv4 address'],
    ['line 18:', 'IPv6 VRRP is not supported'],
    ['line 21:', '"interface" is required'],
    ['line 21:', '"virtual_router_id" is required'],
    ['line 30:', 'authentication is VRRPv2 only'],
    ['line 38:', 'never closed'],
  ];
  for (const [line, text] of expect) {
    assert.ok(problems.some((p) => p.startsWith(line) && p.includes(text)), `${line} ${text}\n${problems.join('\n')}`);
  }
});

test('keepalived.conf: v2 wants whole seconds; v3 takes centiseconds', () => {
  const conf = (v: number) => `vrrp_instance A {
  interface eth0
  version ${v}
  virtual_router_id 9
  advert_int 0.25
  virtual_ipaddress { 192.0.2.100 }
}
`;
  assert.ok(parseKeepalived(conf(2)).problems.some((p) => p.startsWith('line 5:') && p.includes('whole seconds')));
  const ok = parseKeepalived(conf(3));
  assert.deepEqual(ok.problems, []);
  assert.equal(ok.config.instances[0].advertIntCs, 25);
});

test('keepalived.conf: duplicate VRIDs and VIPs across instances', () => {
  const { problems } = parseKeepalived(`vrrp_instance A {
  interface eth0
  virtual_router_id 9
  virtual_ipaddress { 192.0.2.100 }
}
vrrp_instance B {
  interface eth0
  virtual_router_id 9
  virtual_ipaddress { 192.0.2.100 }
}
`);
  assert.ok(problems.some((p) => p.startsWith('line 6:') && p.includes('already used by A (line 1)')), problems.join('\n'));
  assert.ok(problems.some((p) => p.startsWith('line 6:') && p.includes('also a VIP of A')), problems.join('\n'));
});

const YAML = `services:
  - vip: 192.0.2.100
    port: 80
    realservers:
      - address: 192.0.2.11
vrrp:
  version: 3
  instances:
    - name: VI_1
      interface: eth0
      virtual_router_id: 51
      priority: 150
      nopreempt: true
      virtual_ipaddress: [192.0.2.100]
      unicast_peer: [192.0.2.3]
      garp_master_delay: 2
`;

test('native YAML vrrp section: the same settings as keepalived.conf', () => {
  const cfg = parseNativeConfig(YAML, 'x.yaml');
  const a = cfg.vrrp!.instances[0];
  assert.equal(a.name, 'VI_1');
  assert.equal(a.version, 3);
  assert.equal(a.vrid, 51);
  assert.equal(a.priority, 150);
  assert.equal(a.preempt, false);
  assert.deepEqual(a.vips, [0xc0000264]);
  assert.deepEqual(a.unicastPeers, [0xc0000203]);
  assert.equal(a.garpMasterDelaySec, 2);
  const viaLoad = parseVrrpText(YAML, 'x.yaml');
  assert.equal(viaLoad.kind, 'native');
  assert.deepEqual(viaLoad.config.instances, cfg.vrrp!.instances);
  assert.equal(parseVrrpText(GOOD, 'k.conf').kind, 'keepalived');
});

test('notify scripts: quoting, absolute paths, YAML spelling', () => {
  const conf = (line: string) => parseKeepalived(`vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 5\n virtual_ipaddress { 192.0.2.100 }\n ${line}\n}\n`);
  assert.deepEqual(conf('notify_backup /usr/bin/logger -t vrrp backup').config.instances[0].notify, { backup: ['/usr/bin/logger', '-t', 'vrrp', 'backup'] });
  assert.deepEqual(conf(`notify_fault "/bin/echo ''"`).config.instances[0].notify, { fault: ['/bin/echo', ''] });
  assert.match(conf('notify_stop "/bin/echo').problems.join('\n'), /line 5: notify_stop: a quote is not closed/);
  assert.match(conf('notify_master master.sh').problems.join('\n'), /line 5: notify_master wants the absolute path of a script/);
  const y = parseNativeConfig(`vrrp:\n  instances:\n    - name: VI_1\n      interface: eth0\n      virtual_router_id: 5\n      virtual_ipaddress: [192.0.2.100]\n      notify_master: "/usr/local/bin/up.sh now"\n`, 'x.yaml');
  assert.deepEqual(y.vrrp!.instances[0].notify, { master: ['/usr/local/bin/up.sh', 'now'] });
});

test('tracking: vrrp_script, track_script and track_interface with weights; undefined scripts are errors', () => {
  const text = `vrrp_script chk_web {
    script "/usr/local/bin/chk web"
    interval 2
    weight -20
    fall 3
    rise 2
    user nobody
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 5
    virtual_ipaddress { 192.0.2.100 }
    track_interface {
        eth1
        eth2 weight -10
    }
    track_script {
        chk_web
        chk_web2 weight 5
    }
}
`;
  const { config, problems } = parseKeepalived(text);
  assert.deepEqual(problems, ['line 19: vrrp_instance VI_1: track_script "chk_web2" is not a defined vrrp_script']);
  const [s] = config.scripts;
  assert.deepEqual({ ...s, line: 0 }, { name: 'chk_web', line: 0, argv: ['/usr/local/bin/chk', 'web'], intervalSec: 2, timeoutSec: 2, weight: -20, rise: 2, fall: 3 });
  assert.ok(config.warnings.some((w) => w.startsWith('line 7:') && w.includes('"user"')));
  const i = config.instances[0];
  assert.deepEqual(i.trackInterfaces.map((t) => [t.name, t.weight]), [['eth1', undefined], ['eth2', -10]]);
  assert.deepEqual(i.trackScripts.map((t) => [t.name, t.weight]), [['chk_web', undefined], ['chk_web2', 5]]);
  const broken = parseKeepalived('vrrp_script x {\n interval 0\n}\nvrrp_instance V { interface eth0\n virtual_router_id 5\n virtual_ipaddress { 192.0.2.100 }\n track_script { x weight 999 }\n}\n');
  assert.match(broken.problems.join('\n'), /line 2: vrrp_script x: interval must be a whole number from 1 to 3600/);
  assert.match(broken.problems.join('\n'), /line 7: track_script: "x weight 999" should be NAME or NAME weight N/);
  const y = parseNativeConfig(`vrrp:
  scripts:
    - { name: chk, script: /bin/true, interval: 3, weight: 10 }
  instances:
    - name: VI_1
      interface: eth0
      virtual_router_id: 5
      virtual_ipaddress: [192.0.2.100]
      track_script: ["chk weight 7"]
      track_interface: [eth1]
`, 'x.yaml');
  assert.deepEqual(y.vrrp!.scripts.map((x) => [x.name, x.argv, x.intervalSec, x.weight]), [['chk', ['/bin/true'], 3, 10]]);
  assert.deepEqual(y.vrrp!.instances[0].trackScripts.map((t) => [t.name, t.weight]), [['chk', 7]]);
  assert.deepEqual(y.vrrp!.instances[0].trackInterfaces.map((t) => t.name), ['eth1']);
});

test('native YAML vrrp section: problems with line numbers', () => {
  const text = `vrrp:
  instances:
    - name: VI_1
      interface: eth0
      virtual_router_id: 0
      virtual_ipaddress: [192.0.2.100, nonsense]
      authentication: { auth_type: AH }
    - interface: eth0
      virtual_router_id: 3
      virtual_ipaddress: 192.0.2.101
  colour: blue
`;
  try {
    parseNativeConfig(text, 'y.yaml');
    assert.fail('should throw');
  } catch (e) {
    assert.ok(e instanceof ConfigError);
    const p = e.problems;
    for (const [line, what] of [['line 5:', 'virtual_router_id'], ['line 6:', '"nonsense" is not an IPv4 address'], ['line 7:', 'AH'], ['line 8:', 'needs a "name"'], ['line 11:', 'unknown vrrp setting "colour"']]) {
      assert.ok(p.some((x) => x.startsWith(line) && x.includes(what)), `${line} ${what}\n${p.join('\n')}`);
    }
  }
});
