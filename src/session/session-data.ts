/**
 * Typed session data. An app declares the shape of its sessions once, by module augmentation,
 * and every `session.get`/`set`/`delete` and `flash` call is checked against it:
 *
 * ```ts
 * declare module 'nova-ts' {
 *   interface SessionData { username: string; cart: { sku: string; qty: number }[] }
 *   interface FlashData { info: string; error: string }
 * }
 * ```
 *
 * With no declaration, any string key and any JSON value are allowed. The value types here are
 * checked for JSON shape structurally, so `interface`s work as values (the `Json` type's index
 * signature admits only `type` aliases).
 */
import type { Json } from '../results/result.js';

/** Augment to type the session: `declare module 'nova-ts' { interface SessionData { username: string } }`. */
// biome-ignore lint/suspicious/noEmptyInterface: an interface, not a type, so that apps can augment it by declaration merging
export interface SessionData {}

/** Augment to type flash messages: `declare module 'nova-ts' { interface FlashData { info: string } }`. */
// biome-ignore lint/suspicious/noEmptyInterface: an interface, not a type, so that apps can augment it by declaration merging
export interface FlashData {}

type Declared<T> = keyof T extends never ? false : true;

/** `T` when it can be stored as JSON, else `never` (functions, Dates, Maps, bigint, undefined at top level). */
export type JsonShaped<T> = T extends string | number | boolean | null
  ? T
  : T extends bigint | symbol | undefined | ((...args: never[]) => unknown)
    ? never
    : T extends readonly (infer U)[]
      ? T & readonly JsonShaped<U>[]
      : T extends Date | Map<unknown, unknown> | Set<unknown> | RegExp | Promise<unknown>
        ? never
        : T extends object
          ? { [K in keyof T]: K extends string ? (undefined extends T[K] ? JsonShaped<Exclude<T[K], undefined>> | undefined : JsonShaped<T[K]>) : never }
          : never;

/** The keys a session may hold: those of `SessionData`, or any string when it is not declared. */
export type SessionKey = Declared<SessionData> extends true ? Extract<keyof SessionData, string> : string;
/** The value stored under `K`. */
export type SessionValue<K extends string> = Declared<SessionData> extends true ? (K extends keyof SessionData ? SessionData[K] : never) : Json;

/** The flash keys: those of `FlashData`, or any string. */
export type FlashKey = Declared<FlashData> extends true ? Extract<keyof FlashData, string> : string;
/** The value of flash `K`. */
export type FlashValue<K extends string> = Declared<FlashData> extends true ? (K extends keyof FlashData ? FlashData[K] : never) : Json;
/** Every flash message of a request. */
export type FlashMessages = Declared<FlashData> extends true ? Partial<FlashData> : Record<string, Json>;

/**
 * What `set` accepts for `K`: the declared type, or, undeclared, any value of JSON shape (an
 * interface included); the inferred `V` keeps the caller's own type for the check.
 */
export type SessionInput<K extends string, V> = Declared<SessionData> extends true ? SessionValue<K> : V & JsonShaped<V>;
export type FlashInput<K extends string, V> = Declared<FlashData> extends true ? FlashValue<K> : V & JsonShaped<V>;

/**
 * `session.get`'s signature. Declared: the key picks the type. Undeclared: any key, `Json` back,
 * or the type the caller names (`session.get<Cart>(ctx, 'cart')`, as before typed data existed).
 */
export type SessionGetter<C> =
  Declared<SessionData> extends true
    ? <K extends SessionKey>(ctx: C, key: K) => Promise<SessionValue<K> | undefined>
    : <T = Json>(ctx: C, key: string) => Promise<T | undefined>;

/**
 * `session.set`'s signature. Declared: the key picks the type. Undeclared: any `Json` (so a
 * generic `T extends Json` passes through), or any value of JSON shape, interfaces included.
 */
export type SessionSetter<C> =
  Declared<SessionData> extends true
    ? <K extends SessionKey>(ctx: C, key: K, value: SessionValue<K>) => Promise<void>
    : { (ctx: C, key: string, value: Json): Promise<void>; <V>(ctx: C, key: string, value: V & JsonShaped<V>): Promise<void> };
