// Which configuration format is this file? An ldirectord.cf has `virtual=`/`virtual6=`
// or one of ldirectord's global directives (`name=value`) at column 0 and does not look
// like YAML (`key: value`) or JSON (`{`/`[`); everything else is the native YAML/JSON.

import { readFileSync } from 'node:fs';
import type { HealthConfig } from '../health/types';
import type { NameResolver } from '../ipvsadm/names';
import { ConfigError, healthConfigFromNative, parseNativeConfig, type NativeConfig } from './native-config';
import { parseLdirectord } from './ldirectord';

export type ConfigKind = 'ldirectord' | 'native';

export interface LoadedConfig {
  kind: ConfigKind;
  health: HealthConfig;
  native?: NativeConfig;
}

const LD_GLOBALS = /^(virtual6?|checktimeout|negotiatetimeout|connecttimeout|timeout|checkinterval|checkcount|failurecount|fallback6?|fallbackcommand|autoreload|callback|logfile|execute|fork|supervised|quiescent|readdquiescent|emailalert\w*|smtp|cleanstop|maintenancedir)\s*=/;

/** Guesses the format from the text. */
export function detectFormat(text: string): ConfigKind {
  const lines = text.split(/\r?\n/).filter((l) => !/^\s*(#.*)?$/.test(l));
  if (lines.length === 0) return 'native';
  const first = lines[0].trimStart();
  if (first.startsWith('{') || first.startsWith('[') || first.startsWith('---')) return 'native';
  if (lines.some((l) => /^[A-Za-z_][\w-]*\s*:(\s|$)/.test(l))) return 'native';
  return lines.some((l) => LD_GLOBALS.test(l)) ? 'ldirectord' : 'native';
}

/** Parses text of either format; throws ConfigError (with `line N: message` entries) on problems. */
export function parseAnyConfig(text: string, file: string, resolver?: NameResolver): LoadedConfig {
  if (detectFormat(text) === 'ldirectord') {
    const { config, problems } = parseLdirectord(text, file, resolver);
    if (problems.length) throw new ConfigError(file, problems.map((p) => `line ${p.line}: ${p.message}`));
    return { kind: 'ldirectord', health: config };
  }
  const native = parseNativeConfig(text, file);
  return { kind: 'native', health: healthConfigFromNative(native, file), native };
}

/** Reads a configuration file of either format. */
export function loadAnyConfig(path: string, resolver?: NameResolver): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(path, [`cannot read: ${(e as Error).message}`]);
  }
  return parseAnyConfig(text, path, resolver);
}
