// The per-frame data path (LVS-DR), run once per received block:
//
//   Ethernet ─► ARP request for a VIP?        answer in place (we own the VIP at L2)
//            ─► ARP from a real server?       learn its MAC
//            ─► IPv4 to a VIP:
//                 ICMP echo                   reply in place
//                 TCP / UDP                   director.inPacket4 (lookup or schedule)
//                   DR: dst MAC = real server, src MAC = ours, TTL-1 (incremental
//                   checksum); the frame is sent from where it lies in the ring
//                 TTL <= 1                    ICMP time exceeded back to the client
//                 no dest available           ICMP port unreachable (as IPVS)
//            ─► anything else                 not ours: the kernel has its own copy
// A VIP on standby (its VRRP instance is BACKUP, see setVipsActive; or the whole director is
// a standby, see setAllVipsActive) is treated as not ours: no ARP answer, no echo reply,
// nothing forwarded. Its synced connections are kept in the table, ready for take-over.
//
// Forwarded frames are sent from the RX ring itself: one TX batch per block, no copy.
// Frames we build (ARP replies are in place too; ICMP errors, ARP requests) go into a
// preallocated TX buffer and leave in a second batch. Drops are counted by reason in the
// director's counters; nothing here throws or allocates per frame.

import { DEST_F_AVAILABLE, FWD_DROUTE, IPPROTO_ICMP, IPPROTO_TCP, IPPROTO_UDP } from '../core/constants';
import type { Director } from '../core/director';
import {
  DROP_BAD_L4, DROP_FRAGMENT, DROP_NO_DEST, DROP_RUNT, DROP_TTL, DROP_UNRESOLVED, DROP_UNSUPPORTED,
} from '../core/drops';
import { DESC_LEN, DESC_OFFSET, DESC_SNAPLEN, DESC_STRIDE } from '../io/afpacket';
import type { IoBackend } from '../io/backend';
import { ArpView, ARP_OP_REQUEST } from '../wire/arp';
import { dropClass } from '../wire/errors';
import { put16 } from '../wire/bytes';
import {
  ETHERTYPE_ARP, ETHERTYPE_IPV4, ETH_HEADER_LEN, ETH_VLAN_HEADER_LEN, EthernetView, VLAN_TCI, VLAN_TYPE, writeEthernetHeader,
} from '../wire/ethernet';
import { IcmpView, buildIcmpv4Error } from '../wire/icmp';
import { Ipv4View } from '../wire/ipv4';
import { TcpView } from '../wire/tcp';
import { UdpView } from '../wire/udp';
import type { Neighbours } from './neighbours';

const VNET_HDR_LEN = 10;
const MAX_BATCH = 4096;
const TXBUF_SIZE = 256 * 1024;
const TXBUF_SLOT = 2048;
const ICMP_ECHO_REQUEST = 8;
const ICMP_TIME_EXCEEDED = 11;
const ICMP_DEST_UNREACH = 3;
const ICMP_PORT_UNREACH = 3;

/** Counters of the pipeline itself (the director counts connection-level drops). */
/** Which VIPs a pipeline stands by for: every one (`all`), or those listed. */
export interface StandbyState {
  all: boolean;
  vips: number[];
}

export class PipelineStats {
  rxFrames = 0;
  rxBlocks = 0;
  forwarded = 0;
  txFrames = 0;
  txFailed = 0;
  arpReplies = 0;
  echoReplies = 0;
  icmpErrors = 0;
  notOurs = 0;
  /** Frames for a VIP on standby (VRRP backup), left alone. */
  standbyVip = 0;
}

export class Pipeline {
  readonly stats = new PipelineStats();
  private readonly eth = new EthernetView();
  private readonly arp = new ArpView();
  private readonly ip = new Ipv4View();
  private readonly tcp = new TcpView();
  private readonly udp = new UdpView();
  private readonly icmp = new IcmpView();
  /** (offset, len) pairs of frames to send from the RX block. */
  private readonly ringTx = new Uint32Array(2 * MAX_BATCH);
  private ringTxN = 0;
  /** Frames we build, each in its own slot with room for a vnet header in front. */
  private readonly txBuf = new Uint8Array(TXBUF_SIZE);
  private readonly bufTx = new Uint32Array(2 * (TXBUF_SIZE / TXBUF_SLOT));
  private bufTxN = 0;
  private ipIdent = 1;
  private readonly mac: Uint8Array;
  /** False when the backend does not own the VIPs at L2 (TUN): ARP for them is never answered. */
  private readonly ownsVipAtL2: boolean;
  private readonly dests: Director['services']['dests'];
  /**
   * Standby, one mechanism for both switches: a VIP is on standby when it is in `standby`
   * (VRRP: its instance is not MASTER) or when `standbyAll` is set (Daemon.setActive(false):
   * the whole director is a standby, VIPs added later included). `anyStandby` keeps the
   * per-frame test to one boolean while nothing is on standby.
   */
  private readonly standby = new Set<number>();
  private standbyAll = false;
  private anyStandby = false;

