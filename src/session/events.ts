/**
 * Session events: one hook that hears every session's life — created, rotated, logged out,
 * revoked, expired — and the refusals around it: an invalid cookie, a full store, a CSRF failure.
 * Nothing here logs per request. A flood of bad cookies or a full store would otherwise flood
 * the log too, so those two are counted and summarised at most once a minute.
 */
import type { Logger } from '../config.js';

/** What happened. */
export type SessionEventType = 'created' | 'rotated' | 'logged-out' | 'revoked' | 'expired' | 'invalid-cookie' | 'store-full' | 'csrf-refused';

/**
 * One session event. `sessionHash` is `hashSessionId(id)` of the session the event is about (for
 * `revoked`, of the session that asked), never the id itself: logs must not hold credentials.
 */
export interface SessionEvent {
  readonly type: SessionEventType;
  /** Milliseconds since the epoch. */
  readonly at: number;
  readonly sessionHash: string | undefined;
  /** The user the session is tied to, when known (see `session.bindUser`). */
  readonly userId: string | undefined;
  /** The request's correlation id (the `correlationId()` plugin); absent for store-side expiry. */
  readonly correlationId: string | undefined;
  /** `rotated`: the hashed id the session had before. */
  readonly previousHash?: string | undefined;
  /** `revoked`: how many sessions ended. */
  readonly count?: number;
  /** `revoked`: which sessions: one by handle, all others, or all. */
  readonly scope?: 'one' | 'others' | 'all';
}

/** The hook in `config.session.onEvent`. It must not throw; if it does, the error is logged once a minute. */
export type SessionEventHook = (event: SessionEvent) => void;

const SUMMARY_MS = 60_000;
const STORMY = new Set<SessionEventType>(['invalid-cookie', 'store-full', 'csrf-refused']);

/**
 * Delivers events to the app's hook and keeps the storm summary: the counts of invalid cookies,
 * store-full refusals (new sessions, growing writes, rotations) and CSRF refusals, logged as one `warn` line per minute in which any
 * happened.
 *
 * @example
 * ```ts
 * const events = new SessionEvents(console, (e) => audit.write(e));
 * events.emit({ type: 'logged-out', at: Date.now(), sessionHash, userId: 'ada', correlationId });
 * ```
 */
export class SessionEvents {
  readonly #log: Logger;
  readonly #hook: SessionEventHook | undefined;
  #counts = new Map<SessionEventType, number>();
  #timer: NodeJS.Timeout | undefined;
  #hookFailed = 0;

  constructor(
    log: Logger,
    hook: SessionEventHook | undefined,
    readonly summaryMs = SUMMARY_MS,
  ) {
    this.#log = log;
    this.#hook = hook;
  }

  /** True when someone listens to single events: only then is it worth hashing ids for them. */
  get wanted(): boolean {
    return this.#hook !== undefined;
  }

  emit(event: SessionEvent): void {
    if (STORMY.has(event.type)) this.#count(event.type);
    if (this.#hook === undefined) return;
    try {
      this.#hook(event);
    } catch (err) {
      if (this.#hookFailed++ === 0) this.#log.error('nova-ts: the session.onEvent hook threw (reported once a minute)', err);
      this.#schedule();
    }
  }

  /** Log what is counted now and stop the timer (app shutdown). */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#report();
  }

  #count(type: SessionEventType): void {
    this.#counts.set(type, (this.#counts.get(type) ?? 0) + 1);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#report();
    }, this.summaryMs).unref();
  }

  #report(): void {
    const parts: string[] = [];
    const n = (type: SessionEventType) => this.#counts.get(type) ?? 0;
    if (n('invalid-cookie') > 0) parts.push(`${n('invalid-cookie')} invalid session cookie(s) replaced`);
    if (n('store-full') > 0) parts.push(`${n('store-full')} session write(s) refused: the store is full`);
    if (n('csrf-refused') > 0) parts.push(`${n('csrf-refused')} request(s) refused by the csrf plugin`);
    if (this.#hookFailed > 1) parts.push(`the onEvent hook threw ${this.#hookFailed - 1} more time(s)`);
    this.#counts = new Map();
    this.#hookFailed = 0;
    if (parts.length > 0) this.#log.warn(`nova-ts sessions, last ${Math.round(this.summaryMs / 1000)} s: ${parts.join('; ')}`);
  }
}
