// ipvsadm front end: listing formats, byte for byte (src/ipvsadm/list.ts, printf.ts).
// The expected texts follow §1.6 of the reference and were cross-checked against
// ipvsadm 1.31 built from source with a stub libipvs serving the same data.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { listAll, listConnections, listDaemon, listService, listTimeout, largenum, renderList, saveRules } from '../../src/ipvsadm/list';
import { parseArgs, IpvsadmError } from '../../src/ipvsadm/argv';
import { resolverFromText, noNames } from '../../src/ipvsadm/names';
import { sprintf } from '../../src/ipvsadm/printf';
import type { ConnSnapshot, DestSnapshot, IpvsSnapshot, ServiceSnapshot } from '../../src/ipvsadm/snapshot';
import { FWD_DROUTE, FWD_LOCALNODE, FWD_MASQ, FWD_TUNNEL, IPPROTO_IP, IPPROTO_TCP, IPPROTO_UDP, SVC_F_ONEPACKET, SVC_F_PERSISTENT } from '../../src/core/constants';

const ZS = { conns: 0, inpkts: 0, outpkts: 0, inbytes: 0, outbytes: 0 };
const ZR = { cps: 0, inpps: 0, outpps: 0, inbps: 0, outbps: 0 };

function svc(p: Partial<ServiceSnapshot>): ServiceSnapshot {
  return {
    af: 2, proto: IPPROTO_TCP, addr: '0.0.0.0', port: 0, fwmark: 0, scheduler: 'wlc', flags: 0, schedFlags: 0,
    timeout: 0, netmask: 0xffffffff, pe: '', stats: ZS, rates: ZR, dests: [], ...p,
  };
}

function dest(p: Partial<DestSnapshot>): DestSnapshot {
  return {
    af: 2, addr: '0.0.0.0', port: 0, fwd: FWD_DROUTE, weight: 1, uThreshold: 0, lThreshold: 0, activeConns: 0,
    inactConns: 0, persistConns: 0, tunType: 'ipip', tunPort: 0, tunFlags: 0, stats: ZS, rates: ZR, ...p,
  };
}

function snap(services: ServiceSnapshot[], more: Partial<IpvsSnapshot> = {}): IpvsSnapshot {
  return {
    version: 0x010201, connTabSize: 4096, services, timeouts: { tcp: 900, tcpfin: 120, udp: 300 },
    connections: [], daemons: [], ...more,
  };
}

/** The §1.6.2 example table. */
const example = snap([
  svc({
    addr: '10.0.0.100', port: 80, flags: SVC_F_PERSISTENT, timeout: 360,
    dests: [
      dest({ addr: '192.168.1.3', port: 80, fwd: FWD_MASQ, weight: 3, activeConns: 12, inactConns: 345 }),
      dest({ addr: '192.168.1.2', port: 80 }),
    ],
  }),
  svc({ proto: IPPROTO_UDP, addr: '10.0.0.100', port: 53, scheduler: 'rr', flags: SVC_F_ONEPACKET }),
  svc({ fwmark: 1, scheduler: 'sh', schedFlags: 0x18, flags: SVC_F_PERSISTENT, timeout: 600, netmask: 0xffffff00 }),
]);

function list(line: string, s: IpvsSnapshot, names = noNames): string {
  const c = parseArgs(line.split(' '), { resolver: names });
  if (c.cmd === 'list') return renderList(c, s, names);
  if (c.cmd === 'save') return saveRules(s, c, names);
  throw new Error(c.cmd);
}

test('sprintf: the conversions the layouts use', () => {
  assert.equal(sprintf('[%-10u]', 5), '[5         ]');
  assert.equal(sprintf('[%8llu]', 123), '[     123]');
  assert.equal(sprintf('[%*llu]', 12, 7n), '[           7]');
  assert.equal(sprintf('[%-6d]', -3), '[-3    ]');
  assert.equal(sprintf('%02d:%02d', 5, 7), '05:07');
  assert.equal(sprintf('%-4s %s|%%', 'TCP', 'x'), 'TCP  x|%');
  assert.equal(sprintf('%u', -1), '4294967295');
  assert.equal(sprintf('%-28s|', 'a'.repeat(30)), `${'a'.repeat(30)}|`);
});

