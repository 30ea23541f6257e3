/**
 * The Node `cluster` transport: workers publish through the primary over the IPC channel that
 * `node:cluster` already opened, so a single machine needs no message broker.
 *
 * Protocol (all messages carry `nova: 'pubsub'`, so the app's own IPC messages are left alone):
 *
 * - worker → primary `{ op: 'publish', channel, message, ack }`, and `{ op: 'hello', ack }` on start;
 * - primary → every worker `{ op: 'message', channel, message }`;
 * - primary → the sender `{ op: 'ack', ack }`, once the message was written to every worker's channel.
 *
 * Why the ack comes last: a worker's publish resolves only after the primary has written the
 * message to every worker's IPC channel, and each channel is ordered. So whatever the publisher
 * does next that passes through the primary (its next publish, or a message relayed to another
 * worker) reaches every worker after the message it published: this is what gives read-your-writes
 * across workers. It is not a receipt from each worker: a message sent around the primary (a
 * client bouncing to another worker over HTTP) can still overtake it while the other worker is
 * busy reading its channel.
 */
import cluster, { type Worker } from 'node:cluster';
import { errors } from '../../errors.js';
import { callSafely, type Transport, type Unsubscribe } from '../transport.js';

type Handler = (message: string) => void;

type Wire =
  | { nova: 'pubsub'; op: 'publish'; channel: string; message: string; ack: number }
  | { nova: 'pubsub'; op: 'hello'; ack: number }
  | { nova: 'pubsub'; op: 'message'; channel: string; message: string }
  | { nova: 'pubsub'; op: 'ack'; ack: number };

/** Options of `clusterTransport`. */
export interface ClusterTransportOptions {
  /** How long `start` and `publish` wait for the primary's ack. Default 2000 ms. */
  ackTimeoutMs?: number;
}

function isWire(value: unknown): value is Wire {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  if (m.nova !== 'pubsub') return false;
  switch (m.op) {
    case 'publish':
      return typeof m.channel === 'string' && typeof m.message === 'string' && typeof m.ack === 'number';
    case 'message':
      return typeof m.channel === 'string' && typeof m.message === 'string';
    case 'hello':
    case 'ack':
      return typeof m.ack === 'number';
    default:
      return false;
  }
}

// One dispatcher per worker process: every transport instance in it shares the IPC channel, the
// ack counter and the single 'message' listener (which exists only while an instance is started,
// as a 'message' listener on `process` is one more reason for Node to keep the channel open).
interface Pending {
  owner: ClusterTransport;
  resolve: () => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}
const started = new Set<ClusterTransport>();
const pending = new Map<number, Pending>();
let nextAck = 1;

function onProcessMessage(value: unknown): void {
  if (!isWire(value)) return;
  if (value.op === 'message') {
    for (const transport of started) transport.deliver(value.channel, value.message);
  } else if (value.op === 'ack') {
    const waiting = pending.get(value.ack);
    if (waiting === undefined) return; // timed out or stopped: already rejected
    pending.delete(value.ack);
    clearTimeout(waiting.timer);
    waiting.resolve();
  }
}

class ClusterTransport implements Transport {
  readonly name = 'cluster';
  private readonly channels = new Map<string, Set<{ handler: Handler }>>();
  private readonly reconnectListeners: (() => void)[] = [];
  private stopped = false;

  constructor(private readonly ackTimeoutMs: number) {}

