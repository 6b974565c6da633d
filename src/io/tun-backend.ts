// IoBackend over a TUN device (`tsvs daemon --capture tun`): the director is a router on
// the path, not the owner of the VIP at L2.
//
//   client ─► router ─► director's IF (dst MAC = the director's own) ─► kernel forwarding
//   (ip_forward=1, route VIP/32 dev TUN) ─► TUN ─► tsvs: RX batch, pipeline (DR rewrite)
//   ─► AF_PACKET socket on IF (TX) ─► real server ─► answers the client via its router.
//
// RX: one readBatch() per batch from the TUN device (src/io/tun.ts): IP packets with a
// synthetic Ethernet header, the same descriptors as AF_PACKET. Under load we read batch
// after batch until the device is empty (bounded, so ARP frames get their turn).
//
// TX: DR frames leave through an AF_PACKET socket on IF (sendmmsg, one crossing per batch).
// The same socket has a small RX ring with a filter for ARP only: the Neighbours module
// resolves the real servers by its own ARP and needs their replies. ARP for the VIP is
// NOT answered in this mode (ownsVipAtL2 = false; the router sends to the director's own
// address), and no gratuitous ARP is sent. Frames the pipeline addresses to TUN_PEER_MAC
// (ICMP echo replies and ICMP errors for the client: the swapped synthetic header) are
// written back into the TUN device, and the kernel routes them to the client.
//
// Routes: with `routes`, setVips() keeps one `ip route replace VIP/32 dev TUN` per VIP and
// removes the ones no longer wanted; close() removes them all (closing the device would
// too). Without it, the operator adds them (see `tsvs daemon --help`).
//
// vnetHdr (default true): the device is opened with IFF_VNET_HDR and checksum/TSO offloads,
// so TCP arrives as super-packets of up to 64 KB with partial checksums, and the TX socket
// carries each one's virtio_net_hdr to IF, whose device segments and checksums (as with
// afpacket's vnet headers). Without it the kernel segments and checksums before the TUN
// device and every packet is at most the MTU.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { formatV4 } from '../core/addr';
import { AfPacketSocket, DESC_STRIDE, ifInfo } from './afpacket';
import type { IoBackend } from './backend';
import { vipFilter } from './bpf';
import type { NativeIoError } from './native';
import { TUN_HEADROOM, TUN_PEER_MAC, TunDevice } from './tun';

export interface TunBackendOptions {
  /** TUN device name (created; '' lets the kernel pick tunN). */
  tunName: string;
  /** Manage `ip route VIP/32 dev TUN` for every VIP. Default false. */
  routes?: boolean;
  /** IFF_MULTI_QUEUE when offered (one queue per worker). Default false. */
  multiQueue?: boolean;
  /** Frames per RX batch. Default 256, 64 with vnetHdr (64 KB slots). */
  batch?: number;
  /** IFF_VNET_HDR with offloads, and vnet headers on the TX socket. Default true. */
  vnetHdr?: boolean;
  log: (msg: string) => void;
  onError?: (err: NativeIoError) => void;
}

const DEFAULT_BATCH = 256;
/** Batches read per readiness callback before yielding (the ARP socket's turn). */
const MAX_BATCHES_PER_WAKE = 64;

export class TunBackend implements IoBackend {
  readonly mac: Uint8Array;
  readonly mtu: number;
  readonly vnetHdr: boolean;
  readonly ownsVipAtL2 = false;
  readonly tun: TunDevice;
  readonly sock: AfPacketSocket;
  /** Frames written back into the TUN device (replies we originate). */
  tunTxFrames = 0;
  tunTxDrops = 0;

  private readonly log: (msg: string) => void;
  private readonly onError: ((err: NativeIoError) => void) | undefined;
  private readonly manageRoutes: boolean;
  private routes = new Set<number>();
  private readonly slot: number;
  private readonly batch: number;
  private readonly arena: Uint8Array;
  private readonly descs: Uint32Array;
  private readonly eth = new Uint8Array(14);
  /** Split of a TX batch: frames for IF and frames back into the TUN device. */
  private readonly outDescs: Uint32Array;
  private readonly backDescs: Uint32Array;

  constructor(ifname: string, opts: TunBackendOptions) {
    const info = ifInfo(ifname);
    this.mac = new Uint8Array(info.mac);
    this.mtu = info.mtu;
    this.log = opts.log;
    this.onError = opts.onError;
    this.manageRoutes = opts.routes ?? false;
    this.vnetHdr = opts.vnetHdr ?? true;
    this.batch = opts.batch ?? (this.vnetHdr ? 64 : DEFAULT_BATCH);
    if (!Number.isInteger(this.batch) || this.batch < 1 || this.batch > 4096) throw new RangeError(`TUN batch must be 1 to 4096, got ${this.batch}`);
    // One byte more than the MTU fits a slot, so a packet that fills it is known to be cut.
    // With vnet headers a TCP super-packet is up to 64 KB.
    this.slot = (TUN_HEADROOM + (this.vnetHdr ? 65536 : info.mtu) + 1 + 63) & ~63;
    this.arena = new Uint8Array(this.slot * this.batch);
    this.descs = new Uint32Array(DESC_STRIDE * this.batch);
    this.eth.set(this.mac, 0);
    this.eth.set(TUN_PEER_MAC, 6);
    this.eth[12] = 0x08;
    this.outDescs = new Uint32Array(2 * 4096);
    this.backDescs = new Uint32Array(2 * 4096);
    // The TX socket first: it needs only IF, and fails clearly without CAP_NET_RAW.
    this.sock = new AfPacketSocket(ifname, { vnetHdr: this.vnetHdr, blockSize: 1 << 17, blockCount: 2, filter: vipFilter({ vips: [] }) });
    try {
      this.tun = new TunDevice(opts.tunName, { mtu: info.mtu, multiQueue: opts.multiQueue ?? false, vnetHdr: this.vnetHdr });
    } catch (e) {
      this.sock.close();
      throw e;
    }
    if (ipForward() === 0) {
      this.log(`warning: net.ipv4.ip_forward is 0: the kernel will not route VIP traffic from ${ifname} into ${this.tun.name}; set it to 1 (sysctl -w net.ipv4.ip_forward=1)`);
    }
  }

