// Drop reasons of the data path, counted in one Uint32Array (hot-path rule 4: data-path
// errors are counted, never thrown). Names are what metrics and `tsvs status` print.

export const DROP_NONE = 0;
export const DROP_NO_DEST = 1;        // scheduler found no destination available
export const DROP_TABLE_FULL = 2;     // connection table full (refuse policy)
export const DROP_DEST_GONE = 3;      // conn whose dest was deleted (expire_nodest_conn=0)
export const DROP_NOT_SYN = 4;        // TCP segment for no conn that is not a SYN
export const DROP_NO_SERVICE = 5;     // addressed to a VIP but no service on that port/proto
export const DROP_RUNT = 6;           // frame too short for its headers
export const DROP_BAD_IP = 7;         // bad IP version/IHL/total length
export const DROP_FRAGMENT = 8;       // IP fragment (not reassembled)
export const DROP_TTL = 9;            // TTL expired (ICMP time exceeded sent)
export const DROP_UNRESOLVED = 10;    // real server's MAC unknown
export const DROP_TX = 11;            // transmit failed
export const DROP_UNSUPPORTED = 12;   // protocol or forwarding method not handled
export const DROP_BAD_L4 = 13;        // truncated or malformed TCP/UDP header
export const DROP_LAST = 14;

export const DROP_NAMES: readonly string[] = [
  'none', 'no_dest', 'table_full', 'dest_gone', 'not_syn', 'no_service', 'runt', 'bad_ip',
  'fragment', 'ttl_expired', 'unresolved_dest', 'tx_error', 'unsupported', 'bad_l4',
];

export function newDropCounters(): Uint32Array {
  return new Uint32Array(DROP_LAST);
}
