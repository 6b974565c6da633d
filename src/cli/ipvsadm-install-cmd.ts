// `tsvs ipvsadm install|uninstall`: puts tsvsadm where tools that drive IPVS look for
// ipvsadm, on hosts without kernel IPVS. ldirectord runs `/sbin/ipvsadm` (else
// `/usr/sbin/ipvsadm`) through /bin/sh and never consults PATH (reference §4.1, §4.5),
// so the file itself has to be replaced:
//   install    if dpkg knows an ipvsadm at /usr/sbin/ipvsadm (or its merged-/usr alias
//              /sbin/ipvsadm), divert it out of the way first:
//                dpkg-divert --local --rename --divert /usr/sbin/ipvsadm.distrib --add /usr/sbin/ipvsadm
//              then write /usr/sbin/ipvsadm as a small shell script that execs
//              `node <dist/src/cli/tsvsadm.js> "$@"`. Without merged /usr (/sbin not a link
//              to usr/sbin) /sbin/ipvsadm gets the same script.
//   uninstall  removes our scripts (only files carrying our marker line) and takes back
//              the diversions: dpkg-divert --rename --remove /usr/sbin/ipvsadm
// Both are idempotent and need root. TSVS_SBIN_DIR=DIR installs into DIR/ipvsadm instead
// and never runs dpkg-divert (tests; a private bin directory).

