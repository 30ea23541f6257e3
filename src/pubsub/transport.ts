/**
 * The transport contract: the one thing a message engine (Redis pub/sub, NATS, Node's cluster IPC,
 * or a plain in-process bus) must do for Nova.ts's pub/sub and session replication. Transports
 * move opaque text between nodes; authentication, node ids and ordering rules live above them, in
 * the bus (`bus.ts`), so every engine gets the same guarantees.
 */

/** Stops a subscription. */
export type Unsubscribe = () => Promise<void>;

/**
 * A message engine. Every transport passes `src/testing/transport.suite.ts` (exported as
 * `nova-ts/testing`), which checks these rules:
 *
 * - **Fan-out.** A message published on a channel reaches every subscriber of that channel on
 *   every node, the publisher's own node included.
 * - **Acknowledged publish.** `publish` resolves only once the engine has taken the message for
 *   delivery (Redis: PUBLISH answered; NATS: the server confirmed with a flush; cluster IPC: the
 *   primary has passed it on to every worker). It rejects with `NOVA_ERR_PUBSUB_UNAVAILABLE` when
 *   the engine cannot be reached within the transport's timeout.
 * - **Order per publisher.** Two messages published by one node on one channel arrive in the
 *   order they were published, and a message published after another node's publish was
 *   acknowledged arrives after it (true of one Redis server, one NATS server and the cluster
 *   primary; the replication protocol does not rely on it for correctness, only for freshness).
 * - **Reconnect.** After losing its engine the transport keeps trying, re-subscribes by itself,
 *   and calls the `onReconnect` listeners: messages may have been missed while it was away.
 *
 * @example
 * ```ts
 * const transport = redisTransport({ url: 'redis://127.0.0.1:6379' });
 * await transport.start();
 * const off = await transport.subscribe('news', (text) => console.log(text));
 * await transport.publish('news', 'hello'); // every node's 'news' subscribers get 'hello'
 * await off();
 * await transport.stop();
 * ```
 */
export interface Transport {
  readonly name: string;
  /** Connect. Rejects with `NOVA_ERR_PUBSUB_UNAVAILABLE` if the engine is unreachable. */
  start(): Promise<void>;
  /** Disconnect and drop every subscription; later publishes reject. */
  stop(): Promise<void>;
  /** Resolves once the engine has accepted `message` for delivery on `channel`. */
  publish(channel: string, message: string): Promise<void>;
  /** Deliver every message on `channel` to `handler`, until the returned function is called. */
  subscribe(channel: string, handler: (message: string) => void): Promise<Unsubscribe>;
  /** `listener` runs each time the engine is reachable again after a loss. */
  onReconnect(listener: () => void): void;
}

/**
 * Run one subscriber's handler so that its exception neither keeps the message from the other
 * handlers nor goes unnoticed: it is rethrown on its own, as an uncaught exception (a handler bug).
 *
 * @example
 * ```ts
 * for (const handler of handlers) callSafely(() => handler(message));
 * ```
 */
export function callSafely(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    queueMicrotask(() => {
      throw err;
    });
  }
}
