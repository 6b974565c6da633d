// Scheduler-side benchmarks for bench/core.ts:
//   newConnWlcNs  one new TCP connection through the director (lookup miss, wlc over 100
//                 dests, insert, bind, state step, counters), ns each
//   newConnMhNs   the same with mh (Maglev, 4093 slots)
//   mhRebuildMs   rebuilding a Maglev table of 65521 slots for 1000 dests, median ms
// Plain timed loops over pre-generated keys; nothing is asserted.

import { Addr } from '../src/core/addr';
import { AF_INET, FWD_DROUTE, IPPROTO_TCP } from '../src/core/constants';
import { Director } from '../src/core/director';
import { Service } from '../src/core/service';
import { MhScheduler } from '../src/sched/mh';
import { TH_SYN } from '../src/conn/tcp-states';

const VIP = 0xc0000264; // 192.0.2.100

function director(sched: string, dests: number, maxConns: number): Director {
  const d = new Director({ maxConns });
  const ref = { af: AF_INET as 2, proto: IPPROTO_TCP, addr: Addr.v4(VIP), port: 80, fwmark: 0 };
  d.services.addService({ ...ref, scheduler: sched });
  for (let i = 0; i < dests; i++) {
    d.services.addDest(ref, { addr: Addr.v4(0xc6336400 + 1 + i), port: 80, weight: 1 + (i % 4), fwd: FWD_DROUTE, uThreshold: 0, lThreshold: 0 });
  }
  return d;
}

/** ns per new connection, best of `rounds` runs of `n` connections on a fresh director. */
function newConnNs(sched: string, dests: number, n: number, rounds: number): number {
  const caddr = new Uint32Array(n);
  const cport = new Uint16Array(n);
  let x = 0x12345678;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    caddr[i] = (0xc6120000 | (x & 0x1ffff)) >>> 0; // 198.18.0.0/15
    cport[i] = 1024 + (i % 60000);
  }
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const d = director(sched, dests, n * 2);
    for (let i = 0; i < 2000; i++) d.inPacket4(IPPROTO_TCP, 0xcb007100 + (i & 255), 30000 + i, VIP, 80, TH_SYN, 60);
    const t0 = process.hrtime.bigint();
    let ok = 0;
    for (let i = 0; i < n; i++) if (d.inPacket4(IPPROTO_TCP, caddr[i], cport[i], VIP, 80, TH_SYN, 60) !== 0) ok++;
    const ns = Number(process.hrtime.bigint() - t0) / n;
    if (ok < n * 0.99) throw new Error(`only ${ok} of ${n} connections were created`);
    best = Math.min(best, ns);
  }
  return round(best);
}

function mhRebuildMs(dests: number, size: number, runs: number): number {
  const svc = new Service(1, AF_INET, IPPROTO_TCP, Addr.v4(VIP), 80, 0, { name: '', addDest() {}, delDest() {}, updDest() {}, flagsChanged() {}, schedule: () => null });
  const d = director('rr', dests, 16);
  svc.dests.push(...d.services.services[0].dests);
  const mh = new MhScheduler(svc, size);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    mh.updDest(svc, svc.dests[i % dests]);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  return round(times[Math.floor(times.length / 2)]);
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

export function benchSched(): Record<string, number> {
  return {
    newConnWlcNs: newConnNs('wlc', 100, 300_000, 3),
    newConnMhNs: newConnNs('mh', 100, 300_000, 3),
    mhRebuildMs: mhRebuildMs(1000, 65521, 31),
  };
}
