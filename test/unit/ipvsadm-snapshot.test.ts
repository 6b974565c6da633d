// ipvsadm front end against the live model: parsed commands applied to a ServiceTable,
// snapshotFromTable(), and the listings made from that snapshot.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ServiceTable } from '../../src/core/services';
import { Addr } from '../../src/core/addr';
import { FWD_DROUTE, IPPROTO_TCP, AF_INET } from '../../src/core/constants';
import { IpvsError } from '../../src/core/errors';
import { parseArgs, type ParsedCommand } from '../../src/ipvsadm/argv';
import { noNames } from '../../src/ipvsadm/names';
import { renderList, saveRules } from '../../src/ipvsadm/list';
import { snapshotFromTable, type IpvsSnapshot } from '../../src/ipvsadm/snapshot';

function run(table: ServiceTable, line: string): void {
  const c: ParsedCommand = parseArgs(line.split(' '), { resolver: noNames });
  switch (c.cmd) {
    case 'add-service': table.addService(c.service); return;
    case 'edit-service': table.editService(c.service); return;
    case 'delete-service': table.deleteService(c.service); return;
    case 'add-server': table.addDest(c.service, c.dest); return;
    case 'edit-server': table.editDest(c.service, c.dest); return;
    case 'delete-server': table.deleteDest(c.service, c.dest.addr, c.dest.port); return;
    default: throw new Error(`not a table command: ${c.cmd}`);
  }
}

function list(line: string, snap: IpvsSnapshot): string {
  const c = parseArgs(line.split(' '), { resolver: noNames });
  if (c.cmd === 'list') return renderList(c, snap, noNames);
  if (c.cmd === 'save') return saveRules(snap, c, noNames);
  throw new Error(c.cmd);
}

test('a table built from ipvsadm commands lists like ipvsadm', () => {
  const t = new ServiceTable();
  run(t, '-A -t 10.0.0.100:80 -s rr -p');
  run(t, '-a -t 10.0.0.100:80 -r 192.168.1.2 -g');
  run(t, '-a -t 10.0.0.100:80 -r 192.168.1.3:8080 -m -w 3 -x 100 -y 10');
  run(t, '-A -u 10.0.0.100:53 -s wrr -o');
  const snap = snapshotFromTable(t);
  assert.deepEqual(JSON.parse(JSON.stringify(snap)), snap, 'JSON-serialisable');
  assert.equal(
    list('-L -n', snap),
    'IP Virtual Server version 1.2.1 (size=4096)\n' +
      'Prot LocalAddress:Port Scheduler Flags\n' +
      '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n' +
      'TCP  10.0.0.100:80 rr persistent 360\n' +
      '  -> 192.168.1.2:80               Route   1      0          0         \n' +
      '  -> 192.168.1.3:8080             Masq    3      0          0         \n' +
      'UDP  10.0.0.100:53 wrr ops\n',
  );
  assert.equal(
    list('-S -n', snap),
    '-A -t 10.0.0.100:80 -s rr -p 360\n' +
      '-a -t 10.0.0.100:80 -r 192.168.1.2:80 -g -w 1\n' +
      '-a -t 10.0.0.100:80 -r 192.168.1.3:8080 -m -w 3\n' +
      '-A -u 10.0.0.100:53 -s wrr -o\n',
  );
  assert.equal(list('-L -n --thresholds -t 10.0.0.100:80', snap).split('\n')[4], '  -> 192.168.1.3:8080             100        10         0          0         ');
});

