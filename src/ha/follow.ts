// Connection sync following a VRRP instance, as keepalived's `lvs_sync_daemon IF INSTANCE`
// does with the kernel's sync daemons: the director's sync role is the instance's state.
//
//   instance MASTER         sync master (sends); the backup receiver is stopped, except in
//                           active-active mode (both directors forward behind ECMP, both
//                           send and receive).
//   instance BACKUP, FAULT  sync backup (receives and holds the master's conns: they are
//                           forwarded the moment the instance becomes MASTER, since the
//                           table already has them); the master is stopped, except in
//                           active-active mode.
//   instance INIT (stopped) both stopped.
// Before the instance starts, the backup receiver runs (and, with catch-up, the catch-up
// starts: catchup.ts). Coming back from FAULT (FAULT -> INIT -> BACKUP) starts a new
// catch-up: what happened while the link was down was not received. From FAULT until that
// BACKUP, holdPreempt() already says "hold", so an address owner (priority 255, which would
// go straight to MASTER) comes back as BACKUP and catches up too.
// Switching never touches the table: conns stay where they are; only who sends changes.

import type { VrrpState } from './vrrp/config';
import { CatchUp, type CatchUpStatus } from './catchup';
import type { SyncDaemonConfig, SyncManager, SyncState } from './sync/manager';

/** What the follower needs of the SyncManager (tests pass a fake). */
export type SyncDaemons = Pick<SyncManager, 'start' | 'stop' | 'isRunning' | 'onBackupMessage'>;

export interface SyncFollowConfig {
  /** The vrrp_instance name whose state the sync daemons follow. */
  instance: string;
  /** The daemons' settings (interface, syncid, group, ...); state comes from VRRP. */
  daemon: Omit<SyncDaemonConfig, 'state'>;
  /** Both directors send and receive whatever their state. */
  activeActive: boolean;
  /** Hold preemption after start until caught up (catchup.ts); default true. */
  catchUp: boolean;
  catchUpTimeoutSec: number;
}

export interface SyncFollowStatus {
  instance: string;
  vrrpState: VrrpState;
  activeActive: boolean;
  master: boolean;
  backup: boolean;
  catchUp: CatchUpStatus | null;
}

export class SyncFollower {
  readonly catchUp: CatchUp | null;
  private state: VrrpState = 'INIT';
  /** Went FAULT since the last catch-up: the next BACKUP catches up again. */
  private faulted = false;

  constructor(private readonly sync: SyncDaemons, readonly cfg: SyncFollowConfig, private readonly log: (msg: string) => void) {
    this.catchUp = cfg.catchUp ? new CatchUp({ timeoutSec: cfg.catchUpTimeoutSec, log }) : null;
    if (this.catchUp) {
      const cu = this.catchUp;
      sync.onBackupMessage = (n) => cu.onMessage(n);
    }
  }

  /** Before the VRRP instances start: receive, and start catching up. */
  start(): void {
    this.ensure('backup', true);
    this.ensure('master', this.cfg.activeActive);
    this.catchUp?.start('director start');
  }

  /** VRRP state change of any instance (only ours matters). */
  onState(instance: string, from: VrrpState, to: VrrpState): void {
    if (instance !== this.cfg.instance) return;
    this.state = to;
    const aa = this.cfg.activeActive;
    if (to === 'MASTER') {
      this.faulted = false;
      this.catchUp?.becameMaster();
      this.ensure('master', true);
      this.ensure('backup', aa);
    } else if (to === 'BACKUP' || to === 'FAULT') {
      this.ensure('backup', true);
      this.ensure('master', aa);
      if (to === 'FAULT') this.faulted = true;
      else if (this.faulted) {
        this.faulted = false;
        this.catchUp?.start(`interface back from FAULT (${from} -> BACKUP)`);
      }
    } else {
      if (!this.faulted) this.catchUp?.stop(); // FAULT -> INIT -> BACKUP is one recovery
      this.ensure('master', false);
      this.ensure('backup', false);
    }
    this.log(`sync follows VRRP ${instance} ${to}: master ${this.sync.isRunning('master') ? 'on' : 'off'}, backup ${this.sync.isRunning('backup') ? 'on' : 'off'}${aa ? ' (active-active)' : ''}`);
  }

  /**
   * The VRRP runner asks before preempting (and before claiming mastership at start or when
   * the interface comes back). Between FAULT and the BACKUP that starts the new catch-up the
   * answer is already yes, so an address owner (priority 255) back from FAULT goes BACKUP and
   * catches up instead of taking over at once.
   */
  holdPreempt(instance: string): boolean {
    if (instance !== this.cfg.instance || this.catchUp === null) return false;
    return this.catchUp.holding || this.faulted;
  }

  status(): SyncFollowStatus {
    return {
      instance: this.cfg.instance, vrrpState: this.state, activeActive: this.cfg.activeActive,
      master: this.sync.isRunning('master'), backup: this.sync.isRunning('backup'), catchUp: this.catchUp?.status() ?? null,
    };
  }

  stop(): void {
    this.catchUp?.stop();
  }

  private ensure(state: SyncState, on: boolean): void {
    const running = this.sync.isRunning(state);
    if (on === running) return;
    try {
      if (on) this.sync.start({ ...this.cfg.daemon, state });
      else this.sync.stop(state);
    } catch (e) {
      this.log(`sync ${state}: cannot ${on ? 'start' : 'stop'}: ${(e as Error).message}`);
    }
  }
}
