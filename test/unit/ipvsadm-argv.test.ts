// ipvsadm front end: command-line parsing (src/ipvsadm/argv.ts). Messages and exit codes
// were checked against ipvsadm 1.31 built from source with a stub libipvs.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseArgs, IpvsadmError, type ParsedCommand } from '../../src/ipvsadm/argv';
import { resolverFromText } from '../../src/ipvsadm/names';
import { usageText, versionText } from '../../src/ipvsadm/usage';
import {
  AF_INET,
  AF_INET6,
  FWD_DROUTE,
  FWD_MASQ,
  FWD_TUNNEL,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  SVC_F_ONEPACKET,
  SVC_F_PERSISTENT,
} from '../../src/core/constants';

const names = resolverFromText(
  '127.0.0.1 localhost\n10.9.8.7 web.example web # comment\n2001:db8::7 v6only\n',
  'http 80/tcp www\nhttp 80/udp\ndomain 53/tcp\ndomain 53/udp\nsip 5060/sctp\n',
);

function parse(line: string | string[]): ParsedCommand {
  return parseArgs(typeof line === 'string' ? words(line) : line, { resolver: names });
}

function words(line: string): string[] {
  return line.split(' ').filter((w) => w.length > 0);
}

function fails(line: string | string[], message: string, exitCode = 2, fatal = true): void {
  assert.throws(
    () => parse(line),
    (e: unknown) => {
      assert.ok(e instanceof IpvsadmError, `not an IpvsadmError: ${String(e)}`);
      assert.equal(e.message, message, `message for ${JSON.stringify(line)}`);
      assert.equal(e.exitCode, exitCode, `exit code for ${JSON.stringify(line)}`);
      assert.equal(e.fatal, fatal, `fatal for ${JSON.stringify(line)}`);
      return true;
    },
  );
}

function as<K extends ParsedCommand['cmd']>(c: ParsedCommand, cmd: K): ParsedCommand & { cmd: K } {
  assert.equal(c.cmd, cmd);
  return c as ParsedCommand & { cmd: K };
}

const TRYHELP = "Try `ipvsadm -h' or 'ipvsadm --help' for more information.";

test('no arguments: list everything without -n', () => {
  const c = as(parse([]), 'list');
  assert.deepEqual(c, {
    cmd: 'list', numeric: false, format: 'default', connection: false, timeout: false,
    daemon: false, exact: false, nosort: false,
  });
});

test('-v and -h texts; they act before anything else is looked at', () => {
  assert.equal(versionText(), 'ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)\n');
  assert.deepEqual(parse('-v --bogus'), { cmd: 'version', text: versionText() });
  assert.deepEqual(parse('--version'), { cmd: 'version', text: versionText() });
  const h = as(parse('-h -Q'), 'help');
  assert.equal(h.text, usageText());
  assert.deepEqual(parse('--help'), h);
  const lines = h.text.split('\n');
  assert.equal(lines[0], 'ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)');
  assert.equal(lines[1], 'Usage:');
  assert.equal(lines[2], '  ipvsadm -A|E virtual-service [-s scheduler] [-p [timeout]] [-M netmask] [--pe persistence_engine] [-b sched-flags]');
  assert.ok(lines.includes('  --scheduler    -s scheduler         one of rr|wrr|lc|wlc|lblc|lblcr|dh|sh|sed|nq|fo|ovf|mh,'));
  assert.ok(lines.includes('  --syncid sid                        syncid for connection sync (default=255)'));
  assert.equal(lines.length, 83);
  assert.equal(h.text.at(-1), '\n');
  assert.ok(usageText('/sbin/ipvsadm').includes('  /sbin/ipvsadm -C\n'));
});

test('the first option must be a command (tryhelp, exit 255)', () => {
  for (const line of ['-n', '-n -L', 'foo', '--bogus', '-L=3', '--list=3', '-t 10.0.0.1:80 -A', '--start-daemon']) {
    fails(line, TRYHELP, 255, true);
  }
  assert.throws(() => parseArgs(['-n'], { program: '/sbin/ipvsadm' }), {
    message: "Try `/sbin/ipvsadm -h' or '/sbin/ipvsadm --help' for more information.",
  });
  // leftovers before the first option do not count as options
  fails('foo -L', 'unexpected argument foo');
});