test('-L -n: the §1.6.2 example, trailing blanks included', () => {
  assert.equal(
    list('-L -n', example),
    'IP Virtual Server version 1.2.1 (size=4096)\n' +
      'Prot LocalAddress:Port Scheduler Flags\n' +
      '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n' +
      'TCP  10.0.0.100:80 wlc persistent 360\n' +
      '  -> 192.168.1.2:80               Route   1      0          0         \n' +
      '  -> 192.168.1.3:80               Masq    3      12         345       \n' +
      'UDP  10.0.0.100:53 rr ops\n' +
      'FWM  1 sh (sh-fallback,sh-port) persistent 600 mask 255.255.255.0\n',
  );
});

test('-L for one service: no version header; unknown service is exit 1', () => {
  assert.equal(
    list('-L -n -t 10.0.0.100:80', example),
    'Prot LocalAddress:Port Scheduler Flags\n' +
      '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n' +
      'TCP  10.0.0.100:80 wlc persistent 360\n' +
      '  -> 192.168.1.2:80               Route   1      0          0         \n' +
      '  -> 192.168.1.3:80               Masq    3      12         345       \n',
  );
  assert.equal(list('-L -n -f 1', example).split('\n')[2], 'FWM  1 sh (sh-fallback,sh-port) persistent 600 mask 255.255.255.0');
  for (const line of ['-L -n -t 10.0.0.100:81', '-L -n -u 10.0.0.100:80', '-L -n -f 1 -6', '-L -n -f 2']) {
    assert.throws(() => list(line, example), (e: unknown) => e instanceof IpvsadmError && e.message === 'No such service' && e.exitCode === 1);
  }
});

test('service line variants: flags, masks, pe, IPv6, sched flags by scheduler', () => {
  const s = snap([
    svc({ addr: '10.0.0.1', port: 80, scheduler: 'rr', schedFlags: 0x38 }),
    svc({ addr: '10.0.0.2', port: 80, scheduler: 'mh', schedFlags: 0x18, flags: SVC_F_PERSISTENT, timeout: 1, pe: 'sip' }),
    svc({ addr: '10.0.0.3', port: 80, scheduler: 'sh', schedFlags: 0x20 }),
    svc({ addr: '10.0.0.4', port: 80, netmask: 0xffff0000, pe: 'sip' }), // not persistent: no mask, no pe
    svc({ af: 10, addr: '2001:db8::1', port: 443, flags: SVC_F_PERSISTENT, timeout: 30, netmask: 64 }),
    svc({ af: 10, addr: '2001:db8::2', port: 443, flags: SVC_F_PERSISTENT, timeout: 30, netmask: 128 }),
    svc({ af: 10, addr: '::', fwmark: 7, flags: SVC_F_ONEPACKET, netmask: 128 }),
    svc({ fwmark: 4294967295 }),
  ]);
  assert.equal(
    list('-L -n', s).split('\n').slice(3).join('\n'),
    'TCP  10.0.0.1:80 rr (flag-1,flag-2,flag-3)\n' +
      'TCP  10.0.0.2:80 mh (mh-fallback,mh-port) persistent 1 pe sip\n' +
      'TCP  10.0.0.3:80 sh ()\n' +
      'TCP  10.0.0.4:80 wlc\n' +
      'TCP  [2001:db8::1]:443 wlc persistent 30 mask 64\n' +
      'TCP  [2001:db8::2]:443 wlc persistent 30\n' +
      'FWM  7 IPv6 wlc ops\n' +
      'FWM  4294967295 wlc\n',
  );
});

test('--stats: the §1.6.3 example', () => {
  const s = snap([
    svc({
      addr: '10.0.0.100', port: 80, stats: { conns: 12, inpkts: 340, outpkts: 0, inbytes: 123456, outbytes: 0 },
      dests: [dest({ addr: '192.168.1.2', port: 80, stats: { conns: 6, inpkts: 170, outpkts: 0, inbytes: 61728, outbytes: 0 } })],
    }),
  ]);
  assert.equal(
    list('-L -n --stats', s),
    'IP Virtual Server version 1.2.1 (size=4096)\n' +
      'Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n' +
      '  -> RemoteAddress:Port\n' +
      'TCP  10.0.0.100:80                      12      340        0   123456        0\n' +
      '  -> 192.168.1.2:80                      6      170        0    61728        0\n',
  );
});

