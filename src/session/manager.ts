import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { NovaConfig, SessionConfig } from '../config.js';
import type { Context } from '../context.js';
import { errors, NovaError } from '../errors.js';
import type { NodeResponse } from '../node-http.js';
import type { Reply } from '../results/reply.js';
import type { Json } from '../results/result.js';
import { keepOutOfSharedCaches } from './cache-safety.js';
import { readSessionCookie, SessionCookieWriter } from './cookie.js';
import { SessionEvents, type SessionEvent } from './events.js';
import { generateSessionId, isWellFormedId } from './id.js';
import { hashSessionId } from './id-hash.js';
import type { RequestSession } from './request-session.js';
import { macsOf, sessionSecrets, sign, verify, type SessionSecrets } from './signing.js';
import { defaultMaxStoreBytes, type SessionStore, type SessionStoreOptions } from './store.js';
import { sessionStoreFrom } from './store-spec.js';
import { withFeature, type SessionOwner } from './users.js';
import { VerifiedCookies, verifiedCookieLimit } from './verified-cookies.js';

/**
 * Sessions for one app: the cookie step that runs first on every request (Nova's `nova_stream_h`),
 * the operations behind the session API, and the `Set-Cookie` written once the reply is known.
 * Built by `createApp` from `config.session`.
 */
export class SessionManager {
  readonly store: SessionStore;
  readonly #config: SessionConfig;
  readonly #cookie: SessionCookieWriter;
  readonly #secrets: SessionSecrets;
  readonly #verified: VerifiedCookies;
  /** Session events: the app's `onEvent` hook and the storm summary. */
  readonly events: SessionEvents;

  /** Record the client address with a user's sessions (`session.recordClientAddress`). */
  readonly recordClientAddress: boolean;

  constructor(config: NovaConfig) {
    this.#config = config.session;
    this.recordClientAddress = config.session.recordClientAddress;
    this.events = new SessionEvents(config.logger, config.session.onEvent);
    this.#cookie = new SessionCookieWriter(config.session);
    this.#verified = new VerifiedCookies(verifiedCookieLimit(config.session.maxSessions, config.session.maxStoreBytes ?? defaultMaxStoreBytes()));
    this.store = sessionStoreFrom(config.session, (message) => config.logger.warn(message));
    if (config.session.secrets === undefined) {
      this.#secrets = sessionSecrets([randomBytes(32).toString('base64url')]);
      config.logger.warn(
        'nova-ts: no session secret configured (config.session.secrets); using a random one, so sessions will not survive a restart and nodes cannot share them',
      );
    } else {
      this.#secrets = sessionSecrets(config.session.secrets);
    }
  }

  /** Nova's start_link: start the store with the configured timeouts and limits. */
  async start(): Promise<void> {
    const c = this.#config;
    // Timeouts are configured in seconds and may be fractional; stores take whole milliseconds.
    const ms = (seconds: number) => Math.max(1, Math.round(seconds * 1000));
    const options: SessionStoreOptions = {
      idleTimeoutMs: ms(c.idleTimeout),
      absoluteTimeoutMs: ms(c.absoluteTimeout),
      // Refreshing more rarely than a tenth of the idle timeout would make idle sessions expire early.
      touchIntervalMs: ms(c.touchInterval ?? Math.min(60, c.idleTimeout / 10)),
      maxSessionBytes: c.maxSessionBytes,
      maxSessions: c.maxSessions,
      ...(c.maxStoreBytes !== undefined ? { maxStoreBytes: c.maxStoreBytes } : {}),
      maxSessionsPerUser: c.maxSessionsPerUser,
      onExpired: (sessionHash, userId) => this.events.emit({ type: 'expired', at: Date.now(), sessionHash, userId, correlationId: undefined }),
    };
    await this.store.start?.(options);
  }

  /** Cookie values held as verified, in both generations of the cache (for monitoring and tests). */
  get verifiedCookieCount(): number {
    return this.#verified.size;
  }

  async stop(): Promise<void> {
    this.events.flush();
    await this.store.stop?.();
  }

