// Connection sync over a connection table that is sharded across data-plane workers
// (tsvs daemon --workers N, src/control/daemon-workers.ts). The wire side stays in the main
// thread, one socket per sync daemon as without workers (manager.ts); the table side runs
// where the connections live, in each worker (src/dataplane/shard-sync.ts).
//
// Master. Every worker runs its own SyncMaster on its shard: the same per-packet rules, the
// same drain period, its own table walk. It encodes whole messages and posts them to the
// main thread, which sends them from the master socket. A shard does not send the
// end-of-walk marker itself: it reports the end of its pass (after that pass's entries),
// and the main thread sends ONE marker once every shard has finished a pass since the last
// marker. So two markers still mean "every connection was sent at least once between them"
// (what a catching-up backup waits for, catchup.ts), and on the wire the marker comes after
// the entries (the worker sent them to the main thread first, over the same port).
//
// Backup. The main thread receives and decodes (own-address check, syncid, bad lengths:
// counted there, once). Each entry of an accepted message goes to the shard the fanout will
// send that flow's packets to (shardOf: workerForFlow with the daemon's fanout key), which
// applies it to its table with the usual rules (backup.ts); what each shard applied
// (created, updated, skipped) comes back and is added to the backup's counters.

import type { AppliedCounts, SyncEntry } from './backup';
import type { SyncMessage } from './codec';
import type { SyncMasterCounters, SyncSendRules } from './master';

/** What a shard's master needs (the main thread's sync daemon settings). */
export interface ShardMasterConfig {
  syncid: number;
  maxlen: number;
  version: 0 | 1;
  rules: SyncSendRules;
  flushMs: number;
}

/** A shard master's counters, as plain numbers. */
export type ShardMasterCounters = { [K in keyof SyncMasterCounters]: number };

/** What a shard's master reports after a drain (only when something happened). */
export interface ShardMasterOutput {
  /** Which start of the master this belongs to (a stopped master's last output is told apart). */
  gen: number;
  /** Encoded messages, in order, to send as they are. */
  msgs: Uint8Array[];
  /** The shard finished a walk pass with these messages. */
  walkEnd: boolean;
  /** Cumulative since this master started. */
  counters: ShardMasterCounters;
  /** The last output of a stopped master. */
  final: boolean;
}

/** The sharded table, as the SyncManager sees it (DataPlaneWorkers implements it). */
export interface SyncShards {
  readonly count: number;
  /** The shard whose worker receives this flow's packets. */
  shardOf(proto: number, caddr: number, cport: number): number;
  startMaster(gen: number, cfg: ShardMasterConfig): void;
  /** The shards drain what they recorded, report it (final), and stop. */
  stopMaster(gen: number): void;
  apply(shard: number, version: number, threshold: number, entries: SyncEntry[]): void;
  /** Set by the SyncManager: a shard master's output. */
  onMasterOutput: ((shard: number, out: ShardMasterOutput) => void) | null;
  /** Set by the SyncManager: what a shard applied. */
  onApplied: ((shard: number, counts: AppliedCounts) => void) | null;
}

/** Copies the entries of an accepted message into one list per shard (messages are reused by the decoder). */
export function partition(msg: SyncMessage, shards: SyncShards): SyncEntry[][] {
  const parts: SyncEntry[][] = Array.from({ length: shards.count }, () => []);
  for (let i = 0; i < msg.count; i++) {
    const c = msg.conns[i];
    const e: SyncEntry = {
      af: c.af, protocol: c.protocol, flags: c.flags, state: c.state, cport: c.cport, vport: c.vport, dport: c.dport,
      fwmark: c.fwmark, timeout: c.timeout, caddr: c.caddr, vaddr: c.vaddr, daddr: c.daddr, peName: c.peName,
    };
    parts[shards.shardOf(c.protocol, c.caddr, c.cport)].push(e);
  }
  return parts;
}
