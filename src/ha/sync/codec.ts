// The IPVS connection synchronisation message format (reference §3.2, §3.3), encoded and
// decoded byte-exact, without the kernel's code.
//
// Version 1 (the default). A message is an 8-byte header
//   reserved u8 = 0 | syncid u8 | size be16 (whole message) | nr_conns u8 | version s8 = 1 | spare be16 = 0
// followed by nr_conns records. A record is
//   type u8 (0 IPv4, 1 IPv6) | protocol u8 | ver_size be16 (version 0 in the top 4 bits,
//   record length incl. options in the low 12) | flags be32 | state be16 | cport be16 |
//   vport be16 | dport be16 | fwmark be32 | timeout be32 (seconds) | caddr | vaddr | daddr
// (addresses 4 or 16 bytes: 36 or 72 bytes before options), then options as TLVs
// (type u8, len u8, data): 1 SEQ_DATA (24 bytes: in_seq then out_seq, each init_seq, delta,
// previous_delta be32), 2 PE_DATA (<= 255), 3 PE_NAME (<= 16). Type bit 0x40 marks an
// optional parameter that a receiver may skip when it does not know it. Every record after
// the first starts on a 4-byte boundary: the writer puts zero padding BEFORE a record, so
// the padding is counted in the header size and never in a record's length.
//
// Version 0 (legacy, IPv4 only, no fwmark or timeout). A 4-byte header
//   nr_conns u8 | syncid u8 | size be16
// and 24-byte records
//   reserved u8 | protocol u8 | cport be16 | vport be16 | dport be16 | caddr be32 |
//   vaddr be32 | daddr be32 | flags be16 | state be16
// each followed by 24 bytes of sequence options when flags has IN_SEQ or OUT_SEQ (the
// kernel copies those in host byte order; we write and read them little-endian, the
// order of every host tsvs runs on). No padding.
//
// A v1 header starts with a zero byte, so a v0 receiver reads nr_conns = 0 and ignores it.
// A receiver tells them apart the same way: reserved == 0, version == 1 and spare == 0 is
// v1, anything else with a non-zero first byte is v0.
//
// Decoding (decodeSyncMessage) checks the WHOLE message before it reports any record, so a
// malformed message applies nothing (the kernel applies the records before a bad one and
// drops the rest; we prefer all or nothing). It never throws: every failure is one of the
// SYNC_E_* reasons. What is structurally fine but semantically unusable (unknown protocol,
// ONE_PACKET flag, a state out of range, an unknown persistence engine) is the receiver's
// business (receiver.ts), record by record, as in the kernel.

export const SYNC_V0 = 0;
export const SYNC_V1 = 1;

/** IPVS connection flags as they travel (include/uapi/linux/ip_vs.h values). */
export const IP_VS_CONN_F_FWD_MASK = 0x0007;
export const IP_VS_CONN_F_MASQ = 0x0000;
export const IP_VS_CONN_F_DROUTE = 0x0003;
export const IP_VS_CONN_F_SYNC = 0x0020;
export const IP_VS_CONN_F_HASHED = 0x0040;
export const IP_VS_CONN_F_NOOUTPUT = 0x0080;
export const IP_VS_CONN_F_INACTIVE = 0x0100;
export const IP_VS_CONN_F_OUT_SEQ = 0x0200;
export const IP_VS_CONN_F_IN_SEQ = 0x0400;
export const IP_VS_CONN_F_SEQ_MASK = 0x0600;
export const IP_VS_CONN_F_NO_CPORT = 0x0800;
export const IP_VS_CONN_F_TEMPLATE = 0x1000;
export const IP_VS_CONN_F_ONE_PACKET = 0x2000;
/** The flags a backup keeps from a record (it adds SYNC itself). */
export const IP_VS_CONN_F_BACKUP_MASK =
  IP_VS_CONN_F_FWD_MASK | IP_VS_CONN_F_NOOUTPUT | IP_VS_CONN_F_INACTIVE | IP_VS_CONN_F_SEQ_MASK |
  IP_VS_CONN_F_NO_CPORT | IP_VS_CONN_F_TEMPLATE;

export const SYNC_HDR_V0 = 4;
export const SYNC_HDR_V1 = 8;
export const SYNC_REC_V0 = 24;
export const SYNC_SEQ_LEN = 24;
export const SYNC_REC_V1_IP4 = 36;
export const SYNC_REC_V1_IP6 = 72;
export const SYNC_TYPE_INET6 = 0x01;
export const SYNC_OPT_SEQ_DATA = 1;
export const SYNC_OPT_PE_DATA = 2;
export const SYNC_OPT_PE_NAME = 3;
export const SYNC_OPT_OPTIONAL = 0x40;
export const SYNC_PE_NAME_MAX = 16;
/** ver_size: low 12 bits are the record length. */
const VER_SIZE_MASK = 0x0fff;
/** A message carries at most 255 records (nr_conns is a byte). */
export const SYNC_MAX_CONNS = 255;
/** Largest UDP payload (and so --sync-maxlen). */
export const SYNC_MAXLEN_MAX = 65507;

