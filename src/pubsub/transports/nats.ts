/**
 * The NATS transport, on `@nats-io/transport-node` (v3), loaded only when started. Core NATS, no
 * JetStream: like Redis pub/sub, a node that is away misses what is published meanwhile, hence
 * `onReconnect`.
 *
 * Channels are used as NATS subjects as they are, so they must be valid subjects: dot-separated
 * tokens (`nova.sessions.app`), no empty token, no whitespace, and no `*` or `>` (wildcards would
 * subscribe to other channels too). Other names are refused with `NOVA_ERR_CONFIG` rather than
 * mapped, so that the subjects seen in NATS tooling are the channel names.
 *
 * The ack is a flush: NATS answers a PING only after it has processed everything sent before it
 * on the connection, so once the PONG is back the message was routed to every subscriber, in the
 * order it was sent (one NATS server; a cluster of servers does not order across publishers).
 */
import type { NatsConnection, Status, Subscription } from '@nats-io/transport-node';
import { errors, withCause } from '../../errors.js';
import { loadOptional } from '../../optional-package.js';
import { AckWaits } from '../ack-wait.js';
import { StartOnce } from '../start-once.js';
import { callSafely, type Transport, type Unsubscribe } from '../transport.js';

type Handler = (message: string) => void;

/** Options of `natsTransport`. */
/**
 * A connection from `@nats-io/transport-node`'s `connect()`, as a structural type so the published
 * declarations do not need the optional `@nats-io/*` packages installed.
 */
export interface NatsConnectionLike {
  isClosed(): boolean;
  close(): Promise<void>;
}

export interface NatsTransportOptions {
  /** `nats://host:port` URL(s). Default: `process.env.NATS_URL`, else `nats://127.0.0.1:4222`. Ignored when `connection` is given. */
  servers?: string | string[];
  /** Bring your own connection. The transport never closes it, and only unsubscribes its own subscriptions on stop. */
  connection?: NatsConnectionLike;
  /** How long `start()` waits for NATS. Default 3000 ms. */
  connectTimeoutMs?: number;
  /** How long `publish` and `subscribe` wait for the server's confirmation. Default 2000 ms. */
  ackTimeoutMs?: number;
}

const SUBJECT = /^[^\s.*>]+(?:\.[^\s.*>]+)*$/u;

function checkSubject(channel: string): void {
  if (typeof channel !== 'string' || !SUBJECT.test(channel)) {
    throw errors.config(
      `natsTransport channel ${JSON.stringify(channel)}`,
      'must be a valid NATS subject: dot-separated tokens without whitespace, empty tokens, "*" or ">" (e.g. "nova.sessions.app")',
    );
  }
}

/** `host:port` of each server: never a user name, token or password. */
function endpoints(servers: string[]): string {
  return servers
    .map((s) => {
      try {
        const u = new URL(s.includes('://') ? s : `nats://${s}`);
        return `${u.hostname || '127.0.0.1'}:${u.port || '4222'}`;
      } catch {
        return '(unparseable server URL)';
      }
    })
    .join(', ');
}

class NatsTransport implements Transport {
  readonly name = 'nats';
  private readonly life = new StartOnce();
  private nc: NatsConnection | undefined;
  private status: AsyncIterable<Status> | undefined;
  private connected = false;
  private batch: Promise<void> | undefined;
  private readonly subs = new Set<Subscription>();
  private readonly reconnectListeners: (() => void)[] = [];
  /** Rejects every call still waiting for NATS when the transport stops. */
  private readonly inFlight = new AckWaits();
  private readonly where: string;

  constructor(
    private readonly servers: string[],
    private readonly given: NatsConnection | undefined,
    private readonly connectTimeoutMs: number,
    private readonly ackTimeoutMs: number,
  ) {
    this.where = given === undefined ? endpoints(servers) : 'the NATS connection that was passed in';
  }

  async start(): Promise<void> {
    await this.life.start(async () => {
      const nc = await this.connect();
      this.nc = nc;
      this.connected = true;
      this.watch(nc).catch(() => {}); // ends with the connection
    });
  }

  async stop(): Promise<void> {
    await this.life.stop();
    this.connected = false;
    this.inFlight.rejectAll(errors.pubsubUnavailable('the nats transport was stopped'));
    for (const sub of this.subs) unsubscribeQuietly(sub);
    this.subs.clear();
    const nc = this.nc;
    this.nc = undefined;
    stopIterator(this.status);
    this.status = undefined;
    if (nc !== undefined && this.given === undefined) await nc.close().catch(() => {});
  }

  async publish(channel: string, message: string): Promise<void> {
    checkSubject(channel);
    const nc = this.running();
    try {
      nc.publish(channel, message);
    } catch (err) {
      throw withCause(errors.pubsubUnavailable(`NATS at ${this.where} refused the message (${err instanceof Error ? err.message : String(err)})`), err);
    }
    await this.bounded(this.flushSoon(nc), 'publish');
  }

  async subscribe(channel: string, handler: Handler): Promise<Unsubscribe> {
    checkSubject(channel);
    const nc = this.running();
    // One NATS subscription per handler: the server delivers to each in the order it routes.
    const sub = nc.subscribe(channel, {
      callback: (err, msg) => {
        if (err === null) callSafely(() => handler(msg.string()));
      },
    });
    this.subs.add(sub);
    try {
      // Once the server has answered a PING sent after the SUB, it routes to this subscription.
      await this.bounded(this.flushSoon(nc), 'subscribe');
    } catch (err) {
      if (this.subs.delete(sub)) unsubscribeQuietly(sub);
      throw err;
    }
    return async () => {
      if (this.subs.delete(sub)) unsubscribeQuietly(sub);
    };
  }

