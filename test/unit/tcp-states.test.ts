// The TCP state table against the reference's table (§2.2), cell by cell, plus the
// typical DR and NAT flows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DIR_INPUT, DIR_INPUT_ONLY, DIR_OUTPUT, TCP_STATE_NAMES, TCP_S_CLOSE, TCP_S_ESTABLISHED,
  TCP_S_FIN_WAIT, TCP_S_NONE, TCP_S_SYN_RECV, TH_ACK, TH_FIN, TH_RST, TH_SYN, tcpNextState,
  TCP_DEFAULT_TIMEOUTS, TCP_STATE_ACTIVE,
} from '../../src/conn/tcp-states';

// The reference table as printed there: columns NO ES SS SR FW TW CL CW LA LI SA.
const REFERENCE = `
INPUT syn SR ES ES SR SR SR SR SR SR SR SR
INPUT fin CL CW SS TW TW TW CL CW LA LI TW
INPUT ack ES ES SS ES FW TW CL CW CL LI ES
INPUT rst CL CL CL SR CL CL CL CL LA LI SR
OUTPUT syn SS ES SS SR SS SS SS SS SS LI SR
OUTPUT fin TW FW SS TW FW TW CL TW LA LI TW
OUTPUT ack ES ES SS ES FW TW CL CW LA ES ES
OUTPUT rst CL CL SS CL CL TW CL CL CL CL CL
INPUT_ONLY syn SR ES ES SR SR SR SR SR SR SR SR
INPUT_ONLY fin CL FW SS TW FW TW CL CW LA LI TW
INPUT_ONLY ack ES ES SS ES FW TW CL CW CL LI ES
INPUT_ONLY rst CL CL CL SR CL CL CL CL LA LI CL`;

const ABBR: Record<string, number> = { NO: 0, ES: 1, SS: 2, SR: 3, FW: 4, TW: 5, CL: 6, CW: 7, LA: 8, LI: 9, SA: 10 };
const DIRS: Record<string, number> = { INPUT: DIR_INPUT, OUTPUT: DIR_OUTPUT, INPUT_ONLY: DIR_INPUT_ONLY };
const FLAGS: Record<string, number> = { syn: TH_SYN, fin: TH_FIN, ack: TH_ACK, rst: TH_RST };

test('every cell of the state table matches the reference', () => {
  let cells = 0;
  for (const line of REFERENCE.trim().split('\n')) {
    const [dir, flag, ...next] = line.split(/\s+/);
    next.forEach((abbr, state) => {
      assert.equal(
        tcpNextState(DIRS[dir], FLAGS[flag], state), ABBR[abbr],
        `${dir} ${flag} from ${TCP_STATE_NAMES[state]}`,
      );
      cells++;
    });
  }
  assert.equal(cells, 3 * 4 * 11);
});

test('flag priority is RST > SYN > FIN > ACK, and no flag means CLOSE', () => {
  assert.equal(tcpNextState(DIR_INPUT, TH_SYN | TH_RST, TCP_S_ESTABLISHED), TCP_S_CLOSE);
  assert.equal(tcpNextState(DIR_INPUT, TH_SYN | TH_FIN, TCP_S_NONE), TCP_S_SYN_RECV);
  assert.equal(tcpNextState(DIR_INPUT_ONLY, TH_FIN | TH_ACK, TCP_S_ESTABLISHED), TCP_S_FIN_WAIT);
  assert.equal(tcpNextState(DIR_INPUT, 0, TCP_S_ESTABLISHED), TCP_S_CLOSE);
});

test('typical DR flow: SYN -> SYN_RECV(60) -> ESTABLISHED(900) -> FIN_WAIT(120)', () => {
  let s = TCP_S_NONE;
  s = tcpNextState(DIR_INPUT_ONLY, TH_SYN, s);
  assert.equal(TCP_STATE_NAMES[s], 'SYN_RECV');
  assert.equal(TCP_DEFAULT_TIMEOUTS[s], 60);
  s = tcpNextState(DIR_INPUT_ONLY, TH_ACK, s);
  assert.equal(TCP_STATE_NAMES[s], 'ESTABLISHED');
  assert.equal(TCP_DEFAULT_TIMEOUTS[s], 900);
  s = tcpNextState(DIR_INPUT_ONLY, TH_FIN | TH_ACK, s);
  assert.equal(TCP_STATE_NAMES[s], 'FIN_WAIT');
  s = tcpNextState(DIR_INPUT_ONLY, TH_ACK, s);
  assert.equal(TCP_STATE_NAMES[s], 'FIN_WAIT');
  assert.equal(TCP_DEFAULT_TIMEOUTS[s], 120);
});

test('active states are ESTABLISHED, SYN_SENT, SYN_RECV and SYNACK (Linux >= 4.8)', () => {
  const active = TCP_STATE_NAMES.filter((_, i) => TCP_STATE_ACTIVE[i] === 1);
  assert.deepEqual(active, ['ESTABLISHED', 'SYN_SENT', 'SYN_RECV', 'SYNACK']);
  assert.deepEqual([...TCP_DEFAULT_TIMEOUTS], [2, 900, 120, 60, 120, 120, 10, 60, 30, 120, 120]);
});
