import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { created, eachField, Entry, entryBytes, lastSeen, readField, removeField, writeField } from './memory-fields.js';

function all(e: Entry): Record<string, string> {
  const out: [string, string][] = [];
  eachField(e, (k, t) => {
    out.push([k, t]);
  });
  return Object.fromEntries(out);
}

describe('memory store entry fields', () => {
  it('keeps one key in the entry, several in one array, and goes back to the entry at one', () => {
    const e = new Entry('id', 1_700_000_000_000, undefined, undefined);
    assert.deepEqual(all(e), {});
    writeField(e, 'a', '1');
    assert.equal(e.key, 'a');
    writeField(e, 'b', '2');
    writeField(e, 'c', '3');
    writeField(e, 'b', '22');
    assert.deepEqual(all(e), { a: '1', b: '22', c: '3' });
    assert.deepEqual([readField(e, 'a'), readField(e, 'b'), readField(e, 'c'), readField(e, 'd')], ['1', '22', '3', undefined]);
    assert.equal(removeField(e, 'd'), undefined);
    assert.equal(removeField(e, 'a'), '1');
    assert.deepEqual(all(e), { b: '22', c: '3' });
    assert.equal(removeField(e, 'c'), '3');
    assert.equal(e.key, 'b', 'one key left: back in the entry');
    assert.equal(readField(e, 'b'), '22');
    assert.equal(removeField(e, 'b'), '22');
    assert.deepEqual(all(e), {});
    writeField(e, '__proto__', '{}');
    assert.deepEqual(Object.entries(all(e)), [['__proto__', '{}']], 'an ordinary key');
  });

  it('keeps the byte count of its keys right through writes, overwrites and removals', () => {
    const e = new Entry('id', 1_700_000_000_000, undefined, undefined);
    const recount = () => Object.entries(all(e)).reduce((n, [k, t]) => n + Buffer.byteLength(k) + Buffer.byteLength(t), 0);
    const keys = ['a', 'bé', 'c', '日本', 'e'];
    let seed = 7;
    for (let step = 0; step < 2000; step++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const key = keys[seed % keys.length] as string;
      if (seed % 3 === 0) removeField(e, key);
      else writeField(e, key, JSON.stringify('x'.repeat(seed % 17) + (seed % 2 ? 'ü' : '')));
      assert.equal(entryBytes(e), recount(), `after step ${step}`);
    }
  });

  it('keeps times to the millisecond, before 2020 as after, and a tombstone is not alive', () => {
    for (const at of [0, 1_577_836_800_999, 1_700_000_000_123, 4_102_444_800_001]) {
      const e = new Entry('id', at, undefined, undefined);
      assert.equal(created(e), at);
      assert.equal(lastSeen(e), at);
      assert.equal(e.alive, true);
      const tomb = Entry.tombstone('old', e);
      assert.equal(tomb.alive, false);
      assert.equal(created(tomb), at);
    }
  });
});
