// AF_PACKET I/O: a typed wrapper over the addon's PacketSocket (native/afpacket.cc).
//
// RX: the kernel fills a ring mmap'd into our address space; `ring` is one ArrayBuffer over
// all of it, so frames are read where the kernel wrote them. One native call, nextBlock(),
// describes a batch of frames in `descs` (DESC_STRIDE words per frame, the DESC_* offsets
// below); the frames stay valid, and may be transmitted in place, until releaseBlock().
// drain() loops over every ready batch. The ring is either
//   - 'v2' (TPACKET_V2, the default): one slot per frame, a wake-up per frame; a batch is
//     every consecutive ready slot (at most maxBatch). Low latency at low rates (a frame is
//     handed over at once), batches form by themselves under load;
//   - 'v3' (TPACKET_V3): a batch is one block, handed over when full or when its retire
//     timer fires (>= 1 ms): at low rates each frame waits that long (lab-notes pitfall 6).
// The defaults of both and the numbers behind them: RING_DEFAULTS below, bench/rx-tuning.ts.
//
// TX: send(buf, descs, count) transmits (offset, len) pairs out of `buf` (the ring or any
// TX buffer) with one sendmmsg per up to 1024 frames. With vnetHdr every frame is preceded
// in its buffer by its 10-byte virtio_net_hdr (at offset - VNET_HDR_LEN); a frame received
// with vnetHdr already has it there. Failures on the data path are counted, not thrown.
//
// Arguments are validated here (TypeError/RangeError naming the option); the native side
// keeps only cheap guards. Syscall failures become NativeIoError with the errno name as
// `code` and the syscall as `syscall`.

import {
  native,
  isNativeError,
  NativeIoError,
  type NativeIfInfo,
  type NativePacketSocket,
  type NativePacketStats,
} from './native';

// ---- RX descriptor: DESC_STRIDE uint32 words per frame ---------------------------------
export const DESC_STRIDE = 8;
/** Offset in `ring` of the frame's first byte (the destination MAC). */
export const DESC_OFFSET = 0;
/** Bytes of the frame present in the ring. */
export const DESC_SNAPLEN = 1;
/** Length on the wire (more than snaplen only when truncated). */
export const DESC_LEN = 2;
/** tp_status: TP_STATUS_* bits. */
export const DESC_STATUS = 3;
/** VLAN TCI in bits 0-15, TPID in bits 16-31; valid when TP_STATUS_VLAN_VALID. */
export const DESC_VLAN = 4;
/** virtio_net_hdr flags (bits 0-7), gso_type (8-15), hdr_len (16-31); 0 without vnetHdr. */
export const DESC_VNET_FLAGS_GSO_HDRLEN = 5;
/** virtio_net_hdr gso_size (bits 0-15), csum_start (16-31). */
export const DESC_VNET_GSOSIZE_CSUMSTART = 6;
/** virtio_net_hdr csum_offset (bits 0-15). */
export const DESC_VNET_CSUMOFFSET = 7;

// ---- TX descriptor: (offset, len) pairs ---------------------------------------------------
export const TX_DESC_STRIDE = 2;
/** sizeof(struct virtio_net_hdr): room each TX frame needs in front of it with vnetHdr. */
export const VNET_HDR_LEN = 10;

// ---- tp_status bits (linux/if_packet.h) ------------------------------------------------------
export const TP_STATUS_USER = 1 << 0;
export const TP_STATUS_COPY = 1 << 1;
export const TP_STATUS_LOSING = 1 << 2;
/** The checksum is partial (TX checksum offload upstream): complete it or forward the vnet header. */
export const TP_STATUS_CSUMNOTREADY = 1 << 3;
export const TP_STATUS_VLAN_VALID = 1 << 4;
export const TP_STATUS_BLK_TMO = 1 << 5;
export const TP_STATUS_VLAN_TPID_VALID = 1 << 6;
export const TP_STATUS_CSUM_VALID = 1 << 7;

// ---- virtio_net_hdr (linux/virtio_net.h) ---------------------------------------------------
export const VIRTIO_NET_HDR_F_NEEDS_CSUM = 1;
export const VIRTIO_NET_HDR_F_DATA_VALID = 2;
export const VIRTIO_NET_HDR_GSO_NONE = 0;
export const VIRTIO_NET_HDR_GSO_TCPV4 = 1;
export const VIRTIO_NET_HDR_GSO_UDP = 3;
export const VIRTIO_NET_HDR_GSO_TCPV6 = 4;
export const VIRTIO_NET_HDR_GSO_UDP_L4 = 5;
export const VIRTIO_NET_HDR_GSO_ECN = 0x80;

