/**
 * Confirmed kills. A logout or a revoke resolves only once every peer that was alive when it was
 * issued has APPLIED it: a stale "logged in" on another node is a security failure, a slow logout
 * is not. Peers answer `{ applied: k }` on the issuer's own channel after applying message k.
 *
 * A peer that does not answer is waited for until it is silent past its lease plus the drift
 * margin (by then it has fenced itself: lease.ts), or until the lease plus the margin has passed
 * since the kill was issued; a peer still heartbeating then is logged as suspect and the kill
 * completes anyway. Under `serve-stale` nothing fences, so a kill cannot complete while a known
 * peer is unreachable: it answers 503 instead (recorded and sent all the same, like a write the
 * transport did not acknowledge).
 */
import { performance } from 'node:perf_hooks';
import { errors, type NovaError } from '../../errors.js';
import { storeUnavailable } from '../store.js';
import type { Lease, PartitionPolicy } from './lease.js';
import type { Message, Op } from './messages.js';

export interface KillsOptions {
  lease: Lease;
  leaseMs: number;
  driftMs: number;
  partition: PartitionPolicy;
  /** Publish on the shared channel; resolves when the transport acknowledged. */
  publish: (message: Message) => Promise<void>;
  warn: (message: string) => void;
}

interface Pending {
  waiting: Set<string>;
  deadline: number;
  timer: NodeJS.Timeout | undefined;
  settle: (err?: NovaError) => void;
}

/** Suspect peers are logged at most this often each, not once per logout. */
const SUSPECT_LOG_EVERY_MS = 60_000;

/**
 * @example
 * ```ts
 * const kills = new Kills({ lease, leaseMs: 3000, driftMs: 500, partition: 'fence', publish, warn });
 * apply(op); // here first
 * await kills.confirm([op]); // every live peer applied it
 * // on { applied: k } from a peer on our own channel: kills.applied(k, from)
 * ```
 */
export class Kills {
  private seq = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly suspectLogged = new Map<string, number>();

  constructor(private readonly o: KillsOptions) {}

  /** Publish kill ops already applied here; resolves once every live peer has applied them. */
  async confirm(ops: Op[]): Promise<void> {
    const k = ++this.seq;
    // Registered before the publish: a peer's answer may arrive before the acknowledgement does.
    const done = this.wait(k, new Set(this.o.lease.livePeers()));
    try {
      await this.o.publish({ ops, confirm: k });
    } catch (err) {
      this.pending.get(k)?.settle();
      throw err;
    }
    if (this.o.partition === 'serve-stale') {
      const away = this.o.lease.unreachablePeers();
      if (away.length > 0 || !this.o.lease.holds()) {
        this.pending.get(k)?.settle();
        throw unconfirmed(away.length > 0 ? `${away.length} peer(s) cannot be reached` : 'this node is cut off from the cluster');
      }
    }
    await done;
  }

  /** Peer `from` applied kill message `k`. */
  applied(k: number, from: string): void {
    const p = this.pending.get(k);
    if (p === undefined || !p.waiting.delete(from)) return;
    if (p.waiting.size === 0) p.settle();
  }

  /** Peer `node` stopped (said goodbye): it serves nothing any more. */
  left(node: string): void {
    for (const p of [...this.pending.values()]) if (p.waiting.delete(node) && p.waiting.size === 0) p.settle();
  }

  /** The store stops: a kill still waiting was sent but is not confirmed. */
  stop(): void {
    for (const p of [...this.pending.values()]) p.settle(storeUnavailable('the store stopped before every peer confirmed a logout'));
  }

  private wait(k: number, waiting: Set<string>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const p: Pending = {
        waiting,
        deadline: performance.now() + this.o.leaseMs + this.o.driftMs,
        timer: undefined,
        settle: (err) => {
          clearTimeout(p.timer);
          this.pending.delete(k);
          if (err === undefined) resolve();
          else reject(err);
        },
      };
      this.pending.set(k, p);
      if (waiting.size === 0) p.settle();
      else this.review(p);
    });
  }

  /** Drop peers now silent past their lease; past the deadline, give up on the rest as suspects. */
  private review(p: Pending): void {
    clearTimeout(p.timer);
    const now = performance.now();
    for (const node of p.waiting) {
      if (this.o.lease.isLive(node)) continue;
      // Its silence proves it fenced only if ours does not come from being cut off ourselves.
      if (this.o.partition === 'serve-stale') return p.settle(unconfirmed('a peer stopped answering before it confirmed'));
      if (!this.o.lease.holds())
        return p.settle(errors.sessionNodeFenced('this node lost its lease before every peer confirmed a logout; it goes out when the node is back'));
      p.waiting.delete(node);
    }
    if (p.waiting.size === 0) return p.settle();
    if (now >= p.deadline) {
      this.suspect([...p.waiting], now);
      return p.settle();
    }
    let next = p.deadline;
    for (const node of p.waiting) next = Math.min(next, this.o.lease.goneAt(node));
    p.timer = setTimeout(() => this.review(p), Math.max(1, Math.ceil(next - now) + 1));
  }

  private suspect(nodes: string[], now: number): void {
    const fresh = nodes.filter((node) => now - (this.suspectLogged.get(node) ?? -Infinity) >= SUSPECT_LOG_EVERY_MS);
    if (fresh.length === 0) return;
    for (const node of fresh) this.suspectLogged.set(node, now);
    if (this.suspectLogged.size > 1000) this.suspectLogged.clear(); // node ids are new on every restart
    this.o.warn(
      `suspect peer(s) ${fresh.join(', ')}: heartbeating but did not confirm a logout within the lease plus the margin ` +
        `(${this.o.leaseMs + this.o.driftMs} ms); the logout completed anyway`,
    );
  }
}

function unconfirmed(why: string): NovaError {
  return errors.sessionNodeFenced(
    `a logout cannot be confirmed cluster-wide: ${why} (partition: 'serve-stale'); it was recorded and goes out when they are back`,
  );
}
