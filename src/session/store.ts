/**
 * The session store contract: Nova's `nova_session` behaviour (`get_value/2`, `set_value/3`,
 * `delete_value/1,2`, `start_link/0`), made async, plus the rotation and expiry that Nova leaves
 * out. Also the helpers every store uses so that all of them refuse the same values the same way.
 */
import { getHeapStatistics } from 'node:v8';
import { NovaError, errors, withCause } from '../errors.js';
import type { Json } from '../results/result.js';
import type { SessionTake, SessionUserIndex } from './users.js';

/** What a store is started with. All durations are in milliseconds. */
export interface SessionStoreOptions {
  /** A session unused for this long is gone (sliding: reads and writes count as use). */
  idleTimeoutMs: number;
  /** A session is gone this long after it was created, however active it is. */
  absoluteTimeoutMs: number;
  /** The stored "last seen" time is rewritten only when older than this (write throttle). */
  touchIntervalMs: number;
  /** Limit on one session's size: the UTF-8 bytes of every key plus its JSON value. */
  maxSessionBytes: number;
  /**
   * Limit on live sessions. When full, the oldest session not tied to a user is evicted to make
   * room for a new one; with none left, new sessions are refused (`NOVA_ERR_SESSION_STORE_FULL`).
   */
  maxSessions: number;
  /**
   * Limit on the bytes a store keeps in this process's heap (the memory stores; stores that keep
   * sessions elsewhere ignore it). Past it, tombstones and then sessions not tied to a user go,
   * oldest first; with none left, new sessions and growing writes are refused
   * (`NOVA_ERR_SESSION_STORE_FULL`), while reads, shrinking writes and deletes still work.
   * Default: `defaultMaxStoreBytes()`, a quarter of V8's heap limit.
   */
  maxStoreBytes?: number;
  /** Limit on live sessions tied to one user; binding one more revokes that user's oldest. Default 50. */
  maxSessionsPerUser?: number;
  /**
   * Called when the store finds a session expired (its sweeper, or a read), with the session's
   * hashed id (`hashSessionId`) and the user it was tied to. Each store's docs say where it looks.
   * Must not throw; the session manager turns it into an `expired` session event.
   */
  onExpired?: (sessionHash: string, userId: string | undefined) => void;
  /** The clock, for tests; `Date.now` when absent. Stores that keep time elsewhere may ignore it. */
  now?: () => number;
}

/**
 * A session backend. Nova's mapping: `get_value(Id, Key)` → `getValue` (`{error, not_found}` is
 * `undefined`), `set_value` → `setValue`, `delete_value/1` → `deleteValue(id)`, `delete_value/2`
 * → `deleteValue(id, key)`, `start_link` → `start`.
 *
 * Every store must hold these rules; `src/testing/session-store.suite.ts` (exported as `nova-ts/testing`) checks them:
 *
 * - **Per key.** Operations touch one key, so two concurrent `setValue` calls on different keys
 *   both survive (no whole-session read-modify-write).
 * - **Lazy.** Nothing exists for an id before its first `setValue`, which creates the session.
 *   `deleteValue`/`rotate` on an id that never held data create nothing (Django CVE-2015-5963).
 * - **Expiry from stored timestamps.** Idle timeout, sliding: every get or set is use, but the
 *   stored "last seen" is rewritten only when older than `touchIntervalMs`, so the effective idle
 *   limit lies between `idleTimeoutMs - touchIntervalMs` and `idleTimeoutMs`. Absolute timeout
 *   from creation; `rotate` keeps the creation time, so rotating never extends a session. An
 *   expired session reads as not found.
 * - **JSON values only**, checked by `encodeSessionValue`: anything else is refused with
 *   `NOVA_ERR_SESSION_VALUE` naming the key. Values are copied in and out.
 * - **Ordinary keys.** `__proto__`, `constructor`, `toString` are keys like any other;
 *   `getValue(id, 'toString')` on an empty session is `undefined`.
 * - **Size limit.** A write that would take the session over `maxSessionBytes`
 *   (see `entryBytes`) fails with `NOVA_ERR_SESSION_TOO_LARGE` and changes nothing.
 * - **Tombstones.** After `deleteValue(id)`, `rotate(id, …)` or expiry, `setValue(id, …)` throws
 *   `NOVA_ERR_SESSION_GONE` and does not bring the session back; the session manager moves the
 *   write to a fresh id. A tombstone is kept for `absoluteTimeoutMs` after the session ended,
 *   which covers every moment its absolute timeout could still have been in the future.
 * - **Failure.** A store that cannot reach its backend throws `storeUnavailable(…)` (503).
 *
 * @example
 * ```ts
 * const store: SessionStore = memoryStore();
 * await store.start?.({ idleTimeoutMs: 1_800_000, absoluteTimeoutMs: 28_800_000,
 *   touchIntervalMs: 60_000, maxSessionBytes: 65_536, maxSessions: 100_000 });
 * await store.setValue(id, 'username', 'alice');
 * await store.getValue(id, 'username'); // 'alice'
 * ```
 */