  constructor(
    private readonly director: Director,
    private readonly io: IoBackend,
    /** The director's own IPv4 address on this segment (ARP requests, ICMP errors). */
    private readonly ourIp: number,
    private readonly neighbours: Neighbours | null,
  ) {
    this.mac = io.mac;
    this.ownsVipAtL2 = io.ownsVipAtL2 !== false;
    this.dests = director.services.dests;
  }

  /** Handles one received block: every frame, then at most two TX batches. */
  readonly onBlock = (bytes: Uint8Array, descs: Uint32Array, count: number): void => {
    this.stats.rxBlocks++;
    this.stats.rxFrames += count;
    this.ringTxN = 0;
    for (let i = 0; i < count; i++) this.frame(bytes, descs, i * DESC_STRIDE);
    if (this.ringTxN > 0) this.transmit(bytes, this.ringTx, this.ringTxN);
    this.flush();
  };

  /** Sends frames queued in the TX buffer (also used for control frames between blocks). */
  flush(): void {
    if (this.bufTxN > 0) {
      this.transmit(this.txBuf, this.bufTx, this.bufTxN);
      this.bufTxN = 0;
    }
  }

  /** VRRP: answer for these VIPs again (true) or leave them alone (false), from the next frame on. */
  setVipsActive(vips: readonly number[], active: boolean): void {
    for (const v of vips) {
      if (active) this.standby.delete(v >>> 0);
      else this.standby.add(v >>> 0);
    }
    this.anyStandby = this.standbyAll || this.standby.size !== 0;
  }

  /**
   * Every VIP, present and future, on standby (false) or not (true). Lifting it leaves the
   * VIPs put on standby one by one (setVipsActive) where they are.
   */
  setAllVipsActive(active: boolean): void {
    this.standbyAll = !active;
    this.anyStandby = this.standbyAll || this.standby.size !== 0;
  }

  /** The standby state, to hand to other pipelines (the data-plane workers). */
  standbyState(): StandbyState {
    return { all: this.standbyAll, vips: [...this.standby] };
  }

  /** Replaces the standby state with one taken from another pipeline (standbyState()). */
  setStandbyState(s: StandbyState): void {
    this.standby.clear();
    for (const v of s.vips) this.standby.add(v >>> 0);
    this.standbyAll = s.all;
    this.anyStandby = this.standbyAll || this.standby.size !== 0;
  }

  /** Is this VIP answered for (not on standby)? */
  isVipActive(vip: number): boolean {
    return !this.standbyAll && !this.standby.has(vip >>> 0);
  }

  /** Queues a control frame (gratuitous ARP, ARP request) built elsewhere. */
  queueFrame(frame: Uint8Array, len: number): void {
    const at = this.txSlot();
    if (at < 0) return;
    this.txBuf.set(frame.subarray(0, len), at);
    this.commitTx(at, len < 60 ? 60 : len);
  }

  private frame(bytes: Uint8Array, descs: Uint32Array, d: number): void {
    const off = descs[d + DESC_OFFSET];
    const snap = descs[d + DESC_SNAPLEN];
    if (snap < descs[d + DESC_LEN]) return this.drop(DROP_RUNT);
    const eth = this.eth;
    const r = eth.reset(bytes, off, snap);
    if (r !== 0) return this.drop(dropClass(r));
    const type = eth.ethertype;
    if (type === ETHERTYPE_IPV4) return this.ipv4(bytes, off, snap);
    if (type === ETHERTYPE_ARP) return this.arpFrame(off, snap);
    this.stats.notOurs++;
  }

  private ipv4(bytes: Uint8Array, off: number, snap: number): void {
    const ip = this.ip;
    const eth = this.eth;
    const r = ip.reset(bytes, eth.l3Offset, eth.l3Length);
    if (r !== 0) return this.drop(dropClass(r));
    const daddr = ip.daddrI32;
    const director = this.director;
    if (director.index.generation !== director.services.generation) director.sync();
    if (!director.index.isVip4(daddr)) {
      this.stats.notOurs++;
      return;
    }
    if (this.anyStandby && (this.standbyAll || this.standby.has(daddr >>> 0))) {
      this.stats.standbyVip++;
      return;
    }
    if (ip.isFragment) return this.drop(DROP_FRAGMENT);
    const proto = ip.protocol;
    let sport = 0;
    let dport = 0;
    let flags = 0;
    if (proto === IPPROTO_TCP) {
      const t = this.tcp;
      if (t.reset(bytes, ip.payloadOffset, ip.payloadLength) !== 0) return this.drop(DROP_BAD_L4);
      sport = t.sport;
      dport = t.dport;
      flags = t.flags;
    } else if (proto === IPPROTO_UDP) {
      const u = this.udp;
      if (u.reset(bytes, ip.payloadOffset, ip.payloadLength) !== 0) return this.drop(DROP_BAD_L4);
      sport = u.sport;
      dport = u.dport;
    } else if (proto === IPPROTO_ICMP) {
      return this.icmpToVip(off, snap);
    } else {
      return this.drop(DROP_UNSUPPORTED);
    }
    if (ip.ttl <= 1) {
      this.icmpError(ICMP_TIME_EXCEEDED, 0, this.ourIp);
      return this.drop(DROP_TTL);
    }
    const destId = director.inPacket4(proto, ip.saddrI32, sport, daddr, dport, flags, ip.length);
    if (destId === 0) {
      if (director.lastDrop === DROP_NO_DEST) this.icmpError(ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, daddr);
      return;
    }
    const dest = this.dests[destId]!;
    const mac = dest.mac;
    if (mac === null || (dest.flags & DEST_F_AVAILABLE) === 0) return this.drop(DROP_UNRESOLVED);
    if ((dest.fwd & 7) !== FWD_DROUTE) return this.drop(DROP_UNSUPPORTED);
    eth.setDst(mac, 0);
    eth.setSrc(this.mac, 0);
    ip.decrementTtl();
    this.queueRing(off, snap);
    this.stats.forwarded++;
  }

