/**
 * A node:cluster app for `cluster.test.ts`, run as `node cluster.fixture.js <mode>`. The primary
 * reports to the test as JSON lines on stdout; workers talk to the primary over IPC with messages
 * of their own (not `nova: 'pubsub'`), which the hub must leave alone.
 *
 * - `exchange`: clusterHub() and 3 workers; each publishes 100 messages (50 one by one, 50 at once)
 *   and reports everything its two transport instances received, plus any message seen late.
 * - `suite`: one worker runs the transport conformance suite with 3 instances in itself.
 * - `no-hub`: one worker starts a transport though the primary runs no clusterHub().
 */
import cluster, { type Worker } from 'node:cluster';
import { once } from 'node:events';
import { after, describe } from 'node:test';
import { transportSuite } from '../../src/testing/transport.suite.js';
import { clusterHub, clusterTransport } from '../../src/pubsub/transports/cluster.js';

type Mode = 'exchange' | 'suite' | 'no-hub';
const mode = process.argv[2] as Mode;
const WORKERS = 3;
const PER_WORKER = 100;
const CHANNEL = 'nova.test.exchange';

/** What workers and the primary tell each other besides the transport's own messages. */
type Note =
  | { fixture: 'ready' }
  | { fixture: 'go' }
  | { fixture: 'acked'; from: number; message: string }
  | { fixture: 'report'; worker: number; received: string[]; second: string[]; lateOwn: string[]; lateOther: string[] }
  | { fixture: 'error'; code: string | undefined; message: string };

function isNote(value: unknown): value is Note {
  return typeof value === 'object' && value !== null && 'fixture' in value;
}

function report(line: object): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function send(note: Note): void {
  process.send?.(note);
}

async function primary(): Promise<void> {
  // Whatever happens, the fixture ends: the test reads a timeout line instead of hanging.
  const guard = setTimeout(() => {
    report({ type: 'timeout' });
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGKILL');
    process.exit(1);
  }, 30_000);
  if (mode === 'suite') cluster.setupPrimary({ silent: true });
  if (mode !== 'no-hub') clusterHub();
  const count = mode === 'exchange' ? WORKERS : 1;
  const workers: Worker[] = Array.from({ length: count }, () => cluster.fork());

  if (mode === 'suite') {
    const worker = workers[0]!;
    let output = '';
    worker.process.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    worker.process.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const [code] = (await once(worker, 'exit')) as [number | null];
    report({ type: 'suite', code, output });
  } else if (mode === 'no-hub') {
    // The worker's own 'hello' to the missing hub comes first: wait for its note.
    const note = await new Promise<Note>((resolve) => workers[0]!.on('message', (value: unknown) => isNote(value) && resolve(value)));
    report({ type: 'no-hub', note });
    workers[0]!.kill('SIGKILL');
  } else {
    let ready = 0;
    const reports: Note[] = [];
    const done = new Promise<void>((resolve) => {
      cluster.on('message', (from, value: unknown) => {
        if (!isNote(value)) return;
        if (value.fixture === 'ready' && ++ready === WORKERS) for (const w of workers) w.send({ fixture: 'go' } satisfies Note);
        // Passed on through the primary, so it reaches the others after anything relayed before it.
        if (value.fixture === 'acked') for (const w of workers) if (w !== from) w.send(value);
        if (value.fixture === 'report' && reports.push(value) === WORKERS) resolve();
      });
    });
    await done;
    for (const r of reports) report({ type: 'report', ...r });
    for (const w of workers) w.kill('SIGKILL');
  }
  report({ type: 'done' });
  clearTimeout(guard);
}

async function worker(): Promise<void> {
  if (mode === 'suite') {
    describe('in a cluster worker', () => {
      transportSuite('cluster (3 instances in one worker)', async (n) => Array.from({ length: n }, () => clusterTransport()));
      // The IPC channel keeps a worker alive; once the tests are done, let it exit with their result.
      after(() => cluster.worker?.disconnect());
    });
    return;
  }
  if (mode === 'no-hub') {
    try {
      await clusterTransport({ ackTimeoutMs: 300 }).start();
      send({ fixture: 'error', code: undefined, message: 'start() resolved without a hub' });
    } catch (err) {
      send({ fixture: 'error', code: (err as { code?: string }).code, message: err instanceof Error ? err.message : String(err) });
    }
    return;
  }
  const id = cluster.worker!.id;
  const [main, second] = [clusterTransport(), clusterTransport()];
  await main.start();
  await second.start();
  const received: string[] = [];
  const secondReceived: string[] = [];
  await main.subscribe(CHANNEL, (m) => received.push(m));
  await second.subscribe(CHANNEL, (m) => secondReceived.push(m));
  const lateOwn: string[] = [];
  const lateOther: string[] = [];
  let notes = 0;
  const finished = new Promise<void>((resolve) => {
    const check = () => {
      if (received.length >= WORKERS * PER_WORKER && notes === WORKERS - 1) resolve();
    };
    process.on('message', (value: unknown) => {
      if (!isNote(value)) return;
      if (value.fixture === 'go') void publishAll().then(check);
      if (value.fixture === 'acked') {
        // Its publish was acknowledged before this note was sent: the message must be here already.
        if (!received.includes(value.message)) lateOther.push(value.message);
        notes++;
        check();
      }
    });
    void main.subscribe(CHANNEL, check);
  });
  const publishAll = async () => {
    const publishOne = async (i: number) => {
      const message = `${id}:${i}`;
      await main.publish(CHANNEL, message);
      if (!received.includes(message)) lateOwn.push(message); // read-your-writes in the same worker
    };
    for (let i = 0; i < PER_WORKER / 2; i++) await publishOne(i);
    await Promise.all(Array.from({ length: PER_WORKER / 2 }, (_, k) => publishOne(PER_WORKER / 2 + k)));
    send({ fixture: 'acked', from: id, message: `${id}:${PER_WORKER - 1}` });
  };
  send({ fixture: 'ready' });
  await finished;
  send({ fixture: 'report', worker: id, received, second: secondReceived, lateOwn, lateOther });
}

if (mode !== 'exchange' && mode !== 'suite' && mode !== 'no-hub') {
  console.error('usage: node cluster.fixture.js exchange|suite|no-hub');
  process.exit(2);
}
await (cluster.isPrimary ? primary() : worker());