  start(onBlock: (bytes: Uint8Array, descs: Uint32Array, count: number) => void): void {
    const drainTun = () => {
      for (let i = 0; i < MAX_BATCHES_PER_WAKE; i++) {
        const n = this.tun.readBatch(this.arena, this.descs, this.eth, this.slot, this.batch);
        if (n === 0) return;
        onBlock(this.arena, this.descs, n);
        if (n < this.batch) return;
      }
    };
    this.tun.start((err) => {
      if (err) {
        this.onError?.(err);
        return;
      }
      drainTun();
    });
    this.sock.start((err) => {
      if (err) {
        this.onError?.(err);
        return;
      }
      this.sock.drain(onBlock);
    });
    drainTun();
    this.sock.drain(onBlock);
  }

  send(buf: Uint8Array, descs: Uint32Array, count: number): number {
    // Frames to TUN_PEER_MAC go back into the device; the rest out of IF. The common case
    // (no such frame) sends the caller's descriptors as they are.
    const p0 = TUN_PEER_MAC[0], p1 = TUN_PEER_MAC[1], p2 = TUN_PEER_MAC[2], p3 = TUN_PEER_MAC[3], p4 = TUN_PEER_MAC[4], p5 = TUN_PEER_MAC[5];
    let back = 0;
    for (let i = 0; i < count; i++) {
      const o = descs[2 * i];
      if (buf[o] === p0 && buf[o + 1] === p1 && buf[o + 2] === p2 && buf[o + 3] === p3 && buf[o + 4] === p4 && buf[o + 5] === p5) back++;
    }
    if (back === 0) return this.sock.send(buf, descs, count);
    let nOut = 0;
    let nBack = 0;
    const out = this.outDescs;
    const bk = this.backDescs;
    for (let i = 0; i < count; i++) {
      const o = descs[2 * i];
      const l = descs[2 * i + 1];
      if (buf[o] === p0 && buf[o + 1] === p1 && buf[o + 2] === p2 && buf[o + 3] === p3 && buf[o + 4] === p4 && buf[o + 5] === p5) {
        bk[2 * nBack] = o;
        bk[2 * nBack + 1] = l;
        nBack++;
      } else {
        out[2 * nOut] = o;
        out[2 * nOut + 1] = l;
        nOut++;
      }
    }
    let sent = nOut > 0 ? this.sock.send(buf, out, nOut) : 0;
    let i = 0;
    while (i < nBack) {
      const r = this.tun.writeBatch(buf, bk, i, nBack - i);
      if (r > 0) {
        i += r;
        sent += r;
        this.tunTxFrames += r;
      } else {
        this.tunTxDrops++;
        i++; // a frame the device refused: skip it
      }
    }
    return sent;
  }

  setVips(vips: readonly number[]): void {
    if (!this.manageRoutes) return;
    const want = new Set(vips);
    for (const v of this.routes) if (!want.has(v)) this.route('del', v);
    for (const v of want) if (!this.routes.has(v)) this.route('replace', v);
  }

  stop(): void {
    this.tun.stop();
    this.sock.stop();
  }

  close(): void {
    for (const v of [...this.routes]) this.route('del', v);
    this.tun.close();
    this.sock.close();
  }

  /** The TUN device's name (the kernel's pick when none was given). */
  get tunName(): string {
    return this.tun.name;
  }

  // Control path only (VIP changes): a short `ip route` each.
  private route(op: 'replace' | 'del', vip: number): void {
    const args = ['route', op, `${formatV4(vip)}/32`, 'dev', this.tun.name];
    const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 5000 });
    if (r.error || r.status !== 0) {
      if (op === 'replace') this.log(`cannot add route: ip ${args.join(' ')}: ${r.error ? r.error.message : (r.stderr || '').trim()}`);
      this.routes.delete(vip);
      return;
    }
    if (op === 'replace') {
      this.routes.add(vip);
      this.log(`route ${formatV4(vip)}/32 dev ${this.tun.name}`);
    } else {
      this.routes.delete(vip);
    }
  }
}

/** net.ipv4.ip_forward of this namespace, or -1 when it cannot be read. */
export function ipForward(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim());
  } catch {
    return -1;
  }
}

/** The routes an operator adds by hand without --tun-routes (for help and logs). */
export function tunRouteCommands(vips: readonly number[], tunName: string): string[] {
  return vips.map((v) => `ip route add ${formatV4(v)}/32 dev ${tunName}`);
}