// ---- decode results: 0 or a reason ----
export const SYNC_OK = 0;
/** Shorter than the 4-byte common header (or than the 8-byte v1 header it starts). */
export const SYNC_E_SHORT = 1;
/** Header size differs from the datagram's length. */
export const SYNC_E_SIZE = 2;
/** Our syncid is not 0 and the message carries another one. */
export const SYNC_E_SYNCID = 3;
/** First byte 0 (a v1 header) but version != 1 or spare != 0. */
export const SYNC_E_VERSION = 4;
/** A record (or its padding) runs past the end of the message. */
export const SYNC_E_TRUNCATED = 5;
/** A v1 record length shorter than its fixed part. */
export const SYNC_E_RECORD_LENGTH = 6;
/** A v1 record whose ver_size carries a version other than 0. */
export const SYNC_E_RECORD_VERSION = 7;
/** A v1 record type other than 0 (IPv4) or 1 (IPv6). */
export const SYNC_E_RECORD_TYPE = 8;
/** A bad option: zero or overlong length, wrong SEQ_DATA/PE_NAME size, duplicate, unknown mandatory type. */
export const SYNC_E_OPTION = 9;
/** Bytes after the last record beyond at most 3 bytes of padding. */
export const SYNC_E_TRAILING = 10;

/** Names of the decode reasons, indexed by SYNC_E_* (counter and metric labels). */
export const SYNC_DECODE_REASONS = [
  'ok', 'short', 'bad_size', 'syncid', 'bad_version', 'truncated', 'bad_record_length',
  'bad_record_version', 'unknown_type', 'bad_option', 'trailing_bytes',
] as const;

/** One connection entry, reused (the decoder fills a preallocated set of these). */
export class SyncConn {
  /** 4 or 6. */
  af: 4 | 6 = 4;
  protocol = 0;
  /** IPVS flags (IP_VS_CONN_F_*); 16 bits in v0, 32 in v1. */
  flags = 0;
  state = 0;
  cport = 0;
  vport = 0;
  dport = 0;
  /** v1 only (0 in v0). */
  fwmark = 0;
  /** Seconds, v1 only (0 in v0). */
  timeout = 0;
  /** IPv4 addresses as uint32 (host order value of the big-endian bytes). */
  caddr = 0;
  vaddr = 0;
  daddr = 0;
  /** IPv6 addresses, network byte order (af 6 only). */
  readonly caddr6 = new Uint8Array(16);
  readonly vaddr6 = new Uint8Array(16);
  readonly daddr6 = new Uint8Array(16);
  /** True when a SEQ_DATA option (v1) or the v0 sequence block was present. */
  hasSeq = false;
  /** in_seq.init_seq, in_seq.delta, in_seq.previous_delta, out_seq.(same three). */
  readonly seq = new Uint32Array(6);
  /** Persistence engine name ('' = none) and data (length 0 = none). */
  peName = '';
  peData: Uint8Array = EMPTY;

  reset(): this {
    this.af = 4;
    this.protocol = this.flags = this.state = this.cport = this.vport = this.dport = 0;
    this.fwmark = this.timeout = this.caddr = this.vaddr = this.daddr = 0;
    this.caddr6.fill(0);
    this.vaddr6.fill(0);
    this.daddr6.fill(0);
    this.hasSeq = false;
    this.seq.fill(0);
    this.peName = '';
    this.peData = EMPTY;
    return this;
  }
}

const EMPTY = new Uint8Array(0);

/** A decoded message: header fields and `count` records in conns[0..count). */
export class SyncMessage {
  version = 0;
  syncid = 0;
  count = 0;
  readonly conns: SyncConn[] = [];

  constructor() {
    for (let i = 0; i < SYNC_MAX_CONNS; i++) this.conns.push(new SyncConn());
  }
}

// ---- byte helpers (bounds are checked by the callers) ----