test('largenum: K/M/G/T abbreviations and --exact widths', () => {
  const cases: [number, string][] = [
    [0, '        0'],
    [99999999, ' 99999999'],
    [100000000, '  100000K'],
    [999999999, '  999999K'],
    [1000000000, '    1000M'],
    [99999999999, '   99999M'],
    [100000000000, '     100G'],
    [99999999999999, '   99999G'],
    [100000000000000, '     100T'],
    [123456789012345, '     123T'],
  ];
  for (const [n, text] of cases) assert.equal(largenum(n), text, String(n));
  assert.equal(largenum(12345678, true), ' 12345678');
  assert.equal(largenum(123456789, true), ' 123456789');
  assert.equal(largenum(123456789012345, true), ' 123456789012345');
  assert.equal(largenum(0, true), '        0');
});

test('--rate and --exact layouts', () => {
  const r = { cps: 123456789, inpps: 5, outpps: 100000000, inbps: 1000000000, outbps: 100000000000000 };
  const s = snap([
    svc({ addr: '10.0.0.1', port: 80, rates: r, dests: [dest({ addr: '10.0.0.2', port: 80, rates: r })] }),
  ]);
  assert.equal(
    list('-L -n --rate', s).split('\n').slice(1).join('\n'),
    'Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n' +
      '  -> RemoteAddress:Port\n' +
      'TCP  10.0.0.1:80                   123456K        5  100000K    1000M     100T\n' +
      '  -> 10.0.0.2:80                  123456789        5 100000000    1000M     100T\n',
  );
  assert.equal(
    list('-L -n --rate --exact', s).split('\n').slice(3).join('\n'),
    'TCP  10.0.0.1:80                  123456789        5 100000000 1000000000 100000000000000\n' +
      '  -> 10.0.0.2:80                  123456789        5 100000000 1000000000 100000000000000\n',
  );
  const st = { conns: 1, inpkts: 22, outpkts: 333, inbytes: 4444, outbytes: 55555 };
  assert.equal(
    list('-Ln --stats -X', snap([svc({ fwmark: 3, stats: st, dests: [dest({ addr: '10.0.0.9', stats: st })] })])).split('\n').slice(3).join('\n'),
    'FWM  3                                   1       22      333     4444    55555\n' +
      '  -> 10.0.0.9:0                          1       22      333     4444    55555\n',
  );
});

