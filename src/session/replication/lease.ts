/**
 * The lease: whether this node may answer for sessions, and which peers count as alive.
 *
 * Every node publishes a heartbeat on the shared channel every `heartbeatMs`. A node holds its
 * lease for `leaseMs` from the SEND time of the last of its own heartbeats that came back through
 * the transport: that proves every message published before then could reach it. Peers note when
 * they last heard each node (any message), and count a node silent for `leaseMs + driftMs` as
 * gone: by then, on its own clock, its lease has run out, so (policy `fence`) it has stopped
 * answering. That bound is what lets a kill stop waiting for a cut-off peer (kills.ts).
 *
 * The lease is checked against the monotonic clock on every call, never by a flag a timer sets:
 * a process resumed from SIGSTOP runs its next request before any timer, and must refuse it.
 */
import { performance } from 'node:perf_hooks';
import { errors } from '../../errors.js';
import type { StoreReadiness } from '../store.js';

/** What a node does once its lease has run out: refuse (`fence`) or keep serving what it holds. */
export type PartitionPolicy = 'fence' | 'serve-stale';

export interface LeaseOptions {
  leaseMs: number;
  heartbeatMs: number;
  driftMs: number;
  partition: PartitionPolicy;
  /** Publish heartbeat `k` on the shared channel; it comes back to `beatBack(k)`. */
  sendBeat: (k: number) => Promise<void>;
  /** Catch up with the cluster (the store's `resync`); resolves once caught up. */
  resync: () => Promise<void>;
  log: (message: string) => void;
}

/**
 * Peers silent this many leases are forgotten (crashed for good): under `serve-stale` a known but
 * unreachable peer makes kills answer 503, which must not last forever after a node is gone.
 */
const FORGET_AFTER_LEASES = 10;

/**
 * @example
 * ```ts
 * const lease = new Lease({ leaseMs: 3000, heartbeatMs: 600, driftMs: 500, partition: 'fence', sendBeat, resync, log });
 * await lease.start(); // first heartbeat back, then caught up
 * lease.check(); // before every session read or write: throws NOVA_ERR_SESSION_NODE_FENCED
 * ```
 */
export class Lease {
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private beats = 0;
  /** Heartbeats in flight: k → monotonic send time (insertion order is k order). */
  private readonly sent = new Map<number, number>();
  /** Send time of the last own heartbeat that came back. */
  private heldSince = -Infinity;
  /** The lease ran out and this node has not caught up since (logged once each way). */
  private lost = false;
  private caughtUp = false;
  private catching: Promise<void> | undefined;
  private again = false;
  /** A heartbeat came back since the lease was lost, and asked for the catch-up that ends it. */
  private rejoining = false;
  private readonly caughtUpWaiters = new Set<() => void>();
  private firstBeat: (() => void) | undefined;
  /** Peer node → monotonic time it was last heard. */
  private readonly peers = new Map<string, number>();

  constructor(private readonly o: LeaseOptions) {}

  /** Start heartbeating; resolves once a heartbeat came back (or a lease passed) and this node caught up. */
  async start(): Promise<void> {
    this.running = true;
    this.lost = false;
    this.rejoining = false;
    this.caughtUp = false;
    // Start counts as a heartbeat: start() does not resolve before the first one is back or a
    // lease has passed, and in the second case the lease has run out and the node starts fenced.
    this.heldSince = performance.now();
    clearInterval(this.timer);
    this.timer = setInterval(() => this.tick(), this.o.heartbeatMs).unref();
    let timeout: NodeJS.Timeout | undefined;
    const first = new Promise<void>((resolve) => {
      this.firstBeat = resolve;
      timeout = setTimeout(resolve, this.o.leaseMs);
    });
    this.tick();
    await first.finally(() => clearTimeout(timeout));
    this.firstBeat = undefined;
    await this.catchUp();
  }

  stop(): void {
    this.running = false;
    clearInterval(this.timer);
    this.timer = undefined;
    this.sent.clear();
    this.peers.clear();
    this.heldSince = -Infinity;
    this.caughtUp = false;
    for (const wake of this.caughtUpWaiters) wake();
  }

  /**
   * Catch up with the cluster (start, reconnect, lease regained); not caught up until it resolves.
   * A catch-up asked for while one runs runs again after it: it may have begun before the gap.
   */
  catchUp(): Promise<void> {
    this.caughtUp = false;
    this.again = true;
    return (this.catching ??= this.runCatchUp().finally(() => (this.catching = undefined)));
  }

  /** Throws NOVA_ERR_SESSION_NODE_FENCED when this node may not answer (policy `fence`). */
  check(): void {
    if (this.o.partition !== 'fence') return;
    if (!this.holds()) throw errors.sessionNodeFenced(`none of its heartbeats came back through the transport within its lease (${this.o.leaseMs} ms)`);
    if (this.lost) throw errors.sessionNodeFenced('it lost its lease and is catching up with the cluster');
  }

  /**
   * A catch-up is under way (policy `fence`): after a reconnect or lost messages, what this node
   * holds may lack a logout that has completed elsewhere (its issuer stops waiting for a peer that
   * does not confirm after the lease plus the margin), so it must not act on it. One boolean: the
   * caught-up path of every read tests only this.
   */
  get behind(): boolean {
    return !this.caughtUp && this.o.partition === 'fence';
  }

