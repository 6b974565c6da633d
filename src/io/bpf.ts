// Classic BPF (the socket filter of SO_ATTACH_FILTER) built in TypeScript. A program is a
// Uint32Array with 4 words per instruction: code, jt, jf, k (struct sock_filter, unpacked;
// the addon packs it). The kernel runs it on every frame before the frame is copied into
// the ring, so the frames the director does not want never cost a ring slot or a wake-up.
//
// vipFilter() accepts:
//   - every ARP frame (requests for a VIP are ours to answer; replies teach us MACs),
//   - IPv4 frames whose destination address is one of the VIPs,
// and drops the rest. The kernel moves a received frame's 802.1Q tag out of the packet
// before taps see it (TP_STATUS_VLAN_VALID + tp_vlan_tci), so the program reads the tag's
// presence from the ancillary field vlan_avail: without `vlan` tagged frames are dropped;
// with `vlan` they are accepted as well, and so are frames still carrying one 802.1Q tag in
// the packet (a second, inner tag, or a path that did not strip it).
// VIPs are compared one by one (a chain of jeq, about 1 ns each when JITed); about 4,000
// fit in the kernel's 4,096 instructions (2,000 with `vlan`, which checks two layouts).

import { isIPv4 } from 'node:net';
import { parseV4 } from '../core/addr';

// Instruction classes and fields (linux/bpf_common.h).
export const BPF_LD = 0x00;
export const BPF_LDX = 0x01;
export const BPF_ALU = 0x04;
export const BPF_JMP = 0x05;
export const BPF_RET = 0x06;
export const BPF_W = 0x00;
export const BPF_H = 0x08;
export const BPF_B = 0x10;
export const BPF_ABS = 0x20;
export const BPF_JA = 0x00;
export const BPF_JEQ = 0x10;
export const BPF_JGT = 0x20;
export const BPF_JGE = 0x30;
export const BPF_JSET = 0x40;
export const BPF_K = 0x00;
/** SKF_AD_OFF (-0x1000) as the unsigned k of an ancillary load. */
export const SKF_AD_OFF = 0xfffff000;
export const SKF_AD_VLAN_TAG = 44;
export const SKF_AD_VLAN_TAG_PRESENT = 48;
/** The kernel's limit on program length (BPF_MAXINSNS). */
export const BPF_MAXINSNS = 4096;

/** Return value that keeps the whole frame (snaplen is min(frame, this)). */
export const ACCEPT_ALL = 0xffffffff;

const ETH_P_IP = 0x0800;
const ETH_P_ARP = 0x0806;
const ETH_P_8021Q = 0x8100;
const MAX_CHAIN = 255; // jt/jf are 8 bits

export interface VipFilterOptions {
  /** IPv4 VIPs as dotted quads or host-order uint32s. May be empty (ARP only). */
  vips: readonly (string | number)[];
  /** Accept 802.1Q-tagged frames too (default false: tagged frames are dropped). */
  vlan?: boolean;
  /** Accept ARP (default true). */
  arp?: boolean;
}

/** Small assembler: instructions are appended; jumps are relative as in the kernel. */
class Program {
  readonly words: number[] = [];
  get length(): number {
    return this.words.length / 4;
  }
  emit(code: number, jt: number, jf: number, k: number): number {
    if (jt > 255 || jf > 255 || jt < 0 || jf < 0) throw new RangeError(`BPF jump out of range (${jt}, ${jf})`);
    this.words.push(code, jt, jf, k >>> 0);
    return this.length - 1;
  }
  ldAbs(size: number, off: number): void {
    this.emit(BPF_LD | size | BPF_ABS, 0, 0, off);
  }
  ret(k: number): void {
    this.emit(BPF_RET | BPF_K, 0, 0, k);
  }
  /** A == k ? fall through : skip the next instruction. */
  ifEq(k: number): void {
    this.emit(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, k);
  }
  /** A == k ? skip the next instruction : fall through. */
  ifNe(k: number): void {
    this.emit(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, k);
  }
  /** Patches an unconditional jump emitted at `at` to land on the next instruction emitted. */
  patchJaHere(at: number): void {
    this.words[at * 4 + 3] = this.length - at - 1;
  }
  toUint32Array(): Uint32Array {
    return Uint32Array.from(this.words);
  }
}

function vipValue(v: string | number, i: number): number {
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`vips[${i}] must be a uint32 IPv4 address, got ${v}`);
    return v;
  }
  if (typeof v === 'string') {
    if (!isIPv4(v)) throw new RangeError(`vips[${i}] is not an IPv4 address: "${v}"`);
    return parseV4(v);
  }
  throw new TypeError(`vips[${i}] must be a string or a number, got ${typeof v}`);
}

