/**
 * A transport wrapper that counts what a node receives, by message kind, for tests of how much
 * replication traffic something costs. Frames are `mac.json` (see `src/pubsub/bus.ts`); the kind is
 * the first key of the message body (`ops`, `records`, `sum`, `beat`…).
 */
import type { Transport } from '../../src/pubsub/transport.js';

export interface Received {
  /** Bytes of frames received, by kind. */
  bytes: Map<string, number>;
  /** Frames received, by kind. */
  frames: Map<string, number>;
  /** Records received in `records` frames, by sending node. */
  recordsFrom: Map<string, number>;
  readonly countRecords: boolean;
  /** Forget what was counted so far. */
  reset(): void;
}

/** `countRecords: false` skips parsing `records` frames (benchmarks: the parse would add to the stalls they measure). */
export function received({ countRecords = true } = {}): Received {
  const r: Received = {
    countRecords,
    bytes: new Map(),
    frames: new Map(),
    recordsFrom: new Map(),
    reset() {
      r.bytes.clear();
      r.frames.clear();
      r.recordsFrom.clear();
    },
  };
  return r;
}

/** The kind without parsing the frame: the bus writes `{"n":…,"t":…,"b":{"<kind>":…`. */
const KIND = /,"b":\{"([a-z]+)"/;

function count(into: Received, frame: string): void {
  const kind = KIND.exec(frame.slice(0, 200))?.[1] ?? '?';
  if (kind === 'records' && into.countRecords) {
    try {
      const message = JSON.parse(frame.slice(frame.indexOf('.') + 1)) as { n: string; b: { records: unknown[] } };
      into.recordsFrom.set(message.n, (into.recordsFrom.get(message.n) ?? 0) + message.b.records.length);
    } catch {
      // not a bus frame
    }
  }
  into.bytes.set(kind, (into.bytes.get(kind) ?? 0) + Buffer.byteLength(frame));
  into.frames.set(kind, (into.frames.get(kind) ?? 0) + 1);
}

/**
 * @example
 * ```ts
 * const seen = received();
 * const store = replicatedStore({ transport: counting(bus.transport(), seen), secret });
 * // … later: seen.recordsFrom, seen.bytes.get('records')
 * ```
 */
export function counting(transport: Transport, into: Received): Transport {
  return {
    name: transport.name,
    start: () => transport.start(),
    stop: () => transport.stop(),
    publish: (channel, message) => transport.publish(channel, message),
    subscribe: (channel, handler) =>
      transport.subscribe(channel, (message) => {
        count(into, message);
        handler(message);
      }),
    onReconnect: (listener) => transport.onReconnect(listener),
  };
}

/** Kinds of message that catch-up sends (heartbeats, ops and kill confirmations are not). */
export const CATCH_UP_KINDS = ['hello', 'here', 'sum', 'same', 'buckets', 'want', 'need', 'records', 'revocations', 'synced'];

/** Bytes of catch-up traffic counted in some `Received`s. */
export function catchUpBytes(...all: Received[]): number {
  let sum = 0;
  for (const r of all) for (const kind of CATCH_UP_KINDS) sum += r.bytes.get(kind) ?? 0;
  return sum;
}
