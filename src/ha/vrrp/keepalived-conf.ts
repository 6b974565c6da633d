// The `vrrp_instance` subset of keepalived.conf (reference §5.4), for `tsvs daemon --vrrp`.
//
// keepalived.conf is words and braces: `keyword args...` per line, `{ ... }` opening a
// block, `#` or `!` starting a comment. We read:
//   global_defs { vrrp_version 2|3
//                 lvs_sync_daemon IF [inst] INSTANCE [id N] [maxlen N] [port N] [ttl N] [group ADDR]
//                 ... }                       (other global settings are ignored)
// lvs_sync_daemon makes connection sync follow INSTANCE's state (src/ha/follow.ts), with
// tsvs's defaults for what keepalived.conf cannot say (catch-up on, src/ha/catchup.ts).
//   vrrp_instance NAME { ... }                (settings: config.ts, instanceFrom)
//   vrrp_script NAME { ... }                  (track_script's checks: track-config.ts)
// Other top-level blocks (virtual_server, vrrp_sync_group, static_ipaddress,
// ...) are skipped with a warning: tsvs programs its own services, and keepalived's
// virtual_server cannot drive it anyway (reference §5.1). `include` is not followed.
// Every problem comes back as `line N: message`.

import { ConfigError } from '../../config/native-config';
import { isIPv4 } from 'node:net';
import { checkInstances, instanceFrom, type LvsSyncDaemon, type RawEntry, type RawInstance, type VrrpConfig } from './config';
import { checkTracking, scriptFrom, type VrrpScriptConfig } from './track-config';

interface Tok {
  w: string;
  line: number;
}

