// The one place that creates a data-plane capture backend, for the single-threaded
// daemon, for each worker thread and for the main thread's control-frame socket when
// workers forward. Other capture kinds (TUN, pcap) and RX tuning extend THIS function.
//
//   nWorkers <= 1                one socket, ARP and IPv4 to the VIPs (today's path)
//   workerIndex = MAIN_THREAD    (nWorkers > 1) the main thread's socket, outside the
//                                fanout group: ARP only (answers for the VIPs, learns
//                                real servers' MACs, sends gratuitous ARP); small ring
//   workerIndex = 0..n-1         a worker's socket: IPv4 to the VIPs, in the fanout group
//                                `fanoutGroup`, PACKET_FANOUT_CBPF with fanoutProgram()
//                                (src/io/fanout.ts). The kernel numbers sockets in join
//                                order, so worker i must join i-th (the pool starts
//                                workers one after another).

import { AfPacketBackend } from './afpacket-backend';
import { fanoutProgram, type FanoutKey } from './fanout';
import type { NativeIoError } from './native';

export const MAIN_THREAD = -1;

export interface CaptureOptions {
  ifname: string;
  vnetHdr: boolean;
  /** PACKET_FANOUT group id shared by the workers (0-65535). */
  fanoutGroup?: number;
  /** What the fanout program hashes (src/io/fanout.ts); default by flow. */
  fanoutKey?: FanoutKey;
  onError?: (err: NativeIoError) => void;
}

export function openCapture(opts: CaptureOptions, workerIndex: number, nWorkers: number): AfPacketBackend {
  if (nWorkers <= 1) return new AfPacketBackend(opts.ifname, { vips: [], vnetHdr: opts.vnetHdr, onError: opts.onError });
  if (workerIndex === MAIN_THREAD) {
    return new AfPacketBackend(opts.ifname, { vips: [], frames: 'arp', vnetHdr: false, blockSize: 64 << 10, blockCount: 4, onError: opts.onError });
  }
  if (!Number.isInteger(workerIndex) || workerIndex < 0 || workerIndex >= nWorkers) throw new RangeError(`worker index ${workerIndex} out of 0..${nWorkers - 1}`);
  return new AfPacketBackend(opts.ifname, {
    vips: [],
    frames: 'ipv4',
    vnetHdr: opts.vnetHdr,
    onError: opts.onError,
    fanout: { group: opts.fanoutGroup ?? 0, mode: 'cbpf', program: fanoutProgram(opts.fanoutKey) },
  });
}