// ---- PACKET_FANOUT ---------------------------------------------------------------------------
export const PACKET_FANOUT_HASH = 0;
export const PACKET_FANOUT_LB = 1;
export const PACKET_FANOUT_CPU = 2;
export const PACKET_FANOUT_ROLLOVER = 3;
export const PACKET_FANOUT_RND = 4;
export const PACKET_FANOUT_QM = 5;
export const PACKET_FANOUT_CBPF = 6;
export const PACKET_FANOUT_FLAG_ROLLOVER = 0x1000;
export const PACKET_FANOUT_FLAG_UNIQUEID = 0x2000;
export const PACKET_FANOUT_FLAG_IGNORE_OUTGOING = 0x4000;
export const PACKET_FANOUT_FLAG_DEFRAG = 0x8000;

const FANOUT_MODES = { hash: PACKET_FANOUT_HASH, lb: PACKET_FANOUT_LB, cpu: PACKET_FANOUT_CPU, rollover: PACKET_FANOUT_ROLLOVER, rnd: PACKET_FANOUT_RND, qm: PACKET_FANOUT_QM, cbpf: PACKET_FANOUT_CBPF } as const;
export type FanoutMode = keyof typeof FANOUT_MODES;

// errno numbers sendBatch may return negated (asm-generic/errno*.h, Linux on x86/arm).
export const ENXIO = 6;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const ENODEV = 19;
export const EINVAL = 22;
export const EMSGSIZE = 90;
export const ENETDOWN = 100;
export const ENOBUFS = 105;

export interface FanoutOptions {
  /** Group id shared by the sockets that split the traffic, 0-65535. */
  group: number;
  /**
   * How the kernel picks a socket; 'hash' (default) keeps a flow on one socket. 'cbpf'
   * runs `program` (classic BPF; its return value modulo the group size is the index of
   * the socket, in the order the sockets joined), see src/io/fanout.ts.
   */
  mode?: FanoutMode;
  /** With mode 'cbpf': the program (4 words per instruction, as src/io/bpf.ts builds). */
  program?: Uint32Array;
  /**
   * Reassemble IP fragments before the socket is picked (PACKET_FANOUT_FLAG_DEFRAG), so
   * that a fragmented datagram reaches one socket whole. Default false: the reassembled
   * datagram then arrives as ONE frame larger than the MTU, which the data plane must
   * fragment again to forward. Without it, fragments are hashed without ports, so they
   * may land on another socket than the flow's unfragmented packets.
   */
  defrag?: boolean;
  /** Spill to another socket when this one's ring is full (PACKET_FANOUT_FLAG_ROLLOVER). Default false. */
  rollover?: boolean;
}

export type RingVersion = 'v2' | 'v3';
export type TxMethod = 'sendmmsg' | 'send';

/**
 * Default geometry per ring version and vnet mode. Each number was picked in
 * bench/rx-tuning.ts (bench/results/rx-tuning.json); see the comment on each.
 */
// Measured in bench/rx-tuning.ts (3 interleaved rounds, shared 2-vCPU machine, UDP 64 B
// offered at 200 kpps; medians): ring v2 adds 136 us to a ping p50 vs v3's 503 us (v3 with
// 128 KiB blocks: 564 us), loaded p50 1.0 ms vs 78 ms, iperf3 7.4 vs 6.1 Gbps, at about the
// same CPU per packet (5.3 vs 5.0 us): v2 is the default. Within v2, blockCount 16/32/64 gave
// 71/67/100 kpps and maxBatch 64 vs 1024 85/67 kpps: inside this machine's noise (min-max
// overlap), so the defaults stay (32 blocks = 480 slots, batch 1024 = one sendmmsg).
// TX per-frame send() was no better (79 kpps, loaded p99 29.5 ms vs 9.5): sendmmsg stays.
export const RING_DEFAULTS = {
  v3: { blockSize: 256 * 1024, blockCount: 64, frameSize: 2048, retireMs: 1, maxBatch: 4096 },
  // V2 without vnet headers: MTU frames only; 2 KiB slots, 8192 of them (16 MiB).
  v2: { blockSize: 256 * 1024, blockCount: 64, frameSize: 2048, retireMs: 0, maxBatch: 1024 },
  // V2 with vnet headers: every slot must hold a 64 KiB GSO super-frame (V2_VNET_MIN_FRAME),
  // so slots are 65792 bytes, 15 to a 1 MiB block.
  v2vnet: { blockSize: 1 << 20, blockCount: 32, frameSize: 65792, retireMs: 0, maxBatch: 1024 },
} as const;

