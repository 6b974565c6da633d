// Early drop of the kernel's copy of VIP traffic (lab-notes pitfall 3).
//
// The AF_PACKET socket (bound to ETH_P_ALL, so it taps frames before tc/nft ingress) gets
// every frame for the VIPs; the kernel gets a copy too, routes it and, since the VIP is
// not a local address and ip_forward is off, throws it away. An nft `netdev` ingress
// chain dropping IPv4 to the VIPs spares the kernel that work (+25-35% pps measured on
// this kind of machine). The daemon installs the table at start, updates it when the
// VIPs change, and removes it when it stops. ARP is not touched (only `ip daddr`).
// Failure (no nft, no permission) is logged and forwarding goes on without it.

import { spawnSync } from 'node:child_process';
import { formatV4 } from '../core/addr';

export class EarlyDrop {
  readonly table: string;
  private installed = false;
  private lastVips = '';

  constructor(private readonly ifname: string, private readonly log: (msg: string) => void) {
    this.table = `tsvs_${ifname.replace(/[^A-Za-z0-9_]/g, '_')}`;
  }

  /** Installs or replaces the drop rule for `vips` (uint32); an empty list removes it. */
  apply(vips: readonly number[]): void {
    const key = vips.join(',');
    if (key === this.lastVips && this.installed) return;
    this.lastVips = key;
    if (vips.length === 0) {
      this.remove();
      return;
    }
    const set = vips.map(formatV4).join(', ');
    // Create-then-delete makes the delete safe when no table exists; all in one transaction.
    const script = `table netdev ${this.table} {}\ndelete table netdev ${this.table}\n` +
      `table netdev ${this.table} {\n  chain ingress {\n    type filter hook ingress device "${this.ifname}" priority -500; policy accept;\n` +
      `    ip daddr { ${set} } counter drop\n  }\n}\n`;
    if (this.nft(script)) {
      if (!this.installed) this.log(`early drop: nft netdev ingress on ${this.ifname} drops the kernel's copy of traffic to ${set}`);
      this.installed = true;
    }
  }

  /** Removes the table (at stop). */
  remove(): void {
    if (!this.installed) return;
    this.installed = false;
    this.nft(`table netdev ${this.table} {}\ndelete table netdev ${this.table}\n`);
  }

  private nft(script: string): boolean {
    const r = spawnSync('nft', ['-f', '-'], { input: script, encoding: 'utf8', timeout: 5000 });
    if (r.error || r.status !== 0) {
      const why = r.error ? r.error.message : (r.stderr || '').trim().split('\n')[0];
      this.log(`early drop unavailable (${why}); forwarding continues without it`);
      return false;
    }
    return true;
  }
}
