import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { NovaConfig, SessionConfig } from '../config.js';
import type { Context } from '../context.js';
import { errors, NovaError } from '../errors.js';
import type { Reply } from '../results/reply.js';
import type { Json } from '../results/result.js';
import { readSessionCookie, SessionCookieWriter } from './cookie.js';
import { generateSessionId, isWellFormedId } from './id.js';
import type { RequestSession } from './request-session.js';
import { macsOf, sessionSecrets, sign, verify, type SessionSecrets } from './signing.js';
import type { SessionStore, SessionStoreOptions } from './store.js';
import { memoryStore } from './stores/memory.js';
import { VerifiedCookies } from './verified-cookies.js';

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
  readonly #verified = new VerifiedCookies();

  constructor(config: NovaConfig) {
    this.#config = config.session;
    this.#cookie = new SessionCookieWriter(config.session);
    this.store = config.session.store ?? memoryStore();
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
    const read = readSessionCookie(ctx.req.headers.cookie, this.#cookie.name);
    const id = read.kind === 'value' ? this.#verify(read.value) : undefined;
    ctx.session =
      id !== undefined
        ? { id, fresh: false, cookie: 'keep', bound: false, manager: this }
        : { id: generateSessionId(), fresh: true, cookie: this.#config.cookieOnWrite ? 'keep' : 'send', bound: false, manager: this };
  }

  /**
   * Put this request's session cookie on the response, once, with the id it ended with: so a
   * login that mints an id and then regenerates it signs and sends one cookie, not two.
   */
  finish(ctx: Context, reply: Reply): void {
    const s = ctx.session;
    if (s === undefined || (s.cookie === 'keep' && !s.bound)) return;
    if (s.cookie !== 'keep') {
      const line = s.cookie === 'send' ? this.#cookie.line(sign(s.id, this.#secrets), ctx.secure) : this.#cookie.expiredLine(ctx.secure);
      appendSetCookie(ctx.res, line);
    }
    // A response that sets the session cookie, or carries a value bound to the session (a CSRF
    // token), must never be kept by a shared cache, whatever the controller asked for: the cached
    // copy would hand one visitor's session, or token, to the next.
    const asked = String(reply.headers['cache-control'] ?? ctx.res.getHeader('cache-control') ?? '');
    if (asked === '') reply.headers['cache-control'] = 'no-store';
    else if (/\bpublic\b|s-maxage/i.test(asked)) reply.headers['cache-control'] = 'private, no-store';
  }

  get(ctx: Context, key: string): Promise<Json | undefined> {
    const s = this.#session(ctx);
    // An id minted for this request has nothing stored yet: skip the store round trip.
    if (s.fresh) return Promise.resolve(undefined);
    return this.store.getValue(s.id, key);
  }

  async set(ctx: Context, key: string, value: Json): Promise<void> {
    const s = this.#session(ctx);
    try {
      await this.store.setValue(s.id, key, value);
    } catch (err) {
      // The session was logged out, rotated or expired meanwhile: never resurrect it, start a new one.
      if (!isGone(err)) throw err;
      this.#replaceId(s, generateSessionId());
      await this.store.setValue(s.id, key, value);
    }
    // The first write to a minted id sends its cookie: with `cookieOnWrite`, or after a delete in
    // this request (whose expiring cookie would otherwise orphan the new session).
    if (s.fresh && s.cookie !== 'send') s.cookie = 'send';
    s.fresh = false;
  }

  async deleteKey(ctx: Context, key: string): Promise<void> {
    const s = this.#session(ctx);
    if (!s.fresh) await this.store.deleteValue(s.id, key);
  }

  /** Delete the whole session server side and expire the cookie; later writes get a fresh session. */
  async deleteSession(ctx: Context): Promise<void> {
    const s = this.#session(ctx);
    if (!s.fresh) await this.store.deleteValue(s.id);
    // The old id is dead; a write later in this request lands in a new session with its own cookie.
    s.id = generateSessionId();
    s.fresh = true;
    s.cookie = 'expire';
  }

  /** New id, data kept, old id deleted, new cookie sent (session fixation defence at login). */
  async regenerate(ctx: Context): Promise<string> {
    const s = this.#session(ctx);
    const next = generateSessionId();
    try {
      if (!s.fresh) await this.store.rotate(s.id, next);
    } catch (err) {
      // The old session ended meanwhile: there is nothing to carry over, the new id starts empty.
      if (!isGone(err)) throw err;
    }
    this.#replaceId(s, next);
    return next;
  }

  /** Make `id` this request's session and send its cookie (for ids made with `generateSessionId`). */
  adopt(ctx: Context, id: string): void {
    // Checked here, where the caller can see it, rather than when the cookie is signed at the end.
    if (!isWellFormedId(id)) throw errors.sessionIdInvalid('adopt() takes ids from generateSessionId()');
    this.#replaceId(this.#session(ctx), id);
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

function appendSetCookie(res: ServerResponse, line: string): void {
  const existing = res.getHeader('set-cookie');
  if (existing === undefined) res.setHeader('set-cookie', line);
  else res.appendHeader('set-cookie', line);
}