/**
 * Ethertype at `typeOff`, IPv4 destination at `typeOff + 18`: accept ARP, accept IPv4 to a
 * VIP, drop the rest. Every jump stays short: each decision returns locally.
 */
function emitL3(p: Program, typeOff: number, vips: readonly number[], arp: boolean): void {
  p.ldAbs(BPF_H, typeOff);
  if (arp) {
    p.ifEq(ETH_P_ARP);
    p.ret(ACCEPT_ALL);
  }
  if (vips.length === 0) {
    p.ret(0);
    return;
  }
  p.ifNe(ETH_P_IP);
  p.ret(0);
  p.ldAbs(BPF_W, typeOff + 2 + 16); // iphdr.daddr
  // Chunks of up to 255 compares, each jumping forward to a local "accept":
  //   jeq v0 .. jeq vk-1 (jt -> accept), then `ret 0` (last chunk) or `ja +1`, then accept.
  for (let c = 0; c < vips.length; c += MAX_CHAIN - 1) {
    const chunk = vips.slice(c, c + MAX_CHAIN - 1);
    const last = c + chunk.length >= vips.length;
    for (let j = 0; j < chunk.length; j++) p.emit(BPF_JMP | BPF_JEQ | BPF_K, chunk.length - j, 0, chunk[j]);
    if (last) p.ret(0);
    else p.emit(BPF_JMP | BPF_JA, 0, 0, 1);
    p.ret(ACCEPT_ALL);
  }
}

/** Builds the director's socket filter; see the file comment. */
export function vipFilter(options: VipFilterOptions): Uint32Array {
  if (options === null || typeof options !== 'object') throw new TypeError('vipFilter(options): options must be an object');
  if (!Array.isArray(options.vips)) throw new TypeError('vipFilter: vips must be an array of IPv4 addresses');
  const vlan = options.vlan ?? false;
  const arp = options.arp ?? true;
  if (typeof vlan !== 'boolean') throw new TypeError('vipFilter: vlan must be a boolean');
  if (typeof arp !== 'boolean') throw new TypeError('vipFilter: arp must be a boolean');
  const vips = [...new Set(options.vips.map(vipValue))];

  const p = new Program();
  if (!vlan) {
    p.ldAbs(BPF_W, SKF_AD_OFF + SKF_AD_VLAN_TAG_PRESENT);
    p.ifNe(0);
    p.ret(0);
    emitL3(p, 12, vips, arp);
  } else {
    // Untagged, or tagged out of band (vlan_avail): the ethertype is at 12.
    p.ldAbs(BPF_H, 12);
    p.ifEq(ETH_P_8021Q);
    const toTagged = p.emit(BPF_JMP | BPF_JA, 0, 0, 0);
    emitL3(p, 12, vips, arp);
    p.patchJaHere(toTagged);
    // One 802.1Q tag still in the packet: the ethertype is at 16.
    emitL3(p, 16, vips, arp);
  }
  if (p.length > BPF_MAXINSNS)
    throw new RangeError(`vipFilter: ${vips.length} VIPs need ${p.length} instructions, over the kernel's ${BPF_MAXINSNS}`);
  return p.toUint32Array();
}

/** A disassembly in the style of `tcpdump -d`, for tests and debugging. */
export function formatFilter(prog: Uint32Array): string {
  const lines: string[] = [];
  for (let i = 0; i < prog.length / 4; i++) {
    const [code, jt, jf, k] = [prog[4 * i], prog[4 * i + 1], prog[4 * i + 2], prog[4 * i + 3]];
    const pc = `(${String(i).padStart(3, '0')})`;
    const cls = code & 0x07;
    let text: string;
    if (cls === BPF_LD && (code & 0xe0) === BPF_ABS) {
      const size = code & 0x18;
      const op = size === BPF_W ? 'ld' : size === BPF_H ? 'ldh' : 'ldb';
      text = k >= SKF_AD_OFF ? `${op}  #ancillary+${k - SKF_AD_OFF}` : `${op}  [${k}]`;
    } else if (cls === BPF_RET) {
      text = `ret  #${k}`;
    } else if (cls === BPF_JMP) {
      const op = code & 0xf0;
      if (op === BPF_JA) text = `ja   ${i + 1 + k}`;
      else {
        const name = op === BPF_JEQ ? 'jeq' : op === BPF_JGT ? 'jgt' : op === BPF_JGE ? 'jge' : 'jset';
        text = `${name}  #0x${k.toString(16)}  jt ${i + 1 + jt}  jf ${i + 1 + jf}`;
      }
    } else {
      text = `code 0x${code.toString(16)} jt ${jt} jf ${jf} k 0x${k.toString(16)}`;
    }
    lines.push(`${pc} ${text}`);
  }
  return lines.join('\n');
}