test('popt errors after the command: "<word>: <text>", exit 255, not fatal for -R', () => {
  fails('-L --bogus', '--bogus: unknown option', 255, false);
  fails('-L -q', '-q: unknown option', 255, false);
  fails('-Lnq', '-Lnq: unknown option', 255, false);
  fails('-A -t', '-t: missing argument', 255, false);
  fails('-At', '-At: missing argument', 255, false);
  fails('-A -t 10.0.0.1:80 --scheduler', '--scheduler: missing argument', 255, false);
  fails('-L --stats=1', '--stats=1: option does not take an argument', 255, false);
  fails('-A -t 10.0.0.1:80 -o=', '-o=: option does not take an argument', 255, false);
  // option errors met earlier win; popt errors met earlier win
  fails('-A -t bad..x:80 --bogus', 'illegal virtual server address[:port] specified');
  fails('-A --bogus -t bad..x:80', '--bogus: unknown option', 255, false);
});

test('a second command is "invalid option" naming the last word popt consumed', () => {
  fails('-L -A', "invalid option `-A'");
  fails('-LA', "invalid option `-LA'");
  fails('-L -h', "invalid option `-h'");
  fails('-L --start-daemon master', "invalid option `master'");
  fails('-A -t 10.0.0.1:80 -D', "invalid option `-D'");
});

test('bundling and argument forms', () => {
  const l = as(parse('-Ln'), 'list');
  assert.equal(l.numeric, true);
  for (const line of ['-At 10.0.0.1:80', '-A -t10.0.0.1:80', '-A -t=10.0.0.1:80', '-A --tcp-service=10.0.0.1:80', '-A --tcp-service 10.0.0.1:80', '--add-service -t 10.0.0.1:80']) {
    const c = as(parse(line), 'add-service');
    assert.equal(c.service.addr.toString(), '10.0.0.1', line);
    assert.equal(c.service.port, 80, line);
    assert.equal(c.service.proto, IPPROTO_TCP, line);
  }
  const a = as(parse('-a -t 10.0.0.1:80 -r10.0.0.2:99 -mw5'), 'add-server');
  assert.equal(a.dest.fwd, FWD_MASQ);
  assert.equal(a.dest.weight, 5);
  assert.equal(a.dest.port, 99);
  const w = as(parse('-a -t 10.0.0.1:80 -r 10.0.0.2 -w=7 --u-threshold=9'), 'add-server');
  assert.equal(w.dest.weight, 7);
  assert.equal(w.dest.uThreshold, 9);
  // a required argument takes the next word even if it starts with '-'
  fails('-a -t 10.0.0.1:80 -r 10.0.0.2 -w -1', 'illegal weight specified');
  // "--" ends the options; "-" alone is an argument
  fails('-L -- -n', 'unexpected argument -n');
  fails('-L -', 'unexpected argument -');
  // --sort is a no-op that may even repeat
  assert.equal(as(parse('-L --sort --sort'), 'list').nosort, false);
  assert.equal(as(parse('-l'), 'list').cmd, 'list');
});

test('-p takes the next word only when it does not start with "-"', () => {
  const svc = (line: string) => as(parse(line), 'add-service').service;
  assert.equal(svc('-A -t 10.0.0.1:80 -p').timeout, 360);
  assert.equal(svc('-A -t 10.0.0.1:80 -p -s rr').timeout, 360);
  assert.equal(svc('-A -t 10.0.0.1:80 -p -s rr').scheduler, 'rr');
  assert.equal(svc('-A -p -t 10.0.0.1:80').timeout, 360);
  assert.equal(svc('-A -t 10.0.0.1:80 -p 30').timeout, 30);
  assert.equal(svc('-A -t 10.0.0.1:80 -p30').timeout, 30);
  assert.equal(svc('-A -t 10.0.0.1:80 -p=30').timeout, 30);
  assert.equal(svc('-A -t 10.0.0.1:80 --persistent=30').timeout, 30);
  assert.equal(svc('-A -t 10.0.0.1:80 -p +30').timeout, 30);
  assert.equal(svc('-A -t 10.0.0.1:80 -p 2678400').timeout, 2678400);
  assert.equal(svc('-A -t 10.0.0.1:80 -p').flags, SVC_F_PERSISTENT);
  assert.equal(svc('-A -u 10.0.0.1:53 -op').flags, SVC_F_PERSISTENT | SVC_F_ONEPACKET);
  assert.equal(svc('-A -u 10.0.0.1:53 -op').timeout, 360);
  fails('-A -t 10.0.0.1:80 -p 0', "invalid timeout value `0' specified");
  fails('-A -t 10.0.0.1:80 -p 2678401', "invalid timeout value `2678401' specified");
  fails('-A -t 10.0.0.1:80 -p abc', "invalid timeout value `abc' specified");
  fails('-A -t 10.0.0.1:80 --persistent=', "invalid timeout value `' specified");
  fails(['-A', '-t', '10.0.0.1:80', '-p', ''], "invalid timeout value `' specified");
  fails('-A -t 10.0.0.1:80 -ps', "invalid timeout value `s' specified");
  fails('-A -t 10.0.0.1:80 -p 10.0.0.2', "invalid timeout value `10.0.0.2' specified");
  // "-p -5": -5 is not taken as the argument, so it is an (unknown) option
  fails('-A -t 10.0.0.1:80 -p -5', '-5: unknown option', 255, false);
});

