/**
 * A transport wrapper for fault tests: a silent partition (the connection stays open, nothing is
 * forwarded either way, publishes are never acknowledged), incoming traffic held back and released
 * later (a node slow to apply), and frames dropped by content: outgoing (a node that never
 * confirms) or incoming (messages lost on the way in while the connection, and the lease, hold).
 */
import { errors } from '../../src/errors.js';
import type { Transport } from '../../src/pubsub/transport.js';

export interface StallableTransport extends Transport {
  /** Silent partition on (true) or healed (false). Healing fires no reconnect: nothing broke. */
  stall(on: boolean): void;
  /** Hold incoming messages (true); false delivers them, in order, and stops holding. */
  hold(on: boolean): void;
  /** Outgoing frames for which this returns true are dropped (their publish still resolves). */
  dropOutgoing: ((frame: string) => boolean) | undefined;
  /** Incoming frames for which this returns true are dropped, silently. */
  dropIncoming: ((frame: string) => boolean) | undefined;
}

/**
 * @example
 * ```ts
 * const t = stallable(bus.transport());
 * const node = replicatedStore({ transport: t, secret });
 * t.stall(true); // node hears nothing, says nothing, its publishes time out after ackTimeoutMs
 * ```
 */
export function stallable(inner: Transport, ackTimeoutMs = 100): StallableTransport {
  let stalled = false;
  let holding = false;
  const held: (() => void)[] = [];
  const t: StallableTransport = {
    name: inner.name,
    dropOutgoing: undefined,
    dropIncoming: undefined,
    start: () => inner.start(),
    stop: () => inner.stop(),
    onReconnect: (listener) => inner.onReconnect(listener),
    subscribe: (channel, handler) =>
      inner.subscribe(channel, (message) => {
        if (stalled || t.dropIncoming?.(message) === true) return;
        if (holding) held.push(() => handler(message));
        else handler(message);
      }),
    publish(channel, message) {
      // Like a client whose request went into a socket that forwards nothing: no reply comes.
      if (stalled) return new Promise((_, reject) => setTimeout(() => reject(errors.pubsubUnavailable('no acknowledgement (stalled)')), ackTimeoutMs));
      if (t.dropOutgoing?.(message) === true) return Promise.resolve();
      return inner.publish(channel, message);
    },
    stall(on) {
      stalled = on;
    },
    hold(on) {
      holding = on;
      if (!on) for (const deliver of held.splice(0)) deliver();
    },
  };
  return t;
}
