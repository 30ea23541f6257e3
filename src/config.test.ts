import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from './config.js';
import { NovaError } from './errors.js';

const routes = () => [];

function failsAt(input: unknown, key: string) {
  assert.throws(
    () => loadConfig(input as Parameters<typeof loadConfig>[0]),
    (err: unknown) => err instanceof NovaError && err.code === 'NOVA_ERR_CONFIG' && err.message.includes(`"${key}"`),
    `expected an error naming ${key}`,
  );
}

describe('loadConfig', () => {
  it('fills in Nova-like defaults', () => {
    const c = loadConfig({ routes });
    assert.equal(c.port, 8080);
    assert.equal(c.host, '0.0.0.0');
    assert.equal(c.environment, 'dev');
    assert.equal(c.serverHeader, 'Nova.ts');
    assert.equal(c.useSessions, true);
    assert.equal(c.useStacktrace, false);
    assert.equal(c.session.cookieName, 'session_id');
    assert.equal(c.session.sameSite, 'lax');
    assert.deepEqual(c.plugins, []);
  });

  it('names the bad key', () => {
    failsAt({ routes, port: 'x' }, 'port');
    failsAt({ routes, port: 70000 }, 'port');
    failsAt({}, 'routes');
    failsAt({ routes, plugins: [{}] }, 'plugins.0');
    failsAt({ routes, session: { idleTimeout: -1 } }, 'session.idleTimeout');
    failsAt({ routes, views: { dir: '' } }, 'views.dir');
  });

  it('refuses a views.dir that does not exist or is not a directory, naming the key and the path', () => {
    const missing = join(tmpdir(), 'nova-no-such-views-dir');
    assert.throws(
      () => loadConfig({ routes, views: { dir: missing } }),
      (err: unknown) =>
        err instanceof NovaError &&
        err.code === 'NOVA_ERR_CONFIG' &&
        err.message.includes('"views.dir"') &&
        err.message.includes(missing) &&
        /does not exist/.test(err.message),
    );
    const file = join(mkdtempSync(join(tmpdir(), 'nova-views-')), 'file.html');
    writeFileSync(file, '');
    failsAt({ routes, views: { dir: file } }, 'views.dir');
    assert.equal(loadConfig({ routes, views: { dir: tmpdir() } }).views?.dir, tmpdir());
  });

  it('refuses session timeouts that are obviously milliseconds, naming the unit', () => {
    assert.throws(
      () => loadConfig({ routes, session: { idleTimeout: 1_800_000 } }),
      (err: unknown) =>
        err instanceof NovaError &&
        err.message === 'invalid configuration at "session.idleTimeout": 1800000 seconds is over 7 days — session timeouts are in seconds (did you mean 1800?)',
    );
    assert.throws(
      () => loadConfig({ routes, session: { absoluteTimeout: 86_400_000, idleTimeout: 1800 } }),
      /"session.absoluteTimeout": 86400000 seconds is over a year — session timeouts are in seconds \(did you mean 86400\?\)/,
    );
    // At the limits: accepted.
    const c = loadConfig({ routes, session: { idleTimeout: 7 * 24 * 3600, absoluteTimeout: 365 * 24 * 3600 } });
    assert.equal(c.session.idleTimeout, 7 * 24 * 3600);
  });

  it('refuses an idle timeout longer than the absolute one', () => {
    assert.throws(
      () => loadConfig({ routes, session: { idleTimeout: 3600, absoluteTimeout: 600 } }),
      /"session.idleTimeout": must not exceed absoluteTimeout \(600 seconds\)/,
    );
    // Only absoluteTimeout given, shorter than the default idle timeout: the idle timeout follows it.
    assert.equal(loadConfig({ routes, session: { absoluteTimeout: 600 } }).session.idleTimeout, 600);
    assert.equal(loadConfig({ routes }).session.idleTimeout, 1800);
  });

  it('names an unknown key, also a nested one (typos are errors, not ignored)', () => {
    failsAt({ routes, prot: 8080 }, 'prot');
    failsAt({ routes, session: { cookiename: 'x' } }, 'session.cookiename');
  });

  it('takes security headers as false or an object over the defaults, naming a bad header', () => {
    assert.deepEqual(loadConfig({ routes }).securityHeaders, {});
    assert.equal(loadConfig({ routes, securityHeaders: false }).securityHeaders, false);
    assert.deepEqual(loadConfig({ routes, securityHeaders: { 'x-frame-options': false } }).securityHeaders, { 'x-frame-options': false });
    failsAt({ routes, securityHeaders: { 'x-frame-options': 'ALLOW-FROM x' } }, 'securityHeaders.x-frame-options');
    failsAt({ routes, securityHeaders: { 'content-security-policy': 'a\r\nb' } }, 'securityHeaders.content-security-policy');
    failsAt({ routes, securityHeaders: { 'strict-transport-security': 'max-age=1' } }, 'securityHeaders.strict-transport-security');
    failsAt({ routes, securityHeaders: true }, 'securityHeaders');
  });

  it('rejects cookie attribute values that could inject into Set-Cookie', () => {
    failsAt({ routes, session: { domain: 'example.com; HttpOnly' } }, 'session.domain');
    failsAt({ routes, session: { path: '/a\r\nSet-Cookie: x=y' } }, 'session.path');
    failsAt({ routes, session: { cookieName: 'a;b' } }, 'session.cookieName');
  });

  it('enforces the __Host- prefix rules and SameSite=None needing Secure', () => {
    failsAt({ routes, session: { hostPrefix: true, domain: 'example.com' } }, 'session.domain');
    failsAt({ routes, session: { hostPrefix: true, path: '/app' } }, 'session.path');
    failsAt({ routes, session: { sameSite: 'none', secure: false } }, 'session.sameSite');
  });

  it('requires long secrets', () => {
    failsAt({ routes, session: { secrets: ['short'] } }, 'session.secrets.0');
  });
});
