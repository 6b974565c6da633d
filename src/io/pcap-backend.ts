// IoBackend over libpcap through the `cap` package (`tsvs daemon --capture pcap`): the
// fallback for hosts where our AF_PACKET ring cannot be used. Same L2 role as AF_PACKET
// (we answer ARP for the VIPs), slower, and it says so (README, bench/capture-modes.ts).
//
// RX: cap opens IF in immediate mode (cap sets pcap_set_immediate_mode when libpcap.so
// offers it, so no 1 s buffer timeout) with a libpcap filter
//   not ether src OURMAC and (arp or ip dst host VIP1 or ip dst host VIP2 ...)
// ("not ether src" keeps our own transmissions out: libpcap captures outgoing frames and
// cap has no pcap_setdirection). cap calls us once per packet, every packet in the same
// one Buffer; each is copied into a fixed slot of a preallocated arena and described with
// the AF_PACKET descriptor layout. The pipeline runs once per event-loop turn (setImmediate,
// after cap's poll callback has dispatched everything ready) or as soon as the arena is full.
//
// Checksums: libpcap gives no vnet header, so a frame from a sender with TX checksum
// offload (a veth peer) carries only the pseudo-header sum (lab-notes pitfall 4). Such a
// TCP/UDP checksum is completed in the arena before the pipeline sees the frame (the
// check costs one pseudo-header sum per packet; the completion only happens when needed,
// and recomputing a field that holds the pseudo sum is correct either way). GSO
// super-frames cannot be injected: turn GRO/LRO off on IF (and TSO off on veth senders).
// Frames larger than a slot are counted (oversize) and dropped.
//
// TX: cap's send() (pcap_sendpacket) injects one frame per native call, from offset 0 of a
// Buffer: frames in the arena are sent through per-slot Buffer views made once; other
// frames (ARP, ICMP errors from the pipeline's TX buffer) are copied into a scratch Buffer.
//
// Cost, stated: per packet one JS callback from cap (a MakeCallback with its handle scope),
// one copy into the arena, one pcap_sendpacket crossing per TX frame, and a view of the
// capture Buffer per distinct packet length (made once per length, then reused). It is the
// documented exception to "one native crossing per batch".

import { formatV4 } from '../core/addr';
import { completePartialChecksum, pseudoSum4 } from '../wire/checksum';
import { DESC_LEN, DESC_OFFSET, DESC_SNAPLEN, DESC_STATUS, DESC_STRIDE, ifInfo } from './afpacket';
import type { IoBackend } from './backend';

interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  on(ev: 'packet', fn: (nbytes: number, truncated: boolean) => void): void;
  removeAllListeners(ev: 'packet'): void;
  send(buffer: Buffer, nbytes?: number): void;
  close(): void;
}

export interface PcapBackendOptions {
  vips: readonly number[];
  /** Frames per block handed to the pipeline (arena slots). Default 512. */
  batch?: number;
  /** libpcap's kernel buffer in bytes. Default 8 MiB. */
  bufferSize?: number;
  log?: (msg: string) => void;
}

const TP_STATUS_USER = 1;
/** Room in front of each slot's frame (kept as AF_PACKET's vnet layout would have it). */
const HEAD = 16;

/**
 * An untagged Ethernet frame at buf[off..off+len] carrying TCP or UDP over IPv4 (not a
 * fragment) whose checksum field holds only the pseudo-header sum (CHECKSUM_PARTIAL left by
 * the sender's offload): the checksum is completed in place and true returned. Any other
 * frame is left alone. A field that holds the pseudo sum is rewritten with the checksum of
 * the data, which is right whether or not it was partial.
 */
