/**
 * The memory store's id → session map, split into shards so that no single Map ever grows big
 * enough for a rehash to stall the event loop.
 */

// Split for the same reason as TimeQueue: 256 maps of ~4k entries each rehash in microseconds;
// one map of a million stalls (measured: ~190 ms worst delete batch with one map, ~20 ms with
// 256, during a synchronous million-entry delete loop).
const SHARDS = 256;

function shardOf(id: string): number {
  // Fibonacci hashing of the first three characters: ids are random, so three are plenty (shards
  // of a million ids measured 3.7k-4.1k entries; two characters gave 3.0k-5.2k).
  const head = id.charCodeAt(0) | 0 | ((id.charCodeAt(1) | 0) << 8) | ((id.charCodeAt(2) | 0) << 16);
  return Math.imul(head, 0x9e3779b1) >>> 24;
}

/**
 * A Map from random string ids, in 256 shards.
 *
 * @example
 * ```ts
 * const sessions = new ShardedMap<Entry>();
 * sessions.set(id, entry);
 * sessions.get(id); // entry
 * ```
 */
export class ShardedMap<V> {
  private readonly shards: Map<string, V>[] = Array.from({ length: SHARDS }, () => new Map());

  get(id: string): V | undefined {
    return this.shard(id).get(id);
  }

  has(id: string): boolean {
    return this.shard(id).has(id);
  }

  set(id: string, value: V): void {
    this.shard(id).set(id, value);
  }

  delete(id: string): void {
    this.shard(id).delete(id);
  }

  private shard(id: string): Map<string, V> {
    return this.shards[shardOf(id)] as Map<string, V>;
  }
}
