// Nothing outside a static root is ever served: a secret planted next to the root, every way of
// spelling a way out (encoded, doubled, backslash, NUL, absolute), dotfiles, and symlinks.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { createApp, staticFiles } from 'nova-ts';
import { inject } from 'nova-ts/testing';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const SECRET = 'TOP-SECRET-6b1f';

describe('static routes never leave their root', () => {
  const base = mkdtempSync(join(tmpdir(), 'nova-traversal-'));
  const root = join(base, 'public');
  mkdirSync(join(root, 'css'), { recursive: true });
  mkdirSync(join(root, '.git'));
  writeFileSync(join(base, 'secret.txt'), SECRET);
  writeFileSync(join(base, 'public-secret.txt'), SECRET); // shares the root's name as a prefix
  writeFileSync(join(root, 'css', 'app.css'), 'body{}');
  writeFileSync(join(root, 'ok.txt'), 'fine');
  writeFileSync(join(root, '.env'), SECRET);
  writeFileSync(join(root, '.git', 'config'), SECRET);
  symlinkSync(join(base, 'secret.txt'), join(root, 'link-out.txt'));
  symlinkSync(base, join(root, 'dir-out'));
  symlinkSync(join(root, 'ok.txt'), join(root, 'link-in.txt'));
  symlinkSync(join(root, '.env'), join(root, 'env-alias.txt'));

  const app = createApp({
    logger: quiet,
    useSessions: false,
    routes: [
      {
        routes: [
          ['/assets/[...]', staticFiles(root)],
          ['/open/[...]', staticFiles(root, { dotfiles: 'allow' })],
        ],
      },
    ],
  });
  after(async () => {
    await app.close();
    rmSync(base, { recursive: true, force: true });
  });

  async function assertRefused(url: string): Promise<void> {
    const res = await inject(app, { url });
    assert.ok(res.status === 404 || res.status === 400, `${url} answered ${res.status}`);
    assert.ok(!res.body.includes(SECRET), `${url} leaked the secret`);
  }

  it('refuses every spelling of a way out', async () => {
    const variants = [
      '/assets/../secret.txt',
      '/assets/%2e%2e/secret.txt',
      '/assets/%2e%2e%2fsecret.txt',
      '/assets/..%2fsecret.txt',
      '/assets/..%2Fsecret.txt',
      '/assets/css/..%2f..%2fsecret.txt',
      '/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
      '/assets/..%252fsecret.txt',
      '/assets/%252e%252e%252fsecret.txt',
      '/assets/..\\secret.txt',
      '/assets/..%5csecret.txt',
      '/assets/..%5Csecret.txt',
      '/assets/css\\..\\..\\secret.txt',
      '/assets/ok.txt%00',
      '/assets/..%00/secret.txt',
      '/assets/%2fetc%2fpasswd',
      `/assets/${encodeURIComponent(join(base, 'secret.txt'))}`,
      `/assets//${join(base, 'secret.txt')}`,
      '/assets/..%2fpublic-secret.txt',
      '/assets/%c0%ae%c0%ae/secret.txt',
      '/assets/link-out.txt',
      '/assets/dir-out/secret.txt',
      '/open/link-out.txt',
      '/open/dir-out/secret.txt',
      '/open/..%2fsecret.txt',
    ];
    for (const url of variants) await assertRefused(url);
    assert.equal((await inject(app, { url: '/assets/css/../ok.txt' })).body, 'fine', 'a ".." that stays inside is resolved by the router');
  });

  it('refuses dotfiles by default, also through a symlink, and serves them when allowed', async () => {
    for (const url of ['/assets/.env', '/assets/.git/config', '/assets/%2eenv', '/assets/.git', '/assets/env-alias.txt']) await assertRefused(url);
    assert.equal((await inject(app, { url: '/open/.env' })).body, SECRET);
    assert.equal((await inject(app, { url: '/open/.git/config' })).body, SECRET);
  });

  it('follows a symlink that stays inside the root', async () => {
    const res = await inject(app, { url: '/assets/link-in.txt' });
    assert.equal(res.status, 200);
    assert.equal(res.body, 'fine');
  });

  it('never serves the secret for any path built from traversal pieces (fast-check)', async () => {
    const piece = fc.constantFrom(
      '/',
      '//',
      '.',
      '..',
      '%2e',
      '%2E',
      '%2f',
      '%2F',
      '%5c',
      '%5C',
      '\\',
      '%25',
      '%252f',
      '%00',
      '%c0%ae',
      '%2e%2e',
      'secret.txt',
      'public',
      'public-secret.txt',
      'css',
      'link-out.txt',
      'dir-out',
      '.env',
      '.git',
      'config',
      base.slice(1),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('/assets/', '/open/'), fc.array(piece, { minLength: 1, maxLength: 10 }), async (prefix, pieces) => {
        const res = await inject(app, { url: prefix + pieces.join('') });
        // `/open/` serves dotfiles: its .env and .git/config hold the secret too, and are inside the root.
        const inside = prefix === '/open/' && /(^|\/|%2f)(\.|%2e)(env|git)/i.test(pieces.join(''));
        if (!inside) assert.ok(!res.body.includes(SECRET), `${prefix}${pieces.join('')} leaked the secret (${res.status})`);
      }),
      { numRuns: 400 },
    );
  });
});
