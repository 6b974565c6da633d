// Loads a rules file in ipvsadm-save / ipvsadm-restore form into a director.
//
// Lines are read as ipvsadm-restore does: lines starting with '#' are dropped (the
// wrapper's grep), then each line is split on whitespace, a token that is exactly
// `ipvsadm` is dropped, and the rest is one ipvsadm command line. Every line is parsed
// before anything is applied, so a syntax error anywhere changes nothing; an error names
// the file and line.

import { IpvsError } from '../core/errors';
import type { Director } from '../core/director';
import { IpvsadmError, parseArgs } from '../ipvsadm/argv';
import type { ParsedCommand } from '../ipvsadm/commands';
import { applyCommand } from './apply';

export class RulesError extends Error {
  readonly line: number;
  constructor(file: string, line: number, message: string) {
    super(`${file}:${line}: ${message}`);
    this.line = line;
    this.name = 'RulesError';
  }
}

export interface RuleLine {
  line: number;
  cmd: ParsedCommand;
}

/** Parses every command line of a rules file; throws RulesError on the first bad one. */
export function parseRules(text: string, file: string): RuleLine[] {
  const out: RuleLine[] = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.startsWith('#')) return;
    const words = raw.split(/\s+/).filter((w) => w !== '' && w !== 'ipvsadm');
    if (!words.length) return;
    try {
      const cmd = parseArgs(words);
      if (cmd.cmd === 'restore' || cmd.cmd === 'help' || cmd.cmd === 'version') {
        throw new RulesError(file, i + 1, `'${words[0]}' cannot be used in a rules file`);
      }
      out.push({ line: i + 1, cmd });
    } catch (e) {
      if (e instanceof RulesError) throw e;
      if (e instanceof IpvsadmError) throw new RulesError(file, i + 1, e.message.trim());
      throw e;
    }
  });
  return out;
}

/** Parses then applies; model errors (e.g. "Service already exists") name their line. */
export function loadRules(director: Director, text: string, file: string): number {
  const rules = parseRules(text, file);
  for (const r of rules) {
    try {
      applyCommand(director, r.cmd);
    } catch (e) {
      if (e instanceof IpvsError) throw new RulesError(file, r.line, e.message);
      throw e;
    }
  }
  return rules.length;
}
