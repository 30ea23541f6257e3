/**
 * For the Redis store's test files: register their tests only when Redis answers. When it cannot
 * be reached they fail under CI (CI=true) and are skipped elsewhere.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from 'redis';

/** Why Redis at `url` does not answer, or undefined when it does. */
async function unreachable(url: string): Promise<string | undefined> {
  const probe = createClient({ url, socket: { connectTimeout: 2000, reconnectStrategy: false } });
  probe.on('error', () => {});
  try {
    await probe.connect();
    await probe.ping();
    await probe.close();
    return undefined;
  } catch (err) {
    if (probe.isOpen) probe.destroy();
    return err instanceof Error ? err.message : String(err);
  }
}

/**
 * Probe Redis once, then call `register` (which adds the `describe`/`it` blocks), or add one test
 * that fails under CI or is skipped elsewhere.
 *
 * @example
 * ```ts
 * await whenRedis(url, () => { describe('my redis tests', () => { … }); });
 * ```
 */
export async function whenRedis(url: string, register: () => void): Promise<void> {
  const problem = await unreachable(url);
  const where = new URL(url);
  if (where.password !== '') where.password = '***';
  if (problem !== undefined && process.env.CI === 'true') {
    it('redis is reachable (required under CI)', () => {
      assert.fail(`Redis at ${where} is unreachable (${problem}); the redis store tests cannot run`);
    });
  } else if (problem !== undefined) {
    it(`redis store tests (Redis at ${where} is unreachable: ${problem})`, { skip: 'no Redis; set REDIS_URL or start redis-server' }, () => {});
  } else {
    register();
  }
}
