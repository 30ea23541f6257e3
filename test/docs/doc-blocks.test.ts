// The docs checker itself: it must catch a broken block and say where, or the docs test proves
// nothing. Each case is a small Markdown text, checked as the real docs are.
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createBlockChecker } from '../helpers/doc-blocks/compile.js';
import { extractBlocks } from '../helpers/doc-blocks/extract.js';
import { parseBlock } from '../helpers/doc-blocks/parse.js';
import { runBlock } from '../helpers/doc-blocks/run.js';
import { checkSqlBlocks } from '../helpers/doc-blocks/sql.js';
import { skipUnlessReachable } from '../helpers/service.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const preludeDir = join(root, 'test/docs/preludes');
const checker = createBlockChecker({ root, preludeDir });
const fence = '```';

function compile(markdown: string, doc = 'docs/checker-case.md') {
  return checker.check(extractBlocks(doc, markdown).blocks).map((e) => `${e.where}: ${e.message}`);
}

describe('extractBlocks', () => {
  it('finds each fenced block with its language, line, indentation removed, and its markers', () => {
    const md = [
      '# Title',
      '',
      '<!-- prelude: nova, app -->',
      '<!-- run -->',
      `${fence}ts`,
      'const a = 1;',
      fence,
      '',
      '1. a step',
      '',
      `   ${fence}sh`,
      '   echo hi',
      `   ${fence}`,
      '',
    ].join('\n');
    const { blocks, problems } = extractBlocks('docs/x.md', md);
    assert.deepEqual(problems, []);
    assert.deepEqual(
      blocks.map((b) => [b.line, b.lang, b.code]),
      [
        [5, 'ts', 'const a = 1;'],
        [11, 'sh', 'echo hi'],
      ],
    );
    assert.deepEqual(blocks[0]!.markers, { prelude: ['nova', 'app'], run: true, probes: [] });
    assert.deepEqual(blocks[1]!.markers, { prelude: [], run: false, probes: [] });
  });

  it('reads markers only from the lines right above the fence', () => {
    const { blocks } = extractBlocks('docs/x.md', ['<!-- run -->', '', `${fence}ts`, 'x;', fence].join('\n'));
    assert.equal(blocks[0]!.markers.run, false);
  });

  it('reads probes, which make the block run', () => {
    const { blocks, problems } = extractBlocks('docs/x.md', ['<!-- probe: GET /heartbeat 200, POST /login 302 -->', `${fence}ts`, 'x;', fence].join('\n'));
    assert.deepEqual(problems, []);
    assert.deepEqual(blocks[0]!.markers.probes, [
      { method: 'GET', path: '/heartbeat', status: 200 },
      { method: 'POST', path: '/login', status: 302 },
    ]);
    assert.equal(blocks[0]!.markers.run, true);
    assert.match(
      extractBlocks('docs/x.md', ['<!-- probe: /heartbeat -->', `${fence}ts`, 'x;', fence].join('\n')).problems[0]!.message,
      /not "METHOD \/path STATUS"/,
    );
  });

  it('names an unknown or empty marker with its line', () => {
    const { problems } = extractBlocks('docs/x.md', ['<!-- prelud: app -->', '<!-- not-compiled -->', `${fence}ts`, 'x;', fence].join('\n'));
    assert.deepEqual(problems.map((p) => p.line).sort(), [1, 2]);
    assert.match(problems.find((p) => p.line === 1)!.message, /unknown marker "prelud"/);
    assert.match(problems.find((p) => p.line === 2)!.message, /needs a value/);
  });
});

describe('compiling blocks', () => {
  it('passes a correct block that imports nova-ts', () => {
    assert.deepEqual(compile([`${fence}ts`, "import { json } from 'nova-ts';", "export const hello = () => json({ hello: 'world' });", fence].join('\n')), []);
  });

  it('reports a type error at its line in the Markdown file', () => {
    const md = ['# A page', '', `${fence}ts`, "import { status } from 'nova-ts';", '', "status('200');", fence].join('\n');
    const errors = compile(md);
    assert.equal(errors.length, 1, errors.join('\n'));
    assert.match(errors[0]!, /^docs\/checker-case\.md:6: Argument of type 'string' is not assignable/);
  });

  it('reports a name the package does not export', () => {
    const errors = compile([`${fence}ts`, "import { createAp } from 'nova-ts';", 'createAp;', fence].join('\n'));
    assert.match(errors.join('\n'), /^docs\/checker-case\.md:2: .*has no exported member named 'createAp'/);
  });

  it("resolves a fragment's names only through the preludes it names", () => {
    const fragment = ['createApp({ routes, session: { secrets } });', fence].join('\n');
    assert.deepEqual(compile(`<!-- prelude: nova, app -->\n${fence}ts\n${fragment}`), []);
    assert.match(compile(`<!-- prelude: app -->\n${fence}ts\n${fragment}`).join('\n'), /checker-case\.md:3: Cannot find name 'createApp'/);
    assert.match(compile(`<!-- prelude: nova, nope -->\n${fence}ts\n${fragment}`).join('\n'), /checker-case\.md:2: no prelude named nope/);
  });

  it('skips a block marked not-compiled', () => {
    assert.deepEqual(compile(`<!-- not-compiled: a transcript -->\n${fence}ts\n$ nova-ts routes\n${fence}`), []);
  });

  it("keeps a block's session declaration away from the other blocks", () => {
    const md = [
      `${fence}ts`,
      "declare module 'nova-ts' { interface SessionData { username: string } }",
      fence,
      '',
      `${fence}ts`,
      "import { session, type Context } from 'nova-ts';",
      "export const f = (ctx: Context) => session.set(ctx, 'anything', 1);",
      fence,
    ].join('\n');
    assert.deepEqual(compile(md), []);
  });

  it('lets a block import a named block of the same document', () => {
    const md = [
      '<!-- file: greet.ts -->',
      `${fence}ts`,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the doc block's own template string
      'export const greet = (name: string) => `hi ${name}`;',
      fence,
      '',
      `${fence}ts`,
      "import { greet } from './greet.js';",
      'greet(42);',
      fence,
    ].join('\n');
    assert.match(compile(md).join('\n'), /^docs\/checker-case\.md:8: Argument of type 'number'/);
  });
});

