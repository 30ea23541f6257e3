import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NovaError } from '../errors.js';
import { createNewApp } from './new-app.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');

describe('nova-ts new', () => {
  let work: string;
  before(() => {
    work = mkdtempSync(join(tmpdir(), 'nova-new-'));
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('refuses a folder that exists and is not empty, and writes nothing into it', () => {
    const dir = join(work, 'taken');
    mkdirSync(dir);
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    assert.throws(
      () => createNewApp(dir),
      (err: unknown) => {
        assert.ok(err instanceof NovaError);
        assert.equal(err.code, 'NOVA_ERR_CLI_TARGET_NOT_EMPTY');
        assert.match(err.message, /already exists and is not empty/);
        assert.ok(err.message.includes(dir));
        return true;
      },
    );
    assert.deepEqual(readdirSync(dir), ['notes.txt']);
  });

  it('refuses a path that is a file', () => {
    const file = join(work, 'a-file');
    writeFileSync(file, '');
    assert.throws(() => createNewApp(file), { code: 'NOVA_ERR_CLI_TARGET_NOT_EMPTY' });
  });

  it('refuses a folder name that is not an npm package name', () => {
    for (const name of ['My_App', '.hidden', '_under', 'with space', 'nova-ts', 'a'.repeat(215)]) {
      assert.throws(() => createNewApp(join(work, name)), { code: 'NOVA_ERR_CLI_APP_NAME' }, name);
      assert.equal(existsSync(join(work, name)), false, `${name} was created`);
    }
  });

  it("creates an empty folder's app, named after the folder, depending on this clone by path", () => {
    const dir = join(work, 'empty_app');
    mkdirSync(dir);
    const app = createNewApp(dir);
    assert.equal(app.name, 'empty_app');
    assert.equal(app.dependency, `file:${ROOT}`);
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    assert.equal(manifest.name, 'empty_app');
    assert.equal(manifest.type, 'module');
    assert.equal(manifest.dependencies['nova-ts'], `file:${ROOT}`);
    assert.equal(manifest.nova.routes, 'dist/router.js');
    for (const file of [
      '.gitignore',
      'README.md',
      'tsconfig.json',
      'src/app.ts',
      'src/router.ts',
      'src/main-controller.ts',
      'src/config.ts',
      'src/app.test.ts',
      'views/index.html',
      'views/layout.html',
      'public/style.css',
    ]) {
      assert.ok(app.files.includes(file), `${file} missing from ${app.files.join(', ')}`);
      assert.ok(existsSync(join(dir, file)), file);
    }
    // The packed package may hold neither a test file nor a .gitignore: the templates are renamed.
    assert.equal(existsSync(join(dir, 'gitignore')), false);
    assert.equal(existsSync(join(dir, 'src/app-test.ts.tmpl')), false);
    // Every placeholder is filled.
    for (const file of app.files) assert.doesNotMatch(readFileSync(join(dir, file), 'utf8'), /__APP_NAME__/, file);
    assert.match(readFileSync(join(dir, 'views/layout.html'), 'utf8'), /<title>empty_app<\/title>/);
  });

  it('creates a missing folder, parents included', () => {
    const dir = join(work, 'deep', 'er', 'new-app');
    createNewApp(dir, { dependency: '^1.2.3' });
    assert.equal(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).dependencies['nova-ts'], '^1.2.3');
  });
});
