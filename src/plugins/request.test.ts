import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NovaError } from '../errors.js';
import { requestPlugin } from './request.js';
import { chunk, send, sendRaw, serve, type Harness } from '../../test/helpers/plugin-harness.js';

const JSON_TYPE = { 'content-type': 'application/json' };
const FORM_TYPE = { 'content-type': 'application/x-www-form-urlencoded' };

describe('requestPlugin: JSON bodies', () => {
  let server: Harness;
  before(async () => {
    server = await serve([requestPlugin()]);
  });
  after(() => server.close());

  it('parses a JSON body into ctx.json', async () => {
    const answer = await send(server, { headers: JSON_TYPE, body: '{"name":"ada","tags":[1,2]}' });
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body.json, { name: 'ada', tags: [1, 2] });
  });

  it('ignores parameters and case in the content type', async () => {
    const answer = await send(server, { headers: { 'content-type': 'Application/JSON; charset=UTF-8' }, body: '[true]' });
    assert.deepEqual(answer.body.json, [true]);
  });

  it('treats +json media types as JSON', async () => {
    const answer = await send(server, { method: 'PATCH', headers: { 'content-type': 'application/merge-patch+json' }, body: '{"a":null}' });
    assert.deepEqual(answer.body.json, { a: null });
  });

  it('decodes UTF-8, including multi-byte characters split across chunks', async () => {
    const bytes = Buffer.from('"héllo ☃"');
    const head = 'POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n';
    const hex = (b: Buffer) => `${b.length.toString(16)}\r\n`;
    const first = bytes.subarray(0, 3); // cuts "é" in half
    const rest = bytes.subarray(3);
    const answer = await sendRaw(server, head, [
      Buffer.concat([Buffer.from(hex(first)), first, Buffer.from('\r\n')]),
      Buffer.concat([Buffer.from(hex(rest)), rest, Buffer.from('\r\n0\r\n\r\n')]),
    ]);
    assert.equal(answer.status, 200);
    assert.equal(JSON.parse(Buffer.from(answer.text, 'latin1').toString('utf8')).json, 'héllo ☃');
  });

  it('answers 400 for invalid JSON', async () => {
    const answer = await send(server, { headers: JSON_TYPE, body: '{"name": ' });
    assert.equal(answer.status, 400);
    assert.equal(answer.body.error, 'NOVA_ERR_BAD_JSON');
  });

  it('answers 400 for an empty JSON body', async () => {
    const answer = await send(server, { headers: JSON_TYPE, body: '' });
    assert.equal(answer.status, 400);
    assert.equal(answer.body.error, 'NOVA_ERR_BAD_JSON');
  });

  it('answers 400 for a JSON body that is not UTF-8', async () => {
    const answer = await send(server, { headers: JSON_TYPE, body: Buffer.from([0x22, 0xff, 0xfe, 0x22]) });
    assert.equal(answer.status, 400);
    assert.equal(answer.body.error, 'NOVA_ERR_BAD_JSON');
  });

  it('keeps "__proto__" in JSON as data', async () => {
    const inspectServer = await serve([requestPlugin()], (ctx) => ({
      polluted: ({} as Record<string, unknown>).polluted === true,
      ownProto: Object.hasOwn(ctx.json as object, '__proto__'),
    }));
    try {
      const answer = await send(inspectServer, { headers: JSON_TYPE, body: '{"__proto__":{"polluted":true}}' });
      assert.deepEqual(answer.body, { outcome: 'continue', polluted: false, ownProto: true });
    } finally {
      await inspectServer.close();
    }
  });

  for (const method of ['GET', 'DELETE', 'HEAD', 'OPTIONS']) {
    it(`does not read the body of ${method}`, async () => {
      const answer = await send(server, { method, headers: JSON_TYPE, body: '{"a":1}' });
      assert.equal(answer.status, 200);
      if (method !== 'HEAD') assert.equal(answer.body.json, undefined);
    });
  }

  it('does not read a body whose content type it does not parse', async () => {
    const answer = await send(server, { headers: { 'content-type': 'text/plain' }, body: 'not json' });
    assert.equal(answer.status, 200);
    assert.equal(answer.body.json, undefined);
  });

  it('leaves a keep-alive connection usable for the next request', async () => {
    const one = 'POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 7\r\n\r\n{"n":1}';
    const two = 'POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 7\r\nconnection: close\r\n\r\n{"n":2}';
    const answer = await sendRaw(server, one + two);
    assert.equal(answer.closed, true);
    assert.match(answer.text, /"json":\{"n":1\}/);
    assert.match(answer.text, /"json":\{"n":2\}/);
  });
});

