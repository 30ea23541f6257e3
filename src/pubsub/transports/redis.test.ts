/**
 * The Redis transport: the shared engine scenarios (`test/helpers/transport-engine-scenarios.ts`: conformance against the
 * Redis at REDIS_URL, default redis://127.0.0.1:6379, and outages of a redis-server of its own),
 * plus what only Redis has: a client passed in. Without Redis (or the redis-server binary) these
 * tests fail under CI (CI=true) and are skipped elsewhere.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from 'redis';
import { engineTransportScenarios, roundTrip } from '../../../test/helpers/transport-engine-scenarios.js';
import { redisTransport } from './redis.js';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

await engineTransportScenarios({
  name: 'redis',
  title: 'Redis',
  defaultPort: 6379,
  url,
  transport: (to, options) => redisTransport({ url: to, ...options }),
  server: 'redis-server',
  // Without persistence: a throwaway server.
  serverArgs: (port) => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
  // By the time the killed server's exit is seen, node-redis has seen its socket close too; with
  // the offline queue disabled it then refuses a publish without sending it.
  refusesAtOnceWhenKilled: true,
  liveTests() {
    it('works on a client passed in, and leaves it open on stop()', async () => {
      const client = createClient({ url });
      client.on('error', () => {});
      await client.connect();
      const transport = redisTransport({ client });
      try {
        await roundTrip(transport);
        await transport.stop();
        assert.equal(client.isReady, true, 'the client passed in is still open');
        assert.equal(await client.ping(), 'PONG');
      } finally {
        await transport.stop();
        client.destroy();
      }
    });
  },
});
