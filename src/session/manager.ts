import { randomBytes } from 'node:crypto';
import type { Logger, NovaConfig, SessionConfig } from '../config.js';
import type { Context } from '../context.js';
import { errors, NovaError } from '../errors.js';
import type { Json } from '../results/result.js';
import { cookieAttributes, cookieName, expireSessionCookie, readSessionCookie, writeSessionCookie } from './cookie.js';
import { generateSessionId } from './id.js';
import type { RequestSession } from './request-session.js';
import { sign, verify } from './signing.js';
import type { SessionStore, SessionStoreOptions } from './store.js';
import { memoryStore } from './stores/memory.js';

/**
 * Sessions for one app: the cookie step that runs first on every request (Nova's `nova_stream_h`)
 * and the operations behind the session API. Built by `createApp` from `config.session`.
 */
export class SessionManager {
  readonly store: SessionStore;
  readonly #config: SessionConfig;
  readonly #name: string;
  readonly #secrets: readonly string[];
  readonly #log: Logger;

  constructor(config: NovaConfig) {
    this.#config = config.session;
    this.#name = cookieName(config.session);
    this.#log = config.logger;
    this.store = config.session.store ?? memoryStore();
    if (config.session.secrets === undefined) {
      this.#secrets = [randomBytes(32).toString('base64url')];
      this.#log.warn(
        'nova-ts: no session secret configured (config.session.secrets); using a random one, so sessions will not survive a restart and nodes cannot share them',
      );
    } else {
      this.#secrets = config.session.secrets;
    }
  }

  /** Nova's start_link: start the store with the configured timeouts and limits. */
  async start(): Promise<void> {
    const c = this.#config;
    const options: SessionStoreOptions = {
      idleTimeoutMs: c.idleTimeout * 1000,
      absoluteTimeoutMs: c.absoluteTimeout * 1000,
      // Refreshing more rarely than a tenth of the idle timeout would make idle sessions expire early.
      touchIntervalMs: (c.touchInterval ?? Math.min(60, c.idleTimeout / 10)) * 1000,
      maxSessionBytes: c.maxSessionBytes,
      maxSessions: c.maxSessions,
    };
    await this.store.start?.(options);
  }

  async stop(): Promise<void> {
    await this.store.stop?.();
  }

  /**
   * The cookie step. A valid signed cookie gives this request its session id; anything else —
   * missing, malformed, oversized, tampered, unsigned, signed with an unknown secret, or sent
   * twice — is treated as absent: a fresh id is minted and the client's value is never adopted.
   * Nothing touches the store here (lazy storage).
   */
  begin(ctx: Context): void {
    const read = readSessionCookie(ctx.req.headers.cookie, this.#name);
    const id = read.kind === 'value' ? verify(read.value, this.#secrets) : undefined;
    if (id !== undefined) {
      ctx.session = { id, fresh: false, cookieSent: false, manager: this };
      return;
    }
    ctx.session = { id: generateSessionId(), fresh: true, cookieSent: false, manager: this };
    if (!this.#config.cookieOnWrite) this.#sendCookie(ctx, ctx.session);
  }

  async get(ctx: Context, key: string): Promise<Json | undefined> {
    const s = this.#session(ctx);
    // An id minted for this request has nothing stored yet: skip the store round trip.
    if (s.fresh) return undefined;
    return this.store.getValue(s.id, key);
  }

  async set(ctx: Context, key: string, value: Json): Promise<void> {
    const s = this.#session(ctx);
    try {
      await this.store.setValue(s.id, key, value);
    } catch (err) {
      // The session was logged out, rotated or expired meanwhile: never resurrect it, start a new one.
      if (!(err instanceof NovaError) || err.code !== 'NOVA_ERR_SESSION_GONE') throw err;
      this.#replaceId(ctx, s, generateSessionId());
      await this.store.setValue(s.id, key, value);
    }
    s.fresh = false;
    if (!s.cookieSent) this.#sendCookie(ctx, s);
  }

  async deleteKey(ctx: Context, key: string): Promise<void> {
    const s = this.#session(ctx);
    await this.store.deleteValue(s.id, key);
  }

  /** Delete the whole session server side and expire the cookie; later writes get a fresh session. */
  async deleteSession(ctx: Context): Promise<void> {
    const s = this.#session(ctx);
    await this.store.deleteValue(s.id);
    expireSessionCookie(ctx.res, this.#name, cookieAttributes(this.#config, ctx.secure));
    // The old id is dead; any write later in this request lands in a new session with its own cookie.
    s.id = generateSessionId();
    s.fresh = true;
    s.cookieSent = false;
  }

  /** New id, data kept, old id deleted, new cookie sent (session fixation defence at login). */
  async regenerate(ctx: Context): Promise<string> {
    const s = this.#session(ctx);
    const next = generateSessionId();
    await this.store.rotate(s.id, next);
    this.#replaceId(ctx, s, next);
    return next;
  }

  /** Make `id` this request's session and send its cookie (for ids made with `generateSessionId`). */
  adopt(ctx: Context, id: string): void {
    this.#replaceId(ctx, this.#session(ctx), id);
  }

  #replaceId(ctx: Context, s: RequestSession, id: string): void {
    s.id = id;
    s.fresh = false;
    this.#sendCookie(ctx, s);
  }

  #sendCookie(ctx: Context, s: RequestSession): void {
    writeSessionCookie(ctx.res, this.#name, sign(s.id, this.#secrets), cookieAttributes(this.#config, ctx.secure));
    s.cookieSent = true;
  }

  #session(ctx: Context): RequestSession {
    if (ctx.session === undefined) throw errors.sessionsDisabled();
    return ctx.session;
  }
}