/**
 * With vnetHdr a V2 slot must hold the largest GSO super-frame veth or a NIC builds
 * (gso_max_size 65536 bytes) plus the kernel's frame header: tpacket2_hdr and sockaddr_ll
 * aligned (80 bytes, the vnet header included) and PACKET_RESERVE. A smaller slot truncates
 * super-frames (snaplen < len); the pipeline drops those (DROP_RUNT) and the TCP flow stalls
 * on retransmits of the same super-frame. So smaller frames are refused here.
 */
export function v2VnetMinFrame(reserve: number): number {
  return Math.ceil((65536 + 80 + reserve) / 16) * 16;
}

export interface AfPacketOptions {
  /** RX ring format: 'v2' (per-frame hand-over, default) or 'v3' (block hand-over). */
  ringVersion?: RingVersion;
  /**
   * Most frames one nextBlock() hands out ('v2' only; a 'v3' batch is a whole block).
   * Default 1024, the most one sendmmsg takes.
   */
  maxBatch?: number;
  /** TX: 'sendmmsg' (one syscall per batch, default) or 'send' (one syscall per frame; a measured alternative). */
  txMethod?: TxMethod;
  /**
   * Bytes per ring block; a multiple of 4096. Default: RING_DEFAULTS. For 'v3' the block is
   * the unit of wake-up and hand-back: larger blocks mean fewer native calls under load,
   * smaller ones fill (and so reach us) sooner. 256 KiB holds ~1600 small frames or, with
   * vnetHdr, three 64 KiB GSO super-frames, and is an order-6 allocation the kernel finds
   * easily; with vnetHdr it must be at least 128 KiB. For 'v2' it is only the kernel's
   * allocation unit (blockSize / frameSize slots each).
   */
  blockSize?: number;
  /** Blocks in the ring. Default: RING_DEFAULTS ('v3': 64, 16 MiB, ~0.3 s of small frames at 0.3 Mpps). */
  blockCount?: number;
  /**
   * Frame size (multiple of 16; for 'v3' it must divide blockSize). Default 2048. TPACKET_V3
   * packs frames at their own length, so there this only sizes the kernel's frame count and
   * the largest frame is bounded by blockSize. For 'v2' it is the slot size: the largest
   * frame plus its header; with vnetHdr at least v2VnetMinFrame(reserve), default 65792.
   */
  frameSize?: number;
  /**
   * 'v3': retire timeout of a partly filled block, in ms. Default 1 (the minimum): at low
   * rates a block reaches us only when this fires, so it is the added latency (lab-notes
   * pitfall 6; 0 lets the kernel pick, about 8 ms). Ignored by 'v2'.
   */
  retireMs?: number;
  /** Headroom in bytes kept in front of each received frame (PACKET_RESERVE), e.g. 20 to prepend an IPIP header in place. Default 0. */
  reserve?: number;
  /** Receive and send a virtio_net_hdr per frame (PACKET_VNET_HDR): GSO super-frames arrive whole and partial checksums are carried through. Default false. */
  vnetHdr?: boolean;
  /** Do not capture our own (and the host's) transmissions (PACKET_IGNORE_OUTGOING). Default true: a forwarder must not see what it sends (pitfall 7). */
  ignoreOutgoing?: boolean;
  /** Send straight to the driver, skipping the qdisc layer (PACKET_QDISC_BYPASS). Default false. */
  qdiscBypass?: boolean;
  /** SO_RCVBUF(FORCE) in bytes; 0 keeps the kernel default. The RX ring does not use it. Default 0. */
  rcvbuf?: number;
  /**
   * SO_SNDBUF(FORCE) in bytes; 0 keeps the kernel default. Default 4 MiB: a 1024-frame batch
   * of MTU frames charges ~2.3 MB of skb truesize, and veth keeps the sender's ownership
   * until the peer consumes them (pitfall 8), so the 208 KiB default stalls batches (EAGAIN).
   */
  sndbuf?: number;
  /** Classic BPF program (src/io/bpf.ts), attached before bind so no unfiltered frame is seen. */
  filter?: Uint32Array;
  /** Join a PACKET_FANOUT group after bind. */
  fanout?: FanoutOptions;
}

