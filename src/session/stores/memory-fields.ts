/**
 * The memory store's record of one session id, and how its keys are kept inside it: the layout
 * is chosen for heap per session, which is what limits how many sessions one process holds.
 */
import type { Binding } from './memory-users.js';

/** One id's record. `alive === false` makes it a tombstone: the id is dead and stays dead. */
export interface Entry {
  id: string;
  readonly created: number;
  /**
   * When the session was last seen, in milliseconds after `created` (`lastSeen` gives the time): an
   * offset stays below 2^31 while sessions live under 24 days, so V8 keeps it as a small integer
   * in the entry. A time since 1970 would be a double, which V8 keeps boxed: 16 more bytes a session.
   */
  seen: number;
  alive: boolean;
  // Values are kept as JSON text: encoding is needed anyway to check and size them, and
  // JSON.parse on the way out is the cheapest copy. Measured on Node 20 for small values
  // ("alice", {user, roles[2], n}, a 10-item cart): JSON.parse 0.2/0.9/4.6 µs against
  // structuredClone 0.6/3.7/15.6 µs.
  //
  // The first key lives in the entry itself; most sessions hold one or two keys, and an array
  // for them would cost every read two more memory fetches (the array and its elements) and
  // every session ~40 bytes of heap. `key === undefined` is an empty slot, and then `more` is
  // empty too: removing the first key moves another into its place.
  key: string | undefined;
  text: string | undefined;
  more: Fields | undefined;
  /** The UTF-8 bytes of its keys and values, for `maxSessionBytes` (their heap is `fieldsHeap`). */
  bytes: number;
  // Everything about the user in one optional object, so a session nobody logged into pays one
  // pointer for the feature, not five fields.
  bound: Binding | undefined;
}

/**
 * Keys after the first and their JSON texts, flat: `[key1, text1, key2, text2, …]`. Sessions
 * hold a handful of keys, where a scan is as quick as hashing, and a Map costs ~190 bytes of heap
 * against ~50 for this array. `maxSessionBytes` bounds the scan.
 */
type Fields = string[];

/** When `e` was last seen, in the store's clock. */
export function lastSeen(e: Entry): number {
  return e.created + e.seen;
}

function fieldIndex(fields: Fields, key: string): number {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === key) return i;
  return -1;
}

/** The JSON text stored under `key`, if any. */
export function readField(e: Entry, key: string): string | undefined {
  if (e.key === key) return e.text;
  if (e.more === undefined) return undefined;
  const i = fieldIndex(e.more, key);
  return i === -1 ? undefined : e.more[i + 1];
}

/** Store `text` under `key`; the caller has checked the size with the old text `readField` gave. */
export function writeField(e: Entry, key: string, text: string): void {
  if (e.key === key || e.key === undefined) {
    e.key = key;
    e.text = text;
    return;
  }
  const i = e.more === undefined ? -1 : fieldIndex(e.more, key);
  if (i !== -1) (e.more as Fields)[i + 1] = text;
  else if (e.more === undefined) e.more = [key, text];
  else e.more.push(key, text);
}

/** Remove `key`; returns its text, if it had one. */
export function removeField(e: Entry, key: string): string | undefined {
  if (e.key === key) {
    const old = e.text;
    // Keep the slot filled while other keys exist, so a write finding it empty knows the key is new.
    const lastText = e.more?.pop();
    const lastKey = e.more?.pop();
    e.key = lastKey;
    e.text = lastText;
    if (e.more?.length === 0) e.more = undefined;
    return old;
  }
  const i = e.more === undefined ? -1 : fieldIndex(e.more, key);
  if (i === -1) return undefined;
  return (e.more as Fields).splice(i, 2)[1];
}
