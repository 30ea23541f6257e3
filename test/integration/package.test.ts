/**
 * The published package as npm packs it: no test file, no test-only module, nothing but the
 * library under dist/, the docs the README links to, and a package.json that runs nothing when
 * installed. The real `npm pack` (with its prepack/postpack scripts) runs on a copy of the built
 * tree, so the repository's own package.json is never touched while other tests run.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const INSTALL_SCRIPTS = ['preinstall', 'install', 'postinstall', 'prepare'];

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(result.status, 0, `${command} ${args.join(' ')} failed:\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

function walk(dir: string, base = dir, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, base, out);
    else
      out.push(
        path
          .slice(base.length + 1)
          .split('\\')
          .join('/'),
      );
  }
  return out;
}

/** Relative module specifiers in compiled JS and declarations (static and dynamic imports). */
function relativeImports(source: string): string[] {
  const found: string[] = [];
  for (const match of source.matchAll(/(?:from\s*|import\s*\(\s*|import\s+)['"](\.{1,2}\/[^'"]+)['"]/g)) found.push(match[1]!);
  return found;
}

describe('the packed package', () => {
  let work: string;
  let files: string[];
  let unpacked: string;

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'nova-pack-'));
    const copy = join(work, 'repo');
    mkdirSync(copy);
    // Everything `files` could pick from, so a too-wide `files` shows up here.
    for (const entry of ['package.json', 'README.md', 'docs', 'dist', 'scripts', 'templates', 'bench/README.md']) {
      mkdirSync(dirname(join(copy, entry)), { recursive: true });
      cpSync(join(ROOT, entry), join(copy, entry), { recursive: true });
    }
    const out = join(work, 'out');
    mkdirSync(out);
    run('npm', ['pack', '--pack-destination', out, '--loglevel=error'], copy, { ...process.env, NOVA_PACK_SKIP_BUILD: '1' });
    const [tarball] = readdirSync(out).filter((name) => name.endsWith('.tgz'));
    assert.ok(tarball, 'npm pack wrote no tarball');
    unpacked = join(work, 'unpacked');
    mkdirSync(unpacked);
    run('tar', ['-xzf', join(out, tarball), '-C', unpacked], work);
    unpacked = join(unpacked, 'package');
    files = walk(unpacked);
  });

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('holds no test file of any kind', () => {
    assert.ok(files.length > 0);
    assert.deepEqual(
      files.filter((f) => /\.test\./.test(f)),
      [],
    );
  });

  it('holds nothing under dist/ but the library (no dist/test, dist/bench, dist/examples)', () => {
    assert.ok(files.includes('dist/src/index.js'));
    assert.ok(files.includes('dist/src/testing/index.js'));
    assert.deepEqual(
      files.filter((f) => f.startsWith('dist/') && !f.startsWith('dist/src/')),
      [],
    );
  });

  it('holds no module that imports from test/ or from anything left out of the package', () => {
    const broken: string[] = [];
    for (const file of files.filter((f) => /\.(js|d\.ts)$/.test(f))) {
      for (const specifier of relativeImports(readFileSync(join(unpacked, file), 'utf8'))) {
        const target = posix.normalize(posix.join(posix.dirname(file), specifier));
        const present = file.endsWith('.d.ts') ? files.includes(target.replace(/\.js$/, '.d.ts')) || files.includes(target) : files.includes(target);
        if (target.startsWith('test/') || target.includes('/test/') || !present) broken.push(`${file} → ${specifier}`);
      }
    }
    assert.deepEqual(broken, []);
  });

  it('holds no module that the package entry points do not reach (no harness or fixture only tests use)', () => {
    // By module (`x` for x.js and x.d.ts): a type-only module compiles to an empty x.js that only
    // declarations import.
    const reached = new Set<string>();
    // The `nova-ts` command (package.json "bin") is an entry point too.
    const queue = ['dist/src/index', 'dist/src/testing/index', 'dist/src/cli/main'];
    for (let module = queue.pop(); module !== undefined; module = queue.pop()) {
      if (reached.has(module)) continue;
      reached.add(module);
      for (const file of [`${module}.js`, `${module}.d.ts`].filter((f) => files.includes(f))) {
        for (const specifier of relativeImports(readFileSync(join(unpacked, file), 'utf8'))) {
          queue.push(posix.normalize(posix.join(posix.dirname(file), specifier)).replace(/\.js$/, ''));
        }
      }
    }
    assert.deepEqual(
      files.filter((f) => f.endsWith('.js') && !reached.has(f.slice(0, -'.js'.length))),
      [],
    );
  });

  it('ships README.md, docs/ and bench/README.md, and the links between them resolve inside the package', () => {
    assert.ok(files.includes('README.md'));
    assert.ok(files.includes('docs/sessions.md'));
    const readme = readFileSync(join(unpacked, 'README.md'), 'utf8');
    const links = [...readme.matchAll(/\]\(((?:docs|bench)\/[^)#\s]+)/g)].map((m) => m[1]!);
    assert.ok(links.includes('bench/README.md'), 'README links to the recorded benchmark results');
    assert.ok(links.length > 0, 'README links to no docs/ page');
    assert.deepEqual(
      links.filter((link) => !files.includes(link)),
      [],
    );
    const docLinks: string[] = [];
    for (const doc of files.filter((f) => f.startsWith('docs/') && f.endsWith('.md'))) {
      const text = readFileSync(join(unpacked, doc), 'utf8');
      for (const [, link] of text.matchAll(/\]\(([^)#\s:]+\.md)(?:#[^)]*)?\)/g)) {
        const target = posix.normalize(posix.join(posix.dirname(doc), link!));
        if (!files.includes(target)) docLinks.push(`${doc} → ${link}`);
      }
    }
    assert.deepEqual(docLinks, []);
  });

  it('runs no lifecycle script when installed, while the repository keeps `prepare`', () => {
    const packed = JSON.parse(readFileSync(join(unpacked, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
    assert.deepEqual(
      INSTALL_SCRIPTS.filter((name) => packed.scripts?.[name] !== undefined),
      [],
    );
    const repo = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    assert.equal(repo.scripts.prepare, 'npm run build', 'a fresh clone must still build on `npm install`');
    // postpack put the packed copy's manifest back as it was.
    const copy = join(work, 'repo');
    assert.ok(!existsSync(join(copy, '.package.json.unpacked')), 'postpack left the backup behind');
    assert.equal(readFileSync(join(copy, 'package.json'), 'utf8'), readFileSync(join(ROOT, 'package.json'), 'utf8'));
  });
});
