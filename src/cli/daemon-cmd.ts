// `tsvs daemon --interface IF [--config FILE] [--rules FILE] [--vrrp FILE]`: runs the director on one interface.
// Logs to stderr; SIGTERM/SIGINT stop it cleanly; SIGHUP reloads the config without
// dropping existing connections. Every start-up problem is one clear line and exit 1
// (2 for bad arguments or a broken config file).

import { appendFileSync, readFileSync, unwatchFile, watchFile } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { parseArgs } from 'node:util';
import { formatV4, parseV4 } from '../core/addr';
import { ConfigError } from '../config/native-config';
import { loadAnyConfig, type LoadedConfig } from '../config/detect';
import type { HealthConfig } from '../health/types';
import { ControlServer, socketPath } from '../control/control-socket';
import { Daemon } from '../control/daemon';
import { EarlyDrop } from '../dataplane/early-drop';
import { loadRules, parseRules, RulesError } from '../control/rules-file';
import { AfPacketBackend } from '../io/afpacket-backend';
import { ifInfo } from '../io/afpacket';
import { parseListen, startMetricsServer } from '../metrics/http';
import { Metrics } from '../metrics/metrics';
import { UsageError } from './usage-error';
import type { VrrpConfig } from '../ha/vrrp/config';
import { loadVrrpFile } from '../ha/vrrp/load';
import { VrrpRunner } from '../ha/vrrp/vrrp';
import { SyncFollower } from '../ha/follow';
import { followSetup } from '../ha/follow-config';

const HELP = `Usage: tsvs daemon --interface IF [options]

Runs the director on interface IF: captures frames for the VIPs (AF_PACKET), answers ARP
and ping for them, and forwards connections to the real servers (direct routing).

Options:
  --interface IF      the interface on the real servers' segment (required)
  --config FILE       services and real servers: native YAML/JSON, or an ldirectord.cf
                      (health checks, autoreload, logfile as ldirectord; see README)
  --rules FILE        ipvsadm rules to apply at start, in ipvsadm-save form (what
                      'tsvsadm -S -n' prints); applied after --config
  --vrrp FILE         VRRP instances owning the VIPs: keepalived.conf (vrrp_instance
                      blocks) or YAML with a "vrrp:" section (a native --config may
                      carry that section itself). A VIP of an instance is answered
                      for (ARP, ping, forwarding) only while the instance is MASTER
  --max-conns N       connection table capacity (default 1048576)
  --status-file FILE  write a JSON status snapshot every second
  --no-vnet           do not use vnet headers (GSO/checksum offload pass-through)
  --no-early-drop     do not install the nft netdev ingress rule that drops the
                      kernel's (unused) copy of VIP traffic
  --socket PATH       control socket for tsvsadm (default $TSVS_SOCKET, else
                      /run/tsvs/tsvs.sock; created mode 0600, removed on stop)
  --metrics ADDR:PORT serve Prometheus metrics at http://ADDR:PORT/metrics (off by
                      default; ":PORT" listens on every address)
  --standby           start as a standby director: do not answer ARP for the VIPs nor
                      send gratuitous ARP (a backup beside an active director); SIGUSR1
                      makes it active (gratuitous ARP at once), SIGUSR2 standby again
Connection sync: 'tsvsadm --start-daemon master|backup ...' or the config's sync: section;
it follows a VRRP instance with keepalived's 'lvs_sync_daemon IF INSTANCE' (global_defs)
or 'sync: { follow_vrrp: INSTANCE }': master while the instance is MASTER, backup (holding
the synced conns, forwarded from the moment it becomes MASTER) otherwise. After a start
the director does not preempt until it has received a full table walk from the master
(catch-up; at most catch_up_timeout, default 60 s). See README "High availability".
Signals: SIGHUP reloads the config; SIGTERM/SIGINT stop; SIGUSR1/SIGUSR2 active/standby.
`;

