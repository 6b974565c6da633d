// pidMatches(), the liveness check the lab uses while its servers start: a process in the
// middle of execve must count as alive (its cmdline is briefly empty then), and a process
// that has exited must not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { pidMatches } from '../../src/lab/exec';

test('a process that is starting up (exec in progress) counts as alive', async () => {
  let falseWhileAlive = 0;
  for (let i = 0; i < 40; i++) {
    // sh execs node: two execve windows per spawn, where the old check read "exited".
    const child = spawn('sh', ['-c', `exec "${process.execPath}" -e "setTimeout(() => {}, 2000)"`], { stdio: 'ignore' });
    const pid = child.pid;
    assert.ok(pid !== undefined);
    const until = Date.now() + 40;
    while (Date.now() < until) if (!pidMatches(pid)) falseWhileAlive++;
    child.kill('SIGKILL');
    await once(child, 'exit');
    assert.equal(pidMatches(pid), false, 'reaped: gone');
  }
  assert.equal(falseWhileAlive, 0);
});

test('a marker must be one whole argument of the command line', async () => {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 2000)', '--', '--marker=x:1'], { stdio: 'ignore' });
  const pid = child.pid;
  assert.ok(pid !== undefined);
  try {
    const until = Date.now() + 2000;
    while (!pidMatches(pid, '--marker=x:1') && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    assert.equal(pidMatches(pid, '--marker=x:1'), true);
    assert.equal(pidMatches(pid, '--marker=x'), false);
  } finally {
    child.kill('SIGKILL');
    await once(child, 'exit');
  }
});