  async start(): Promise<void> {
    if (!cluster.isWorker || typeof process.send !== 'function') {
      throw errors.pubsubUnavailable(
        'clusterTransport() only works in a node:cluster worker; run the app under node:cluster and call clusterHub() in the primary',
      );
    }
    this.stopped = false;
    if (started.size === 0) process.on('message', onProcessMessage);
    started.add(this);
    try {
      // A round trip now, so a primary without clusterHub() is reported at start, not on first publish.
      await this.send((ack) => ({ nova: 'pubsub', op: 'hello', ack }));
    } catch (err) {
      await this.stop();
      throw err;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.channels.clear();
    for (const [ack, waiting] of pending) {
      if (waiting.owner !== this) continue;
      pending.delete(ack);
      clearTimeout(waiting.timer);
      waiting.reject(errors.pubsubUnavailable('the cluster transport was stopped'));
    }
    if (started.delete(this) && started.size === 0) process.off('message', onProcessMessage);
  }

  async publish(channel: string, message: string): Promise<void> {
    if (this.stopped || !started.has(this)) throw errors.pubsubUnavailable('the cluster transport is not started (or was stopped)');
    await this.send((ack) => ({ nova: 'pubsub', op: 'publish', channel, message, ack }));
  }

  async subscribe(channel: string, handler: Handler): Promise<Unsubscribe> {
    let subs = this.channels.get(channel);
    if (subs === undefined) this.channels.set(channel, (subs = new Set()));
    const sub = { handler }; // one entry per call, so the same function may subscribe twice
    subs.add(sub);
    return async () => {
      subs.delete(sub);
      if (subs.size === 0 && this.channels.get(channel) === subs) this.channels.delete(channel);
    };
  }

  /** The IPC channel cannot drop and come back: a worker whose primary is gone is finished. */
  onReconnect(listener: () => void): void {
    this.reconnectListeners.push(listener);
  }

  /** Called by the process's dispatcher for every message the primary relays. */
  deliver(channel: string, message: string): void {
    // A copy: a handler may unsubscribe (itself or another) while the message is being handed out.
    for (const sub of [...(this.channels.get(channel) ?? [])]) callSafely(() => sub.handler(message));
  }

  private send(build: (ack: number) => Wire): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (!process.connected || typeof process.send !== 'function') {
        reject(errors.pubsubUnavailable('the IPC channel to the cluster primary is closed'));
        return;
      }
      const ack = nextAck++;
      const timer = setTimeout(() => {
        if (!pending.delete(ack)) return;
        reject(errors.pubsubUnavailable(`the cluster primary did not acknowledge within ${this.ackTimeoutMs} ms; is clusterHub() running in the primary?`));
      }, this.ackTimeoutMs);
      pending.set(ack, { owner: this, resolve, reject, timer });
      process.send(build(ack), undefined, {}, (err: Error | null) => {
        if (err === null || !pending.delete(ack)) return;
        clearTimeout(timer);
        reject(errors.pubsubUnavailable(`could not write to the IPC channel to the cluster primary (${err.message})`));
      });
    });
  }
}

/**
 * The worker side of the cluster transport: publishes through the primary, which must run
 * `clusterHub()`. Several instances may live in one worker; each gets every relayed message.
 *
 * @example
 * ```ts
 * // in a worker (cluster.isWorker)
 * const transport = clusterTransport();
 * await transport.start(); // rejects if this is not a worker or the primary runs no clusterHub()
 * await transport.subscribe('nova.sessions.app', (text) => console.log(text));
 * await transport.publish('nova.sessions.app', 'hello'); // every worker's subscribers get it
 * ```
 */
export function clusterTransport(options: ClusterTransportOptions = {}): Transport {
  const ackTimeoutMs = options.ackTimeoutMs ?? 2000;
  if (!(typeof ackTimeoutMs === 'number' && ackTimeoutMs > 0)) throw errors.config('clusterTransport.ackTimeoutMs', 'must be a positive number');
  return new ClusterTransport(ackTimeoutMs);
}

let hubListener: ((worker: Worker, value: unknown) => void) | undefined;

/**
 * The primary side of the cluster transport: relays every worker's publish to every worker, the
 * sender included, then acknowledges it. Call it once in the primary, before or after forking;
 * it serves current and future workers and ignores IPC messages that are not its own. Calling it
 * again does nothing. Returns a function that stops relaying.
 *
 * @example
 * ```ts
 * import cluster from 'node:cluster';
 * if (cluster.isPrimary) {
 *   clusterHub();
 *   for (let i = 0; i < 4; i++) cluster.fork();
 * } else {
 *   const transport = clusterTransport();
 *   await transport.start();
 * }
 * ```
 */
export function clusterHub(): () => void {
  if (!cluster.isPrimary) throw errors.config('clusterHub', 'must be called in the cluster primary (cluster.isPrimary)');
  if (hubListener === undefined) {
    hubListener = (sender, value) => {
      if (!isWire(value)) return;
      if (value.op === 'hello') {
        sender.send({ nova: 'pubsub', op: 'ack', ack: value.ack } satisfies Wire, undefined, () => {});
        return;
      }
      if (value.op !== 'publish') return;
      const relay: Wire = { nova: 'pubsub', op: 'message', channel: value.channel, message: value.message };
      const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w?.isConnected() === true);
      // All relays are queued now, in arrival order, so publishes stay in one global order; the ack
      // waits until every one of them is written (a worker that died meanwhile just errors).
      let left = workers.length + 1;
      const written = () => {
        if (--left === 0 && sender.isConnected()) sender.send({ nova: 'pubsub', op: 'ack', ack: value.ack } satisfies Wire, undefined, () => {});
      };
      for (const worker of workers) worker.send(relay, undefined, written);
      written();
    };
    cluster.on('message', hubListener);
  }
  const listener = hubListener;
  return () => {
    cluster.off('message', listener);
    if (hubListener === listener) hubListener = undefined;
  };
}
