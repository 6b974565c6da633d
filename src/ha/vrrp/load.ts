// Reading a VRRP configuration file of either format: keepalived.conf (vrrp_instance
// blocks) or the native YAML/JSON with a `vrrp:` section. The format is told by the text.

import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isMap } from 'yaml';
import { ConfigError } from '../../config/native-config';
import type { VrrpConfig } from './config';
import { looksLikeKeepalived, loadKeepalived } from './keepalived-conf';
import { parseVrrpSection } from './yaml-config';

export function parseVrrpText(text: string, file: string): { kind: 'keepalived' | 'native'; config: VrrpConfig } {
  if (looksLikeKeepalived(text)) return { kind: 'keepalived', config: loadKeepalived(text, file) };
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  const problems: string[] = doc.errors.map((e) => `line ${lc.linePos(e.pos[0]).line}: ${e.message.split('\n')[0]}`);
  if (problems.length) throw new ConfigError(file, problems);
  const root = doc.contents;
  const node = isMap(root) ? root.get('vrrp', true) : undefined;
  if (node === undefined) throw new ConfigError(file, ['line 1: neither keepalived.conf (vrrp_instance blocks) nor YAML with a "vrrp:" section']);
  const config = parseVrrpSection(node, lc, problems);
  if (problems.length || !config) throw new ConfigError(file, problems.length ? problems : ['line 1: empty "vrrp" section']);
  return { kind: 'native', config };
}

export function loadVrrpFile(path: string): { kind: 'keepalived' | 'native'; config: VrrpConfig } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(path, [`cannot read: ${(e as Error).message}`]);
  }
  return parseVrrpText(text, path);
}
