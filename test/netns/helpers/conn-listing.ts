// Reading `tsvsadm -L -c -n` in the namespace tests: the TCP rows for one virtual port as
// client port -> real server address (the sync and active-active tests compare directors).

/** `-L -c -n` rows as client port -> real server, for TCP conns to VIP:port (templates left out). */
export function connsOf(listing: string, port: number): Map<number, string> {
  const m = new Map<number, string>();
  for (const line of listing.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[0] !== 'TCP' || !f[4]?.endsWith(`:${port}`)) continue;
    const cport = Number(f[3].split(':')[1]);
    if (cport !== 0) m.set(cport, f[5].split(':')[0]);
  }
  return m;
}
