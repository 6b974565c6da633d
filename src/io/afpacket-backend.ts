// IoBackend over an AF_PACKET socket (the main capture path): a TPACKET_V2 or V3 ring bound to
// ETH_P_ALL on one interface, a BPF filter letting through only ARP and IPv4 to our VIPs,
// vnet headers on by default (GSO super-frames and partial checksums pass through), and
// readiness from libuv, so an idle daemon sleeps. Under load every ready batch is drained
// before we yield to the event loop.

import { AfPacketSocket, ifInfo, type AfPacketOptions } from './afpacket';
import type { IoBackend } from './backend';
import { vipFilter } from './bpf';
import type { NativeIoError } from './native';

export interface AfPacketBackendOptions extends Omit<AfPacketOptions, 'filter'> {
  vips: readonly number[];
  /**
   * Which frames the filter lets through: 'all' (default: ARP and IPv4 to a VIP), 'arp'
   * (ARP only: the main thread's socket when workers forward), 'ipv4' (IPv4 to a VIP
   * only: a worker's socket).
   */
  frames?: 'all' | 'arp' | 'ipv4';
  /** Called when polling fails (link down, interface gone). */
  onError?: (err: NativeIoError) => void;
}

export class AfPacketBackend implements IoBackend {
  readonly mac: Uint8Array;
  readonly mtu: number;
  readonly vnetHdr: boolean;
  readonly sock: AfPacketSocket;
  private readonly onError: ((err: NativeIoError) => void) | undefined;
  private readonly frames: 'all' | 'arp' | 'ipv4';

  constructor(ifname: string, opts: AfPacketBackendOptions) {
    const info = ifInfo(ifname);
    this.mac = new Uint8Array(info.mac);
    this.mtu = info.mtu;
    const { vips, onError, frames, ...sockOpts } = opts;
    this.frames = frames ?? 'all';
    this.vnetHdr = sockOpts.vnetHdr ?? true;
    this.sock = new AfPacketSocket(ifname, { ...sockOpts, vnetHdr: this.vnetHdr, filter: this.filter(vips) });
    this.onError = onError;
  }

  start(onBlock: (bytes: Uint8Array, descs: Uint32Array, count: number) => void): void {
    this.sock.start((err) => {
      if (err) {
        this.onError?.(err);
        return;
      }
      this.sock.drain(onBlock);
    });
    // Frames that arrived before start() are waiting in the ring.
    this.sock.drain(onBlock);
  }

  send(buf: Uint8Array, descs: Uint32Array, count: number): number {
    return this.sock.send(buf, descs, count);
  }

  setVips(vips: readonly number[]): void {
    this.sock.setFilter(this.filter(vips));
  }

  private filter(vips: readonly number[]): Uint32Array {
    if (this.frames === 'arp') return vipFilter({ vips: [] });
    // no VIP yet: an IPv4-only socket must still get a program (that accepts nothing)
    return vipFilter({ vips: [...vips], arp: this.frames === 'all' });
  }

  stop(): void {
    this.sock.stop();
  }

  close(): void {
    this.sock.close();
  }
}
