// A popt-compatible scanner for ipvsadm's option table (libpopt 1.19 poptGetNextOpt):
//  - "--name" and "--name=value" long options (exact names, no abbreviations);
//  - "-abc" bundles of short options; a short option taking an argument uses the rest of
//    the bundle (a leading '=' is skipped) or else the next word;
//  - an OPTIONAL argument (-p) takes the next word only if it does not start with '-';
//  - a REQUIRED argument takes the next word whatever it looks like;
//  - "=value" on an option without argument is "option does not take an argument";
//  - words not starting with '-', and "-" itself, are leftovers; after "--" every word is.
// `word` of each result is popt's poptBadOption(): the last argv word consumed so far.

import type { OptionDef } from './options';

export interface PoptOption {
  kind: 'option';
  def: OptionDef;
  /** The argument, or null (no argument, or an optional one left out). */
  arg: string | null;
  word: string;
}

export interface PoptError {
  kind: 'error';
  /** poptStrerror() text. */
  text: 'unknown option' | 'missing argument' | 'option does not take an argument';
  word: string;
}

export class PoptScanner {
  readonly leftovers: string[] = [];
  private next = 0;
  private pending: string | null = null;
  private restLeftover = false;

  constructor(private readonly argv: readonly string[], private readonly defs: readonly OptionDef[]) {}

  /** The next option, an error, or null at the end of argv. */
  nextOption(): PoptOption | PoptError | null {
    for (;;) {
      let def: OptionDef | undefined;
      let longArg: string | null = null;
      if (this.pending === null) {
        if (this.next >= this.argv.length) return null;
        const word = this.argv[this.next++];
        if (this.restLeftover || word[0] !== '-' || word === '-') {
          this.leftovers.push(word);
          continue;
        }
        if (word === '--') {
          this.restLeftover = true;
          continue;
        }
        if (word[1] === '-') {
          const body = word.slice(2);
          const eq = body.indexOf('=');
          const name = eq < 0 ? body : body.slice(0, eq);
          if (eq >= 0) longArg = body.slice(eq + 1);
          def = this.defs.find((d) => d.long === name);
          if (!def) return this.error('unknown option');
        } else {
          // No ipvsadm option is a one-dash long option: go straight to the short letters.
          this.pending = word.slice(1);
        }
      }
      if (!def) {
        const bundle = this.pending as string;
        this.pending = null;
        def = this.defs.find((d) => d.short === bundle[0]);
        if (!def) return this.error('unknown option');
        if (bundle.length > 1) this.pending = bundle.slice(1);
      }
      if (def.arg === 'none') {
        if (longArg !== null || (this.pending !== null && this.pending[0] === '=')) {
          return this.error('option does not take an argument');
        }
        return { kind: 'option', def, arg: null, word: this.lastWord() };
      }
      let arg: string | null;
      if (longArg !== null) {
        arg = longArg;
      } else if (this.pending !== null) {
        arg = this.pending[0] === '=' ? this.pending.slice(1) : this.pending;
        this.pending = null;
      } else if (this.next >= this.argv.length) {
        if (def.arg === 'required') return this.error('missing argument');
        arg = null;
      } else if (def.arg === 'optional' && this.argv[this.next][0] === '-') {
        arg = null;
      } else {
        arg = this.argv[this.next++];
      }
      return { kind: 'option', def, arg, word: this.lastWord() };
    }
  }

  private lastWord(): string {
    return this.argv[this.next - 1];
  }

  private error(text: PoptError['text']): PoptError {
    return { kind: 'error', text, word: this.lastWord() };
  }
}