export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        interface: { type: 'string', short: 'i' },
        config: { type: 'string', short: 'c' },
        rules: { type: 'string' },
        vrrp: { type: 'string' },
        'max-conns': { type: 'string' },
        'status-file': { type: 'string' },
        'no-vnet': { type: 'boolean' },
        'no-early-drop': { type: 'boolean' },
        socket: { type: 'string' },
        metrics: { type: 'string' },
        standby: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (e) {
    throw new UsageError(`tsvs daemon: ${(e as Error).message}`);
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const ifname = values.interface;
  if (!ifname) throw new UsageError('tsvs daemon: --interface IF is required');
  let maxConns = 1 << 20;
  if (values['max-conns'] !== undefined) {
    maxConns = Number(values['max-conns']);
    if (!/^\d+$/.test(values['max-conns']) || maxConns < 16 || maxConns > 50_000_000) {
      throw new UsageError(`tsvs daemon: --max-conns wants a whole number from 16 to 50000000, not '${values['max-conns']}'`);
    }
  }
  if (values.metrics !== undefined) {
    try {
      parseListen(values.metrics);
    } catch (e) {
      throw new UsageError(`tsvs daemon: --metrics: ${(e as Error).message}`);
    }
  }
  // ldirectord's logfile="/path" also gets every line (state changes are rare).
  let logfile = '';
  const log = (msg: string) => {
    const line = `${new Date().toISOString()} tsvs[${process.pid}]: ${msg}\n`;
    process.stderr.write(line);
    if (logfile) {
      try {
        appendFileSync(logfile, line);
      } catch {
        // a log file we cannot write must not stop the director; stderr has the line
      }
    }
  };

  let loaded: LoadedConfig = { kind: 'native', health: emptyHealth(), native: { services: [] } };
  if (values.config) {
    try {
      loaded = loadAnyConfig(values.config);
      if (loaded.health.logfile.startsWith('/')) logfile = loaded.health.logfile;
    } catch (e) {
      // One line, as every start-up problem: the problems joined (ConfigError lists them one per line).
      if (e instanceof ConfigError) throw new UsageError(`tsvs daemon: ${e.message.split('\n')[0]} ${e.problems.join('; ')}`);
      throw e;
    }
  }

  // VRRP: from --vrrp FILE (either format), else from the native config's `vrrp:` section.
  let vrrp: VrrpConfig | undefined = loaded.native?.vrrp;
  if (values.vrrp !== undefined) {
    try {
      vrrp = loadVrrpFile(values.vrrp).config;
    } catch (e) {
      if (e instanceof ConfigError) throw new UsageError(`tsvs daemon: ${e.message.split('\n')[0]} ${e.problems.join('; ')}`, 2);
      throw e;
    }
  }
  for (const w of vrrp?.warnings ?? []) log(`VRRP config: ${w}`);

  // The rules file is read and parsed (syntax, names) before the interface is touched.
  let rulesText: string | undefined;
  if (values.rules !== undefined) {
    try {
      rulesText = readFileSync(values.rules, 'utf8');
    } catch (e) {
      throw new UsageError(`tsvs daemon: cannot read rules file ${values.rules}: ${(e as Error).message}`, 2);
    }
    try {
      parseRules(rulesText, values.rules);
    } catch (e) {
      if (e instanceof RulesError) throw new UsageError(`tsvs daemon: ${oneLine(e.message)}`, 2);
      throw e;
    }
  }

  // The interface must exist, and the kernel must not hold any VIP (it would send RSTs).
  try {
    ifInfo(ifname);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENODEV') throw new UsageError(`tsvs daemon: interface ${ifname} does not exist`, 1);
    throw new UsageError(`tsvs daemon: ${err.message}`, 1);
  }
  const local = localAddresses();
  const checkVips = (specs: Iterable<{ fwmark: number; af: number; addr: { v4: number; toString(): string } }>) => {
    for (const spec of specs) {
      if (spec.fwmark || spec.af !== 2) continue;
      const owner = local.get(spec.addr.v4);
      if (owner) {
        throw new UsageError(
          `tsvs daemon: VIP ${spec.addr} is an address of this host (${owner}): the kernel would answer its clients with RST. ` +
            `tsvs owns the VIP at L2 itself; remove it first: ip addr del ${spec.addr}/32 dev ${owner}`,
          1,
        );
      }
    }
  };
  checkVips([...(loaded.native?.services.map((s) => s.spec) ?? []), ...loaded.health.virtuals.map((v) => v.service)]);
  for (const inst of vrrp?.instances ?? []) {
    checkVips(inst.vips.map((v) => ({ fwmark: 0, af: 2, addr: { v4: v, toString: () => formatV4(v) } })));
    try {
      ifInfo(inst.interface);
    } catch {
      throw new UsageError(`tsvs daemon: vrrp_instance ${inst.name}: interface ${inst.interface} does not exist`, 1);
    }
  }
  const ourIp = firstIpv4(ifname);
  if (ourIp === 0) log(`warning: ${ifname} has no IPv4 address; ARP requests to real servers go out from 0.0.0.0`);

  let backend: AfPacketBackend;
  try {
    backend = new AfPacketBackend(ifname, { vips: [], vnetHdr: !values['no-vnet'], onError: (err) => log(`capture on ${ifname}: ${err.message}`) });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EPERM' || err.code === 'EACCES') {
      throw new UsageError(`tsvs daemon: no permission to capture on ${ifname}: run as root or with CAP_NET_RAW`, 1);
    }
    throw new UsageError(`tsvs daemon: cannot open ${ifname}: ${err.message}`, 1);
  }
  const earlyDrop = values['no-early-drop'] ? null : new EarlyDrop(ifname, log);
  const syncConf = loaded.native?.sync;
  const ha = followSetup(syncConf, vrrp);
  if (ha.problem) {
    backend.close();
    throw new UsageError(`tsvs daemon: ${ha.problem}`, 2);
  }
  const daemon = new Daemon({
    backend, ourIp, maxConns, log, statusFile: values['status-file'], earlyDrop,
    standby: values.standby === true, syncRules: ha.rules, syncVersion: syncConf?.version,
  });
  const follower = ha.follow ? new SyncFollower(daemon.sync, ha.follow, log) : null;
  if (follower) daemon.followStatus = () => follower.status();
  try {
    daemon.applyLoaded(loaded);
  } catch (e) {
    backend.close();
    throw new UsageError(`tsvs daemon: ${(e as Error).message}`, 2);
  }
  if (rulesText !== undefined) {
    let n: number;
    try {
      n = loadRules(daemon.director, rulesText, values.rules!);
      checkVips(daemon.director.services.services);
    } catch (e) {
      backend.close();
      if (e instanceof UsageError) throw e;
      throw new UsageError(`tsvs daemon: ${oneLine((e as Error).message)}`, 2);
    }
    daemon.controlChanged();
    log(`rules from ${values.rules}: ${n} command(s) applied`);
  }
  let runner: VrrpRunner | null = null;
  if (vrrp && vrrp.instances.length) {
    runner = new VrrpRunner(vrrp, {
      owner: daemon, log, addressOf: firstIpv4,
      ...(follower ? { onState: (i, from, to) => follower.onState(i, from, to), holdPreempt: (i) => follower.holdPreempt(i) } : {}),
    });
    const known = new Set(daemon.director.index.vips4);
    for (const inst of vrrp.instances) {
      for (const v of inst.vips) if (!known.has(v)) log(`warning: VRRP ${inst.name}: ${formatV4(v)} is not the VIP of any service (yet)`);
    }
    // Every VRRP VIP starts on standby: no ARP answers until its instance is MASTER.
    daemon.setVipsActive(runner.allVips(), false);
    const r = runner;
    daemon.vrrpStatus = () => r.status();
  }
  // The control socket comes up before capture starts: a second daemon on the same socket
  // stops here, before it touches the interface.
  let control: ControlServer;
  try {
    control = await ControlServer.start({ path: socketPath(values.socket), director: daemon.director, afterChange: () => daemon.controlChanged(), log, sync: daemon.sync });
  } catch (e) {
    backend.close();
    throw new UsageError(`tsvs daemon: ${(e as Error).message}`, 1);
  }
  daemon.start();
  if (syncConf) {
    try {
      daemon.startSync(syncConf.daemons);
    } catch (e) {
      daemon.stop();
      await control.close();
      throw new UsageError(`tsvs daemon: sync: ${(e as Error).message}`, 1);
    }
  }
  if (runner) {
    try {
      follower?.start(); // the backup receiver (and catch-up) before the instances start
      runner.start();
    } catch (e) {
      daemon.stop();
      await control.close();
      const err = e as NodeJS.ErrnoException;
      const perm = /EPERM|EACCES|not permitted/i.test(err.message);
      throw new UsageError(`tsvs daemon: VRRP: ${perm ? 'opening a raw socket for protocol 112 needs root or CAP_NET_RAW' : err.message}`, 1);
    }
    log(`VRRP: ${vrrp!.instances.map((i) => `${i.name} (VRID ${i.vrid}, priority ${i.priority}, v${i.version}, ${i.unicastPeers.length ? 'unicast' : 'multicast'} on ${i.interface})`).join(', ')}`);
  }
  let metricsServer: import('node:http').Server | null = null;
  if (values.metrics !== undefined) {
    try {
      metricsServer = await startMetricsServer(new Metrics(daemon.director, daemon.pipeline.stats, {
        processMetrics: true, health: () => daemon.monitor, sync: () => daemon.sync.counters(), vrrp: () => runner,
        follow: () => follower?.status() ?? null,
      }), values.metrics);
    } catch (e) {
      daemon.stop();
      await control.close();
      throw new UsageError(`tsvs daemon: ${(e as Error).message}`, 1);
    }
    log(`metrics at http://${values.metrics.startsWith(':') ? '*' : ''}${values.metrics}/metrics`);
  }
  const svcCount = daemon.director.services.services.length;
  log(`director on ${ifname} (${[...backend.mac].map((b) => b.toString(16).padStart(2, '0')).join(':')}, ${ourIp ? formatV4(ourIp) : 'no IPv4'}): ${svcCount} service(s), vnet headers ${backend.vnetHdr ? 'on' : 'off'}; control socket ${control.path}`);

  setTimeout(() => {
    for (const ip of daemon.neighbours.unresolved()) log(`warning: real server ${formatV4(ip)} does not answer ARP on ${ifname}; it stays unavailable until it does`);
  }, 3000).unref();

  return new Promise<number>((resolve) => {
    const keepAlive = setInterval(() => {}, 1 << 30);
    const stop = (sig: string) => {
      log(`${sig}: stopping`);
      clearInterval(keepAlive);
      // autoreload's file watcher would keep the process alive after the stop
      if (values.config) unwatchFile(values.config);
      runner?.stop(); // masters resign with priority 0 before the capture stops
      follower?.stop();
      daemon.stop();
      metricsServer?.close();
      metricsServer?.closeAllConnections();
      void control.close().then(() => resolve(0));
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    const reload = (why: string) => {
      if (!values.config) {
        log(`${why}: no config file to reload`);
        return;
      }
      try {
        const next = loadAnyConfig(values.config);
        const r = daemon.applyLoaded(next);
        logfile = next.health.logfile.startsWith('/') ? next.health.logfile : '';
        if (runner) log(`${why}: VRRP settings are not reloaded (restart to change them)`);
        log(`${why}: reloaded ${values.config}: added ${r.added.length}, changed ${r.changed.length}, removed ${r.removed.length}; connections kept: ${daemon.director.conns.size}`);
      } catch (e) {
        log(`${why}: ${(e as Error).message.replace(/\n/g, ' ')}; the running configuration is unchanged`);
      }
    };
    process.on('SIGHUP', () => reload('SIGHUP'));
    process.on('SIGUSR1', () => daemon.setActive(true));
    process.on('SIGUSR2', () => daemon.setActive(false));
    // ldirectord's autoreload=yes: a changed file applies without a restart.
    if (values.config && loaded.health.autoreload) {
      watchFile(values.config, { interval: 1000 }, (cur, prev) => {
        if (cur.mtimeMs !== prev.mtimeMs || cur.size !== prev.size) reload('autoreload');
      });
      log(`autoreload: watching ${values.config}`);
    }
  });
}

function emptyHealth(): HealthConfig {
  return { checkinterval: 10, autoreload: false, readdquiescent: false, logfile: '', callback: '', cleanstop: true, maintenancedir: '', virtuals: [] };
}

function oneLine(msg: string): string {
  return msg.trim().replace(/\s*\n\s*/g, ' ');
}

function localAddresses(): Map<number, string> {
  const out = new Map<number, string>();
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4') out.set(parseV4(a.address), name);
  }
  return out;
}

function firstIpv4(ifname: string): number {
  const a = networkInterfaces()[ifname]?.find((x) => x.family === 'IPv4');
  return a ? parseV4(a.address) : 0;
}
