// An independent packet capture for the namespace tests, built on src/io/afpacket.ts (no
// libpcap, no tcpdump). Run inside a namespace:
//   ip netns exec NS node dist/test/netns/helpers/capture.js --ifname eth0 [--max-ms 60000]
// It opens an unfiltered AF_PACKET socket that also sees outgoing frames (the kernel's own
// and other packet sockets'), prints `READY <mac>` once the socket is open, then one JSON
// line per frame (see Frame in frames.ts), and `END <count>` when it stops: on SIGTERM or
// SIGINT, when stdin closes, or after --max-ms (a safety net against being forgotten).

import { parseArgs } from 'node:util';
import { AfPacketSocket, ifInfo, DESC_LEN, DESC_OFFSET, DESC_SNAPLEN, DESC_STRIDE } from '../../../src/io/afpacket';
import { macText, parseFrame } from './frames';

function main(): void {
  const { values } = parseArgs({
    options: {
      ifname: { type: 'string' },
      'max-ms': { type: 'string', default: '60000' },
    },
    strict: true,
  });
  const ifname = values.ifname;
  if (!ifname) {
    // Without arguments (e.g. picked up by `node --test dist/test/`) do nothing.
    process.stderr.write('usage: capture.js --ifname IF [--max-ms MS]\n');
    return;
  }
  const ownMac = macText(new Uint8Array(ifInfo(ifname).mac), 0);
  const sock = new AfPacketSocket(ifname, { ignoreOutgoing: false, blockSize: 1 << 18, blockCount: 16 });
  let count = 0;
  const t0 = Date.now();
  const drain = () => {
    sock.drain((bytes, descs, n) => {
      const lines: string[] = [];
      for (let i = 0; i < n; i++) {
        const d = i * DESC_STRIDE;
        const f = parseFrame(bytes, descs[d + DESC_OFFSET], descs[d + DESC_SNAPLEN], descs[d + DESC_LEN]);
        f.t = Date.now() - t0;
        f.out = f.srcMac === ownMac;
        lines.push(JSON.stringify(f));
        count++;
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    });
  };
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    // Frames retire from a partly filled block after 1 ms: wait for them, then stop.
    setTimeout(() => {
      drain();
      sock.close();
      process.stdout.write(`END ${count}\n`);
      process.exit(0);
    }, 30);
  };
  sock.start((err) => {
    if (err) {
      process.stderr.write(`capture on ${ifname}: ${err.message}\n`);
      stop();
      return;
    }
    drain();
  });
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
  setTimeout(stop, Number(values['max-ms'])).unref();
  process.stdout.write(`READY ${ownMac}\n`);
}

main();