export interface SessionStore extends Partial<SessionUserIndex>, Partial<SessionTake> {
  readonly name: string;
  /** Nova's start_link: called once at app start with the session options. */
  start?(options: SessionStoreOptions): Promise<void>;
  stop?(): Promise<void>;
  /** The value, or `undefined` when the key, the session, or a live session is missing. */
  getValue(id: string, key: string): Promise<Json | undefined>;
  /** Creates the session on first write; throws `NOVA_ERR_SESSION_GONE` on a dead id. */
  setValue(id: string, key: string, value: Json): Promise<void>;
  /** Without `key`: the whole session (Nova `delete_value/1`), leaving a tombstone. */
  deleteValue(id: string, key?: string): Promise<void>;
  /** Move all data from oldId to newId atomically; oldId is deleted (tombstoned). */
  rotate(oldId: string, newId: string): Promise<void>;
  /**
   * Whether this store can answer for sessions right now (connected, caught up, not fenced), for
   * the app's readiness check. Synchronous and cheap: a load balancer may ask often. Stores without
   * it count as ready.
   */
  readiness?(): StoreReadiness;
}

/** A store's answer to `readiness()`. */
export interface StoreReadiness {
  ready: boolean;
  /** Why not, when not ready: for the readiness endpoint and logs, never secret. */
  reason?: string | undefined;
}

/** Defaults for a store used before `start()`: OWASP's 30 min idle and 8 h absolute timeouts. */
export const DEFAULT_STORE_OPTIONS: Readonly<SessionStoreOptions & { maxSessionsPerUser: number }> = Object.freeze({
  idleTimeoutMs: 30 * 60_000,
  absoluteTimeoutMs: 8 * 3_600_000,
  touchIntervalMs: 60_000,
  maxSessionBytes: 64 * 1024,
  maxSessions: 100_000,
  maxSessionsPerUser: 50,
});

/**
 * The default `maxStoreBytes`: a quarter of V8's heap limit (`--max-old-space-size`, or what
 * Node chose from the machine's memory). The rest is for everything else the process holds: a
 * replicated store's writes from peers (always applied, even past the budget), request bodies in
 * flight, the app's own data, and the headroom V8's collector needs: near its limit it collects
 * again and again and the process stalls before it dies. Measured under
 * `--max-old-space-size=192` (heap limit 240 MB, budget 60 MB): 3,000 requests each storing 60 KB
 * in a new bound session leave the process serving (test/integration/memory-budget.test.ts).
 *
 * @example
 * ```ts
 * defaultMaxStoreBytes(); // 62_914_560 under node --max-old-space-size=192
 * ```
 */
export function defaultMaxStoreBytes(): number {
  return Math.floor(getHeapStatistics().heap_size_limit / 4);
}

/**
 * Check store options, filling gaps from `DEFAULT_STORE_OPTIONS`. Throws `NOVA_ERR_CONFIG`.
 *
 * @example
 * ```ts
 * async start(options) { this.options = checkStoreOptions(options); }
 * ```
 */
export function checkStoreOptions(options: Partial<SessionStoreOptions> = {}): CheckedStoreOptions {
  const merged = {
    ...DEFAULT_STORE_OPTIONS,
    ...options,
    maxSessionsPerUser: options.maxSessionsPerUser ?? DEFAULT_STORE_OPTIONS.maxSessionsPerUser,
    maxStoreBytes: options.maxStoreBytes ?? defaultMaxStoreBytes(),
  };
  for (const name of [
    'idleTimeoutMs',
    'absoluteTimeoutMs',
    'touchIntervalMs',
    'maxSessionBytes',
    'maxSessions',
    'maxSessionsPerUser',
    'maxStoreBytes',
  ] as const) {
    const v = merged[name];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
      throw errors.config(`session.${name}`, 'must be a positive whole number');
    }
  }
  if (merged.touchIntervalMs >= merged.idleTimeoutMs) {
    throw errors.config('session.touchIntervalMs', 'must be shorter than idleTimeoutMs, or sessions expire while in use');
  }
  if (merged.now !== undefined && typeof merged.now !== 'function') {
    throw errors.config('session.now', 'must be a function returning milliseconds');
  }
  if (merged.onExpired !== undefined && typeof merged.onExpired !== 'function') {
    throw errors.config('session.onExpired', 'must be a function');
  }
  return merged;
}

/** Store options after `checkStoreOptions`: every limit filled in. */
export type CheckedStoreOptions = SessionStoreOptions & { maxSessionsPerUser: number; maxStoreBytes: number };