test('-A fills ipvsadm defaults', () => {
  const c = as(parse('-A -t 10.0.0.1:80'), 'add-service');
  assert.equal(c.service.af, AF_INET);
  assert.equal(c.service.fwmark, 0);
  assert.equal(c.service.scheduler, 'wlc');
  assert.equal(c.service.flags, 0);
  assert.equal(c.service.schedFlags, 0);
  assert.equal(c.service.timeout, 0);
  assert.equal(c.service.netmask, 0xffffffff);
  assert.equal(c.service.pe, '');
  assert.equal(as(parse(['-A', '-t', '10.0.0.1:80', '-s', '']), 'add-service').service.scheduler, 'wlc');
  assert.equal(as(parse('-A -t 10.0.0.1:80 -s abcdefghijklmnopqrstuvwxyz'), 'add-service').service.scheduler, 'abcdefghijklmno');
  assert.equal(as(parse('-A -t 10.0.0.1:80 -p --pe abcdefghijklmnopqrstuvwxyz'), 'add-service').service.pe, 'abcdefghijklmnop');
});

test('-E is a full replacement: omitted options fall back to the defaults', () => {
  const c = as(parse('-E -t 10.0.0.1:80'), 'edit-service');
  assert.deepEqual(
    { sched: c.service.scheduler, flags: c.service.flags, sf: c.service.schedFlags, t: c.service.timeout, m: c.service.netmask, pe: c.service.pe },
    { sched: 'wlc', flags: 0, sf: 0, t: 0, m: 0xffffffff, pe: '' },
  );
  const full = as(parse('-E -u 10.0.0.1:53 -s sh -b sh-port -p 30 -M 255.255.255.0 -o --pe sip'), 'edit-service');
  assert.equal(full.service.proto, IPPROTO_UDP);
  assert.equal(full.service.scheduler, 'sh');
  assert.equal(full.service.flags, SVC_F_PERSISTENT | SVC_F_ONEPACKET);
  assert.equal(full.service.schedFlags, 0x10);
  assert.equal(full.service.timeout, 30);
  assert.equal(full.service.netmask, 0xffffff00);
  assert.equal(full.service.pe, 'sip');
});

test('-e is a full replacement: weight 1, -g, thresholds 0', () => {
  const c = as(parse('-e -t 10.0.0.1:80 -r 10.0.0.2'), 'edit-server');
  assert.deepEqual(
    { w: c.dest.weight, fwd: c.dest.fwd, u: c.dest.uThreshold, l: c.dest.lThreshold },
    { w: 1, fwd: FWD_DROUTE, u: 0, l: 0 },
  );
  assert.deepEqual(c.tunnel, { type: 'ipip', port: 0, flags: 0 });
  const m = as(parse('-e -t 10.0.0.1:80 -r 10.0.0.2:8080 -m -w 0 -x 10 -y 2'), 'edit-server');
  assert.deepEqual(
    { w: m.dest.weight, fwd: m.dest.fwd, u: m.dest.uThreshold, l: m.dest.lThreshold, port: m.dest.port },
    { w: 0, fwd: FWD_MASQ, u: 10, l: 2, port: 8080 },
  );
});

