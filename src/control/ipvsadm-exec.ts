// ipvsadm's main(), run inside the daemon against the live director: what the control
// socket executes for each `tsvsadm` request. It returns what ipvsadm would have written
// to stdout and stderr and its exit status (§1.7):
//   - argument errors: ipvsadm's text, exit 2 (tryhelp and popt errors: 255);
//   - kernel operation failures (add/edit/delete/flush/zero/set): the mapped text, 255;
//   - list failures (-L -t unknown service): exit 1;
//   - -h / -v: the text on stdout, exit 0.
// Every command line is parsed completely before anything is applied, and the model
// refuses a bad operation before changing anything, so wrong arguments change nothing.
//
// -R (§1.1): stdin is cut into lines (splitRestoreLines); each line is parsed and executed
// in turn. A fatal parse error (fail(2), tryhelp, -R inside -R) ends the whole run with
// its status; a popt error or a kernel error is printed and the run goes on; -h/-v end
// the run with 0. The exit status is that of the last line.
//
// Everything here is synchronous: the control socket runs one request to completion in
// the event loop, so a request is atomic with respect to the data plane.

import { formatV4 } from '../core/addr';
import { IpvsError } from '../core/errors';
import type { Director } from '../core/director';
import { TPL_S_ASSURED } from '../core/director';
import { TCP_STATE_NAMES } from '../conn/tcp-states';
import { IpvsadmError, parseArgs } from '../ipvsadm/argv';
import type { ParsedCommand } from '../ipvsadm/commands';
import { renderList, saveRules } from '../ipvsadm/list';
import type { NameResolver } from '../ipvsadm/names';
import { splitRestoreLines } from '../ipvsadm/restore';
import { snapshotFromTable, type ConnSnapshot, type IpvsSnapshot } from '../ipvsadm/snapshot';
import { applyCommand } from './apply';
import type { DaemonSnapshot } from '../ipvsadm/snapshot';
import type { SyncDaemonConfig } from '../ha/sync/manager';

export interface ExecResult {
  stdout: string;
  stderr: string;
  exit: number;
}

export interface ExecContext {
  /** Name in the tryhelp/usage texts; default "ipvsadm". */
  program?: string;
  /** Connection hash table size shown in the version header; default the table's slots. */
  connTabSize?: number;
  /** Called after a command changed the configuration (VIPs, neighbours, ...). */
  afterChange?: () => void;
  /** Host and service names (tests); default /etc/hosts and /etc/services. */
  resolver?: NameResolver;
  /** The connection-sync engine (--start-daemon, --stop-daemon, -L --daemon); absent: not available. */
  sync?: SyncControl;
  /** The connections -L -c lists, when they are not in `director.conns` (worker shards). */
  connections?: () => ConnSnapshot[];
}

/** What --start-daemon/--stop-daemon/-L --daemon need (src/ha/sync/manager.ts implements it). */
export interface SyncControl {
  /** Throws IpvsError as the kernel refuses (EEXIST, ENODEV, EINVAL). */
  start(spec: SyncDaemonConfig): void;
  /** Throws IpvsError ESRCH when no such daemon runs. */
  stop(state: 'master' | 'backup', syncid?: number): void;
  daemons(): DaemonSnapshot[];
}

export const SYNC_NOT_AVAILABLE = 'tsvs: connection sync is not available here (no sync engine in this process)';

/** Runs one ipvsadm command line (argv without the program name). */
export function execIpvsadm(director: Director, argv: readonly string[], stdin: string | undefined, ctx: ExecContext = {}): ExecResult {
  const out: ExecResult = { stdout: '', stderr: '', exit: 0 };
  let cmd: ParsedCommand;
  try {
    cmd = parseArgs(argv, { program: ctx.program, resolver: ctx.resolver });
  } catch (e) {
    return fail(out, e);
  }
  if (cmd.cmd === 'restore') {
    restore(director, stdin ?? '', ctx, out);
    return out;
  }
  out.exit = runOne(director, cmd, ctx, out);
  return out;
}

function restore(director: Director, text: string, ctx: ExecContext, out: ExecResult): void {
  let status = 0;
  for (const words of splitRestoreLines(text)) {
    let cmd: ParsedCommand;
    try {
      cmd = parseArgs(words, { program: ctx.program, resolver: ctx.resolver, readingStdin: true });
    } catch (e) {
      fail(out, e);
      if (!(e instanceof IpvsadmError) || e.fatal) return;
      status = out.exit;
      continue;
    }
    status = runOne(director, cmd, ctx, out);
    if (cmd.cmd === 'help' || cmd.cmd === 'version') break;
  }
  out.exit = status;
}

