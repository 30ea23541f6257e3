import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { errors, NovaError } from './errors.js';

const docs = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

describe('error catalogue', () => {
  const entries = Object.entries(errors);

  it('has unique codes, each with a status', () => {
    const codes = entries.map(([, e]) => e.code);
    assert.equal(new Set(codes).size, codes.length);
    for (const [, e] of entries) assert.ok(e.status >= 400 && e.status <= 599, e.code);
  });

  it('is listed in docs/errors.md with the same status, and the docs list nothing else', () => {
    const documented = new Map([...docs.matchAll(/^\| `(NOVA_ERR_[A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1]!, Number(m[2])]));
    for (const [, e] of entries) assert.equal(documented.get(e.code), e.status, `${e.code} in docs/errors.md with status ${e.status}`);
    assert.equal(documented.size, entries.length, 'docs/errors.md lists codes the catalogue does not have');
  });

  it('builds NovaErrors carrying code, status and message', () => {
    const err = errors.bodyTooLarge(1024);
    assert.ok(err instanceof NovaError);
    assert.equal(err.code, 'NOVA_ERR_BODY_TOO_LARGE');
    assert.equal(err.status, 413);
    assert.match(err.message, /1024/);
  });
});
