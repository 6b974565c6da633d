// TUN I/O: a typed wrapper over the addon's TunDevice (native/tun.cc).
//
// The device is layer 3 (IFF_TUN | IFF_NO_PI): the kernel routes packets into it and we
// read bare IP packets. readBatch() reads a whole batch in one native call into a
// preallocated arena, one fixed slot per packet, each with TUN_HEADROOM (24) bytes in
// front: a zeroed 10-byte virtio_net_hdr and a 14-byte Ethernet header (dst = the MAC we
// give, src = TUN_PEER_MAC, ethertype from the IP version). The descriptors have the same
// DESC_* layout as AF_PACKET RX, so the pipeline sees an ordinary Ethernet frame.
// writeBatch() writes (offset, len) frames back into the device, the Ethernet header
// skipped (with vnet headers, the 10 bytes before the frame go in front): that is how replies we originate (ICMP echo reply, ICMP errors) go back to the
// kernel, which routes them to the client.
//
// Arguments are validated here; syscall failures become NativeIoError (code = errno name).

import { checkIfName, DESC_STRIDE } from './afpacket';
import { isNativeError, native, NativeIoError, type NativeTunDevice } from './native';

/** Bytes in front of each packet read: virtio_net_hdr (10) + Ethernet (14). */
export const TUN_HEADROOM = 24;
export const ETH_HEADER_LEN = 14;
/**
 * Source MAC of the synthetic Ethernet header of packets read from the device (locally
 * administered, "tun"). A frame the pipeline sends to this MAC goes back into the device.
 */
export const TUN_PEER_MAC: Readonly<Uint8Array> = new Uint8Array([0x02, 0x00, 0x74, 0x75, 0x6e, 0x00]);

export interface TunOptions {
  /** MTU to set; default: leave the kernel's 1500. */
  mtu?: number;
  /** Ask for IFF_MULTI_QUEUE (one more queue per TunDevice on the same name). Default false. */
  multiQueue?: boolean;
  /**
   * IFF_VNET_HDR with checksum and TSO offloads: packets up to 64 KB with partial
   * checksums, their virtio_net_hdr in the 10 bytes of headroom (csum_start/hdr_len counted
   * from the Ethernet header, as AF_PACKET's) and in the descriptor. Default false.
   */
  vnetHdr?: boolean;
}

function explain(e: unknown, what: string): unknown {
  if (!isNativeError(e)) return e;
  switch (e.code) {
    case 'EPERM':
    case 'EACCES':
      return new NativeIoError(`${what}: need root or CAP_NET_ADMIN (${e.syscall}: ${e.code})`, e);
    case 'ENOENT':
    case 'ENODEV':
      return new NativeIoError(`${what}: no TUN support (/dev/net/tun missing or the tun module not loaded) (${e.syscall}: ${e.code})`, e);
    case 'EBUSY':
      return new NativeIoError(`${what}: the device is busy (another process holds it, or it exists with other flags) (${e.syscall}: EBUSY)`, e);
    case 'EINVAL':
      return new NativeIoError(`${what}: refused (an existing device of another type or queue mode?) (${e.syscall}: EINVAL)`, e);
    default:
      return new NativeIoError(`${what}: ${e.message}`, e);
  }
}

export class TunDevice {
  readonly name: string;
  readonly multiQueue: boolean;
  readonly vnetHdr: boolean;
  private readonly dev: NativeTunDevice;
  private closed = false;

  constructor(name: string, options: TunOptions = {}) {
    if (name !== '') checkIfName(name);
    const mtu = options.mtu ?? 0;
    if (!Number.isInteger(mtu) || (mtu !== 0 && (mtu < 68 || mtu > 65535))) throw new RangeError(`TUN mtu must be 68 to 65535, got ${mtu}`);
    const multiQueue = options.multiQueue ?? false;
    if (typeof multiQueue !== 'boolean') throw new TypeError('TUN multiQueue must be a boolean');
    const vnetHdr = options.vnetHdr ?? false;
    if (typeof vnetHdr !== 'boolean') throw new TypeError('TUN vnetHdr must be a boolean');
    const addon = native();
    if (addon.tunLayout?.headroom !== TUN_HEADROOM || addon.tunLayout.descStride !== DESC_STRIDE)
      throw new Error('the tsvs native addon is out of date (no TUN support or another layout): run `npm run build:native`');
    try {
      this.dev = new addon.TunDevice(name, { mtu, multiQueue, vnetHdr });
    } catch (e) {
      throw explain(e, `TUN device "${name || 'tunN'}"`);
    }
    this.name = this.dev.name;
    this.multiQueue = this.dev.multiQueue;
    this.vnetHdr = this.dev.vnetHdr;
  }

  get fd(): number {
    return this.dev.fd;
  }

  /** Reads up to maxFrames packets into arena slots; see the file comment. */
  readBatch(arena: Uint8Array, descs: Uint32Array, eth: Uint8Array, slotSize: number, maxFrames: number): number {
    return this.dev.readBatch(arena, descs, eth, slotSize, maxFrames);
  }

  /** Writes frames (Ethernet header skipped) into the device; count written or -errno. */
  writeBatch(buf: ArrayBuffer | ArrayBufferView, descs: Uint32Array, start: number, count: number): number {
    return this.dev.writeBatch(buf, descs, start, count, ETH_HEADER_LEN);
  }

  start(onReadable: (err?: NativeIoError) => void): void {
    const name = this.name;
    this.dev.start((err) => {
      if (err) onReadable(explain(err, `polling TUN "${name}"`) as NativeIoError);
      else onReadable();
    });
  }

  stop(): void {
    this.dev.stop();
  }

  unref(): void {
    this.dev.unref();
  }

  /** Closes the fd; the (non-persistent) device and its routes disappear. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.dev.close();
  }
}
