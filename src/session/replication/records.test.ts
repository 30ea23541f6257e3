import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ReplicaState } from './records.js';

describe('replica state', () => {
  it('ignores a rotation that would close a loop, instead of following it for ever', () => {
    const state = new ReplicaState(() => 0);
    const stamp = (t: number) => ({ t, n: 'n' });
    state.set('X', 'k', '1', stamp(1), 0, 0);
    state.rotate('X', 'Y', [], 0, 0);
    state.rotate('X', 'Z', [], 0, 0);
    state.rotate('Y', 'X', [], 0, 0); // only a broken node would send these
    state.rotate('Z', 'X', [], 0, 0);
    const began = Date.now();
    state.set('X', 'k', '2', stamp(2), 0, 0);
    assert.ok(Date.now() - began < 100);
    assert.equal(state.get('Y')?.fields.get('k')?.text, '2', 'a late write to X still follows X→Y');
    assert.equal(state.get('X')?.movedTo?.length, 2);
    assert.equal(state.get('Y')?.movedTo, undefined);
  });
});