test('--thresholds, --persistent-conn, --tun-info', () => {
  const s = snap([
    svc({
      addr: '10.0.0.1', port: 80,
      dests: [
        dest({ addr: '10.0.0.2', port: 80, uThreshold: 100, lThreshold: 10, activeConns: 7, inactConns: 8, persistConns: 9, weight: 2 }),
        dest({ addr: '10.0.0.3', port: 80, fwd: FWD_TUNNEL, tunType: 'gue', tunPort: 6080, tunFlags: 2 }),
        dest({ addr: '10.0.0.4', port: 80, fwd: FWD_TUNNEL, tunType: 'gre', tunFlags: 1 }),
        dest({ addr: '10.0.0.5', port: 80, fwd: FWD_TUNNEL }),
        dest({ addr: '10.0.0.6', port: 80, fwd: FWD_LOCALNODE }),
      ],
    }),
  ]);
  assert.equal(
    list('-L -n --thresholds', s),
    'IP Virtual Server version 1.2.1 (size=4096)\n' +
      'Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn \n' +
      '  -> RemoteAddress:Port\n' +
      'TCP  10.0.0.1:80 wlc\n' +
      '  -> 10.0.0.2:80                  100        10         7          8         \n' +
      '  -> 10.0.0.3:80                  0          0          0          0         \n' +
      '  -> 10.0.0.4:80                  0          0          0          0         \n' +
      '  -> 10.0.0.5:80                  0          0          0          0         \n' +
      '  -> 10.0.0.6:80                  0          0          0          0         \n',
  );
  assert.equal(
    list('-L -n --persistent-conn -t 10.0.0.1:80', s).split('\n').slice(0, 4).join('\n'),
    'Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn \n' +
      '  -> RemoteAddress:Port\n' +
      'TCP  10.0.0.1:80 wlc\n' +
      '  -> 10.0.0.2:80                  2         9           7          8         ',
  );
  assert.equal(
    list('-L -n --tun-info', s),
    'IP Virtual Server version 1.2.1 (size=4096)\n' +
      'Prot LocalAddress:Port Scheduler Flags\n' +
      '  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n' +
      'TCP  10.0.0.1:80 wlc\n' +
      '  -> 10.0.0.2:80                  Route   n/a           2      7          8         \n' +
      '  -> 10.0.0.3:80                  Tunnel  gue:6080:r+c  1      0          0         \n' +
      '  -> 10.0.0.4:80                  Tunnel  gre:+c        1      0          0         \n' +
      '  -> 10.0.0.5:80                  Tunnel  ipip          1      0          0         \n' +
      '  -> 10.0.0.6:80                  Local   n/a           1      0          0         \n',
  );
  // the ldirectord contract (§4.2): 3 lines to skip, then parseable rows
  const lines = list('-L -n --thresholds', s).split('\n');
  assert.match(lines[4], /^ {2}->\s+(\d+\.\d+\.\d+\.\d+:\d+)\s+(\d+)\s+(\d+)\s+(\d+)/);
});

test('-S: save format, thresholds not saved, tunnel options, sorted', () => {
  const s = snap([
    svc({
      addr: '10.0.0.100', port: 80, flags: SVC_F_PERSISTENT, timeout: 360,
      dests: [
        dest({ addr: '192.168.1.3', port: 80, fwd: FWD_MASQ, weight: 3, uThreshold: 50, lThreshold: 5 }),
        dest({ addr: '192.168.1.2', port: 80 }),
        dest({ addr: '192.168.1.4', port: 80, fwd: FWD_TUNNEL, tunType: 'gue', tunPort: 6080, tunFlags: 1 }),
        dest({ addr: '192.168.1.5', port: 80, fwd: FWD_TUNNEL, tunType: 'gre', tunFlags: 0 }),
        dest({ addr: '192.168.1.6', port: 80, fwd: FWD_TUNNEL }),
        dest({ addr: '192.168.1.7', port: 80, fwd: FWD_LOCALNODE }),
      ],
    }),
    svc({ proto: IPPROTO_UDP, addr: '10.0.0.100', port: 53, scheduler: 'rr', flags: SVC_F_ONEPACKET | SVC_F_PERSISTENT, timeout: 10, netmask: 0xffffff00, pe: 'sip', schedFlags: 0x8 }),
    svc({ af: 10, addr: '::', fwmark: 2, scheduler: 'sh', flags: SVC_F_PERSISTENT, timeout: 5, netmask: 96, schedFlags: 0x10 }),
    svc({ af: 10, addr: '2001:db8::1', port: 8080, scheduler: 'wrr', dests: [dest({ af: 10, addr: '2001:db8::2', port: 8080, fwd: FWD_MASQ })] }),
  ]);
  assert.equal(
    list('-S -n', s),
    '-A -t 10.0.0.100:80 -s wlc -p 360\n' +
      '-a -t 10.0.0.100:80 -r 192.168.1.2:80 -g -w 1\n' +
      '-a -t 10.0.0.100:80 -r 192.168.1.3:80 -m -w 3\n' +
      '-a -t 10.0.0.100:80 -r 192.168.1.4:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum\n' +
      '-a -t 10.0.0.100:80 -r 192.168.1.5:80 -i -w 1 --tun-type gre --tun-nocsum\n' +
      '-a -t 10.0.0.100:80 -r 192.168.1.6:80 -i -w 1 --tun-type ipip\n' +
      '-a -t 10.0.0.100:80 -r 192.168.1.7:80 -g -w 1\n' +
      '-A -u 10.0.0.100:53 -s rr -p 10 -M 255.255.255.0 --pe sip -o -b flag-1\n' +
      '-A -t [2001:db8::1]:8080 -s wrr\n' +
      '-a -t [2001:db8::1]:8080 -r [2001:db8::2]:8080 -m -w 1\n' +
      '-A -f 2 -6 -s sh -p 5 -M 96 -b sh-port\n',
  );
});

