// Which worker owns a flow: the mapping the kernel's PACKET_FANOUT_CBPF group applies to
// every received frame, written twice — once as a classic BPF program the kernel runs
// (fanoutProgram), once in TypeScript (workerForFlow) so that the control plane can say
// which shard holds a connection (connection sync hands a synced connection to it).
//
// Why CBPF and not PACKET_FANOUT_HASH: the kernel's flow hash is seeded per boot
// (skb_get_hash), so user space cannot compute it; with our own program the mapping is
// a documented function. Direct routing only ever sees client -> VIP packets, so the hash
// need not be symmetric.
//
// The algorithm, in words: take the client's IPv4 source address; for an unfragmented
// TCP or UDP packet XOR its source port into it (every other packet — ICMP, other
// protocols, and every fragment, first or not — uses the address alone, so all pieces of
// one datagram and a client's ICMP reach one worker). Multiply by 0x9E3779B1 (Fibonacci
// hashing, 32-bit wrap) and keep the high 16 bits; the kernel takes that modulo the group
// size, which is the worker index (sockets are numbered in the order they joined). Frames
// that are not IPv4 (ARP, IPv6) go to worker 0.
//
// Persistence: IPVS sends every connection of a client network (address & the service's
// persistence netmask) to one real server, through a template in the connection table.
// Templates live in a worker's shard, so a client whose connections were spread over
// workers could get a different real server per worker. When persistent services are
// configured the daemon therefore keys the fanout by CLIENT: the address masked by the
// widest persistence netmask, no port (FanoutKey.byClient); one client's flows then all
// reach one worker, at the cost of balance when few clients open many connections.
//
// The program reads the IPv4 header relative to the network header (SKF_NET_OFF), so it
// does not depend on whether a fanout program sees the MAC header (it does not) or on
// VLAN tags, and the ethertype from skb->protocol (SKF_AD_PROTOCOL).

import { BPF_ABS, BPF_ALU, BPF_B, BPF_H, BPF_JMP, BPF_JEQ, BPF_JSET, BPF_K, BPF_LD, BPF_LDX, BPF_RET, BPF_W, SKF_AD_OFF } from './bpf';

const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const ETH_P_IP = 0x0800;
const GOLDEN = 0x9e3779b1;

/** What the fanout hashes: the flow (address ^ source port), or the client network only. */
export interface FanoutKey {
  /** true: the client address & mask only (persistent services configured). */
  byClient: boolean;
  /** Netmask (uint32) applied to the address when byClient. */
  mask: number;
}

export const FLOW_KEY: FanoutKey = { byClient: false, mask: 0xffffffff };

/** The hash before the modulo; the kernel computes `fanoutHash(...) % n`. */
export function fanoutHash(proto: number, saddr: number, sport: number, fragment = false, key: FanoutKey = FLOW_KEY): number {
  let k: number;
  if (key.byClient) k = saddr & key.mask;
  else k = !fragment && (proto === IPPROTO_TCP || proto === IPPROTO_UDP) ? (saddr ^ sport) : saddr;
  return Math.imul(k, GOLDEN) >>> 16;
}

/**
 * Index (0..n-1) of the worker that receives the flow's packets: proto, the client's
 * IPv4 address (uint32), its source port; `fragment` for an IP fragment; `key` as the
 * daemon chose it (logged at start; FLOW_KEY unless persistent services are configured).
 */
export function workerForFlow(proto: number, saddr: number, sport: number, n: number, fragment = false, key: FanoutKey = FLOW_KEY): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`n must be a positive integer, got ${n}`);
  return fanoutHash(proto, saddr, sport, fragment, key) % n;
}

/** The key for a set of persistence netmasks: by client, masked by their widest network. */
export function keyForPersistence(netmasks: readonly number[]): FanoutKey {
  if (netmasks.length === 0) return FLOW_KEY;
  let mask = 0xffffffff;
  for (const m of netmasks) mask &= m;
  return { byClient: true, mask: mask >>> 0 };
}

