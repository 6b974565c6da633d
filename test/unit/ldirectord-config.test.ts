// ldirectord.cf reader (reference §4.3), native healthcheck settings, format detection and
// `tsvs check-config`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadLdirectord, parseLdirectord } from '../../src/config/ldirectord';
import { detectFormat, parseAnyConfig } from '../../src/config/detect';
import { ConfigError } from '../../src/config/native-config';
import { resolverFromText } from '../../src/ipvsadm/names';
import {
  AF_INET, AF_INET6, FWD_DROUTE, FWD_MASQ, FWD_TUNNEL, IPPROTO_TCP, IPPROTO_UDP, SVC_F_ONEPACKET, SVC_F_PERSISTENT,
  SVC_F_SCHED1,
} from '../../src/core/constants';
import { ServiceTable } from '../../src/core/services';

const names = resolverFromText('127.0.0.1 localhost\n192.0.2.21 web1.example\n', 'http 80/tcp www\ndomain 53/udp\ndomain 53/tcp\n');
const parse = (text: string) => parseLdirectord(text, 'test.cf', names);

const DEBIAN = `# Global Directives
checktimeout=3
checkinterval=1
#fallback=127.0.0.1:80
autoreload=yes
logfile="/var/log/ldirectord.log"
#logfile="local0"
quiescent=yes

# Sample for an http virtual service
virtual=192.0.2.100:80
	real=192.0.2.21:80 gate 2
	real=192.0.2.22:80 gate 3
	fallback=127.0.0.1:80 gate
	service=http
	request="index.html"
	receive="Test Page"
	scheduler=rr
	protocol=tcp
	checktype=negotiate

# DNS
virtual=192.0.2.100:53
    real=192.0.2.31:53 masq
    real=192.0.2.32:53 masq

virtual=1
    real=192.0.2.41 ipip
    scheduler=sh
    schedflags=sh-fallback
    persistent=600
    netmask=255.255.255.0
`;

test('the Debian-style example parses into ready ServiceSpecs and checks', () => {
  const { config, problems } = parse(DEBIAN);
  assert.deepEqual(problems, []);
  assert.equal(config.checkinterval, 1);
  assert.equal(config.autoreload, true);
  assert.equal(config.logfile, '/var/log/ldirectord.log');
  assert.equal(config.cleanstop, true);
  assert.equal(config.virtuals.length, 3);
  const [web, dns, fwm] = config.virtuals;
  assert.equal(web.line, 11);
  assert.equal(web.service.af, AF_INET);
  assert.equal(web.service.proto, IPPROTO_TCP);
  assert.equal(web.service.addr.toString(), '192.0.2.100');
  assert.equal(web.service.port, 80);
  assert.equal(web.service.scheduler, 'rr');
  assert.equal(web.protocol, 'tcp');
  assert.deepEqual(web.reals.map((r) => [r.addr.toString(), r.port, r.fwd, r.weight, r.line]), [
    ['192.0.2.21', 80, FWD_DROUTE, 2, 12], ['192.0.2.22', 80, FWD_DROUTE, 3, 13],
  ]);
  assert.equal(web.fallback?.addr.toString(), '127.0.0.1');
  assert.equal(web.fallback?.port, 80);
  assert.equal(web.fallback?.fwd, FWD_DROUTE);
  assert.equal(web.checkService, 'http');
  assert.equal(web.request, 'index.html');
  assert.equal(web.receive, 'Test Page');
  assert.equal(web.checktype, 'negotiate');
  assert.equal(web.quiescent, true);
  assert.equal(web.checktimeout, 3);
  assert.equal(web.negotiatetimeout, 3);
  assert.equal(dns.protocol, 'udp');
  assert.equal(dns.service.proto, IPPROTO_UDP);
  assert.equal(dns.checkService, 'dns');
  assert.equal(dns.service.scheduler, 'wrr');
  assert.equal(dns.reals[0].fwd, FWD_MASQ);
  assert.equal(fwm.protocol, 'fwm');
  assert.equal(fwm.service.fwmark, 1);
  assert.equal(fwm.service.proto, IPPROTO_TCP);
  assert.equal(fwm.service.flags, SVC_F_PERSISTENT);
  assert.equal(fwm.service.timeout, 600);
  assert.equal(fwm.service.netmask, 0xffffff00);
  assert.equal(fwm.service.schedFlags, SVC_F_SCHED1);
  assert.equal(fwm.reals[0].port, 0);
  assert.equal(fwm.reals[0].fwd, FWD_TUNNEL);
  assert.equal(fwm.checkService, 'none');
  // The specs go straight into the service table.
  const table = new ServiceTable();
  for (const v of config.virtuals) table.addService(v.service);
  assert.equal(table.services.length, 3);
});

