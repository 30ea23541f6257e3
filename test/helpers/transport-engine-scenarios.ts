/**
 * The tests every transport on an external engine (Redis, NATS) runs, written once: the
 * conformance suite against the shared server, start-up against a closed port, and outages of a
 * server of its own (hung, killed, restarted). `redis.test.ts` and `nats.test.ts` call
 * `engineTransportScenarios` with what differs, and keep their engine-specific tests.
 *
 * Without the shared server (or the server binary) these tests fail under CI (CI=true) and are
 * skipped elsewhere.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { freePort } from './outage.js';
import { reachable, skipUnlessReachable } from './service.js';
import { rejectsWith } from '../../src/testing/session-store.lifecycle.js';
import { transportSuite } from '../../src/testing/transport.suite.js';
import type { Transport } from '../../src/pubsub/transport.js';

const UNAVAILABLE = 'NOVA_ERR_PUBSUB_UNAVAILABLE';

/** What the scenarios need to know about one engine. */
export interface Engine {
  /** As in the test titles, and the URL scheme: `redis`. */
  name: string;
  /** As written in messages: `Redis`. */
  title: string;
  /** The port an engine URL without one means. */
  defaultPort: number;
  /** The shared server of the conformance suite (from REDIS_URL, NATS_URL or the default). */
  url: string;
  /** Where the shared server is probed for; default `url`. */
  probeUrl?: string;
  /** A transport on `url`; `options` are passed on to the transport's factory. */
  transport(url: string, options?: { ackTimeoutMs?: number }): Transport;
  /** The server binary (`redis-server`), run with `serverArgs(port)` to listen on 127.0.0.1 only. */
  server: string;
  serverArgs(port: number): string[];
  /**
   * True when the client sees a killed server at once, so a publish right after the kill is
   * refused before anything is sent and never delivered. False when the client notices the loss
   * a little later: the test then publishes until a publish is refused.
   */
  refusesAtOnceWhenKilled: boolean;
  /** Engine-specific tests on the shared server, registered only when it is reachable. */
  liveTests?(): void;
}

/**
 * Register, at the top level of a test file, the tests every engine transport must pass.
 *
 * @example
 * ```ts
 * await engineTransportScenarios({
 *   name: 'redis', title: 'Redis', defaultPort: 6379,
 *   url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
 *   transport: (url, options) => redisTransport({ url, ...options }),
 *   server: 'redis-server', serverArgs: (port) => ['--port', String(port), '--bind', '127.0.0.1'],
 *   refusesAtOnceWhenKilled: true,
 * });
 * ```
 */
export async function engineTransportScenarios(engine: Engine): Promise<void> {
  const { name, url } = engine;
  const inCi = process.env.CI === 'true';

  const skip = await skipUnlessReachable(engine.probeUrl ?? url, engine.defaultPort, engine.title).catch((err: Error) => err);
  if (skip instanceof Error) {
    it(`${engine.title} is reachable (required under CI)`, () => {
      throw skip;
    });
  } else if (skip !== undefined) {
    it(`${name} transport conformance`, { skip }, () => {});
  } else {
    transportSuite(name, async (count) => Array.from({ length: count }, () => engine.transport(url)));
    engine.liveTests?.();
  }

  it('start() against a closed port rejects at once with NOVA_ERR_PUBSUB_UNAVAILABLE, naming host:port but no password', async () => {
    const port = await freePort();
    const transport = engine.transport(`${name}://nova:s3cret-pw@127.0.0.1:${port}`);
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

  const hasServer = spawnSync(engine.server, ['--version']).status === 0;
  describe(`${name} transport on a ${engine.server} of its own`, { skip: hasServer || inCi ? false : `${engine.server} is not installed` }, () => {
    it('survives a killed and restarted server: times out while hung, re-subscribes, calls onReconnect once, delivers again', async () => {
      assert.ok(hasServer, `${engine.server} must be installed under CI`);
      const port = await freePort();
      const own = `${name}://127.0.0.1:${port}`;
      let server = await startServer(engine, port);
      const [sub, pub] = [engine.transport(own, { ackTimeoutMs: 500 }), engine.transport(own, { ackTimeoutMs: 500 })];
      try {
        await sub.start();
        await pub.start();
        const reconnects = [0, 0];
        const back = [sub, pub].map(
          (t, i) =>
            new Promise<void>((resolve) =>
              t.onReconnect(() => {
                reconnects[i]!++;
                resolve();
              }),
            ),
        );
        const ch = `nova.test.${randomUUID()}`;
        const received: string[] = [];
        await sub.subscribe(ch, (m) => received.push(m));
        await pub.publish(ch, 'before');
        await waitFor(() => received.includes('before'), 'the first message');
        assert.deepEqual(reconnects, [0, 0], 'no onReconnect on the first connection');

        await hang(server); // hung: the publish's ack is asked for but never answered
        const began = Date.now();
        await rejectsWith(pub.publish(ch, 'while hung'), UNAVAILABLE);
        assert.ok(Date.now() - began < 1500, 'a hung server costs one ack timeout');
        server.kill('SIGCONT');

        await stopServer(server, 'SIGKILL');
        if (engine.refusesAtOnceWhenKilled) {
          await rejectsWith(pub.publish(ch, 'while down'), UNAVAILABLE);
        } else {
          await waitFor(async () => {
            try {
              await pub.publish(ch, 'while down');
              return false;
            } catch (err) {
              return (err as { code?: string }).code === UNAVAILABLE; // once the client has seen the loss
            }
          }, 'publish to fail while the server is down');
        }
        server = await startServer(engine, port);
        await within(Promise.all(back), 10_000, 'onReconnect after the restart');
        await pub.publish(ch, 'after');
        await waitFor(() => received.includes('after'), 'a message after the restart');
        assert.deepEqual(reconnects, [1, 1], 'onReconnect ran once on each transport');
        if (engine.refusesAtOnceWhenKilled) assert.ok(!received.includes('while down'));
      } finally {
        await sub.stop();
        await pub.stop();
        server.kill('SIGCONT');
        await stopServer(server, 'SIGKILL');
      }
    });
  });
}

/**
 * Start `transport`, subscribe to a fresh channel, publish one message and check it comes back:
 * the engine-specific tests' way to see that a transport works.
 *
 * @example
 * ```ts
 * const transport = redisTransport({ client });
 * await roundTrip(transport); // started, and 'mine' went there and back
 * await transport.stop();
 * ```
 */
export async function roundTrip(transport: Transport): Promise<void> {
  await transport.start();
  const ch = `nova.test.${randomUUID()}`;
  const received: string[] = [];
  await transport.subscribe(ch, (m) => received.push(m));
  await transport.publish(ch, 'mine');
  await waitFor(() => received.length > 0, 'the message');
  assert.deepEqual(received, ['mine']);
}

/** A throwaway server of `engine` on `port`; resolves once it accepts connections. */
async function startServer(engine: Engine, port: number): Promise<ChildProcess> {
  const child = spawn(engine.server, engine.serverArgs(port), { stdio: 'ignore' });
  try {
    await waitFor(() => reachable(`${engine.name}://127.0.0.1:${port}`, port), `${engine.server} to listen`);
    return child;
  } catch (err) {
    await stopServer(child, 'SIGKILL');
    throw err;
  }
}

async function stopServer(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  await exited;
}

/** Poll `check` (without a fixed sleep per step) until it holds; fail after 10 s. */
async function waitFor(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
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
