import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dependencySpec, packageRoot } from './package-source.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');

/** A project with nova-ts installed in node_modules, its lockfile saying where it came from. */
function project(work: string, name: string, lock: unknown, manifest: unknown = { name }): string {
  const dir = join(work, name);
  const pkg = join(dir, 'node_modules', 'nova-ts');
  mkdirSync(pkg, { recursive: true });
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'nova-ts', version: '0.1.0' }));
  writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest));
  if (lock !== undefined) writeFileSync(join(dir, 'package-lock.json'), JSON.stringify(lock));
  return pkg;
}

describe('where the running nova-ts comes from', () => {
  let work: string;
  before(() => {
    work = mkdtempSync(join(tmpdir(), 'nova-source-'));
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('finds the package root of this clone, and depends on it by path', () => {
    assert.equal(packageRoot(), ROOT);
    assert.equal(dependencySpec(ROOT), `file:${ROOT}`);
  });

  it('installed from a tarball: the tarball npm recorded, made absolute', () => {
    const pkg = project(work, 'from-tarball', { packages: { 'node_modules/nova-ts': { version: '0.1.0', resolved: 'file:../out/nova-ts-0.1.0.tgz' } } });
    assert.equal(packageRoot(join(pkg, 'dist', 'src', 'cli', 'main.js')), pkg);
    assert.equal(dependencySpec(pkg), `file:${join(work, 'out', 'nova-ts-0.1.0.tgz')}`);
  });

  it('installed from the registry: the version', () => {
    const pkg = project(work, 'from-registry', {
      packages: { 'node_modules/nova-ts': { version: '0.1.0', resolved: 'https://registry.npmjs.org/nova-ts/-/nova-ts-0.1.0.tgz' } },
    });
    assert.equal(dependencySpec(pkg), '^0.1.0');
  });

  it("no lockfile: the project's own spec, else the installed folder", () => {
    const declared = project(work, 'declared', undefined, { dependencies: { 'nova-ts': 'file:vendor/nova-ts.tgz' } });
    assert.equal(dependencySpec(declared), `file:${join(work, 'declared', 'vendor', 'nova-ts.tgz')}`);
    const bare = project(work, 'bare', undefined);
    assert.equal(dependencySpec(bare), `file:${bare}`);
  });
});