describe('requestPlugin: urlencoded forms', () => {
  const inspect = (ctx: { params: Record<string, string | string[]> }) => ({
    params: ctx.params,
    nullPrototype: Object.getPrototypeOf(ctx.params) === null,
    ownProto: Object.hasOwn(ctx.params, '__proto__'),
  });
  let server: Harness;
  before(async () => {
    server = await serve([requestPlugin()], inspect);
  });
  after(() => server.close());

  it('parses a form into ctx.params, repeated keys as arrays', async () => {
    const answer = await send(server, { headers: FORM_TYPE, body: 'username=ada&role=a&role=b&role=c&note=two+words%21' });
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.body.params, { username: 'ada', role: ['a', 'b', 'c'], note: 'two words!' });
    assert.equal(answer.body.nullPrototype, true);
  });

  it('keeps "__proto__" as a plain key', async () => {
    const answer = await send(server, { headers: FORM_TYPE, body: '__proto__=x&constructor=y' });
    // Built with JSON.parse: in an object literal `__proto__` would set the prototype instead.
    assert.deepEqual(answer.body.params, JSON.parse('{"__proto__":"x","constructor":"y"}'));
    assert.equal(answer.body.ownProto, true);
  });

  it('survives malformed percent-encoding', async () => {
    const answer = await send(server, { headers: FORM_TYPE, body: 'a=%zz&b=%E0%A4%A&c=%&d=%C3%28' });
    assert.equal(answer.status, 200);
    assert.equal(answer.body.params.a, '%zz');
    assert.equal(answer.body.params.c, '%');
    assert.equal(typeof answer.body.params.b, 'string');
    assert.equal(typeof answer.body.params.d, 'string');
  });

  it('answers 400 for raw bytes that are not UTF-8', async () => {
    const answer = await send(server, { headers: FORM_TYPE, body: Buffer.from([0x61, 0x3d, 0xff]) });
    assert.equal(answer.status, 400);
    assert.equal(answer.body.error, 'NOVA_ERR_BAD_FORM');
  });

  it('parses forms only when asked to', async () => {
    const jsonOnly = await serve([requestPlugin({ form: false })], inspect);
    try {
      const answer = await send(jsonOnly, { headers: FORM_TYPE, body: 'a=1' });
      assert.deepEqual(answer.body.params, {});
    } finally {
      await jsonOnly.close();
    }
  });
});

describe('requestPlugin: size limit', () => {
  const limit = 1024;
  let server: Harness;
  before(async () => {
    server = await serve([requestPlugin({ limit })]);
  });
  after(() => server.close());

  it('accepts a body of exactly the limit', async () => {
    const body = JSON.stringify('x'.repeat(limit - 2));
    assert.equal(Buffer.byteLength(body), limit);
    const answer = await send(server, { headers: JSON_TYPE, body });
    assert.equal(answer.status, 200);
  });

  it('answers 413 from a too-large Content-Length without waiting for the body', async () => {
    // Only 10 of the announced 10 MB are sent: a plugin that read before deciding would hang.
    const head = 'POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 10000000\r\n\r\n{"a":"aaa"';
    const answer = await sendRaw(server, head);
    assert.equal(answer.status, 413);
    assert.equal(answer.headers.connection, 'close');
    assert.match(answer.text, /NOVA_ERR_BODY_TOO_LARGE/);
    assert.equal(answer.closed, true);
  });

  it('answers 413 for a chunked body that grows past the limit, and closes the connection', async () => {
    const head = 'POST / HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n';
    // An endless body: 400 chunks of 512 bytes, never terminated. The answer must come early.
    const chunks = Array.from({ length: 400 }, () => chunk('a'.repeat(512)));
    const answer = await sendRaw(server, head, chunks, { intervalMs: 5, timeoutMs: 3000 });
    assert.equal(answer.status, 413);
    assert.equal(answer.headers.connection, 'close');
    assert.equal(answer.closed, true);
    assert.ok(answer.chunksSent < 50, `answered after ${answer.chunksSent} chunks`);
  });

  it('answers 413 for a JSON body one byte over the limit', async () => {
    const answer = await send(server, { headers: JSON_TYPE, body: JSON.stringify('x'.repeat(limit - 1)) });
    assert.equal(answer.status, 413);
  });

  it('defaults to 1 MiB', async () => {
    const defaults = await serve([requestPlugin()]);
    try {
      const over = await send(defaults, { headers: FORM_TYPE, body: 'a='.padEnd(1024 * 1024 + 1, 'b') });
      assert.equal(over.status, 413);
      const at = await send(defaults, { headers: FORM_TYPE, body: 'a='.padEnd(1024 * 1024, 'b') });
      assert.equal(at.status, 200);
    } finally {
      await defaults.close();
    }
  });
});

describe('requestPlugin: options', () => {
  for (const [label, options] of [
    ['a negative limit', { limit: -1 }],
    ['a NaN limit', { limit: Number.NaN }],
    ['a fractional limit', { limit: 1.5 }],
    ['a string limit', { limit: '1mb' }],
    ['a non-boolean json flag', { json: 'yes' }],
    ['an unknown option', { limt: 10 }],
  ] as const) {
    it(`refuses ${label} at creation`, () => {
      assert.throws(
        () => requestPlugin(options as never),
        (err: unknown) => err instanceof NovaError && err.code === 'NOVA_ERR_PLUGIN_INVALID',
      );
    });
  }

  it('accepts a limit of 0 (no body at all)', async () => {
    const server = await serve([requestPlugin({ limit: 0 })]);
    try {
      assert.equal((await send(server, { headers: JSON_TYPE, body: '1' })).status, 413);
      assert.equal((await send(server, { headers: JSON_TYPE, body: '' })).status, 400);
    } finally {
      await server.close();
    }
  });
});
