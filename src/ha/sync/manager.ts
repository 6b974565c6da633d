// The connection-sync engine of one daemon: at most one master and one backup sync daemon
// (as IPVS allows per network namespace), their UDP sockets, the drain timer, and the
// counters for status and metrics. `tsvsadm --start-daemon/--stop-daemon`, the `sync:`
// section of the native config and the daemon all go through here.
//
// What it needs from the director (src/core/director.ts): the `syncHook` slot for the
// master (the per-packet decision, see master.ts), and for the backup the public table and
// service API (lookupIn4, insert4, setState/setExpires/setSpare, expireNow, index, dests).
//
// Transport (reference §3.1). Master: a UDP socket bound to the interface's IPv4 address
// (an ephemeral port), multicast interface = that address, TTL `ttl` (default 1), multicast
// loopback off; it sends every message to group:port (224.0.0.81:8848 by default), or to
// each unicast peer:port instead when peers are configured (a tsvs extension). Backup: a
// UDP socket on port `port` (any address, SO_REUSEADDR) that joins the group on the
// interface (not with peers), and drops datagrams that come from one of our own
// addresses. Both may run at once (active-active): see backup.ts for why nothing echoes.
// The master drains its ring every `flushMs` (default 50 ms): a new connection reaches the
// backup within about that time once it needs a sync.
// With `fullSyncPeriod` the master also walks its table (walk.ts) on the same timer.
// Socket failures after start are logged and counted (sendErrors), never thrown.
//
// With data-plane workers (`shards`, shards.ts) the sockets stay here but the table side
// runs in the workers: the master's messages come from the shards and are sent from here
// (one end-of-walk marker when every shard finished a pass), and the backup hands each
// accepted entry to the shard that will see its packets. A stopped master's shards still
// report what they had recorded: its socket stays open until they all did (at most 1 s).

import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { isIPv4 } from 'node:net';
import { ERR } from '../../core/errors';
import type { Director } from '../../core/director';
import type { DaemonSnapshot } from '../../ipvsadm/snapshot';
import { SYNC_MAXLEN_MAX } from './codec';
import { SyncBackup } from './backup';
import { SyncMaster, SyncMasterCounters, checkSendRules, DEFAULT_SEND_RULES, type SyncSendRules } from './master';
import { TableWalker } from './walk';
import { SyncWriter } from './codec';
import type { AppliedCounts } from './backup';
import { partition, type ShardMasterCounters, type ShardMasterOutput, type SyncShards } from './shards';

export const SYNC_DEFAULT_GROUP = '224.0.0.81';
export const SYNC_DEFAULT_PORT = 8848;
export const SYNC_DEFAULT_TTL = 1;
/** IPv4 + UDP headers: the default maxlen is the MTU minus these. */
const IP_UDP_HEADERS = 28;

export type SyncState = 'master' | 'backup';

/** One sync daemon as --start-daemon (or the config) describes it; 0 / '' = default. */
export interface SyncDaemonConfig {
  state: SyncState;
  mcastIfn: string;
  syncid: number;
  maxlen?: number;
  group?: string;
  port?: number;
  ttl?: number;
  /** Unicast peers instead of multicast (tsvs extension). */
  peers?: string[];
}

export interface SyncManagerOptions {
  log: (msg: string) => void;
  /** Sysctl-like sending rules for masters started here. */
  rules?: Partial<SyncSendRules>;
  /** Message version masters send (sync_version); default 1. */
  version?: 0 | 1;
  /** Master drain period in ms; default 50. */
  flushMs?: number;
  /** The IPv4 address of an interface, or null (tests replace it). */
  ifaceAddr?: (ifname: string) => string | null;
  /** Backup drops datagrams from our own addresses; default true (tests over loopback turn it off). */
  dropOwn?: boolean;
  /** The table is sharded over data-plane workers (shards.ts); null: it is `director`'s own. */
  shards?: SyncShards | null;
}

/** A master whose table side runs in the shards. */
interface ShardMaster {
  gen: number;
  /** Each shard's latest cumulative counters. */
  perShard: ShardMasterCounters[];
  /** Shards that finished a walk pass since the last marker. */
  passDone: Set<number>;
  markersSent: number;
  /** Shards whose final output arrived (after stop). */
  finals: number;
  writer: SyncWriter;
  send: (buf: Uint8Array, len: number) => void;
}

interface Running {
  cfg: Required<Omit<SyncDaemonConfig, 'peers'>> & { peers: string[] };
  socket: Socket;
  master: SyncMaster | null;
  walker: TableWalker | null;
  backup: SyncBackup | null;
  shard: ShardMaster | null;
  timer: NodeJS.Timeout | null;
  ready: boolean;
  sendErrors: number;
  /** Datagrams handed to send() and not yet out: the socket closes only once this is 0. */
  inflight: number;
  closing: boolean;
}

