// The `vrrp:` section of the native YAML/JSON config, with keepalived's setting names so
// that one page of documentation serves both formats:
//
//   vrrp:
//     version: 3                     # default for the instances (keepalived vrrp_version; default 2)
//     instances:
//       - name: VI_1
//         interface: eth0
//         virtual_router_id: 51
//         priority: 150              # 1..255, default 100
//         state: BACKUP              # or MASTER
//         advert_int: 1              # seconds (v3: down to 0.01)
//         virtual_ipaddress: [192.0.2.100]
//         nopreempt: true            # or preempt_delay: 10
//         authentication: { auth_type: PASS, auth_pass: secret }   # v2 only
//         unicast_src_ip: 192.0.2.2  # with unicast_peer: [192.0.2.3]
//         garp_master_delay: 5
//         garp_master_repeat: 5
//         track_script: [chk_web]    # or "chk_web weight -20"; track_interface: [eth1]
//     scripts:                       # keepalived's vrrp_script blocks (track-config.ts)
//       - { name: chk_web, script: "/usr/local/bin/chk-web", interval: 2, weight: -20, fall: 2 }
//
// Each instance becomes a RawInstance (config.ts) and is checked like a keepalived one.

import { isMap, isScalar, isSeq, type LineCounter, type Node } from 'yaml';
import { checkInstances, instanceFrom, type RawEntry, type VrrpConfig } from './config';
import { checkTracking, scriptFrom } from './track-config';

export function parseVrrpSection(node: unknown, lc: LineCounter, problems: string[]): VrrpConfig | undefined {
  if (node === undefined || node === null) return undefined;
  const lineOf = (n: unknown): number => {
    const r = (n as Node | null)?.range;
    return r ? lc.linePos(r[0]).line : 1;
  };
  const bad = (line: number, msg: string) => problems.push(`line ${line}: ${msg}`);
  const warnings: string[] = [];
  const warn = (line: number, msg: string) => warnings.push(`line ${line}: ${msg}`);
  if (!isMap(node)) {
    bad(lineOf(node), '"vrrp" must be a mapping with "instances"');
    return undefined;
  }
  let version: 2 | 3 = 2;
  const out: VrrpConfig = { instances: [], warnings, scripts: [] };
  for (const pair of node.items) {
    const key = String(isScalar(pair.key) ? pair.key.value : pair.key);
    const kline = lineOf(pair.key);
    if (key === 'version') {
      const v = isScalar(pair.value) ? String(pair.value.value) : '';
      if (v === '2' || v === '3') version = Number(v) as 2 | 3;
      else bad(kline, `vrrp version must be 2 or 3, not "${v}"`);
    } else if (key === 'scripts') {
      if (!isSeq(pair.value)) {
        bad(kline, '"scripts" must be a list of { name, script, ... }');
        continue;
      }
      for (const item of pair.value.items) {
        if (!isMap(item)) {
          bad(lineOf(item), 'each vrrp script must be a mapping');
          continue;
        }
        let name = '';
        const entries: RawEntry[] = [];
        for (const p of item.items) {
          const k = String(isScalar(p.key) ? p.key.value : p.key);
          const val = isScalar(p.value) && p.value.value !== null ? [String(p.value.value)] : [];
          if (k === 'name') name = val[0] ?? '';
          else entries.push({ key: k, args: val, line: lineOf(p.key) });
        }
        if (!name) bad(lineOf(item), 'each vrrp script needs a "name"');
        else if (out.scripts.some((s) => s.name === name)) bad(lineOf(item), `vrrp script ${name} is defined twice`);
        else {
          const sc = scriptFrom(name, lineOf(item), entries, bad, warn);
          if (sc) out.scripts.push(sc);
        }
      }
    } else if (key !== 'instances') {
      bad(kline, `unknown vrrp setting "${key}" (expected version, instances, scripts)`);
    }
  }
  const list = node.get('instances', true);
  if (!isSeq(list)) {
    bad(lineOf(node), '"vrrp" needs an "instances" list');
    return out;
  }
  for (const item of list.items) {
    const line = lineOf(item);
    if (!isMap(item)) {
      bad(line, 'each vrrp instance must be a mapping');
      continue;
    }
    let name = '';
    const entries: RawEntry[] = [];
    for (const pair of item.items) {
      const key = String(isScalar(pair.key) ? pair.key.value : pair.key);
      const kline = lineOf(pair.key);
      const v = pair.value;
      if (key === 'name') {
        name = isScalar(v) ? String(v.value) : '';
        continue;
      }
      if (isSeq(v)) {
        entries.push({ key, args: [], line: kline, block: v.items.map((x) => ({ args: [String(isScalar(x) ? x.value : '')], line: lineOf(x) })) });
      } else if (isMap(v)) {
        entries.push({ key, args: [], line: kline, block: v.items.map((p) => ({ args: [String(isScalar(p.key) ? p.key.value : ''), String(isScalar(p.value) ? p.value.value : '')], line: lineOf(p.key) })) });
      } else if (isScalar(v) && typeof v.value === 'boolean') {
        // nopreempt: true; `false` means "not set"
        if (v.value) entries.push({ key, args: [], line: kline });
      } else if (isScalar(v) && typeof v.value === 'string' && (key === 'virtual_ipaddress' || key === 'unicast_peer')) {
        entries.push({ key, args: [], line: kline, block: v.value.split(/[\s,]+/).filter(Boolean).map((a) => ({ args: [a], line: kline })) });
      } else {
        entries.push({ key, args: isScalar(v) && v.value !== null ? [String(v.value)] : [], line: kline });
      }
    }
    if (!name) bad(line, 'each vrrp instance needs a "name"');
    const c = instanceFrom({ name: name || '?', line, entries }, version, bad, warn);
    if (c) out.instances.push(c);
  }
  checkInstances(out.instances, bad);
  checkTracking(out.instances, out.scripts, bad);
  return out;
}
