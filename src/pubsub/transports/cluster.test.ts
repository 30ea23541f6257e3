/**
 * The cluster transport, in a real node:cluster app (`test/helpers/cluster.fixture.ts`) whose primary reports
 * here as JSON lines: fan-out to every worker, per-publisher order, acknowledged-before-seen, the
 * conformance suite inside a worker, and the errors when the cluster or its hub is missing.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { clusterTransport } from './cluster.js';

const fixture = fileURLToPath(new URL('../../../test/helpers/cluster.fixture.js', import.meta.url));

interface Line {
  type: string;
  [key: string]: unknown;
}

/** Run the fixture in `mode` and return its report lines; the whole process group is killed at the end. */
async function runFixture(mode: string): Promise<Line[]> {
  // Its own process group, so that workers go too if the test gives up on the primary.
  const child = spawn(process.execPath, [fixture, mode], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = once(child, 'exit');
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      exited,
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`fixture ${mode} did not finish in 40 s; stderr:\n${err}`)), 40_000))),
    ]);
  } finally {
    clearTimeout(timer);
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  const lines = out
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Line);
  assert.ok(
    lines.some((l) => l.type === 'done'),
    `fixture ${mode} finished (stdout:\n${out}\nstderr:\n${err})`,
  );
  return lines;
}

it("relays every worker's messages to all 3 workers, in each publisher's order, before acknowledging", async () => {
  const reports = (await runFixture('exchange')).filter((l) => l.type === 'report');
  assert.equal(reports.length, 3);
  const ids = reports.map((r) => r.worker as number);
  for (const r of reports) {
    const received = r.received as string[];
    assert.equal(received.length, 300, `worker ${r.worker} got all 300 messages once`);
    for (const from of ids) {
      const expected = Array.from({ length: 100 }, (_, i) => `${from}:${i}`);
      assert.deepEqual(
        received.filter((m) => m.startsWith(`${from}:`)),
        expected,
        `worker ${r.worker} got worker ${from}'s messages in order`,
      );
    }
    assert.deepEqual(r.second, received, `the second transport in worker ${r.worker} got the same messages`);
    assert.deepEqual(r.lateOwn, [], 'each publish was seen by its own worker before it resolved');
    assert.deepEqual(r.lateOther, [], 'a publish was seen by every worker before a note sent after its ack');
  }
});

it('passes the conformance suite with 3 transports inside one worker', async () => {
  const [suite] = (await runFixture('suite')).filter((l) => l.type === 'suite');
  const output = String(suite?.output);
  assert.equal(suite?.code, 0, `the suite passed in the worker:\n${output}`);
  const passed = Number(/^# pass (\d+)$/m.exec(output)?.[1] ?? /pass (\d+)/.exec(output)?.[1]);
  assert.ok(passed >= 8, `${passed} tests passed:\n${output}`);
  assert.match(output, /fail 0/);
});

it('start() rejects after the ack timeout, naming clusterHub(), when the primary runs no hub', async () => {
  const [line] = (await runFixture('no-hub')).filter((l) => l.type === 'no-hub');
  const note = line?.note as { code?: string; message?: string } | undefined;
  assert.equal(note?.code, 'NOVA_ERR_PUBSUB_UNAVAILABLE');
  assert.match(note?.message ?? '', /clusterHub\(\)/);
  assert.match(note?.message ?? '', /300 ms/);
});

it('start() outside a cluster worker rejects with NOVA_ERR_PUBSUB_UNAVAILABLE saying how to run it', async () => {
  const transport = clusterTransport();
  await assert.rejects(transport.start(), (err: { code?: string; message?: string }) => {
    assert.equal(err.code, 'NOVA_ERR_PUBSUB_UNAVAILABLE');
    assert.match(err.message ?? '', /node:cluster/);
    assert.match(err.message ?? '', /clusterHub\(\)/);
    return true;
  });
  await assert.rejects(transport.publish('nova.test.x', 'x'), { code: 'NOVA_ERR_PUBSUB_UNAVAILABLE' });
});