function rd16(b: Uint8Array, o: number): number { return (b[o] << 8) | b[o + 1]; }
function rd32(b: Uint8Array, o: number): number { return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0; }
function rd32le(b: Uint8Array, o: number): number { return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0; }
function wr16(b: Uint8Array, o: number, v: number): void { b[o] = (v >>> 8) & 0xff; b[o + 1] = v & 0xff; }
function wr32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff; b[o + 1] = (v >>> 16) & 0xff; b[o + 2] = (v >>> 8) & 0xff; b[o + 3] = v & 0xff;
}
function wr32le(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff; b[o + 1] = (v >>> 8) & 0xff; b[o + 2] = (v >>> 16) & 0xff; b[o + 3] = (v >>> 24) & 0xff;
}

/** Length of a v1 record (without padding) for this entry. */
export function recordLengthV1(c: SyncConn): number {
  let n = c.af === 6 ? SYNC_REC_V1_IP6 : SYNC_REC_V1_IP4;
  if ((c.flags & IP_VS_CONN_F_SEQ_MASK) !== 0) n += 2 + SYNC_SEQ_LEN;
  if (c.peData.length > 0 && c.peName !== '') n += 2 + c.peData.length + 2 + c.peName.length;
  return n;
}

/** Length of a v0 record for this entry (IPv4 only). */
export function recordLengthV0(c: SyncConn): number {
  return SYNC_REC_V0 + ((c.flags & IP_VS_CONN_F_SEQ_MASK) !== 0 ? SYNC_SEQ_LEN : 0);
}

/**
 * Builds messages into one preallocated buffer of `maxlen` bytes: begin(), add() until it
 * returns false (full: send, begin() again, add the same entry), then finish().
 */
export class SyncWriter {
  readonly buf: Uint8Array;
  private len = 0;
  private n = 0;
  private syncid = 0;

  constructor(readonly maxlen: number, readonly version: 0 | 1 = SYNC_V1) {
    if (!(maxlen >= 64 && maxlen <= SYNC_MAXLEN_MAX)) throw new RangeError(`sync maxlen must be 64..${SYNC_MAXLEN_MAX}, not ${maxlen}`);
    this.buf = new Uint8Array(maxlen);
  }

  get count(): number { return this.n; }
  get length(): number { return this.len; }

  begin(syncid: number): void {
    this.syncid = syncid & 0xff;
    this.n = 0;
    this.len = this.version === SYNC_V1 ? SYNC_HDR_V1 : SYNC_HDR_V0;
  }

  /**
   * Appends one entry; false when it does not fit (or the message has 255 entries, or the
   * entry cannot be expressed in this version: IPv6 in v0).
   */
  add(c: SyncConn): boolean {
    if (this.n >= SYNC_MAX_CONNS) return false;
    return this.version === SYNC_V1 ? this.addV1(c) : this.addV0(c);
  }

  private addV1(c: SyncConn): boolean {
    const b = this.buf;
    const pad = (4 - (this.len & 3)) & 3;
    const rl = recordLengthV1(c);
    if (this.len + pad + rl > this.maxlen) return false;
    for (let i = 0; i < pad; i++) b[this.len + i] = 0;
    const p = this.len + pad;
    const v6 = c.af === 6;
    b[p] = v6 ? SYNC_TYPE_INET6 : 0;
    b[p + 1] = c.protocol & 0xff;
    wr16(b, p + 2, rl & VER_SIZE_MASK); // version 0 in the top bits
    wr32(b, p + 4, c.flags & ~IP_VS_CONN_F_HASHED);
    wr16(b, p + 8, c.state);
    wr16(b, p + 10, c.cport);
    wr16(b, p + 12, c.vport);
    wr16(b, p + 14, c.dport);
    wr32(b, p + 16, c.fwmark);
    wr32(b, p + 20, c.timeout);
    let q: number;
    if (v6) {
      b.set(c.caddr6, p + 24);
      b.set(c.vaddr6, p + 40);
      b.set(c.daddr6, p + 56);
      q = p + SYNC_REC_V1_IP6;
    } else {
      wr32(b, p + 24, c.caddr);
      wr32(b, p + 28, c.vaddr);
      wr32(b, p + 32, c.daddr);
      q = p + SYNC_REC_V1_IP4;
    }
    if ((c.flags & IP_VS_CONN_F_SEQ_MASK) !== 0) {
      b[q] = SYNC_OPT_SEQ_DATA;
      b[q + 1] = SYNC_SEQ_LEN;
      for (let i = 0; i < 6; i++) wr32(b, q + 2 + 4 * i, c.seq[i]);
      q += 2 + SYNC_SEQ_LEN;
    }
    if (c.peData.length > 0 && c.peName !== '') {
      b[q] = SYNC_OPT_PE_DATA;
      b[q + 1] = c.peData.length;
      b.set(c.peData, q + 2);
      q += 2 + c.peData.length;
      b[q] = SYNC_OPT_PE_NAME;
      b[q + 1] = c.peName.length;
      for (let i = 0; i < c.peName.length; i++) b[q + 2 + i] = c.peName.charCodeAt(i) & 0xff;
      q += 2 + c.peName.length;
    }
    this.len = q;
    this.n++;
    return true;
  }