test('sorting: services by (fwmark, af, proto, addr, port), dests by (addr, port); --nosort keeps list order', () => {
  const s = snap([
    svc({ fwmark: 5 }),
    svc({ proto: IPPROTO_UDP, addr: '10.0.0.1', port: 53, scheduler: 'rr' }),
    svc({ af: 10, addr: '::1', port: 80 }),
    svc({
      addr: '192.168.0.1', port: 80,
      dests: [dest({ addr: '10.0.0.3', port: 80 }), dest({ addr: '10.0.0.1', port: 8080 }), dest({ addr: '10.0.0.1', port: 80 })],
    }),
    svc({ addr: '10.0.0.1', port: 443 }),
    svc({ addr: '10.0.0.1', port: 80 }),
  ]);
  const rows = (text: string) => text.split('\n').slice(3).filter((l) => l).map((l) => l.trim().replace(/ +/g, ' '));
  assert.deepEqual(rows(list('-L -n', s)), [
    'TCP 10.0.0.1:80 wlc',
    'TCP 10.0.0.1:443 wlc',
    'TCP 192.168.0.1:80 wlc',
    '-> 10.0.0.1:80 Route 1 0 0',
    '-> 10.0.0.1:8080 Route 1 0 0',
    '-> 10.0.0.3:80 Route 1 0 0',
    'UDP 10.0.0.1:53 rr',
    'TCP [::1]:80 wlc',
    'FWM 5 wlc',
  ]);
  assert.deepEqual(rows(list('-L -n --nosort', s)), [
    'FWM 5 wlc',
    'UDP 10.0.0.1:53 rr',
    'TCP [::1]:80 wlc',
    'TCP 192.168.0.1:80 wlc',
    '-> 10.0.0.3:80 Route 1 0 0',
    '-> 10.0.0.1:8080 Route 1 0 0',
    '-> 10.0.0.1:80 Route 1 0 0',
    'TCP 10.0.0.1:443 wlc',
    'TCP 10.0.0.1:80 wlc',
  ]);
});

test('names without -n: hosts and services files, truncation to 33 / 28 columns', () => {
  const names = resolverFromText(
    '10.0.0.100 www.example.org www\n192.168.1.2 a-very-long-real-server-name.example.org\n2001:db8::1 six.example\n',
    'http 80/tcp www\ndomain 53/udp\n',
  );
  const s = snap([
    svc({ addr: '10.0.0.100', port: 80, dests: [dest({ addr: '192.168.1.2', port: 80 }), dest({ addr: '192.168.1.3', port: 8080 })] }),
    svc({ proto: IPPROTO_UDP, addr: '10.0.0.100', port: 53 }),
    svc({ af: 10, addr: '2001:db8::1', port: 80 }),
  ]);
  assert.equal(
    list('-L', s, names).split('\n').slice(3).join('\n'),
    'TCP  www.example.org:http wlc\n' +
      '  -> a-very-long-real-server-name Route   1      0          0         \n' +
      '  -> 192.168.1.3:8080             Route   1      0          0         \n' +
      'UDP  www.example.org:domain wlc\n' +
      'TCP  [six.example]:http wlc\n',
  );
  assert.equal(
    list('-S', s, names).split('\n')[1],
    '-a -t www.example.org:http -r a-very-long-real-server-name.example.org:http -g -w 1',
  );
  const long = resolverFromText('10.0.0.1 abcdefghijklmnopqrstuvwxyz0123456789.example\n', '');
  assert.equal(
    list('-L --stats', snap([svc({ addr: '10.0.0.1', port: 80 })]), long).split('\n')[3],
    'TCP  abcdefghijklmnopqrstuvwxyz01        0        0        0        0        0',
  );
});

