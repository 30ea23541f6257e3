// Every code block of README.md and docs/*.md is checked: TypeScript and JavaScript compiled
// against the built package, JSON and Liquid parsed, blocks marked `<!-- run -->` run.
// The conventions are in docs/writing-docs.md.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { COMPILED_LANGS, createBlockChecker } from '../helpers/doc-blocks/compile.js';
import { extractBlocks, type CodeBlock } from '../helpers/doc-blocks/extract.js';
import { PARSED_LANGS, parseBlock } from '../helpers/doc-blocks/parse.js';
import { runBlock } from '../helpers/doc-blocks/run.js';
import { SQL_LANGS, checkSqlBlocks } from '../helpers/doc-blocks/sql.js';
import { skipUnlessReachable } from '../helpers/service.js';

// dist/test/docs/ → the repository root, where the Markdown and the preludes are.
const root = fileURLToPath(new URL('../../../', import.meta.url));
const preludeDir = join(root, 'test/docs/preludes');
const docs = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`),
];

const blocks: CodeBlock[] = [];
const markerProblems: string[] = [];
for (const doc of docs) {
  const found = extractBlocks(doc, readFileSync(join(root, doc), 'utf8'));
  blocks.push(...found.blocks);
  markerProblems.push(...found.problems.map((p) => `${p.doc}:${p.line}: ${p.message}`));
}

const report = (errors: { where: string; message: string }[]) => errors.map((e) => `${e.where}: ${e.message}`).join('\n');

describe('documentation code blocks', () => {
  it('finds the blocks of README.md and docs/*.md', () => {
    assert.ok(blocks.filter((b) => COMPILED_LANGS.has(b.lang)).length >= 30, `only ${blocks.length} blocks found`);
  });

  it('has only markers it understands', () => {
    assert.equal(markerProblems.join('\n'), '');
  });

  it('compiles every TypeScript and JavaScript block against nova-ts', () => {
    const errors = createBlockChecker({ root, preludeDir }).check(blocks);
    assert.equal(report(errors), '', `${errors.length} compile errors in the docs`);
  });

  it('parses every JSON and Liquid block', () => {
    assert.equal(report(blocks.filter((b) => PARSED_LANGS.has(b.lang)).flatMap(parseBlock)), '');
  });

  it('runs every SQL block against PostgreSQL, rolled back', async (t) => {
    const sql = blocks.filter((b) => SQL_LANGS.has(b.lang) && b.markers.notCompiled === undefined);
    if (sql.length === 0) return; // none yet: no database needed
    const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
    const skip = await skipUnlessReachable(url, 5432, 'PostgreSQL');
    if (skip) return t.skip(skip);
    assert.equal(report(await checkSqlBlocks(sql, url)), '');
  });

  it('runs every block marked "run" or "probe"', async () => {
    const runnable = blocks.filter((b) => b.markers.run);
    assert.ok(runnable.length > 0, 'no block is marked <!-- run -->');
    const errors = [];
    for (const block of runnable) {
      errors.push(
        ...(await runBlock(
          block,
          blocks.filter((b) => b.doc === block.doc),
          { root, preludeDir },
        )),
      );
    }
    assert.equal(report(errors), '');
  });
});
