/**
 * Flash messages (Phoenix's `put_flash`, AdonisJS's `session.flash`): set in one request, read in
 * the next (or in the same one), then gone. All of a session's flash messages live under one
 * session key and are read with the store's atomic take, so of two concurrent requests exactly
 * one shows them (on the replicated store: at most once per node). A visitor whose session has
 * stored nothing costs no store access.
 */
import { Drop } from 'liquidjs';
import type { Context } from '../context.js';
import { errors } from '../errors.js';
import type { Json } from '../results/result.js';
import type { FlashInput, FlashKey, FlashMessages, FlashValue } from './session-data.js';

/** The session key flash messages are kept under. Session keys are free-form, so it is spelled to stand out. */
export const FLASH_KEY = '__nova_flash';

/**
 * A request's flash: what it will leave for the next request (messages it put, plus unread ones
 * it carried over from earlier requests), and what it took for itself (once).
 */
export interface FlashState {
  out: Promise<Record<string, Json>> | undefined;
  taken: Promise<Record<string, Json>> | undefined;
}

function state(ctx: Context): FlashState {
  if (ctx.session === undefined) throw errors.sessionsDisabled();
  ctx.session.flash ??= { out: undefined, taken: undefined };
  return ctx.session.flash;
}

function asMessages(value: Json | undefined): Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, Json>) : {};
}

function take(ctx: Context): Promise<Record<string, Json>> {
  const s = state(ctx);
  if (s.taken === undefined) {
    // What this request put before reading is written under the key being taken (after the
    // writes: they are chained on `out`), so it is shown now and the next request starts afresh.
    const written = s.out ?? Promise.resolve({});
    s.taken = written.then(() => ctx.session!.manager.take(ctx, FLASH_KEY)).then(asMessages);
    s.out = undefined;
  }
  return s.taken;
}

/**
 * Flash messages for the request in `ctx`. Views get them as `flash` without passing them:
 * `{% if flash.info %}<p>{{ flash.info }}</p>{% endif %}` (and only a view that reads `flash`
 * pays the store's take).
 *
 * @example
 * ```ts
 * export async function revokeOthers(ctx: Context) {
 *   const n = await session.revokeOthers(ctx);
 *   await flash.put(ctx, 'info', `Signed out ${n} other session(s).`);
 *   return redirect('/sessions');
 * }
 * ```
 */
export const flash = {
  /** Keep `value` under `key` for the next request that reads the flash (or this one, if it reads later). */
  async put<K extends FlashKey, V>(ctx: Context, key: K, value: FlashInput<K, V>): Promise<void> {
    const s = state(ctx);
    const manager = ctx.session!.manager;
    // The first put of a request takes the messages nobody has read yet, so that they are written
    // back with this one instead of being overwritten (a redirect chain keeps them all). After
    // this request read the flash itself, there is nothing left to carry.
    const before = s.out ?? (s.taken === undefined ? manager.take(ctx, FLASH_KEY).then(asMessages) : Promise.resolve({}));
    s.out = before.then(async (messages) => {
      const next = { ...messages, [key]: value as Json };
      await manager.set(ctx, FLASH_KEY, next);
      return next;
    });
    await s.out;
  },

  /** The message under `key`, if any; reading takes every message of the session (they are shown once). */
  async get<K extends FlashKey>(ctx: Context, key: K): Promise<FlashValue<K> | undefined> {
    return (await take(ctx))[key] as FlashValue<K> | undefined;
  },

  /** Every flash message, taken: a second call in the same request gets the same object, the next request none. */
  async all(ctx: Context): Promise<FlashMessages> {
    return (await take(ctx)) as FlashMessages;
  },
};

/**
 * The `flash` variable of views: a Liquid drop that takes the messages only when a template reads
 * one, so pages that never mention `flash` cost nothing.
 */
export class FlashDrop extends Drop {
  readonly #ctx: Context;

  constructor(ctx: Context) {
    super();
    this.#ctx = ctx;
  }

  override liquidMethodMissing(key: string): Promise<Json | undefined> {
    return take(this.#ctx).then((messages) => (Object.hasOwn(messages, key) ? messages[key] : undefined));
  }
}
