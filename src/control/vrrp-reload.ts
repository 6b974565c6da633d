// SIGHUP for VRRP: reads the VRRP configuration again (the --vrrp file, or the `vrrp:`
// section of the native config just reloaded) and hands it to the running instances
// (VrrpRunner.reload in src/ha/vrrp/vrrp.ts), so that a priority, a VIP, a check or a new
// instance takes effect without a restart and without giving up mastership. Anything that
// would leave the director worse off is refused and logged, and VRRP runs on unchanged: a
// broken file, an interface that does not exist, no instance left, or the loss of the
// instance that connection sync follows. VRRP that was not running at start is not
// started by a reload.

import { ConfigError } from '../config/native-config';
import type { VrrpConfig } from '../ha/vrrp/config';
import { loadVrrpFile } from '../ha/vrrp/load';
import type { VrrpRunner } from '../ha/vrrp/vrrp';
import { ifInfo } from '../io/afpacket';

export interface VrrpReloadSource {
  /** --vrrp FILE, read again. */
  file?: string;
  /** Else the native config's `vrrp:` section as just reloaded. */
  fromConfig?: VrrpConfig;
}

export function reloadVrrp(why: string, runner: VrrpRunner | null, src: VrrpReloadSource, followInstance: string | null, log: (msg: string) => void): void {
  let next: VrrpConfig | undefined = src.fromConfig;
  if (src.file !== undefined) {
    try {
      next = loadVrrpFile(src.file).config;
    } catch (e) {
      const msg = e instanceof ConfigError ? `${e.message.split('\n')[0]} ${e.problems.join('; ')}` : (e as Error).message;
      log(`${why}: VRRP not reloaded: ${msg}; it runs as it was`);
      return;
    }
  }
  if (!runner) {
    if (next?.instances.length) log(`${why}: VRRP was not running at start; restart the daemon to start it`);
    return;
  }
  if (!next || next.instances.length === 0) {
    log(`${why}: VRRP not reloaded: the new configuration has no vrrp instance (restart the daemon to stop VRRP); it runs as it was`);
    return;
  }
  for (const inst of next.instances) {
    try {
      ifInfo(inst.interface);
    } catch {
      log(`${why}: VRRP not reloaded: vrrp_instance ${inst.name}: interface ${inst.interface} does not exist; it runs as it was`);
      return;
    }
  }
  if (followInstance !== null && !next.instances.some((i) => i.name === followInstance)) {
    log(`${why}: VRRP not reloaded: connection sync follows ${followInstance}, which the new configuration does not have; it runs as it was`);
    return;
  }
  for (const w of next.warnings) log(`VRRP config: ${w}`);
  const r = runner.reload(next);
  const list = (a: string[]) => (a.length ? a.join(',') : '-');
  log(`${why}: VRRP reloaded: added ${list(r.added)}, changed ${list(r.changed)}, restarted ${list(r.restarted)}, removed ${list(r.removed)}`);
}
