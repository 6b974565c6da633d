// Ethernet II header view, with at most one 802.1Q (or 802.1ad) VLAN tag: it reports the
// ethertype after the tag and the offset where the L3 header starts. A second tag is not
// parsed: the view then reports ethertype 0x8100 as a value the pipeline does not handle.
// (With VLAN offload the kernel strips the tag and reports it in the tpacket header; then
// frames arrive untagged and this view never sees one.)
//
// View contract (the same for every view in src/wire/): one object per worker, re-pointed
// with reset(buf, off, len), which checks every length once and returns 0 or a drop reason
// from errors.ts, never throws. After 0, accessors stay inside [off, off + len). After a
// drop reason, the view points at a zeroed scratch buffer, so accessors read zeros and
// setters cannot touch the frame. 16/32-bit fields are read and written through a DataView
// (single bytes straight from the Uint8Array): bench/wire.ts measured DataView getters
// faster than byte shifts (see there). The view keeps one DataView per buffer it was last
// pointed at, so re-pointing it within the same RX ring allocates nothing; a view moved to
// another buffer allocates one DataView then (use separate views for RX and TX buffers).
// Offsets passed in and returned are absolute (indexes into `buf`).

import { TRUNCATED } from './errors';
import { isBroadcastMac, writeMac, swapMacs as swapMacBytes, MAC_LEN } from './mac';
import { SCRATCH, SCRATCH_DV } from './scratch';

const OK = 0; // errors.ts OK, as a local (see the note at the export list below)

// Field offsets from the start of the frame.
const ETH_DST = 0;
const ETH_SRC = 6;
const ETH_TYPE = 12;
const ETH_HEADER_LEN = 14;
// With one tag: TPID at ETH_TYPE, then the tag control information and the inner type.
const VLAN_TCI = 14;
const VLAN_TYPE = 16;
const ETH_VLAN_HEADER_LEN = 18;
/** Shortest frame on the wire without FCS; shorter frames are padded by the sender. */
const ETH_MIN_FRAME = 60;

const ETHERTYPE_IPV4 = 0x0800;
const ETHERTYPE_ARP = 0x0806;
const ETHERTYPE_VLAN = 0x8100;
const ETHERTYPE_QINQ = 0x88a8;
const ETHERTYPE_IPV6 = 0x86dd;

// Offsets and values are plain locals, exported in this list: the compiled CommonJS then
// uses the local instead of loading `exports.NAME` on every access (which tsc emits for an
// `export const`; measured 44 -> 35 ns per frame for the Ethernet + IPv4 + TCP parse).
export {
  ETH_DST, ETH_SRC, ETH_TYPE, ETH_HEADER_LEN, VLAN_TCI, VLAN_TYPE, ETH_VLAN_HEADER_LEN,
  ETH_MIN_FRAME, ETHERTYPE_IPV4, ETHERTYPE_ARP, ETHERTYPE_VLAN, ETHERTYPE_QINQ, ETHERTYPE_IPV6,
};

export class EthernetView {
  private buf: Uint8Array = SCRATCH;
  private dv: DataView = SCRATCH_DV;
  private cbuf: Uint8Array = SCRATCH; // the last buffer pointed at, and its DataView
  private cdv: DataView = SCRATCH_DV;
  private off = 0;
  private len = 0;
  private typeAt = ETH_TYPE;
  private l3 = ETH_HEADER_LEN;

  /** Points the view at the frame buf[off, off + len). Returns OK or TRUNCATED. */
  reset(buf: Uint8Array, off: number, len: number): number {
    if (off < 0 || len < ETH_HEADER_LEN || off + len > buf.length) return this.fail(TRUNCATED);
    if (buf !== this.cbuf) {
      this.cbuf = buf;
      this.cdv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    }
    const dv = this.cdv;
    const tpid = dv.getUint16(off + ETH_TYPE);
    if (tpid === ETHERTYPE_VLAN || tpid === ETHERTYPE_QINQ) {
      if (len < ETH_VLAN_HEADER_LEN) return this.fail(TRUNCATED);
      this.typeAt = off + VLAN_TYPE;
      this.l3 = off + ETH_VLAN_HEADER_LEN;
    } else {
      this.typeAt = off + ETH_TYPE;
      this.l3 = off + ETH_HEADER_LEN;
    }
    this.buf = buf;
    this.dv = dv;
    this.off = off;
    this.len = len;
    return OK;
  }

  private fail(reason: number): number {
    SCRATCH.fill(0); // undo whatever a setter on a failed view wrote there
    this.buf = SCRATCH;
    this.dv = SCRATCH_DV;
    this.off = 0;
    this.len = 0;
    this.typeAt = ETH_TYPE;
    this.l3 = ETH_HEADER_LEN;
    return reason;
  }

