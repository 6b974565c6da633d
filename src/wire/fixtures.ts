// Byte fixtures for src/wire/, one table shared by test/unit/wire-*.test.ts and
// bench/wire.ts (Katran's habit: the fixtures the tests check are the packets the bench
// runs). The frames marked "lo" were captured with an AF_PACKET socket on a Linux loopback
// (zero MACs): the kernel built them, so their checksums are independent known values.
// On lo, locally sent TCP/UDP stays CHECKSUM_PARTIAL: their checksum field holds only the
// pseudo-header sum (`partial: true`), which completePartialChecksum() must finish.

export function hex(s: string): Uint8Array {
  const t = s.replace(/[^0-9a-fA-F]/g, '');
  if (t.length % 2) throw new Error('odd hex length');
  const b = new Uint8Array(t.length / 2);
  for (let i = 0; i < b.length; i++) b[i] = parseInt(t.slice(i * 2, i * 2 + 2), 16);
  return b;
}

export function toHex(b: Uint8Array, off = 0, len = b.length - off): string {
  let s = '';
  for (let i = 0; i < len; i++) s += b[off + i].toString(16).padStart(2, '0');
  return s;
}

/** The classic IPv4 header example (UDP, 192.168.0.1 -> 192.168.0.199), checksum 0xb861. */
export const IPV4_HEADER_CLASSIC = '4500 0073 0000 4000 4011 b861 c0a8 0001 c0a8 00c7';

/** RFC 1071 section 3 example: these 8 bytes sum to 0xddf2 (checksum 0x220d). */
export const RFC1071_BYTES = '0001 f203 f4f5 f6f7';

export interface WireFixture {
  name: string;
  hex: string;
  ethertype: number;
  /** IP protocol (upper layer), or -1 for non-IP. */
  proto: number;
  sport: number;
  dport: number;
  /** TCP flags byte, ICMP type for ICMP, else 0. */
  flags: number;
  /** The L4 checksum field holds a CHECKSUM_PARTIAL pseudo-header sum. */
  partial: boolean;
}

