// `tsvs status [--status-file FILE] [--json]`: what a running daemon says about itself, read
// from the status file it rewrites every second (`tsvs daemon --status-file FILE`):
// VRRP state per instance, connection sync when the daemon has it, connections, drops.
// Exit 0, or 1 when the file is missing, unreadable or stale (older than 5 s: the daemon
// is probably gone).

import { readFileSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { DaemonStatus } from '../control/daemon';
import { UsageError } from './usage-error';

export const DEFAULT_STATUS_FILE = '/run/tsvs/status.json';

const HELP = `Usage: tsvs status [--status-file FILE] [--json]

Shows a running daemon's state from its status file (tsvs daemon --status-file FILE;
default ${DEFAULT_STATUS_FILE}, or $TSVS_STATUS_FILE): VRRP instances, connection sync,
connections and drops. --json prints the file's content as it is.
`;

export function run(argv: string[]): number {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { 'status-file': { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (e) {
    throw new UsageError(`tsvs status: ${(e as Error).message}`);
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const file = values['status-file'] ?? process.env.TSVS_STATUS_FILE ?? DEFAULT_STATUS_FILE;
  let text: string;
  let age: number;
  try {
    text = readFileSync(file, 'utf8');
    age = (Date.now() - statSync(file).mtimeMs) / 1000;
  } catch (e) {
    process.stderr.write(`tsvs status: cannot read ${file}: ${(e as Error).message} (is the daemon running with --status-file ${file}?)\n`);
    return 1;
  }
  let st: DaemonStatus;
  try {
    st = JSON.parse(text) as DaemonStatus;
  } catch (e) {
    process.stderr.write(`tsvs status: ${file} is not JSON: ${(e as Error).message}\n`);
    return 1;
  }
  if (values.json) {
    process.stdout.write(`${text.trim()}\n`);
    return age > 5 ? 1 : 0;
  }
  process.stdout.write(formatStatus(st, age));
  return age > 5 ? 1 : 0;
}

export function formatStatus(st: DaemonStatus, ageSec: number): string {
  const out: string[] = [];
  if (ageSec > 5) out.push(`warning: the status is ${Math.round(ageSec)} s old; the daemon may not be running`);
  if (st.vrrp) {
    out.push('VRRP:');
    for (const i of st.vrrp.instances) {
      out.push(`  ${i.name}  VRID ${i.vrid} on ${i.interface}  v${i.version}  priority ${i.priority}  ${i.state}` +
        `${i.master ? `  master ${i.master}` : ''}  since ${i.since}  VIPs ${i.vips.join(' ')}`);
      out.push(`    adverts sent ${i.counters.advertsSent ?? 0}, received ${i.counters.advertsReceived ?? 0}, transitions ${i.counters.transitions ?? 0}`);
    }
    const drops = Object.entries(st.vrrp.drops).filter(([, n]) => n > 0);
    out.push(`  dropped adverts: ${drops.length ? drops.map(([r, n]) => `${r} ${n}`).join(', ') : 'none'}`);
  } else {
    out.push('VRRP: off');
  }
  out.push(...syncLines(st));
  out.push(`connections: ${st.conns}`);
  const drops = Object.entries(st.drops ?? {});
  out.push(`drops: ${drops.length ? drops.map(([r, n]) => `${r} ${n}`).join(', ') : 'none'}`);
  const p = st.pipeline ?? {};
  out.push(`frames: rx ${p.rxFrames ?? 0}, forwarded ${p.forwarded ?? 0}, arp replies ${p.arpReplies ?? 0}, standby VIP ${p.standbyVip ?? 0}`);
  return `${out.join('\n')}\n`;
}

/** Sync daemons, their counters, VRRP following and catch-up. */
function syncLines(st: DaemonStatus): string[] {
  const out: string[] = [];
  const daemons = st.daemons ?? [];
  const c = st.sync ?? {};
  const n = (k: string) => c[k] ?? 0;
  out.push(`sync: ${daemons.length ? daemons.map((d) => `${d.state} (${d.mcastIfn}, syncid ${d.syncid})`).join(', ') : 'no daemon running'}`);
  if (Object.keys(c).length) {
    out.push(`  sent ${n('sent_msgs')} msgs / ${n('sent_conns')} conns (walk passes ${n('walk_passes')}, markers ${n('markers_sent')}); ` +
      `received ${n('rx_msgs')} msgs / ${n('received_conns')} conns (created ${n('applied_created')}, updated ${n('applied_updated')}, markers ${n('markers_received')})`);
    const drops = Object.entries(c).filter(([k, v]) => (k.startsWith('drop_') || k.startsWith('skip_')) && v > 0);
    out.push(`  dropped/skipped: ${drops.length ? drops.map(([k, v]) => `${k} ${v}`).join(', ') : 'none'}`);
  }
  const f = st.follow;
  if (f) {
    out.push(`  follows VRRP ${f.instance} (${f.vrrpState}): master ${f.master ? 'on' : 'off'}, backup ${f.backup ? 'on' : 'off'}${f.activeActive ? ', active-active' : ''}`);
    const cu = f.catchUp;
    if (cu) {
      if (cu.phase === 'waiting' || cu.phase === 'walk_started') {
        out.push(`  catching up: ${cu.connsReceived} conns received, ${cu.secondsLeft} s left${cu.phase === 'walk_started' ? ' (full walk under way)' : ''}`);
      } else if (cu.phase !== 'idle') {
        out.push(`  catch-up: ${cu.phase.replace('_', ' ')}: ${cu.outcome}`);
      }
    }
  }
  return out;
}
