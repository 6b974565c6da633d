// Tracking for VRRP instances, as keepalived does it (settings: track-config.ts): periodic
// check scripts (vrrp_script) and the links of other interfaces (track_interface) move an
// instance's priority or put it in FAULT.
//
// A check script runs every `interval` seconds (never two runs of one script at once; a run
// past `timeout` is stopped and fails). Exit status 0 is a success. Its status starts
// "unknown" and becomes "good" after `rise` successes in a row, "bad" after `fall`
// failures in a row; unknown counts as neither (no bonus, no penalty, no fault), so a
// director does not fail over because a check has not run yet.
//
// The instance's priority is then, in keepalived's words:
//   configured priority
//   + every positive weight whose script is good (interface up)
//   + every negative weight whose script is bad (interface down)
// kept within 1..254; an address owner (255) is never moved. A weight of 0 (the default)
// puts the instance in FAULT while its script is bad (interface down) instead.

import type { VrrpInstanceConfig } from './config';
import type { Clock } from './instance';
import type { ScriptRunner } from './notify';
import type { VrrpScriptConfig } from './track-config';

export type CheckStatus = 'unknown' | 'good' | 'bad';

export class ScriptCheck {
  status: CheckStatus = 'unknown';
  runs = 0;
  failures = 0;
  private okInRow = 0;
  private badInRow = 0;
  private busy = false;
  private timer: unknown = null;
  private stopped = false;

  constructor(
    readonly cfg: VrrpScriptConfig,
    private readonly run: ScriptRunner,
    private readonly clock: Clock,
    /** The status changed. */
    private readonly onChange: (check: ScriptCheck) => void,
  ) {}

  /** First run at once, then every interval. */
  start(): void {
    this.stopped = false;
    this.tick();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) this.clock.clearTimer(this.timer);
    this.timer = null;
  }

  private tick(): void {
    this.timer = this.clock.setTimer(this.cfg.intervalSec * 1000, () => this.tick());
    if (this.busy) return; // the last run is still going; its timeout ends it
    this.busy = true;
    this.runs++;
    this.run(this.cfg.argv, this.cfg.timeoutSec * 1000, (code) => {
      this.busy = false;
      if (!this.stopped) this.result(code === 0);
    });
  }

  private result(good: boolean): void {
    if (good) {
      this.okInRow++;
      this.badInRow = 0;
      if (this.status !== 'good' && this.okInRow >= this.cfg.rise) this.set('good');
    } else {
      this.failures++;
      this.badInRow++;
      this.okInRow = 0;
      if (this.status !== 'bad' && this.badInRow >= this.cfg.fall) this.set('bad');
    }
  }

  private set(s: CheckStatus): void {
    this.status = s;
    this.onChange(this);
  }
}

export interface TrackOutcome {
  priority: number;
  /** Why tracking holds the instance in FAULT, or null. */
  fault: string | null;
}

/** The priority and fault of an instance given its interfaces' links and its checks. */
export function trackOutcome(cfg: VrrpInstanceConfig, linkUp: (ifname: string) => boolean, check: (name: string) => ScriptCheck | undefined): TrackOutcome {
  let delta = 0;
  const faults: string[] = [];
  for (const t of cfg.trackInterfaces) {
    const up = linkUp(t.name);
    const w = t.weight ?? 0;
    if (w === 0 && !up) faults.push(`tracked interface ${t.name} is down`);
    else if (w > 0 && up) delta += w;
    else if (w < 0 && !up) delta += w;
  }
  for (const t of cfg.trackScripts) {
    const c = check(t.name);
    if (!c) continue;
    const w = t.weight ?? c.cfg.weight;
    if (w === 0 && c.status === 'bad') faults.push(`check script ${t.name} fails`);
    else if (w > 0 && c.status === 'good') delta += w;
    else if (w < 0 && c.status === 'bad') delta += w;
  }
  const base = cfg.priority;
  const priority = base === 255 ? 255 : Math.min(254, Math.max(1, base + delta));
  return { priority, fault: faults.length ? faults.join(', ') : null };
}