export function completePseudoChecksum(b: Uint8Array, off: number, len: number): boolean {
  if (len < 34 || b[off + 12] !== 0x08 || b[off + 13] !== 0x00) return false;
  const ip = off + 14;
  if (b[ip] >> 4 !== 4) return false;
  const ihl = (b[ip] & 15) * 4;
  const proto = b[ip + 9];
  if (proto !== 6 && proto !== 17) return false;
  if (((b[ip + 6] & 0x3f) | b[ip + 7]) !== 0) return false; // a fragment (MF or offset)
  const totLen = (b[ip + 2] << 8) | b[ip + 3];
  const l4len = totLen - ihl;
  const field = proto === 6 ? 16 : 6;
  if (ihl < 20 || l4len < field + 2 || 14 + totLen > len) return false;
  const l4 = ip + ihl;
  const have = (b[l4 + field] << 8) | b[l4 + field + 1];
  const saddr = ((b[ip + 12] << 24) | (b[ip + 13] << 16) | (b[ip + 14] << 8) | b[ip + 15]) >>> 0;
  const daddr = ((b[ip + 16] << 24) | (b[ip + 17] << 16) | (b[ip + 18] << 8) | b[ip + 19]) >>> 0;
  if (have !== pseudoSum4(saddr, daddr, proto, l4len)) return false;
  return completePartialChecksum(b, off, 14 + totLen, 14 + ihl, field) === 0;
}

export class PcapBackend implements IoBackend {
  readonly mac: Uint8Array;
  readonly mtu: number;
  readonly vnetHdr = false;
  readonly ownsVipAtL2 = true;
  /** Counters of this backend (frames the pipeline never saw, or that failed to leave). */
  rxFrames = 0;
  rxOversize = 0;
  rxTruncated = 0;
  rxEarly = 0;
  checksumsCompleted = 0;
  txFrames = 0;
  txErrors = 0;
  lastTxError = '';

  private readonly ifname: string;
  private readonly macText: string;
  private readonly bufferSize: number;
  private cap: CapHandle | null = null;
  private readonly pkt = Buffer.alloc(65536);
  /** pkt.subarray(0, n) for each length n seen, made once. */
  private readonly pktViews: Array<Uint8Array | undefined> = [];
  private readonly slot: number;
  private readonly batch: number;
  private readonly arenaBuf: Buffer;
  private readonly arena: Uint8Array;
  private readonly slotViews: Buffer[] = [];
  private readonly descs: Uint32Array;
  private readonly scratch = Buffer.alloc(65536);
  private count = 0;
  private scheduled = false;
  private onBlock: ((bytes: Uint8Array, descs: Uint32Array, count: number) => void) | null = null;
  private readonly flushCb = (): void => {
    this.scheduled = false;
    this.flush();
  };
  private readonly packetCb = (nbytes: number, truncated: boolean): void => this.packet(nbytes, truncated);

  constructor(ifname: string, opts: PcapBackendOptions) {
    const info = ifInfo(ifname);
    this.ifname = ifname;
    this.mac = new Uint8Array(info.mac);
    this.macText = [...this.mac].map((b) => b.toString(16).padStart(2, '0')).join(':');
    this.mtu = info.mtu;
    this.batch = opts.batch ?? 512;
    if (!Number.isInteger(this.batch) || this.batch < 1 || this.batch > 4096) throw new RangeError(`pcap batch must be 1 to 4096, got ${this.batch}`);
    this.bufferSize = opts.bufferSize ?? 8 << 20;
    // A frame of MTU + Ethernet + one VLAN tag fits a slot.
    this.slot = Math.max(2048, (HEAD + info.mtu + 18 + 63) & ~63);
    this.arenaBuf = Buffer.alloc(this.slot * this.batch);
    this.arena = new Uint8Array(this.arenaBuf.buffer, this.arenaBuf.byteOffset, this.arenaBuf.length);
    for (let i = 0; i < this.batch; i++) this.slotViews.push(this.arenaBuf.subarray(i * this.slot + HEAD, (i + 1) * this.slot));
    this.descs = new Uint32Array(DESC_STRIDE * this.batch);
    this.open(opts.vips);
  }

  /** The libpcap filter for `vips` (exported for tests and logs). */
  static filterFor(mac: string, vips: readonly number[]): string {
    const ips = vips.map((v) => `ip dst host ${formatV4(v)}`);
    return `not ether src ${mac} and (arp${ips.length ? ' or ' + ips.join(' or ') : ''})`;
  }