test('real-server port: defaults to the service port; DR/TUN forced for -a/-e only', () => {
  const port = (line: string): number => {
    const c = parse(line);
    if (c.cmd === 'add-server' || c.cmd === 'edit-server' || c.cmd === 'delete-server') return c.dest.port;
    throw new Error(c.cmd);
  };
  assert.equal(port('-a -t 10.0.0.1:80 -r 10.0.0.2'), 80);
  assert.equal(port('-a -t 10.0.0.1:80 -r 10.0.0.2:8080'), 80); // -g forced
  assert.equal(port('-a -t 10.0.0.1:80 -r 10.0.0.2:8080 -i'), 80); // -i forced
  assert.equal(port('-e -t 10.0.0.1:80 -r 10.0.0.2:8080 -g'), 80);
  assert.equal(port('-a -t 10.0.0.1:80 -r 10.0.0.2:8080 -m'), 8080);
  assert.equal(port('-d -t 10.0.0.1:80 -r 10.0.0.2:8080'), 8080); // not for -d
  assert.equal(port('-d -t 10.0.0.1:80 -r 10.0.0.2'), 80);
  assert.equal(port('-a -f 3 -r 10.0.0.2:8080'), 8080); // not for fwmark services
  assert.equal(port('-a -f 3 -r 10.0.0.2'), 0);
  // -r before the service: the service port is not known yet
  assert.equal(port('-a -r 10.0.0.2 -t 10.0.0.1:80 -m'), 0);
  assert.equal(port('-a -t 10.0.0.1:80 -r 10.0.0.2:http -m'), 80);
  fails('-a -r 10.0.0.2:http -t 10.0.0.1:80 -m', 'illegal real server address[:port] specified');
  const d = as(parse('-d -t 10.0.0.1:80 -r 10.0.0.2:8080 '), 'delete-server');
  assert.deepEqual(Object.keys(d.dest).sort(), ['addr', 'port']);
});

test('addresses: IPv4 forms, [v6]:port, names from hosts and services files', () => {
  const svc = (line: string) => as(parse(line), 'add-service').service;
  assert.equal(svc('-A -t 10.1:80').addr.toString(), '10.0.0.1');
  assert.equal(svc('-A -t 0x0a000001:80').addr.toString(), '10.0.0.1');
  assert.equal(svc('-A -t 010.0.0.1:80').addr.toString(), '8.0.0.1');
  assert.equal(svc('-A -t 123:80').addr.toString(), '0.0.0.123');
  assert.equal(svc('-A -t 10.0.0.1:http').port, 80);
  assert.equal(svc('-A -t 10.0.0.1:www').port, 80);
  assert.equal(svc('-A -u 10.0.0.1:domain').port, 53);
  assert.equal(svc('-A --sctp-service 10.0.0.1:sip').proto, IPPROTO_SCTP);
  assert.equal(svc('-A -t web.example:80').addr.toString(), '10.9.8.7');
  assert.equal(svc('-A -t WEB:80').addr.toString(), '10.9.8.7');
  assert.equal(svc('-A -t 10.0.0.1:+80').port, 80);
  const v6 = svc('-A -t [2001:db8::1]:443');
  assert.equal(v6.af, AF_INET6);
  assert.equal(v6.addr.toString(), '2001:db8::1');
  assert.equal(v6.port, 443);
  assert.equal(v6.netmask, 128);
  const bare = svc('-A -t 2001:db8::1 -p');
  assert.equal(bare.port, 0);
  // quirk: a non-IPv6 address in brackets loses its port
  assert.equal(svc('-A -t [1.2.3.4]:80 -p').port, 0);
  const bad = 'illegal virtual server address[:port] specified';
  for (const a of ['80', '', '[2001:db8::1]', '[2001:db8::1]:', '[::1', '[::1]x80', '10.0.0.1:65536', '10.0.0.1:-1',
    '10.0.0.256:80', '08.0.0.1:80', 'v6only:80', 'nosuch.invalid:80', '10.0.0.1:sip', 'fe80::1%eth0', '1.2.3.4.5:80']) {
    fails(['-A', '-t', a], bad);
  }
  fails('-a -t 10.0.0.1:80 -r bad..addr', 'illegal real server address[:port] specified');
});

