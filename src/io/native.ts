// The one place that knows where the compiled addon lives and what it exports.
// Everything else imports `native()` and gets typed functions.

import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface NativeAddon {
  /** Anonymous mmap of `bytes` (rounded up), zero-filled; `huge` asks for MADV_HUGEPAGE. */
  allocHuge(bytes: number, huge: boolean): ArrayBuffer;
  /** Interface facts by name (ioctl SIOCGIF*); an unknown name throws code ENODEV. */
  ifInfo(name: string): NativeIfInfo;
  /** AF_PACKET socket with a TPACKET_V2 or V3 RX ring (native/afpacket.cc). Use src/io/afpacket.ts. */
  PacketSocket: NativePacketSocketCtor;
  /** Pins the calling thread (pthread_setaffinity_np) to these CPUs (native/affinity.cc). */
  setThreadAffinity(cpus: number[]): void;
  /** The calling thread's allowed CPUs. */
  getThreadAffinity(): number[];
  /** Constants of the descriptor layouts, as compiled (src/io/afpacket.ts checks them). */
  afpacketLayout: NativeAfPacketLayout;
  /** TUN device (native/tun.cc). Use src/io/tun.ts. */
  TunDevice: NativeTunDeviceCtor;
  /** Headroom in front of each packet read from a TUN device, as compiled. */
  tunLayout: { headroom: number; descStride: number };
}

/**
 * What every native failure carries: `code` is the errno name ('EPERM', 'ENODEV', ...),
 * `errno` its number and `syscall` the call that failed ('setsockopt(PACKET_RX_RING)').
 */
export interface NativeErrorFields {
  code: string;
  errno: number;
  syscall: string;
}

/** True for an error thrown (or passed to a callback) by the addon for a failed syscall. */
export function isNativeError(e: unknown): e is Error & NativeErrorFields {
  return (
    e instanceof Error &&
    typeof (e as Partial<NativeErrorFields>).code === 'string' &&
    typeof (e as Partial<NativeErrorFields>).errno === 'number' &&
    typeof (e as Partial<NativeErrorFields>).syscall === 'string'
  );
}

/** A native syscall failure restated for people: same code/errno/syscall, the original as `cause`. */
export class NativeIoError extends Error implements NativeErrorFields {
  readonly code: string;
  readonly errno: number;
  readonly syscall: string;
  constructor(message: string, cause: Error & NativeErrorFields) {
    super(message, { cause });
    this.name = 'NativeIoError';
    this.code = cause.code;
    this.errno = cause.errno;
    this.syscall = cause.syscall;
  }
}

export interface NativeIfInfo {
  name: string;
  ifindex: number;
  /** Hardware address: 6 bytes (meaningful when hwType is 1, ARPHRD_ETHER). */
  mac: Buffer;
  /** ARPHRD_* of the device: 1 Ethernet, 772 loopback, 65534 none (tun). */
  hwType: number;
  mtu: number;
  /** IFF_* flags (IFF_UP 0x1, IFF_RUNNING 0x40, ...). */
  flags: number;
  up: boolean;
  running: boolean;
}

/** Options as the native constructor takes them; src/io/afpacket.ts validates and fills defaults. */
export interface NativePacketSocketOptions {
  blockSize: number;
  blockCount: number;
  frameSize: number;
  retireMs: number;
  reserve: number;
  vnetHdr: boolean;
  ignoreOutgoing: boolean;
  qdiscBypass: boolean;
  /** 0 leaves the kernel's default. */
  rcvbuf: number;
  /** 0 leaves the kernel's default. */
  sndbuf: number;
  /** Classic BPF, 4 words per instruction (code, jt, jf, k); attached before bind. */
  filter?: Uint32Array;
  /** 2 (TPACKET_V2, per-frame slots) or 3 (TPACKET_V3, blocks). */
  ringVersion: 2 | 3;
  /** V2: most frames one nextBlock() describes. */
  maxBatch: number;
  /** 0: sendmmsg per batch; 1: send() per frame. */
  txMethod: 0 | 1;
}

/** PACKET_STATISTICS since the previous read (the kernel resets them on read). */
export interface NativePacketStats {
  /** Frames that passed the filter, dropped ones included. */
  packets: number;
  /** Frames lost because no ring block was free. */
  drops: number;
  /** Times the ring froze (every block held by us). */
  freezeQueueCount: number;
}