/** Counters for status and metrics (flat names, numbers only). */
export type SyncCounters = Record<string, number>;

export class SyncManager {
  private readonly running = new Map<SyncState, Running>();
  private readonly log: (msg: string) => void;
  private readonly rules: SyncSendRules;
  private readonly version: 0 | 1;
  private readonly flushMs: number;
  private readonly ifaceAddr: (ifname: string) => string | null;
  private readonly dropOwn: boolean;
  /** Told of every message a backup daemon accepted (entry count; 0 = end-of-walk marker). */
  onBackupMessage: ((entries: number) => void) | null = null;
  /** Counters of daemons already stopped, so totals never go backwards. */
  private readonly retired: SyncCounters = {};
  private readonly shards: SyncShards | null;
  /** Stopped shard masters waiting for their shards' last output, by gen. */
  private readonly draining = new Map<number, Running>();
  private gen = 0;

  constructor(private readonly director: Director, o: SyncManagerOptions) {
    this.log = o.log;
    this.rules = { ...DEFAULT_SEND_RULES, ...(o.rules ?? {}) };
    const bad = checkSendRules(this.rules);
    if (bad) throw new RangeError(bad);
    this.version = o.version ?? 1;
    this.flushMs = o.flushMs ?? 50;
    this.ifaceAddr = o.ifaceAddr ?? firstIpv4;
    this.dropOwn = o.dropOwn ?? true;
    this.shards = o.shards ?? null;
    if (this.shards) {
      this.shards.onMasterOutput = (i, out) => this.fromShard(i, out);
      this.shards.onApplied = (_i, counts) => this.appliedByShard(counts);
    }
  }

  /**
   * Starts a master or backup sync daemon. Throws IpvsError as the kernel refuses:
   * EEXIST "Daemon has already run", ENODEV for an unknown interface, EINVAL for a bad group.
   */
  start(spec: SyncDaemonConfig): void {
    if (this.running.has(spec.state)) throw ERR.daemonRunning();
    const addr = this.ifaceAddr(spec.mcastIfn);
    if (addr === null) throw ERR.noDevice();
    const group = spec.group || SYNC_DEFAULT_GROUP;
    if (!isIPv4(group) || !isMulticast4(group)) throw ERR.invalid();
    const peers = spec.peers ?? [];
    for (const p of peers) if (!isIPv4(p)) throw ERR.invalid();
    const maxlen = spec.maxlen || defaultMaxlen(spec.state, spec.mcastIfn);
    if (maxlen < 64 || maxlen > SYNC_MAXLEN_MAX) throw ERR.invalid();
    const cfg = {
      state: spec.state, mcastIfn: spec.mcastIfn, syncid: spec.syncid & 0xff, maxlen, group,
      port: spec.port || SYNC_DEFAULT_PORT, ttl: spec.ttl || SYNC_DEFAULT_TTL, peers,
    };
    const r: Running = {
      cfg, socket: createSocket({ type: 'udp4', reuseAddr: true }), master: null, walker: null, backup: null, shard: null, timer: null, ready: false, sendErrors: 0, inflight: 0, closing: false,
    };
    r.socket.on('error', (e) => {
      r.sendErrors++;
      this.log(`sync ${cfg.state}: ${e.message}`);
    });
    if (spec.state === 'master') this.startMaster(r, addr);
    else this.startBackup(r, addr);
    this.running.set(spec.state, r);
    const where = peers.length ? `peers ${peers.join(',')}` : `${group}`;
    this.log(`sync ${cfg.state} started on ${cfg.mcastIfn} (${addr}): syncid ${cfg.syncid}, ${where} port ${cfg.port}, maxlen ${maxlen}`);
  }

  private startMaster(r: Running, addr: string): void {
    const { cfg } = r;
    const targets = cfg.peers.length ? cfg.peers : [cfg.group];
    const send = (buf: Uint8Array, len: number) => {
      if (!r.ready) {
        r.sendErrors++;
        return;
      }
      const copy = Buffer.from(buf.subarray(0, len)); // send() is asynchronous; the writer's buffer is reused
      for (const to of targets) {
        r.inflight++;
        r.socket.send(copy, cfg.port, to, (err) => {
          if (err) r.sendErrors++;
          if (--r.inflight === 0 && r.closing) closeSocket(r);
        });
      }
    };
    this.bindMaster(r, addr);
    if (this.shards) {
      const gen = ++this.gen;
      r.shard = { gen, perShard: [], passDone: new Set(), markersSent: 0, finals: 0, writer: new SyncWriter(cfg.maxlen, this.version), send };
      this.shards.startMaster(gen, { syncid: cfg.syncid, maxlen: cfg.maxlen, version: this.version, rules: this.rules, flushMs: this.flushMs });
      return;
    }
    r.master = new SyncMaster(this.director, { rules: this.rules, version: this.version, syncid: cfg.syncid, maxlen: cfg.maxlen, send });
    this.director.syncHook = r.master;
    const master = r.master;
    const walker = this.rules.fullSyncPeriod > 0 ? new TableWalker(this.director, master, this.rules.fullSyncPeriod * 1000, this.flushMs) : null;
    r.walker = walker;
    r.timer = setInterval(() => {
      walker?.step();
      master.drain();
    }, this.flushMs);
    r.timer.unref();
  }