export interface PacketStats {
  /** Frames that passed the filter since the socket opened, drops included. */
  packets: number;
  /** Frames lost because every ring block was held or full. */
  drops: number;
  /** Times the ring froze because userspace held every block. */
  freezeQueueCount: number;
}

export type IfInfo = NativeIfInfo;

const PAGE = 4096;
const MAX_RING = 1 << 30;
/** A frame takes at least 64 bytes of a block (header, link-layer room, alignment). */
const MIN_FRAME_FOOTPRINT = 64;
const VNET_MIN_BLOCK = 128 * 1024;

function checkInt(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new TypeError(`${name} must be an integer, got ${describe(v)}`);
  if (v < min || v > max) throw new RangeError(`${name} must be between ${min} and ${max}, got ${v}`);
  return v;
}

function checkRingVersion(v: unknown): RingVersion {
  if (v !== 'v2' && v !== 'v3') throw new RangeError(`ringVersion must be 'v2' or 'v3', got ${describe(v)}`);
  return v;
}

function checkTxMethod(v: unknown): TxMethod {
  if (v !== 'sendmmsg' && v !== 'send') throw new RangeError(`txMethod must be 'sendmmsg' or 'send', got ${describe(v)}`);
  return v;
}

function checkBool(name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw new TypeError(`${name} must be a boolean, got ${describe(v)}`);
  return v;
}

function describe(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'string' ? `"${v}"` : typeof v === 'object' ? 'an object' : String(v);
}

/** Checks an interface name as the kernel's dev_valid_name() would. */
export function checkIfName(name: unknown): string {
  if (typeof name !== 'string') throw new TypeError(`interface name must be a string, got ${describe(name)}`);
  const bytes = Buffer.byteLength(name);
  if (bytes === 0 || bytes > 15) throw new RangeError(`interface name must be 1 to 15 bytes, got "${name}" (${bytes})`);
  if (name === '.' || name === '..' || /[/:\s]/.test(name)) throw new RangeError(`invalid interface name "${name}"`);
  return name;
}

function checkFilter(v: unknown): Uint32Array {
  if (!(v instanceof Uint32Array)) throw new TypeError(`filter must be a Uint32Array (4 words per instruction), got ${describe(v)}`);
  if (v.length === 0 || v.length % 4 !== 0 || v.length / 4 > 4096)
    throw new RangeError(`filter must hold 1 to 4096 instructions of 4 words each, got ${v.length} words`);
  for (let i = 0; i < v.length; i += 4) {
    if (v[i] > 0xffff || v[i + 1] > 0xff || v[i + 2] > 0xff)
      throw new RangeError(`filter instruction ${i / 4}: code must fit 16 bits and jt/jf 8 bits`);
  }
  return v;
}

/** Restates a native error for people, keeping its code, errno and syscall. */
function explain(e: unknown, what: string): unknown {
  if (!isNativeError(e)) return e;
  switch (e.code) {
    case 'EPERM':
    case 'EACCES':
      return new NativeIoError(`${what}: need root or CAP_NET_RAW (${e.syscall}: ${e.code})`, e);
    case 'ENODEV':
      return new NativeIoError(`${what}: no such network interface (${e.syscall}: ENODEV)`, e);
    case 'ENETDOWN':
      return new NativeIoError(`${what}: the interface is down (${e.syscall}: ENETDOWN)`, e);
    case 'ENOMEM':
      return new NativeIoError(`${what}: the kernel could not allocate the ring; try fewer or smaller blocks (${e.syscall}: ENOMEM)`, e);
    default:
      return new NativeIoError(`${what}: ${e.message}`, e);
  }
}

