// `tsvsadm-restore < FILE`: Debian's ipvsadm-restore for tsvs. As that script does, it
// drops the lines starting with '#', clears the running table (`tsvsadm -C`), then feeds
// the rest to `tsvsadm -R`. Output and exit status are those of tsvsadm (a failing -C
// stops it before -R).

import { cannotInitialize } from '../ipvsadm/errors';
import { main as tsvsadm, request } from './tsvsadm';

const DEFAULT_SOCKET = '/run/tsvs/tsvs.sock';
const USAGE = 'Usage: tsvsadm-restore < RULES\n  replaces the rules of the running tsvs daemon with RULES (ipvsadm-save form)\n';

/** The -R input of ipvsadm-restore: the text without the lines that start with '#'. */
export function stripComments(text: string): string {
  return text
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const code = await run(argv);
  process.exitCode = code;
  return code;
}

async function run(argv: string[]): Promise<number> {
  if (argv.length === 1 && (argv[0] === '-h' || argv[0] === '--help')) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (argv.length) {
    process.stderr.write(`tsvsadm-restore: unexpected argument ${argv[0]}\n${USAGE}`);
    return 2;
  }
  const text = stripComments(await readStdin());
  const cleared = await tsvsadm(['-C']);
  if (cleared !== 0) return cleared;
  const path = process.env.TSVS_SOCKET || DEFAULT_SOCKET;
  try {
    const reply = await request(path, { argv: ['-R'], stdin: text, program: 'ipvsadm' });
    await write(process.stdout, reply.stdout);
    await write(process.stderr, reply.stderr);
    return reply.exit;
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const msg =
      err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
        ? cannotInitialize(`the tsvs daemon is not running (no control socket at ${path})`).message
        : `tsvsadm-restore: control socket ${path}: ${err.message}`;
    process.stderr.write(`${msg}\n`);
    return 2;
  }
}

function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    process.stdin.on('data', (c: Buffer) => chunks.push(c));
    process.stdin.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.once('error', reject);
  });
}

function write(stream: NodeJS.WriteStream, text: string): Promise<void> {
  if (!text) return Promise.resolve();
  return new Promise((resolve) => stream.write(text, () => resolve()));
}

if (require.main === module) void main(process.argv.slice(2));
