import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Router } from '../router/router.js';
import { json } from '../results/result.js';
import { csrf } from './csrf.js';
import { requestPlugin } from './request.js';
import type { Plugin } from './plugin.js';

const ctl = () => json({});

function warningsFor(global: Plugin[], groupPlugins: Plugin[][]): string[] {
  const warnings: string[] = [];
  const router = new Router(global, { logger: { warn: (m: string) => warnings.push(m) } });
  router.add(groupPlugins.map((plugins, i) => ({ prefix: `/g${i}`, plugins, routes: [['/x', ctl, { methods: ['post'] }]] })));
  return warnings;
}

describe('plugin order', () => {
  it('warns when csrf() runs before requestPlugin(), globally or across global and group plugins, once', () => {
    const globalOnly = warningsFor([csrf(), requestPlugin()], [[], []]);
    assert.equal(globalOnly.length, 1);
    assert.match(globalOnly[0]!, /plugin "csrf" runs before plugin "request".*the _csrf form field.*Put "request" first/);
    const split = csrf({ field: 'token' });
    assert.match(warningsFor([split], [[requestPlugin()]])[0]!, /the token form field/);
  });

  it('is quiet for the right order, or when the body is parsed before as well', () => {
    assert.deepEqual(warningsFor([requestPlugin(), csrf()], [[]]), []);
    assert.deepEqual(warningsFor([requestPlugin()], [[csrf()]]), []);
    assert.deepEqual(warningsFor([csrf()], [[]]), []);
    assert.deepEqual(warningsFor([requestPlugin(), csrf(), requestPlugin()], [[]]), []);
  });

  it('marks the built-in plugins: requestPlugin reads the body, csrf needs it', () => {
    assert.equal(requestPlugin().readsBody, true);
    assert.equal(csrf().needsBody, 'the _csrf form field');
  });
});
