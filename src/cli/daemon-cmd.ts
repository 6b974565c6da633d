// `tsvs daemon --interface IF [--config FILE] [--rules FILE] [--vrrp FILE] [--workers N]
// [--capture afpacket|tun|pcap]`: runs the director on one interface, in the main thread or
// in N data-plane workers (src/control/daemon-workers.ts); the capture backend comes from
// src/io/open-capture.ts.
// Logs to stderr; SIGTERM/SIGINT stop it cleanly; SIGHUP reloads the config and the VRRP
// settings (src/control/vrrp-reload.ts) without dropping existing connections. Every start-up problem is one clear line and exit 1
// (2 for bad arguments or a broken config file).

import { appendFileSync, readFileSync, unwatchFile, watchFile } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { parseArgs } from 'node:util';
import { formatV4, parseV4 } from '../core/addr';
import { ConfigError } from '../config/native-config';
import { loadAnyConfig, type LoadedConfig } from '../config/detect';
import type { HealthConfig } from '../health/types';
import { ControlServer, listsConnections, socketPath } from '../control/control-socket';
import type { ConnSnapshot } from '../ipvsadm/snapshot';
import { Daemon } from '../control/daemon';
import { EarlyDrop } from '../dataplane/early-drop';
import { loadRules, parseRules, RulesError } from '../control/rules-file';
import { ifInfo } from '../io/afpacket';
import { CAPTURE_MODES, DEFAULT_TUN_NAME, MAIN_THREAD, isCaptureMode, openCapture, type OpenedCapture } from '../io/open-capture';
import { ipForward, tunRouteCommands } from '../io/tun-backend';
import { chooseLayout, parseCpuList, RpsSteering, softirqCpus, type Layout } from '../control/cpu-layout';
import { availableParallelism } from 'node:os';
import { AfPacketBackend } from '../io/afpacket-backend';
import { describeRx, parseRxOptions, RxOptionError, type RxTuning } from './rx-options';
import { parseListen, startMetricsServer } from '../metrics/http';
import { Metrics } from '../metrics/metrics';
import { UsageError } from './usage-error';
import type { VrrpConfig } from '../ha/vrrp/config';
import { loadVrrpFile } from '../ha/vrrp/load';
import { VrrpRunner } from '../ha/vrrp/vrrp';
import { reloadVrrp } from '../control/vrrp-reload';
import { SyncFollower } from '../ha/follow';
import { followSetup } from '../ha/follow-config';