describe('parsing blocks', () => {
  it('reports JSON and Liquid that do not parse', () => {
    const [json, liquid, good] = extractBlocks(
      'docs/x.md',
      [`${fence}json`, '"a": 1', fence, `${fence}html`, '{% if x %}open', fence, `${fence}json`, '{"a": 1}', fence].join('\n'),
    ).blocks;
    assert.match(parseBlock(json!)[0]!.message, /json does not parse/);
    assert.match(parseBlock(liquid!)[0]!.message, /html does not parse/);
    assert.deepEqual(parseBlock(good!), []);
  });
});

describe('SQL blocks', () => {
  it('runs them in PostgreSQL, leaves nothing behind, and reports a failing statement at its line', async (t) => {
    const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
    const skip = await skipUnlessReachable(url, 5432, 'PostgreSQL');
    if (skip) return t.skip(skip);
    const table = `docs_block_${process.pid}`;
    const md = [
      `${fence}sql`,
      `CREATE TABLE ${table} (id int PRIMARY KEY);`,
      `INSERT INTO ${table} VALUES (1);`,
      fence,
      '',
      `${fence}sql`,
      `SELECT 1;`,
      `SELECT nope FROM ${table};`,
      fence,
    ].join('\n');
    const errors = await checkSqlBlocks(extractBlocks('docs/x.md', md).blocks, url);
    // The second block's table is gone: the first block's transaction was rolled back.
    assert.deepEqual(
      errors.map((e) => e.where),
      ['docs/x.md:8'],
    );
    assert.match(errors[0]!.message, /relation "docs_block_\d+" does not exist/);
  });
});

describe('running blocks', () => {
  const run = (markdown: string) => {
    const { blocks } = extractBlocks('docs/checker-case.md', markdown);
    return runBlock(blocks.find((b) => b.markers.run)!, blocks, { root, preludeDir, timeoutMs: 10_000 });
  };

  it('runs a program against the built package and compares its output', async () => {
    const program = ["import { status } from 'nova-ts';", 'console.log(status(204).status);', fence].join('\n');
    assert.deepEqual(await run(`<!-- run -->\n<!-- output: 204 -->\n${fence}ts\n${program}`), []);
    const errors = await run(`<!-- run -->\n<!-- output: 200 -->\n${fence}ts\n${program}`);
    assert.equal(errors.length, 1);
    assert.match(`${errors[0]!.where}: ${errors[0]!.message}`, /^docs\/checker-case\.md:3: printed "204", the marker expects "200"/);
  });

  it('reports a program that fails, with its stderr', async () => {
    const errors = await run(`<!-- run -->\n${fence}ts\nthrow new Error('broken example');\n${fence}`);
    assert.match(errors.map((e) => e.message).join('\n'), /exited with 1:[\s\S]*broken example/);
  });

  it('runs a shell block marked run, and reports its failure', async () => {
    assert.deepEqual(await run(`<!-- run -->\n<!-- output: ok -->\n${fence}sh\ntouch here && ls here >/dev/null && echo ok\n${fence}`), []);
    assert.match((await run(`<!-- run -->\n${fence}sh\nfalse\n${fence}`))[0]!.message, /exited with 1/);
  });

  it('starts an app block on a free port, whatever port it names, and probes it', async (t) => {
    // The block names a port that is taken: it must be moved, not fail with EADDRINUSE.
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    t.after(() => taken.close());
    const app = [
      "import { createApp, status } from 'nova-ts';",
      `const app = createApp({ port: ${(taken.address() as AddressInfo).port}, host: '127.0.0.1', session: { secrets: ['a-probe-test-secret-of-32-characters!!'] }, routes: [{ routes: [['/heartbeat', () => status(200), { methods: ['get'] }]] }] });`,
      'await app.listen();',
      fence,
    ].join('\n');
    assert.deepEqual(await run(`<!-- probe: GET /heartbeat 200, GET /nowhere 404 -->\n${fence}ts\n${app}`), []);
    const errors = await run(`<!-- probe: GET /heartbeat 204 -->\n${fence}ts\n${app}`);
    assert.deepEqual(
      errors.map((e) => `${e.where}: ${e.message}`),
      ['docs/checker-case.md:2: GET /heartbeat answered 200, the marker expects 204'],
    );
  });

  it('reports an app block that never listens', async () => {
    const errors = await run(`<!-- probe: GET / 200 -->\n${fence}ts\nconsole.log('no server');\n${fence}`);
    assert.match(errors[0]!.message, /exited with 0 before listening/);
  });

  it('refuses to run a block that needs a declaration-only prelude', async () => {
    assert.match((await run(`<!-- run -->\n<!-- prelude: app -->\n${fence}ts\napp;\n${fence}`))[0]!.message, /cannot use the prelude app/);
  });
});
