/**
 * The NATS transport: the conformance suite against the NATS server at NATS_URL (default
 * nats://127.0.0.1:4222), and outage tests against a nats-server of its own. Without NATS (or the
 * nats-server binary) these tests fail under CI (CI=true) and are skipped elsewhere.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { connect } from '@nats-io/transport-node';
import { freePort } from '../../../test/helpers/outage.js';
import { reachable, skipUnlessReachable } from '../../../test/helpers/service.js';
import { rejectsWith } from '../../testing/session-store.lifecycle.js';
import { transportSuite } from '../../testing/transport.suite.js';
import { natsTransport } from './nats.js';

const servers = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const inCi = process.env.CI === 'true';
const UNAVAILABLE = 'NOVA_ERR_PUBSUB_UNAVAILABLE';

const skip = await skipUnlessReachable(servers.split(',')[0]!, 4222, 'NATS').catch((err: Error) => err);
if (skip instanceof Error) {
  it('NATS is reachable (required under CI)', () => {
    throw skip;
  });
} else if (skip !== undefined) {
  it('nats transport conformance', { skip }, () => {});
} else {
  transportSuite('nats', async (count) => Array.from({ length: count }, () => natsTransport({ servers })));

  it('works on a connection passed in, and leaves it open on stop()', async () => {
    const connection = await connect({ servers });
    const transport = natsTransport({ connection });
    try {
      await transport.start();
      const ch = `nova.test.${randomUUID()}`;
      const received: string[] = [];
      await transport.subscribe(ch, (m) => received.push(m));
      await transport.publish(ch, 'mine');
      await waitFor(() => received.length > 0, 'the message');
      assert.deepEqual(received, ['mine']);
      await transport.stop();
      assert.equal(connection.isClosed(), false, 'the connection passed in is still open');
      await connection.flush();
    } finally {
      await transport.stop();
      await connection.close();
    }
  });

  it('refuses channels that are not plain NATS subjects', async () => {
    const transport = natsTransport({ servers });
    await transport.start();
    try {
      for (const bad of ['', 'has space', 'a..b', '.a', 'a.', 'a.*', 'a.>', 'tab\there']) {
        await rejectsWith(transport.publish(bad, 'x'), 'NOVA_ERR_CONFIG');
        await rejectsWith(transport.subscribe(bad, () => {}), 'NOVA_ERR_CONFIG');
      }
    } finally {
      await transport.stop();
    }
  });
}

it('start() against a closed port rejects at once with NOVA_ERR_PUBSUB_UNAVAILABLE, naming host:port but no password', async () => {
  const port = await freePort();
  const transport = natsTransport({ servers: `nats://nova:s3cret-pw@127.0.0.1:${port}` });
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

const hasServer = spawnSync('nats-server', ['--version']).status === 0;
describe('nats transport on a nats-server of its own', { skip: hasServer || inCi ? false : 'nats-server is not installed' }, () => {
  it('survives a killed and restarted server: times out while hung, re-subscribes, calls onReconnect once, delivers again', async () => {
    assert.ok(hasServer, 'nats-server must be installed under CI');
    const port = await freePort();
    const own = `nats://127.0.0.1:${port}`;
    let server = await startNats(port);
    const [sub, pub] = [natsTransport({ servers: own, ackTimeoutMs: 500 }), natsTransport({ servers: own, ackTimeoutMs: 500 })];
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
      await waitFor(() => received.includes('before'), 'the first message');
      assert.deepEqual(reconnects, [0, 0], 'no onReconnect on the first connection');

      await hang(server); // hung: the flush is written but never answered
      const began = Date.now();
      await rejectsWith(pub.publish(ch, 'while hung'), UNAVAILABLE);
      assert.ok(Date.now() - began < 1500, 'a hung server costs one ack timeout');
      server.kill('SIGCONT');

      await stopNats(server, 'SIGKILL');
      await waitFor(async () => {
        try {
          await pub.publish(ch, 'while down');
          return false;
        } catch (err) {
          return (err as { code?: string }).code === UNAVAILABLE; // once the client has seen the loss
        }
      }, 'publish to fail while the server is down');
      server = await startNats(port);
      await within(Promise.all(back), 10_000, 'onReconnect after the restart');
      await pub.publish(ch, 'after');
      await waitFor(() => received.includes('after'), 'a message after the restart');
      assert.deepEqual(reconnects, [1, 1], 'onReconnect ran once on each transport');
    } finally {
      await sub.stop();
      await pub.stop();
      server.kill('SIGCONT');
      await stopNats(server, 'SIGKILL');
    }
  });
});

/** A throwaway nats-server on `port`; resolves once it accepts connections. */
async function startNats(port: number): Promise<ChildProcess> {
  const child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  try {
    await waitFor(() => reachable(`nats://127.0.0.1:${port}`, port), 'nats-server to listen');
    return child;
  } catch (err) {
    await stopNats(child, 'SIGKILL');
    throw err;
  }
}

async function stopNats(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  await exited;
}

/** Poll `check` until it holds; fail after 10 s. */
async function waitFor(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (await check()) return;
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
