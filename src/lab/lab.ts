// A lab's life cycle: up (plan -> state file -> network -> real-server programs), down and
// status. `down` needs nothing from `up` but the name: it stops the PIDs the state file
// recorded (only while their command line still carries the lab's marker), then any other
// process still inside one of the lab's namespaces (so nothing keeps a deleted namespace
// alive), then deletes the namespaces (their veths go with them) and the state directory.
// It is synchronous so that exit and signal hooks can run it.

import { join } from 'node:path';
import { stopPidSync, pidMatches, type StopOutcome } from './exec';
import { isLabNamespace, makePlan, namespacesOf, type LabOptions } from './plan';
import { nsDeleteSync, nsInode, nsList, pidsInNsInode, selfAndAncestors } from './netns';
import { startRealServers } from './servers';
import { lastLabName, listStateNames, readState, removeStateDir, setLastLabName, stateDirFor, STATE_VERSION, writeState, type LabState } from './state';
import { buildTopology, type StepLog } from './topology';

export interface UpOptions extends LabOptions {
  /** Leave a half-built lab in place when `up` fails (default: tear it down). */
  keepOnFailure?: boolean;
  log?: StepLog;
}

/** The namespaces of lab `name` that exist now. */
export function labNamespaces(name: string): string[] {
  return nsList().filter((ns) => isLabNamespace(name, ns));
}

export async function labUp(opts: UpOptions = {}): Promise<LabState> {
  const plan = makePlan(opts);
  const log = opts.log ?? (() => undefined);
  const existing = labNamespaces(plan.name);
  if (existing.length) throw new Error(`lab ${plan.name} already exists (${existing.join(' ')}); take it down first`);
  removeStateDir(plan.name); // a stale one, from a lab whose namespaces are gone
  const stateDir = stateDirFor(plan.name);
  const state: LabState = {
    version: STATE_VERSION,
    ...plan,
    status: 'building',
    createdAt: new Date().toISOString(),
    stateDir,
    stateFile: join(stateDir, 'state.json'),
    processes: [],
  };
  writeState(state);
  try {
    await buildTopology(plan, log);
    if (opts.servers !== false) {
      log('starting real-server programs');
      await startRealServers(state, { ttlSec: opts.serverTtlSec });
    }
    state.status = 'up';
    writeState(state);
    return JSON.parse(JSON.stringify(state)) as LabState; // exactly what the state file holds
  } catch (e) {
    state.status = 'failed';
    state.error = (e as Error).message;
    writeState(state);
    if (!opts.keepOnFailure) labDownSync(plan.name);
    throw e;
  }
}

export interface DownReport {
  name: string;
  /** Recorded processes and what became of each. */
  stopped: Array<{ host: string; pid: number; outcome: StopOutcome }>;
  /** Other processes found inside the lab's namespaces, stopped too. */
  strays: Array<{ ns: string; pid: number; outcome: StopOutcome }>;
  deleted: string[];
  /** Namespaces that could not be deleted. */
  remaining: string[];
  stateRemoved: boolean;
}

export function labDownSync(name: string): DownReport {
  const report: DownReport = { name, stopped: [], strays: [], deleted: [], remaining: [], stateRemoved: false };
  const state = readState(name);
  for (const p of state?.processes ?? []) {
    report.stopped.push({ host: p.host, pid: p.pid, outcome: stopPidSync(p.pid, { marker: p.marker }) });
  }
  const spare = selfAndAncestors();
  for (const ns of labNamespaces(name)) {
    const ino = nsInode(ns);
    if (ino === undefined) continue;
    for (const pid of pidsInNsInode(ino)) {
      if (spare.has(pid) || !pidMatches(pid)) continue;
      report.strays.push({ ns, pid, outcome: stopPidSync(pid) });
    }
  }
  for (const ns of labNamespaces(name)) {
    if (nsDeleteSync(ns)) report.deleted.push(ns);
    else report.remaining.push(ns);
  }
  report.stateRemoved = removeStateDir(name);
  if (lastLabName() === name) {
    try {
      setLastLabName(undefined);
    } catch {
      // not ours to clear
    }
  }
  return report;
}

export async function labDown(name: string): Promise<DownReport> {
  return labDownSync(name);
}

export interface LabStatus {
  name: string;
  /** From the state file, or 'unknown' when there is none. */
  status: LabState['status'] | 'unknown';
  state?: LabState;
  namespaces: Array<{ ns: string; present: boolean }>;
  processes: Array<{ host: string; pid: number; alive: boolean }>;
}

/** Labs known by a state file or by a `<name>-sw` namespace (all, or just `name`). */
export function labNames(): string[] {
  const names = new Set(listStateNames());
  for (const ns of nsList()) {
    const m = /^(.+)-sw$/.exec(ns);
    if (m) names.add(m[1]);
  }
  return [...names].sort();
}

export function labStatus(name: string): LabStatus {
  const state = readState(name);
  const present = new Set(labNamespaces(name));
  const expected = state ? namespacesOf(state) : [];
  const all = [...new Set([...expected, ...present])];
  return {
    name,
    status: state?.status ?? 'unknown',
    state,
    namespaces: all.map((ns) => ({ ns, present: present.has(ns) })),
    processes: (state?.processes ?? []).map((p) => ({ host: p.host, pid: p.pid, alive: pidMatches(p.pid, p.marker) })),
  };
}
