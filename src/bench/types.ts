// The shapes the end-to-end bench (`tsvs bench`) is built from: a peer is a director
// (tsvs, nftables, HAProxy, or none) that can be installed in a lab's director namespace
// and removed again; a workload drives traffic through whatever peer is installed and
// returns one sample (metric id -> number) per run. The runner combines them.

import type { Lab } from '../lab/state';

export type WorkloadId = 'udp' | 'ping' | 'conn' | 'tcp';
export const WORKLOAD_IDS: readonly WorkloadId[] = ['udp', 'ping', 'conn', 'tcp'];

/** The ports every peer serves on the VIP (and the real servers listen on). */
export const PORTS = { udp: 9000, http: 8080, iperf: 5201 } as const;

export interface BenchSettings {
  runs: number;
  seconds: number;
  /** Distinct UDP flows (source ports) in the trafgen frame set. */
  flows: number;
  /** Pings per run (at 20 ms intervals). */
  pings: number;
  /** wrk connections. */
  connections: number;
}

export type Log = (msg: string) => void;

export interface PeerContext {
  lab: Lab;
  /** A directory of our own for configs and logs (inside the lab's state directory). */
  dir: string;
  log: Log;
}

/** A peer as installed: where the client sends, and how to undo it. */
export interface InstalledPeer {
  /** The address the client talks to (the VIP, or a real server for the "none" peer). */
  target: string;
  /** The MAC frames to `target` go to (for trafgen, which does no ARP). */
  targetMac: string;
  /** Called before each run of a workload (e.g. flush conntrack before a conn-rate run). */
  beforeRun?(workload: WorkloadId): Promise<void>;
  /** Notes for the peer's row (how the lab was prepared for it, CPU sharing, ...). */
  notes?: readonly string[];
  /** Set when the peer only works with the lab's veth offloads in one mode (the TCP
   *  workload then skips the other mode, with `why` as the note). */
  offloads?: OffloadConstraint;
  remove(): Promise<void>;
}

export interface OffloadConstraint {
  only: 'on' | 'off';
  why: string;
}

/** Raised by install() when a peer cannot run here: the row is skipped with this note. */
export class PeerSkipped extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PeerSkipped';
  }
}

export interface Peer {
  id: string;
  label: string;
  /** The workloads this peer can carry (HAProxy in mode tcp has no UDP, for instance). */
  workloads: readonly WorkloadId[];
  /** Lab option: real servers routed via the director (one-arm NAT). */
  natRoutes?: boolean;
  install(ctx: PeerContext): Promise<InstalledPeer>;
}

export type Better = 'higher' | 'lower';

export interface MetricDef {
  id: string;
  label: string;
  unit: string;
  better: Better;
}

export interface WorkloadContext extends PeerContext {
  peer: Peer;
  installed: InstalledPeer;
  settings: BenchSettings;
}

export interface RunSample {
  values: Record<string, number>;
  notes?: string[];
}

export interface Workload {
  id: WorkloadId;
  label: string;
  metrics: readonly MetricDef[];
  /** Starts what the workload needs on the real servers; returns the undo. */
  prepare(ctx: WorkloadContext): Promise<() => Promise<void>>;
  /** One run: a value per metric (a metric may be missing when that part failed, with a note). */
  runOnce(ctx: WorkloadContext): Promise<RunSample>;
  /** An upper bound on one run, in ms, for the runner's watchdog. */
  runBoundMs(settings: BenchSettings): number;
}
