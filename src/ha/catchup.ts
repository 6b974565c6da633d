// Catch-up before take-over (issue 7 point 3): a director that starts (or comes back from
// an interface fault) with connection sync following VRRP must not take the VIPs back from
// a live master before its table holds the master's connections, or every connection the
// master opened while we were away breaks the moment we preempt.
//
// The problem. IPVS sends a conn only on its packets (reference §3.4): an idle established
// conn, synced once long ago, is never sent again, so "wait N seconds of sync traffic"
// proves nothing about idle conns. The tsvs master therefore walks its table (sync/walk.ts):
// once per `full_sync_period` it re-sends every conn it would ever sync, at a paced rate,
// and closes each pass with an end-of-walk marker (a message with no entry, which a kernel
// backup ignores).
//
// The rule, in words. While catching up, the node holds preemption (vrrp/instance.ts): it
// stays BACKUP behind a live master, whatever its priority, and runs the sync backup.
//   - The first marker it receives ends a pass it saw only partly: from here a full pass
//     starts. The second marker ends a pass it received from its first slot to its last:
//     every conn in the master's table when the walk passed its slot was sent, and a conn
//     created after the walk passed its slot is new, so the ordinary send rules carry it.
//     Two markers = caught up; preemption follows the configuration again.
//   - Upper bound: after `timeout` seconds (default 60) the hold lifts anyway, logged and
//     counted `timed_out` - a kernel master or one without the walk never sends markers,
//     and a node must not stay out of service forever.
//   - If the node becomes MASTER while holding (no master was heard, or the master died
//     during the catch-up: nothing left to catch up from) the catch-up ends as `not_needed`.
// Trade-offs: recovery takes up to two walk periods longer; a UDP datagram lost during the
// pass loses its conns (multicast on one segment rarely loses, and the next pass repairs
// the table for the following failover); the walk costs one entry per synced conn per
// period on the wire (36 bytes in v1), which is why the period is configurable and off for
// a plain `tsvsadm --start-daemon master`.

export type CatchUpPhase = 'idle' | 'waiting' | 'walk_started' | 'caught_up' | 'timed_out' | 'not_needed';

export interface CatchUpStatus {
  phase: CatchUpPhase;
  /** Entries received since the catch-up started. */
  connsReceived: number;
  markers: number;
  /** Seconds until the timeout lifts the hold (0 when not holding). */
  secondsLeft: number;
  /** How the last catch-up ended, in words ("" while none ended). */
  outcome: string;
  /** Catch-ups started and how they ended. */
  counters: { started: number; caughtUp: number; timedOut: number; notNeeded: number };
}

export interface CatchUpOptions {
  timeoutSec: number;
  log: (msg: string) => void;
  now?: () => number;
}

export class CatchUp {
  private phase: CatchUpPhase = 'idle';
  private conns = 0;
  private markers = 0;
  private startedAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private outcome = '';
  readonly counters = { started: 0, caughtUp: 0, timedOut: 0, notNeeded: 0 };
  private readonly now: () => number;

  constructor(private readonly o: CatchUpOptions) {
    this.now = o.now ?? Date.now;
  }

  /** True while preemption is held. */
  get holding(): boolean {
    return this.phase === 'waiting' || this.phase === 'walk_started';
  }

  /** Starts (or restarts) a catch-up: the hold is on until caught up or the timeout. */
  start(why: string): void {
    this.cancel();
    this.phase = 'waiting';
    this.conns = 0;
    this.markers = 0;
    this.startedAt = this.now();
    this.counters.started++;
    this.o.log(`sync catch-up started (${why}): not preempting until a full table walk is received, at most ${this.o.timeoutSec} s`);
    this.timer = setTimeout(() => this.finish('timed_out', `no full table walk received in ${this.o.timeoutSec} s: preempting allowed anyway (${this.conns} conns received)`), this.o.timeoutSec * 1000);
    this.timer.unref();
  }

  /** An accepted sync message with `entries` entries (0 = end-of-walk marker). */
  onMessage(entries: number): void {
    if (!this.holding) return;
    if (entries > 0) {
      this.conns += entries;
      return;
    }
    this.markers++;
    if (this.markers === 1) {
      this.phase = 'walk_started';
      this.o.log(`sync catch-up: end-of-walk marker received; the next full walk is the one to wait for (${this.conns} conns so far)`);
    } else {
      this.finish('caught_up', `a full table walk received (${this.conns} conns in ${((this.now() - this.startedAt) / 1000).toFixed(1)} s): preemption follows the configuration`);
    }
  }

  /** We became MASTER while holding: no master is alive (never heard, or it died meanwhile). */
  becameMaster(): void {
    if (this.holding) this.finish('not_needed', `became MASTER with no live master (none heard, or it went away): nothing to catch up from (${this.conns} conns received)`);
  }

  stop(): void {
    this.cancel();
    if (this.holding) this.phase = 'idle';
  }

  status(): CatchUpStatus {
    const left = this.holding ? Math.max(0, this.o.timeoutSec - (this.now() - this.startedAt) / 1000) : 0;
    return {
      phase: this.phase, connsReceived: this.conns, markers: this.markers, secondsLeft: Math.ceil(left),
      outcome: this.outcome, counters: { ...this.counters },
    };
  }

  private finish(phase: 'caught_up' | 'timed_out' | 'not_needed', msg: string): void {
    this.cancel();
    this.phase = phase;
    this.outcome = msg;
    if (phase === 'caught_up') this.counters.caughtUp++;
    else if (phase === 'timed_out') this.counters.timedOut++;
    else this.counters.notNeeded++;
    this.o.log(`sync catch-up ${phase.replace('_', ' ')}: ${msg}`);
  }

  private cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
