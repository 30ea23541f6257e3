/**
 * The Redis pub/sub transport, on node-redis (the `redis` package, v5), loaded only when started.
 *
 * Two connections, because a Redis connection in subscriber mode can do nothing but (un)subscribe:
 * one publishes, one subscribes. A PUBLISH reply means Redis has already handed the message to
 * every subscribed connection, so that reply is the ack; one Redis server handles commands one at
 * a time, which gives the ordering the transport contract asks for.
 *
 * Redis pub/sub keeps nothing for a disconnected subscriber: what is published while a node is
 * away is lost to it, which is why `onReconnect` listeners run after every loss.
 */
import { errors, withCause } from '../../errors.js';
import { loadOptional } from '../../optional-package.js';
import { AckWaits } from '../ack-wait.js';
import { StartOnce } from '../start-once.js';
import { callSafely, type Transport, type Unsubscribe } from '../transport.js';

type Handler = (message: string) => void;
type Listener = (message: string, channel: string) => void;

/** The node-redis client methods the transport uses; any client from `createClient` has them. */
export interface RedisClientLike {
  readonly isOpen: boolean;
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  duplicate(): RedisClientLike;
  publish(channel: string, message: string): Promise<unknown>;
  subscribe(channel: string, listener: Listener): Promise<void>;
  unsubscribe(channel: string, listener: Listener): Promise<void>;
  on(event: string, listener: () => void): unknown;
  off(event: string, listener: () => void): unknown;
  destroy(): void;
}

/** Options of `redisTransport`. */
export interface RedisTransportOptions {
  /** Default: `process.env.REDIS_URL`, else `redis://127.0.0.1:6379`. Ignored when `client` is given. */
  url?: string;
  /**
   * Bring your own client: it publishes, and a `duplicate()` of it subscribes. The transport
   * connects it if needed and never closes it; its reconnect strategy is the one you gave it.
   */
  client?: RedisClientLike;
  /** How long `start()` waits for Redis. Default 3000 ms. */
  connectTimeoutMs?: number;
  /** How long `publish` and `subscribe` wait for Redis's answer. Default 2000 ms. */
  ackTimeoutMs?: number;
}

