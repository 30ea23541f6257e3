import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import FindMyWay from 'find-my-way';
import { NovaError } from '../errors.js';
import { normalisePath } from './request-path.js';

function refused(raw: string): string {
  const out = normalisePath(raw);
  assert.ok(out instanceof NovaError, `${JSON.stringify(raw)} should be refused, got ${JSON.stringify(out)}`);
  assert.equal(out.code, 'NOVA_ERR_BAD_PATH');
  assert.equal(out.status, 400);
  return out.message;
}

describe('normalisePath', () => {
  it('gives every spelling of /any the one path the router matches', () => {
    for (const raw of [
      '/any',
      '/%61ny',
      '/%61%6E%79',
      '//any/',
      '/any/',
      '///any//',
      'http://evil.example/any',
      'HTTPS://evil.example:8443//any/',
      '/x/../any',
      '/x/%2e%2E/any',
      '/./any/.',
      '/../../any',
    ]) {
      assert.equal(normalisePath(raw), '/any', JSON.stringify(raw));
    }
  });

  it('returns a path that is already canonical as the same string (the fast path)', () => {
    const raw = ['/api', 'users', '42'].join('/');
    assert.equal(normalisePath(raw), raw);
    assert.equal(normalisePath('/'), '/');
    assert.equal(normalisePath('http://host.example'), '/');
  });

  it('decodes once: an encoded "%" stays encoded, so /%2561ny is not /any', () => {
    assert.equal(normalisePath('/%2561ny'), '/%2561ny');
    assert.equal(normalisePath('/100%25'), '/100%25');
  });

  it('keeps encoded slashes and other reserved characters encoded, in upper-case hex', () => {
    assert.equal(normalisePath('/a%2fb'), '/a%2Fb');
    assert.equal(normalisePath('/a%2F..%2Fb'), '/a%2F..%2Fb');
    assert.equal(normalisePath('/q%3fx%23y%3a%40'), '/q%3Fx%23y%3A%40');
  });

  it('decodes UTF-8 and refuses what is not (overlong forms, lone continuation bytes, surrogates)', () => {
    assert.equal(normalisePath('/caf%C3%A9'), '/café');
    for (const raw of ['/%C0%AE', '/%C0%AF', '/%E0%80%AE', '/%80', '/%C3', '/%ED%A0%80', '/%F4%90%80%80']) refused(raw);
  });

  it('refuses encoded control characters, bad escapes, fragments and non-paths, without echoing them', () => {
    for (const raw of [
      '/%00',
      '/a%0D%0ASet-Cookie:x',
      '/%7F',
      '/%C2%85',
      '/%zz',
      '/%',
      '/%4',
      '/a#b',
      '*',
      'evil.example:80',
      'http:///any',
      'ftp://x/any',
      '',
    ]) {
      const message = refused(raw);
      assert.doesNotMatch(message, /[\r\n\0]/);
    }
  });

  it('is what find-my-way matches: the router, given the canonical path, sees that very path', () => {
    const fmw = FindMyWay();
    const seen: string[] = [];
    fmw.on('GET', '/*', () => {});
    for (const raw of ['/%2561ny', '/a%2fb%3F', '/caf%C3%A9', '/a%25%2F%25', '/x%40y']) {
      const path = normalisePath(raw) as string;
      const hit = fmw.find('GET', path);
      assert.ok(hit);
      seen.push(`/${hit.params['*']}`);
      // Wildcard params are decoded by find-my-way; the canonical path decoded once more is what it holds.
      assert.equal(`/${hit.params['*']}`, decodeURIComponent(path), raw);
    }
    assert.ok(seen.length > 0);
  });

  it('always gives a canonical path: rooted, no empty or dot segment, no trailing slash, and an ASCII one unchanged by a second pass', () => {
    const piece = fc.oneof(
      fc.constantFrom(
        '/',
        '//',
        '.',
        '..',
        '%2e',
        '%2E%2e',
        '%2F',
        '%2f',
        '%25',
        '%2561',
        '%61',
        '%C3%A9',
        '%C0%AE',
        '%00',
        '%',
        '%z',
        '#',
        '?',
        '\\',
        'a',
        'any',
      ),
      fc.stringMatching(/^[A-Za-z0-9._~!$&'()*+,;=:@-]{0,4}$/),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const out = normalisePath(`/${pieces.join('')}`);
        if (out instanceof NovaError) return;
        assert.ok(out.startsWith('/'));
        assert.ok(!out.includes('//'));
        assert.ok(out === '/' || !out.endsWith('/'));
        assert.ok(!out.split('/').some((seg) => seg === '.' || seg === '..'));
        // A second pass reads it as a request target, which Node keeps to ASCII: decoded UTF-8 is not one.
        if (/^[\x21-\x7e]*$/.test(out)) assert.equal(normalisePath(out), out);
      }),
      { seed: 8, numRuns: 2_000 },
    );
  });
});