// Opcodes the program needs besides those bpf.ts exports (linux/bpf_common.h, filter.h).
const BPF_IND = 0x40;
const BPF_MSH = 0xa0;
const BPF_X = 0x08;
const BPF_MUL = 0x20;
const BPF_RSH = 0x70;
const BPF_XOR = 0xa0;
const BPF_MISC = 0x07;
const BPF_TAX = 0x00;
const BPF_A = 0x10;
const BPF_JA = 0x00;
/** SKF_NET_OFF (-0x100000) as the unsigned k of a load relative to the network header. */
export const SKF_NET_OFF = 0xfff00000;
export const SKF_AD_PROTOCOL = 0;

const BPF_AND = 0x50;

/** The classic BPF program of the fanout group (4 words per instruction). */
export function fanoutProgram(key: FanoutKey = FLOW_KEY): Uint32Array {
  const net = (off: number) => (SKF_NET_OFF + off) >>> 0;
  if (key.byClient) {
    return Uint32Array.from([
      /* 0 */ [BPF_LD | BPF_W | BPF_ABS, 0, 0, (SKF_AD_OFF + SKF_AD_PROTOCOL) >>> 0],
      /* 1 */ [BPF_JMP | BPF_JEQ | BPF_K, 0, 5, ETH_P_IP], // not IPv4 -> 7 (ret 0)
      /* 2 */ [BPF_LD | BPF_W | BPF_ABS, 0, 0, net(12)], // A = saddr
      /* 3 */ [BPF_ALU | BPF_AND | BPF_K, 0, 0, key.mask >>> 0],
      /* 4 */ [BPF_ALU | BPF_MUL | BPF_K, 0, 0, GOLDEN],
      /* 5 */ [BPF_ALU | BPF_RSH | BPF_K, 0, 0, 16],
      /* 6 */ [BPF_RET | BPF_A, 0, 0, 0],
      /* 7 */ [BPF_RET | BPF_K, 0, 0, 0],
    ].flat());
  }
  // Jumps are relative to the next instruction; the layout is fixed, so offsets are literal.
  const p: number[][] = [
    /*  0 */ [BPF_LD | BPF_W | BPF_ABS, 0, 0, (SKF_AD_OFF + SKF_AD_PROTOCOL) >>> 0],
    /*  1 */ [BPF_JMP | BPF_JEQ | BPF_K, 0, 15, ETH_P_IP], // not IPv4 -> 17 (ret 0)
    /*  2 */ [BPF_LD | BPF_H | BPF_ABS, 0, 0, net(6)], // flags + fragment offset
    /*  3 */ [BPF_JMP | BPF_JSET | BPF_K, 9, 0, 0x3fff], // MF or offset -> 13 (by address)
    /*  4 */ [BPF_LD | BPF_B | BPF_ABS, 0, 0, net(9)], // protocol
    /*  5 */ [BPF_JMP | BPF_JEQ | BPF_K, 1, 0, IPPROTO_TCP], // -> 7
    /*  6 */ [BPF_JMP | BPF_JEQ | BPF_K, 0, 6, IPPROTO_UDP], // other -> 13
    /*  7 */ [BPF_LDX | BPF_B | BPF_MSH, 0, 0, net(0)], // X = IHL * 4
    /*  8 */ [BPF_LD | BPF_H | BPF_IND, 0, 0, net(0)], // A = source port
    /*  9 */ [BPF_MISC | BPF_TAX, 0, 0, 0], // X = A
    /* 10 */ [BPF_LD | BPF_W | BPF_ABS, 0, 0, net(12)], // A = saddr
    /* 11 */ [BPF_ALU | BPF_XOR | BPF_X, 0, 0, 0], // A ^= sport; fall into the mix
    /* 12 */ [BPF_JMP | BPF_JA, 0, 0, 1], // -> 14: skip the saddr-only load
    /* 13 */ [BPF_LD | BPF_W | BPF_ABS, 0, 0, net(12)], // by address: A = saddr
    /* 14 */ [BPF_ALU | BPF_MUL | BPF_K, 0, 0, GOLDEN],
    /* 15 */ [BPF_ALU | BPF_RSH | BPF_K, 0, 0, 16],
    /* 16 */ [BPF_RET | BPF_A, 0, 0, 0],
    /* 17 */ [BPF_RET | BPF_K, 0, 0, 0],
  ];
  return Uint32Array.from(p.flat());
}
