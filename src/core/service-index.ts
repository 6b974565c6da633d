// Packet-time service lookup without strings or allocation.
//
// The control plane rebuilds this index whenever the service table changes (its
// `generation` moves). IPv4 address services live in a small open-addressing table keyed
// by (proto, vaddr, vport); the lookup is a few integer compares. Port-0 (all ports)
// services of a VIP are found by a second probe with port 0, as ip_vs_service_find does.
// fwmark and IPv6 services are rare on the fast path and use Maps with numeric/short keys.

import { AF_INET } from './constants';
import type { Service } from './service';
import type { ServiceTable } from './services';

export class ServiceIndex {
  private keys = new Int32Array(0);
  private vals: (Service | null)[] = [];
  private mask = 0;
  private readonly fwmarks = new Map<number, Service>();
  private readonly fwmarks6 = new Map<number, Service>();
  private readonly v6 = new Map<string, Service>();
  /** True when some IPv4 service has port 0 (then a second probe is worth doing). */
  private hasPort0 = false;
  generation = -1;
  /**
   * Every VIP (IPv4) that has at least one service, as uint32 (for BPF filters, ARP
   * announcements and listings). The packet path asks isVip4(), which keeps int32 keys.
   */
  readonly vips4 = new Set<number>();
  private readonly vipSet32 = new Set<number>();

  rebuild(table: ServiceTable): void {
    let n = 8;
    while (n < table.services.length * 4) n <<= 1;
    this.mask = n - 1;
    this.keys = new Int32Array(n * 2);
    this.vals = new Array<Service | null>(n).fill(null);
    this.fwmarks.clear();
    this.fwmarks6.clear();
    this.v6.clear();
    this.vips4.clear();
    this.vipSet32.clear();
    this.hasPort0 = false;
    for (const svc of table.services) {
      if (svc.fwmark) {
        (svc.af === AF_INET ? this.fwmarks : this.fwmarks6).set(svc.fwmark, svc);
      } else if (svc.af === AF_INET) {
        this.vips4.add(svc.addr.v4);
        this.vipSet32.add(svc.addr.v4 | 0);
        if (svc.port === 0) this.hasPort0 = true;
        let i = slotOf(svc.proto, svc.addr.v4, svc.port) & this.mask;
        while (this.vals[i] !== null) i = (i + 1) & this.mask;
        this.keys[2 * i] = svc.addr.v4 | 0;
        this.keys[2 * i + 1] = (svc.proto << 16) | svc.port;
        this.vals[i] = svc;
      } else {
        this.v6.set(`${svc.proto} ${svc.addr.withPort(svc.port)}`, svc);
      }
    }
    this.generation = table.generation;
  }

  /** The service for an IPv4 packet, or null. Exact port first, then the VIP's port-0 service. */
  find4(proto: number, vaddr: number, vport: number): Service | null {
    const s = this.probe(proto, vaddr, vport);
    if (s !== null || !this.hasPort0) return s;
    return this.probe(proto, vaddr, 0);
  }

  findFwmark(af: number, mark: number): Service | null {
    return (af === AF_INET ? this.fwmarks : this.fwmarks6).get(mark) ?? null;
  }

  /** IPv6 services: off the IPv4 fast path; builds a key string. */
  find6(proto: number, vaddrText: string, vport: number): Service | null {
    return this.v6.get(`${proto} [${vaddrText}]:${vport}`) ?? this.v6.get(`${proto} [${vaddrText}]:0`) ?? null;
  }

  /** True if `vaddr` (int32 or uint32 form) is a VIP of some IPv4 service. */
  isVip4(vaddr: number): boolean {
    return this.vipSet32.has(vaddr | 0);
  }

  private probe(proto: number, vaddr: number, vport: number): Service | null {
    const k1 = (proto << 16) | vport;
    const a = vaddr | 0;
    let i = slotOf(proto, a, vport) & this.mask;
    for (;;) {
      const v = this.vals[i];
      if (v === null) return null;
      if (this.keys[2 * i] === a && this.keys[2 * i + 1] === k1) return v;
      i = (i + 1) & this.mask;
    }
  }
}

function slotOf(proto: number, vaddr: number, vport: number): number {
  let h = Math.imul(vaddr ^ 0x9e3779b9, 0x85ebca6b);
  h ^= Math.imul((vport << 8) | proto, 0xc2b2ae35);
  h ^= h >>> 15;
  return h >>> 0;
}
