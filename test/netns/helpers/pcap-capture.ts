// An independent packet capture through libpcap (the `cap` package), for checks that must
// not rely on tsvs's own AF_PACKET code. Same protocol as capture.ts: run inside a
// namespace as
//   ip netns exec NS node dist/test/netns/helpers/pcap-capture.js --ifname eth0 [--filter BPF] [--max-ms 60000]
// it prints `READY <mac>` once libpcap is capturing, one JSON line per frame (Frame in
// frames.ts), and `END <count>` when it stops (SIGTERM/SIGINT, stdin closed, or --max-ms).

import { parseArgs } from 'node:util';
import { ifInfo } from '../../../src/io/afpacket';
import { macText, parseFrame } from './frames';

interface CapInstance {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  setMinBytes?(n: number): void;
  on(ev: 'packet', fn: (nbytes: number, truncated: boolean) => void): void;
  close(): void;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Cap } = require('cap') as { Cap: new () => CapInstance };

function main(): void {
  const { values } = parseArgs({
    options: {
      ifname: { type: 'string', default: 'eth0' },
      filter: { type: 'string', default: '' },
      'max-ms': { type: 'string', default: '60000' },
    },
    strict: true,
  });
  const ifname = values.ifname!;
  const ownMac = macText(new Uint8Array(ifInfo(ifname).mac), 0);
  const cap = new Cap();
  const buffer = Buffer.alloc(65536);
  const link = cap.open(ifname, values.filter!, 10 * 1024 * 1024, buffer);
  if (link !== 'ETHERNET') throw new Error(`pcap-capture: ${ifname} has link type ${link}, not ETHERNET`);
  cap.setMinBytes?.(0);
  let count = 0;
  const t0 = Date.now();
  cap.on('packet', (nbytes: number) => {
    const f = parseFrame(buffer, 0, nbytes, nbytes);
    f.t = Date.now() - t0;
    f.out = f.srcMac === ownMac;
    process.stdout.write(`${JSON.stringify(f)}\n`);
    count++;
  });
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    setTimeout(() => {
      cap.close();
      process.stdout.write(`END ${count}\n`);
      process.exit(0);
    }, 50);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
  setTimeout(stop, Number(values['max-ms'])).unref();
  process.stdout.write(`READY ${ownMac}\n`);
}

main();