import { existsSync, lstatSync, readFileSync, realpathSync, renameSync, unlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { UsageError } from './usage-error';

/** The line that marks a file as ours: uninstall removes nothing without it. */
export const MARKER = '# tsvs-ipvsadm-wrapper: written by `tsvs ipvsadm install`; `tsvs ipvsadm uninstall` removes it';

const HELP = `Usage: tsvs ipvsadm install|uninstall

  install    make /usr/sbin/ipvsadm (and /sbin/ipvsadm) run tsvsadm, so that tools which
             drive IPVS through ipvsadm (ldirectord, init scripts) drive tsvs; a packaged
             ipvsadm is kept aside with dpkg-divert as /usr/sbin/ipvsadm.distrib
  uninstall  remove that wrapper and give the packaged ipvsadm its name back

Both need root and may be repeated. TSVS_SBIN_DIR=DIR uses DIR/ipvsadm instead (no dpkg-divert).
`;

/** What install/uninstall need from dpkg (a fake one in tests). */
export interface Dpkg {
  /** The package that ships `path`, if dpkg knows one. */
  owner(path: string): string | undefined;
  /** True if a diversion of `path` exists. */
  diverted(path: string): boolean;
  /** dpkg-divert --local --rename --divert `to` --add `path` */
  divert(path: string, to: string): void;
  /** dpkg-divert --rename --remove `path` */
  undivert(path: string): void;
}

export interface InstallOptions {
  /** The wrapper files to write (/usr/sbin/ipvsadm, and /sbin/ipvsadm without merged /usr). */
  targets: string[];
  /** Names dpkg may know ipvsadm by; each one a package ships is diverted ([] = no dpkg). */
  divertNames: string[];
  dpkg: Dpkg;
  uid: number;
  /** Absolute path of node and of the compiled tsvsadm. */
  node: string;
  tsvsadmJs: string;
  out: (line: string) => void;
}

export function wrapperScript(node: string, tsvsadmJs: string): string {
  return `#!/bin/sh\n${MARKER}\nexec ${shQuote(node)} ${shQuote(tsvsadmJs)} "$@"\n`;
}

function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** True if `path` is a file written by install (it carries the marker line). */
export function isOurs(path: string): boolean {
  try {
    if (!lstatSync(path).isFile()) return false;
    return readFileSync(path, 'utf8').split('\n').slice(0, 5).includes(MARKER);
  } catch {
    return false;
  }
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function requireRoot(o: InstallOptions, what: string): void {
  if (o.uid !== 0) throw new UsageError(`tsvs ipvsadm ${what}: permission denied: run as root (it changes ${o.targets.join(' and ')})`, 1);
}

export function install(o: InstallOptions): number {
  requireRoot(o, 'install');
  if (!existsSync(o.tsvsadmJs)) throw new UsageError(`tsvs ipvsadm install: ${o.tsvsadmJs} is missing: build tsvs first (npm run build)`, 1);
  // Refuse before changing anything if a target is a file nobody can account for.
  const owned = new Map<string, string>();
  for (const name of o.divertNames) {
    const pkg = o.dpkg.owner(name);
    if (pkg) owned.set(name, pkg);
  }
  const anyDiversion = () => o.divertNames.some((n) => owned.has(n) || o.dpkg.diverted(n));
  for (const t of o.targets) {
    if (exists(t) && !isOurs(t) && !anyDiversion()) {
      throw new UsageError(`tsvs ipvsadm install: ${t} exists, is not from a package and was not written by tsvs; move it away first`, 1);
    }
  }
  for (const [name, pkg] of owned) {
    if (o.dpkg.diverted(name)) {
      o.out(`${name}: already diverted`);
      continue;
    }
    if (isOurs(name)) continue; // our wrapper under that name; nothing of the package's to keep
    o.dpkg.divert(name, `${name}.distrib`);
    o.out(`${name} (package ${pkg}) diverted to ${name}.distrib`);
  }
  const text = wrapperScript(o.node, o.tsvsadmJs);
  for (const t of o.targets) {
    if (exists(t) && !isOurs(t)) {
      throw new UsageError(`tsvs ipvsadm install: ${t} still exists after the diversion and was not written by tsvs; not overwriting it`, 1);
    }
    if (isOurs(t) && readFileSync(t, 'utf8') === text) {
      o.out(`${t}: already installed (runs ${o.tsvsadmJs})`);
      continue;
    }
    const was = exists(t);
    const tmp = join(dirname(t), `.ipvsadm.tsvs-${process.pid}`);
    writeFileSync(tmp, text, { mode: 0o755 });
    chmodSync(tmp, 0o755);
    renameSync(tmp, t);
    o.out(`${t}: ${was ? 'updated' : 'installed'}: runs ${o.node} ${o.tsvsadmJs}`);
  }
  return 0;
}

export function uninstall(o: InstallOptions): number {
  requireRoot(o, 'uninstall');
  let code = 0;
  const foreign = new Set<string>();
  for (const t of o.targets) {
    if (!exists(t)) {
      o.out(`${t}: not installed`);
    } else if (isOurs(t)) {
      unlinkSync(t);
      o.out(`${t}: removed`);
    } else {
      o.out(`${t}: not written by tsvs; left alone`);
      foreign.add(t);
      code = 1;
    }
  }
  for (const name of o.divertNames) {
    if (!o.dpkg.diverted(name)) continue;
    // (With merged /usr a second name may already be back through the first one's rename.)
    if (exists(name) && !isOurs(name) && exists(`${name}.distrib`)) {
      o.out(`${name}: diversion kept: ${name} is in the way`);
      code = 1;
      continue;
    }
    if (isOurs(name)) unlinkSync(name);
    o.dpkg.undivert(name);
    o.out(`${name}: diversion removed; the packaged ipvsadm is back`);
  }
  return code;
}

/** dpkg through its commands; a host without dpkg has no packages and no diversions. */
export const realDpkg: Dpkg = {
  owner(path) {
    const r = spawnSync('dpkg-query', ['-S', path], { encoding: 'utf8', timeout: 30_000 });
    if (r.status !== 0) return undefined;
    const line = r.stdout.split('\n').find((l) => l && !l.startsWith('diversion by') && l.includes(': '));
    return line?.slice(0, line.indexOf(': ')) || undefined;
  },
  diverted(path) {
    const r = spawnSync('dpkg-divert', ['--listpackage', path], { encoding: 'utf8', timeout: 30_000 });
    return r.status === 0 && r.stdout.trim() !== '';
  },
  divert(path, to) {
    dpkgDivert(['--local', '--rename', '--divert', to, '--add', path]);
  },
  undivert(path) {
    dpkgDivert(['--rename', '--remove', path]);
  },
};

function dpkgDivert(args: string[]): void {
  const r = spawnSync('dpkg-divert', args, { encoding: 'utf8', timeout: 30_000 });
  if (r.error || r.status !== 0) {
    const why = (r.stderr || r.error?.message || `exit ${r.status}`).trim().replace(/\n/g, ' ');
    throw new UsageError(`tsvs ipvsadm: dpkg-divert ${args.join(' ')} failed: ${why}`, 1);
  }
}

/** The options for this host: /usr/sbin (and /sbin), or $TSVS_SBIN_DIR. */
export function hostOptions(env: NodeJS.ProcessEnv = process.env, out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): InstallOptions {
  const common = {
    dpkg: realDpkg,
    uid: process.getuid?.() ?? 0,
    node: process.execPath,
    tsvsadmJs: resolve(__dirname, 'tsvsadm.js'),
    out,
  };
  const dir = env.TSVS_SBIN_DIR;
  if (dir && resolve(dir) !== '/usr/sbin') return { ...common, targets: [join(resolve(dir), 'ipvsadm')], divertNames: [] };
  const targets = ['/usr/sbin/ipvsadm'];
  if (!sameDir('/sbin', '/usr/sbin')) targets.push('/sbin/ipvsadm');
  return { ...common, targets, divertNames: ['/usr/sbin/ipvsadm', '/sbin/ipvsadm'] };
}

function sameDir(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

export function run(argv: string[]): number {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    process.stdout.write(HELP);
    return sub === undefined ? 2 : 0;
  }
  if (rest.length) throw new UsageError(`tsvs ipvsadm ${sub}: unexpected argument '${rest[0]}'`);
  if (sub === 'install') return install(hostOptions());
  if (sub === 'uninstall') return uninstall(hostOptions());
  throw new UsageError(`tsvs ipvsadm: unknown subcommand '${sub}' (install or uninstall)`);
}