test('fwmark services, -6 and -M', () => {
  const f = as(parse('-A -f 1'), 'add-service').service;
  assert.deepEqual({ af: f.af, proto: f.proto, fw: f.fwmark, port: f.port, addr: f.addr.toString() }, { af: AF_INET, proto: IPPROTO_TCP, fw: 1, port: 0, addr: '0.0.0.0' });
  const f6 = as(parse('-A -f 4294967295 -6 -p -M 64'), 'add-service').service;
  assert.deepEqual({ af: f6.af, fw: f6.fwmark, m: f6.netmask, addr: f6.addr.toString() }, { af: AF_INET6, fw: 4294967295, m: 64, addr: '::' });
  // -M before -6 is parsed as an IPv4 mask, then -6 resets it
  assert.equal(as(parse('-A -f 1 -M 255.255.0.0 -6 -p'), 'add-service').service.netmask, 128);
  assert.equal(as(parse('-A -f 1 -M 255.255.0.0 -p'), 'add-service').service.netmask, 0xffff0000);
  assert.equal(as(parse('-A -t 10.0.0.1:80 -p -M 24'), 'add-service').service.netmask, 24); // inet_aton("24") = 0.0.0.24
  assert.equal(as(parse('-A -t 10.0.0.1:80 -p -M 0xffffff00'), 'add-service').service.netmask, 0xffffff00);
  assert.equal(as(parse('-A -t 10.0.0.1:80 -p -M localhost'), 'add-service').service.netmask, 0x7f000001);
  assert.equal(as(parse('-A -t [2001:db8::1]:80 -p -M 64abc'), 'add-service').service.netmask, 64);
  // -M before the IPv6 service option: taken as IPv4, then the v6 address resets it to 128
  assert.equal(as(parse('-A -M 64 -t [2001:db8::1]:80 -p'), 'add-service').service.netmask, 128);
  fails('-A -f 0', "invalid fwmark value `0' specified");
  fails('-A -f -1', "invalid fwmark value `-1' specified");
  fails('-A -f 4294967296', "invalid fwmark value `4294967296' specified");
  fails('-A -f abc', "invalid fwmark value `abc' specified");
  fails('-A -6 -f 1', '-6 used before -f\n');
  fails('-A -t 10.0.0.1:80 -6', '-6 used before -f\n');
  fails('-A -t 10.0.0.1:80 -p -M 255.255.255.0.0', 'illegal virtual server persistent mask specified');
  fails('-A -t 10.0.0.1:80 -p -M nosuch.invalid', 'illegal virtual server persistent mask specified');
  fails('-A -t [2001:db8::1]:80 -p -M 129', 'illegal ipv6 netmask specified');
  fails('-A -t [2001:db8::1]:80 -p -M 0', 'illegal ipv6 netmask specified');
  fails('-A -t [2001:db8::1]:80 -p -M abc', 'illegal ipv6 netmask specified');
});

test('-b scheduler flags', () => {
  const sf = (line: string) => as(parse(line), 'add-service').service.schedFlags;
  assert.equal(sf('-A -t 10.0.0.1:80 -b flag-1,flag-2,flag-3'), 0x38);
  assert.equal(sf('-A -t 10.0.0.1:80 -b flag-1,,flag-3'), 0x28);
  assert.equal(sf('-A -t 10.0.0.1:80 -s sh -b sh-port,sh-fallback'), 0x18);
  assert.equal(sf('-A -t 10.0.0.1:80 -b sh-port -s sh'), 0x10); // checked after all options
  assert.equal(sf('-A -t 10.0.0.1:80 -s mh -b mh-fallback'), 0x08);
  assert.equal(as(parse(['-A', '-t', '10.0.0.1:80', '-b', '', '-s', 'rr']), 'add-service').service.schedFlags, 0);
  // a required argument takes the next word, even an option
  fails('-A -t 10.0.0.1:80 -b -s', "invalid scheduler flag `-s'");
  fails('-A -t 10.0.0.1:80 -b -s rr', 'unexpected argument rr');
  fails('-A -t 10.0.0.1:80 -b sh-port', "incompatible scheduler flag `sh-port'");
  fails('-A -t 10.0.0.1:80 -s mh -b sh-fallback', "incompatible scheduler flag `sh-fallback'");
  fails('-A -t 10.0.0.1:80 -s sh -b mh-port', "incompatible scheduler flag `mh-port'");
  fails('-A -t 10.0.0.1:80 -b bogus', "invalid scheduler flag `bogus'");
  fails('-A -t 10.0.0.1:80 -s sh -b sh-port,bogus', "invalid scheduler flag `bogus'");
  // flags are checked before the command x option table
  fails('-A -t 10.0.0.1:80 -b bogus -r 1.2.3.4', "invalid scheduler flag `bogus'");
  fails('-L -b bogus', "invalid scheduler flag `bogus'");
});

test('zero port, one-packet scheduling', () => {
  fails('-A -t 10.0.0.1', 'Zero port specified for non-persistent service');
  fails('-E -t 10.0.0.1:0', 'Zero port specified for non-persistent service');
  assert.equal(as(parse('-A -t 10.0.0.1:0 -p 30'), 'add-service').service.port, 0);
  assert.equal(as(parse('-A -f 5'), 'add-service').service.port, 0);
  assert.equal(as(parse('-A -u 10.0.0.1:53 -o'), 'add-service').service.flags, SVC_F_ONEPACKET);
  assert.equal(as(parse('-A -f 5 -o'), 'add-service').service.flags, SVC_F_ONEPACKET);
  fails('-A -t 10.0.0.1:80 -o', 'One-Packet Scheduling is only for UDP virtual services');
  fails('-A --sctp-service 10.0.0.1:80 -o', 'One-Packet Scheduling is only for UDP virtual services');
  fails('-A -t 10.0.0.1:0 -o', 'Zero port specified for non-persistent service');
});

