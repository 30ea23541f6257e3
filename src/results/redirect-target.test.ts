import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NovaError } from '../errors.js';
import { encodeRedirectTarget } from './redirect-target.js';
import { redirect } from './result.js';

function refusesAtCall(target: string): NovaError {
  let caught: unknown;
  try {
    redirect(target);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof NovaError, `redirect(${JSON.stringify(target)}) should throw where it is called`);
  assert.equal(caught.code, 'NOVA_ERR_REDIRECT_TARGET');
  assert.equal(caught.status, 500);
  return caught;
}

describe('redirect() target encoding', () => {
  it('percent-encodes non-ASCII characters as UTF-8, relative and absolute', () => {
    assert.equal(redirect('/caf\u00e9').location, '/caf%C3%A9');
    assert.equal(redirect('https://example.com/\u00fcber?q=\u00e9').location, 'https://example.com/%C3%BCber?q=%C3%A9');
    assert.equal(redirect(new URL('https://example.com/a b')).location, 'https://example.com/a%20b');
  });

  it('encodes what a URL may not hold raw, including "\\" (which browsers read as "/")', () => {
    assert.equal(redirect('/a b"<c>`{d}').location, '/a%20b%22%3Cc%3E%60%7Bd%7D');
    assert.equal(redirect('/\\evil.example').location, '/%5Cevil.example');
  });

  it('keeps valid escapes and the characters URLs are made of, and encodes a stray "%"', () => {
    assert.equal(redirect('/a%2Fb?x=%C3%A9&y=1#top').location, '/a%2Fb?x=%C3%A9&y=1#top');
    assert.equal(redirect("/p/[x]!$&'()*+,;=:@~|^").location, "/p/[x]!$&'()*+,;=:@~|^");
    assert.equal(redirect('/100%').location, '/100%25');
    assert.equal(redirect('/%zz%4').location, '/%25zz%254');
  });

  it('leaves a plain target as the same string and is idempotent', () => {
    assert.equal(redirect('/login').location, '/login');
    for (const t of ['/caf\u00e9 %', 'https://x.example/\u00e4?a=<b>', '/\ud800x']) {
      const once = encodeRedirectTarget(t);
      assert.equal(encodeRedirectTarget(once), once);
    }
  });

  it('replaces a lone surrogate rather than failing', () => {
    assert.equal(redirect('/a\ud800b').location, '/a%EF%BF%BDb');
  });

  it('refuses CR, LF, NUL, any other C0 character and DEL where redirect() is called, naming the code point only', () => {
    for (const [target, code] of [
      ['/a\r\nSet-Cookie: x=1', 'U+000D'],
      ['/a\nb', 'U+000A'],
      ['/\0', 'U+0000'],
      ['/\tx', 'U+0009'],
      ['/\u001b', 'U+001B'],
      ['/x\u007f', 'U+007F'],
    ] as const) {
      const err = refusesAtCall(target);
      assert.match(err.message, new RegExp(code.replace('+', '\\+')));
      // biome-ignore lint/suspicious/noControlCharactersInRegex: the message must hold no control character
      assert.doesNotMatch(err.message, /[\u0000-\u001f\u007f]/);
      assert.doesNotMatch(err.message, /Set-Cookie/);
    }
  });

  it('refuses a target that is not a string', () => {
    assert.throws(
      () => encodeRedirectTarget(undefined),
      (err: unknown) => err instanceof NovaError && err.code === 'NOVA_ERR_REDIRECT_TARGET',
    );
  });
});
