/**
 * The read barrier: wait until every edit published before now has reached this node, by sending
 * a ping to ourselves through the transport; it comes back behind them (the transport keeps that
 * order). Used when an id or a handle is unknown here, so a client that logged in on node A and
 * was redirected here finds its session even if A's message is a hair behind the request.
 */

/**
 * At most one ping is in flight: callers that arrive meanwhile share the next one, so a flood of
 * requests with unknown ids costs one ping per round trip, not one per request. A transport that
 * is down costs each caller at most `timeoutMs`.
 *
 * @example
 * ```ts
 * const barrier = new ReadBarrier((k) => bus.publish(`sessions.${node}`, { ping: k }), 250);
 * // when { ping: k } comes back on our own channel: barrier.back(k)
 * const caughtUp = await barrier.wait();
 * ```
 */
export class ReadBarrier {
  private sent = 0;
  private inFlight = false;
  /** Callers waiting for the next ping, which goes out when the one in flight is back. */
  private waiting: { done: Promise<boolean>; release: (caughtUp: boolean) => void } | undefined;
  /** What to run when ping k comes back. */
  private readonly returns = new Map<number, () => void>();

  constructor(
    private readonly sendPing: (k: number) => Promise<void>,
    private readonly timeoutMs: number,
  ) {}

  /** True once caught up; false when the ping did not come back in time. */
  wait(): Promise<boolean> {
    if (this.waiting === undefined) {
      let release!: (caughtUp: boolean) => void;
      const done = new Promise<boolean>((resolve) => (release = resolve));
      const timer = setTimeout(() => release(false), this.timeoutMs);
      this.waiting = { done, release: (caughtUp) => (clearTimeout(timer), release(caughtUp)) };
    }
    const { done } = this.waiting;
    if (!this.inFlight) {
      this.inFlight = true;
      queueMicrotask(() => this.ping()); // callers in this same turn share it
    }
    return done;
  }

  /** Ping `k` came back. */
  back(k: number): void {
    this.returns.get(k)?.();
  }

  private ping(): void {
    const batch = this.waiting;
    this.waiting = undefined;
    if (batch === undefined) {
      this.inFlight = false;
      return;
    }
    const k = ++this.sent;
    let settled = false;
    let retry: NodeJS.Timeout | undefined;
    const settle = (caughtUp: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(lost);
      clearTimeout(retry);
      this.returns.delete(k);
      batch.release(caughtUp);
      this.ping(); // the callers that arrived meanwhile, if any
    };
    // A ping that never comes back (transport down) must not block later ones.
    const lost = setTimeout(() => settle(false), this.timeoutMs);
    // A transport reconnecting refuses the publish at once: try again until the timeout, so a
    // reconnect within it still confirms (and "could not confirm" is never the quick answer).
    const retryMs = Math.max(5, this.timeoutMs / 10);
    const send = (): void => {
      this.sendPing(k).catch(() => {
        if (!settled) retry = setTimeout(send, retryMs);
      });
    };
    this.returns.set(k, () => settle(true));
    send();
  }
}