  private bindMaster(r: Running, addr: string): void {
    const { cfg } = r;
    r.socket.bind({ address: addr, port: 0 }, () => {
      try {
        r.socket.setMulticastInterface(addr);
        r.socket.setMulticastTTL(cfg.ttl);
        r.socket.setMulticastLoopback(false);
        r.ready = true;
      } catch (e) {
        r.sendErrors++;
        this.log(`sync master: ${(e as Error).message}`);
      }
    });
  }

  /** A shard master's output: send its messages; one marker once every shard ended a pass. */
  private fromShard(i: number, out: ShardMasterOutput): void {
    const cur = this.running.get('master');
    const r = cur?.shard?.gen === out.gen ? cur : this.draining.get(out.gen);
    const sm = r?.shard;
    if (!r || !sm) return;
    for (const m of out.msgs) sm.send(m, m.length);
    sm.perShard[i] = out.counters;
    if (out.walkEnd) {
      sm.passDone.add(i);
      if (sm.passDone.size === this.shards!.count) {
        sm.passDone.clear();
        sm.writer.begin(r.cfg.syncid);
        sm.send(sm.writer.buf, sm.writer.finish());
        sm.markersSent++;
      }
    }
    if (out.final && ++sm.finals === this.shards!.count) this.retire(r);
  }

  /** What a shard applied for the backup: into the running backup's counters, else the totals. */
  private appliedByShard(a: AppliedCounts): void {
    const b = this.running.get('backup')?.backup;
    if (b) {
      b.addApplied(a);
      return;
    }
    const t = this.retired;
    t.applied_created = (t.applied_created ?? 0) + a.created;
    t.applied_updated = (t.applied_updated ?? 0) + a.updated;
    for (const [why, n] of Object.entries(a.skipped)) t[`skip_${why}`] = (t[`skip_${why}`] ?? 0) + (n ?? 0);
  }

  private startBackup(r: Running, addr: string): void {
    const { cfg } = r;
    const shards = this.shards;
    const threshold = this.rules.threshold;
    const backup = new SyncBackup(this.director, {
      syncid: cfg.syncid, threshold, onAccepted: (n) => this.onBackupMessage?.(n),
      handOff: shards ? (msg) => partition(msg, shards).forEach((p, i) => p.length && shards.apply(i, msg.version, threshold, p)) : undefined,
    });
    r.backup = backup;
    const own = this.dropOwn ? ownAddresses() : new Set<string>();
    r.socket.on('message', (msg, rinfo) => {
      if (own.has(rinfo.address)) {
        backup.counters.ownMessages++;
        return;
      }
      backup.receive(msg, msg.length);
    });
    r.socket.bind({ port: cfg.port }, () => {
      try {
        if (cfg.peers.length === 0) r.socket.addMembership(cfg.group, addr);
        r.ready = true;
      } catch (e) {
        r.sendErrors++;
        this.log(`sync backup: cannot join ${cfg.group} on ${cfg.mcastIfn}: ${(e as Error).message}`);
      }
    });
  }

  /**
   * Stops a daemon; ESRCH "No daemon is running" when none of that state runs. The syncid
   * is accepted and ignored, as the kernel ignores it.
   */
  stop(state: SyncState, _syncid?: number): void {
    const r = this.running.get(state);
    if (!r) throw ERR.noDaemon();
    if (r.master) {
      r.master.drain(); // what was recorded still goes out
      if (this.director.syncHook === r.master) this.director.syncHook = null;
    }
    if (r.timer) clearInterval(r.timer);
    this.running.delete(state);
    this.log(`sync ${state} stopped`);
    if (r.shard && this.shards) {
      // the shards drain and report; their last messages still go out from this socket
      this.draining.set(r.shard.gen, r);
      this.shards.stopMaster(r.shard.gen);
      setTimeout(() => this.retire(r), 1000).unref();
      return;
    }
    this.retire(r);
  }

  /** Adds a stopped daemon's counters to the totals and closes its socket (once). */
  private retire(r: Running): void {
    if (r.shard) {
      if (!this.draining.has(r.shard.gen)) return;
      this.draining.delete(r.shard.gen);
    }
    for (const [k, v] of Object.entries(this.countersOf(r))) this.retired[k] = (this.retired[k] ?? 0) + v;
    // the last messages are still on their way out (send is asynchronous): close after them
    r.closing = true;
    if (r.inflight === 0) closeSocket(r);
  }

