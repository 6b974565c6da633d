// The one place that turns a capture choice into an IoBackend: `openCapture(opts)`.
// `tsvs daemon` calls it once; a multi-core worker can call it once per worker (pass
// `fanout` for AF_PACKET, `multiQueue` for TUN). Self-contained: no daemon state.
//
//   afpacket  TPACKET_V2 (or V3) ring + sendmmsg on IF (default; vnet headers on unless vnetHdr
//             is false). The director owns the VIPs at L2. Early drop applies.
//   tun       the kernel routes the VIPs into a TUN device (ip_forward=1 and a route
//             VIP/32 dev TUN, added by us with tunRoutes); TX of DR frames out of IF by an
//             AF_PACKET socket whose small RX ring takes ARP only (real servers' MACs).
//             No ARP for the VIPs. No early drop (it would drop the traffic before the
//             kernel routes it to the TUN device).
//   pcap      libpcap through `cap` on IF: a filter for ARP and the VIPs, per-packet
//             callbacks batched per event-loop turn, TX by injection. L2 owner, as afpacket.
//
// With worker threads (`shard`, afpacket only for now):
//   shard.index = MAIN_THREAD    the main thread's socket, outside the fanout group: ARP
//                                only (answers for the VIPs, learns real servers' MACs,
//                                sends gratuitous ARP); a small ring
//   shard.index = 0..n-1         a worker's socket: IPv4 to the VIPs, in the fanout group
//                                `fanoutGroup`, PACKET_FANOUT_CBPF with fanoutProgram()
//                                (src/io/fanout.ts). The kernel numbers sockets in join
//                                order, so worker i must join i-th (the pool starts
//                                workers one after another).

import { AfPacketBackend } from './afpacket-backend';
import type { AfPacketOptions, FanoutOptions } from './afpacket';
import { fanoutProgram, type FanoutKey } from './fanout';
import type { IoBackend } from './backend';
import type { NativeIoError } from './native';
import { PcapBackend } from './pcap-backend';
import { TunBackend } from './tun-backend';

/** `shard.index` of the main thread's ARP socket when workers forward. */
/** The AF_PACKET ring settings an operator may tune (--rx-ring, --rx-tune). */
export type RxTuning = Pick<AfPacketOptions, 'ringVersion' | 'blockSize' | 'blockCount' | 'frameSize' | 'retireMs' | 'maxBatch' | 'txMethod'>;

export const MAIN_THREAD = -1;

/** Which socket of a multi-worker daemon to open (src/control/daemon-workers.ts). */
export interface ShardRole {
  /** MAIN_THREAD, or the worker's index 0..workers-1. */
  index: number;
  workers: number;
  /** PACKET_FANOUT group id shared by the workers (0-65535). */
  fanoutGroup: number;
  /** What the fanout program hashes (src/io/fanout.ts); default by flow. */
  fanoutKey?: FanoutKey;
}

export const CAPTURE_MODES = ['afpacket', 'tun', 'pcap'] as const;
export type CaptureMode = (typeof CAPTURE_MODES)[number];

export function isCaptureMode(s: string): s is CaptureMode {
  return (CAPTURE_MODES as readonly string[]).includes(s);
}

export interface OpenCaptureOptions {
  mode: CaptureMode;
  /** The interface on the real servers' segment. */
  ifname: string;
  /** Initial VIPs (uint32); setVips() follows changes. */
  vips?: readonly number[];
  log: (msg: string) => void;
  onError?: (err: NativeIoError) => void;
  /** afpacket, tun: virtio_net_hdr on RX and TX (GSO super-frames, partial checksums; default true). */
  vnetHdr?: boolean;
  /** afpacket: ring version, geometry, batch and TX method (src/cli/rx-options.ts). */
  rx?: RxTuning;
  /** afpacket: join a PACKET_FANOUT group (one socket per worker). */
  fanout?: FanoutOptions;
  /** With more than one worker: which socket this is (afpacket only). */
  shard?: ShardRole;
  /** tun: device name (default 'tsvs0'). */
  tunName?: string;
  /** tun: add/remove `ip route VIP/32 dev TUN` for every VIP. */
  tunRoutes?: boolean;
  /** tun: IFF_MULTI_QUEUE when offered (one queue per worker). */
  multiQueue?: boolean;
}

export interface OpenedCapture {
  backend: IoBackend;
  mode: CaptureMode;
  /** Whether the nft netdev early drop of the kernel's copy suits this mode. */
  earlyDrop: boolean;
  /** One phrase for the start-up log line, e.g. "capture tun (tsvs0)". */
  summary: string;
}

export const DEFAULT_TUN_NAME = 'tsvs0';

export function openCapture(opts: OpenCaptureOptions): OpenedCapture {
  const vips = opts.vips ?? [];
  const shard = opts.shard;
  if (shard && shard.workers > 1) {
    if (opts.mode !== 'afpacket') throw new Error(`--capture ${opts.mode} runs with one worker only (use --workers 1)`);
    return { backend: openShard(opts, shard), mode: 'afpacket', earlyDrop: true, summary: `capture afpacket, ${shard.workers} workers` };
  }
  switch (opts.mode) {
    case 'afpacket': {
      const b = new AfPacketBackend(opts.ifname, { ...opts.rx, vips, vnetHdr: opts.vnetHdr ?? true, fanout: opts.fanout, onError: opts.onError });
      return { backend: b, mode: 'afpacket', earlyDrop: true, summary: `capture afpacket, vnet headers ${b.vnetHdr ? 'on' : 'off'}` };
    }
    case 'tun': {
      const b = new TunBackend(opts.ifname, {
        tunName: opts.tunName ?? DEFAULT_TUN_NAME, routes: opts.tunRoutes ?? false, multiQueue: opts.multiQueue ?? false, vnetHdr: opts.vnetHdr ?? true,
        log: opts.log, onError: opts.onError,
      });
      b.setVips(vips);
      return { backend: b, mode: 'tun', earlyDrop: false, summary: `capture tun (${b.tunName}${b.tun.multiQueue ? ', multi-queue' : ''}${opts.tunRoutes ? ', routes managed' : ''})` };
    }
    case 'pcap': {
      const b = new PcapBackend(opts.ifname, { vips, log: opts.log });
      return { backend: b, mode: 'pcap', earlyDrop: true, summary: 'capture pcap (libpcap via cap)' };
    }
  }
}

function openShard(opts: OpenCaptureOptions, shard: ShardRole): AfPacketBackend {
  if (shard.index === MAIN_THREAD) {
    return new AfPacketBackend(opts.ifname, { vips: [], frames: 'arp', vnetHdr: false, blockSize: 64 << 10, blockCount: 4, onError: opts.onError });
  }
  if (!Number.isInteger(shard.index) || shard.index < 0 || shard.index >= shard.workers) {
    throw new RangeError(`worker index ${shard.index} out of 0..${shard.workers - 1}`);
  }
  return new AfPacketBackend(opts.ifname, {
    ...opts.rx,
    vips: [],
    frames: 'ipv4',
    vnetHdr: opts.vnetHdr ?? true,
    onError: opts.onError,
    fanout: { group: shard.fanoutGroup, mode: 'cbpf', program: fanoutProgram(shard.fanoutKey) },
  });
}