/** Executes one parsed command, appending to out; returns its exit status. */
function runOne(director: Director, cmd: ParsedCommand, ctx: ExecContext, out: ExecResult): number {
  try {
    switch (cmd.cmd) {
      case 'help':
      case 'version':
        out.stdout += cmd.text;
        return 0;
      case 'list':
        out.stdout += renderList(cmd, snapshot(director, ctx, cmd.connection), ctx.resolver);
        return 0;
      case 'save':
        out.stdout += saveRules(snapshot(director, ctx, false), { numeric: cmd.numeric }, ctx.resolver);
        return 0;
      case 'start-daemon':
      case 'stop-daemon':
        if (!ctx.sync) {
          out.stderr += `${SYNC_NOT_AVAILABLE}\n`;
          return 2;
        }
        if (cmd.cmd === 'stop-daemon') {
          ctx.sync.stop(cmd.daemon.state, cmd.daemon.syncid);
        } else {
          const d = cmd.daemon;
          ctx.sync.start({
            state: d.state, mcastIfn: d.mcastIfn, syncid: d.syncid, maxlen: d.syncMaxlen,
            group: d.mcastGroup ? d.mcastGroup.toString() : '', port: d.mcastPort, ttl: d.mcastTtl,
          });
        }
        return 0;
      case 'restore':
        // Only reachable from a nested -R, which parseArgs already refuses.
        out.stderr += "Try `ipvsadm -h' or 'ipvsadm --help' for more information.\n";
        return 255;
      default: {
        let changed = false;
        try {
          changed = applyCommand(director, cmd) === 'applied';
        } finally {
          if (changed) afterChange(director, ctx);
        }
        return 0;
      }
    }
  } catch (e) {
    if (e instanceof IpvsError) {
      // A refused kernel operation: ipvsadm prints ipvs_strerror() and exits 255.
      out.stderr += `${e.message}\n`;
      return 255;
    }
    return fail(out, e).exit;
  }
}

function afterChange(director: Director, ctx: ExecContext): void {
  director.sync();
  ctx.afterChange?.();
}

function fail(out: ExecResult, e: unknown): ExecResult {
  if (e instanceof IpvsadmError) {
    out.stderr += `${e.message}\n`;
    out.exit = e.exitCode;
  } else if (e instanceof IpvsError) {
    out.stderr += `${e.message}\n`;
    out.exit = 255;
  } else {
    out.stderr += `ipvsadm: ${(e as Error)?.message ?? String(e)}\n`;
    out.exit = 1;
  }
  return out;
}

/** The live snapshot -L/-S render; connections only when -c asks for them. */
export function snapshot(director: Director, ctx: ExecContext, withConns: boolean): IpvsSnapshot {
  return snapshotFromTable(director.services, {
    connTabSize: ctx.connTabSize ?? director.conns.slots,
    timeouts: director.timeouts.get(),
    connections: withConns ? (ctx.connections ? ctx.connections() : connections(director)) : [],
    daemons: ctx.sync?.daemons() ?? [],
  });
}

/** The connection table as /proc/net/ip_vs_conn shows it (IPv4 table). */
export function connections(director: Director): ConnSnapshot[] {
  const t = director.conns;
  const dests = director.services.dests;
  const now = director.now;
  const out: ConnSnapshot[] = [];
  t.forEach((slot) => {
    if (!t.isLive(slot)) return;
    const template = t.isTemplate(slot);
    const state = t.state(slot);
    const dest = dests[t.destId(slot)];
    out.push({
      proto: t.proto(slot),
      af: 2,
      caddr: formatV4(t.caddr(slot)),
      cport: t.cport(slot),
      vaddr: formatV4(t.vaddr(slot)),
      vport: t.vport(slot),
      daf: dest ? dest.addr.af : 2,
      daddr: dest ? dest.addr.toString() : '0.0.0.0',
      dport: dest ? dest.port : 0,
      state: template ? (state === TPL_S_ASSURED ? 'ASSURED' : 'NONE') : connStateName(t.proto(slot), state),
      expires: Math.max(0, t.expires(slot) - now),
      template,
    });
  });
  return out;
}

function connStateName(proto: number, state: number): string {
  // TCP has the full state machine; UDP and others have one state, which the kernel
  // lists as UDP / ICMP / ... ; ipvsadm shows the /proc text unchanged.
  if (proto === 6) return TCP_STATE_NAMES[state] ?? 'NONE';
  if (proto === 17) return 'UDP';
  if (proto === 132) return 'NONE';
  return state === 0 ? 'NONE' : 'ERR!';
}
