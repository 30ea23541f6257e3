/**
 * The replicated store's public types, and the checks every entry point makes on an id.
 */
import { errors } from '../../errors.js';
import type { BusOptions } from '../../pubsub/bus.js';
import type { Transport } from '../../pubsub/transport.js';
import { hashSessionId } from '../id-hash.js';
import type { SessionStore, SessionStoreOptions } from '../store.js';
import type { SessionTake, SessionUserIndex } from '../users.js';
import type { RecordWire } from './records.js';

/** How a replicated store is made. */
export interface ReplicatedStoreOptions {
  /** The engine that carries the edits: `redisTransport()`, `natsTransport()`, `clusterTransport()`… */
  transport: Transport;
  /** The cluster secret every node shares (≥ 32 bytes, or a list: first signs, all verify). */
  secret: BusOptions['secret'];
  /** Nodes only replicate with nodes of the same cluster name. Default `nova`. */
  cluster?: string;
  /** How long `start()` waits for a peer's state before serving alone (the first node). Default 1000 ms. */
  joinTimeoutMs?: number;
  /** Longest wait for in-flight edits before an unknown id is read as absent. Default 250 ms. */
  barrierTimeoutMs?: number;
  /** How often the expiry sweep runs. Default 1000 ms. */
  sweepIntervalMs?: number;
  /** After a publish that was not acknowledged, how long until this node pushes its state again. Default 1000 ms. */
  repairDelayMs?: number;
  /** Where refused messages and failed background sends are reported. Default `console.warn`. */
  warn?: (message: string) => void;
}

/** The replicated store, with what monitoring and tests need. */
export interface ReplicatedSessionStore extends Omit<SessionStore, keyof SessionUserIndex | keyof SessionTake>, SessionUserIndex, SessionTake {
  /** This node's id on the bus (new on every start of the process). */
  readonly node: string;
  readonly liveSessions: number;
  /** Ids held: live sessions plus tombstones. */
  readonly size: number;
  start(options: SessionStoreOptions): Promise<void>;
  stop(): Promise<void>;
  /** Send our state to every peer and ask for theirs; done by itself on start and on reconnect. */
  resync(): Promise<void>;
  /** End every session whose time is up now (the sweep also runs by itself); returns how many. */
  expireNow(): number;
  /** Every record, live and dead, in the state-transfer format (tests, diagnostics); ids are hashed. */
  dump(): RecordWire[];
  /** Users with sessions (or rotated-away ids) filed in this node's per-user index. */
  readonly indexedUsers: number;
}

/**
 * The form an id takes inside the store (see id-hash.ts); a non-string finds nothing, as the empty
 * key is never a hash.
 *
 * @example
 * ```ts
 * const record = state.get(hashOf(id));
 * ```
 */
export function hashOf(id: string): string {
  return typeof id === 'string' ? hashSessionId(id) : '';
}

/** An id a write may use: a non-empty string. */
export function checkId(id: string): void {
  if (typeof id !== 'string' || id.length === 0) throw errors.sessionIdInvalid('a session id must be a non-empty string');
}