export const WIRE_FIXTURES: readonly WireFixture[] = [
  {
    name: 'lo: TCP SYN 127.0.0.1:55022 -> :9 with MSS/SACK/TS/WS options',
    hex: '000000000000 000000000000 0800' +
      '4500 003c b154 4000 4006 8b65 7f00 0001 7f00 0001' +
      'd6ee 0009 2ab4 51c5 0000 0000 a002 ffd7 fe30 0000 0204 ffd7 0402 080a e80d c1f7 0000 0000 0103 030a',
    ethertype: 0x0800, proto: 6, sport: 55022, dport: 9, flags: 0x02, partial: true,
  },
  {
    name: 'lo: TCP RST|ACK 127.0.0.1:9 -> :55022 (kernel reset, full checksum)',
    hex: '000000000000 000000000000 0800' +
      '4500 0028 0000 4000 4006 3cce 7f00 0001 7f00 0001' +
      '0009 d6ee 0000 0000 2ab4 51c6 5014 0000 5e5c 0000',
    ethertype: 0x0800, proto: 6, sport: 9, dport: 55022, flags: 0x14, partial: false,
  },
  {
    name: 'lo: UDP 127.0.0.1:49675 -> :6353 "hello tsvs"',
    hex: '000000000000 000000000000 0800' +
      '4500 0026 ff88 4000 4011 3d3c 7f00 0001 7f00 0001' +
      'c20b 18d1 0012 fe25 6865 6c6c 6f20 7473 7673',
    ethertype: 0x0800, proto: 17, sport: 49675, dport: 6353, flags: 0, partial: true,
  },
  {
    name: 'lo: ICMP port unreachable quoting the UDP datagram above (kernel icmp_send)',
    hex: '000000000000 000000000000 0800' +
      '45c0 0042 b07b 0000 4001 cb7d 7f00 0001 7f00 0001' +
      '0303 f50e 0000 0000' +
      '4500 0026 ff88 4000 4011 3d3c 7f00 0001 7f00 0001 c20b 18d1 0012 fe25 6865 6c6c 6f20 7473 7673',
    ethertype: 0x0800, proto: 1, sport: 0, dport: 0, flags: 3, partial: false,
  },
  {
    name: 'lo: ICMP echo request id 0x1234 seq 1',
    hex: '000000000000 000000000000 0800' +
      '4500 0030 b78e 4000 4001 853c 7f00 0001 7f00 0001' +
      '0800 f7cd 1234 0001 7473 7673 2d70 696e 672d 3031 3233 3435 3637 3839',
    ethertype: 0x0800, proto: 1, sport: 0, dport: 0, flags: 8, partial: false,
  },
  {
    name: 'lo: ICMP echo reply to the request above (kernel)',
    hex: '000000000000 000000000000 0800' +
      '4500 0030 b78f 0000 4001 c53b 7f00 0001 7f00 0001' +
      '0000 ffcd 1234 0001 7473 7673 2d70 696e 672d 3031 3233 3435 3637 3839',
    ethertype: 0x0800, proto: 1, sport: 0, dport: 0, flags: 0, partial: false,
  },
  {
    name: 'lo: TCP SYN [::1]:40846 -> :9',
    hex: '000000000000 000000000000 86dd' +
      '6008 3b6f 0028 0640 0000 0000 0000 0000 0000 0000 0000 0001 0000 0000 0000 0000 0000 0000 0000 0001' +
      '9f8e 0009 67e8 e9a3 0000 0000 a002 ffc4 0030 0000 0204 ffc4 0402 080a b41e ca82 0000 0000 0103 030a',
    ethertype: 0x86dd, proto: 6, sport: 40846, dport: 9, flags: 0x02, partial: true,
  },
  {
    name: 'lo: TCP RST|ACK [::1]:9 -> :40846 (the kernel leaves it CHECKSUM_PARTIAL too)',
    hex: '000000000000 000000000000 86dd' +
      '6002 6514 0014 0640 0000 0000 0000 0000 0000 0000 0000 0001 0000 0000 0000 0000 0000 0000 0000 0001' +
      '0009 9f8e 0000 0000 67e8 e9a4 5014 0000 001c 0000',
    ethertype: 0x86dd, proto: 6, sport: 9, dport: 40846, flags: 0x14, partial: true,
  },
  {
    name: 'lo: UDP [::1]:43022 -> :6354 "hello v6"',
    hex: '000000000000 000000000000 86dd' +
      '600b 624e 0010 1140 0000 0000 0000 0000 0000 0000 0000 0001 0000 0000 0000 0000 0000 0000 0000 0001' +
      'a80e 18d2 0010 0023 6865 6c6c 6f20 7636',
    ethertype: 0x86dd, proto: 17, sport: 43022, dport: 6354, flags: 0, partial: true,
  },
  {
    name: 'lo: ICMPv6 port unreachable quoting the UDP datagram above (kernel, full checksum)',
    hex: '000000000000 000000000000 86dd' +
      '6006 3348 0040 3a40 0000 0000 0000 0000 0000 0000 0000 0001 0000 0000 0000 0000 0000 0000 0000 0001' +
      '0104 af97 0000 0000' +
      '600b 624e 0010 1140 0000 0000 0000 0000 0000 0000 0000 0001 0000 0000 0000 0000 0000 0000 0000 0001' +
      'a80e 18d2 0010 0023 6865 6c6c 6f20 7636',
    ethertype: 0x86dd, proto: 58, sport: 0, dport: 0, flags: 1, partial: false,
  },
  {
    name: '802.1Q VLAN 100 PCP 5: TCP SYN 198.51.100.7:40000 -> VIP 192.0.2.100:80, full checksum',
    hex: '0200 0000 0001 0200 0000 0002 8100 a064 0800' +
      '4500 0028 0001 4000 4006 4e30 c633 6407 c000 0264' +
      '9c40 0050 0000 0001 0000 0000 5002 ffff 26b2 0000',
    ethertype: 0x0800, proto: 6, sport: 40000, dport: 80, flags: 0x02, partial: false,
  },
  {
    name: 'ARP who-has 192.0.2.100 tell 192.0.2.1 (broadcast)',
    hex: 'ffff ffff ffff 0200 0000 0002 0806' +
      '0001 0800 0604 0001 0200 0000 0002 c000 0201 0000 0000 0000 c000 0264',
    ethertype: 0x0806, proto: -1, sport: 0, dport: 0, flags: 0, partial: false,
  },
];

/** The frame of a fixture, in a fresh buffer. */
export function fixtureFrame(f: WireFixture): Uint8Array {
  return hex(f.hex);
}
