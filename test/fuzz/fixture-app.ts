// The framework app the fuzz suite attacks besides the example: body parsing (JSON and forms),
// CORS, the token CSRF plugin, a route that writes the session, and a route that reports the
// state of Object.prototype in this (the server's) process. Run as a child: `node fixture-app.js`.
import { closeOnSignals, cors, createApp, csrf, csrfToken, json, requestPlugin, session, status, type Context } from 'nova-ts';
import { prototypeAdditions } from './proto-report.js';

/** What a parsed body looks like, without echoing it (a deep one would not serialise). */
function shape(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return typeof value;
  return {
    type: Array.isArray(value) ? 'array' : 'object',
    keys: Object.keys(value).slice(0, 20),
    proto: Object.getPrototypeOf(value) === null ? 'null' : 'object',
  };
}

async function loginPost(ctx: Context) {
  const { user, password } = ctx.params;
  if (typeof user !== 'string' || user.length === 0 || user.length > 64 || password !== 'pw') return status(401);
  await session.regenerate(ctx);
  await session.set(ctx, 'user', user);
  return json({ user });
}

const app = createApp({
  host: '127.0.0.1',
  port: Number(process.env.PORT),
  session: { secrets: [process.env.SESSION_SECRET!] },
  plugins: [requestPlugin({ limit: 64 * 1024 })],
  routes: [
    {
      routes: [
        ['/heartbeat', () => status(200), { methods: ['get'] }],
        [
          '/proto-check',
          () =>
            json({
              added: prototypeAdditions(),
              enumerable: Object.keys(Object.prototype).length,
              polluted: ({} as Record<string, unknown>).polluted !== undefined,
            }),
          { methods: ['get'] },
        ],
        ['/login', loginPost, { methods: ['post'] }],
        ['/me', async (ctx: Context) => json({ user: (await session.get(ctx, 'user')) ?? null }), { methods: ['get'] }],
        ['/files/[...]', (ctx: Context) => json({ path: ctx.path, rest: ctx.bindings['*'] ?? null }), { methods: ['get'] }],
        ['/items/:id', (ctx: Context) => json({ id: ctx.bindings.id ?? null, query: Object.keys(ctx.query) }), { methods: ['get', 'delete'] }],
      ],
    },
    {
      prefix: '/api',
      plugins: [cors({ allowOrigins: ['https://app.example'], credentials: true, maxAge: 60 })],
      routes: [
        [
          '/echo',
          (ctx: Context) => json({ json: shape(ctx.json), params: Object.keys(ctx.params), query: Object.keys(ctx.query) }),
          { methods: ['post', 'put', 'patch'] },
        ],
        ['/query', (ctx: Context) => json({ query: shape(ctx.query), path: ctx.path }), { methods: ['get'] }],
      ],
    },
    {
      prefix: '/form',
      plugins: [csrf()],
      routes: [
        ['', (ctx: Context) => json({ token: csrfToken(ctx) }), { methods: ['get'] }],
        [
          '',
          async (ctx: Context) => {
            const note = ctx.params.note ?? (ctx.json as { note?: unknown } | undefined)?.note;
            await session.set(ctx, 'note', String(note).slice(0, 200));
            return json({ saved: true });
          },
          { methods: ['post'] },
        ],
      ],
    },
  ],
});
await app.listen();
closeOnSignals(app);
console.info(`fuzz fixture listening on ${app.config.port}`);
