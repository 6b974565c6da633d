// The one place that turns a capture choice into an IoBackend: `openCapture(opts)`.
// `tsvs daemon` calls it once; a multi-core worker can call it once per worker (pass
// `fanout` for AF_PACKET, `multiQueue` for TUN). Self-contained: no daemon state.
//
//   afpacket  TPACKET_V3 ring + sendmmsg on IF (default; vnet headers on unless vnetHdr
//             is false). The director owns the VIPs at L2. Early drop applies.
//   tun       the kernel routes the VIPs into a TUN device (ip_forward=1 and a route
//             VIP/32 dev TUN, added by us with tunRoutes); TX of DR frames out of IF by an
//             AF_PACKET socket whose small RX ring takes ARP only (real servers' MACs).
//             No ARP for the VIPs. No early drop (it would drop the traffic before the
//             kernel routes it to the TUN device).
//   pcap      libpcap through `cap` on IF: a filter for ARP and the VIPs, per-packet
//             callbacks batched per event-loop turn, TX by injection. L2 owner, as afpacket.

import { AfPacketBackend } from './afpacket-backend';
import type { FanoutOptions } from './afpacket';
import type { IoBackend } from './backend';
import type { NativeIoError } from './native';
import { PcapBackend } from './pcap-backend';
import { TunBackend } from './tun-backend';

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
  /** afpacket: join a PACKET_FANOUT group (one socket per worker). */
  fanout?: FanoutOptions;
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
  switch (opts.mode) {
    case 'afpacket': {
      const b = new AfPacketBackend(opts.ifname, { vips, vnetHdr: opts.vnetHdr ?? true, fanout: opts.fanout, onError: opts.onError });
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
