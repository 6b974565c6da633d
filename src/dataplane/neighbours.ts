// Real servers' MAC addresses, as DR forwarding needs them.
//
// A real server is reachable only once its MAC is known. We learn it from the kernel's
// neighbour table (/proc/net/arp) when the director's kernel already knows it, and from
// our own ARP: every unresolved address is asked for once a second (broadcast request
// from the director's own address); every resolved one is re-asked every REFRESH_S
// seconds (unicast), and forgotten when it has not answered for STALE_S seconds.
// Any ARP packet a real server sends (reply or request) refreshes it.
//
// A dest whose MAC is unknown carries DEST_F_UNRESOLVED: schedulers skip it, and packets
// of its existing connections are dropped as "unresolved_dest".

import { readFileSync } from 'node:fs';
import { parseV4 } from '../core/addr';
import { DEST_F_UNRESOLVED } from '../core/constants';
import type { Dest } from '../core/dest';
import { ARP_OP_REQUEST, writeArp } from '../wire/arp';
import { ETHERTYPE_ARP, ETH_HEADER_LEN, writeEthernetHeader } from '../wire/ethernet';

export const ASK_EVERY_S = 1;
export const REFRESH_S = 30;
export const STALE_S = 95;

const BROADCAST = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
const ZERO_MAC = new Uint8Array(6);

interface Neighbour {
  ip: number;
  mac: Uint8Array | null;
  /** Last time (s) we heard from it. */
  seen: number;
  /** Last time (s) we asked. */
  asked: number;
  dests: Set<Dest>;
}

/** Sends one frame built in a scratch buffer (the pipeline's control-frame path). */
export type FrameSender = (frame: Uint8Array, len: number) => void;

export class Neighbours {
  /** Keyed by the address as int32 (the packet path's form); `ip` inside stays uint32. */
  private readonly byIp = new Map<number, Neighbour>();
  private readonly frame = new Uint8Array(64);
  now = 0;
  /** Called when a neighbour's reachability changes (for logs). */
  onChange: ((ip: number, mac: Uint8Array | null) => void) | null = null;

  constructor(private readonly ourMac: Uint8Array, private readonly ourIp: number, private readonly send: FrameSender) {}

  /** Starts tracking a dest; it stays unresolved until its MAC is known. */
  track(dest: Dest): void {
    const ip = dest.addr.v4;
    let n = this.byIp.get(ip | 0);
    if (!n) {
      n = { ip, mac: null, seen: 0, asked: -1e9, dests: new Set() };
      this.byIp.set(ip | 0, n);
      const known = kernelArp().get(ip);
      if (known) this.resolve(n, known, 0);
    }
    n.dests.add(dest);
    this.apply(n, dest);
    // once per address (a server in several services is one neighbour), at most once a second
    if (!n.mac && this.now - n.asked >= ASK_EVERY_S) this.ask(n, true);
  }

  untrack(dest: Dest): void {
    const n = this.byIp.get(dest.addr.v4 | 0);
    if (!n) return;
    n.dests.delete(dest);
    if (n.dests.size === 0) this.byIp.delete(n.ip | 0);
  }

  /** An ARP packet from `ip` with sender MAC at mac[off..off+6] (hot path: no allocation once known). */
  learn(ip: number, mac: Uint8Array, off: number): void {
    const n = this.byIp.get(ip | 0);
    if (n === undefined) return;
    if (n.mac !== null && sameMac(n.mac, mac, off)) {
      n.seen = this.now;
      return;
    }
    this.resolve(n, mac.slice(off, off + 6), this.now);
  }

  /** Once a second: ask for the unresolved, refresh the quiet, forget the stale. */
  tick(now: number): void {
    this.now = now;
    for (const n of this.byIp.values()) {
      if (n.mac === null) {
        if (now - n.asked >= ASK_EVERY_S) this.ask(n, true);
      } else if (now - n.seen >= STALE_S) {
        n.mac = null;
        for (const d of n.dests) this.apply(n, d);
        this.onChange?.(n.ip, null);
        this.ask(n, true);
      } else if (now - n.seen >= REFRESH_S && now - n.asked >= REFRESH_S / 3) {
        this.ask(n, false);
      }
    }
  }

  /** Unresolved addresses (for start-up checks and status). */
  unresolved(): number[] {
    return [...this.byIp.values()].filter((n) => n.mac === null).map((n) => n.ip);
  }

  macOf(ip: number): Uint8Array | null {
    return this.byIp.get(ip | 0)?.mac ?? null;
  }

  private resolve(n: Neighbour, mac: Uint8Array, now: number): void {
    n.mac = mac;
    n.seen = now;
    for (const d of n.dests) this.apply(n, d);
    this.onChange?.(n.ip, mac);
  }

  private apply(n: Neighbour, d: Dest): void {
    d.mac = n.mac;
    if (n.mac) d.flags &= ~DEST_F_UNRESOLVED;
    else d.flags |= DEST_F_UNRESOLVED;
  }

  private ask(n: Neighbour, broadcast: boolean): void {
    n.asked = this.now;
    const dst = broadcast || !n.mac ? BROADCAST : n.mac;
    writeEthernetHeader(this.frame, 0, dst, 0, this.ourMac, 0, ETHERTYPE_ARP);
    writeArp(this.frame, ETH_HEADER_LEN, ARP_OP_REQUEST, this.ourMac, 0, this.ourIp, ZERO_MAC, 0, n.ip);
    this.frame.fill(0, ETH_HEADER_LEN + 28);
    this.send(this.frame, 60);
  }
}

function sameMac(a: Uint8Array, b: Uint8Array, off: number): boolean {
  return a[0] === b[off] && a[1] === b[off + 1] && a[2] === b[off + 2] && a[3] === b[off + 3] && a[4] === b[off + 4] && a[5] === b[off + 5];
}

/** The kernel's complete ARP entries (this network namespace). */
function kernelArp(): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  let text = '';
  try {
    text = readFileSync('/proc/net/arp', 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4 || f[2] !== '0x2') continue;
    const mac = f[3].split(':').map((h) => parseInt(h, 16));
    if (mac.length === 6 && !mac.every((x) => x === 0)) out.set(parseV4(f[0]), Uint8Array.from(mac));
  }
  return out;
}