/**
 * The error a store throws when its backend cannot be reached (HTTP 503). Keep the backend's
 * error as `cause` for logs; the message that may reach a client names no internals.
 *
 * @example
 * ```ts
 * try { await redis.hset(key, field, text); }
 * catch (err) { throw storeUnavailable('redis did not answer', err); }
 * ```
 */
export function storeUnavailable(reason: string, cause?: unknown): NovaError {
  const error = errors.sessionStoreUnavailable(reason);
  return cause === undefined ? error : withCause(error, cause);
}

/**
 * True for the error `storeUnavailable` makes, from any store.
 *
 * @example
 * ```ts
 * catch (err) { if (isStoreUnavailable(err)) return status(503); throw err; }
 * ```
 */
export function isStoreUnavailable(error: unknown): boolean {
  return error instanceof NovaError && error.code === errors.sessionStoreUnavailable.code;
}

/** Deep enough for any sane session value; deeper input would overflow the checker's stack. */
const MAX_DEPTH = 100;

/**
 * The problem with `value`, or undefined when it is JSON (`stack` holds the objects on the current
 * path: a repeat there is a cycle, while a repeat elsewhere is only shared data). Pub/sub checks
 * its messages with it too.
 *
 * @example
 * ```ts
 * jsonProblem(new Map(), 'the message', []); // 'the message is a Map, not a plain object'
 * ```
 */
export function jsonProblem(value: unknown, path: string, stack: object[] = []): string | undefined {
  return problemWith(value, path, stack);
}

function problemWith(value: unknown, path: string, stack: object[]): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : `${path} is ${value}, which JSON cannot hold`;
    case 'undefined':
      return `${path} is undefined, which JSON cannot hold (delete the key instead)`;
    case 'bigint':
    case 'symbol':
    case 'function':
      return `${path} is a ${typeof value}, which JSON cannot hold`;
  }
  if (value === null) return undefined;
  const object = value as object;
  if (stack.length >= MAX_DEPTH) return `${path} is nested more than ${MAX_DEPTH} levels deep`;
  if (stack.includes(object)) return `${path} refers back to itself (a cycle)`;
  stack.push(object);
  try {
    if (Array.isArray(object)) {
      if (Object.getPrototypeOf(object) !== Array.prototype) return `${path} is an instance of a subclass of Array`;
      for (let i = 0; i < object.length; i++) {
        if (!(i in object)) return `${path}[${i}] is a hole in a sparse array`;
        const problem = problemWith(object[i], `${path}[${i}]`, stack);
        if (problem !== undefined) return problem;
      }
      return undefined;
    }
    const proto = Object.getPrototypeOf(object) as object | null;
    if (proto !== Object.prototype && proto !== null) {
      const kind = (proto as { constructor?: { name?: unknown } }).constructor?.name;
      return `${path} is ${typeof kind === 'string' && kind !== '' ? `a ${kind}` : 'a class instance'}, not a plain object`;
    }
    for (const k of Object.keys(object)) {
      const v = (object as Record<string, unknown>)[k];
      // An own property holding undefined is an absent optional field (the Json type allows it);
      // it is dropped, as JSON.stringify drops it.
      if (v === undefined) continue;
      const problem = problemWith(v, `${path}.${k}`, stack);
      if (problem !== undefined) return problem;
    }
    return undefined;
  } finally {
    stack.pop();
  }
}

/**
 * Check that `value` is JSON and return its JSON text, which is what stores keep (a copy, so
 * later changes to `value` do not reach the store). Refused with `NOVA_ERR_SESSION_VALUE`, naming
 * the key: undefined, functions, bigint, symbols, NaN/Infinity, class instances (Date, Map, …),
 * sparse arrays and cycles.
 *
 * @example
 * ```ts
 * const text = encodeSessionValue('user', { name: 'alice' }); // '{"name":"alice"}'
 * encodeSessionValue('when', new Date() as never);            // throws NOVA_ERR_SESSION_VALUE
 * ```
 */
export function encodeSessionValue(key: string, value: unknown): string {
  if (typeof key !== 'string') throw errors.sessionValue(String(key), 'the key must be a string');
  const problem = problemWith(value, 'the value', []);
  if (problem !== undefined) throw errors.sessionValue(key, problem);
  return JSON.stringify(value);
}

/**
 * The bytes one key adds to a session, for `maxSessionBytes`: UTF-8 length of the key plus that
 * of its JSON text. Every store counts the same way, so a session fits in all of them or none.
 *
 * @example
 * ```ts
 * entryBytes('name', '"é"'); // 4 + 4
 * ```
 */
export function entryBytes(key: string, text: string): number {
  return Buffer.byteLength(key, 'utf8') + Buffer.byteLength(text, 'utf8');
}