test('dest order in the snapshot is list order (newest first); --nosort shows it', () => {
  const t = new ServiceTable();
  run(t, '-A -t 10.0.0.1:80');
  run(t, '-a -t 10.0.0.1:80 -r 10.0.0.2');
  run(t, '-a -t 10.0.0.1:80 -r 10.0.0.3');
  run(t, '-a -t 10.0.0.1:80 -r 10.0.0.1');
  const snap = snapshotFromTable(t, { connTabSize: 256, timeouts: { tcp: 1, tcpfin: 2, udp: 3 } });
  assert.deepEqual(snap.services[0].dests.map((d) => d.addr), ['10.0.0.1', '10.0.0.3', '10.0.0.2']);
  const addrs = (text: string) => text.split('\n').slice(3).filter((l) => l.startsWith('  ->')).map((l) => l.split(/ +/)[2]);
  assert.deepEqual(addrs(list('-L -n --nosort', snap)), ['10.0.0.1:80', '10.0.0.3:80', '10.0.0.2:80']);
  assert.deepEqual(addrs(list('-L -n', snap)), ['10.0.0.1:80', '10.0.0.2:80', '10.0.0.3:80']);
  assert.equal(list('-L -n', snap).split('\n')[0], 'IP Virtual Server version 1.2.1 (size=256)');
  assert.equal(list('-L --timeout', snap), 'Timeout (tcp tcpfin udp): 1 2 3\n');
});

test('-E / -e full replacement through the table', () => {
  const t = new ServiceTable();
  run(t, '-A -t 10.0.0.1:80 -s rr -p 60 -M 255.255.255.0');
  run(t, '-a -t 10.0.0.1:80 -r 10.0.0.2:8080 -m -w 5 -x 10 -y 1');
  run(t, '-E -t 10.0.0.1:80');
  run(t, '-e -t 10.0.0.1:80 -r 10.0.0.2:8080 -m');
  const snap = snapshotFromTable(t);
  assert.equal(list('-S -n', snap), '-A -t 10.0.0.1:80 -s wlc\n-a -t 10.0.0.1:80 -r 10.0.0.2:8080 -m -w 1\n');
  assert.equal(list('-L -n --thresholds', snap).split('\n')[4], '  -> 10.0.0.2:8080                0          0          0          0         ');
});

test('DR/TUN port forcing: ServiceTable forces it on add/edit, not on delete', () => {
  const t = new ServiceTable();
  run(t, '-A -t 10.0.0.1:80');
  // straight to the table, without the parser's own forcing
  t.addDest({ af: AF_INET, proto: IPPROTO_TCP, addr: Addr.parse('10.0.0.1')!, port: 80, fwmark: 0 },
    { addr: Addr.parse('10.0.0.2')!, port: 8080, weight: 1, fwd: FWD_DROUTE, uThreshold: 0, lThreshold: 0 });
  assert.equal(snapshotFromTable(t).services[0].dests[0].port, 80);
  // -d with the port ldirectord may have configured fails, as with ipvsadm
  assert.throws(() => run(t, '-d -t 10.0.0.1:80 -r 10.0.0.2:8080'), (e: unknown) => e instanceof IpvsError && e.message === 'No such destination');
  run(t, '-d -t 10.0.0.1:80 -r 10.0.0.2:80');
  assert.equal(snapshotFromTable(t).services[0].dests.length, 0);
});

test('counters, rates and fwmark services reach the listings', () => {
  const t = new ServiceTable();
  run(t, '-A -f 7 -6 -s sh -b sh-port -p 100 -M 64');
  run(t, '-a -f 7 -6 -r [2001:db8::2]:443 -m');
  const svc = t.services[0];
  svc.stats.conns = 12;
  svc.stats.inbytes = 123456789012;
  svc.dests[0].activeConns = 4;
  svc.dests[0].persistConns = 2;
  const snap = snapshotFromTable(t);
  assert.equal(list('-L -n', snap).split('\n').slice(3).join('\n'),
    'FWM  7 IPv6 sh (sh-port) persistent 100 mask 64\n' +
    '  -> [2001:db8::2]:443            Masq    1      4          0         \n');
  assert.equal(list('-L -n --stats', snap).split('\n')[3], 'FWM  7 IPv6                             12        0        0     123G        0');
  assert.equal(list('-L -n --persistent-conn', snap).split('\n')[4], '  -> [2001:db8::2]:443            1         2           4          0         ');
  assert.equal(list('-S -n', snap), '-A -f 7 -6 -s sh -p 100 -M 64 -b sh-port\n-a -f 7 -6 -r [2001:db8::2]:443 -m -w 1\n');
});
