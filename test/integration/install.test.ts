/**
 * The packed package installed as a new user would: into an empty app, from the registry, next to
 * the TypeScript we build with and Node 20's types. An app that uses only the memory store gets no
 * Redis, PostgreSQL or NATS client, npm prints no engine warning, the app compiles with
 * `skipLibCheck: false` and runs, and the Redis store without `redis` names the package to install.
 *
 * Needs the npm registry (60–120 s). Off-line it skips, except under CI=true, where it fails.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TS_VERSION = (createRequire(join(ROOT, 'package.json'))('typescript/package.json') as { version: string }).version;
const OFFLINE = /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ENETUNREACH|network request .* failed/;

function exec(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env, timeout = 60_000): SpawnSyncReturns<string> {
  return spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout });
}

function run(command: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv, timeout?: number): string {
  const result = exec(command, args, cwd, env, timeout);
  assert.equal(result.status, 0, `${command} ${args.join(' ')} failed:\n${result.stdout}\n${result.stderr}`);
  return `${result.stdout}\n${result.stderr}`;
}

const APP = `import { createApp, json, memoryStore } from 'nova-ts';
import { inject } from 'nova-ts/testing';

const app = createApp({
  session: { store: memoryStore() },
  routes: [{ routes: [['/hello', () => json({ hello: 'world' })]] }],
});
await app.start();
try {
  const res = await inject(app, { url: '/hello' });
  const body: unknown = res.json();
  console.log(JSON.stringify({ status: res.status, body }));
} finally {
  await app.close();
}
`;

const REDIS_APP = `import { redisStore } from 'nova-ts';

try {
  await redisStore().start();
  console.log(JSON.stringify({ started: true }));
} catch (err) {
  const e = err as { code?: string; message?: string };
  console.log(JSON.stringify({ code: e.code, message: e.message }));
}
`;

describe('installing the packed package into an empty app', { timeout: 300_000 }, () => {
  let work: string;
  let app: string;
  let installOutput = '';
  let offline = false;

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'nova-install-'));
    const copy = join(work, 'repo');
    mkdirSync(copy);
    for (const entry of ['package.json', 'README.md', 'docs', 'dist', 'scripts', 'bench/README.md']) {
      mkdirSync(dirname(join(copy, entry)), { recursive: true });
      cpSync(join(ROOT, entry), join(copy, entry), { recursive: true });
    }
    const out = join(work, 'out');
    mkdirSync(out);
    run('npm', ['pack', '--pack-destination', out, '--loglevel=error'], copy, { ...process.env, NOVA_PACK_SKIP_BUILD: '1' });
    const [tarball] = readdirSync(out).filter((name) => name.endsWith('.tgz'));
    assert.ok(tarball, 'npm pack wrote no tarball');

    app = join(work, 'app');
    mkdirSync(app);
    run('npm', ['init', '-y'], app);
    const manifest = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(app, 'package.json'), `${JSON.stringify({ ...manifest, type: 'module' }, null, 2)}\n`);
    // A cache of its own: what the shared cache already holds must not hide a download failing.
    const env = { ...process.env, npm_config_cache: join(work, 'npm-cache'), npm_config_update_notifier: 'false' };
    const install = exec('npm', ['install', join(out, tarball), `typescript@${TS_VERSION}`, '@types/node@20', '--no-audit', '--no-fund'], app, env, 240_000);
    installOutput = `${install.stdout}\n${install.stderr}`;
    if (install.status !== 0 && OFFLINE.test(installOutput) && process.env.CI !== 'true') {
      offline = true;
      return;
    }
    assert.equal(install.status, 0, `npm install failed:\n${installOutput}`);
  });

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('installs no Redis, PostgreSQL or NATS client', (t) => {
    if (offline) return t.skip('the npm registry is unreachable');
    const modules = join(app, 'node_modules');
    assert.ok(existsSync(join(modules, 'nova-ts')));
    const present = ['redis', '@redis', 'pg', '@nats-io'].filter((name) => existsSync(join(modules, name)));
    assert.deepEqual(present, [], `installed with nova-ts: ${present.join(', ')}`);
  });

  it('prints no engine warning', (t) => {
    if (offline) return t.skip('the npm registry is unreachable');
    const warnings = installOutput.split('\n').filter((line) => /EBADENGINE|engine/i.test(line));
    assert.deepEqual(warnings, []);
  });

  it('compiles with skipLibCheck false and runs an app on the memory store', (t) => {
    if (offline) return t.skip('the npm registry is unreachable');
    writeFileSync(join(app, 'app.ts'), APP);
    const tsc = join(app, 'node_modules', 'typescript', 'bin', 'tsc');
    const flags = ['--strict', '--skipLibCheck', 'false', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022'];
    run(process.execPath, [tsc, ...flags, '--noEmit', 'app.ts'], app, process.env, 120_000);
    run(process.execPath, [tsc, ...flags, '--outDir', 'out', 'app.ts'], app, process.env, 120_000);
    const output = run(process.execPath, [join('out', 'app.js')], app);
    assert.deepEqual(JSON.parse(output.trim().split('\n')[0]!), { status: 200, body: { hello: 'world' } });
  });

  it('names the package to install when the Redis store is used without redis', (t) => {
    if (offline) return t.skip('the npm registry is unreachable');
    writeFileSync(join(app, 'redis-app.mjs'), REDIS_APP.replace('err as { code?: string; message?: string }', 'err'));
    const output = run(process.execPath, ['redis-app.mjs'], app);
    const result = JSON.parse(output.trim().split('\n')[0]!) as { code?: string; message?: string };
    assert.equal(result.code, 'NOVA_ERR_MISSING_PACKAGE');
    assert.match(result.message ?? '', /"redis" package: npm install redis/);
  });
});
