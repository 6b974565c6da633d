// Starts the real-server program (rs-server.js, found beside this file so it works from
// dist/ and from any other outDir) in every RS namespace, records each PID in the state
// file as soon as it exists, and waits until each one prints READY.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pidMatches, startInNs } from './exec';
import { sleep } from './run';
import { writeState, type LabState } from './state';

export const RS_SCRIPT = join(__dirname, 'rs-server.js');

export function serverMarker(lab: string, host: string): string {
  return `--marker=tsvs-lab:${lab}:${host}`;
}

export async function startRealServers(state: LabState, opts: { ttlSec?: number; readyTimeoutMs?: number } = {}): Promise<void> {
  if (!existsSync(RS_SCRIPT)) throw new Error(`real-server program not built: ${RS_SCRIPT}`);
  for (const rs of state.realServers) {
    const marker = serverMarker(state.name, rs.name);
    const argv = [process.execPath, RS_SCRIPT, `--name=${rs.name}`, marker];
    if (opts.ttlSec !== undefined) argv.push(`--ttl=${opts.ttlSec}`);
    const log = join(state.stateDir, `${rs.name}.log`);
    const bg = startInNs(rs.ns, argv, log);
    state.processes.push({ host: rs.name, ns: rs.ns, pid: bg.pid, argv, log, marker });
    writeState(state);
  }
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 10_000);
  for (const p of state.processes) {
    for (;;) {
      const text = readLog(p.log);
      if (/^READY /m.test(text)) break;
      // Only whether the PID is gone: right after spawn, before `ip netns exec` has exec'd,
      // /proc/PID/cmdline is still the parent's and does not carry the marker yet.
      if (!pidMatches(p.pid)) throw new Error(`${p.host}'s server (pid ${p.pid}) exited: ${text.trim().split('\n').slice(-3).join(' | ')}`);
      if (Date.now() > deadline) throw new Error(`${p.host}'s server (pid ${p.pid}) not ready in time; log ${p.log}`);
      await sleep(25);
    }
  }
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