  /** The buffer the view points at (the scratch buffer after a failed reset). */
  get buffer(): Uint8Array { return this.buf; }
  get offset(): number { return this.off; }
  get length(): number { return this.len; }
  get dstOffset(): number { return this.off + ETH_DST; }
  get srcOffset(): number { return this.off + ETH_SRC; }
  /** The L3 ethertype: after the VLAN tag if there is one. */
  get ethertype(): number { return this.dv.getUint16(this.typeAt); }
  set ethertype(v: number) { this.dv.setUint16(this.typeAt, v); }
  /** The ethertype field at offset 12 (the TPID when tagged). */
  get outerEthertype(): number { return this.dv.getUint16(this.off + ETH_TYPE); }
  get hasVlan(): boolean { return this.l3 - this.off === ETH_VLAN_HEADER_LEN; }
  /** Tag control information (PCP, DEI, VID); 0 when untagged. */
  get vlanTci(): number { return this.hasVlan ? this.dv.getUint16(this.off + VLAN_TCI) : 0; }
  get vlanId(): number { return this.vlanTci & 0x0fff; }
  get vlanPcp(): number { return this.vlanTci >>> 13; }
  get headerLength(): number { return this.l3 - this.off; }
  /** Absolute offset of the L3 header. */
  get l3Offset(): number { return this.l3; }
  /** Bytes from the L3 header to the end of the frame (Ethernet padding included). */
  get l3Length(): number { return this.off + this.len - this.l3; }
  get isBroadcast(): boolean { return isBroadcastMac(this.buf, this.off); }
  /** Destination has the group bit (multicast or broadcast). */
  get isMulticast(): boolean { return (this.buf[this.off] & 1) === 1; }

  /** Copies a 6-byte MAC from mac[macOff] into the destination field. */
  setDst(mac: Uint8Array, macOff: number): void { writeMac(this.buf, this.off + ETH_DST, mac, macOff); }
  /** Copies a 6-byte MAC from mac[macOff] into the source field. */
  setSrc(mac: Uint8Array, macOff: number): void { writeMac(this.buf, this.off + ETH_SRC, mac, macOff); }
  /** Swaps destination and source (turning a frame around for a reply). */
  swapMacs(): void { swapMacBytes(this.buf, this.off + ETH_DST, this.off + ETH_SRC); }
}

/** Writes an untagged 14-byte header; returns 14. For building frames into a TX buffer. */
export function writeEthernetHeader(buf: Uint8Array, off: number, dst: Uint8Array, dstOff: number, src: Uint8Array, srcOff: number, ethertype: number): number {
  writeMac(buf, off + ETH_DST, dst, dstOff);
  writeMac(buf, off + ETH_SRC, src, srcOff);
  buf[off + ETH_TYPE] = ethertype >>> 8;
  buf[off + ETH_TYPE + 1] = ethertype;
  return ETH_HEADER_LEN;
}

// ---- Repr: parse to / emit from a plain object (tests, building frames; allocates) ----

export interface EthernetRepr {
  dst: Uint8Array;
  src: Uint8Array;
  /** The L3 ethertype (after the tag). */
  ethertype: number;
  /** VLAN id when tagged with 802.1Q; absent when untagged. */
  vlanId?: number;
  vlanPcp?: number;
}

export function parseEthernet(buf: Uint8Array, off: number, len: number): EthernetRepr | number {
  const v = new EthernetView();
  const r = v.reset(buf, off, len);
  if (r !== OK) return r;
  const repr: EthernetRepr = {
    dst: buf.slice(off + ETH_DST, off + ETH_DST + MAC_LEN),
    src: buf.slice(off + ETH_SRC, off + ETH_SRC + MAC_LEN),
    ethertype: v.ethertype,
  };
  if (v.hasVlan) {
    repr.vlanId = v.vlanId;
    repr.vlanPcp = v.vlanPcp;
  }
  return repr;
}

export function ethernetHeaderLen(repr: EthernetRepr): number {
  return repr.vlanId === undefined ? ETH_HEADER_LEN : ETH_VLAN_HEADER_LEN;
}

/** Writes the header at buf[off]; returns its length (14, or 18 when tagged). */
export function emitEthernet(repr: EthernetRepr, buf: Uint8Array, off: number): number {
  if (repr.vlanId === undefined) return writeEthernetHeader(buf, off, repr.dst, 0, repr.src, 0, repr.ethertype);
  writeEthernetHeader(buf, off, repr.dst, 0, repr.src, 0, ETHERTYPE_VLAN);
  const tci = (((repr.vlanPcp ?? 0) & 7) << 13) | (repr.vlanId & 0x0fff);
  buf[off + VLAN_TCI] = tci >>> 8;
  buf[off + VLAN_TCI + 1] = tci;
  buf[off + VLAN_TYPE] = repr.ethertype >>> 8;
  buf[off + VLAN_TYPE + 1] = repr.ethertype;
  return ETH_VLAN_HEADER_LEN;
}
