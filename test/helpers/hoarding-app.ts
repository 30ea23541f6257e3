// A child-process app for test/integration/memory-budget.test.ts: every `POST /hoard` starts a
// new session, stores the request body's `value` in it and ties it to the user the body names,
// which is the most memory one request can pin in the memory store. Started with the framework's
// defaults (only a secret and a port), as a new user would start one.
import { closeOnSignals, createApp, json, requestPlugin, session, status, type Context } from 'nova-ts';

const app = createApp({
  port: Number(process.env.PORT),
  host: '127.0.0.1',
  session: {
    secrets: [process.env.SESSION_SECRET ?? 'hoarding-app-secret-0123456789abcdefgh'],
    // Unset in the tests (the default is what they try); set by hand to measure other budgets.
    ...(process.env.SESSION_MAX_STORE_BYTES ? { maxStoreBytes: Number(process.env.SESSION_MAX_STORE_BYTES) } : {}),
  },
  plugins: [requestPlugin()],
  routes: [
    {
      routes: [
        ['/heartbeat', () => status(200), { methods: ['get'] }],
        ['/hoard', hoard, { methods: ['post'] }],
        ['/mine', async (ctx: Context) => json({ value: ((await session.get<string>(ctx, 'value')) ?? '').length }), { methods: ['get'] }],
      ],
    },
  ],
});

async function hoard(ctx: Context) {
  const { user, value } = ctx.params as { user?: unknown; value?: unknown };
  if (typeof user !== 'string' || typeof value !== 'string') return status(400);
  await session.bindUser(ctx, user);
  await session.set(ctx, 'value', value);
  return json({ stored: value.length });
}

await app.listen();
closeOnSignals(app);
console.info(`hoarding app listening on ${process.env.PORT}`);
