// `npm run docs` builds the API reference from the doc comments of the public entry points,
// without a warning (typedoc.json treats them as errors: a broken {@link}, a public type that
// refers to one the package does not export).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));

describe('npm run docs', () => {
  const out = mkdtempSync(join(tmpdir(), 'nova-api-'));
  after(() => rmSync(out, { recursive: true, force: true }));

  it('builds the API reference of nova-ts and nova-ts/testing without warnings', () => {
    const run = spawnSync('npm', ['run', 'docs', '--', '--out', out], { cwd: root, encoding: 'utf8', timeout: 90_000 });
    const output = `${run.stdout}\n${run.stderr}`;
    assert.equal(run.status, 0, output);
    assert.doesNotMatch(output, /\[warning\]|\[error\]/, output);

    const page = (path: string) => {
      assert.ok(existsSync(join(out, path)), `${path} missing from the reference`);
      return readFileSync(join(out, path), 'utf8');
    };
    assert.match(page('functions/nova-ts.createApp.html'), /Makes an app from its configuration/);
    assert.match(page('variables/nova-ts.session.html'), /session/);
    page('functions/nova-ts.memoryStore.html');
    page('classes/nova-ts.NovaError.html');
    page('interfaces/nova-ts.CorsOptions.html');
    assert.match(page('functions/nova-ts_testing.inject.html'), /without a socket|socket/);
    page('functions/nova-ts_testing.agent.html');
  });
});
