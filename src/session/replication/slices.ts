/**
 * Long work cut into slices, so that applying or summarising a large state never holds the event
 * loop: requests keep being answered between slices. A slice ends at the first check after
 * `budgetMs` of the current turn of the event loop; checks are cheap, so callers make one every
 * few dozen items.
 */
import { performance } from 'node:perf_hooks';

/** Milliseconds of work per turn of the event loop: well under the 50 ms a request may wait. */
export const SLICE_MS = 10;

/**
 * The budget is per turn of the event loop, not per caller: several chains of work (a transfer
 * sent while another is applied, two nodes in one process in tests) run in the same turn as
 * microtasks, and the turn ends only when every one of them has paused.
 *
 * @example
 * ```ts
 * for (const item of items) {
 *   work(item);
 *   if (processSlices.due()) await processSlices.pause();
 * }
 * ```
 */
export class Slices {
  private start = 0;
  private inTurn = false;

  constructor(private readonly budgetMs = SLICE_MS) {}

  /** True when the current turn has used its budget. */
  due(): boolean {
    const now = performance.now();
    if (!this.inTurn) {
      // The first check of a turn starts its clock; the immediate below runs before any pause's.
      this.inTurn = true;
      this.start = now;
      setImmediate(() => (this.inTurn = false));
    }
    return now - this.start >= this.budgetMs;
  }

  /** Let the event loop run (timers, sockets); resumes in a later turn. */
  async pause(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}

/** One budget for all catch-up work in this process. */
export const processSlices = new Slices();
