/**
 * A hybrid logical clock packed into one number: milliseconds × 1024 + a counter. It follows the
 * wall clock, never goes backwards, and moves past every stamp it has seen, so an edit made after
 * seeing another always carries a larger stamp, even when the nodes' clocks disagree.
 */

/** Room for 1024 stamps per millisecond before the clock runs ahead of the wall clock; 2^53 is not reached before the year 2248. */
export const TICKS_PER_MS = 1024;

/** A write's version: the clock reading, then the writer's node id to break ties. */
export interface Stamp {
  readonly t: number;
  readonly n: string;
}

/** Negative when `a` happened before `b` in the total order last-writer-wins uses. */
export function compareStamps(a: Stamp, b: Stamp): number {
  if (a.t !== b.t) return a.t < b.t ? -1 : 1;
  return a.n < b.n ? -1 : a.n > b.n ? 1 : 0;
}

/**
 * @example
 * ```ts
 * const clock = new HybridClock('node-a');
 * const first = clock.stamp();
 * clock.observe(remoteStamp.t);              // a message from another node
 * compareStamps(clock.stamp(), remoteStamp); // > 0: ours comes after theirs
 * ```
 */
export class HybridClock {
  private last = 0;

  constructor(
    readonly node: string,
    private readonly wall: () => number = Date.now,
  ) {}

  /** A stamp larger than every stamp this clock has issued or observed. */
  stamp(): Stamp {
    this.last = Math.max(this.last + 1, Math.floor(this.wall()) * TICKS_PER_MS);
    return { t: this.last, n: this.node };
  }

  /** Take in a stamp from another node, so our next one is later. */
  observe(t: number): void {
    if (Number.isSafeInteger(t) && t > this.last) this.last = t;
  }
}