test('weights, thresholds and their ranges', () => {
  const d = (line: string) => as(parse(line), 'add-server').dest;
  assert.equal(d('-a -t 10.0.0.1:80 -r 10.0.0.2 -w 0').weight, 0);
  assert.equal(d('-a -t 10.0.0.1:80 -r 10.0.0.2 -w 65535').weight, 65535);
  assert.equal(d('-a -t 10.0.0.1:80 -r 10.0.0.2 -w -0').weight, 0);
  assert.equal(d('-a -t 10.0.0.1:80 -r 10.0.0.2 -x 2147483647').uThreshold, 2147483647);
  assert.equal(as(parse(['-a', '-t', '10.0.0.1:80', '-r', '10.0.0.2', '-w', ' 5']), 'add-server').dest.weight, 5);
  fails('-a -t 10.0.0.1:80 -r 10.0.0.2 -w 65536', 'illegal weight specified');
  fails('-a -t 10.0.0.1:80 -r 10.0.0.2 -w x', 'illegal weight specified');
  fails('-a -t 10.0.0.1:80 -r 10.0.0.2 -w 5x', 'illegal weight specified');
  fails('-a -t 10.0.0.1:80 -r 10.0.0.2 -w 99999999999999999999', 'illegal weight specified');
  fails('-a -t 10.0.0.1:80 -r 10.0.0.2 -x 2147483648', 'illegal u_threshold specified');
  fails('-a -t 10.0.0.1:80 -r 10.0.0.2 -y 2147483648', 'illegal l_threshold specified');
  fails('-a -t 10.0.0.1:80 -r 10.0.0.2 -y -5', 'illegal l_threshold specified');
  // -y > -x is the kernel's ERANGE, not a parse error
  assert.equal(d('-a -t 10.0.0.1:80 -r 10.0.0.2 -x 10 -y 20').lThreshold, 20);
});

test('address families of real servers and tunnel options', () => {
  fails('-a -t 10.0.0.1:80 -r 2001:db8::2', 'Different address family is allowed only for tunneling servers');
  fails('-a -f 3 -r [2001:db8::2]:8080', 'Different address family is allowed only for tunneling servers');
  const t = as(parse('-a -t 10.0.0.1:80 -r 2001:db8::2 -i'), 'add-server');
  assert.equal(t.dest.addr.af, AF_INET6);
  assert.equal(t.dest.fwd, FWD_TUNNEL);
  const gue = as(parse('-a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-type gue --tun-port 6080 --tun-remcsum'), 'add-server');
  assert.deepEqual(gue.tunnel, { type: 'gue', port: 6080, flags: 2 });
  assert.deepEqual(as(parse('-a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-type gre --tun-csum'), 'add-server').tunnel, { type: 'gre', port: 0, flags: 1 });
  fails('-a -t 10.0.0.1:80 -r 10.0.0.2 --tun-type ipip', 'Tunnel options conflict with forward method');
  fails('-a -t 10.0.0.1:80 -r 10.0.0.2 -m --tun-csum', 'Tunnel options conflict with forward method');
  fails('-a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-type vxlan', 'illegal tunnel type specified');
  fails('-a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-type gue', "You need to supply the 'tun-port' option for the 'gue' tunnel type");
  fails('-a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-port 5', "Illegal 'tun-port' option with the 'ipip' tunnel type");
  fails('-a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-csum', "Illegal 'tun-csum' option with the 'ipip' tunnel type");
  fails('-a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-type gre --tun-port 5', "Illegal 'tun-port' option with the 'gre' tunnel type");
  fails('-a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-type gre --tun-remcsum', "Illegal 'tun-remcsum' option with the 'gre' tunnel type");
  fails('-a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-type gue --tun-port 1 --tun-csum --tun-remcsum',
    "The option 'tun-remcsum' conflicts with the 'tun-csum' option in the 'gue' tunnel type");
  fails('-a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-type gue --tun-port 0', 'illegal tunnel port specified');
  fails('-a -t 10.0.0.1:80 -r 10.0.0.2 -i --tun-type gue --tun-port 65536', 'illegal tunnel port specified');
});

