// ipvsadm's parse_service(): the "host[:port]" argument of -t/-u/--sctp-service and -r.
//
// Accepted forms: "[v6]:port", bare "v6" (no port possible), "v4[:port]" where v4 is
// anything inet_aton() takes (10.1 and 0x0a000001 included), "name[:port]" with the
// name's first IPv4 address. A string of digits only is refused. The port is decimal
// 0..65535 or a service name of the service's protocol. Quirk kept: in "[x]:port" with
// x not IPv6, the port is silently dropped (ipvsadm looks for ':' inside the brackets).

import { Addr } from '../core/addr';
import { inetAton, inetPton6, stringToNumber } from './cnum';
import type { NameResolver } from './names';

export interface ParsedAddress {
  addr: Addr;
  /** null when no port was given. */
  port: number | null;
}

/** Returns null where ipvsadm's parse_service() reports SERVICE_NONE. */
export function parseServiceAddress(text: string, proto: number, names: NameResolver): ParsedAddress | null {
  if (/^[0-9]*$/.test(text)) return null;
  let buf = text;
  let portText: string | null = null;
  if (buf[0] === '[') {
    buf = buf.slice(1);
    const close = buf.indexOf(']');
    if (close < 0) return null;
    const after = buf.slice(close + 1);
    buf = buf.slice(0, close);
    if (after[0] !== ':') return null;
    portText = after.slice(1);
  }
  let addr = inetPton6(buf);
  if (!addr) {
    const colon = buf.lastIndexOf(':');
    portText = colon >= 0 ? buf.slice(colon + 1) : null;
    if (colon >= 0) buf = buf.slice(0, colon);
    const v4 = inetAton(buf) ?? names.hostToAddr(buf);
    if (v4 === null) return null;
    addr = Addr.v4(v4);
  }
  if (portText === null) return { addr, port: null };
  let port = stringToNumber(portText, 0, 65535);
  if (port < 0) port = names.serviceToPort(portText, proto) ?? -1;
  if (port < 0) return null;
  return { addr, port };
}