test('defaults are ldirectord code defaults', () => {
  const { config, problems } = parse('virtual=192.0.2.1:8080\n    real=192.0.2.2 gate\n');
  assert.deepEqual(problems, []);
  assert.equal(config.checkinterval, 10);
  assert.equal(config.autoreload, false);
  assert.equal(config.readdquiescent, false);
  assert.equal(config.logfile, '/var/log/ldirectord.log');
  const v = config.virtuals[0];
  assert.equal(v.quiescent, false);
  assert.equal(v.checkinterval, 10);
  assert.equal(v.failurecount, 1);
  assert.equal(v.checkcount, 1);
  assert.equal(v.checktimeout, 5);
  assert.equal(v.negotiatetimeout, 30);
  assert.equal(v.checktype, 'negotiate');
  assert.equal(v.service.scheduler, 'wrr');
  assert.equal(v.protocol, 'tcp');
  assert.equal(v.checkService, 'none');
  assert.equal(v.request, '/');
  assert.equal(v.receive, '');
  assert.equal(v.httpmethod, 'GET');
  assert.equal(v.checkcommand, '/bin/true');
  assert.equal(v.fallback, null);
  assert.deepEqual([v.reals[0].port, v.reals[0].weight, v.reals[0].uThreshold, v.reals[0].lThreshold], [0, 1, 0, 0]);
});

test('checktimeout / negotiatetimeout resolution order, including the cross-fallbacks', () => {
  const t = (globals: string, block: string) => {
    const { config, problems } = parse(`${globals}virtual=192.0.2.1:80\n${block}`);
    assert.deepEqual(problems, []);
    const v = config.virtuals[0];
    return [v.checktimeout, v.negotiatetimeout];
  };
  assert.deepEqual(t('', ''), [5, 30]);
  assert.deepEqual(t('checktimeout=7\n', ''), [7, 7]);
  assert.deepEqual(t('negotiatetimeout=9\n', ''), [9, 9]);
  assert.deepEqual(t('checktimeout=7\nnegotiatetimeout=9\n', ''), [7, 9]);
  assert.deepEqual(t('checktimeout=7\nnegotiatetimeout=9\n', '    negotiatetimeout=4\n'), [4, 4]);
  assert.deepEqual(t('checktimeout=7\nnegotiatetimeout=9\n', '    checktimeout=2\n'), [2, 2]);
  assert.deepEqual(t('', '    checktimeout=2\n    negotiatetimeout=4\n'), [2, 4]);
  // A global after the block still applies.
  const late = parse('virtual=192.0.2.1:80\n    real=192.0.2.2 gate\nquiescent=yes\nfailurecount=3\n');
  assert.deepEqual(late.problems, []);
  assert.equal(late.config.virtuals[0].quiescent, true);
  assert.equal(late.config.virtuals[0].failurecount, 3);
});

