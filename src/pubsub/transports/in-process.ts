/**
 * The in-process transport: nodes that live in one process (tests, examples) share a bus object.
 * Delivery is asynchronous, like a real engine's, so code that works here does not rely on a
 * publish being seen before `publish` returns.
 */
import { errors } from '../../errors.js';
import type { Transport, Unsubscribe } from '../transport.js';

type Handler = (message: string) => void;

/**
 * A bus shared by in-process transports. `deliver` may be replaced to delay, reorder, duplicate or
 * drop messages (the replication model test does); by default each message is delivered on a
 * later microtask, in publish order.
 *
 * @example
 * ```ts
 * const bus = inProcessBus();
 * const a = bus.transport(), b = bus.transport();
 * await b.subscribe('chat', (m) => console.log('b got', m));
 * await a.publish('chat', 'hi');
 * ```
 */
export interface InProcessBus {
  transport(): Transport;
  /** How a published message reaches one subscriber; replace to inject faults. */
  deliver: (send: () => void) => void;
  /** Cut one transport off (true) or let it back (false); reconnecting calls its listeners. */
  setDown(transport: Transport, down: boolean): void;
}

/**
 * A new bus: each `bus.transport()` is one node's transport, and they all reach each other.
 *
 * @example
 * ```ts
 * const bus = inProcessBus();
 * const store = replicatedStore({ transport: bus.transport(), secret });
 * ```
 */
export function inProcessBus(): InProcessBus {
  const channels = new Map<string, Set<{ owner: InProcessTransport; handler: Handler }>>();
  const bus: InProcessBus = {
    transport: () => new InProcessTransport(channels, bus),
    deliver: (send) => queueMicrotask(send),
    setDown(transport, down) {
      if (!(transport instanceof InProcessTransport)) throw new TypeError('not a transport of this bus');
      const was = transport.down;
      transport.down = down;
      if (was && !down) for (const listener of transport.reconnectListeners) listener();
    },
  };
  return bus;
}

class InProcessTransport implements Transport {
  readonly name = 'in-process';
  down = false;
  stopped = false;
  readonly reconnectListeners: (() => void)[] = [];

  constructor(
    private readonly channels: Map<string, Set<{ owner: InProcessTransport; handler: Handler }>>,
    private readonly bus: InProcessBus,
  ) {}

  async start(): Promise<void> {
    this.stopped = false;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const subs of this.channels.values()) for (const sub of subs) if (sub.owner === this) subs.delete(sub);
  }

  async publish(channel: string, message: string): Promise<void> {
    if (this.stopped) throw errors.pubsubUnavailable('the in-process transport was stopped');
    if (this.down) throw errors.pubsubUnavailable('the in-process transport is cut off');
    for (const sub of this.channels.get(channel) ?? []) {
      // A cut-off node neither sends nor receives: what it misses, it must resync.
      this.bus.deliver(() => {
        if (!sub.owner.down && !sub.owner.stopped) sub.handler(message);
      });
    }
  }

  async subscribe(channel: string, handler: Handler): Promise<Unsubscribe> {
    let subs = this.channels.get(channel);
    if (subs === undefined) this.channels.set(channel, (subs = new Set()));
    const sub = { owner: this, handler };
    subs.add(sub);
    return async () => {
      subs.delete(sub);
    };
  }

  onReconnect(listener: () => void): void {
    this.reconnectListeners.push(listener);
  }
}
