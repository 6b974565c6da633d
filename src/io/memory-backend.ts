// An IoBackend in memory: tests push frames in and read what the pipeline sent. It lets
// the whole data plane run in unit tests and benchmarks without root or a network.

import { DESC_LEN, DESC_OFFSET, DESC_SNAPLEN, DESC_STATUS, DESC_STRIDE } from './afpacket';
import type { IoBackend } from './backend';

export const TP_STATUS_USER_BIT = 1;

export class MemoryBackend implements IoBackend {
  readonly mac: Uint8Array;
  readonly mtu = 1500;
  readonly vnetHdr = false;
  /** Frames sent by the pipeline, copied out. */
  readonly sent: Uint8Array[] = [];
  vips: readonly number[] = [];
  private onBlock: ((bytes: Uint8Array, descs: Uint32Array, count: number) => void) | null = null;
  private readonly block = new Uint8Array(1 << 20);
  private readonly descs = new Uint32Array(DESC_STRIDE * 4096);

  constructor(mac: Uint8Array) {
    this.mac = mac;
  }

  start(onBlock: (bytes: Uint8Array, descs: Uint32Array, count: number) => void): void {
    this.onBlock = onBlock;
  }

  /** Delivers frames as one received block (copied into the block buffer). */
  receive(frames: readonly Uint8Array[]): void {
    if (!this.onBlock) throw new Error('MemoryBackend: start() was not called');
    if (frames.length * DESC_STRIDE > this.descs.length) throw new RangeError(`MemoryBackend: at most ${this.descs.length / DESC_STRIDE} frames per block, got ${frames.length}`);
    const bytes = frames.reduce((n, f) => n + ((f.length + 15) & ~15), 0);
    if (bytes > this.block.length) throw new RangeError(`MemoryBackend: a block holds at most ${this.block.length} bytes, got ${bytes}`);
    let off = 0;
    frames.forEach((f, i) => {
      this.block.set(f, off);
      const d = i * DESC_STRIDE;
      this.descs.fill(0, d, d + DESC_STRIDE);
      this.descs[d + DESC_OFFSET] = off;
      this.descs[d + DESC_SNAPLEN] = f.length;
      this.descs[d + DESC_LEN] = f.length;
      this.descs[d + DESC_STATUS] = TP_STATUS_USER_BIT;
      off += (f.length + 15) & ~15;
    });
    this.onBlock(this.block, this.descs, frames.length);
  }

  /** The same block, without copying: for benchmarks that replay a prepared block. */
  receiveRaw(bytes: Uint8Array, descs: Uint32Array, count: number): void {
    this.onBlock!(bytes, descs, count);
  }

  /** Frames sent by the pipeline, copied out unless `discard`. */
  send(buf: Uint8Array, descs: Uint32Array, count: number): number {
    this.sendCalls++;
    this.sentFrames += count;
    if (this.discard) return count;
    for (let i = 0; i < count; i++) {
      const off = descs[2 * i];
      this.sent.push(buf.slice(off, off + descs[2 * i + 1]));
    }
    return count;
  }

  /** send() only counts, copies nothing (benchmarks: no allocation on the TX side). */
  discard = false;
  /** Calls of send(): TX batches, each one native crossing on a real backend. */
  sendCalls = 0;
  /** Frames passed to send(), copied or not. */
  sentFrames = 0;

  setVips(vips: readonly number[]): void {
    this.vips = vips;
  }

  stop(): void {
    this.onBlock = null;
  }

  close(): void {
    this.onBlock = null;
  }
}