test('real= ranges, names, per-real request/receive and thresholds', () => {
  const { config, problems } = parse(`virtual=192.0.2.1:http
    real=192.0.2.10->192.0.2.12:www masq 5 "check.html", "ok" u:100 l:10
    real=web1.example:80 gate
    checktype=3
    service=http
`);
  assert.deepEqual(problems, []);
  const v = config.virtuals[0];
  assert.equal(v.service.port, 80);
  assert.deepEqual(v.reals.map((r) => `${r.addr}:${r.port}/${r.weight}`), [
    '192.0.2.10:80/5', '192.0.2.11:80/5', '192.0.2.12:80/5', '192.0.2.21:80/1',
  ]);
  assert.equal(v.reals[0].request, '/check.html');
  assert.equal(v.reals[0].receive, 'ok');
  assert.equal(v.reals[0].uThreshold, 100);
  assert.equal(v.reals[0].lThreshold, 10);
  assert.equal(v.reals[3].request, undefined);
  assert.equal(v.checktype, 'combined');
  assert.equal(v.combinedCount, 3);
});

test('virtual6, ops and protocol checks', () => {
  const { config, problems } = parse('virtual6=[2001:db8::1]:53\n\treal6=[2001:db8::2]:53 gate\n\tops=yes\n');
  assert.deepEqual(problems, []);
  const v = config.virtuals[0];
  assert.equal(v.service.af, AF_INET6);
  assert.equal(v.protocol, 'udp');
  assert.equal(v.service.flags, SVC_F_ONEPACKET);
  const bad = parse('virtual=192.0.2.1:80\n    protocol=fwm\nvirtual=2\n    protocol=tcp\n');
  assert.deepEqual(bad.problems.map((p) => p.line), [2, 4]);
});