  onReconnect(listener: () => void): void {
    this.reconnectListeners.push(listener);
  }

  private running(): NatsConnection {
    if (this.life.state === 'stopped') throw errors.pubsubUnavailable('the nats transport was stopped');
    if (this.life.state !== 'running' || this.nc === undefined) throw errors.pubsubUnavailable('the nats transport is not started');
    // The client would queue the message for after a reconnect; the caller is told now instead.
    if (!this.connected) throw errors.pubsubUnavailable(`not connected to NATS at ${this.where}`);
    return this.nc;
  }

  /** Calls in the same turn share one flush: its PING goes out after all their messages. */
  private flushSoon(nc: NatsConnection): Promise<void> {
    if (this.batch === undefined) {
      this.batch = Promise.resolve().then(() => {
        this.batch = undefined; // what is sent from now on needs a PING of its own
        return nc.flush();
      });
    }
    return this.batch;
  }

  /** Follow the connection: `reconnect` means the client has re-sent every SUB already. */
  private async watch(nc: NatsConnection): Promise<void> {
    const status = nc.status();
    this.status = status;
    for await (const event of status) {
      if (this.nc !== nc) break;
      if (event.type === 'disconnect') this.connected = false;
      if (event.type === 'reconnect') {
        this.connected = true;
        // The listeners run once the server confirms the re-sent SUBs; a new loss before that
        // means a later 'reconnect' will run them instead.
        nc.flush().then(
          () => {
            if (this.nc === nc && this.connected) for (const listener of this.reconnectListeners) callSafely(listener);
          },
          () => {},
        );
      }
    }
  }

  private async connect(): Promise<NatsConnection> {
    if (this.given !== undefined) {
      if (this.given.isClosed()) throw errors.pubsubUnavailable('the NATS connection that was passed in is closed');
      return this.given;
    }
    const { connect } = await loadOptional<typeof import('@nats-io/transport-node')>('@nats-io/transport-node', 'the NATS transport');
    const connecting = connect({
      servers: this.servers,
      timeout: this.connectTimeoutMs,
      // Once connected, never give up; a short wait so a restarted server is found again quickly.
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      reconnectJitter: 100,
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        connecting,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${this.connectTimeoutMs} ms`)), this.connectTimeoutMs);
        }),
      ]);
    } catch (err) {
      connecting
        .then(
          (late) => late.close(),
          () => {},
        )
        .catch(() => {}); // a connection that came too late
      const detail = err instanceof Error && err.message !== '' ? ` (${this.scrub(err.message)})` : '';
      throw withCause(errors.pubsubUnavailable(`could not connect to NATS at ${this.where}${detail}`), err);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Wait for NATS at most `ackTimeoutMs`, and not past `stop()`. */
  private bounded(promise: Promise<void>, what: string): Promise<void> {
    return this.inFlight.bounded(
      promise,
      this.ackTimeoutMs,
      () => errors.pubsubUnavailable(`NATS at ${this.where} did not confirm a ${what} within ${this.ackTimeoutMs} ms`),
      (err) => withCause(errors.pubsubUnavailable(`lost the connection to NATS at ${this.where} during a ${what}`), err),
    );
  }

  /** A client message should never carry a server URL, but if it did, no secret is repeated. */
  private scrub(text: string): string {
    let out = text;
    for (const server of this.servers) {
      try {
        const u = new URL(server.includes('://') ? server : `nats://${server}`);
        // A lone user part is how a token is written (nats://token@host).
        const secret = decodeURIComponent(u.password !== '' ? u.password : u.username);
        if (secret !== '') out = out.split(secret).join('***');
      } catch {
        // nothing to hide in what cannot be parsed as a URL
      }
    }
    return out;
  }
}

function unsubscribeQuietly(sub: Subscription): void {
  try {
    sub.unsubscribe();
  } catch {
    // the connection is closed: so is the subscription
  }
}

/** End a `status()` iteration from outside (the client's iterators have `stop`). */
function stopIterator(iterable: AsyncIterable<Status> | undefined): void {
  if (iterable !== undefined && 'stop' in iterable && typeof iterable.stop === 'function') (iterable.stop as () => void).call(iterable);
}

/**
 * A transport on core NATS. `publish` resolves once the server confirmed it (a flush; concurrent
 * publishes share one); it rejects with `NOVA_ERR_PUBSUB_UNAVAILABLE` while disconnected, after
 * `ackTimeoutMs`, or once stopped. Reconnects for ever and then calls the `onReconnect` listeners.
 * Channels must be valid NATS subjects (see the module comment).
 *
 * @example
 * ```ts
 * const transport = natsTransport({ servers: 'nats://nats.internal:4222' });
 * await transport.start(); // rejects within 3 s if NATS cannot be reached
 * await transport.subscribe('nova.sessions.app', (text) => console.log(text));
 * await transport.publish('nova.sessions.app', 'hello');
 * await transport.stop();
 * ```
 */
export function natsTransport(options: NatsTransportOptions = {}): Transport {
  for (const name of ['connectTimeoutMs', 'ackTimeoutMs'] as const) {
    const v = options[name];
    if (v !== undefined && !(typeof v === 'number' && v > 0)) throw errors.config(`natsTransport.${name}`, 'must be a positive number');
  }
  const given = options.servers ?? process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
  const servers = (Array.isArray(given) ? given : [given])
    .flatMap((s) => s.split(','))
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (servers.length === 0) throw errors.config('natsTransport.servers', 'must name at least one server');
  return new NatsTransport(servers, options.connection as NatsConnection | undefined, options.connectTimeoutMs ?? 3000, options.ackTimeoutMs ?? 2000);
}