  private addV0(c: SyncConn): boolean {
    if (c.af !== 4) return false;
    const b = this.buf;
    const rl = recordLengthV0(c);
    if (this.len + rl > this.maxlen) return false;
    const p = this.len;
    b[p] = 0;
    b[p + 1] = c.protocol & 0xff;
    wr16(b, p + 2, c.cport);
    wr16(b, p + 4, c.vport);
    wr16(b, p + 6, c.dport);
    wr32(b, p + 8, c.caddr);
    wr32(b, p + 12, c.vaddr);
    wr32(b, p + 16, c.daddr);
    wr16(b, p + 20, c.flags & ~IP_VS_CONN_F_HASHED & 0xffff);
    wr16(b, p + 22, c.state);
    if ((c.flags & IP_VS_CONN_F_SEQ_MASK) !== 0) {
      for (let i = 0; i < 6; i++) wr32le(b, p + SYNC_REC_V0 + 4 * i, c.seq[i]);
    }
    this.len = p + rl;
    this.n++;
    return true;
  }

  /** Writes the header; returns the message length (the message is buf[0..length)). */
  finish(): number {
    const b = this.buf;
    if (this.version === SYNC_V1) {
      b[0] = 0;
      b[1] = this.syncid;
      wr16(b, 2, this.len);
      b[4] = this.n;
      b[5] = SYNC_V1;
      wr16(b, 6, 0);
    } else {
      b[0] = this.n;
      b[1] = this.syncid;
      wr16(b, 2, this.len);
    }
    return this.len;
  }
}

/** Encodes entries into one message (tests, tools); throws if they do not fit. */
export function encodeSyncMessage(version: 0 | 1, syncid: number, conns: readonly SyncConn[], maxlen = SYNC_MAXLEN_MAX): Uint8Array {
  const w = new SyncWriter(maxlen, version);
  w.begin(syncid);
  for (const c of conns) if (!w.add(c)) throw new RangeError('sync entries do not fit in one message');
  return w.buf.slice(0, w.finish());
}

/**
 * Decodes buf[off, off+len) into msg. Returns SYNC_OK with msg filled, or a SYNC_E_* reason
 * (msg.count is then 0). `syncidFilter` 0 accepts every syncid. Never throws.
 */
export function decodeSyncMessage(buf: Uint8Array, off: number, len: number, syncidFilter: number, msg: SyncMessage): number {
  msg.count = 0;
  if (len < SYNC_HDR_V0 || off < 0 || off + len > buf.length) return SYNC_E_SHORT;
  if (rd16(buf, off + 2) !== len) return SYNC_E_SIZE;
  const syncid = buf[off + 1];
  if (syncidFilter !== 0 && syncid !== syncidFilter) return SYNC_E_SYNCID;
  msg.syncid = syncid;
  // reserved (v1) / nr_conns (v0) = 0 and room for the v1 header: v1. A 4-byte message with
  // byte 0 = 0 is a v0 header with no entry (a v0 end-of-walk marker, walk.ts), as a kernel
  // backup reads it too (reference §3.5: the v0 path then applies nothing).
  if (buf[off] === 0 && len >= SYNC_HDR_V1) {
    if (buf[off + 5] !== SYNC_V1 || rd16(buf, off + 6) !== 0) return SYNC_E_VERSION;
    msg.version = SYNC_V1;
    const r = decodeV1(buf, off, len, buf[off + 4], msg);
    if (r !== SYNC_OK) msg.count = 0;
    return r;
  }
  msg.version = SYNC_V0;
  const r = decodeV0(buf, off, len, buf[off], msg);
  if (r !== SYNC_OK) msg.count = 0;
  return r;
}

