// The sync message codec (src/ha/sync/codec.ts) against byte strings written by hand from
// the layout of reference §3.2/§3.3 (each field named in a comment): encode gives exactly
// these bytes, decode gives back the fields; every malformed form gives its reason; random
// bytes and truncations never throw.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  IP_VS_CONN_F_DROUTE, IP_VS_CONN_F_HASHED, IP_VS_CONN_F_INACTIVE, IP_VS_CONN_F_IN_SEQ, IP_VS_CONN_F_NOOUTPUT,
  IP_VS_CONN_F_TEMPLATE, SYNC_E_OPTION, SYNC_E_RECORD_LENGTH, SYNC_E_RECORD_TYPE, SYNC_E_RECORD_VERSION, SYNC_E_SHORT,
  SYNC_E_SIZE, SYNC_E_SYNCID, SYNC_E_TRAILING, SYNC_E_TRUNCATED, SYNC_E_VERSION, SYNC_OK, SyncConn, SyncMessage,
  SyncWriter, decodeSyncMessage, encodeSyncMessage,
} from '../../src/ha/sync/codec';
import { mulberry32 } from '../fixtures/prng';

const hex = (s: string) => Uint8Array.from(s.replace(/#[^\n]*/g, '').replace(/\s+/g, '').match(/../g)!.map((b) => parseInt(b, 16)));
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const ip = (s: string) => s.split('.').reduce((a, o) => a * 256 + Number(o), 0);

function conn(fields: Partial<SyncConn>): SyncConn {
  return Object.assign(new SyncConn(), fields);
}

// A TCP conn 198.51.100.1:40000 -> VIP 192.0.2.100:80 -> real server 192.0.2.11:80, DR.
const ES_CONN = conn({
  protocol: 6, flags: IP_VS_CONN_F_DROUTE | IP_VS_CONN_F_NOOUTPUT, state: 1, cport: 40000, vport: 80, dport: 80,
  timeout: 900, caddr: ip('198.51.100.1'), vaddr: ip('192.0.2.100'), daddr: ip('192.0.2.11'),
});

const V1_ONE = hex(`
  00        # reserved (0 = v1 marker for v0 receivers)
  07        # syncid 7
  002c      # size 44 = 8 header + 36 record
  01        # nr_conns 1
  01        # version 1
  0000      # spare
  00        # type 0 = IPv4
  06        # protocol TCP
  0024      # ver_size: version 0, length 36
  00000083  # flags DROUTE(3) | NOOUTPUT(0x80)
  0001      # state ESTABLISHED
  9c40      # cport 40000
  0050      # vport 80
  0050      # dport 80
  00000000  # fwmark 0
  00000384  # timeout 900 s
  c6336401  # caddr 198.51.100.1
  c0000264  # vaddr 192.0.2.100
  c000020b  # daddr 192.0.2.11
`);

function decode(buf: Uint8Array, filter = 0): { r: number; m: SyncMessage } {
  const m = new SyncMessage();
  return { r: decodeSyncMessage(buf, 0, buf.length, filter, m), m };
}

test('v1 golden: one IPv4 conn, encode and decode', () => {
  assert.equal(toHex(encodeSyncMessage(1, 7, [ES_CONN])), toHex(V1_ONE));
  const { r, m } = decode(V1_ONE);
  assert.equal(r, SYNC_OK);
  assert.equal(m.version, 1);
  assert.equal(m.syncid, 7);
  assert.equal(m.count, 1);
  const c = m.conns[0];
  for (const k of ['protocol', 'flags', 'state', 'cport', 'vport', 'dport', 'fwmark', 'timeout', 'caddr', 'vaddr', 'daddr'] as const) {
    assert.equal(c[k], ES_CONN[k], k);
  }
  assert.equal(c.af, 4);
  assert.equal(c.hasSeq, false);
});

test('v1 golden: HASHED is never sent', () => {
  const c = conn({ ...ES_CONN, flags: ES_CONN.flags | IP_VS_CONN_F_HASHED });
  assert.equal(toHex(encodeSyncMessage(1, 7, [c])), toHex(V1_ONE));
});

// A UDP conn with persistence-engine data (record length 46, not a multiple of 4), then a
// fwmark persistence template: 2 bytes of padding before the second record.
const PE_CONN = conn({
  protocol: 17, flags: IP_VS_CONN_F_DROUTE | IP_VS_CONN_F_NOOUTPUT | IP_VS_CONN_F_INACTIVE, state: 0, cport: 5060, vport: 5060, dport: 5060,
  timeout: 300, caddr: ip('198.51.100.2'), vaddr: ip('192.0.2.100'), daddr: ip('192.0.2.12'),
  peData: Uint8Array.from([0x61, 0x62, 0x63]), peName: 'sip',
});
const TPL = conn({
  protocol: 0, flags: IP_VS_CONN_F_TEMPLATE | IP_VS_CONN_F_DROUTE | IP_VS_CONN_F_NOOUTPUT, state: 1, cport: 0, vport: 0, dport: 0,
  fwmark: 1, timeout: 360, caddr: ip('198.51.100.0'), vaddr: 1, daddr: ip('192.0.2.11'),
});
const V1_TWO = hex(`
  00 05 005c 02 01 0000     # header: syncid 5, size 92, 2 conns, version 1
  00        # type IPv4
  11        # protocol UDP
  002e      # ver_size: length 46 (36 + 5 + 5)
  00000183  # flags DROUTE | NOOUTPUT | INACTIVE(0x100)
  0000      # state 0
  13c4 13c4 13c4            # cport vport dport 5060
  00000000  # fwmark
  0000012c  # timeout 300
  c6336402 c0000264 c000020c  # caddr 198.51.100.2, vaddr 192.0.2.100, daddr 192.0.2.12
  02 03 616263              # option PE_DATA, len 3, "abc"
  03 03 736970              # option PE_NAME, len 3, "sip"
  0000      # padding to a 4-byte boundary (counted in the header size only)
  00        # type IPv4
  00        # protocol 0 (fwmark template)
  0024      # length 36
  00001083  # flags TEMPLATE(0x1000) | NOOUTPUT | DROUTE
  0001      # state ASSURED
  0000 0000 0000            # cport vport dport 0
  00000001  # fwmark 1
  00000168  # timeout 360
  c6336400  # caddr 198.51.100.0 (client network)
  00000001  # vaddr = the fwmark
  c000020b  # daddr 192.0.2.11
`);

test('v1 golden: options, padding between records, a fwmark template', () => {
  assert.equal(toHex(encodeSyncMessage(1, 5, [PE_CONN, TPL])), toHex(V1_TWO));
  const { r, m } = decode(V1_TWO);
  assert.equal(r, SYNC_OK);
  assert.equal(m.count, 2);
  assert.equal(m.conns[0].peName, 'sip');
  assert.deepEqual([...m.conns[0].peData], [0x61, 0x62, 0x63]);
  assert.equal(m.conns[0].flags, PE_CONN.flags);
  assert.equal(m.conns[1].flags, TPL.flags);
  assert.equal(m.conns[1].fwmark, 1);
  assert.equal(m.conns[1].timeout, 360);
  assert.equal(m.conns[1].caddr, ip('198.51.100.0'));
});

const V6 = conn({ af: 6, protocol: 6, flags: 3, state: 1, cport: 1, vport: 2, dport: 3, timeout: 900 });
V6.caddr6.set(hex('20010db8000000000000000000000001'));
V6.vaddr6.set(hex('20010db8000000000000000000000064'));
V6.daddr6.set(hex('20010db800000000000000000000000b'));
const V1_V6 = hex(`
  00 00 0050 01 01 0000     # header: syncid 0, size 80 = 8 + 72, 1 conn
  01        # type: IPv6
  06        # TCP
  0048      # length 72
  00000003  # flags DROUTE
  0001 0001 0002 0003       # state ES, cport 1, vport 2, dport 3
  00000000 00000384         # fwmark 0, timeout 900
  20010db8000000000000000000000001  # caddr 2001:db8::1
  20010db8000000000000000000000064  # vaddr 2001:db8::64
  20010db800000000000000000000000b  # daddr 2001:db8::b
`);

test('v1 golden: an IPv6 record', () => {
  assert.equal(toHex(encodeSyncMessage(1, 0, [V6])), toHex(V1_V6));
  const { r, m } = decode(V1_V6);
  assert.equal(r, SYNC_OK);
  assert.equal(m.conns[0].af, 6);
  assert.equal(toHex(m.conns[0].daddr6), '20010db800000000000000000000000b');
});

const V0_ONE = hex(`
  01        # nr_conns 1
  07        # syncid 7
  001c      # size 28 = 4 + 24
  00        # reserved
  06        # protocol TCP
  9c40 0050 0050            # cport 40000, vport 80, dport 80
  c6336401 c0000264 c000020b  # caddr, vaddr, daddr
  0083      # flags (16 bits) DROUTE | NOOUTPUT
  0001      # state ESTABLISHED
`);

test('v0 golden: one conn, no timeout, no fwmark', () => {
  assert.equal(toHex(encodeSyncMessage(0, 7, [ES_CONN])), toHex(V0_ONE));
  const { r, m } = decode(V0_ONE);
  assert.equal(r, SYNC_OK);
  assert.equal(m.version, 0);
  const c = m.conns[0];
  assert.equal(c.flags, 0x83);
  assert.equal(c.timeout, 0);
  assert.equal(c.caddr, ES_CONN.caddr);
  assert.equal(c.dport, 80);
});

test('v0 golden: sequence options follow a record with IN_SEQ, in host (little-endian) order', () => {
  const c = conn({ ...ES_CONN, flags: IP_VS_CONN_F_IN_SEQ });
  c.seq.set([1, 2, 3, 4, 5, 6]);
  const want = hex(`
    01 07 0034  # 1 conn, syncid 7, size 52 = 4 + 24 + 24
    00 06 9c40 0050 0050 c6336401 c0000264 c000020b
    0400 0001   # flags IN_SEQ, state ES
    01000000 02000000 03000000 04000000 05000000 06000000  # in_seq, out_seq (init, delta, prev)
  `);
  assert.equal(toHex(encodeSyncMessage(0, 7, [c])), toHex(want));
  const { r, m } = decode(want);
  assert.equal(r, SYNC_OK);
  assert.deepEqual([...m.conns[0].seq], [1, 2, 3, 4, 5, 6]);
  // v1 carries the same as a SEQ_DATA option in network order
  const v1 = encodeSyncMessage(1, 7, [c]);
  assert.equal(toHex(v1.subarray(8 + 36)), `0118${'000000010000000200000003000000040000000500000006'}`);
  assert.deepEqual([...decode(v1).m.conns[0].seq], [1, 2, 3, 4, 5, 6]);
});

test('malformed messages: each gives its reason and no record', () => {
  const mut = (src: Uint8Array, f: (b: Uint8Array) => void) => {
    const b = Uint8Array.from(src);
    f(b);
    return b;
  };
  const cases: Array<[string, Uint8Array, number, number?]> = [
    ['3 bytes', hex('000700'), SYNC_E_SHORT],
    ['size != length', mut(V1_ONE, (b) => (b[3] = 0x2b)), SYNC_E_SIZE],
    ['other syncid', V1_ONE, SYNC_E_SYNCID, 8],
    ['v1 marker but version 2', mut(V1_ONE, (b) => (b[5] = 2)), SYNC_E_VERSION],
    ['v1 spare != 0', mut(V1_ONE, (b) => (b[7] = 1)), SYNC_E_VERSION],
    ['v1 header only, claims a conn', hex('00 00 0008 01 01 0000'), SYNC_E_TRUNCATED],
    ['record version 1', mut(V1_ONE, (b) => (b[10] = 0x10)), SYNC_E_RECORD_VERSION],
    ['record length 35', mut(V1_ONE, (b) => (b[11] = 35)), SYNC_E_RECORD_LENGTH],
    ['record longer than the message', mut(V1_ONE, (b) => (b[11] = 40)), SYNC_E_TRUNCATED],
    ['unknown record type 2', mut(V1_ONE, (b) => (b[8] = 2)), SYNC_E_RECORD_TYPE],
    ['two conns announced, one present', mut(V1_ONE, (b) => (b[4] = 2)), SYNC_E_TRUNCATED],
    ['v0 record truncated', mut(V0_ONE, (b) => (b[0] = 2)), SYNC_E_TRUNCATED],
    ['v0 trailing bytes', hex('01 07 001d 00 06 9c40 0050 0050 c6336401 c0000264 c000020b 0083 0001 00'), SYNC_E_TRAILING],
  ];
  // option errors: a record of 36 + option bytes
  const withOpt = (opt: string) => {
    const body = hex(opt);
    const b = new Uint8Array(44 + body.length);
    b.set(V1_ONE);
    b.set(body, 44);
    b[3] = b.length;
    b[11] = 36 + body.length;
    return b;
  };
  cases.push(
    ['zero-length option', withOpt('0200'), SYNC_E_OPTION],
    ['option past the record', withOpt('0205 6162'), SYNC_E_OPTION],
    ['SEQ_DATA of 4 bytes', withOpt('0104 00000000'), SYNC_E_OPTION],
    ['PE_NAME of 17 bytes', withOpt(`0311 ${'61'.repeat(17)}`), SYNC_E_OPTION],
    ['unknown mandatory option 9', withOpt('0901 00'), SYNC_E_OPTION],
    ['duplicate PE_NAME', withOpt('0301 61 0301 61'), SYNC_E_OPTION],
    ['lone option type byte', withOpt('02'), SYNC_E_OPTION],
    ['4 trailing bytes after the last record', (() => {
      const b = new Uint8Array(48);
      b.set(V1_ONE);
      b[3] = 48;
      return b;
    })(), SYNC_E_TRAILING],
  );
  for (const [what, buf, want, filter] of cases) {
    const { r, m } = decode(buf, filter ?? 0);
    assert.equal(r, want, what);
    assert.equal(m.count, 0, what);
  }
  // an unknown OPTIONAL option (0x40 bit) is skipped
  assert.equal(decode(withOpt('4902 0000')).r, SYNC_OK);
  // syncid 0 on the backup accepts any; the same syncid passes
  assert.equal(decode(V1_ONE, 7).r, SYNC_OK);
});

test('writer: fills up to maxlen, then refuses; v0 refuses IPv6', () => {
  const w = new SyncWriter(8 + 3 * 36 + 10, 1);
  w.begin(1);
  assert.ok(w.add(ES_CONN) && w.add(ES_CONN) && w.add(ES_CONN));
  assert.equal(w.add(ES_CONN), false);
  assert.equal(w.finish(), 8 + 3 * 36);
  assert.equal(decode(w.buf.slice(0, w.length)).m.count, 3);
  const w0 = new SyncWriter(100, 0);
  w0.begin(0);
  assert.equal(w0.add(V6), false);
  const big = new SyncWriter(65507, 1);
  big.begin(0);
  let n = 0;
  while (big.add(ES_CONN)) n++;
  assert.equal(n, 255, 'nr_conns is a byte');
});

test('fuzz: random bytes, truncations and bit flips never throw', () => {
  const rnd = mulberry32(0x5eed);
  const m = new SyncMessage();
  const valid = [V1_ONE, V1_TWO, V1_V6, V0_ONE, encodeSyncMessage(1, 0, Array(40).fill(PE_CONN))];
  let ok = 0;
  for (let i = 0; i < 20000; i++) {
    let buf: Uint8Array;
    const kind = i % 4;
    if (kind === 0) {
      buf = new Uint8Array(Math.floor(rnd() * 200));
      for (let k = 0; k < buf.length; k++) buf[k] = Math.floor(rnd() * 256);
      if (buf.length >= 4 && rnd() < 0.5) { buf[2] = buf.length >> 8; buf[3] = buf.length & 0xff; } // get past the size check
      if (buf.length >= 8 && rnd() < 0.5) { buf[0] = 0; buf[5] = 1; buf[6] = buf[7] = 0; }
    } else {
      const src = valid[Math.floor(rnd() * valid.length)];
      buf = Uint8Array.from(src);
      if (kind === 1) buf = buf.slice(0, Math.floor(rnd() * buf.length));
      else for (let f = 0; f < 1 + Math.floor(rnd() * 4); f++) buf[Math.floor(rnd() * buf.length)] ^= 1 << Math.floor(rnd() * 8);
      if (kind === 3 && buf.length >= 4) { buf[2] = buf.length >> 8; buf[3] = buf.length & 0xff; }
    }
    const r = decodeSyncMessage(buf, 0, buf.length, 0, m);
    assert.ok(Number.isInteger(r) && r >= 0 && r <= 10);
    if (r === SYNC_OK) ok++;
    else assert.equal(m.count, 0);
  }
  assert.ok(ok > 0, 'some mutated messages stay valid');
  // offsets and lengths outside the buffer are refused, not read
  assert.equal(decodeSyncMessage(V1_ONE, 10, 100, 0, m), SYNC_E_SHORT);
});
