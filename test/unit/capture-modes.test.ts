// The capture-mode pieces that run without root: the pcap filter string and checksum
// completion, the mode names, `tsvs daemon`'s capture flags (refused before anything is
// opened), and the pipeline's behaviour on a backend that does not own the VIPs at L2
// (TUN mode: no ARP answer for a VIP, no gratuitous ARP, DR forwarding unchanged).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseV4 } from '../../src/core/addr';
import { AF_INET, FWD_DROUTE, IPPROTO_TCP } from '../../src/core/constants';
import { Director } from '../../src/core/director';
import { Addr } from '../../src/core/addr';
import { Pipeline } from '../../src/dataplane/pipeline';
import { MemoryBackend } from '../../src/io/memory-backend';
import { CAPTURE_MODES, isCaptureMode } from '../../src/io/open-capture';
import { completePseudoChecksum, PcapBackend } from '../../src/io/pcap-backend';
import { pseudoSum4, sum16 } from '../../src/wire/checksum';
import { ARP_OP_REQUEST } from '../../src/wire/arp';
import { run as daemonRun } from '../../src/cli/daemon-cmd';
import { UsageError } from '../../src/cli/usage-error';
import { CLIENT, DIRECTOR_IP, DIRECTOR_MAC, ROUTER_MAC, VIP, arpFrame, tcpFrame } from '../fixtures/dataplane';

test('pcap filter: our own frames out, ARP and IPv4 to each VIP in', () => {
  assert.equal(PcapBackend.filterFor('02:00:00:00:00:01', []), 'not ether src 02:00:00:00:00:01 and (arp)');
  assert.equal(PcapBackend.filterFor('02:00:00:00:00:01', [parseV4('192.0.2.100'), parseV4('192.0.2.101')]),
    'not ether src 02:00:00:00:00:01 and (arp or ip dst host 192.0.2.100 or ip dst host 192.0.2.101)');
});

test('completePseudoChecksum: a partial TCP checksum is completed; a complete one is left alone', () => {
  const f = tcpFrame({ sport: 40000, dport: 80, flags: 0x18, payload: new Uint8Array([1, 2, 3, 4, 5]) });
  const l4 = 14 + 20;
  const l4len = ((f[16] << 8) | f[17]) - 20; // the IP total length (the frame may be padded)
  const good = (f[l4 + 16] << 8) | f[l4 + 17];
  assert.equal(completePseudoChecksum(f, 0, f.length), false, 'a complete checksum is not touched');
  // What a sender with TX checksum offload leaves: the pseudo-header sum in the field.
  const partial = pseudoSum4(CLIENT, VIP, IPPROTO_TCP, l4len);
  f[l4 + 16] = partial >> 8;
  f[l4 + 17] = partial & 0xff;
  assert.equal(completePseudoChecksum(f, 0, f.length), true);
  assert.equal((f[l4 + 16] << 8) | f[l4 + 17], good, 'completed to the real checksum');
  assert.equal(~sum16(f, l4, l4len, pseudoSum4(CLIENT, VIP, IPPROTO_TCP, l4len)) & 0xffff, 0, 'and it verifies');
  const arp = arpFrame({ op: ARP_OP_REQUEST, sha: ROUTER_MAC, spa: CLIENT, tpa: VIP });
  assert.equal(completePseudoChecksum(arp, 0, arp.length), false, 'not IPv4: untouched');
});

test('capture modes: names', () => {
  assert.deepEqual([...CAPTURE_MODES], ['afpacket', 'tun', 'pcap']);
  assert.ok(isCaptureMode('tun'));
  assert.ok(!isCaptureMode('netmap'));
});

test('tsvs daemon: bad capture flags are usage errors (exit 2) before any interface is opened', async () => {
  const refuse = async (args: string[], re: RegExp) => {
    await assert.rejects(daemonRun(args), (e: unknown) => e instanceof UsageError && re.test(e.message) && e.exitCode === 2, args.join(' '));
  };
  await refuse(['--interface', 'nosuch0', '--capture', 'netmap'], /--capture wants one of afpacket, tun, pcap, not 'netmap'/);
  await refuse(['--interface', 'nosuch0', '--tun', 'tsvs1'], /need --capture tun/);
  await refuse(['--interface', 'nosuch0', '--capture', 'pcap', '--tun-routes'], /need --capture tun/);
  await refuse(['--interface', 'nosuch0', '--capture', 'tun', '--tun', 'a/b'], /--tun wants an interface name/);
});

/** A backend that does not own the VIPs at L2, as TunBackend. */
class RoutedBackend extends MemoryBackend {
  readonly ownsVipAtL2 = false;
}

function pipelineOn(backend: MemoryBackend): { pipeline: Pipeline; director: Director } {
  const director = new Director({ maxConns: 1024, seed: 1 });
  const ref = { af: AF_INET as 2, proto: IPPROTO_TCP, addr: Addr.v4(VIP), port: 80, fwmark: 0 };
  director.services.addService({ ...ref, scheduler: 'rr' });
  const d = director.services.addDest(ref, { addr: Addr.v4(parseV4('192.0.2.11')), port: 80, weight: 1, fwd: FWD_DROUTE, uThreshold: 0, lThreshold: 0 });
  d.mac = new Uint8Array([2, 0, 0, 0, 0, 0x11]);
  director.sync();
  const pipeline = new Pipeline(director, backend, DIRECTOR_IP, null);
  backend.start(pipeline.onBlock);
  return { pipeline, director };
}

test('a backend that owns the VIPs at L2 answers ARP for them; a routed one (TUN) does not, and still forwards', () => {
  const request = arpFrame({ op: ARP_OP_REQUEST, sha: ROUTER_MAC, spa: parseV4('192.0.2.1'), tpa: VIP });
  const l2 = new MemoryBackend(DIRECTOR_MAC.slice());
  pipelineOn(l2);
  l2.receive([request]);
  assert.equal(l2.sent.length, 1, 'the L2 owner answers');

  const routed = new RoutedBackend(DIRECTOR_MAC.slice());
  const { pipeline } = pipelineOn(routed);
  routed.receive([request]);
  assert.equal(routed.sent.length, 0, 'no ARP answer for a routed VIP');
  routed.receive([tcpFrame({ sport: 40000, dport: 80, flags: 0x02, dstMac: DIRECTOR_MAC })]);
  assert.equal(routed.sent.length, 1, 'the SYN is forwarded');
  assert.deepEqual([...routed.sent[0].subarray(0, 6)], [2, 0, 0, 0, 0, 0x11], 'to the real server\'s MAC');
  assert.equal(pipeline.stats.arpReplies, 0);
});
