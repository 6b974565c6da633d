// A real server (IPVS "destination") of one virtual service.
//
// Fields the schedulers read on every new connection (weight, flags, activeConns,
// inactConns) are plain numbers on a monomorphic object, so a scan over 100 dests stays
// in registers and L1. The connection table refers to a dest by its integer `id`
// (0 means none), never by object.

import type { Addr } from './addr';
import { DEST_F_AVAILABLE, DEST_F_OVERLOAD } from './constants';
import { Stats } from './stats';
import type { Service } from './service';

export class Dest {
  /** Index in the director's dest registry; stable while any connection refers to it. */
  readonly id: number;
  readonly addr: Addr;
  readonly port: number;
  /** The service this dest belongs to; null once it is deleted (kept for its connections). */
  svc: Service | null;
  weight: number;
  /** Latest non-zero weight (mh keeps tiling with it while the dest is quiescent, §2.7). */
  lastWeight: number;
  fwd: number;
  uThreshold = 0;
  lThreshold = 0;
  flags = DEST_F_AVAILABLE;
  activeConns = 0;
  inactConns = 0;
  persistConns = 0;
  /** Connections (and templates) still bound to this dest; a deleted dest lives until 0. */
  refs = 0;
  /** MAC address of the real server, filled in by the data plane's neighbour resolver. */
  mac: Uint8Array | null = null;
  readonly stats = new Stats();

  constructor(id: number, svc: Service, addr: Addr, port: number, weight: number, fwd: number) {
    this.id = id;
    this.svc = svc;
    this.addr = addr;
    this.port = port;
    this.weight = weight;
    this.lastWeight = weight;
    this.fwd = fwd;
  }

  get available(): boolean {
    return (this.flags & DEST_F_AVAILABLE) !== 0;
  }

  get overloaded(): boolean {
    return (this.flags & DEST_F_OVERLOAD) !== 0;
  }

  /** ActiveConn*256 + InActConn: the load measure of lc, wlc, lblc, lblcr and twos (§2.3). */
  overhead(): number {
    return this.activeConns * 256 + this.inactConns;
  }

  /** `addr:port` as ipvsadm -n prints it. */
  toString(): string {
    return this.addr.withPort(this.port);
  }
}
