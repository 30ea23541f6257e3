/**
 * What the replicated store counts against `maxStoreBytes`: the heap each record takes, estimated
 * as in the memory store (`../stores/memory-bytes.ts`) and kept as a running total by
 * `ReplicaState`. Records here hold more than the memory store's entries (a stamp per key, a map
 * of keys, the binding as it travels, the facts revocations need), so the constants are larger.
 * Measured on Node 20, 64-bit, with 20,000 records (heap after GC divided by count), rounded up.
 */
import { heapOf } from '../stores/memory-bytes.js';
import type { SessionRecord } from './records.js';

/** One id, live or a tombstone: the record, its key map, its hashed id, its slots (measured ~450 with one small key). */
export const RECORD_BYTES = 448;
/** One key beyond its key and text strings: the map entry and the stamped field object (measured ~90). */
export const REPLICA_FIELD_BYTES = 128;
/** A binding and the index entries it makes (per-user sets, the op that carried it), beyond its strings (measured ~670). */
export const REPLICA_BINDING_BYTES = 672;
/** One fact a revocation is checked against, beyond its user id (part of the ~670 above). */
export const FACT_BYTES = 80;

/** The heap one key takes in a record (its text `null` when deleted: only the stamp is kept). */
export function fieldBytes(key: string, text: string | null): number {
  return REPLICA_FIELD_BYTES + heapOf(key) + (text === null ? 0 : heapOf(text));
}

/** The heap a record's binding and facts take. */
export function metaBytes(record: SessionRecord): number {
  let bytes = 0;
  const b = record.binding;
  if (b !== undefined) bytes += REPLICA_BINDING_BYTES + heapOf(b[0]) + heapOf(b[3] ?? undefined) + heapOf(b[4] ?? undefined);
  for (const fact of record.facts) bytes += FACT_BYTES + heapOf(fact[0]);
  return bytes;
}