function tokenize(text: string): Tok[] {
  const out: Tok[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i].replace(/[#!].*$/, '');
    // braces are words of their own even when glued to a word ("VI_1{")
    for (const w of l.replace(/([{}])/g, ' $1 ').split(/\s+/)) if (w) out.push({ w, line: i + 1 });
  }
  return out;
}

/** A statement: its words on one line, and its `{ ... }` block if one follows. */
interface Stmt {
  words: string[];
  line: number;
  block?: Stmt[];
}

function statements(toks: Tok[], bad: (line: number, msg: string) => void): Stmt[] {
  let i = 0;
  const parse = (depth: number, openLine: number): Stmt[] => {
    const out: Stmt[] = [];
    while (i < toks.length) {
      const t = toks[i];
      if (t.w === '}') {
        i++;
        if (depth === 0) bad(t.line, 'unexpected "}"');
        else return out;
        continue;
      }
      if (t.w === '{') {
        // a block with no keyword in front (keepalived allows `{` on its own line after one)
        i++;
        const prev = out[out.length - 1];
        const inner = parse(depth + 1, t.line);
        if (prev && !prev.block) prev.block = inner;
        else bad(t.line, 'a block "{" without a keyword');
        continue;
      }
      const s: Stmt = { words: [], line: t.line };
      while (i < toks.length && toks[i].line === t.line && toks[i].w !== '{' && toks[i].w !== '}') s.words.push(toks[i++].w);
      if (i < toks.length && toks[i].w === '{') {
        const open = toks[i];
        i++;
        s.block = parse(depth + 1, open.line);
      }
      out.push(s);
    }
    if (depth > 0) bad(openLine, 'this "{" is never closed');
    return out;
  };
  return parse(0, 1);
}

export interface KeepalivedParse {
  config: VrrpConfig;
  problems: string[];
}

/** Parses keepalived.conf text; problems are `line N: message`. */
export function parseKeepalived(text: string): KeepalivedParse {
  const problems: string[] = [];
  const warnings: string[] = [];
  const bad = (line: number, msg: string) => problems.push(`line ${line}: ${msg}`);
  const warn = (line: number, msg: string) => warnings.push(`line ${line}: ${msg}`);
  const top = statements(tokenize(text), bad);
  let version: 2 | 3 = 2;
  let lvs: LvsSyncDaemon | undefined;
  let lvsSeen = 0;
  const raws: RawInstance[] = [];
  const scripts: VrrpScriptConfig[] = [];
  for (const s of top) {
    const [kw, ...args] = s.words;
    if (kw === 'global_defs') {
      for (const g of s.block ?? []) {
        if (g.words[0] === 'vrrp_version') {
          if (g.words[1] === '2' || g.words[1] === '3') version = Number(g.words[1]) as 2 | 3;
          else bad(g.line, `vrrp_version must be 2 or 3, not "${g.words[1] ?? ''}"`);
        } else if (g.words[0] === 'lvs_sync_daemon') {
          if (lvsSeen) bad(g.line, `lvs_sync_daemon is given twice (first on line ${lvsSeen})`);
          else {
            lvsSeen = g.line;
            lvs = lvsSyncDaemon(g.words.slice(1), g.line, bad, warn);
          }
        } else if (g.words[0] === 'vrrp_mcast_group4' && g.words[1] !== '224.0.0.18') {
          bad(g.line, 'vrrp_mcast_group4 other than 224.0.0.18 is not supported');
        }
      }
      continue;
    }
    if (kw === 'vrrp_instance') {
      if (args.length !== 1) bad(s.line, 'vrrp_instance wants one NAME');
      if (!s.block) {
        bad(s.line, `vrrp_instance ${args[0] ?? ''}: missing "{ ... }"`);
        continue;
      }
      raws.push({ name: args[0] ?? '?', line: s.line, entries: s.block.map(toEntry) });
      continue;
    }
    if (kw === 'vrrp_script') {
      if (args.length !== 1 || !s.block) {
        bad(s.line, 'vrrp_script wants one NAME and a block { script ... }');
        continue;
      }
      const dup = scripts.find((x) => x.name === args[0]);
      if (dup) bad(s.line, `vrrp_script ${args[0]} is defined twice (first on line ${dup.line})`);
      const sc = scriptFrom(args[0], s.line, s.block.map(toEntry), bad, warn);
      if (sc && !dup) scripts.push(sc);
      continue;
    }
    if (kw === 'include') {
      bad(s.line, '"include" is not supported: give tsvs one file');
      continue;
    }
    warn(s.line, `"${kw}" is ignored: tsvs reads only global_defs, vrrp_instance and vrrp_script`);
  }
  const instances = [];
  for (const r of raws) {
    const c = instanceFrom(r, version, bad, warn);
    if (c) instances.push(c);
  }
  checkInstances(instances, bad);
  checkTracking(instances, scripts, bad);
  if (lvs) {
    const inst = instances.find((i) => i.name === lvs!.instance);
    if (!inst) bad(lvs.line, `lvs_sync_daemon: no vrrp_instance named "${lvs.instance}"`);
    else if (lvs.syncid < 0) lvs.syncid = inst.vrid;
  }
  return { config: { instances, warnings, scripts, ...(lvs ? { lvsSyncDaemon: lvs } : {}) }, problems };
}

/**
 * `lvs_sync_daemon IF [[inst] INSTANCE] [id N] [maxlen N] [port N] [ttl N] [group ADDR]`
 * (syncid -1 = the VRID), read as keepalived 2.x does (global_parser.c): option keywords
 * anywhere after IF; a word that is not one is the instance in third place (`inst NAME`
 * says it anywhere) and, for compatibility, a bare SYNCID in fourth place (warned: keepalived
 * asks for `id`). keepalived runs the sync daemon without an instance; tsvs follows one, so
 * it is required here.
 */
function lvsSyncDaemon(args: string[], line: number, bad: (line: number, msg: string) => void, warn: (line: number, msg: string) => void): LvsSyncDaemon | undefined {
  const usage = 'lvs_sync_daemon wants INTERFACE [inst] VRRP_INSTANCE [id N] [maxlen N] [port N] [ttl N] [group ADDR]';
  const ifname = args[0];
  if (!ifname) {
    bad(line, usage);
    return undefined;
  }
  if (ifname.length > 15) bad(line, `lvs_sync_daemon: interface name "${ifname}" is longer than 15 characters`);
  const out: LvsSyncDaemon = { interface: ifname, instance: '', syncid: -1, line };
  const ranges: Record<string, [number, number]> = { id: [0, 255], maxlen: [64, 65507], port: [1, 65535], ttl: [1, 255] };
  for (let i = 1; i < args.length; i++) {
    const k = args[i];
    const isOption = k === 'inst' || k === 'group' || ranges[k] !== undefined;
    if (!isOption) {
      // positional words of the older form: IF INSTANCE [SYNCID]
      if (i === 1) {
        out.instance = k;
      } else if (i === 2 && out.instance !== '' && /^\d+$/.test(k)) {
        if (Number(k) > 255) bad(line, `lvs_sync_daemon: id must be 0..255, not "${k}"`);
        else {
          out.syncid = Number(k);
          warn(line, `lvs_sync_daemon: a bare sync id is the old form; write "id ${k}"`);
        }
      } else {
        bad(line, `lvs_sync_daemon: unknown option "${k}" (inst, id, maxlen, port, ttl, group)`);
      }
      continue;
    }
    const v = args[i + 1];
    i++; // the value
    if (v === undefined) {
      bad(line, `lvs_sync_daemon: "${k}" wants a value`);
      break;
    }
    if (k === 'inst') {
      if (out.instance !== '') bad(line, `lvs_sync_daemon: the VRRP instance is given twice ("${out.instance}", "${v}")`);
      else out.instance = v;
      continue;
    }
    if (k === 'group') {
      if (!isIPv4(v) || Number(v.split('.')[0]) < 224 || Number(v.split('.')[0]) > 239) bad(line, `lvs_sync_daemon: group must be an IPv4 multicast address, not "${v}"`);
      else out.group = v;
      continue;
    }
    const r = ranges[k];
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < r[0] || n > r[1]) {
      bad(line, `lvs_sync_daemon: ${k} must be ${r[0]}..${r[1]}, not "${v}"`);
      continue;
    }
    if (k === 'id') out.syncid = n;
    else if (k === 'maxlen') out.maxlen = n;
    else if (k === 'port') out.port = n;
    else out.ttl = n;
  }
  if (out.instance === '') {
    bad(line, `lvs_sync_daemon: no VRRP instance given (tsvs's sync follows one): ${usage}`);
    return undefined;
  }
  return out;
}

function toEntry(s: Stmt): RawEntry {
  const [key, ...args] = s.words;
  const e: RawEntry = { key: key ?? '', args, line: s.line };
  if (s.block) e.block = s.block.map((b) => ({ args: b.words, line: b.line }));
  return e;
}

/** Like parseKeepalived, but throws ConfigError when there are problems. */
export function loadKeepalived(text: string, file: string): VrrpConfig {
  const r = parseKeepalived(text);
  if (r.problems.length) throw new ConfigError(file, r.problems);
  return r.config;
}

/** Is this text keepalived.conf rather than YAML? (a vrrp_instance or global_defs block) */
export function looksLikeKeepalived(text: string): boolean {
  return /^\s*(vrrp_instance|global_defs|vrrp_sync_group|virtual_server|vrrp_script)\b[^:\n]*\{?\s*$/m.test(text);
}