/** `host:port` of a Redis URL: never the user name or password. */
function endpoint(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname || '127.0.0.1'}:${u.port || '6379'}`;
  } catch {
    return 'the configured Redis URL (unparseable)';
  }
}

interface ChannelEntry {
  handlers: Set<{ handler: Handler }>;
  listener: Listener;
  /** The SUBSCRIBE, answered or not. */
  ready: Promise<void>;
}

class RedisTransport implements Transport {
  readonly name = 'redis';
  private readonly life = new StartOnce();
  private publisher: RedisClientLike | undefined;
  private subscriber: RedisClientLike | undefined;
  private readonly channels = new Map<string, ChannelEntry>();
  private readonly reconnectListeners: (() => void)[] = [];
  /** Rejects every call still waiting for Redis when the transport stops. */
  private readonly inFlight = new AckWaits();
  private lost = false;
  private readonly where: string;
  private readonly onLost = () => {
    if (this.life.state === 'running') this.lost = true;
  };
  private readonly onReady = () => {
    // Both connections must be back: node-redis emits 'ready' on the subscriber only after its
    // SUBSCRIBEs were answered, so listeners that resync see every message from here on.
    if (!this.lost || this.life.state !== 'running' || !this.publisher?.isReady || !this.subscriber?.isReady) return;
    this.lost = false;
    for (const listener of this.reconnectListeners) callSafely(listener);
  };

  constructor(
    private readonly given: RedisTransportOptions,
    private readonly url: string,
    private readonly connectTimeoutMs: number,
    private readonly ackTimeoutMs: number,
  ) {
    this.where = given.client === undefined ? endpoint(url) : 'the redis client that was passed in';
  }

  async start(): Promise<void> {
    await this.life.start(() => this.connect());
  }

  async stop(): Promise<void> {
    await this.life.stop();
    this.inFlight.rejectAll(errors.pubsubUnavailable('the redis transport was stopped'));
    this.channels.clear();
    this.release(this.publisher, this.given.client === undefined);
    this.release(this.subscriber, true);
    this.publisher = this.subscriber = undefined;
  }

  async publish(channel: string, message: string): Promise<void> {
    const publisher = this.running().publisher;
    await this.bounded(publisher.publish(channel, message), 'publish');
  }

  async subscribe(channel: string, handler: Handler): Promise<Unsubscribe> {
    const { subscriber } = this.running();
    let entry = this.channels.get(channel);
    if (entry === undefined) {
      // One Redis subscription per channel, whatever the number of local handlers.
      const handlers = new Set<{ handler: Handler }>();
      const listener: Listener = (message) => {
        for (const sub of [...handlers]) callSafely(() => sub.handler(message));
      };
      const created: ChannelEntry = { handlers, listener, ready: subscriber.subscribe(channel, listener) };
      created.ready.catch(() => {
        if (this.channels.get(channel) === created) this.channels.delete(channel); // the next subscribe retries
      });
      this.channels.set(channel, (entry = created));
    }
    const sub = { handler };
    const joined = entry;
    joined.handlers.add(sub);
    try {
      await this.bounded(joined.ready, 'subscribe');
    } catch (err) {
      joined.handlers.delete(sub);
      this.leave(channel, joined);
      throw err;
    }
    return async () => {
      if (joined.handlers.delete(sub)) this.leave(channel, joined);
    };
  }

  onReconnect(listener: () => void): void {
    this.reconnectListeners.push(listener);
  }

  /**
   * Drop the Redis subscription of a channel nobody here listens to any more. Not awaited by
   * `unsubscribe`: the handler is already off, and while Redis is away there is nothing to wait for.
   */
  private leave(channel: string, entry: ChannelEntry): void {
    void entry.ready.then(
      () => {
        if (entry.handlers.size > 0 || this.channels.get(channel) !== entry) return;
        this.channels.delete(channel);
        this.subscriber?.unsubscribe(channel, entry.listener).catch(() => {});
      },
      () => {},
    );
  }

  private running(): { publisher: RedisClientLike; subscriber: RedisClientLike } {
    if (this.life.state === 'stopped') throw errors.pubsubUnavailable('the redis transport was stopped');
    if (this.life.state !== 'running' || this.publisher === undefined || this.subscriber === undefined) {
      throw errors.pubsubUnavailable('the redis transport is not started');
    }
    return { publisher: this.publisher, subscriber: this.subscriber };
  }

  /** Wait for Redis at most `ackTimeoutMs`, and not past `stop()`. */
  private bounded<T>(promise: Promise<T>, what: string): Promise<T> {
    return this.inFlight.bounded(
      promise,
      this.ackTimeoutMs,
      () => errors.pubsubUnavailable(`redis at ${this.where} did not answer a ${what} within ${this.ackTimeoutMs} ms`),
      (err) => {
        const offline = err instanceof Error && /Offline|Closed|Disconnect|Socket/.test(err.constructor.name);
        const reason = offline ? `not connected to redis at ${this.where}` : `redis at ${this.where} refused a ${what}`;
        return withCause(errors.pubsubUnavailable(reason), err);
      },
    );
  }

  private async connect(): Promise<void> {
    const { createClient } = await loadOptional<typeof import('redis')>('redis', 'the Redis transport');
    let connected = false;
    const make = (): RedisClientLike =>
      createClient({
        url: this.url,
        // A publish while Redis is away fails at once instead of going out late, after its caller gave up.
        disableOfflineQueue: true,
        socket: {
          connectTimeout: this.connectTimeoutMs,
          // Start-up fails on the first error; afterwards reconnect for ever, backing off to 1 s.
          reconnectStrategy: (retries: number, cause: Error) => (connected ? Math.min(50 * 2 ** retries, 1000) : cause),
        },
      });
    const publisher = this.given.client ?? make();
    const subscriber = this.given.client?.duplicate() ?? make();
    this.publisher = publisher;
    this.subscriber = subscriber;
    for (const client of [publisher, subscriber]) {
      // Without an 'error' listener node-redis's error events would crash the process.
      client.on('error', this.onLost);
      client.on('reconnecting', this.onLost);
      client.on('ready', this.onReady);
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        Promise.all([publisher.isOpen ? undefined : publisher.connect(), subscriber.connect()]),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${this.connectTimeoutMs} ms`)), this.connectTimeoutMs);
        }),
      ]);
      connected = true;
    } catch (err) {
      this.release(publisher, this.given.client === undefined);
      this.release(subscriber, true);
      this.publisher = this.subscriber = undefined;
      const detail = err instanceof Error && err.message !== '' ? ` (${this.scrub(err.message)})` : '';
      throw withCause(errors.pubsubUnavailable(`could not connect to redis at ${this.where}${detail}`), err);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stop listening to a client, and close it if the transport made it. */
  private release(client: RedisClientLike | undefined, owned: boolean): void {
    if (client === undefined) return;
    if (owned) {
      try {
        if (client.isOpen) client.destroy();
      } catch {
        // already closed
      }
    }
    // A client the transport closed keeps its 'error' listener, in case a late socket error comes.
    if (!owned) client.off('error', this.onLost);
    client.off('reconnecting', this.onLost);
    client.off('ready', this.onReady);
  }

  /** A driver message should never carry the URL, but if it did, its password is not repeated. */
  private scrub(text: string): string {
    try {
      const { password } = new URL(this.url);
      if (password === '') return text;
      return text.split(password).join('***').split(decodeURIComponent(password)).join('***');
    } catch {
      return text;
    }
  }
}

/**
 * A transport on Redis pub/sub. `publish` resolves once Redis answered the PUBLISH (Redis has then
 * handed the message to every subscriber); it rejects with `NOVA_ERR_PUBSUB_UNAVAILABLE` when Redis
 * is unreachable, after `ackTimeoutMs`, or once stopped. After a lost connection it reconnects for
 * ever (backing off to 1 s), re-subscribes, and calls the `onReconnect` listeners.
 *
 * @example
 * ```ts
 * const transport = redisTransport({ url: 'redis://:secret@redis.internal:6379' });
 * await transport.start(); // rejects within 3 s if Redis cannot be reached
 * await transport.subscribe('nova.sessions.app', (text) => console.log(text));
 * transport.onReconnect(() => console.log('back: messages may have been missed'));
 * await transport.publish('nova.sessions.app', 'hello');
 * await transport.stop();
 * ```
 */
export function redisTransport(options: RedisTransportOptions = {}): Transport {
  for (const name of ['connectTimeoutMs', 'ackTimeoutMs'] as const) {
    const v = options[name];
    if (v !== undefined && !(typeof v === 'number' && v > 0)) throw errors.config(`redisTransport.${name}`, 'must be a positive number');
  }
  const url = options.url ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  return new RedisTransport(options, url, options.connectTimeoutMs ?? 3000, options.ackTimeoutMs ?? 2000);
}
