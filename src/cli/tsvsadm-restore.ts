// `tsvsadm-restore < FILE`: Debian's ipvsadm-restore for tsvs. As that script does, it
// drops the lines starting with '#', clears the running table (`tsvsadm -C`), then feeds
// the rest to `tsvsadm -R`. Output and exit status are those of tsvsadm (a failing -C
// stops it before -R).

import { main as tsvsadm, readStdin, request, socketErrorMessage, socketPath, write } from './tsvsadm';

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
  const path = socketPath();
  try {
    const reply = await request(path, { argv: ['-R'], stdin: text, program: 'ipvsadm' });
    await write(process.stdout, reply.stdout);
    await write(process.stderr, reply.stderr);
    return reply.exit;
  } catch (e) {
    process.stderr.write(`${socketErrorMessage(e as NodeJS.ErrnoException, path, 'tsvsadm-restore')}\n`);
    return 2;
  }
}

if (require.main === module) void main(process.argv.slice(2));