/** ifindex, MAC, MTU and flags of an interface. Throws NativeIoError code ENODEV when it does not exist. */
export function ifInfo(name: string): IfInfo {
  checkIfName(name);
  try {
    return native().ifInfo(name);
  } catch (e) {
    throw explain(e, `interface "${name}"`);
  }
}

/**
 * One AF_PACKET socket on one interface: RX ring, batched TX, readiness on the event loop.
 * All per-frame work uses `bytes`/`ring` and `descs`; nothing here allocates per frame.
 */
export class AfPacketSocket {
  readonly ifname: string;
  readonly ifindex: number;
  readonly blockSize: number;
  readonly blockCount: number;
  readonly ringVersion: RingVersion;
  readonly frameSize: number;
  readonly maxBatch: number;
  readonly vnetHdr: boolean;
  /** The RX ring (zero copy). Detached (length 0) after close(). */
  readonly ring: ArrayBuffer;
  /** A byte view of `ring`, created once. */
  readonly bytes: Uint8Array;
  /** RX descriptors of the block last returned by nextBlock(), DESC_STRIDE words per frame. */
  readonly descs: Uint32Array;

  /** Frames accepted by the kernel through send(). */
  txFrames = 0;
  /** Frames send() gave up because the socket or device queue was full (EAGAIN/ENOBUFS/ENOMEM). */
  txBackpressureDrops = 0;
  /** Frames send() gave up because the interface is down or gone (ENETDOWN/ENXIO/ENODEV). */
  txLinkDrops = 0;
  /** Frames the kernel refused one by one (EMSGSIZE, EINVAL, ...). */
  txRejected = 0;
  /** errno of the last TX failure, 0 if none. */
  txLastErrno = 0;

  private readonly sock: NativePacketSocket;
  private closed = false;
  private totalPackets = 0;
  private totalDrops = 0;
  private totalFreezes = 0;