  /**
   * The cookie step. A valid signed cookie gives this request its session id; anything else —
   * missing, malformed, oversized, tampered, unsigned, signed with an unknown secret, or sent
   * twice — is treated as absent: a fresh id is minted and the client's value is never adopted.
   * Nothing touches the store here (lazy storage).
   */
  begin(ctx: Context): void {
    const read = readSessionCookie(ctx.req.headers.cookie, this.#cookie.name);
    const id = read.kind === 'value' ? this.#verify(read.value) : undefined;
    const invalidCookie = read.kind === 'duplicate' || (read.kind === 'value' && id === undefined);
    // Every field is set here, in one order, so all request sessions share one hidden class.
    ctx.session =
      id !== undefined
        ? { id, fresh: false, stored: true, cookie: 'keep', bound: false, used: false, invalidCookie, owner: undefined, flash: undefined, manager: this }
        : {
            id: generateSessionId(),
            fresh: true,
            stored: false,
            cookie: this.#config.cookieOnWrite ? 'keep' : 'send',
            bound: false,
            used: false,
            invalidCookie,
            owner: undefined,
            flash: undefined,
            manager: this,
          };
  }

  /**
   * Put this request's session cookie on the response, once, with the id it ended with: so a
   * login that mints an id and then regenerates it signs and sends one cookie, not two. A
   * response that sets the cookie, carries a value bound to the session (a CSRF token), or comes
   * from a request that read or wrote the session is kept out of shared caches, whatever the
   * controller asked for short of a private policy: the cached copy would hand one visitor's
   * session, page or token to the next.
   */
  finish(ctx: Context, reply: Reply): void {
    const s = ctx.session;
    // Reported here rather than when the cookie was read, so the event has the correlation id.
    if (s?.invalidCookie === true) this.emit(ctx, 'invalid-cookie', { sessionHash: undefined });
    if (s === undefined || (s.cookie === 'keep' && !s.bound && !s.used)) return;
    if (s.cookie === 'send') {
      const value = sign(s.id, this.#secrets);
      // A session with something stored (a login): its next request skips the HMAC. Not a fresh
      // visitor's empty one, which a client that never returns cookies would mint by the million.
      if (s.stored) this.#verified.remember(value, s.id);
      appendSetCookie(ctx.res, this.#cookie.line(value, ctx.secure));
    } else if (s.cookie === 'expire') {
      appendSetCookie(ctx.res, this.#cookie.expiredLine(ctx.secure));
    }
    // A cookie minted for a visitor who has not used it yet changes nothing else in the page: no `Vary`.
    keepOutOfSharedCaches(ctx.res, reply, s.used || s.bound);
  }

  get(ctx: Context, key: string): Promise<Json | undefined> {
    const s = this.#session(ctx);
    // An id with nothing stored yet (minted for this request): skip the store round trip.
    if (!s.stored) return Promise.resolve(undefined);
    s.used = true;
    return this.store.getValue(s.id, key);
  }

  set(ctx: Context, key: string, value: Json): Promise<void> {
    return this.write(ctx, (id) => this.store.setValue(id, key, value));
  }

  /**
   * Run a store write for this request's session: a dead id (logged out, rotated or expired
   * meanwhile) is never resurrected, the write moves to a new session; the first write to a
   * minted id sends its cookie and is the session's `created` event.
   */
  async write<T>(ctx: Context, op: (id: string) => Promise<T>): Promise<T> {
    const s = this.#session(ctx);
    s.used = true;
    let result: T;
    try {
      result = await this.#refusingFull(ctx, op(s.id));
    } catch (err) {
      if (!isGone(err)) throw err;
      this.#replaceId(s, generateSessionId());
      s.stored = false;
      s.owner = undefined;
      result = await this.#refusingFull(ctx, op(s.id));
    }
    // With `cookieOnWrite`, or after a delete in this request (whose expiring cookie would
    // otherwise orphan the new session), the first write is what sends the cookie.
    if (s.fresh && s.cookie !== 'send') s.cookie = 'send';
    s.fresh = false;
    if (!s.stored) {
      s.stored = true;
      this.emit(ctx, 'created');
    }
    return result;
  }

  async #refusingFull<T>(ctx: Context, write: Promise<T>): Promise<T> {
    try {
      return await write;
    } catch (err) {
      if (err instanceof NovaError && err.code === errors.sessionStoreFull.code) this.emit(ctx, 'store-full');
      throw err;
    }
  }

  /** Read and delete `key` in one step (flash). A session that has stored nothing costs no store access. */
  take(ctx: Context, key: string): Promise<Json | undefined> {
    const s = this.#session(ctx);
    if (!s.stored) return Promise.resolve(undefined);
    s.used = true;
    return withFeature(this.store, 'takeValue').takeValue(s.id, key);
  }

  /** The user this request's session is tied to, looked up once per request. */
  owner(ctx: Context): Promise<SessionOwner | undefined> {
    const s = this.#session(ctx);
    if (!s.stored) return Promise.resolve(undefined);
    s.used = true;
    s.owner ??= withFeature(this.store, 'userOf').userOf(s.id);
    return s.owner;
  }

  /** Forget the cached owner (after the session was bound, rotated or ended). */
  forgetOwner(ctx: Context, owner?: SessionOwner): void {
    this.#session(ctx).owner = owner === undefined ? undefined : Promise.resolve(owner);
  }

  /**
   * Report a session event for this request. The id is hashed only when a hook listens: the
   * storm summary needs counts, not ids.
   */
  emit(ctx: Context, type: SessionEvent['type'], extra: Partial<SessionEvent> = {}): void {
    const events = this.events;
    if (!events.wanted && type !== 'invalid-cookie' && type !== 'store-full' && type !== 'csrf-refused') return;
    const s = ctx.session;
    events.emit({
      type,
      at: Date.now(),
      sessionHash: events.wanted && s !== undefined ? hashSessionId(s.id) : undefined,
      userId: undefined,
      correlationId: ctx.correlationId,
      ...extra,
    });
  }

  async deleteKey(ctx: Context, key: string): Promise<void> {
    const s = this.#session(ctx);
    s.used = true;
    if (s.stored) await this.store.deleteValue(s.id, key);
  }

  /** Delete the whole session server side and expire the cookie; later writes get a fresh session. */
  async deleteSession(ctx: Context): Promise<void> {
    const s = this.#session(ctx);
    if (s.stored) {
      // The user is looked up only for a listening hook: a logout otherwise costs one store call.
      const owner = this.events.wanted && typeof this.store.userOf === 'function' ? await this.owner(ctx) : undefined;
      await this.store.deleteValue(s.id);
      this.emit(ctx, 'logged-out', { userId: owner?.userId });
    }
    this.forgetSession(ctx);
  }

  /** The request's id is dead: a write later in this request lands in a new session with its own cookie. */
  forgetSession(ctx: Context): void {
    const s = this.#session(ctx);
    s.id = generateSessionId();
    s.fresh = true;
    s.stored = false;
    s.owner = undefined;
    s.cookie = 'expire';
    s.used = true;
  }

  /** New id, data kept, old id deleted, new cookie sent (session fixation defence at login). */
  async regenerate(ctx: Context): Promise<string> {
    const s = this.#session(ctx);
    s.used = true;
    const next = generateSessionId();
    let stored = s.stored;
    try {
      // Rotation keeps the old id as a tombstone: a growing write, refused like one by a full store.
      if (s.stored) await this.#refusingFull(ctx, this.store.rotate(s.id, next));
    } catch (err) {
      // The old session ended meanwhile: there is nothing to carry over, the new id starts empty.
      if (!isGone(err)) throw err;
      stored = false;
    }
    const before = this.events.wanted && stored ? hashSessionId(s.id) : undefined;
    this.#replaceId(s, next);
    s.stored = stored;
    if (stored) this.emit(ctx, 'rotated', { previousHash: before });
    return next;
  }

  /** Make `id` this request's session and send its cookie (for ids made with `generateSessionId`). */
  adopt(ctx: Context, id: string): void {
    // Checked here, where the caller can see it, rather than when the cookie is signed at the end.
    if (!isWellFormedId(id)) throw errors.sessionIdInvalid('adopt() takes ids from generateSessionId()');
    const s = this.#session(ctx);
    this.#replaceId(s, id);
    s.used = true;
    s.stored = true; // written through the store directly, as Nova's login flow does
    this.emit(ctx, 'created');
  }

  /**
   * A MAC tying `purpose` to this request's session id (CSRF tokens): it changes whenever the id
   * does — regenerate at login, delete at logout — and needs no store write, so an anonymous
   * visitor's form stores nothing. The id must reach the client for the MAC to mean anything
   * later, so a minted id's cookie is sent even when nothing is written (`cookieOnWrite`).
   */
  bindToSession(ctx: Context, purpose: string): Buffer {
    const s = this.#session(ctx);
    if (s.fresh) s.cookie = 'send';
    s.bound = true;
    return macsOf(`${purpose}\n${s.id}`, this.#secrets)[0] as Buffer;
  }

  /** Whether `given` is `bindToSession(ctx, purpose)` under any configured secret, compared in constant time. */
  isBoundToSession(ctx: Context, purpose: string, given: Buffer): boolean {
    const s = this.#session(ctx);
    if (s.stored) s.used = true;
    let match = false;
    for (const mac of macsOf(`${purpose}\n${s.id}`, this.#secrets)) {
      if (mac.length === given.length && timingSafeEqual(mac, given)) match = true;
    }
    return match;
  }

  #replaceId(s: RequestSession, id: string): void {
    s.id = id;
    s.fresh = false;
    s.cookie = 'send';
    // The owner follows the data: a rotation keeps it (the store moves the binding), so the cached
    // lookup stays valid; a new empty session has none, which `write` sets up again on its own.
  }

  #verify(value: string): string | undefined {
    const known = this.#verified.get(value);
    if (known !== undefined) return known;
    const id = verify(value, this.#secrets);
    // The copy, not `id`: that is a slice of the Cookie header, and a store keeping it as a key
    // would keep the whole header alive for the session's life.
    return id === undefined ? undefined : this.#verified.add(value, id);
  }

  #session(ctx: Context): RequestSession {
    if (ctx.session === undefined) throw errors.sessionsDisabled();
    return ctx.session;
  }
}

function isGone(err: unknown): boolean {
  return err instanceof NovaError && err.code === errors.sessionGone.code;
}

function appendSetCookie(res: NodeResponse, line: string): void {
  const existing = res.getHeader('set-cookie');
  if (existing === undefined) res.setHeader('set-cookie', line);
  else res.appendHeader('set-cookie', line);
}