  /** Stops everything (daemon shutdown). */
  close(): void {
    for (const state of [...this.running.keys()]) this.stop(state);
  }

  /** The configuration a running daemon was started with. */
  configOf(state: SyncState): SyncDaemonConfig | null {
    return this.running.get(state)?.cfg ?? null;
  }

  isRunning(state: SyncState): boolean {
    return this.running.has(state);
  }

  /** Sends what the master has recorded now (tests, shutdown). */
  flush(): void {
    this.running.get('master')?.master?.drain();
  }

  /** What -L --daemon lists (master first), with the values in force. */
  daemons(): DaemonSnapshot[] {
    const out: DaemonSnapshot[] = [];
    for (const state of ['master', 'backup'] as const) {
      const r = this.running.get(state);
      if (!r) continue;
      const c = r.cfg;
      out.push({ state, mcastIfn: c.mcastIfn, syncid: c.syncid, syncMaxlen: c.maxlen, mcastGroup: c.group, mcastPort: c.port, mcastTtl: c.ttl });
    }
    return out;
  }

  /** Totals over the running daemons and those stopped before. */
  counters(): SyncCounters {
    const out: SyncCounters = { ...this.retired };
    for (const r of [...this.running.values(), ...this.draining.values()]) {
      for (const [k, v] of Object.entries(this.countersOf(r))) out[k] = (out[k] ?? 0) + v;
    }
    return out;
  }

  private countersOf(r: Running): SyncCounters {
    const out: SyncCounters = {};
    if (r.shard) {
      // the shards' counters summed, the markers (sent from here) added
      const sum = {} as ShardMasterCounters;
      for (const k of Object.keys(new SyncMasterCounters()) as (keyof ShardMasterCounters)[]) {
        sum[k] = r.shard.perShard.reduce((n, c) => n + (c?.[k] ?? 0), 0);
      }
      sum.sentMsgs += r.shard.markersSent;
      sum.markersSent = r.shard.markersSent;
      putMasterCounters(out, sum, r.sendErrors, r.shard.markersSent);
    }
    if (r.master) putMasterCounters(out, r.master.counters, r.sendErrors, r.walker?.passes ?? 0);
    if (r.backup) {
      const b = r.backup.counters;
      out.rx_msgs = b.rxMsgs;
      out.rx_bytes = b.rxBytes;
      out.rx_own = b.ownMessages;
      out.accepted_msgs = b.msgs;
      out.received_conns = b.conns;
      out.applied_created = b.created;
      out.applied_updated = b.updated;
      out.markers_received = b.markers;
      out.backup_socket_errors = r.sendErrors;
      for (const [k, v] of Object.entries(b.dropped)) out[`drop_${k}`] = v;
      for (const [k, v] of Object.entries(b.skipped)) out[`skip_${k}`] = v;
    }
    return out;
  }
}

/** A master's counters under their status and metrics names. */
function putMasterCounters(out: SyncCounters, c: ShardMasterCounters, sendErrors: number, walkPasses: number): void {
  out.master_queued = c.queued;
  out.master_ring_full = c.ringFull;
  out.master_stale = c.stale;
  out.master_rehash_drops = c.rehashDrops;
  out.sent_msgs = c.sentMsgs;
  out.sent_conns = c.sentConns;
  out.send_errors = sendErrors;
  out.walk_queued = c.walkQueued;
  out.walk_passes = walkPasses;
  out.markers_sent = c.markersSent;
}

function closeSocket(r: Running): void {
  try {
    r.socket.close();
  } catch {
    // already closed
  }
}

function isMulticast4(a: string): boolean {
  const first = Number(a.split('.')[0]);
  return first >= 224 && first <= 239;
}

/** Master: 1500 - 28 (§3.1); backup: clamp(MTU, 1500..65535) - 28. */
function defaultMaxlen(state: SyncState, ifname: string): number {
  if (state === 'master') return 1500 - IP_UDP_HEADERS;
  let mtu = 1500;
  try {
    mtu = Number(readFileSync(`/sys/class/net/${ifname}/mtu`, 'utf8').trim()) || 1500;
  } catch {
    // no sysfs entry: the default
  }
  return Math.min(Math.max(mtu, 1500), 65535) - IP_UDP_HEADERS;
}

function firstIpv4(ifname: string): string | null {
  return networkInterfaces()[ifname]?.find((a) => a.family === 'IPv4')?.address ?? null;
}

function ownAddresses(): Set<string> {
  const out = new Set<string>();
  for (const addrs of Object.values(networkInterfaces())) for (const a of addrs ?? []) if (a.family === 'IPv4') out.add(a.address);
  return out;
}

