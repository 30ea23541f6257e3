/**
 * Waiting for an engine's acknowledgement, bounded twice: by a timeout, and by `stop()`, which
 * rejects everything still waiting. Shared by the Redis and NATS transports.
 */
import type { NovaError } from '../errors.js';

/**
 * @example
 * ```ts
 * const waits = new AckWaits();
 * await waits.bounded(client.publish(ch, text), 2000, () => errors.pubsubUnavailable('no answer'), (e) => wrap(e));
 * waits.rejectAll(errors.pubsubUnavailable('stopped')); // in stop()
 * ```
 */
export class AckWaits {
  private readonly waiting = new Set<(err: NovaError) => void>();

  /** `promise`'s value, or the error `timedOut()` makes after `ms`, or `failed(err)` if it rejects. */
  bounded<T>(promise: Promise<T>, ms: number, timedOut: () => NovaError, failed: (err: unknown) => NovaError): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const fail = (err: NovaError) => {
        clearTimeout(timer);
        this.waiting.delete(fail);
        reject(err);
      };
      const timer = setTimeout(() => fail(timedOut()), ms);
      this.waiting.add(fail);
      promise.then(
        (value) => {
          clearTimeout(timer);
          this.waiting.delete(fail);
          resolve(value);
        },
        (err: unknown) => fail(failed(err)),
      );
    });
  }

  /** Reject every wait still open with `error` (the transport is stopping). */
  rejectAll(error: NovaError): void {
    for (const fail of [...this.waiting]) fail(error);
    this.waiting.clear();
  }
}
