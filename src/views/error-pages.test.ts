import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errors } from '../errors.js';
import type { Reply } from '../results/reply.js';
import { createErrorReplier, errorReply, type ErrorReplyInput } from './error-pages.js';
import { negotiateErrorFormat } from './negotiate.js';
import { createViewEngine } from './views.js';

const browser = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

function reply(input: Partial<ErrorReplyInput> & { status: number }): Promise<Reply> {
  return errorReply({ accept: undefined, showStack: false, ...input });
}

function bodyText(r: Reply): string {
  assert.equal(typeof r.body, 'string');
  return r.body as string;
}

function contentType(r: Reply): string {
  return String(r.headers['content-type']);
}

test('negotiation: the format chosen for each Accept header', () => {
  const cases: Array<[string | undefined, string]> = [
    [undefined, 'json'],
    ['', 'json'],
    ['*/*', 'json'],
    ['*', 'json'],
    ['application/json', 'json'],
    ['application/problem+json', 'json'],
    ['application/*', 'json'],
    ['text/html', 'html'],
    ['application/xhtml+xml', 'html'],
    [browser, 'html'],
    ['text/plain', 'plain'],
    ['image/png', 'plain'],
    ['nonsense', 'plain'],
    // q-values decide, whatever the order
    ['text/html;q=0.5, application/json', 'json'],
    ['application/json;q=0.4, text/html;q=0.9', 'html'],
    ['text/html;q=0.5, */*', 'json'],
    ['TEXT/HTML; Q=0.2, Application/JSON; q=0.1', 'html'],
    // ties go to the first listed
    ['text/html, application/json', 'html'],
    ['application/json, text/html', 'json'],
    ['application/json;q=0.5, text/html;q=0.5', 'json'],
    // an explicit type beats a wildcard at the same q; plain text only wins when it is preferred
    ['*/*, text/html', 'html'],
    ['text/plain, */*', 'plain'],
    ['text/plain, application/json', 'json'],
    ['text/plain, application/json;q=0.5', 'plain'],
    // q=0 refuses a type, even when a wildcard would allow it
    ['application/json;q=0, */*', 'html'],
    ['text/html;q=0, application/json;q=0', 'plain'],
    ['text/html;q=0', 'plain'],
    // malformed weights are ignored rather than read as a refusal
    ['text/html;q=abc', 'html'],
    ['text/html;q=', 'html'],
  ];
  for (const [accept, expected] of cases) {
    assert.equal(negotiateErrorFormat(accept), expected, `Accept: ${String(accept)}`);
  }
});

test('no Accept header: JSON with status and message, charset and no-store', async () => {
  const r = await reply({ status: 404 });
  assert.equal(r.status, 404);
  assert.equal(bodyText(r), '{"status":404,"message":"Resource not found"}');
  assert.equal(contentType(r), 'application/json; charset=utf-8');
  assert.equal(r.headers['cache-control'], 'no-store');
  assert.equal(r.headers['x-content-type-options'], 'nosniff');
});

test('*/* and JSON Accept headers get JSON', async () => {
  for (const accept of ['*/*', 'application/json', 'application/vnd.api+json', 'text/plain;q=0.1, application/json']) {
    const r = await reply({ status: 405, accept });
    assert.deepEqual(JSON.parse(bodyText(r)), { status: 405, message: 'Method not allowed' }, accept);
    assert.equal(contentType(r), 'application/json; charset=utf-8');
  }
});

test('text/html gets the HTML error page with status, title and message', async () => {
  const r = await reply({ status: 404, accept: 'text/html' });
  const html = bodyText(r);
  assert.equal(contentType(r), 'text/html; charset=utf-8');
  assert.equal(r.headers['cache-control'], 'no-store');
  assert.match(html, /^<!DOCTYPE html>/);
  assert.match(html, /<p class="status">404<\/p>/, 'rendered from pages/error.html');
  assert.match(html, /<h1>Not Found<\/h1>/);
  assert.match(html, /Resource not found/);
  assert.doesNotMatch(html, /<pre/);
});

test('a browser Accept header gets a non-empty 500 page (Nova sent an empty body)', async () => {
  const r = await reply({ status: 500, accept: browser, error: new Error('boom') });
  assert.equal(r.status, 500);
  assert.equal(contentType(r), 'text/html; charset=utf-8');
  assert.match(bodyText(r), /Internal server error/);
  assert.match(bodyText(r), /<h1>Internal Server Error<\/h1>/);
});

test('anything else gets plain text with the message', async () => {
  for (const accept of ['text/plain', 'image/png']) {
    const r = await reply({ status: 403, accept });
    assert.equal(contentType(r), 'text/plain; charset=utf-8', accept);
    assert.equal(bodyText(r), 'Forbidden');
    assert.equal(r.headers['cache-control'], 'no-store');
  }
});

test('default messages per status, from node:http for the ones without their own', async () => {
  const expected: Record<number, string> = {
    400: 'Bad request',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'Resource not found',
    405: 'Method not allowed',
    413: 'Payload too large',
    500: 'Internal server error',
    503: 'Service unavailable',
    418: "I'm a teapot",
    451: 'Unavailable for legal reasons',
  };
  for (const [status, message] of Object.entries(expected)) {
    const r = await reply({ status: Number(status), accept: 'text/plain' });
    assert.equal(r.status, Number(status));
    assert.equal(bodyText(r), message);
  }
});

test('a status that is not an error status is answered as 500', async () => {
  for (const status of [200, 302, 99, 600, 404.5, Number.NaN]) {
    const r = await reply({ status });
    assert.equal(r.status, 500, String(status));
    assert.equal(JSON.parse(bodyText(r)).message, 'Internal server error');
  }
});

