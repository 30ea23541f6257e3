import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { addFact, Revocations, type FactWire, type RevocationWire } from './users-index.js';

/** Every order of `items`. */
function orders<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) => orders([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

describe('revocations and facts', () => {
  it('a session excepted by one revoke-all dies at a later one with another exception', () => {
    const r = new Revocations();
    r.add(['ada', 100, 'h1']);
    assert.equal(r.kills(['ada', 50, 'h1']), false, 'the excepted session lives');
    assert.equal(r.kills(['ada', 50, 'h2']), true);
    assert.equal(r.kills(['ada', 150, 'h2']), false, 'bound after the stamp');
    assert.equal(r.kills(['bob', 50, 'h2']), false, 'another user');
    r.add(['ada', 200, 'h3']);
    assert.equal(r.kills(['ada', 50, 'h1']), true, 'h1 counts as bound at 100 < 200');
    assert.equal(r.kills(['ada', 150, 'h3']), false);
    r.add(['ada', 300, 'h3']); // the same exception again: h3 still lives, whatever came before
    assert.equal(r.kills(['ada', 150, 'h3']), false);
    assert.equal(r.kills(['ada', 50, 'h3']), true, 'h3 was bound before the first revoke, which did not except it');
  });

  it('kills the same facts whatever order the revocations arrive in, ties included', () => {
    const all: RevocationWire[] = [
      ['ada', 100, 'h1'],
      ['ada', 100, 'h2'],
      ['ada', 200, 'h1'],
      ['ada', 150, ''],
    ];
    const facts: FactWire[] = [];
    for (const b of [50, 100, 120, 170, 250]) for (const h of ['h1', 'h2', 'h3']) facts.push(['ada', b, h]);
    // The rule, on the whole set: a fact dies when some revocation after it excepts another handle.
    const expected = facts.map(([, b, h]) => all.some(([, t, except]) => b < t && h !== except));
    for (const order of orders(all)) {
      const r = new Revocations();
      for (const x of order) r.add(x);
      assert.deepEqual(
        facts.map((f) => r.kills(f)),
        expected,
        JSON.stringify(order),
      );
    }
  });

  it('a record keeps, per user, the facts that decide, in any order', () => {
    const all: FactWire[] = [
      ['ada', 90, 'h2'],
      ['ada', 50, 'h1'],
      ['ada', 70, 'h1'],
      ['ada', 60, 'h3'],
      ['bob', 10, 'h9'],
    ];
    const results = orders(all).map((order) => {
      const facts: FactWire[] = [];
      for (const f of order) addFact(facts, f);
      return JSON.stringify([...facts].sort());
    });
    assert.equal(new Set(results).size, 1);
    assert.deepEqual(JSON.parse(results[0]!), [
      ['ada', 50, 'h1'],
      ['ada', 60, 'h3'],
      ['bob', 10, 'h9'],
    ]);
    // The kept facts decide like all of them: a revoke at 65 excepting h1 (whose earliest fact is
    // kept) is caught by h3 at 60, the earliest fact of another handle, which is kept too.
    const r = new Revocations();
    r.add(['ada', 65, 'h1']);
    const kept = JSON.parse(results[0]!) as FactWire[];
    assert.equal(
      kept.some((f) => r.kills(f)),
      all.some((f) => r.kills(f)),
    );
  });
});
