// `session.store` and `session.replication` as URLs: what the configuration accepts and refuses,
// the store it builds, and the one list of secrets. Nothing here reaches a service: stores and
// transports connect at start, and these checks happen in createApp. The services are in
// test/integration/stores-by-url.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createApp,
  inProcessBus,
  json,
  memoryStore,
  NovaError,
  postgresStore,
  redisStore,
  replicatedStore,
  session,
  type Context,
  type NovaConfigInput,
} from 'nova-ts';
import { agent } from 'nova-ts/testing';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };
const SECRET = 'store-spec-test-secret-0123456789-abcdefghij';
const OTHER = 'store-spec-other-secret-0123456789-abcdefghij';

function app(sessionConfig: NonNullable<NovaConfigInput['session']>) {
  return createApp({ routes: [], logger: quiet, session: sessionConfig });
}

/** The error createApp throws for this session configuration. */
function refusal(sessionConfig: NonNullable<NovaConfigInput['session']>): NovaError {
  try {
    app(sessionConfig);
  } catch (err) {
    assert.ok(err instanceof NovaError, `a NovaError, got ${String(err)}`);
    return err;
  }
  assert.fail('createApp accepted it');
}

describe('session.store by URL', () => {
  it('builds the store the URL names, without connecting yet', () => {
    const cases = [
      ['memory', 'memory'],
      ['redis://127.0.0.1:6379', 'redis'],
      ['rediss://cache.example:6380/2', 'redis'],
      ['redis+cluster://10.0.0.1:7000,10.0.0.2:7000,10.0.0.3:7000', 'redis'],
      ['rediss+cluster://user:pw@cache.example:6380', 'redis'],
      ['postgres://postgres@127.0.0.1:5432/test', 'postgres'],
      ['postgresql://u:p@db.example/app', 'postgres'],
    ] as const;
    for (const [url, name] of cases) {
      assert.equal(app({ secrets: [SECRET], store: url }).sessions?.store.name, name, url);
    }
    assert.equal(app({}).sessions?.store.name, 'memory', 'the default is still the memory store');
  });

  it('still takes a store object, as it is', () => {
    const store = memoryStore();
    assert.equal(app({ store }).sessions?.store, store);
  });

  it('refuses another scheme, naming the key and the accepted forms, and echoing only the scheme', () => {
    const err = refusal({ secrets: [SECRET], store: 'mongodb://admin:hunter2@db.example/app' });
    assert.equal(err.code, 'NOVA_ERR_CONFIG');
    assert.match(
      err.message,
      /^invalid configuration at "session\.store": must be "memory", a redis:\/\/ or rediss:\/\/ URL, a redis\+cluster:\/\/host:port,… URL, a postgres:\/\/ or postgresql:\/\/ URL, or a session store object \(got a "mongodb:" value\)$/,
    );
    assert.ok(!err.message.includes('hunter2'), 'no password in the message');
    assert.match(refusal({ store: 'localhost:6379' }).message, /"session\.store": must be .* \(got a "localhost:" value\)/);
    assert.match(refusal({ store: 'memroy' }).message, /"session\.store": must be .* \(got a value with no URL scheme\)/);
    assert.match(refusal({ secrets: [SECRET], store: 'redis://[bad' }).message, /"session\.store": is not a valid redis:\/\/ URL$/);
    assert.match(
      refusal({ secrets: [SECRET], store: 'redis+cluster://10.0.0.1:7000,10.0.0.2' }).message,
      /"session\.store": is not a valid redis\+cluster:\/\/ URL$/,
    );
    assert.match(refusal({ secrets: [SECRET], store: 'redis+cluster://' }).message, /"session\.store": is not a valid redis\+cluster:\/\/ URL$/);
    assert.match(refusal({ store: 42 as never }).message, /"session\.store": expected "memory", a redis:\/\//);
  });
});

describe('session.replication by URL', () => {
  it('builds a replicated memory store for a redis, nats or cluster URL, or an options object', () => {
    for (const replication of [
      'redis://127.0.0.1:6379',
      'rediss://cache.example',
      'nats://127.0.0.1:4222',
      'tls://nats.example:4222',
      'cluster',
      { url: 'nats://127.0.0.1:4222', leaseMs: 2000, partition: 'serve-stale' as const },
    ]) {
      assert.equal(app({ secrets: [SECRET], replication }).sessions?.store.name, 'replicated-memory', JSON.stringify(replication));
    }
  });

  it('refuses another scheme, naming the key and the accepted forms', () => {
    const err = refusal({ secrets: [SECRET], replication: 'amqp://guest:hunter2@mq.example' });
    assert.equal(err.code, 'NOVA_ERR_CONFIG');
    assert.match(
      err.message,
      /^invalid configuration at "session\.replication": must be a redis:\/\/ or rediss:\/\/ URL, a nats:\/\/ \(or tls:\/\/\) URL, "cluster", or \{ url, leaseMs, partition, … \} \(got a "amqp:" value\)$/,
    );
    assert.ok(!err.message.includes('hunter2'));
    assert.match(refusal({ secrets: [SECRET], replication: { url: 'postgres://h/db' } }).message, /at "session\.replication\.url": must be a redis:\/\//);
    assert.match(refusal({ secrets: [SECRET], replication: 7 as never }).message, /at "session\.replication": expected a redis:\/\//);
  });

  it('checks the options object: unknown keys, timings, partition and cluster name, with their key paths', () => {
    assert.match(
      refusal({ secrets: [SECRET], replication: { url: 'cluster', secret: SECRET } as never }).message,
      /at "session\.replication\.secret": unknown key/,
    );
    assert.match(
      refusal({ secrets: [SECRET], replication: { url: 'cluster', leaseMs: 1000, heartbeatMs: 900 } }).message,
      /at "session\.replication\.heartbeatMs": must be at most half of leaseMs/,
    );
    assert.match(
      refusal({ secrets: [SECRET], replication: { url: 'cluster', leaseMs: -1 } }).message,
      /at "session\.replication\.leaseMs": must be a positive number of milliseconds/,
    );
    assert.match(
      refusal({ secrets: [SECRET], replication: { url: 'cluster', partition: 'stale' as never } }).message,
      /at "session\.replication\.partition": must be 'fence' or 'serve-stale'/,
    );
    assert.match(refusal({ secrets: [SECRET], replication: { url: 'cluster', cluster: 'a b' } }).message, /at "session\.replication\.cluster": a cluster name/);
  });

  it('replicates the memory store only: another store with it is refused', () => {
    for (const store of ['redis://127.0.0.1:6379', memoryStore()]) {
      const err = refusal({ secrets: [SECRET], store, replication: 'nats://127.0.0.1:4222' });
      assert.match(err.message, /at "session\.replication": replicates the memory store, which it builds itself: leave session\.store unset \(or "memory"\)/);
    }
    assert.equal(app({ secrets: [SECRET], store: 'memory', replication: 'cluster' }).sessions?.store.name, 'replicated-memory');
  });
});

describe('one list of secrets', () => {
  const bus = inProcessBus();
  const refusedWithoutSecrets: [string, NonNullable<NovaConfigInput['session']>, RegExp][] = [
    ['redis URL', { store: 'redis://127.0.0.1:6379' }, /^The redis store \(session\.store\) needs session\.secrets/],
    ['postgres URL', { store: 'postgres://127.0.0.1/test' }, /^The postgres store \(session\.store\) needs session\.secrets/],
    ['replication URL', { replication: 'nats://127.0.0.1:4222' }, /^Replication \(session\.replication\) needs session\.secrets/],
    ['replication object', { replication: { url: 'cluster' } }, /^Replication \(session\.replication\) needs session\.secrets/],
    ['redisStore object', { store: redisStore() }, /^The redis store \(session\.store\) needs session\.secrets/],
    ['postgresStore object', { store: postgresStore() }, /^The postgres store \(session\.store\) needs session\.secrets/],
    [
      'replicatedStore object',
      { store: replicatedStore({ transport: bus.transport(), secret: SECRET }) },
      /^The replicated store \(session\.store\) needs session\.secrets/,
    ],
  ];
  for (const [what, config, start] of refusedWithoutSecrets) {
    it(`refuses a ${what} without session.secrets, naming the fix`, () => {
      const err = refusal(config);
      assert.equal(err.code, 'NOVA_ERR_SESSION_SECRETS_REQUIRED');
      assert.match(err.message, start);
      assert.match(err.message, /Set session\.secrets to the same list on every node; make a secret with `openssl rand -base64 32`$/);
    });
  }

  it('still starts a memory store without secrets (one node, nothing to share)', () => {
    assert.equal(app({ store: 'memory' }).sessions?.store.name, 'memory');
  });

  it('refuses a replicatedStore whose own secret is not session.secrets, naming both places', () => {
    for (const [own, secrets] of [
      [OTHER, [SECRET]],
      [[SECRET, OTHER], [SECRET]],
      [
        [OTHER, SECRET],
        [SECRET, OTHER],
      ],
    ] as const) {
      const err = refusal({ secrets: [...secrets], store: replicatedStore({ transport: bus.transport(), secret: own }) });
      assert.equal(err.code, 'NOVA_ERR_SESSION_SECRET_MISMATCH');
      assert.match(err.message, /replicatedStore\(\{ secret \}\).* differs from session\.secrets/);
    }
  });

  it('accepts a replicatedStore given the same list, as a string or as bytes', () => {
    for (const own of [SECRET, [SECRET], Buffer.from(SECRET)]) {
      const store = replicatedStore({ transport: bus.transport(), secret: own });
      assert.equal(app({ secrets: [SECRET], store }).sessions?.store, store);
    }
  });

  it('gives session.secrets to a replicatedStore passed without its own: two such apps share a login', async () => {
    const shared = inProcessBus();
    const routes = [
      {
        security: false as const,
        routes: [
          ['/login', async (ctx: Context) => (await session.set(ctx, 'user' as never, 'ada' as never), json({ ok: true })), { methods: ['post'] }],
          ['/me', async (ctx: Context) => json({ user: (await session.get(ctx, 'user' as never)) ?? null }), { methods: ['get'] }],
        ] as never,
      },
    ];
    const make = () =>
      createApp({ routes, logger: quiet, session: { secrets: [SECRET], store: replicatedStore({ transport: shared.transport(), joinTimeoutMs: 50 }) } });
    const [a, b] = [make(), make()];
    try {
      await a.start();
      await b.start();
      const browser = agent(a);
      assert.equal((await browser.post('/login')).status, 201, 'json on a POST answers 201, as in Nova');
      const cookie = browser.cookies().session_id!;
      const other = agent(b);
      const me = await other.get('/me', { cookies: { session_id: cookie } });
      assert.deepEqual(me.json(), { user: 'ada' }, 'the other app read the login over the bus');
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('refuses to start a replicatedStore with no secret used outside an app', async () => {
    const store = replicatedStore({ transport: inProcessBus().transport() });
    await assert.rejects(
      store.start({ idleTimeoutMs: 1000, absoluteTimeoutMs: 2000, touchIntervalMs: 100, maxSessionBytes: 1000, maxSessions: 10 }),
      (err: NovaError) => err.code === 'NOVA_ERR_SESSION_SECRETS_REQUIRED',
    );
  });
});
