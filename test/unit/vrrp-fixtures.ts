// Shared by the VRRP unit tests (no tests here): a fake clock whose timers fire when the
// test moves time forward, the addresses of the two-director pair, and an instance
// configuration with keepalived's defaults that a test overrides field by field.
import type { VrrpInstanceConfig } from '../../src/ha/vrrp/config';
import type { Clock } from '../../src/ha/vrrp/instance';
import { AUTH_NONE } from '../../src/ha/vrrp/packet';

export class FakeClock implements Clock {
  t = 0;
  private seq = 0;
  private timers = new Map<number, { at: number; fn: () => void }>();
  now(): number {
    return this.t;
  }
  setTimer(ms: number, fn: () => void): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimer(h: unknown): void {
    this.timers.delete(h as number);
  }
  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.timers) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.timers.delete(next[0]);
      this.t = next[1].at;
      next[1].fn();
    }
    this.t = end;
  }
}

export const VIP = 0xc0000264; // 192.0.2.100
export const US = 0xc0000202; // 192.0.2.2
export const PEER = 0xc0000203; // 192.0.2.3

/** VI_1, VRID 51 on eth0, priority 100, v3, advert_int 1, the VIP; `over` replaces fields. */
export function instanceConfig(over: Partial<VrrpInstanceConfig> = {}): VrrpInstanceConfig {
  return {
    name: 'VI_1', line: 1, interface: 'eth0', vrid: 51, priority: 100, initialState: 'BACKUP', version: 3, advertIntCs: 100,
    vips: [VIP], authType: AUTH_NONE, authPass: '', preempt: true, preemptDelaySec: 0, unicastSrc: 0, unicastPeers: [],
    garpMasterRepeat: 5, garpMasterDelaySec: 5, garpMasterRefreshSec: 0, notify: {}, trackInterfaces: [], trackScripts: [], ...over,
  };
}
