/**
 * The Redis transport: the conformance suite against the Redis at REDIS_URL (default
 * redis://127.0.0.1:6379), and outage tests against a redis-server of its own. Without Redis (or
 * the redis-server binary) these tests fail under CI (CI=true) and are skipped elsewhere.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import { freePort } from '../../../test/helpers/outage.js';
import { reachable, skipUnlessReachable } from '../../../test/helpers/service.js';
import { rejectsWith } from '../../testing/session-store.lifecycle.js';
import { transportSuite } from '../../testing/transport.suite.js';
import { redisTransport } from './redis.js';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const inCi = process.env.CI === 'true';
const UNAVAILABLE = 'NOVA_ERR_PUBSUB_UNAVAILABLE';

const skip = await skipUnlessReachable(url, 6379, 'Redis').catch((err: Error) => err);
if (skip instanceof Error) {
  it('Redis is reachable (required under CI)', () => {
    throw skip;
  });
} else if (skip !== undefined) {
  it('redis transport conformance', { skip }, () => {});
} else {
  transportSuite('redis', async (count) => Array.from({ length: count }, () => redisTransport({ url })));

  it('works on a client passed in, and leaves it open on stop()', async () => {
    const client = createClient({ url });
    client.on('error', () => {});
    await client.connect();
    const transport = redisTransport({ client });
    try {
      await transport.start();
      const ch = `nova.test.${randomUUID()}`;
      const received: string[] = [];
      await transport.subscribe(ch, (m) => received.push(m));
      await transport.publish(ch, 'mine');
      await waitFor(() => received.length > 0, 'the message');
      assert.deepEqual(received, ['mine']);
      await transport.stop();
      assert.equal(client.isReady, true, 'the client passed in is still open');
      assert.equal(await client.ping(), 'PONG');
    } finally {
      await transport.stop();
      client.destroy();
    }
  });
}

it('start() against a closed port rejects at once with NOVA_ERR_PUBSUB_UNAVAILABLE, naming host:port but no password', async () => {
  const port = await freePort();
  const transport = redisTransport({ url: `redis://nova:s3cret-pw@127.0.0.1:${port}` });
  const began = Date.now();
  await assert.rejects(transport.start(), (err: { code?: string; status?: number; message?: string }) => {
    assert.equal(err.code, UNAVAILABLE);
    assert.equal(err.status, 503);
    assert.match(err.message ?? '', new RegExp(`127\\.0\\.0\\.1:${port}`));
    assert.doesNotMatch(err.message ?? '', /s3cret-pw/);
    return true;
  });
  assert.ok(Date.now() - began < 3000, 'within the default connect timeout');
  await rejectsWith(transport.publish('nova.test.x', 'x'), UNAVAILABLE);
  await transport.stop();
});

const hasServer = spawnSync('redis-server', ['--version']).status === 0;
describe('redis transport on a redis-server of its own', { skip: hasServer || inCi ? false : 'redis-server is not installed' }, () => {
  it('survives a killed and restarted server: times out while hung, re-subscribes, calls onReconnect once, delivers again', async () => {
    assert.ok(hasServer, 'redis-server must be installed under CI');
    const port = await freePort();
    const own = `redis://127.0.0.1:${port}`;
    let server = await startRedis(port);
    const [sub, pub] = [redisTransport({ url: own, ackTimeoutMs: 500 }), redisTransport({ url: own, ackTimeoutMs: 500 })];
    try {
      await sub.start();
      await pub.start();
      const reconnects = [0, 0];
      const back = [sub, pub].map((t, i) => new Promise<void>((resolve) => t.onReconnect(() => {
        reconnects[i]!++;
        resolve();
      })));
      const ch = `nova.test.${randomUUID()}`;
      const received: string[] = [];
      await sub.subscribe(ch, (m) => received.push(m));
      await pub.publish(ch, 'before');
      await waitFor(async () => received.includes('before'));
      assert.deepEqual(reconnects, [0, 0], 'no onReconnect on the first connection');

      await hang(server); // hung: the PUBLISH is written but never answered
      const began = Date.now();
      await rejectsWith(pub.publish(ch, 'while hung'), UNAVAILABLE);
      assert.ok(Date.now() - began < 1500, 'a hung server costs one ack timeout');
      server.kill('SIGCONT');

      await stopRedis(server, 'SIGKILL');
      await rejectsWith(pub.publish(ch, 'while down'), UNAVAILABLE);
      server = await startRedis(port);
      await within(Promise.all(back), 10_000, 'onReconnect after the restart');
      await pub.publish(ch, 'after');
      await waitFor(async () => received.includes('after'));
      assert.deepEqual(reconnects, [1, 1], 'onReconnect ran once on each transport');
      assert.ok(!received.includes('while down'));
    } finally {
      await sub.stop();
      await pub.stop();
      server.kill('SIGCONT');
      await stopRedis(server, 'SIGKILL');
    }
  });
});

/** A throwaway redis-server on `port`, without persistence; resolves once it accepts connections. */
async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  try {
    await waitFor(() => reachable(`redis://127.0.0.1:${port}`, port), 'redis-server to listen');
    return child;
  } catch (err) {
    await stopRedis(child, 'SIGKILL');
    throw err;
  }
}

async function stopRedis(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  await exited;
}

/** Poll `check` (without a fixed sleep per step) until it holds; fail after 10 s. */
async function waitFor(check: () => Promise<boolean> | boolean, what = 'condition'): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** SIGSTOP the server and wait until every one of its threads is stopped (a signal lands a little later). */
async function hang(child: ChildProcess): Promise<void> {
  child.kill('SIGSTOP');
  const tasks = `/proc/${child.pid}/task`;
  await waitFor(() => {
    try {
      // The state is the field after the ")" closing the command name: T when stopped.
      return readdirSync(tasks).every((t) => /\) T /.test(readFileSync(`${tasks}/${t}/stat`, 'utf8')));
    } catch {
      return true; // no /proc (not Linux): nothing better to wait for
    }
  }, 'the server to stop');
}