test('command x option table', () => {
  fails('-A', "You need to supply the 'service-address' option for the 'add-service' command");
  fails('-A -s rr', "You need to supply the 'service-address' option for the 'add-service' command");
  fails('-D', "You need to supply the 'service-address' option for the 'delete-service' command");
  fails('-a -t 10.0.0.1:80', "You need to supply the 'real-server' option for the 'add-server' command");
  fails('-a -r 10.0.0.2', "You need to supply the 'service-address' option for the 'add-server' command");
  fails('-A -t 10.0.0.1:80 -n', "Illegal 'numeric' option with the 'add-service' command");
  fails('-A -t 10.0.0.1:80 -r 1.2.3.4', "Illegal 'real-server' option with the 'add-service' command");
  fails('-A -t 10.0.0.1:80 -w 3', "Illegal 'weight' option with the 'add-service' command");
  fails('-D -t 10.0.0.1:80 -s rr', "Illegal 'scheduler' option with the 'delete-service' command");
  fails('-a -t 10.0.0.1:80 -r 10.0.0.2 -s rr', "Illegal 'scheduler' option with the 'add-server' command");
  fails('-a -t 10.0.0.1:80 -r 10.0.0.2 -p', "Illegal 'persistent' option with the 'add-server' command");
  fails('-d -t 10.0.0.1:80 -r 10.0.0.2 -w 3', "Illegal 'weight' option with the 'delete-server' command");
  fails('-d -t 10.0.0.1:80 -r 10.0.0.2 -m', "Illegal 'forwarding-method' option with the 'delete-server' command");
  fails('-C -n', "Illegal 'numeric' option with the 'flush' command");
  fails('-R -n', "Illegal 'numeric' option with the 'restore' command");
  fails('-S -c', "Illegal 'connection' option with the 'save' command");
  fails('-S -t 10.0.0.1:80', "Illegal 'service-address' option with the 'save' command");
  fails('-Z -n', "Illegal 'numeric' option with the 'zero' command");
  fails('-L -s rr', "Illegal 'scheduler' option with the 'list' command");
  fails('-L -r 1.2.3.4', "Illegal 'real-server' option with the 'list' command");
  fails('-L -o', "Illegal 'ops' option with the 'list' command");
  fails('--set 1 2 3 -n', "Illegal 'numeric' option with the 'set' command");
  fails('--start-daemon backup -n', "Illegal 'numeric' option with the 'start-daemon' command");
  fails('--stop-daemon backup --mcast-interface eth0', "Illegal 'mcast-interface' option with the 'stop-daemon' command");
  fails('-L -c --timeout', "The option 'timeout' conflicts with the 'connection' option in the 'list' command");
  fails('-L --timeout --daemon', "The option 'daemon' conflicts with the 'timeout' option in the 'list' command");
  fails('-L -c -t 10.0.0.1:80', "The option 'service-address' conflicts with the 'connection' option in the 'list' command");
  fails('-L --daemon -t 10.0.0.1:80', "The option 'daemon' conflicts with the 'service-address' option in the 'list' command");
  fails('-L -c --stats', 'options conflicts in the list command');
  fails('-L --daemon --thresholds', 'options conflicts in the list command');
  fails('-L --timeout --persistent-conn', 'options conflicts in the list command');
  fails('-S -n -n', "multiple 'numeric' options specified");
  fails('-A -t 10.0.0.1:80 -t 10.0.0.2:80', "multiple 'service-address' options specified");
  fails('-A -t 10.0.0.1:80 -f 3', "multiple 'service-address' options specified");
  fails('-a -t 10.0.0.1:80 -r 10.0.0.2 -gm', "multiple 'forwarding-method' options specified");
  fails('-A -t 10.0.0.1:80 -p 10 -p', "multiple 'persistent' options specified");
  fails('-L --nosort --nosort', "multiple 'nosort' options specified");
  fails('-A -t 10.0.0.1:80 extra', 'unexpected argument extra');
  fails('-C extra', 'unexpected argument extra');
  fails('-R extra', 'unexpected argument extra');
  // -L accepts --syncid (ipvsadm's table allows it)
  assert.equal(parse('-L --syncid 5').cmd, 'list');
});

test('list options and format precedence', () => {
  const l = (line: string) => as(parse(line), 'list');
  assert.equal(l('-L --tun-info --persistent-conn').format, 'persistent-conn');
  assert.equal(l('-L --thresholds --tun-info --persistent-conn').format, 'thresholds');
  assert.equal(l('-L --rate --thresholds').format, 'rate');
  assert.equal(l('-L --rate --stats').format, 'stats');
  const c = l('-L -c -n --persistent-conn');
  assert.deepEqual([c.connection, c.numeric, c.format], [true, true, 'persistent-conn']);
  assert.equal(l('-L --timeout').timeout, true);
  assert.equal(l('-L --daemon').daemon, true);
  assert.equal(l('-L -X').exact, true);
  assert.equal(l('-L --exact --nosort').nosort, true);
  const s = l('-L -n -t 10.0.0.1:80');
  assert.equal(s.service?.addr.toString(), '10.0.0.1');
  assert.equal(s.service?.port, 80);
  const f6 = l('-L -f 7 -6');
  assert.deepEqual([f6.service?.fwmark, f6.service?.af], [7, AF_INET6]);
  assert.equal(l('-L').service, undefined);
});

