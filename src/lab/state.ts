// The lab's state file: <root>/<name>/state.json, where root is /run/tsvs-lab (or
// /tmp/tsvs-lab when /run is not writable). It is the plan plus what was started (PIDs) and
// how far `up` got; written before the first namespace exists and after every step, so
// `down` can undo a half-built lab. Tests and the demo read it. Writes are atomic (rename).

import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabPlan } from './plan';

export const STATE_VERSION = 1;
const ROOTS = ['/run/tsvs-lab', '/tmp/tsvs-lab'];

export interface ProcRecord {
  /** Host the process serves (rs1...), or another label. */
  host: string;
  ns: string;
  pid: number;
  argv: string[];
  log: string;
  /** A string in the process's command line; a PID is only signalled while it still matches. */
  marker: string;
}

export interface LabState extends LabPlan {
  version: number;
  status: 'building' | 'up' | 'failed';
  error?: string;
  createdAt: string;
  stateDir: string;
  stateFile: string;
  processes: ProcRecord[];
}

/** The lab object handed to tests: the state as `up` wrote it. */
export type Lab = LabState;

let chosenRoot: string | undefined;

/** The first root directory that can be created and written. */
export function stateRoot(): string {
  if (chosenRoot) return chosenRoot;
  for (const r of ROOTS) {
    try {
      mkdirSync(r, { recursive: true, mode: 0o755 });
      const probe = join(r, `.probe-${process.pid}`);
      writeFileSync(probe, '');
      rmSync(probe);
      return (chosenRoot = r);
    } catch {
      // try the next one
    }
  }
  throw new Error(`no writable directory for lab state (${ROOTS.join(', ')})`);
}

export function stateDirFor(name: string): string {
  return join(stateRoot(), name);
}

export function writeState(state: LabState): void {
  mkdirSync(state.stateDir, { recursive: true });
  const tmp = `${state.stateFile}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, state.stateFile);
}

/** The state of lab `name` from any root, or undefined. */
export function readState(name: string): LabState | undefined {
  for (const r of ROOTS) {
    try {
      return JSON.parse(readFileSync(join(r, name, 'state.json'), 'utf8')) as LabState;
    } catch {
      // not there
    }
  }
  return undefined;
}

/** Names of the labs that have a state directory. */
export function listStateNames(): string[] {
  const out = new Set<string>();
  for (const r of ROOTS) {
    try {
      for (const e of readdirSync(r, { withFileTypes: true })) if (e.isDirectory()) out.add(e.name);
    } catch {
      // no such root
    }
  }
  return [...out].sort();
}

export function removeStateDir(name: string): boolean {
  let removed = false;
  for (const r of ROOTS) {
    try {
      readdirSync(join(r, name));
      rmSync(join(r, name), { recursive: true, force: true });
      removed = true;
    } catch {
      // not there
    }
  }
  return removed;
}

/** The name of the lab the CLI brought up last (so `down` without --name can find it). */
export function lastLabName(): string | undefined {
  for (const r of ROOTS) {
    try {
      const n = readFileSync(join(r, 'last'), 'utf8').trim();
      if (n) return n;
    } catch {
      // none
    }
  }
  return undefined;
}

export function setLastLabName(name: string | undefined): void {
  const file = join(stateRoot(), 'last');
  if (name === undefined) rmSync(file, { force: true });
  else writeFileSync(file, `${name}\n`);
}
