// Tracking settings of keepalived (reference §5.4), read from keepalived.conf and from the
// native YAML alike:
//
//   vrrp_script NAME {            # YAML: vrrp: { scripts: [ { name: NAME, script: ..., ... } ] }
//       script "/path/check.sh args"
//       interval 2                # seconds between runs (default 1)
//       timeout 2                 # a run longer than this fails (default: interval)
//       weight -20                # -253..253 (default 0)
//       rise 2                    # successes in a row before it counts as good (default 1)
//       fall 3                    # failures in a row before it counts as bad (default 1)
//   }
//   vrrp_instance VI_1 { ...
//       track_interface { eth1 [weight N] }      # YAML: track_interface: [eth1, "eth2 weight -10"]
//       track_script { NAME [weight N] }         # YAML: track_script: [NAME, "NAME weight 5"]
//   }
//
// What a weight means is keepalived's rule, applied by track.ts: 0 puts the instance in
// FAULT while the script is bad (or the interface down); a positive weight is added to the
// priority while the script is good (interface up); a negative one is added while it is
// bad (interface down).

import { scriptArgv, type Problem, type RawEntry } from './config';

export interface VrrpScriptConfig {
  name: string;
  line: number;
  argv: string[];
  intervalSec: number;
  timeoutSec: number;
  weight: number;
  rise: number;
  fall: number;
}

export interface TrackRef {
  name: string;
  /** Overrides the script's weight (track_script) or is the interface's (track_interface, default 0). */
  weight: number | undefined;
  line: number;
}

const SCRIPT_KEYS = ['script', 'interval', 'timeout', 'weight', 'rise', 'fall'];
const SCRIPT_IGNORED = new Set(['user', 'init_fail']);

/** One vrrp_script from its settings; null (after reporting) when it cannot be used. */
export function scriptFrom(name: string, line: number, entries: RawEntry[], bad: Problem, warn: Problem): VrrpScriptConfig | null {
  let ok = true;
  const fail: Problem = (l, m) => {
    ok = false;
    bad(l, m);
  };
  const s: VrrpScriptConfig = { name, line, argv: [], intervalSec: 1, timeoutSec: 0, weight: 0, rise: 1, fall: 1 };
  for (const e of entries) {
    if (SCRIPT_IGNORED.has(e.key)) {
      warn(e.line, `vrrp_script ${name}: "${e.key}" is accepted but ignored by tsvs`);
      continue;
    }
    if (!SCRIPT_KEYS.includes(e.key)) {
      fail(e.line, `vrrp_script ${name}: unknown setting "${e.key}"`);
      continue;
    }
    if (e.key === 'script') {
      const argv = scriptArgv(e.args);
      if (argv === null) fail(e.line, `vrrp_script ${name}: a quote is not closed`);
      else if (argv.length === 0 || !argv[0].startsWith('/')) fail(e.line, `vrrp_script ${name}: script wants the absolute path of a program (and its arguments)`);
      else s.argv = argv;
      continue;
    }
    const v = e.args.length === 1 ? Number(e.args[0]) : NaN;
    const int = (min: number, max: number): number | null => {
      if (!Number.isInteger(v) || v < min || v > max) {
        fail(e.line, `vrrp_script ${name}: ${e.key} must be a whole number from ${min} to ${max}, not "${e.args.join(' ')}"`);
        return null;
      }
      return v;
    };
    if (e.key === 'interval') s.intervalSec = int(1, 3600) ?? s.intervalSec;
    else if (e.key === 'timeout') s.timeoutSec = int(1, 3600) ?? s.timeoutSec;
    else if (e.key === 'weight') s.weight = int(-253, 253) ?? s.weight;
    else if (e.key === 'rise') s.rise = int(1, 1000) ?? s.rise;
    else if (e.key === 'fall') s.fall = int(1, 1000) ?? s.fall;
  }
  if (s.argv.length === 0 && ok) fail(line, `vrrp_script ${name}: no "script"`);
  if (s.timeoutSec === 0) s.timeoutSec = s.intervalSec;
  return ok ? s : null;
}

/** A track_interface / track_script block: NAME [weight N] per line. */
export function trackRefs(e: RawEntry, bad: Problem): TrackRef[] {
  if (!e.block) {
    bad(e.line, `${e.key} wants a block { NAME [weight N] ... }`);
    return [];
  }
  const out: TrackRef[] = [];
  for (const l of e.block) {
    const words = l.args.flatMap((a) => a.split(/\s+/)).filter(Boolean);
    const [name, kw, w, ...rest] = words;
    if (!name) continue;
    if (kw === undefined) {
      out.push({ name, weight: undefined, line: l.line });
    } else if (kw === 'weight' && w !== undefined && /^-?\d+$/.test(w) && Math.abs(Number(w)) <= 253 && rest.length === 0) {
      out.push({ name, weight: Number(w), line: l.line });
    } else {
      bad(l.line, `${e.key}: "${words.join(' ')}" should be NAME or NAME weight N (-253..253)`);
    }
  }
  return out;
}

/** Every tracked script must be defined. */
export function checkTracking(instances: { name: string; trackScripts: TrackRef[] }[], scripts: VrrpScriptConfig[], bad: Problem): void {
  const names = new Set(scripts.map((s) => s.name));
  for (const i of instances) {
    for (const t of i.trackScripts) if (!names.has(t.name)) bad(t.line, `vrrp_instance ${i.name}: track_script "${t.name}" is not a defined vrrp_script`);
  }
}
