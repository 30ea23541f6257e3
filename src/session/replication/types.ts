/**
 * The replicated store's public types, and the checks every entry point makes on an id.
 */
import { errors, type NovaError } from '../../errors.js';
import type { BusOptions } from '../../pubsub/bus.js';
import type { Transport } from '../../pubsub/transport.js';
import { hashSessionId } from '../id-hash.js';
import type { SessionStore, SessionStoreOptions, StoreReadiness } from '../store.js';
import type { SessionTake, SessionUserIndex } from '../users.js';
import type { RecordWire } from './records.js';

/** How a replicated store is made. */
export interface ReplicatedStoreOptions {
  /** The engine that carries the edits: `redisTransport()`, `natsTransport()`, `clusterTransport()`… */
  transport: Transport;
  /**
   * The cluster secret every node shares (≥ 32 bytes, or a list: first signs, all verify).
   * Omitted, the app's `session.secrets` authenticate the bus as well as the cookies (the usual
   * way: one list, given once). Given, it must be that same list, or `createApp` refuses it.
   */
  secret?: BusOptions['secret'];
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
  /**
   * How long a node may serve after the last of its own heartbeats came back through the
   * transport; the bound on how long a cut-off node can serve a session ended elsewhere, and on how
   * long a logout waits for a peer that went silent. Default 3000 ms.
   */
  leaseMs?: number;
  /** How often each node publishes a heartbeat. Default `leaseMs / 5`. */
  heartbeatMs?: number;
  /** Clock-drift margin peers add to the lease before treating a silent node as fenced. Default 500 ms. */
  driftMs?: number;
  /**
   * What a node cut off from the cluster does. `fence` (default): once its lease has run out it
   * answers 503 for every session read and write until it is back and caught up. `serve-stale`: it
   * keeps serving what it holds, and logouts anywhere answer 503 while any known peer is unreachable.
   */
  partition?: 'fence' | 'serve-stale';
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
  /** Ready to answer for sessions: running, holding its lease, caught up with the cluster. */
  readiness(): StoreReadiness;
  /**
   * Catch up with the cluster by difference (digests with one peer at a time, then only the records
   * that differ; see catchup.ts); done by itself on start, on reconnect and after a failed publish.
   * Resolves once caught up.
   */
  resync(): Promise<void>;
  /** False from a start or reconnect until this node has caught up with the cluster. */
  readonly caughtUp: boolean;
  /** End every session whose time is up now (the sweep also runs by itself); returns how many. */
  expireNow(): number;
  /** Every record, live and dead, in the state-transfer format (tests, diagnostics); ids are hashed. */
  dump(): RecordWire[];
  /** Users with sessions (or rotated-away ids) filed in this node's per-user index. */
  readonly indexedUsers: number;
  /**
   * The heap this node's records take, estimated as they change: the number `maxStoreBytes`
   * limits for writes made here. Writes from peers are applied whatever it says.
   */
  readonly bytes: number;
  /** Sessions tied to no user that this node ended to make room for its own writes. */
  readonly evictions: number;
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

/** The options a store runs with: every timing filled in and checked. */
export type ReplicationSettings = ReplicatedStoreOptions &
  Required<
    Pick<
      ReplicatedStoreOptions,
      'joinTimeoutMs' | 'barrierTimeoutMs' | 'sweepIntervalMs' | 'repairDelayMs' | 'leaseMs' | 'heartbeatMs' | 'driftMs' | 'partition'
    >
  >;

/**
 * Fill in the defaults and refuse timings that cannot work.
 *
 * @example
 * ```ts
 * const settings = checkTimings({ transport, secret, leaseMs: 2000 }); // heartbeatMs 400, driftMs 500
 * ```
 */
export function checkTimings(options: ReplicatedStoreOptions): ReplicationSettings {
  const problem = timingProblem(options);
  if (problem !== undefined) throw errors.config(`replication.${problem.key}`, problem.message);
  const leaseMs = options.leaseMs ?? 3000;
  const timing = {
    joinTimeoutMs: options.joinTimeoutMs ?? 1000,
    barrierTimeoutMs: options.barrierTimeoutMs ?? 250,
    sweepIntervalMs: options.sweepIntervalMs ?? 1000,
    repairDelayMs: options.repairDelayMs ?? 1000,
    leaseMs,
    heartbeatMs: options.heartbeatMs ?? leaseMs / 5,
  };
  return { ...options, ...timing, driftMs: options.driftMs ?? 500, partition: options.partition ?? 'fence' };
}

type Timings = Pick<
  ReplicatedStoreOptions,
  'joinTimeoutMs' | 'barrierTimeoutMs' | 'sweepIntervalMs' | 'repairDelayMs' | 'leaseMs' | 'heartbeatMs' | 'driftMs' | 'partition'
>;

/**
 * The first timing that cannot work, by option name (`leaseMs`…), or undefined; also used by
 * the configuration check of `session.replication`.
 *
 * @example
 * ```ts
 * timingProblem({ leaseMs: 1000, heartbeatMs: 900 }); // { key: 'heartbeatMs', message: 'must be at most half of leaseMs' }
 * ```
 */
export function timingProblem(options: Timings): { key: string; message: string } | undefined {
  const leaseMs = options.leaseMs ?? 3000;
  const timing = {
    joinTimeoutMs: options.joinTimeoutMs ?? 1000,
    barrierTimeoutMs: options.barrierTimeoutMs ?? 250,
    sweepIntervalMs: options.sweepIntervalMs ?? 1000,
    repairDelayMs: options.repairDelayMs ?? 1000,
    leaseMs,
    heartbeatMs: options.heartbeatMs ?? leaseMs / 5,
  };
  for (const [key, value] of Object.entries(timing)) {
    if (!(typeof value === 'number' && value > 0 && Number.isFinite(value))) return { key, message: 'must be a positive number of milliseconds' };
  }
  // A lease must see several heartbeats, or one late heartbeat fences a healthy node.
  if (timing.heartbeatMs * 2 > leaseMs) return { key: 'heartbeatMs', message: 'must be at most half of leaseMs' };
  const driftMs = options.driftMs ?? 500;
  if (!(typeof driftMs === 'number' && driftMs >= 0 && Number.isFinite(driftMs)))
    return { key: 'driftMs', message: 'must be zero or a positive number of milliseconds' };
  const partition = options.partition ?? 'fence';
  if (partition !== 'fence' && partition !== 'serve-stale') return { key: 'partition', message: "must be 'fence' or 'serve-stale'" };
  return undefined;
}

/** An unknown id on a node that could not confirm it is caught up: never read as "no session". */
export function notCaughtUp(): NovaError {
  return errors.sessionNotCaughtUp('an id unknown here could not be checked against the cluster (the transport is slow or down, or this node is catching up)');
}

/**
 * How `createApp` hands `session.secrets` to a replicated store passed as `session.store`, and
 * checks that a secret given to the store itself is the same list. A symbol: not public API.
 */
export const appSecrets = Symbol('nova-ts.replicatedStore.appSecrets');

/** What a replicated store answers on `appSecrets`. */
export interface AppSecretsHook {
  /** `'adopted'`: the store had none and takes `secrets`; `'same'`/`'different'`: its own list compared. */
  [appSecrets](secrets: readonly string[]): 'adopted' | 'same' | 'different';
}

/** Whether `store` is a replicated store (built-in), whatever its type says. */
export function hasAppSecretsHook(store: unknown): store is AppSecretsHook {
  return typeof store === 'object' && store !== null && typeof (store as Partial<AppSecretsHook>)[appSecrets] === 'function';
}