export interface NativePacketSocket {
  readonly fd: number;
  readonly ifindex: number;
  /** Blocks returned by nextBlock() and not yet released. */
  readonly heldBlocks: number;
  /** The whole RX ring as one external ArrayBuffer (detached by close()). */
  ring(): ArrayBuffer;
  /** Describes the next ready block's frames in `descs` (8 words each); 0 when none is ready. */
  nextBlock(descs: Uint32Array): number;
  /** Gives the oldest held block back to the kernel; returns the number still held. */
  releaseBlock(): number;
  /**
   * sendmmsg of descs[2*start ..] (offset, len) pairs into buf. Returns frames sent, or
   * -errno when the first frame failed with a data-path errno (EAGAIN, ENOBUFS, EMSGSIZE, ...).
   */
  sendBatch(buf: ArrayBuffer | ArrayBufferView, descs: Uint32Array, start: number, count: number): number;
  attachFilter(prog: Uint32Array): void;
  detachFilter(): void;
  /** PACKET_FANOUT with `group | typeAndFlags << 16`. */
  joinFanout(group: number, typeAndFlags: number): void;
  /** PACKET_FANOUT_DATA: the classic BPF program of a PACKET_FANOUT_CBPF group (4 words per instruction). */
  setFanoutProgram(prog: Uint32Array): void;
  stats(): NativePacketStats;
  /** Calls `cb` on the loop thread when the socket is readable; `err` when polling failed (then stopped). */
  start(cb: (err?: Error & NativeErrorFields) => void): void;
  stop(): void;
  /** Whether a started socket keeps the event loop alive (default: it does). */
  ref(): void;
  unref(): void;
  close(): void;
}

export interface NativePacketSocketCtor {
  new (ifname: string, options: NativePacketSocketOptions): NativePacketSocket;
}

export interface NativeAfPacketLayout {
  descStride: number;
  txDescStride: number;
  vnetHdrLen: number;
  maxTxBatch: number;
  blockHeaderLen: number;
  frameHeaderLen: number;
  frameHeaderLenV2: number;
}

export interface NativeTunOptions {
  /** 0 keeps the kernel's default (1500). */
  mtu: number;
  multiQueue: boolean;
  /** IFF_VNET_HDR + TUNSETOFFLOAD (csum, TSO4/6): super-packets behind a virtio_net_hdr. */
  vnetHdr: boolean;
}

export interface NativeTunDevice {
  readonly fd: number;
  /** The device's name (the kernel's pick when '' was asked). */
  readonly name: string;
  /** True when the device was opened with IFF_MULTI_QUEUE. */
  readonly multiQueue: boolean;
  readonly vnetHdr: boolean;
  /**
   * read() until EAGAIN or maxFrames: packet i at arena[i*slotSize + headroom], an Ethernet
   * header (a copy of `eth`, ethertype from the IP version) and a zeroed vnet header in
   * front; descs as AF_PACKET RX (8 words). Returns the number read.
   */
  readBatch(arena: Uint8Array, descs: Uint32Array, eth: Uint8Array, slotSize: number, maxFrames: number): number;
  /** One write() per (offset, len) pair, `skip` bytes into each; written count or -errno. */
  writeBatch(buf: ArrayBuffer | ArrayBufferView, descs: Uint32Array, start: number, count: number, skip: number): number;
  start(cb: (err?: Error & NativeErrorFields) => void): void;
  stop(): void;
  ref(): void;
  unref(): void;
  close(): void;
}

export interface NativeTunDeviceCtor {
  new (name: string, options: NativeTunOptions): NativeTunDevice;
}

let cached: NativeAddon | null = null;

function candidates(): string[] {
  const rel = join('build', 'Release', 'tsvs_native.node');
  return [
    process.env.TSVS_NATIVE ?? '',
    join(__dirname, '..', '..', '..', rel), // dist/src/io -> project root
    join(__dirname, '..', '..', rel),
    join(process.cwd(), rel),
  ].filter((p) => p !== '');
}

/** Loads the addon once; throws an Error naming the build command when it is missing. */
export function native(): NativeAddon {
  if (cached) return cached;
  for (const p of candidates()) {
    if (existsSync(p)) {
      cached = require(p) as NativeAddon;
      return cached;
    }
  }
  throw new Error('the tsvs native addon is not built: run `npm run build:native` (or `npm install`)');
}

/** True when the addon can be loaded (unit tests skip native-only cases otherwise). */
export function hasNative(): boolean {
  try {
    native();
    return true;
  } catch {
    return false;
  }
}
