/**
 * The authenticated layer over a transport. Every message carries the sending node's id and an
 * HMAC-SHA256 made with the cluster secret, so a process that can reach the Redis or NATS server
 * but does not hold the secret cannot forge session edits (Nova's `'__sessions'` group accepts
 * anyone's; research/anchors-nova.md §2.10). Each cluster name derives its own key, so two apps
 * sharing an engine and a secret still cannot read each other's messages as their own.
 */
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { errors } from '../errors.js';
import { type SessionSecrets, sessionSecrets } from '../session/signing.js';
import type { Transport, Unsubscribe } from './transport.js';

/** What a bus is made from. */
export interface BusOptions {
  transport: Transport;
  /**
   * The cluster secret, or a list: the first signs, every one verifies (rotation). ≥ 32 bytes.
   * Omitted: given later with `useSecret`, before `start` (the replicated store takes the app's
   * `session.secrets` this way).
   */
  secret?: BusSecret;
  /** Nodes with different cluster names ignore each other. Letters, digits, `_` and `-`. Default `nova`. */
  cluster?: string;
  /** Reports messages refused for a bad MAC, at most once a minute per bus. Default `console.warn`. */
  warn?: (message: string) => void;
}

/** A cluster secret, or a list of them (the first signs, all verify). */
export type BusSecret = string | Buffer | readonly (string | Buffer)[];

type Handler = (body: unknown, from: string) => void;

const MAC_LENGTH = 43;
const MAC_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** Larger frames are refused before any HMAC is computed: NATS's default limit is 1 MiB. */
export const MAX_FRAME_BYTES = 1024 * 1024;
/**
 * A frame older (or further in the future) than this is refused, so a recorded message cannot be
 * replayed later. Nodes' clocks must agree to within it (they must for expiry anyway).
 */
const FRESHNESS_MS = 5 * 60_000;
const CLUSTER_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * @example
 * ```ts
 * const bus = new Bus({ transport: redisTransport(), secret: process.env.SESSION_SECRET! });
 * await bus.start();
 * await bus.subscribe('chat', (body, from) => console.log(from, body));
 * await bus.publish('chat', { text: 'hi' });
 * ```
 */
export class Bus {
  /** This node's id: random per start of the process, so a restarted node is a new writer. */
  readonly node = randomBytes(12).toString('base64url');
  readonly cluster: string;
  private keys: readonly Buffer[] = [];
  private readonly warn: (message: string) => void;
  private refused = 0;
  private lastWarning = 0;

  constructor(private readonly options: BusOptions) {
    const cluster = options.cluster ?? 'nova';
    if (!CLUSTER_NAME.test(cluster)) throw errors.config('cluster', 'a cluster name is 1-64 letters, digits, "_" or "-"');
    this.cluster = cluster;
    if (options.secret !== undefined) this.useSecret(options.secret);
    this.warn = options.warn ?? ((m) => console.warn(m));
  }

  /** Whether a secret is set (given to the constructor or to `useSecret`). */
  get hasSecret(): boolean {
    return this.keys.length > 0;
  }

  /** Set the cluster secret of a bus made without one. Before `start`: messages need it. */
  useSecret(secret: BusSecret): void {
    const list = (Array.isArray(secret) ? secret : [secret]) as (string | Buffer)[];
    let secrets: SessionSecrets;
    try {
      secrets = sessionSecrets(list);
    } catch {
      throw errors.config('replication.secret', 'every node needs the same cluster secret of at least 32 bytes (session.secrets)');
    }
    this.keys = secrets.keys.map((key) => Buffer.from(hkdfSync('sha256', key, 'nova-ts bus', `cluster:${this.cluster}`, 32)));
  }

  get transport(): Transport {
    return this.options.transport;
  }

  start(): Promise<void> {
    if (!this.hasSecret) return Promise.reject(errors.sessionSecretsRequired('the cluster bus'));
    return this.options.transport.start();
  }

  stop(): Promise<void> {
    return this.options.transport.stop();
  }

  /** The transport channel for a bus channel name. Dots separate, so NATS subjects work too. */
  channel(name: string): string {
    return `nova.${this.cluster}.${name}`;
  }

  /**
   * Sign and publish; resolves when the transport acknowledged. The MAC covers the channel too,
   * so a message recorded on one channel cannot be replayed on another, and a send time, so it
   * cannot be replayed much later.
   */
  publish(name: string, body: unknown): Promise<void> {
    const channel = this.channel(name);
    const json = JSON.stringify({ n: this.node, t: Date.now(), b: body });
    return this.options.transport.publish(channel, `${this.mac(this.keys[0]!, channel, json)}.${json}`);
  }

  /** `handler` gets every authentic message on `name`, this node's own included. */
  subscribe(name: string, handler: Handler): Promise<Unsubscribe> {
    const channel = this.channel(name);
    return this.options.transport.subscribe(channel, (text) => {
      // Nothing that arrives on the bus may take the process down: transports treat a throwing
      // handler as a bug and rethrow, and every node receives the same message.
      try {
        const message = this.open(channel, text);
        if (message !== undefined) handler(message.b, message.n);
      } catch (err) {
        this.warn(`nova-ts: a message on cluster "${this.cluster}" could not be handled: ${(err as Error)?.message ?? String(err)}`);
      }
    });
  }

  onReconnect(listener: () => void): void {
    this.options.transport.onReconnect(listener);
  }

  private mac(key: Buffer, channel: string, json: string): string {
    return createHmac('sha256', key).update(channel).update('\n').update(json).digest('base64url');
  }

  private open(channel: string, text: string): { n: string; b: unknown } | undefined {
    if (typeof text === 'string' && text.length > MAC_LENGTH + 1 && text.length <= MAX_FRAME_BYTES && text[MAC_LENGTH] === '.') {
      const macText = text.slice(0, MAC_LENGTH);
      const json = text.slice(MAC_LENGTH + 1);
      // Both sides are 43 base64url characters, so the comparison sees equal lengths.
      const given = MAC_PATTERN.test(macText) ? Buffer.from(macText) : undefined;
      if (given !== undefined && this.keys.some((key) => timingSafeEqual(given, Buffer.from(this.mac(key, channel, json))))) {
        try {
          const message = JSON.parse(json) as { n?: unknown; t?: unknown; b?: unknown };
          if (typeof message.n === 'string' && typeof message.t === 'number' && Math.abs(Date.now() - message.t) <= FRESHNESS_MS) {
            return { n: message.n, b: message.b };
          }
        } catch {
          // an authentic but unreadable message is a bug on the sender; refuse it like a forgery
        }
      }
    }
    this.refuse();
    return undefined;
  }

  // A node with another secret sends on every write: one line a minute says so without flooding.
  private refuse(): void {
    this.refused++;
    const now = Date.now();
    if (now - this.lastWarning < 60_000) return;
    this.lastWarning = now;
    this.warn(
      `nova-ts: refused ${this.refused} message(s) on cluster "${this.cluster}" that were not signed with this node's cluster secret ` +
        '(another node has a different SESSION_SECRET, or something else publishes on these channels)',
    );
    this.refused = 0;
  }
}
