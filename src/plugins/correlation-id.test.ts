import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NovaError } from '../errors.js';
import { correlationId } from './correlation-id.js';
import { send, sendRaw, serve, type Harness } from '../../test/helpers/plugin-harness.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('correlationId: default header', () => {
  let server: Harness;
  before(async () => {
    server = await serve([correlationId()]);
  });
  after(() => server.close());

  it('keeps a well-formed incoming id, on ctx and in the response', async () => {
    const id = 'req-42.abc:DEF_9';
    const answer = await send(server, { method: 'GET', headers: { 'x-correlation-id': id } });
    assert.equal(answer.body.correlationId, id);
    assert.equal(answer.headers['x-correlation-id'], id);
  });

  it('accepts an id of exactly 128 characters', async () => {
    const id = 'a'.repeat(128);
    const answer = await send(server, { method: 'GET', headers: { 'x-correlation-id': id } });
    assert.equal(answer.body.correlationId, id);
  });

  it('makes a new UUID v4 when the request has none, a different one each time', async () => {
    const one = await send(server, { method: 'GET' });
    const two = await send(server, { method: 'GET' });
    assert.match(one.body.correlationId, UUID_V4);
    assert.equal(one.headers['x-correlation-id'], one.body.correlationId);
    assert.notEqual(one.body.correlationId, two.body.correlationId);
  });

  for (const [label, value] of [
    ['1000 characters', 'a'.repeat(1000)],
    ['129 characters', 'a'.repeat(129)],
    ['a space', 'abc def'],
    ['a tab', 'abc\tdef'],
    ['markup', '<script>alert(1)</script>'],
    ['a log-forging sequence', 'id%0d%0aadmin=true'],
    ['non-ASCII bytes', 'caf\u00e9'],
  ] as const) {
    it(`replaces an incoming id with ${label}`, async () => {
      const answer = await send(server, { method: 'GET', headers: { 'x-correlation-id': value } });
      assert.match(answer.body.correlationId, UUID_V4);
      assert.equal(answer.headers['x-correlation-id'], answer.body.correlationId);
    });
  }

  it('replaces an id sent twice (Node joins the copies with ", ")', async () => {
    const head = 'GET / HTTP/1.1\r\nhost: x\r\nx-correlation-id: one\r\nx-correlation-id: two\r\nconnection: close\r\n\r\n';
    const answer = await sendRaw(server, head);
    assert.match(answer.headers['x-correlation-id'] ?? '', UUID_V4);
  });
});

describe('correlationId: configured header', () => {
  let server: Harness;
  before(async () => {
    server = await serve([correlationId({ header: 'X-Request-ID' })]);
  });
  after(() => server.close());

  it('reads and answers the configured header instead', async () => {
    const answer = await send(server, { method: 'GET', headers: { 'x-request-id': 'abc-1', 'x-correlation-id': 'ignored' } });
    assert.equal(answer.body.correlationId, 'abc-1');
    assert.equal(answer.headers['x-request-id'], 'abc-1');
    assert.equal(answer.headers['x-correlation-id'], undefined);
  });

  for (const [label, options] of [
    ['a header name with CR/LF', { header: 'x-id\r\nset-cookie: a=b' }],
    ['an empty header name', { header: '' }],
    ['a non-string header name', { header: 42 }],
    ['an unknown option', { headr: 'x-id' }],
  ] as const) {
    it(`refuses ${label} at creation`, () => {
      assert.throws(
        () => correlationId(options as never),
        (err: unknown) => err instanceof NovaError && err.code === 'NOVA_ERR_PLUGIN_INVALID',
      );
    });
  }
});
