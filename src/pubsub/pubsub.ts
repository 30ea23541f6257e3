/**
 * Nova's `nova_pubsub` for Node: members join named channels and get every message broadcast on
 * them, from any node. It rides the same authenticated bus and transports as session replication.
 * Nova's members are processes; here a member is a function, and `members()` reports how many each
 * node has, from the presence every node announces.
 */
import { errors } from '../errors.js';
import { jsonProblem } from '../session/store.js';
import type { Json } from '../results/result.js';
import { Bus, type BusOptions } from './bus.js';
import type { Unsubscribe } from './transport.js';

/** What a member gets: Nova's `{"$nova_pubsub", Channel, Sender, Topic, Message}`. */
export interface PubSubMessage {
  channel: string;
  topic: string;
  payload: Json;
  /** The sending node's id. */
  from: string;
}

export type Member = (message: PubSubMessage) => void;

/** How a pub/sub instance is made: a transport and the cluster secret, as for replication. */
export type PubSubOptions = Omit<BusOptions, 'warn' | 'secret'> & {
  /** The cluster secret, or a list: the first signs, every one verifies (rotation). ≥ 32 bytes. */
  secret: NonNullable<BusOptions['secret']>;
  /** How often each node repeats its presence; peers silent for 3 periods are forgotten. Default 5000 ms. */
  presenceIntervalMs?: number;
  warn?: (message: string) => void;
};

/** Nova's `get_members/1` for one node. */
export interface NodeMembers {
  node: string;
  count: number;
}

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

function checkName(what: string, name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name))
    throw errors.pubsubMessage(`a ${what} name is 1-64 letters, digits, "_" or "-" (got ${JSON.stringify(name)})`);
  return name;
}

/**
 * @example
 * ```ts
 * const pubsub = createPubSub({ transport: natsTransport(), secret: process.env.SESSION_SECRET! });
 * await pubsub.start();
 * await pubsub.join('chat', ({ topic, payload }) => console.log(topic, payload));
 * await pubsub.broadcast('chat', 'message', { text: 'hi' }); // every node's 'chat' members
 * pubsub.localBroadcast('chat', 'message', { text: 'here only' });
 * pubsub.members('chat'); // [{ node: '…', count: 1 }, …]
 * ```
 */
export class PubSub {
  private readonly bus: Bus;
  private readonly local = new Map<string, Set<Member>>();
  private readonly subscriptions = new Map<string, Unsubscribe>();
  private readonly subscribing = new Map<string, Promise<Unsubscribe>>();
  private readonly peers = new Map<string, { seen: number; channels: Record<string, number> }>();
  private presenceTimer: NodeJS.Timeout | undefined;
  private readonly presenceIntervalMs: number;
  private control: Unsubscribe | undefined;

  constructor(options: PubSubOptions) {
    // Refused here, not at start: a pub/sub has no app configuration to take a secret from.
    if ((options.secret as unknown) === undefined) throw errors.config('pubsub.secret', 'every node needs the same cluster secret of at least 32 bytes');
    this.bus = new Bus(options);
    this.presenceIntervalMs = options.presenceIntervalMs ?? 5000;
  }

  /** This node's id on the bus. */
  get node(): string {
    return this.bus.node;
  }

  async start(): Promise<void> {
    await this.bus.start();
    this.control = await this.bus.subscribe('pubsub-presence', (body, from) => this.presence(body, from));
    this.presenceTimer = setInterval(() => void this.announce(false).catch(() => {}), this.presenceIntervalMs).unref();
    await this.announce(true);
  }

  async stop(): Promise<void> {
    clearInterval(this.presenceTimer);
    this.local.clear();
    await this.announce(false).catch(() => {}); // an empty presence: peers drop us at once
    await Promise.allSettled([...this.subscriptions.values(), ...(this.control ? [this.control] : [])].map((off) => off()));
    this.subscriptions.clear();
    await this.bus.stop();
  }