function decodeV1(b: Uint8Array, off: number, len: number, nr: number, msg: SyncMessage): number {
  const end = off + len;
  let p = off + SYNC_HDR_V1;
  for (let i = 0; i < nr; i++) {
    p = ((p - off + 3) & ~3) + off; // records start on 4-byte boundaries (from the message start)
    if (p + 4 > end) return SYNC_E_TRUNCATED;
    const type = b[p];
    if ((type & ~SYNC_TYPE_INET6) !== 0) return SYNC_E_RECORD_TYPE;
    const vs = rd16(b, p + 2);
    if (vs >>> 12 !== 0) return SYNC_E_RECORD_VERSION;
    const size = vs & VER_SIZE_MASK;
    const v6 = type === SYNC_TYPE_INET6;
    const fixed = v6 ? SYNC_REC_V1_IP6 : SYNC_REC_V1_IP4;
    if (size < fixed) return SYNC_E_RECORD_LENGTH;
    if (p + size > end) return SYNC_E_TRUNCATED;
    const c = msg.conns[i].reset();
    c.af = v6 ? 6 : 4;
    c.protocol = b[p + 1];
    c.flags = rd32(b, p + 4);
    c.state = rd16(b, p + 8);
    c.cport = rd16(b, p + 10);
    c.vport = rd16(b, p + 12);
    c.dport = rd16(b, p + 14);
    c.fwmark = rd32(b, p + 16);
    c.timeout = rd32(b, p + 20);
    if (v6) {
      c.caddr6.set(b.subarray(p + 24, p + 40));
      c.vaddr6.set(b.subarray(p + 40, p + 56));
      c.daddr6.set(b.subarray(p + 56, p + 72));
    } else {
      c.caddr = rd32(b, p + 24);
      c.vaddr = rd32(b, p + 28);
      c.daddr = rd32(b, p + 32);
    }
    const r = decodeOptions(b, p + fixed, p + size, c);
    if (r !== SYNC_OK) return r;
    p += size;
    msg.count = i + 1;
  }
  if (end - p > 3) return SYNC_E_TRAILING;
  return SYNC_OK;
}

/**
 * Options of one v1 record, in [q, end). Each is type, len (> 0, within the record), data;
 * a type may appear once; SEQ_DATA is exactly 24 bytes and PE_NAME at most 16; a type we
 * do not know is skipped only when it carries the OPTIONAL bit.
 */
function decodeOptions(b: Uint8Array, q: number, end: number, c: SyncConn): number {
  let seen = 0;
  while (q < end) {
    if (q + 2 > end) return SYNC_E_OPTION;
    const t = b[q];
    const l = b[q + 1];
    const d = q + 2;
    if (l === 0 || d + l > end) return SYNC_E_OPTION;
    const kind = t & ~SYNC_OPT_OPTIONAL;
    if (kind === SYNC_OPT_SEQ_DATA || kind === SYNC_OPT_PE_DATA || kind === SYNC_OPT_PE_NAME) {
      if ((seen & (1 << kind)) !== 0) return SYNC_E_OPTION;
      seen |= 1 << kind;
    }
    if (kind === SYNC_OPT_SEQ_DATA) {
      if (l !== SYNC_SEQ_LEN) return SYNC_E_OPTION;
      for (let i = 0; i < 6; i++) c.seq[i] = rd32(b, d + 4 * i);
      c.hasSeq = true;
    } else if (kind === SYNC_OPT_PE_DATA) {
      c.peData = b.slice(d, d + l);
    } else if (kind === SYNC_OPT_PE_NAME) {
      if (l > SYNC_PE_NAME_MAX) return SYNC_E_OPTION;
      let s = '';
      for (let i = 0; i < l; i++) s += String.fromCharCode(b[d + i]);
      c.peName = s;
    } else if ((t & SYNC_OPT_OPTIONAL) === 0) {
      return SYNC_E_OPTION;
    }
    q = d + l;
  }
  return SYNC_OK;
}

function decodeV0(b: Uint8Array, off: number, len: number, nr: number, msg: SyncMessage): number {
  const end = off + len;
  let p = off + SYNC_HDR_V0;
  for (let i = 0; i < nr; i++) {
    if (p + SYNC_REC_V0 > end) return SYNC_E_TRUNCATED;
    const c = msg.conns[i].reset();
    c.protocol = b[p + 1];
    c.cport = rd16(b, p + 2);
    c.vport = rd16(b, p + 4);
    c.dport = rd16(b, p + 6);
    c.caddr = rd32(b, p + 8);
    c.vaddr = rd32(b, p + 12);
    c.daddr = rd32(b, p + 16);
    c.flags = rd16(b, p + 20);
    c.state = rd16(b, p + 22);
    p += SYNC_REC_V0;
    if ((c.flags & IP_VS_CONN_F_SEQ_MASK) !== 0) {
      if (p + SYNC_SEQ_LEN > end) return SYNC_E_TRUNCATED;
      for (let k = 0; k < 6; k++) c.seq[k] = rd32le(b, p + 4 * k);
      c.hasSeq = true;
      p += SYNC_SEQ_LEN;
    }
    msg.count = i + 1;
  }
  if (p !== end) return SYNC_E_TRAILING;
  return SYNC_OK;
}
