/**
 * Cutting replication traffic into messages. A message's budget stays well under NATS's default
 * 1 MiB payload limit (MAX_FRAME_BYTES). One op or record is at most a session's size
 * (`maxSessionBytes`, 64 KiB by default) plus its stamps, so messages are cut by estimated size,
 * not by count.
 */
export const MESSAGE_BUDGET = 256 * 1024;

/** Roughly the JSON length of an op or record: its strings, plus room for numbers and quoting. */
export function weight(value: unknown): number {
  if (typeof value === 'string') return value.length + 8;
  if (Array.isArray(value)) {
    let sum = 4;
    for (const item of value) sum += weight(item);
    return sum;
  }
  return 24;
}

/**
 * Cut `items` into runs whose estimated size stays within `budget`, lazily, so a state transfer
 * holds one message at a time.
 *
 * @example
 * ```ts
 * for (const run of batches(ops)) await bus.publish('sessions', { ops: run });
 * ```
 */
export function* batches<T>(items: Iterable<T>, budget = MESSAGE_BUDGET): Generator<T[]> {
  let run: T[] = [];
  let size = 0;
  for (const item of items) {
    const w = weight(item);
    if (run.length > 0 && size + w > budget) {
      yield run;
      run = [];
      size = 0;
    }
    run.push(item);
    size += w;
  }
  if (run.length > 0) yield run;
}