test("the caller's message is shown for 4xx", async () => {
  const r = await reply({ status: 400, message: 'name is required' });
  assert.deepEqual(JSON.parse(bodyText(r)), { status: 400, message: 'name is required' });
});

test('a catalogue 4xx error supplies its message; an arbitrary error does not', async () => {
  const tooLarge = await reply({ status: 413, error: errors.bodyTooLarge(1024) });
  assert.equal(JSON.parse(bodyText(tooLarge)).message, 'request body is larger than the limit of 1024 bytes');
  const internal = await reply({ status: 404, error: new Error('SELECT * FROM users failed') });
  assert.equal(JSON.parse(bodyText(internal)).message, 'Resource not found');
});

test('5xx never shows the internal message unless stack traces are on, in any format', async () => {
  const leak = 'password=hunter2';
  for (const accept of [undefined, 'text/html', 'text/plain']) {
    for (const status of [500, 503]) {
      const r = await reply({ status, accept, message: `db failed: ${leak}`, error: new Error(`connect ${leak}`) });
      const body = bodyText(r);
      assert.doesNotMatch(body, /hunter2/, `${status} ${String(accept)}`);
      assert.doesNotMatch(body, /at .*error-pages\.test/, 'no stack frames');
    }
  }
});

test('with showStack, 5xx shows the message and the stack', async () => {
  const error = new Error('connect ECONNREFUSED');
  const json = JSON.parse(bodyText(await reply({ status: 500, error, showStack: true })));
  assert.equal(json.message, 'connect ECONNREFUSED');
  assert.equal(json.stack, error.stack);
  const withMessage = JSON.parse(bodyText(await reply({ status: 500, error, message: 'db down', showStack: true })));
  assert.equal(withMessage.message, 'db down');
  const plain = bodyText(await reply({ status: 500, accept: 'text/plain', error, showStack: true }));
  assert.ok(plain.startsWith('connect ECONNREFUSED\n\nError: connect ECONNREFUSED\n    at '), plain);
});

test('the stack includes causes', async () => {
  const error = new Error('outer', { cause: new Error('inner') });
  const json = JSON.parse(bodyText(await reply({ status: 500, error, showStack: true })));
  assert.match(json.stack, /Error: outer[\s\S]*\nCaused by: Error: inner/);
});

test('the stack appears only when showStack is on and an Error was given', async () => {
  const error = new Error('nope');
  assert.equal('stack' in JSON.parse(bodyText(await reply({ status: 404, error }))), false);
  assert.equal('stack' in JSON.parse(bodyText(await reply({ status: 404, showStack: true }))), false);
  assert.equal('stack' in JSON.parse(bodyText(await reply({ status: 404, error: 'a string', showStack: true }))), false);
  assert.equal(JSON.parse(bodyText(await reply({ status: 404, error, showStack: true }))).stack, error.stack);
  assert.doesNotMatch(bodyText(await reply({ status: 500, accept: 'text/html', error })), /<pre/);
  assert.match(bodyText(await reply({ status: 500, accept: 'text/html', error, showStack: true })), /<pre class="stack">Error: nope\n {4}at /);
  assert.doesNotMatch(bodyText(await reply({ status: 500, accept: 'text/plain', error })), /Error: nope/);
});

test('the HTML page escapes the message and the stack', async () => {
  const xss = '<script>alert("x")</script>';
  const fromMessage = bodyText(await reply({ status: 400, accept: 'text/html', message: xss }));
  assert.doesNotMatch(fromMessage, /<script/);
  assert.match(fromMessage, /&lt;script&gt;alert\(&#34;x&#34;\)&lt;\/script&gt;/);
  const fromStack = bodyText(await reply({ status: 500, accept: browser, error: new Error(xss), showStack: true }));
  assert.doesNotMatch(fromStack, /<script/);
  assert.match(fromStack, /<pre class="stack">Error: &lt;script&gt;/);
  const title = bodyText(await reply({ status: 418, accept: 'text/html' }));
  assert.match(title, /<h1>I&#39;m a Teapot<\/h1>/);
});

test('JSON bodies keep markup inert (\\u escapes) while parsing back to the same text', async () => {
  const xss = '</script><script>alert(1)</script>&\u2028';
  const body = bodyText(await reply({ status: 400, message: xss }));
  assert.doesNotMatch(body, /[<>&\u2028]/);
  assert.equal(JSON.parse(body).message, xss);
  const withStack = bodyText(await reply({ status: 500, error: new Error(xss), showStack: true }));
  assert.doesNotMatch(withStack, /[<>&]/);
  assert.equal(JSON.parse(withStack).message, xss);
});

test('a custom error view can be used, and is escaped too', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nova-error-pages-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'oops.html'), 'custom {{ status }} {{ title }}: {{ message }}');
  const replier = createErrorReplier({ views: createViewEngine({ dir }), view: 'oops' });
  const r = await replier({ status: 401, accept: 'text/html', message: '<b>who?</b>', showStack: false });
  assert.equal(bodyText(r), 'custom 401 Unauthorized: &lt;b&gt;who?&lt;/b&gt;');
});

test('when the error template cannot be rendered, a built-in escaped page is sent instead', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'nova-error-pages-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const replier = createErrorReplier({ views: createViewEngine({ dir }) });
  const r = await replier({ status: 500, accept: browser, error: new Error('<img src=x onerror=alert(1)>'), showStack: true });
  const html = bodyText(r);
  assert.equal(r.status, 500);
  assert.equal(contentType(r), 'text/html; charset=utf-8');
  assert.match(html, /<h1>500 Internal Server Error<\/h1>/);
  assert.match(html, /<pre>Error: &#60;img src=x onerror=alert\(1\)&#62;/);
  assert.doesNotMatch(html, /<img/);
});
