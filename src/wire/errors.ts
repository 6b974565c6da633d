// Drop reasons returned by the views' `reset()` in src/wire/. 0 means the header is
// usable. Where a reason means the same as a data-path drop counter in src/core/drops.ts
// it has the very same value, so `drops[r]++` counts it; the finer reasons (which field was
// wrong) have their own values from 32 up, and `dropClass(r)` maps any reason to the
// drops.ts counter it belongs to. Plain consts, not enums (STYLE.md).

import { DROP_BAD_IP, DROP_BAD_L4, DROP_FRAGMENT, DROP_LAST, DROP_NONE, DROP_RUNT, DROP_UNSUPPORTED } from '../core/drops';

export const OK = DROP_NONE;                  // 0: header checked, accessors safe
// Same values as drops.ts.
export const TRUNCATED = DROP_RUNT;           // fewer bytes than the header (or its length field) needs
export const BAD_IP = DROP_BAD_IP;            // malformed IP header (class of the three below)
export const FRAGMENT = DROP_FRAGMENT;        // IP fragment; reset() only flags it, the pipeline drops
export const UNSUPPORTED = DROP_UNSUPPORTED;  // well-formed but not handled (ARP not Ethernet/IPv4, too many IPv6 ext headers)
export const BAD_L4 = DROP_BAD_L4;            // malformed TCP/UDP/ICMP header (class of the ones below)
// Finer reasons, counted under the drops.ts class shown.
export const BAD_VERSION = 32;                // IP version nibble is not 4 (IPv4 view) or 6 (IPv6 view)   -> bad_ip
export const BAD_IHL = 33;                    // IPv4 IHL < 5                                             -> bad_ip
export const BAD_TOTAL_LENGTH = 34;           // IPv4 total length < IHL * 4                              -> bad_ip
export const BAD_EXT_HEADER = 35;             // IPv6 extension header malformed                          -> bad_ip
export const BAD_DATA_OFFSET = 36;            // TCP data offset < 5                                      -> bad_l4
export const BAD_UDP_LENGTH = 37;             // UDP length field < 8                                     -> bad_l4
export const WIRE_REASON_LAST = 38;

const CLASS = new Uint8Array(WIRE_REASON_LAST);
for (let r = 0; r < DROP_LAST; r++) CLASS[r] = r;
CLASS[BAD_VERSION] = DROP_BAD_IP;
CLASS[BAD_IHL] = DROP_BAD_IP;
CLASS[BAD_TOTAL_LENGTH] = DROP_BAD_IP;
CLASS[BAD_EXT_HEADER] = DROP_BAD_IP;
CLASS[BAD_DATA_OFFSET] = DROP_BAD_L4;
CLASS[BAD_UDP_LENGTH] = DROP_BAD_L4;

/** The drops.ts counter index for a wire reason (identity for reasons below DROP_LAST). */
export function dropClass(reason: number): number {
  return reason < WIRE_REASON_LAST ? CLASS[reason] : DROP_UNSUPPORTED;
}

const NAMES: readonly string[] = (() => {
  const n: string[] = [];
  n[OK] = 'ok';
  n[TRUNCATED] = 'truncated';
  n[BAD_IP] = 'bad_ip';
  n[FRAGMENT] = 'fragment';
  n[UNSUPPORTED] = 'unsupported';
  n[BAD_L4] = 'bad_l4';
  n[BAD_VERSION] = 'bad_version';
  n[BAD_IHL] = 'bad_ihl';
  n[BAD_TOTAL_LENGTH] = 'bad_total_length';
  n[BAD_EXT_HEADER] = 'bad_ext_header';
  n[BAD_DATA_OFFSET] = 'bad_data_offset';
  n[BAD_UDP_LENGTH] = 'bad_udp_length';
  return n;
})();

/** Name of a wire reason, for logs and test messages (off the fast path). */
export function wireReasonName(reason: number): string {
  return NAMES[reason] ?? `reason_${reason}`;
}