  /** Whether this node's own lease is held now; notices (and logs) the moment it ran out. */
  holds(): boolean {
    if (performance.now() - this.heldSince <= this.o.leaseMs) return true;
    if (this.running && !this.lost) {
      this.lost = true;
      this.rejoining = false;
      this.caughtUp = false;
      this.o.log(
        this.o.partition === 'fence'
          ? `fenced: none of this node's heartbeats came back through the transport within its lease (${this.o.leaseMs} ms); session reads and writes answer 503 until they do and it has caught up`
          : `cut off: none of this node's heartbeats came back within its lease (${this.o.leaseMs} ms); serving what it holds (partition: 'serve-stale'), kills answer 503`,
      );
    }
    return false;
  }

  /** Caught up with the cluster and not cut off since. */
  isCaughtUp(): boolean {
    return this.holds() && !this.lost && this.caughtUp;
  }

  /** True once caught up, within `ms`; false if not by then. */
  whenCaughtUp(ms: number): Promise<boolean> {
    if (this.isCaughtUp()) return Promise.resolve(true);
    if (ms <= 0 || !this.running) return Promise.resolve(false);
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.caughtUpWaiters.delete(wake);
        resolve(this.isCaughtUp());
      };
      const timer = setTimeout(wake, ms);
      this.caughtUpWaiters.add(wake);
    });
  }

  /** Wait up to `ms` for the catch-up under way; throws (503) when it is not done by then. */
  async settle(ms: number): Promise<void> {
    if (await this.whenCaughtUp(ms)) return;
    this.check(); // fenced meanwhile: say that
    throw errors.sessionNotCaughtUp(
      'this node is catching up with the cluster (it reconnected or lost messages), and what it holds may lack a logout made meanwhile',
    );
  }

  readiness(): StoreReadiness {
    if (!this.running) return { ready: false, reason: 'the session store is stopped' };
    const held = this.holds();
    if (this.o.partition === 'fence' && (!held || this.lost)) return { ready: false, reason: 'fenced: this node lost its lease on the cluster transport' };
    // Under serve-stale a cut-off node stays in the load balancer: serving stale is the policy.
    if (this.o.partition === 'serve-stale' && this.lost) return { ready: true };
    if (!this.isCaughtUp()) return { ready: false, reason: 'not caught up with the cluster yet' };
    return { ready: true };
  }

  // ---- what arrives ----

  /** Our own heartbeat `k` came back through the transport. */
  beatBack(k: number): void {
    const at = this.sent.get(k);
    if (at === undefined) return;
    for (const key of this.sent.keys()) {
      if (key > k) break;
      this.sent.delete(key);
    }
    this.heldSince = Math.max(this.heldSince, at);
    this.firstBeat?.();
    // Back from a partition: messages were missed silently, so no reconnect will say so. A catch-up
    // already running may have begun inside the partition: this one runs after it.
    if (this.lost && !this.rejoining) {
      this.rejoining = true;
      this.catchUp().catch(() => {});
    }
  }

  /** Any message from `node`. */
  heard(node: string): void {
    if (this.running) this.peers.set(node, performance.now());
  }

  /** `node` said goodbye (stopped): nothing more is awaited from it. */
  left(node: string): void {
    this.peers.delete(node);
  }

  // ---- peers ----

  /** Peers heard within the lease plus the drift margin: the ones a kill waits for. */
  livePeers(): string[] {
    return [...this.peers.keys()].filter((node) => this.isLive(node));
  }

  /** Known peers silent past the lease plus drift (cut off, or crashed and not yet forgotten). */
  unreachablePeers(): string[] {
    return [...this.peers.keys()].filter((node) => !this.isLive(node));
  }

  isLive(node: string): boolean {
    const at = this.peers.get(node);
    return at !== undefined && performance.now() - at <= this.o.leaseMs + this.o.driftMs;
  }

  /** When (monotonic ms) `node` counts as gone if it stays silent. */
  goneAt(node: string): number {
    return (this.peers.get(node) ?? -Infinity) + this.o.leaseMs + this.o.driftMs;
  }

  // ---- inside ----

  private tick(): void {
    if (!this.running) return;
    const now = performance.now();
    // A heartbeat older than a lease renews nothing when it comes back.
    for (const [k, at] of this.sent) {
      if (now - at <= this.o.leaseMs) break;
      this.sent.delete(k);
    }
    const k = ++this.beats;
    this.sent.set(k, now);
    this.o.sendBeat(k).catch(() => {}); // a heartbeat that does not get through is what the lease measures
    this.holds();
    for (const [node, at] of this.peers) if (now - at > FORGET_AFTER_LEASES * this.o.leaseMs) this.peers.delete(node);
  }

  private async runCatchUp(): Promise<void> {
    while (this.again && this.running) {
      this.again = false;
      try {
        await this.o.resync();
      } catch (err) {
        this.o.log(`catching up failed (${(err as Error).message}); trying again`);
        this.again = true;
        await new Promise((r) => setTimeout(r, this.o.heartbeatMs));
      }
    }
    if (!this.running || this.again) return;
    if (this.lost) {
      if (!this.holds()) {
        this.rejoining = false; // cut off again meanwhile: the next heartbeat back retries
        return;
      }
      this.lost = false;
      this.o.log('serving again: its heartbeats come back and it has caught up with the cluster');
    }
    this.caughtUp = true;
    for (const wake of [...this.caughtUpWaiters]) wake();
  }
}
