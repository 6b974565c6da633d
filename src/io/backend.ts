// The IoBackend interface: how frames reach the data plane and leave it. AF_PACKET (the
// main path), TUN (src/io/tun-backend.ts), pcap (src/io/pcap-backend.ts, through the `cap`
// package) and the in-memory backend (unit tests without root) all look the same to the
// pipeline; src/io/open-capture.ts picks one:
//   - frames arrive a block at a time as (bytes, descs, count), with DESC_STRIDE words per
//     frame laid out as in src/io/afpacket.ts (offset, snaplen, wire length, status, VLAN,
//     virtio-net fields);
//   - frames leave in batches as (buffer, pairs of (offset, len), count); with vnet headers
//     each frame's 10-byte virtio_net_hdr sits right before its offset.

export interface IoBackend {
  /** The interface's MAC address (6 bytes). */
  readonly mac: Uint8Array;
  readonly mtu: number;
  /** True when frames carry a virtio_net_hdr (GSO super-frames, partial checksums). */
  readonly vnetHdr: boolean;
  /**
   * Whether the director owns the VIPs at L2 on this backend: answers ARP for them and
   * sends gratuitous ARP (AF_PACKET, pcap). False for TUN, where the kernel routes the VIPs
   * to us and a router sends to the director's own address. Absent means true.
   */
  readonly ownsVipAtL2?: boolean;
  /** Calls onBlock for every batch of received frames until stop(). */
  start(onBlock: (bytes: Uint8Array, descs: Uint32Array, count: number) => void): void;
  /** Sends `count` frames; returns how many left (the rest are counted drops). */
  send(buf: Uint8Array, descs: Uint32Array, count: number): number;
  /** Replaces the receive filter (VIP list changed). */
  setVips(vips: readonly number[]): void;
  stop(): void;
  close(): void;
}
