// --rx-ring / --rx-tune parsing, and the AF_PACKET option checks of the ring modes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRxOptions, RxOptionError } from '../../src/cli/rx-options';
import { v2VnetMinFrame } from '../../src/io/afpacket';

test('parseRxOptions: ring and tuning keys', () => {
  assert.deepEqual(parseRxOptions(undefined, undefined), {});
  assert.deepEqual(parseRxOptions('v3', 'blockSize=16k,blockCount=1024,retireMs=1'), { ringVersion: 'v3', blockSize: 16384, blockCount: 1024, retireMs: 1 });
  assert.deepEqual(parseRxOptions('v2', 'maxBatch=64, tx=send,frameSize=1m'), { ringVersion: 'v2', maxBatch: 64, txMethod: 'send', frameSize: 1 << 20 });
});

test('parseRxOptions: clear errors', () => {
  assert.throws(() => parseRxOptions('v4', undefined), (e: Error) => e instanceof RxOptionError && /--rx-ring wants v2 or v3, not 'v4'/.test(e.message));
  assert.throws(() => parseRxOptions(undefined, 'blockSize'), /KEY=VALUE/);
  assert.throws(() => parseRxOptions(undefined, 'blockSize=big'), /blockSize wants a whole number/);
  assert.throws(() => parseRxOptions(undefined, 'colour=red'), /unknown key 'colour'/);
  assert.throws(() => parseRxOptions(undefined, 'tx=ring'), /tx wants sendmmsg or send/);
  assert.throws(() => parseRxOptions(undefined, 'maxBatch=1,maxBatch=2'), /given twice/);
  assert.throws(() => parseRxOptions(undefined, 'blockSize=99999999999'), /whole number|too large/);
});

test('v2VnetMinFrame: a 64 KiB super-frame plus header and reserve, 16-aligned', () => {
  assert.equal(v2VnetMinFrame(0), 65616);
  assert.equal(v2VnetMinFrame(20), 65648);
  assert.equal(v2VnetMinFrame(1) % 16, 0);
});