  constructor(ifname: string, options: AfPacketOptions = {}) {
    checkIfName(ifname);
    if (options === null || typeof options !== 'object') throw new TypeError(`options must be an object, got ${describe(options)}`);
    const vnetHdr = options.vnetHdr === undefined ? false : checkBool('vnetHdr', options.vnetHdr);
    const ringVersion = options.ringVersion === undefined ? 'v2' : checkRingVersion(options.ringVersion);
    const txMethod = options.txMethod === undefined ? 'sendmmsg' : checkTxMethod(options.txMethod);
    const reserve = options.reserve === undefined ? 0 : checkInt('reserve', options.reserve, 0, 1024);
    const defs = ringVersion === 'v3' ? RING_DEFAULTS.v3 : vnetHdr ? RING_DEFAULTS.v2vnet : RING_DEFAULTS.v2;
    const blockSize = options.blockSize === undefined ? defs.blockSize : checkInt('blockSize', options.blockSize, PAGE, MAX_RING);
    if (blockSize % PAGE !== 0) throw new RangeError(`blockSize must be a multiple of ${PAGE}, got ${blockSize}`);
    if (ringVersion === 'v3' && vnetHdr && blockSize < VNET_MIN_BLOCK)
      throw new RangeError(`blockSize must be at least ${VNET_MIN_BLOCK} with vnetHdr (a 64 KiB GSO frame must fit a block), got ${blockSize}`);
    const blockCount = options.blockCount === undefined ? defs.blockCount : checkInt('blockCount', options.blockCount, 1, Math.floor(MAX_RING / blockSize));
    const frameSize = options.frameSize === undefined ? defs.frameSize : checkInt('frameSize', options.frameSize, 128, blockSize);
    if (frameSize % 16 !== 0 || (ringVersion === 'v3' && blockSize % frameSize !== 0))
      throw new RangeError(`frameSize must be a multiple of 16${ringVersion === 'v3' ? ` that divides blockSize (${blockSize})` : ''}, got ${frameSize}`);
    if (ringVersion === 'v2' && vnetHdr && frameSize < v2VnetMinFrame(reserve))
      throw new RangeError(
        `frameSize must be at least ${v2VnetMinFrame(reserve)} for a 'v2' ring with vnetHdr (a 64 KiB GSO super-frame must fit a slot), got ${frameSize}`,
      );
    if (ringVersion === 'v2' && frameSize > blockSize) throw new RangeError(`frameSize (${frameSize}) must not exceed blockSize (${blockSize})`);
    const retireMs = options.retireMs === undefined ? defs.retireMs : checkInt('retireMs', options.retireMs, 0, 60000);
    const maxBatch = options.maxBatch === undefined ? defs.maxBatch : checkInt('maxBatch', options.maxBatch, 1, 65536);
    const ignoreOutgoing = options.ignoreOutgoing === undefined ? true : checkBool('ignoreOutgoing', options.ignoreOutgoing);
    const qdiscBypass = options.qdiscBypass === undefined ? false : checkBool('qdiscBypass', options.qdiscBypass);
    const rcvbuf = options.rcvbuf === undefined ? 0 : checkInt('rcvbuf', options.rcvbuf, 0, 1 << 30);
    const sndbuf = options.sndbuf === undefined ? 4 << 20 : checkInt('sndbuf', options.sndbuf, 0, 1 << 30);
    const filter = options.filter === undefined ? undefined : checkFilter(options.filter);
    let fanoutArg = -1;
    if (options.fanout !== undefined) {
      const f = options.fanout;
      if (f === null || typeof f !== 'object') throw new TypeError(`fanout must be an object, got ${describe(f)}`);
      checkInt('fanout.group', f.group, 0, 0xffff);
      const mode = f.mode === undefined ? 'hash' : f.mode;
      if (typeof mode !== 'string' || !Object.prototype.hasOwnProperty.call(FANOUT_MODES, mode))
        throw new RangeError(`fanout.mode must be one of ${Object.keys(FANOUT_MODES).join(', ')}, got ${describe(mode)}`);
      const defrag = f.defrag === undefined ? false : checkBool('fanout.defrag', f.defrag);
      const rollover = f.rollover === undefined ? false : checkBool('fanout.rollover', f.rollover);
      if (mode === 'cbpf') checkFilter(f.program);
      else if (f.program !== undefined) throw new TypeError(`fanout.program needs fanout.mode 'cbpf', got ${describe(mode)}`);
      fanoutArg = FANOUT_MODES[mode] | (defrag ? PACKET_FANOUT_FLAG_DEFRAG : 0) | (rollover ? PACKET_FANOUT_FLAG_ROLLOVER : 0);
    }

    const addon = native();
    const layout = addon.afpacketLayout;
    if (layout.descStride !== DESC_STRIDE || layout.txDescStride !== TX_DESC_STRIDE || layout.vnetHdrLen !== VNET_HDR_LEN)
      throw new Error('the tsvs native addon is out of date (descriptor layout differs): run `npm run build:native`');

    try {
      this.sock = new addon.PacketSocket(ifname, {
        blockSize, blockCount, frameSize, retireMs, reserve, vnetHdr, ignoreOutgoing, qdiscBypass, rcvbuf, sndbuf, filter,
        ringVersion: ringVersion === 'v2' ? 2 : 3, maxBatch, txMethod: txMethod === 'send' ? 1 : 0,
      });
    } catch (e) {
      throw explain(e, `AF_PACKET socket on "${ifname}"`);
    }
    if (fanoutArg >= 0) {
      try {
        this.sock.joinFanout(options.fanout!.group, fanoutArg);
        if (options.fanout!.program !== undefined) this.sock.setFanoutProgram(options.fanout!.program);
      } catch (e) {
        this.sock.close();
        throw explain(e, `PACKET_FANOUT group ${options.fanout!.group} on "${ifname}"`);
      }
    }
    this.ifname = ifname;
    this.ifindex = this.sock.ifindex;
    this.blockSize = blockSize;
    this.blockCount = blockCount;
    this.ringVersion = ringVersion;
    this.frameSize = frameSize;
    this.maxBatch = maxBatch;
    this.vnetHdr = vnetHdr;
    this.ring = this.sock.ring();
    this.bytes = new Uint8Array(this.ring);
    const slots = Math.floor(blockSize / frameSize) * blockCount;
    this.descs = new Uint32Array(
      (ringVersion === 'v3' ? Math.ceil(blockSize / MIN_FRAME_FOOTPRINT) : Math.min(maxBatch, slots)) * DESC_STRIDE,
    );
  }

  /** The socket's file descriptor (-1 once closed). */
  get fd(): number {
    return this.sock.fd;
  }

  /** Batches (blocks for 'v3') taken with nextBlock() and not yet released. */
  get heldBlocks(): number {
    return this.sock.heldBlocks;
  }