test('-L -c: connection entries, with and without --persistent-conn', () => {
  const conns: ConnSnapshot[] = [
    { proto: IPPROTO_TCP, af: 2, caddr: '10.1.1.1', cport: 51234, vaddr: '10.0.0.100', vport: 80, daf: 2, daddr: '192.168.1.2', dport: 80, state: 'ESTABLISHED', expires: 899, template: false },
    { proto: IPPROTO_TCP, af: 2, caddr: '10.1.1.1', cport: 0, vaddr: '10.0.0.100', vport: 80, daf: 2, daddr: '192.168.1.2', dport: 80, state: 'NONE', expires: 359, template: true },
    { proto: IPPROTO_IP, af: 2, caddr: '10.1.1.1', cport: 0, vaddr: '0.0.0.1', vport: 0, daf: 2, daddr: '192.168.1.2', dport: 0, state: 'NONE', expires: 6000, template: true },
    { proto: IPPROTO_UDP, af: 10, caddr: '2001:db8::9', cport: 5060, vaddr: '2001:db8::1', vport: 5060, daf: 10, daddr: '2001:db8::2', dport: 5060, state: 'UDP', expires: 65, template: true, peName: 'sip', peData: 'call-1@x' },
  ];
  const s = snap([], { connections: conns });
  assert.equal(
    list('-L -c -n', s),
    'IPVS connection entries\n' +
      'pro expire state       source             virtual            destination\n' +
      'TCP 14:59  ESTABLISHED 10.1.1.1:51234     10.0.0.100:80      192.168.1.2:80\n' +
      'TCP 05:59  NONE        10.1.1.1:0         10.0.0.100:80      192.168.1.2:80\n' +
      'IP  100:00 NONE        10.1.1.1:0         0.0.0.1:0          192.168.1.2:0\n' +
      'UDP 01:05  UDP         [2001:db8::9]:5060 [2001:db8::1]:5060 [2001:db8::2]:5060\n',
  );
  assert.equal(
    list('-L -c -n --persistent-conn', s).split('\n').filter((l, i) => i === 1 || i === 2 || i === 5).join('\n'),
    'pro expire state       source             virtual            destination        pe name          pe_data\n' +
      'TCP 14:59  ESTABLISHED 10.1.1.1:51234     10.0.0.100:80      192.168.1.2:80\n' +
      'UDP 01:05  UDP         [2001:db8::9]:5060 [2001:db8::1]:5060 [2001:db8::2]:5060 sip                call-1@x',
  );
  assert.equal(listConnections(snap([])), 'IPVS connection entries\npro expire state       source             virtual            destination\n');
});

test('--timeout and --daemon', () => {
  assert.equal(listTimeout(snap([])), 'Timeout (tcp tcpfin udp): 900 120 300\n');
  assert.equal(list('-L --timeout', snap([], { timeouts: { tcp: 1, tcpfin: 0, udp: 2678400 } })), 'Timeout (tcp tcpfin udp): 1 0 2678400\n');
  assert.equal(listDaemon(snap([])), '');
  assert.equal(
    list('-L --daemon', snap([], {
      daemons: [
        { state: 'backup', mcastIfn: 'eth1', syncid: 3, syncMaxlen: 0, mcastPort: 0, mcastTtl: 0 },
        { state: 'master', mcastIfn: 'eth0', syncid: 0, syncMaxlen: 1472, mcastGroup: '224.0.0.81', mcastPort: 8848, mcastTtl: 1 },
      ],
    })),
    'master sync daemon (mcast=eth0, syncid=0, maxlen=1472, group=224.0.0.81, port=8848, ttl=1)\n' +
      'backup sync daemon (mcast=eth1, syncid=3)\n',
  );
});

test('listAll / listService / saveRules defaults and the header size', () => {
  const s = snap([], { connTabSize: 1048576 });
  assert.equal(listAll(s, { numeric: true }), 'IP Virtual Server version 1.2.1 (size=1048576)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n');
  assert.equal(saveRules(s), '');
  assert.throws(() => listService(s, parseRef()), { message: 'No such service' });
});

function parseRef() {
  const c = parseArgs(['-L', '-t', '10.0.0.1:80'], { resolver: noNames });
  if (c.cmd !== 'list' || !c.service) throw new Error('no service');
  return c.service;
}
