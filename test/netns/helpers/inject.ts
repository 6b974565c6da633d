// Sends crafted frames through an AF_PACKET socket (src/io/afpacket.ts), as a namespace
// test's "attacker": run inside a namespace as
//   ip netns exec NS node dist/test/netns/helpers/inject.js eth0 HEX [HEX...]
// Each HEX is one whole Ethernet frame; they leave one by one, a few ms apart, exactly as
// given (no padding, no checksum fixing). Prints `RESULT {"sent":N,"errors":[...]}`.

import { AfPacketSocket } from '../../../src/io/afpacket';

async function main(): Promise<void> {
  const [ifname, ...hex] = process.argv.slice(2);
  if (!ifname || hex.length === 0) {
    // Without arguments (e.g. picked up by `node --test dist/test/`) do nothing.
    process.stderr.write('usage: inject.js IFNAME HEX...\n');
    return;
  }
  const sock = new AfPacketSocket(ifname, { blockSize: 1 << 16, blockCount: 2 });
  const buf = new Uint8Array(4096);
  const descs = new Uint32Array(2);
  let sent = 0;
  const errors: number[] = [];
  for (const h of hex) {
    const frame = Buffer.from(h, 'hex');
    buf.set(frame, 0);
    descs[0] = 0;
    descs[1] = frame.length;
    const r = sock.sendRaw(buf, descs, 0, 1);
    if (r === 1) sent++;
    else errors.push(r);
    await new Promise((res) => setTimeout(res, 5));
  }
  sock.close();
  process.stdout.write(`RESULT ${JSON.stringify({ sent, errors })}\n`);
}

main().catch((e) => {
  process.stderr.write(`inject: ${(e as Error).message}\n`);
  process.exit(1);
});
