// A tiny printf for the listing layouts, so formatters can be written with ipvsadm's own
// format strings ("  -> %-28s %-7s %-6d %-10u %-10u\n").
//
// Supported: %s %d %i %u %%, flags '-' and '0', a width given as digits or '*', and the
// length modifiers h/hh/l/ll (accepted; %llu formats as unsigned 64-bit, %u as unsigned
// 32-bit). No precision, no floating point: the listings never need them.

export type PrintfArg = string | number | bigint;

const SPEC = /%(-?)(0?)(\*|\d+)?(hh|h|ll|l)?([sdiu%])/g;

export function sprintf(fmt: string, ...args: PrintfArg[]): string {
  let next = 0;
  const take = (): PrintfArg => {
    if (next >= args.length) throw new RangeError(`sprintf: missing argument for ${JSON.stringify(fmt)}`);
    return args[next++];
  };
  return fmt.replace(SPEC, (_m, minus: string, zero: string, width: string | undefined, len: string | undefined, conv: string) => {
    if (conv === '%') return '%';
    let w = 0;
    if (width === '*') w = Number(take());
    else if (width !== undefined) w = Number(width);
    const left = minus === '-' || w < 0;
    w = Math.abs(w);
    const v = take();
    let text: string;
    if (conv === 's') text = String(v);
    else text = integerText(v, conv === 'u', len === 'll');
    if (text.length >= w) return text;
    if (left) return text + ' '.repeat(w - text.length);
    if (zero === '0' && conv !== 's') {
      const neg = text.startsWith('-');
      const digits = neg ? text.slice(1) : text;
      return (neg ? '-' : '') + '0'.repeat(w - text.length) + digits;
    }
    return ' '.repeat(w - text.length) + text;
  });
}

function integerText(v: PrintfArg, unsigned: boolean, wide: boolean): string {
  let n: bigint;
  if (typeof v === 'bigint') n = v;
  else if (typeof v === 'number') n = BigInt(Math.trunc(Number.isFinite(v) ? v : 0));
  else n = BigInt(Math.trunc(Number(v) || 0));
  if (unsigned) n = wide ? BigInt.asUintN(64, n) : BigInt.asUintN(32, n);
  else n = wide ? BigInt.asIntN(64, n) : BigInt.asIntN(32, n);
  return n.toString();
}
