// The `vrrp_instance` subset of keepalived.conf (reference §5.4), for `tsvs daemon --vrrp`.
//
// keepalived.conf is words and braces: `keyword args...` per line, `{ ... }` opening a
// block, `#` or `!` starting a comment. We read:
//   global_defs { vrrp_version 2|3 ... }      (other global settings are ignored)
//   vrrp_instance NAME { ... }                (settings: config.ts, instanceFrom)
// Other top-level blocks (virtual_server, vrrp_script, vrrp_sync_group, static_ipaddress,
// ...) are skipped with a warning: tsvs programs its own services, and keepalived's
// virtual_server cannot drive it anyway (reference §5.1). `include` is not followed.
// Every problem comes back as `line N: message`.

import { ConfigError } from '../../config/native-config';
import { checkInstances, instanceFrom, type RawEntry, type RawInstance, type VrrpConfig } from './config';

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
  const raws: RawInstance[] = [];
  for (const s of top) {
    const [kw, ...args] = s.words;
    if (kw === 'global_defs') {
      for (const g of s.block ?? []) {
        if (g.words[0] === 'vrrp_version') {
          if (g.words[1] === '2' || g.words[1] === '3') version = Number(g.words[1]) as 2 | 3;
          else bad(g.line, `vrrp_version must be 2 or 3, not "${g.words[1] ?? ''}"`);
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
    if (kw === 'include') {
      bad(s.line, '"include" is not supported: give tsvs one file');
      continue;
    }
    warn(s.line, `"${kw}" is ignored: tsvs reads only global_defs and vrrp_instance`);
  }
  const instances = [];
  for (const r of raws) {
    const c = instanceFrom(r, version, bad, warn);
    if (c) instances.push(c);
  }
  checkInstances(instances, bad);
  return { config: { instances, warnings }, problems };
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
