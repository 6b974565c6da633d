// negotiate for service dns: an A query for `request` (leading "/" dropped) sent to
// RIP:checkport over UDP, or over TCP (length-prefixed) when the virtual is TCP. Up when
// the reply carries our id, has no error rcode, has at least one answer and — if
// `receive` is set — some A answer's dotted quad matches it.

import { createSocket } from 'node:dgram';
import { randomInt } from 'node:crypto';
import { isIPv6, connect as netConnect } from 'node:net';
import { type CheckOptions, type CheckResult, type CheckTarget, UP, compileReceive, down, errText, runCheck } from './check';

export function checkDns(target: CheckTarget, opts: CheckOptions, signal: AbortSignal): Promise<CheckResult> {
  const name = opts.request.replace(/^\/+/, '') || '.';
  const id = randomInt(0, 0x10000);
  const query = buildQuery(id, name);
  const re = opts.receive ? compileReceive(opts.receive) : null;
  if (opts.receive && !re) return Promise.resolve(down(`dns: receive is not a valid regular expression: ${opts.receive}`));
  return runCheck(signal, opts.timeoutMs, async (sig) => {
    try {
      const reply = target.protocol === 'tcp' ? await askTcp(target, query, sig) : await askUdp(target, query, sig);
      return judge(reply, id, re, name);
    } catch (e) {
      return down(`dns: ${errText(e)}`);
    }
  });
}

export function buildQuery(id: number, name: string): Buffer {
  const labels = name.replace(/\.$/, '').split('.').filter((l) => l.length > 0);
  const parts: Buffer[] = [];
  const head = Buffer.alloc(12);
  head.writeUInt16BE(id, 0);
  head.writeUInt16BE(0x0100, 2); // RD
  head.writeUInt16BE(1, 4); // QDCOUNT
  parts.push(head);
  for (const l of labels) {
    const b = Buffer.from(l, 'latin1').subarray(0, 63);
    parts.push(Buffer.from([b.length]), b);
  }
  parts.push(Buffer.from([0, 0, 1, 0, 1])); // root, QTYPE A, QCLASS IN
  return Buffer.concat(parts);
}

function askUdp(target: CheckTarget, query: Buffer, signal: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = createSocket(isIPv6(target.host) ? 'udp6' : 'udp4');
    const finish = (err: Error | null, b?: Buffer): void => {
      signal.removeEventListener('abort', onAbort);
      try {
        sock.close();
      } catch {
        /* closed */
      }
      if (err) reject(err);
      else resolve(b!);
    };
    const onAbort = (): void => finish(new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    sock.on('error', (e) => finish(e));
    sock.on('message', (m, rinfo) => {
      if (rinfo.port === target.port && m.length >= 2 && m.readUInt16BE(0) === query.readUInt16BE(0)) finish(null, m);
    });
    sock.send(query, target.port, target.host, (e) => {
      if (e) finish(e);
    });
  });
}

function askTcp(target: CheckTarget, query: Buffer, signal: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = netConnect({ host: target.host, port: target.port });
    let got = Buffer.alloc(0);
    const finish = (err: Error | null, b?: Buffer): void => {
      signal.removeEventListener('abort', onAbort);
      sock.destroy();
      if (err) reject(err);
      else resolve(b!);
    };
    const onAbort = (): void => finish(new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    sock.once('connect', () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(query.length, 0);
      sock.write(Buffer.concat([len, query]));
    });
    sock.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) finish(null, got.subarray(2, 2 + got.readUInt16BE(0)));
    });
    sock.once('end', () => finish(new Error('connection closed before a full reply')));
    sock.once('error', (e) => finish(e));
  });
}

/** Offset just past a (possibly compressed) name; throws on malformed input. */
function skipName(m: Buffer, off: number): number {
  for (let guard = 0; guard < 128; guard++) {
    if (off >= m.length) throw new Error('truncated name');
    const len = m[off];
    if (len === 0) return off + 1;
    if ((len & 0xc0) === 0xc0) return off + 2;
    off += 1 + len;
  }
  throw new Error('name too long');
}

function judge(m: Buffer, id: number, re: RegExp | null, name: string): CheckResult {
  if (m.length < 12) return down('dns: short reply');
  if (m.readUInt16BE(0) !== id) return down('dns: reply id mismatch');
  const flags = m.readUInt16BE(2);
  if (!(flags & 0x8000)) return down('dns: not a response');
  const rcode = flags & 0x0f;
  if (rcode !== 0) return down(`dns: ${name}: rcode ${rcode}`);
  const qd = m.readUInt16BE(4);
  const an = m.readUInt16BE(6);
  if (an === 0) return down(`dns: no answer for ${name}`);
  if (!re) return UP;
  try {
    let off = 12;
    for (let i = 0; i < qd; i++) off = skipName(m, off) + 4;
    const seen: string[] = [];
    for (let i = 0; i < an; i++) {
      off = skipName(m, off);
      const type = m.readUInt16BE(off);
      const rdlen = m.readUInt16BE(off + 8);
      const rdata = m.subarray(off + 10, off + 10 + rdlen);
      off += 10 + rdlen;
      if (type === 1 && rdata.length === 4) {
        const a = `${rdata[0]}.${rdata[1]}.${rdata[2]}.${rdata[3]}`;
        seen.push(a);
        if (re.test(a)) return UP;
      }
    }
    return down(`dns: no answer for ${name} matches /${re.source}/ (got ${seen.join(', ') || 'no A records'})`);
  } catch (e) {
    return down(`dns: malformed reply: ${errText(e)}`);
  }
}
