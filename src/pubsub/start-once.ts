/**
 * The start/stop bookkeeping shared by the services that connect to an engine (the Redis and NATS
 * transports, the Redis session store), so that each of them only says how it connects.
 */

/** Where a service is in its life. `new` is also where a failed start leaves it. */
export type StartState = 'new' | 'starting' | 'running' | 'stopped';

/**
 * Runs a service's start-up once however many callers ask at the same time: they all wait for the
 * one attempt. A failed attempt is forgotten, so the next `start` tries again; `stop` waits for an
 * attempt under way before the service tears down, so it never tears down half a connection.
 * `start` after `stop` starts again.
 *
 * @example
 * ```ts
 * class Service {
 *   private readonly life = new StartOnce();
 *   start(): Promise<void> {
 *     return this.life.start(() => this.connect()); // concurrent calls share one connect()
 *   }
 *   async stop(): Promise<void> {
 *     await this.life.stop(); // life.state is now 'stopped'
 *     this.disconnect();
 *   }
 * }
 * ```
 */
export class StartOnce {
  private current: StartState = 'new';
  private starting: Promise<void> | undefined;

  get state(): StartState {
    return this.current;
  }

  /** Resolves once `connect` (this call's or the one already under way) has succeeded. */
  async start(connect: () => Promise<void>): Promise<void> {
    if (this.current === 'running') return;
    if (this.starting === undefined) {
      this.current = 'starting';
      this.starting = connect().then(
        () => void (this.current = 'running'),
        (err: unknown) => {
          this.current = 'new';
          this.starting = undefined;
          throw err;
        },
      );
    }
    await this.starting;
  }

  /** Waits for a start-up under way (whatever its outcome), then marks the service stopped. */
  async stop(): Promise<void> {
    await this.starting?.catch(() => {});
    this.starting = undefined;
    this.current = 'stopped';
  }
}
