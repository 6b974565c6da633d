// checktype=ping (and connect for UDP virtuals): ICMP/ICMPv6 echo via the `raw-socket`
// addon, up to `checkcount` attempts, each limited by checktimeout. Raw sockets need root
// (or CAP_NET_RAW); without it the check fails with a clear reason instead of throwing.

import { randomInt } from 'node:crypto';
import { isIPv6 } from 'node:net';
import { type CheckOptions, type CheckResult, type CheckTarget, UP, down, errText, runCheck } from './check';

/** The part of raw-socket's API used here (it ships no type declarations). */
interface RawSocket {
  on(ev: 'message', fn: (buf: Buffer, source: string) => void): void;
  on(ev: 'error', fn: (e: Error) => void): void;
  send(buf: Buffer, offset: number, length: number, address: string, after: (e: Error | null) => void): void;
  close(): void;
}
interface RawSocketModule {
  createSocket(o: { protocol: number; addressFamily?: number }): RawSocket;
  Protocol: { ICMP: number; ICMPv6: number };
  AddressFamily: { IPv4: number; IPv6: number };
  createChecksum(...bufs: Buffer[]): number;
  writeChecksum(buf: Buffer, offset: number, sum: number): Buffer;
}

let rawMod: RawSocketModule | null | undefined;
function loadRaw(): RawSocketModule | null {
  if (rawMod === undefined) {
    try {
      rawMod = require('raw-socket') as RawSocketModule;
    } catch {
      rawMod = null;
    }
  }
  return rawMod;
}

export async function checkPing(target: CheckTarget, opts: CheckOptions, signal: AbortSignal): Promise<CheckResult> {
  const attempts = Math.max(1, opts.checkcount);
  let last: CheckResult = down('no ping attempt made');
  for (let i = 0; i < attempts && !signal.aborted; i++) {
    last = await runCheck(signal, opts.timeoutMs, (sig) => pingOnce(target.host, i + 1, sig));
    if (last.up) return last;
  }
  return last;
}

function pingOnce(host: string, seq: number, signal: AbortSignal): Promise<CheckResult> {
  const raw = loadRaw();
  if (!raw) return Promise.resolve(down('ping check unavailable: the raw-socket module is not installed'));
  const v6 = isIPv6(host);
  let sock: RawSocket;
  try {
    sock = v6
      ? raw.createSocket({ protocol: raw.Protocol.ICMPv6, addressFamily: raw.AddressFamily.IPv6 })
      : raw.createSocket({ protocol: raw.Protocol.ICMP });
  } catch (e) {
    const msg = errText(e);
    const perm = /EPERM|Operation not permitted|EACCES/i.test(msg);
    return Promise.resolve(down(perm ? 'ping check needs root (CAP_NET_RAW) to open a raw ICMP socket' : `ping: ${msg}`));
  }
  const id = randomInt(1, 0xffff);
  const pkt = Buffer.alloc(16);
  pkt[0] = v6 ? 128 : 8; // echo request
  pkt.writeUInt16BE(id, 4);
  pkt.writeUInt16BE(seq & 0xffff, 6);
  pkt.write('tsvs-chk', 8, 'latin1');
  // The kernel fills in ICMPv6 checksums on raw sockets; ICMPv4 needs ours.
  if (!v6) raw.writeChecksum(pkt, 2, raw.createChecksum(pkt));
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: CheckResult): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      try {
        sock.close();
      } catch {
        /* already closed */
      }
      resolve(r);
    };
    const onAbort = (): void => done(down('ping timed out'));
    signal.addEventListener('abort', onAbort, { once: true });
    sock.on('error', (e) => done(down(`ping: ${errText(e)}`)));
    sock.on('message', (buf, source) => {
      // IPv4 raw sockets deliver the IP header too; IPv6 ones do not.
      const off = v6 ? 0 : (buf[0] & 0x0f) * 4;
      if (buf.length < off + 8) return;
      const type = buf[off];
      if (type !== (v6 ? 129 : 0)) return;
      if (buf.readUInt16BE(off + 4) !== id || buf.readUInt16BE(off + 6) !== (seq & 0xffff)) return;
      if (source !== host && !(v6 && source.toLowerCase() === host.toLowerCase())) return;
      done(UP);
    });
    sock.send(pkt, 0, pkt.length, host, (e) => {
      if (e) done(down(`ping send failed: ${errText(e)}`));
    });
  });
}
