import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { breakChain, cors, json, requestPlugin, status, stop, type Context, type Plugin } from 'nova-ts';
import { serve } from '../helpers/serve.js';

function recorder(name: string, log: string[], behaviour: Partial<Plugin> = {}): Plugin {
  return {
    name,
    preRequest: (ctx: Context) => {
      log.push(`${name}:pre:${ctx.path}`);
    },
    postRequest: () => {
      log.push(`${name}:post`);
    },
    ...behaviour,
  };
}

describe('plugins in the pipeline', () => {
  it('run global then group plugins, pre before security and controller, post after', async () => {
    const log: string[] = [];
    const s = await serve({
      plugins: [recorder('global', log)],
      routes: [
        {
          plugins: [recorder('group', log)],
          security: () => {
            log.push('security');
            return true;
          },
          routes: [['/a', () => (log.push('controller'), json({}))]],
        },
        { routes: [['/b', () => json({})]] },
      ],
    });
    try {
      await (await fetch(`${s.url}/a`)).text();
      assert.deepEqual(log, ['global:pre:/a', 'group:pre:/a', 'security', 'controller', 'global:post', 'group:post']);
      log.length = 0;
      await (await fetch(`${s.url}/b`)).text();
      assert.deepEqual(log, ['global:pre:/b', 'global:post'], 'group plugins stay in their group');
      log.length = 0;
      await (await fetch(`${s.url}/missing`)).text();
      assert.deepEqual(log, [], 'no plugins on a 404, as in Nova');
    } finally {
      await s.close();
    }
  });

  it('a plugin can answer the request itself and stop the chain', async () => {
    const log: string[] = [];
    const s = await serve({
      plugins: [recorder('gate', log, { preRequest: () => stop(status(429, { body: 'slow down' })) }), recorder('after', log)],
      routes: [{ security: () => (log.push('security'), true), routes: [['/x', () => (log.push('controller'), json({}))]] }],
    });
    try {
      const res = await fetch(`${s.url}/x`);
      assert.equal(res.status, 429);
      assert.equal(await res.text(), 'slow down');
      assert.deepEqual(log, ['gate:post', 'after:post'], 'neither later pre plugins, security nor the controller ran');
    } finally {
      await s.close();
    }
  });

  it('break skips the rest of the phase but the request carries on (Nova answers 500)', async () => {
    const log: string[] = [];
    const s = await serve({
      plugins: [recorder('first', log, { preRequest: () => breakChain() }), recorder('second', log)],
      routes: [{ routes: [['/x', () => (log.push('controller'), json({ ok: true }))]] }],
    });
    try {
      const res = await fetch(`${s.url}/x`);
      assert.equal(res.status, 200);
      assert.deepEqual(log, ['controller', 'first:post', 'second:post']);
    } finally {
      await s.close();
    }
  });

  it('post-request plugins can adjust the reply before it is written', async () => {
    const s = await serve({
      plugins: [
        {
          name: 'stamp',
          postRequest: (ctx: Context) => {
            ctx.reply!.headers['x-stamp'] = 'post';
            ctx.reply!.status = 203;
          },
        },
      ],
      routes: [{ routes: [['/x', () => json({})]] }],
    });
    try {
      const res = await fetch(`${s.url}/x`);
      assert.equal(res.status, 203);
      assert.equal(res.headers.get('x-stamp'), 'post');
    } finally {
      await s.close();
    }
  });

  it("a throwing plugin gives 500 (Nova's documented {error, R})", async () => {
    const s = await serve({
      plugins: [
        {
          name: 'broken',
          preRequest: () => {
            throw new Error('plugin bug');
          },
        },
      ],
      routes: [{ routes: [['/x', () => json({})]] }],
    });
    try {
      const res = await fetch(`${s.url}/x`, { headers: { accept: 'application/json' } });
      assert.equal(res.status, 500);
      assert.doesNotMatch(await res.text(), /plugin bug/);
    } finally {
      await s.close();
    }
  });

  it('init runs once at start and stop at close, for global and group plugins', async () => {
    const events: string[] = [];
    const mk = (name: string): Plugin => ({ name, init: () => void events.push(`init:${name}`), stop: () => void events.push(`stop:${name}`) });
    const g = mk('global');
    const s = await serve({ plugins: [g], routes: [{ plugins: [mk('group'), g], routes: [['/x', () => json({})]] }] });
    assert.deepEqual(events, ['init:global', 'init:group']);
    await s.close();
    assert.deepEqual(events, ['init:global', 'init:group', 'stop:global', 'stop:group']);
  });

  it('request plugin: bad JSON is a 400, an oversized body a 413, a form lands in params', async () => {
    const s = await serve({
      plugins: [requestPlugin({ limit: 1024 })],
      routes: [{ routes: [['/echo', (ctx: Context) => json({ json: ctx.json ?? null, params: ctx.params, q: ctx.query }), { methods: ['post'] }]] }],
    });
    try {
      const bad = await fetch(`${s.url}/echo`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: '{"a":' });
      assert.equal(bad.status, 400);
      const big = await fetch(`${s.url}/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ a: 'x'.repeat(4096) }),
      });
      assert.equal(big.status, 413);
      const ok = await fetch(`${s.url}/echo?page=2`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'username=ada&password=pw',
      });
      assert.equal(ok.status, 201);
      assert.deepEqual(await ok.json(), { json: null, params: { username: 'ada', password: 'pw' }, q: { page: '2' } });
    } finally {
      await s.close();
    }
  });

  it('CORS answers a preflight for a path whose routes do not list OPTIONS', async () => {
    const s = await serve({
      plugins: [cors({ allowOrigins: ['https://app.example'] })],
      routes: [{ routes: [['/api', () => json({}), { methods: ['post'] }]] }],
    });
    try {
      const res = await fetch(`${s.url}/api`, {
        method: 'OPTIONS',
        headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
      });
      assert.ok(res.status === 204 || res.status === 200, `status ${res.status}`);
      assert.equal(res.headers.get('access-control-allow-origin'), 'https://app.example');
      assert.match(res.headers.get('vary') ?? '', /Origin/i);
      const plain = await fetch(`${s.url}/api`, { method: 'OPTIONS' });
      assert.equal(plain.status, 405, 'a non-preflight OPTIONS still gets 405');
    } finally {
      await s.close();
    }
  });
});