const HELP = `Usage: tsvs daemon --interface IF [options]

Runs the director on interface IF: captures frames for the VIPs, answers ping for them
(and ARP, except with --capture tun), and forwards connections to the real servers
(direct routing) out of IF.

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
  --capture MODE      how VIP traffic reaches tsvs (default afpacket):
                        afpacket  AF_PACKET ring on IF (fastest; see --rx-ring)
                        tun       the kernel routes the VIPs into a TUN device; tsvs
                                  sends the DR frames out of IF. The host is a router:
                                  needs net.ipv4.ip_forward=1 and, without --tun-routes,
                                  'ip route add VIP/32 dev NAME' for every VIP. ARP for
                                  the VIPs is not answered: route them to this host's
                                  own address on IF (ip route add VIP/32 via ADDR).
                        pcap      libpcap (the cap package) on IF; a fallback, slower
                                  (needs GRO/LRO off on IF: no vnet headers)
  --tun NAME          TUN device to create for --capture tun (default ${DEFAULT_TUN_NAME})
  --tun-routes        add 'ip route VIP/32 dev NAME' for every VIP, follow VIP changes
                      and remove them at stop (--capture tun)
  --tun-multiqueue    open the TUN device with IFF_MULTI_QUEUE when the kernel offers it
  --no-vnet           do not use vnet headers (GSO/checksum offload pass-through;
                      --capture afpacket and tun)
  --rx-ring v2|v3     AF_PACKET RX ring: v2 hands each frame over at once (low
                      latency, the default); v3 hands over blocks (>= 1 ms wait at
                      low rates). Advanced: --rx-tune KEY=VAL,... (src/cli/rx-options.ts)
  --no-early-drop     do not install the nft netdev ingress rule that drops the
                      kernel's (unused) copy of VIP traffic
  --socket PATH       control socket for tsvsadm (default $TSVS_SOCKET, else
                      /run/tsvs/tsvs.sock; created mode 0600, removed on stop)
  --metrics ADDR:PORT serve Prometheus metrics at http://ADDR:PORT/metrics (off by
                      default; ":PORT" listens on every address)
  --standby           start as a standby director: do not answer ARP for the VIPs nor
                      send gratuitous ARP (a backup beside an active director); SIGUSR1
                      makes it active (gratuitous ARP at once), SIGUSR2 standby again
  --workers N         forward in N worker threads, each with its own AF_PACKET socket
                      (one PACKET_FANOUT_CBPF group) and connection-table shard; 1
                      forwards in the main thread. Default (or "workers:" in a native
                      config): the CPUs that do not run the interface's receive softirq
                      (its IRQs' affinity and RPS masks); on a veth, whose softirq runs
                      on the sending CPU, max(1, CPUs - 1)
  --cpus LIST         pin worker i to the i-th CPU of LIST (e.g. 1-3); default: the
                      CPUs chosen as above
  --steer-softirq     set the interface's RPS masks to the CPUs without a worker (and
                      restore them at stop), so receive softirq never shares a core
                      with a worker
Connection sync (with --workers, each worker syncs its own shard of the table):
  fixed roles     'tsvsadm --start-daemon master|backup ...' or the config's
                  'sync: { state: master|backup|both, ... }'
  following VRRP  keepalived.conf global_defs 'lvs_sync_daemon IF [inst] INSTANCE [id N]
                  [maxlen N] [port N] [ttl N] [group ADDR]' (syncid default: the VRID) or
                  'sync: { follow_vrrp: INSTANCE }' (not with 'state'): sync master while
                  the instance is MASTER, sync backup in BACKUP and FAULT (the synced
                  conns are forwarded from the moment it becomes MASTER), neither while
                  it is stopped. 'active_active: true' runs both whatever the state.
  catch-up        (on by default with following; 'catch_up: false' turns it off) after a
                  start, and when the interface comes back from FAULT, the instance does
                  not preempt a live master, nor claim mastership for 'state MASTER' or
                  priority 255, until it has received a full table walk: two end-of-walk
                  markers from the master. Only a tsvs master sends them, every
                  'full_sync_period' seconds (default 10 when following); from a kernel
                  IPVS master, or one with full_sync_period 0, the hold lasts the whole
                  'catch_up_timeout' (default 60 s) and is counted as timed out. With no
                  master heard the instance becomes MASTER as usual (catch-up "not
                  needed"). 'tsvs status' and the metrics show the phase and counters.
  Check a file with 'tsvs check-config FILE'. See README "High availability".
Signals: SIGHUP reloads the config and the VRRP settings (a master stays master);
SIGTERM/SIGINT stop; SIGUSR1/SIGUSR2 active/standby.
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
        capture: { type: 'string' },
        tun: { type: 'string' },
        'tun-routes': { type: 'boolean' },
        'tun-multiqueue': { type: 'boolean' },
        'rx-ring': { type: 'string' },
        'rx-tune': { type: 'string' },
        'no-early-drop': { type: 'boolean' },
        socket: { type: 'string' },
        metrics: { type: 'string' },
        standby: { type: 'boolean' },
        workers: { type: 'string' },
        cpus: { type: 'string' },
        'steer-softirq': { type: 'boolean' },
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
  const mode = values.capture ?? 'afpacket';
  if (!isCaptureMode(mode)) throw new UsageError(`tsvs daemon: --capture wants one of ${CAPTURE_MODES.join(', ')}, not '${mode}'`);
  if (mode !== 'tun' && (values.tun !== undefined || values['tun-routes'] || values['tun-multiqueue'])) {
    throw new UsageError('tsvs daemon: --tun, --tun-routes and --tun-multiqueue need --capture tun');
  }
  const tunName = values.tun ?? DEFAULT_TUN_NAME;
  if (mode === 'tun' && !/^[A-Za-z0-9_.-]{1,15}$/.test(tunName)) throw new UsageError(`tsvs daemon: --tun wants an interface name of 1 to 15 characters, not '${tunName}'`);
  let maxConns = 1 << 20;
  if (values['max-conns'] !== undefined) {
    maxConns = Number(values['max-conns']);
    if (!/^\d+$/.test(values['max-conns']) || maxConns < 16 || maxConns > 50_000_000) {
      throw new UsageError(`tsvs daemon: --max-conns wants a whole number from 16 to 50000000, not '${values['max-conns']}'`);
    }
  }
  let workersOpt: number | undefined;
  if (values.workers !== undefined) {
    workersOpt = Number(values.workers);
    if (!/^\d+$/.test(values.workers) || workersOpt < 1 || workersOpt > 256) throw new UsageError(`tsvs daemon: --workers wants a whole number from 1 to 256, not '${values.workers}'`);
  }
  let cpusOpt: number[] | undefined;
  if (values.cpus !== undefined) {
    try {
      cpusOpt = parseCpuList(values.cpus);
    } catch (e) {
      throw new UsageError(`tsvs daemon: --cpus: ${(e as Error).message}`);
    }
    const ncpu = availableParallelism();
    if (cpusOpt.length === 0 || cpusOpt.some((c) => c >= ncpu)) throw new UsageError(`tsvs daemon: --cpus ${values.cpus}: this host has CPUs 0-${ncpu - 1}`);
  }
  let rx: RxTuning;
  try {
    rx = parseRxOptions(values['rx-ring'] ?? process.env.TSVS_RX_RING, values['rx-tune'] ?? process.env.TSVS_RX_TUNE);
  } catch (e) {
    if (e instanceof RxOptionError) throw new UsageError(`tsvs daemon: ${e.message}`);
    throw e;
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

  // Worker layout: explicit --workers/--cpus, else "workers:" of the config, else the CPUs
  // free of receive softirq (src/control/cpu-layout.ts).
  const ncpu = availableParallelism();
  const soft = softirqCpus(ifname);
  const layout: Layout = chooseLayout({ ncpu, softirq: soft.cpus, workers: workersOpt ?? loaded.native?.workers, cpus: cpusOpt });
  const nWorkers = mode === 'afpacket' ? layout.workers : 1;
  if (mode !== 'afpacket' && layout.workers > 1 && workersOpt !== undefined) {
    throw new UsageError(`tsvs daemon: --capture ${mode} runs with one worker only (use --workers 1)`);
  }
  const vnetHdr = !values['no-vnet'];
  if (mode === 'tun' && ipForward() === 0) {
    log('warning: --capture tun needs net.ipv4.ip_forward=1 (the kernel routes the VIPs into the TUN device); it is 0');
  }
  let opened: OpenedCapture;
  try {
    opened = openCapture({
      mode, ifname, vips: [], log, onError: (err) => log(`capture on ${ifname}: ${err.message}`),
      vnetHdr, rx, tunName, tunRoutes: values['tun-routes'] ?? false, multiQueue: values['tun-multiqueue'] ?? false,
      shard: nWorkers > 1 ? { index: MAIN_THREAD, workers: nWorkers, fanoutGroup: 0 } : undefined,
    });
  } catch (e) {
    // A ring geometry that does not fit together (from --rx-tune) is a usage error.
    if (e instanceof RangeError) throw new UsageError(`tsvs daemon: --rx-tune: ${e.message}`);
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EPERM' || err.code === 'EACCES') {
      throw new UsageError(`tsvs daemon: no permission to capture on ${ifname}: run as root or with CAP_NET_RAW${mode === 'tun' ? ' and CAP_NET_ADMIN' : ''}`, 1);
    }
    throw new UsageError(`tsvs daemon: cannot open ${mode === 'tun' ? `TUN device ${tunName} / ` : ''}${ifname}: ${oneLine(err.message)}`, 1);
  }
  const backend = opened.backend;
  const earlyDrop = values['no-early-drop'] || !opened.earlyDrop ? null : new EarlyDrop(ifname, log);
  const syncConf = loaded.native?.sync;
  const ha = followSetup(syncConf, vrrp);
  if (ha.problem) {
    backend.close();
    throw new UsageError(`tsvs daemon: ${ha.problem}`, 2);
  }
  // A worker that dies stops the daemon (exit 1): set once the run loop below exists.
  let onFatal: (msg: string) => void = () => {};
  const workers = nWorkers > 1
    ? { cpus: layout.cpus, ifname, vnetHdr, fanoutGroup: (process.pid & 0xfffe) | 1, maxConnsPerShard: Math.max(16, Math.ceil(maxConns / nWorkers)), onFatal: (msg: string) => onFatal(msg) }
    : null;
  const daemon = new Daemon({
    backend, ourIp, maxConns: workers ? workers.maxConnsPerShard : maxConns, log, statusFile: values['status-file'], earlyDrop, workers,
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
    control = await ControlServer.start({ path: socketPath(values.socket), director: daemon.director, afterChange: () => daemon.controlChanged(), log, sync: daemon.sync, ...controlHooks(daemon) });
  } catch (e) {
    backend.close();
    throw new UsageError(`tsvs daemon: ${(e as Error).message}`, 1);
  }
  let steering: RpsSteering | null = null;
  if (nWorkers > 1) {
    log(`data plane: ${nWorkers} workers on CPUs ${layout.cpus.join(',')} (${layout.why}); receive softirq of ${ifname}: ${soft.cpus.length ? `CPUs ${soft.cpus.join(',')}` : 'unknown'} (${soft.source})`);
    if (values['steer-softirq']) steering = RpsSteering.apply(ifname, layout.cpus, ncpu, log);
    try {
      await daemon.startWorkers();
    } catch (e) {
      steering?.restore();
      daemon.stop();
      await control.close();
      throw new UsageError(`tsvs daemon: ${(e as Error).message}`, 1);
    }
  } else if (values['steer-softirq']) {
    log('--steer-softirq: ignored with one worker (the main thread forwards and is not pinned)');
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
      const metrics = new Metrics(daemon.director, daemon.pipeline.stats, {
        processMetrics: true,
        health: () => daemon.monitor,
        sync: () => daemon.sync.counters(),
        vrrp: () => runner,
        follow: () => follower?.status() ?? null,
        refresh: () => daemon.refresh(),
        table: daemon.workers ? () => daemon.workers!.shared.table() : undefined,
      });
      metricsServer = await startMetricsServer(metrics, values.metrics);
    } catch (e) {
      daemon.stop();
      await control.close();
      throw new UsageError(`tsvs daemon: ${(e as Error).message}`, 1);
    }
    log(`metrics at http://${values.metrics.startsWith(':') ? '*' : ''}${values.metrics}/metrics`);
  }
  const svcCount = daemon.director.services.services.length;
  log(`director on ${ifname} (${[...backend.mac].map((b) => b.toString(16).padStart(2, '0')).join(':')}, ${ourIp ? formatV4(ourIp) : 'no IPv4'}): ${svcCount} service(s), vnet headers ${(daemon.workers ? vnetHdr : backend.vnetHdr) ? 'on' : 'off'}${daemon.workers ? `, ${daemon.workers.count} workers` : ''}, ${opened.summary}${opened.backend instanceof AfPacketBackend ? `, ${describeRx(opened.backend.sock)}` : ''}; control socket ${control.path}`);
  if (mode === 'tun' && !values['tun-routes']) {
    const cmds = tunRouteCommands([...daemon.director.index.vips4].sort((a, b) => a - b), tunName);
    if (cmds.length) log(`--capture tun without --tun-routes: route the VIPs into ${tunName} yourself: ${cmds.join('; ')}`);
  }

  setTimeout(() => {
    for (const ip of daemon.neighbours.unresolved()) log(`warning: real server ${formatV4(ip)} does not answer ARP on ${ifname}; it stays unavailable until it does`);
  }, 3000).unref();

  return new Promise<number>((resolve) => {
    const keepAlive = setInterval(() => {}, 1 << 30);
    let stopped = false;
    const stop = (sig: string, code = 0) => {
      if (stopped) return;
      stopped = true;
      log(`${sig}: stopping`);
      clearInterval(keepAlive);
      // autoreload's file watcher would keep the process alive after the stop
      if (values.config) unwatchFile(values.config);
      runner?.stop(); // masters resign with priority 0 before the capture stops
      follower?.stop();
      daemon.stop();
      steering?.restore();
      metricsServer?.close();
      metricsServer?.closeAllConnections();
      void control.close().then(() => resolve(code));
    };
    onFatal = (msg) => stop(`fatal: ${msg}`, 1);
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    const followInstance = ha.follow?.instance ?? null;
    const reload = (why: string) => {
      if (!values.config && values.vrrp === undefined) {
        log(`${why}: no config file to reload`);
        return;
      }
      let fromConfig: VrrpConfig | undefined;
      if (values.config) {
        try {
          const next = loadAnyConfig(values.config);
          const r = daemon.applyLoaded(next);
          fromConfig = next.native?.vrrp;
          logfile = next.health.logfile.startsWith('/') ? next.health.logfile : '';
          log(`${why}: reloaded ${values.config}: added ${r.added.length}, changed ${r.changed.length}, removed ${r.removed.length}; connections kept: ${daemon.connCount()}`);
        } catch (e) {
          log(`${why}: ${(e as Error).message.replace(/\n/g, ' ')}; the running configuration is unchanged`);
          return;
        }
      }
      // the --vrrp file, else the config's own vrrp: section (when it has one)
      if (values.vrrp !== undefined || fromConfig || runner) reloadVrrp(why, runner, values.vrrp !== undefined ? { file: values.vrrp } : { fromConfig }, followInstance, log);
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

/** With workers: the control socket folds their counters in before each request and gathers their connections for -L -c. */
function controlHooks(daemon: Daemon): { prepare?: (argv: readonly string[]) => Promise<void>; connections?: () => ConnSnapshot[] } {
  if (!daemon.workers) return {};
  let conns: ConnSnapshot[] = [];
  return {
    prepare: async (argv) => {
      conns = listsConnections(argv) ? ((await daemon.connections()) ?? []) : [];
      daemon.refresh();
    },
    connections: () => conns,
  };
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
