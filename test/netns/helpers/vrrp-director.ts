// A tsvs director run by a namespace test (VRRP and failover tests): starts
// `tsvs daemon` in a namespace with its own status file and control socket, waits for its
// start-up line, reads its status snapshot and waits for a VRRP state. The tests' own
// subclasses say which config and flags the daemon gets.

import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { DaemonStatus } from '../../../src/control/daemon';
import { until, type Bg } from './bg';

const TSVS = join(__dirname, '..', '..', '..', 'src', 'cli', 'tsvs.js');

export class TestDirector {
  bg: Bg | null = null;
  constructor(
    readonly ns: string,
    readonly ip: string,
    readonly mac: string,
    readonly dir: string,
    readonly tag: string,
    /** Starts a background process the test stops at its end (the test's own list). */
    private readonly startBg: (ns: string, argv: string[]) => Bg,
  ) {}

  get statusFile(): string {
    return join(this.dir, `${this.tag}.status.json`);
  }

  /** Runs `tsvs daemon --interface eth0 ARGS` with this director's status file and socket. */
  protected async launch(args: string[]): Promise<void> {
    rmSync(this.statusFile, { force: true });
    const bg = this.startBg(this.ns, [process.execPath, TSVS, 'daemon', '--interface', 'eth0', ...args,
      '--status-file', this.statusFile, '--socket', join(this.dir, `${this.tag}.sock`)]);
    this.bg = bg;
    await until(() => /: director on /.test(bg.err) || !bg.running, 10_000, () => `${this.tag} start-up line; log: ${bg.err}`);
    if (!bg.running) throw new Error(`${this.tag} exited at start: ${bg.err}`);
  }

  status(): DaemonStatus | null {
    try {
      return JSON.parse(readFileSync(this.statusFile, 'utf8')) as DaemonStatus;
    } catch {
      return null;
    }
  }

  /** The first VRRP instance's state, '?' before the first status snapshot. */
  state(): string {
    return this.status()?.vrrp?.instances[0]?.state ?? '?';
  }

  /** Waits until the first instance is in `state`; returns how long that took (ms). */
  async waitState(state: string, ms: number, stepMs?: number): Promise<number> {
    const t0 = Date.now();
    await until(() => this.state() === state, ms, () => `${this.tag} ${state} (is ${this.state()}); log:\n${this.bg?.err ?? ''}`, stepMs);
    return Date.now() - t0;
  }

  async stop(sig: NodeJS.Signals): Promise<void> {
    if (this.bg) await this.bg.stop(sig, 3000);
    this.bg = null;
  }
}