  private icmpToVip(off: number, snap: number): void {
    const ip = this.ip;
    const icmp = this.icmp;
    if (icmp.reset(ip.buffer, ip.payloadOffset, ip.payloadLength) !== 0) return this.drop(DROP_BAD_L4);
    if (icmp.type !== ICMP_ECHO_REQUEST) {
      this.stats.notOurs++;
      return;
    }
    icmp.toEchoReply();
    ip.swapAddresses();
    ip.ttl = 64;
    ip.recomputeChecksum();
    this.eth.swapMacs();
    this.eth.setSrc(this.mac, 0);
    this.queueRing(off, snap);
    this.stats.echoReplies++;
  }

  private arpFrame(off: number, snap: number): void {
    const eth = this.eth;
    const arp = this.arp;
    const r = arp.reset(eth.buffer, eth.l3Offset, eth.l3Length);
    if (r !== 0) return this.drop(dropClass(r));
    const spa = arp.spaI32;
    if (this.neighbours !== null) this.neighbours.learn(spa, eth.buffer, arp.senderMacOffset);
    if (arp.operation !== ARP_OP_REQUEST || !this.ownsVipAtL2) return;
    const director = this.director;
    if (director.index.generation !== director.services.generation) director.sync();
    const tpa = arp.tpaI32;
    if (!director.index.isVip4(tpa) || spa === tpa) return;
    if (this.anyStandby && (this.standbyAll || this.standby.has(tpa >>> 0))) {
      this.stats.standbyVip++;
      return;
    }
    arp.toReply(this.mac, 0);
    eth.swapMacs();
    eth.setSrc(this.mac, 0);
    this.queueRing(off, snap);
    this.stats.arpReplies++;
  }

  /** Builds an ICMP error about the current IPv4 packet (to its source) in the TX buffer. */
  private icmpError(type: number, code: number, from: number): void {
    const at = this.txSlot();
    if (at < 0) return;
    const eth = this.eth;
    const buf = this.txBuf;
    // back on the client's VLAN: keep the tag the frame came with
    let l2 = ETH_HEADER_LEN;
    if (eth.hasVlan) {
      writeEthernetHeader(buf, at, eth.buffer, eth.srcOffset, this.mac, 0, eth.outerEthertype);
      put16(buf, at + VLAN_TCI, eth.vlanTci);
      put16(buf, at + VLAN_TYPE, ETHERTYPE_IPV4);
      l2 = ETH_VLAN_HEADER_LEN;
    } else {
      writeEthernetHeader(buf, at, eth.buffer, eth.srcOffset, this.mac, 0, ETHERTYPE_IPV4);
    }
    this.ipIdent = (this.ipIdent + 1) & 0xffff;
    const len = buildIcmpv4Error(buf, at + l2, this.ip, from, this.ipIdent, type, code, 0);
    this.commitTx(at, l2 + len);
    this.stats.icmpErrors++;
  }

  private queueRing(off: number, len: number): void {
    if (this.ringTxN === MAX_BATCH) {
      this.transmit(this.eth.buffer, this.ringTx, this.ringTxN);
      this.ringTxN = 0;
    }
    this.ringTx[2 * this.ringTxN] = off;
    this.ringTx[2 * this.ringTxN + 1] = len;
    this.ringTxN++;
  }

  /** Offset of a free TX-buffer slot (its vnet header zeroed), or -1 when full. */
  private txSlot(): number {
    if (this.bufTxN === this.bufTx.length / 2) this.flush();
    const at = this.bufTxN * TXBUF_SLOT + 16;
    this.txBuf.fill(0, at - VNET_HDR_LEN, at);
    return at;
  }

  private commitTx(at: number, len: number): void {
    if (len < 60) {
      this.txBuf.fill(0, at + len, at + 60);
      len = 60;
    }
    this.bufTx[2 * this.bufTxN] = at;
    this.bufTx[2 * this.bufTxN + 1] = len;
    this.bufTxN++;
  }

  private transmit(buf: Uint8Array, descs: Uint32Array, n: number): void {
    const sent = this.io.send(buf, descs, n);
    this.stats.txFrames += sent;
    if (sent < n) this.stats.txFailed += n - sent;
  }

  private drop(reason: number): void {
    this.director.drops[reason]++;
  }
}
