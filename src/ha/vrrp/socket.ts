// VRRP I/O: one raw IPv4 socket for protocol 112 per interface, through the `raw-socket`
// addon (already a dependency for ping checks; it polls the socket with libuv, which is all
// one packet a second needs, so no new native code).
//
//   SO_BINDTODEVICE IF          receive only from IF, send out of IF
//   IP_ADD_MEMBERSHIP           224.0.0.18 on IF (ip_mreqn: group, any address, ifindex)
//   IP_HDRINCL                  we write the IPv4 header: TTL 255, TOS 0xc0, the source
//                               address (primary or unicast_src_ip) that the v3 checksum covers
//   IP_MULTICAST_LOOP 0         our own adverts do not come back
// The kernel delivers the whole datagram (IP header included) to a raw IPv4 socket, so the
// receiver sees the TTL (must be 255) and the source.

import { readFileSync } from 'node:fs';
import { formatV4 } from '../../core/addr';
import { VRRP_GROUP4, IPPROTO_VRRP } from './packet';

const SOL_SOCKET = 1;
const SO_BINDTODEVICE = 25;
const IPPROTO_IP = 0;
const IP_HDRINCL = 3;
const IP_MULTICAST_LOOP = 34;
const IP_ADD_MEMBERSHIP = 35;

/** The part of raw-socket's API used here (it ships no type declarations). */
interface RawSocket {
  on(ev: 'message', fn: (buf: Buffer, source: string) => void): void;
  on(ev: 'error', fn: (e: Error) => void): void;
  send(buf: Buffer, offset: number, length: number, address: string, after: (e: Error | null, bytes: number) => void): void;
  setOption(level: number, option: number, value: number | Buffer, length?: number): void;
  close(): void;
}
interface RawSocketModule {
  createSocket(o: { protocol: number; addressFamily?: number; bufferSize?: number }): RawSocket;
}

export interface VrrpSocketLike {
  send(packet: Uint8Array, dst: number): void;
  close(): void;
}

export class VrrpSocket implements VrrpSocketLike {
  private readonly sock: RawSocket;
  sendErrors = 0;
  lastSendError = '';
  private pending = 0;
  private closing = false;

  constructor(
    readonly ifname: string,
    onPacket: (buf: Uint8Array) => void,
    private readonly onError: (msg: string) => void,
  ) {
    const raw = require('raw-socket') as RawSocketModule;
    this.sock = raw.createSocket({ protocol: IPPROTO_VRRP, bufferSize: 2048 });
    try {
      const dev = Buffer.from(`${ifname}\0`);
      this.sock.setOption(SOL_SOCKET, SO_BINDTODEVICE, dev, dev.length);
      this.sock.setOption(IPPROTO_IP, IP_HDRINCL, 1);
      this.sock.setOption(IPPROTO_IP, IP_MULTICAST_LOOP, 0);
      const mreqn = Buffer.alloc(12);
      mreqn.writeUInt32BE(VRRP_GROUP4, 0);
      mreqn.writeInt32LE(ifIndex(ifname), 8); // host order (x86/arm little-endian)
      this.sock.setOption(IPPROTO_IP, IP_ADD_MEMBERSHIP, mreqn, mreqn.length);
    } catch (e) {
      this.sock.close();
      throw e;
    }
    this.sock.on('message', (buf) => onPacket(buf));
    this.sock.on('error', (e) => onError(`VRRP socket on ${ifname}: ${e.message}`));
  }

  send(packet: Uint8Array, dst: number): void {
    if (this.closing) return;
    const buf = Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
    this.pending++;
    this.sock.send(buf, 0, buf.length, formatV4(dst), (err) => {
      this.pending--;
      if (this.closing && this.pending === 0) this.sock.close();
      if (!err) {
        this.lastSendError = '';
        return;
      }
      this.sendErrors++;
      // logged once per distinct error (a downed link fails every second)
      if (err.message !== this.lastSendError) this.onError(`VRRP send on ${this.ifname} to ${formatV4(dst)}: ${err.message}`);
      this.lastSendError = err.message;
    });
  }

  /** Closes once the queued sends (a priority-0 advert at shutdown) are out, within 500 ms. */
  close(): void {
    if (this.closing) return;
    this.closing = true;
    if (this.pending === 0) return this.sock.close();
    setTimeout(() => {
      if (this.pending > 0) this.sock.close();
    }, 500).unref();
  }
}

export function ifIndex(ifname: string): number {
  return Number(readFileSync(`/sys/class/net/${ifname}/ifindex`, 'utf8').trim());
}

/** Is the link usable (admin up and carrier)? Read from sysfs; unreadable = down. */
export function linkUp(ifname: string): boolean {
  try {
    const flags = Number(readFileSync(`/sys/class/net/${ifname}/flags`, 'utf8').trim());
    if ((flags & 1) === 0) return false; // IFF_UP
    return readFileSync(`/sys/class/net/${ifname}/carrier`, 'utf8').trim() === '1';
  } catch {
    return false;
  }
}