  private open(vips: readonly number[]): void {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Cap } = require('cap') as { Cap: new () => CapHandle };
    const cap = new Cap();
    let link: string;
    try {
      link = cap.open(this.ifname, PcapBackend.filterFor(this.macText, vips), this.bufferSize, this.pkt);
    } catch (e) {
      const msg = (e as Error).message;
      const err = new Error(`libpcap on ${this.ifname}: ${msg}`) as NodeJS.ErrnoException;
      if (/permission|not permitted/i.test(msg)) err.code = 'EPERM';
      else if (/No such device|doesn't exist/i.test(msg)) err.code = 'ENODEV';
      throw err;
    }
    if (link !== 'ETHERNET') {
      cap.close();
      throw new Error(`libpcap on ${this.ifname}: link type ${link}, not ETHERNET`);
    }
    cap.on('packet', this.packetCb);
    this.cap = cap;
  }

  start(onBlock: (bytes: Uint8Array, descs: Uint32Array, count: number) => void): void {
    this.onBlock = onBlock;
  }

  private packet(nbytes: number, truncated: boolean): void {
    if (this.onBlock === null) {
      this.rxEarly++;
      return;
    }
    if (truncated) {
      this.rxTruncated++;
      return;
    }
    if (nbytes > this.slot - HEAD) {
      this.rxOversize++;
      return;
    }
    let view = this.pktViews[nbytes];
    if (view === undefined) {
      view = this.pkt.subarray(0, nbytes);
      this.pktViews[nbytes] = view;
    }
    const i = this.count;
    const off = i * this.slot + HEAD;
    this.arena.set(view, off);
    if (completePseudoChecksum(this.arena, off, nbytes)) this.checksumsCompleted++;
    const d = i * DESC_STRIDE;
    const descs = this.descs;
    descs[d + DESC_OFFSET] = off;
    descs[d + DESC_SNAPLEN] = nbytes;
    descs[d + DESC_LEN] = nbytes;
    descs[d + DESC_STATUS] = TP_STATUS_USER;
    descs[d + 4] = 0;
    descs[d + 5] = 0;
    descs[d + 6] = 0;
    descs[d + 7] = 0;
    this.count = i + 1;
    this.rxFrames++;
    if (this.count === this.batch) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushCb);
    }
  }

  private flush(): void {
    const n = this.count;
    if (n === 0 || this.onBlock === null) return;
    this.count = 0;
    this.onBlock(this.arena, this.descs, n);
  }

  send(buf: Uint8Array, descs: Uint32Array, count: number): number {
    const cap = this.cap;
    if (cap === null) return 0;
    let sent = 0;
    const fromArena = buf.buffer === this.arena.buffer && buf.byteOffset === this.arena.byteOffset;
    for (let i = 0; i < count; i++) {
      const off = descs[2 * i];
      const len = descs[2 * i + 1];
      let out: Buffer;
      const s = (off - HEAD) / this.slot;
      if (fromArena && s === (s | 0) && s >= 0 && s < this.batch && len <= this.slot - HEAD) {
        out = this.slotViews[s];
      } else {
        out = this.scratch;
        for (let j = 0; j < len; j++) out[j] = buf[off + j];
      }
      try {
        cap.send(out, len);
        sent++;
      } catch (e) {
        this.txErrors++;
        this.lastTxError = (e as Error).message;
      }
    }
    this.txFrames += sent;
    return sent;
  }

  /** cap cannot change a running filter: the capture is reopened (VIP changes are rare). */
  setVips(vips: readonly number[]): void {
    this.closeCap();
    this.open(vips);
  }

  stop(): void {
    this.flush();
    this.onBlock = null;
  }

  close(): void {
    this.onBlock = null;
    this.closeCap();
  }

  private closeCap(): void {
    const cap = this.cap;
    if (cap === null) return;
    this.cap = null;
    cap.removeAllListeners('packet');
    cap.close();
  }
}