  /**
   * Describes the frames of the next ready block in `descs` and returns their number, or 0
   * when no block is ready. The block (and every frame in it) stays ours until releaseBlock().
   */
  nextBlock(): number {
    return this.sock.nextBlock(this.descs);
  }

  /** Hands the oldest held block back to the kernel; returns how many are still held. */
  releaseBlock(): number {
    return this.sock.releaseBlock();
  }

  /**
   * Runs `onBlock(bytes, descs, count)` for every ready block, releasing each afterwards,
   * and returns the number of frames seen. Frames sent from the ring must be sent inside
   * onBlock. An exception from onBlock releases the block and propagates.
   */
  drain(onBlock: (bytes: Uint8Array, descs: Uint32Array, count: number) => void): number {
    let total = 0;
    let n: number;
    while ((n = this.sock.nextBlock(this.descs)) > 0) {
      total += n;
      try {
        onBlock(this.bytes, this.descs, n);
      } finally {
        this.sock.releaseBlock();
      }
    }
    return total;
  }

  /**
   * Transmits `count` frames described by (offset, len) pairs in `descs` out of `buf` (the
   * ring, or a TX buffer). With vnetHdr each frame must have its virtio_net_hdr in the 10
   * bytes before it. Returns the number sent. Back-pressure (EAGAIN/ENOBUFS) or a link that
   * is down drops the rest of the batch; a frame the kernel refuses (EMSGSIZE, EINVAL) is
   * skipped. All are counted (tx* fields), never thrown. Bad descriptors (outside `buf`)
   * throw RangeError.
   */
  send(buf: ArrayBuffer | ArrayBufferView, descs: Uint32Array, count: number): number {
    let i = 0;
    let sent = 0;
    while (i < count) {
      const r = this.sock.sendBatch(buf, descs, i, count - i);
      if (r > 0) {
        i += r;
        sent += r;
        continue;
      }
      const err = -r;
      this.txLastErrno = err;
      if (err === EAGAIN || err === ENOBUFS || err === ENOMEM) {
        this.txBackpressureDrops += count - i;
        break;
      }
      if (err === ENETDOWN || err === ENXIO || err === ENODEV) {
        this.txLinkDrops += count - i;
        break;
      }
      this.txRejected++;
      i++;
    }
    this.txFrames += sent;
    return sent;
  }

  /** One sendmmsg pass without the retry loop: frames sent from `start`, or -errno. */
  sendRaw(buf: ArrayBuffer | ArrayBufferView, descs: Uint32Array, start: number, count: number): number {
    return this.sock.sendBatch(buf, descs, start, count);
  }

  /** Replaces the BPF filter (null removes it). Frames already in the ring stay. */
  setFilter(prog: Uint32Array | null): void {
    try {
      if (prog === null) this.sock.detachFilter();
      else this.sock.attachFilter(checkFilter(prog));
    } catch (e) {
      throw explain(e, `BPF filter on "${this.ifname}"`);
    }
  }

  /** PACKET_STATISTICS accumulated since the socket opened. */
  stats(): PacketStats {
    const s: NativePacketStats = this.sock.stats();
    this.totalPackets += s.packets;
    this.totalDrops += s.drops;
    this.totalFreezes += s.freezeQueueCount;
    return { packets: this.totalPackets, drops: this.totalDrops, freezeQueueCount: this.totalFreezes };
  }

  /**
   * Calls `onReadable()` on the event loop whenever a block may be ready; drain there.
   * `onReadable(err)` once if polling fails (e.g. ENETDOWN); polling has then stopped.
   * A started socket keeps the loop alive unless unref() is called.
   */
  start(onReadable: (err?: NativeIoError) => void): void {
    if (typeof onReadable !== 'function') throw new TypeError(`start(onReadable): onReadable must be a function, got ${describe(onReadable)}`);
    const ifname = this.ifname;
    this.sock.start((err) => {
      if (err) onReadable(explain(err, `polling "${ifname}"`) as NativeIoError);
      else onReadable();
    });
  }

  stop(): void {
    this.sock.stop();
  }

  ref(): void {
    this.sock.ref();
  }

  unref(): void {
    this.sock.unref();
  }

  /** Stops polling, detaches `ring` (views of it become empty) and closes the socket. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sock.close();
  }
}