test('every problem is reported with its line number', () => {
  const text = [
    'checktimeout=3', //                         1
    'connecttimeout=5', //                        2 deprecated
    'timeout=5', //                               3 deprecated
    'logfile=/var/log/ldirectord.log', //         4 unquoted
    'callback=/usr/local/bin/cb', //              5 unquoted
    'frobnicate=yes', //                          6 unknown
    'virtual=192.0.2.100:80', //                  7
    '  real=192.0.2.21:80 gate', //               8 bad indentation
    '    real=192.0.2.22:80 gate heavy', //       9 bad weight
    '    real=192.0.2.23:80 gate 70000', //       10 bad weight
    '    real=192.0.2.24:80 route', //            11 bad method
    '    colour=blue', //                         12 unknown in block
    '    request=index.html', //                  13 unquoted
    '    checkinterval=0', //                     14 not > 0
    '    quiescent=maybe', //                     15
    '    real=192.0.2.30->192.0.2.29 gate', //    16 backwards range
    '    scheduler=nosuch', //                    17
    '    connecttimeout=3', //                    18 deprecated
    'real=192.0.2.1:80 gate', //                  19 real at column 0
    'virtual=192.0.2.999:80', //                  20 bad address
    '',
  ].join('\n');
  const { problems } = parse(text);
  assert.deepEqual(problems.map((p) => p.line), [2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
  assert.match(problems[0].message, /deprecated in favour of negotiatetimeout/);
  assert.match(problems[2].message, /logfile must be quoted/);
  assert.match(problems[4].message, /unknown directive "frobnicate"/);
  assert.match(problems[5].message, /at least 4 spaces or a tab/);
  assert.match(problems[6].message, /weight/);
  assert.match(problems[7].message, /weight/);
  // loadLdirectord turns them into a ConfigError with `line N: message` entries.
  const dir = mkdtempSync(join(tmpdir(), 'tsvs-ld-'));
  const f = join(dir, 'bad.cf');
  writeFileSync(f, text);
  assert.throws(() => loadLdirectord(f, names), (e: unknown) => e instanceof ConfigError && e.problems[0].startsWith('line 2: '));
});

test('format detection and native healthcheck settings', () => {
  assert.equal(detectFormat(DEBIAN), 'ldirectord');
  assert.equal(detectFormat('services:\n  - vip: 192.0.2.1\n    port: 80\n'), 'native');
  assert.equal(detectFormat('{"services": []}'), 'native');
  const ld = parseAnyConfig(DEBIAN, 'x.cf', names);
  assert.equal(ld.kind, 'ldirectord');
  const yaml = `services:
  - vip: 192.0.2.100
    port: 80
    scheduler: rr
    healthcheck:
      checktype: negotiate
      service: http
      request: /index.html
      receive: Test Page
      checktimeout: 2
      quiescent: true
      fallback: 127.0.0.1:80 gate
    realservers:
      - { address: 192.0.2.11, weight: 3 }
  - vip: 192.0.2.100
    port: 53
    protocol: udp
`;
  const n = parseAnyConfig(yaml, 'x.yaml');
  assert.equal(n.kind, 'native');
  assert.equal(n.native?.services.length, 2);
  const [web, dns] = n.health.virtuals;
  assert.equal(web.service.scheduler, 'rr');
  assert.equal(web.request, '/index.html');
  assert.equal(web.receive, 'Test Page');
  assert.equal(web.checktimeout, 2);
  assert.equal(web.negotiatetimeout, 2);
  assert.equal(web.quiescent, true);
  assert.equal(web.fallback?.addr.toString(), '127.0.0.1');
  assert.equal(web.reals[0].weight, 3);
  assert.equal(web.reals[0].line, 14);
  assert.equal(dns.protocol, 'udp');
  assert.equal(dns.checkService, 'dns');
  assert.equal(dns.checktimeout, 5);
  assert.equal(dns.negotiatetimeout, 30);
  assert.equal(dns.quiescent, false);
  assert.throws(() => parseAnyConfig('services:\n  - vip: 192.0.2.1\n    port: 80\n    healthcheck:\n      checktype: bogus\n      colour: red\n', 'b.yaml'),
    (e: unknown) => e instanceof ConfigError && e.problems.length === 2 && e.problems[0].startsWith('line 5: '));
});

test('tsvs check-config: exit codes and output', () => {
  const cli = join(__dirname, '..', '..', 'src', 'cli', 'tsvs.js');
  const dir = mkdtempSync(join(tmpdir(), 'tsvs-cc-'));
  const good = join(dir, 'ldirectord.cf');
  writeFileSync(good, 'checkinterval=5\nvirtual=192.0.2.1:80\n    real=192.0.2.2:80 gate\n    real=192.0.2.3:80 gate\nvirtual=192.0.2.1:53\n    real=192.0.2.4:53 gate\n');
  let r = spawnSync(process.execPath, [cli, 'check-config', good], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `${good}: OK (2 virtual services, 3 real servers)\n`);
  const bad = join(dir, 'bad.cf');
  writeFileSync(bad, 'checkinterval=5\nconnecttimeout=3\nvirtual=192.0.2.1:80\n  real=192.0.2.2:80 gate\n    real=192.0.2.3:80 gate x\n');
  r = spawnSync(process.execPath, [cli, 'check-config', bad], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 3);
  assert.ok(lines[0].startsWith(`${bad}:2: `));
  assert.ok(lines[1].startsWith(`${bad}:4: `));
  assert.ok(lines[2].startsWith(`${bad}:5: `));
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  const yaml = join(dir, 'tsvs.yaml');
  writeFileSync(yaml, 'services:\n  - vip: 192.0.2.1\n    port: 80\n    realservers:\n      - { address: 192.0.2.2 }\n');
  r = spawnSync(process.execPath, [cli, 'check-config', yaml], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `${yaml}: OK (1 virtual service, 1 real server)\n`);
  const badYaml = join(dir, 'bad.yaml');
  writeFileSync(badYaml, 'services:\n  - vip: 192.0.2.1\n    port: 80\n    scheduler: nosuch\n');
  r = spawnSync(process.execPath, [cli, 'check-config', badYaml], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`^${badYaml.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: unknown scheduler`));
  r = spawnSync(process.execPath, [cli, 'check-config', join(dir, 'missing.cf')], { encoding: 'utf8' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /cannot read/);
  r = spawnSync(process.execPath, [cli, 'check-config'], { encoding: 'utf8' });
  assert.equal(r.status, 2);
});
