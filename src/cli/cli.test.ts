import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));
const VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

function cli(...args: string[]) {
  return spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 30_000 });
}

describe('the nova-ts command', () => {
  it('is an executable script', () => {
    assert.ok(readFileSync(MAIN, 'utf8').startsWith('#!/usr/bin/env node\n'));
  });

  it('--help prints the usage and exits 0', () => {
    for (const flag of ['--help', '-h', 'help']) {
      const run = cli(flag);
      assert.equal(run.status, 0, flag);
      assert.match(run.stdout, /^Usage: nova-ts <command>/);
      assert.match(run.stdout, /new <dir>/);
      assert.match(run.stdout, /routes \[module\]/);
    }
  });

  it('--version prints the package version', () => {
    for (const flag of ['--version', '-v']) {
      const run = cli(flag);
      assert.equal(run.status, 0);
      assert.equal(run.stdout.trim(), VERSION);
    }
  });

  it('an unknown command, an unknown option or no command: the usage on stderr and exit 2', () => {
    for (const args of [['frobnicate'], [], ['routes', '--bogus'], ['new'], ['new', 'a', 'b'], ['new', 'x', '--json']]) {
      const run = cli(...args);
      assert.equal(run.status, 2, args.join(' '));
      assert.equal(run.stdout, '');
      assert.match(run.stderr, /Usage: nova-ts <command>/, args.join(' '));
    }
    assert.match(cli('frobnicate').stderr, /unknown command "frobnicate"/);
  });

  it('a failed command: its message on stderr and exit 1', () => {
    const run = cli('routes', '/nonexistent/router.js');
    assert.equal(run.status, 1);
    assert.match(run.stderr, /^nova-ts routes: the routes module \/nonexistent\/router\.js does not exist/);
  });
});