  /** Nova's `join/1`: `member` gets every message broadcast on `channel` from now on. */
  async join(channel: string, member: Member): Promise<void> {
    checkName('channel', channel);
    let members = this.local.get(channel);
    if (members === undefined) {
      this.local.set(channel, (members = new Set()));
      // Concurrent joins of a new channel wait for the same subscription.
      const subscribing = this.bus.subscribe(`pubsub.${channel}`, (body, from) => this.deliver(channel, body, from));
      this.subscribing.set(channel, subscribing);
      try {
        this.subscriptions.set(channel, await subscribing);
      } catch (err) {
        // Forget the channel, so the next join subscribes again instead of joining a deaf one.
        if (this.local.get(channel) === members) this.local.delete(channel);
        throw err;
      } finally {
        this.subscribing.delete(channel);
      }
    } else {
      await this.subscribing.get(channel);
    }
    members.add(member);
    await this.announce(false).catch(() => {});
  }

  /** Nova's `leave/1`. */
  async leave(channel: string, member: Member): Promise<void> {
    const members = this.local.get(channel);
    if (members === undefined || !members.delete(member)) return;
    if (members.size === 0) {
      this.local.delete(channel);
      const off = this.subscriptions.get(channel);
      this.subscriptions.delete(channel);
      await off?.();
    }
    await this.announce(false).catch(() => {});
  }

  /** Nova's `broadcast/3`: every member on every node; resolves when the transport took it. */
  async broadcast(channel: string, topic: string, payload: Json): Promise<void> {
    this.check(channel, topic, payload);
    await this.bus.publish(`pubsub.${channel}`, { topic, payload });
  }

  /** Nova's `local_broadcast/3`: this node's members only, now. */
  localBroadcast(channel: string, topic: string, payload: Json): void {
    this.check(channel, topic, payload);
    // Through JSON, like a broadcast: a member must not share (and mutate) the sender's object.
    this.deliver(channel, JSON.parse(JSON.stringify({ topic, payload })) as unknown, this.node);
  }

  /** Nova's `get_members/1`: members per node that has any, this node included. */
  members(channel: string): NodeMembers[] {
    const out: NodeMembers[] = [];
    const mine = this.local.get(channel)?.size ?? 0;
    if (mine > 0) out.push({ node: this.node, count: mine });
    const cutoff = Date.now() - 3 * this.presenceIntervalMs;
    for (const [node, peer] of this.peers) {
      if (peer.seen < cutoff) this.peers.delete(node);
      else if ((peer.channels[channel] ?? 0) > 0) out.push({ node, count: peer.channels[channel]! });
    }
    return out;
  }

  /** Nova's `get_local_members/1`. */
  localMembers(channel: string): Member[] {
    return [...(this.local.get(channel) ?? [])];
  }

  private check(channel: string, topic: string, payload: Json): void {
    checkName('channel', channel);
    checkName('topic', topic);
    const problem = jsonProblem(payload, 'the message');
    if (problem !== undefined) throw errors.pubsubMessage(problem);
  }

  private deliver(channel: string, body: unknown, from: string): void {
    const message = body as { topic?: unknown; payload?: unknown };
    if (typeof message?.topic !== 'string') return;
    for (const member of this.local.get(channel) ?? []) {
      try {
        member({ channel, topic: message.topic, payload: message.payload as Json, from });
      } catch (err) {
        // One member's bug must not stop the others, nor the transport's reader.
        console.error(`nova-ts pubsub: a member of "${channel}" threw:`, err);
      }
    }
  }

  private announce(ask: boolean): Promise<void> {
    const channels: Record<string, number> = {};
    for (const [name, members] of this.local) channels[name] = members.size;
    return this.bus.publish('pubsub-presence', { channels, ask });
  }

  private presence(body: unknown, from: string): void {
    if (from === this.node || typeof body !== 'object' || body === null) return;
    const { channels, ask } = body as { channels?: unknown; ask?: unknown };
    if (typeof channels !== 'object' || channels === null) return;
    this.peers.set(from, { seen: Date.now(), channels: channels as Record<string, number> });
    if (ask === true) void this.announce(false).catch(() => {}); // a new node: tell it who is here
  }
}

/**
 * Nova's `nova_pubsub` on a transport. Call `start()` before use and `stop()` at shutdown.
 *
 * @example
 * ```ts
 * const pubsub = createPubSub({ transport: redisTransport(), secret: process.env.SESSION_SECRET! });
 * await pubsub.start();
 * ```
 */
export function createPubSub(options: PubSubOptions): PubSub {
  return new PubSub(options);
}
