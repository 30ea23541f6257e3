/**
 * The queue behind the memory store's sweeper. Things go in in the order they happen, so the
 * ones due first are always at the head, and a sweep's work is proportional to what is due, not
 * to what is stored.
 */

// 16k pointers is 128 KiB, which V8 allocates in its large-object space, and the times live in a
// typed array off the heap: young-generation GCs never copy the queue. With small growable
// chunks, each scavenge during a mass expiry took 6-9 ms, mostly copying queue chunks.
const CHUNK = 16_384;

/**
 * A first-in first-out queue of (entry, time) pairs, in fixed chunks allocated at full size.
 * Not one big Set or array: V8 rehashes or copies those in one piece when they grow or shrink,
 * which at a million entries stalls the event loop for tens of milliseconds.
 *
 * @example
 * ```ts
 * const q = new TimeQueue<Session>();
 * q.push(session, now);
 * while (q.entry !== undefined && q.at + ttl <= now) { expire(q.entry); q.shift(); }
 * ```
 */
export class TimeQueue<T> {
  private entries: (T | undefined)[][] = [];
  private times: Float64Array[] = [];
  private head = 0; // next slot to read, in entries[0]
  private tail = CHUNK; // next free slot, in the last chunk
  private shifted = 0; // slots shifted out since the queue began: the head's position

  push(entry: T, at: number): void {
    if (this.tail === CHUNK) {
      this.entries.push(new Array<T | undefined>(CHUNK));
      this.times.push(new Float64Array(CHUNK));
      this.tail = 0;
    }
    const last = this.entries.length - 1;
    (this.entries[last] as (T | undefined)[])[this.tail] = entry;
    (this.times[last] as Float64Array)[this.tail++] = at;
  }

  /** The head entry, or `undefined` when the queue is empty. */
  get entry(): T | undefined {
    // Slots past the tail have never been written, so they read as undefined too.
    return this.entries[0]?.[this.head];
  }

  /** The head entry's time; only meaningful when `entry` is defined. */
  get at(): number {
    return (this.times[0] as Float64Array)[this.head] as number;
  }

  /** The head slot's position: slots are numbered from 0 in the order they were pushed. */
  get first(): number {
    return this.shifted;
  }

  /** The position the next push will take: slots `first` to `end - 1` are in the queue. */
  get end(): number {
    const held = this.entries.length === 0 ? 0 : (this.entries.length - 1) * CHUNK + this.tail - this.head;
    return this.shifted + held;
  }

  /** The entry in the slot at `position`, between `first` and `end - 1`, without taking it out. */
  entryAt(position: number): T | undefined {
    const i = position - this.shifted + this.head;
    return this.entries[Math.floor(i / CHUNK)]?.[i % CHUNK];
  }

  /** Slots in the queue. */
  get length(): number {
    return this.end - this.shifted;
  }

  /**
   * Keep only the slots `keep` accepts, in their order, in as few chunks as they need. Linear in
   * the queue's length: for slots that can no longer reach the head in good time, such as those of
   * entries ended while an entry due much later holds the head. Slot positions change (`first`
   * stays; what follows it is renumbered).
   */
  compact(keep: (entry: T, at: number) => boolean): void {
    const entries: (T | undefined)[][] = [];
    const times: Float64Array[] = [];
    let tail = CHUNK;
    const last = this.entries.length - 1;
    for (let c = 0; c <= last; c++) {
      const chunk = this.entries[c] as (T | undefined)[];
      const chunkTimes = this.times[c] as Float64Array;
      const to = c === last ? this.tail : CHUNK;
      for (let i = c === 0 ? this.head : 0; i < to; i++) {
        const entry = chunk[i] as T;
        const at = chunkTimes[i] as number;
        if (!keep(entry, at)) continue;
        if (tail === CHUNK) {
          entries.push(new Array<T | undefined>(CHUNK));
          times.push(new Float64Array(CHUNK));
          tail = 0;
        }
        (entries[entries.length - 1] as (T | undefined)[])[tail] = entry;
        (times[times.length - 1] as Float64Array)[tail++] = at;
      }
    }
    this.entries = entries;
    this.times = times;
    this.head = 0;
    this.tail = tail;
  }

  /** Drop the head entry. */
  shift(): void {
    const chunk = this.entries[0] as (T | undefined)[];
    this.shifted++;
    chunk[this.head++] = undefined;
    if (this.head === CHUNK) {
      this.entries.shift();
      this.times.shift();
      this.head = 0;
      if (this.entries.length === 0) this.tail = CHUNK;
    }
  }
}