test('other commands: -C -R -S -Z -D', () => {
  assert.deepEqual(parse('-C'), { cmd: 'flush' });
  assert.deepEqual(parse('--clear'), { cmd: 'flush' });
  assert.deepEqual(parse('-R'), { cmd: 'restore' });
  assert.deepEqual(parse('-S'), { cmd: 'save', numeric: false });
  assert.deepEqual(parse('-S -n'), { cmd: 'save', numeric: true });
  assert.deepEqual(parse('-Z'), { cmd: 'zero' });
  const z = as(parse('-Z -u 10.0.0.1:53'), 'zero');
  assert.equal(z.service?.proto, IPPROTO_UDP);
  const d = as(parse('-D -f 7 -6'), 'delete-service');
  assert.deepEqual([d.service.fwmark, d.service.af], [7, AF_INET6]);
  // -R inside -R
  assert.throws(() => parseArgs(['-R'], { readingStdin: true, resolver: names }), { message: TRYHELP, exitCode: 255 });
});

test('--set', () => {
  assert.deepEqual(parse('--set 1 2 3'), { cmd: 'set', timeouts: { tcp: 1, tcpfin: 2, udp: 3 } });
  assert.deepEqual(parse('--set 0 0 2678400'), { cmd: 'set', timeouts: { tcp: 0, tcpfin: 0, udp: 2678400 } });
  assert.deepEqual(parse('1 --set 2 3'), { cmd: 'set', timeouts: { tcp: 1, tcpfin: 2, udp: 3 } });
  fails('--set 1 2', '--set option requires 3 timeout values');
  fails('--set', '--set option requires 3 timeout values');
  fails('--set 1 2 3 4', 'unexpected argument 4');
  fails('--set 0 0 2678401', "invalid timeout value `2678401' specified");
  fails('--set a 2 3', "invalid timeout value `a' specified");
  fails('--set -1 2 3', '-1: unknown option', 255, false);
});

test('--start-daemon and --stop-daemon', () => {
  const s = as(parse('--start-daemon master'), 'start-daemon');
  assert.deepEqual({ ...s.daemon, mcastGroup: null }, {
    state: 'master', mcastIfn: 'eth0', syncid: 0, syncMaxlen: 0, mcastGroup: null, mcastPort: 0, mcastTtl: 0,
  });
  assert.equal(as(parse('--start-daemon=backup'), 'start-daemon').daemon.state, 'backup');
  const full = as(parse('--start-daemon backup --mcast-interface abcdefghijklmnopqrstuvw --syncid 255 --mcast-group ff02::1 --mcast-port 8848 --mcast-ttl 255 --sync-maxlen 65507'), 'start-daemon');
  assert.equal(full.daemon.mcastIfn, 'abcdefghijklmno');
  assert.equal(full.daemon.syncid, 255);
  assert.equal(full.daemon.mcastGroup?.toString(), 'ff02::1');
  assert.deepEqual([full.daemon.mcastPort, full.daemon.mcastTtl, full.daemon.syncMaxlen], [8848, 255, 65507]);
  assert.equal(as(parse('--start-daemon master --mcast-group 224.0.0.81'), 'start-daemon').daemon.mcastGroup?.af, AF_INET);
  assert.deepEqual(parse('--stop-daemon backup --syncid 3'), { cmd: 'stop-daemon', daemon: { state: 'backup', syncid: 3 } });
  fails('--start-daemon foo', 'illegal start-daemon parameter specified');
  fails('--stop-daemon foo', 'illegal start_daemon specified');
  fails('--start-daemon master --syncid 256', 'illegal syncid specified');
  fails('--start-daemon master --syncid -1', 'illegal syncid specified');
  fails('--start-daemon master --mcast-group 10.0.0.1', "invalid IPv4 mcast-group `10.0.0.1'");
  fails('--start-daemon master --mcast-group 224.0.0', "invalid IPv4 mcast-group `224.0.0'");
  fails('--start-daemon master --mcast-group fe80::1', "invalid IPv6 mcast-group `fe80::1'");
  fails('--start-daemon master --mcast-port 0', 'illegal mcast-port specified');
  fails('--start-daemon master --mcast-ttl 256', 'illegal mcast-ttl specified');
  fails('--start-daemon master --sync-maxlen 65508', 'illegal sync-maxlen specified');
});
