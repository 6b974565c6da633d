// ipvsadm front end: -R input splitting (src/ipvsadm/restore.ts) and how its lines parse.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitRestoreLines } from '../../src/ipvsadm/restore';
import { parseArgs, IpvsadmError } from '../../src/ipvsadm/argv';
import { noNames } from '../../src/ipvsadm/names';

test('lines are blank-split, "ipvsadm" tokens dropped, empty lines skipped', () => {
  const text =
    'ipvsadm -A -t 10.0.0.1:80 -s rr\n' +
    '\n' +
    '   \t \n' +
    '-a\t-t 10.0.0.1:80 ipvsadm -r 10.0.0.2 -m\r\n' +
    'ipvsadm\n' +
    '  -D   -t 10.0.0.1:80  \n' +
    '-C';
  assert.deepEqual(splitRestoreLines(text), [
    ['-A', '-t', '10.0.0.1:80', '-s', 'rr'],
    ['-a', '-t', '10.0.0.1:80', '-r', '10.0.0.2', '-m'],
    ['-D', '-t', '10.0.0.1:80'],
    ['-C'],
  ]);
  assert.deepEqual(splitRestoreLines(''), []);
  // only the exact word is dropped
  assert.deepEqual(splitRestoreLines('/sbin/ipvsadm -C IPVSADM'), [['/sbin/ipvsadm', '-C', 'IPVSADM']]);
});

test("'#' is not a comment for -R", () => {
  const lines = splitRestoreLines('# saved rules\n-D -t 10.0.0.1:80 # old\n');
  assert.deepEqual(lines, [['#', 'saved', 'rules'], ['-D', '-t', '10.0.0.1:80', '#', 'old']]);
  assert.throws(() => parseArgs(lines[0], { readingStdin: true, resolver: noNames }), {
    message: "Try `ipvsadm -h' or 'ipvsadm --help' for more information.",
    exitCode: 255,
  });
  assert.throws(() => parseArgs(lines[1], { readingStdin: true, resolver: noNames }), { message: 'unexpected argument #', exitCode: 2 });
});

test('-S output restores line by line; -R inside -R is refused; popt errors do not stop -R', () => {
  const saved = '-A -t 10.0.0.100:80 -s wlc -p 360\n-a -t 10.0.0.100:80 -r 192.168.1.2:80 -g -w 1\n';
  const cmds = splitRestoreLines(saved).map((t) => parseArgs(t, { readingStdin: true, resolver: noNames }).cmd);
  assert.deepEqual(cmds, ['add-service', 'add-server']);
  assert.throws(() => parseArgs(['-R'], { readingStdin: true, resolver: noNames }), (e: unknown) => e instanceof IpvsadmError && e.exitCode === 255 && e.fatal);
  assert.throws(() => parseArgs(['-A', '--bogus'], { readingStdin: true, resolver: noNames }), (e: unknown) => e instanceof IpvsadmError && e.exitCode === 255 && !e.fatal);
  assert.throws(() => parseArgs(['-A', '-t', 'x..y'], { readingStdin: true, resolver: noNames }), (e: unknown) => e instanceof IpvsadmError && e.exitCode === 2 && e.fatal);
});
