/**
 * Typed session data, checked the way an app sees it: each case is compiled by tsc as a project
 * of its own against the built package's declarations (dist/src), because a SessionData
 * declaration applies to a whole program.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const tsc = join(root, 'node_modules/typescript/bin/tsc');

/** Compile `files` (copied into a temporary project) with the example's settings; tsc's output and status. */
function compile(files: Record<string, string>): { status: number | null; output: string } {
  const dir = mkdtempSync(join(tmpdir(), 'nova-types-'));
  try {
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    writeFileSync(join(dir, 'package.json'), '{"type": "module"}');
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        extends: join(root, 'tsconfig.json'),
        compilerOptions: {
          noEmit: true,
          rootDir: dir,
          paths: { 'nova-ts': [join(root, 'dist/src/index.d.ts')] },
          typeRoots: [join(root, 'node_modules/@types')],
        },
        include: [dir],
        exclude: [],
      }),
    );
    const run = spawnSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.json')], { encoding: 'utf8' });
    return { status: run.status, output: `${run.stdout}${run.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const fixture = (name: string) => readFileSync(join(root, 'test/fixtures/typed-session', name), 'utf8');

describe('typed session data', () => {
  it('without a declaration takes any key and any JSON-shaped value, interfaces included, and refuses Dates, functions and Maps', () => {
    const { status, output } = compile({ 'undeclared.ts': fixture('undeclared.ts') });
    assert.equal(status, 0, output);
  });

  it('with SessionData and FlashData declared refuses unknown keys and wrong types, and types ctx.authData per group', () => {
    const { status, output } = compile({ 'declared.ts': fixture('declared.ts') });
    assert.equal(status, 0, output);
  });

  it("fails the example app's typecheck on a misspelled session key", () => {
    const dir = join(root, 'examples/login');
    const files: Record<string, string> = {};
    for (const name of ['app.ts', 'auth.ts', 'main-controller.ts', 'router.ts', 'session-data.ts', 'sessions-controller.ts']) {
      files[name] = readFileSync(join(dir, name), 'utf8');
    }
    assert.equal(compile(files).status, 0, 'the example as it is compiles');
    const auth = files['auth.ts']!;
    assert.ok(auth.includes("session.get(ctx, 'username')"));
    const broken = compile({ ...files, 'auth.ts': auth.replace("session.get(ctx, 'username')", "session.get(ctx, 'usernme')") });
    assert.notEqual(broken.status, 0);
    assert.match(broken.output, /auth\.ts.*error TS2345: Argument of type '"usernme"' is not assignable/);
  });
});
