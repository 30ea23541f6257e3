/**
 * Catch-up by difference: how a node that starts, reconnects or repairs a failed publish gets the
 * edits it missed, and gives the cluster the ones it made alone, without every node sending its
 * whole state to every other (which grew with nodes² × sessions).
 *
 * 1. **Its own unconfirmed edits, to everyone.** Records touched by an edit whose publish failed
 *    (the transport was down, or did not acknowledge) are broadcast once on the shared channel:
 *    every peer lacks them, and one broadcast costs one delivery per peer.
 * 2. **Who is there.** `hello` on the shared channel; each peer answers on the asker's own channel
 *    with whether it is caught up itself and how much it holds.
 * 3. **An empty node** (first start, or restart of a process) asks one peer, a caught-up one if any
 *    answered, for its whole state: the only full transfer, once.
 * 4. **Digest rounds, one peer at a time, point to point.** The asker sends the digest of its whole
 *    state (`digest.ts`); equal means nothing to do (one short message each way). Otherwise the
 *    peer sends its per-bucket digests and the asker names the buckets that differ, with the 8-byte
 *    hash of each entry it holds in them (the second level). The peer sends back the hashes it
 *    lacks (`need`), then the entries whose hash the asker lacks, then `synced`; the asker answers
 *    `need` with those entries. So a record travels only if it differs, not because it shares a
 *    bucket with one that does: a round that starts while a peer's broadcast is still in flight
 *    (every node reconnects at once) sees hundreds of buckets differ, yet costs 8 bytes per entry
 *    in them plus the records that really differ. Revocations go first, so the records they cover
 *    die as they land; the peer's entries all arrive before its `synced`.
 *
 * Which peers: a round with a peer that was caught up gives this node everything the cluster
 * acknowledged; a round with each peer gives every peer what only this node had (a write the
 * engine acknowledged but lost when it crashed, say). So one round per peer, one at a time, the
 * caught-up and largest first, most of them finding equal digests. When everyone reconnects at once
 * (the engine restarted) nobody is caught up: a round in which a not-caught-up peer sent this node
 * records puts the peers already done back in the queue, so what it learned reaches them too; those
 * repeats are capped at three rounds per peer.
 *
 * When it is caught up: once every peer it hears (any message, heartbeats included: `lease.ts`)
 * has completed a round with it. Silence from a peer it hears is a slow peer, not an absent one: it
 * asks again and stays not caught up, because the lease trusts this before a fenced node serves
 * again, and a logout made while it was away may be held by that peer alone. Only a node that hears
 * no peer at all concludes, after `joinTimeoutMs` (plus two heartbeats if it knew peers before), that
 * it is alone.
 *
 * Applying never holds the event loop for long: catch-up messages are small (`CATCH_UP_BUDGET`), so
 * no one message's signature check and parse is long; incoming transfers go through one queue,
 * applied in slices (`slices.ts`) with a turn of the event loop between messages when the slice is
 * used up, and digests are rehashed in slices too.
 */
import { performance } from 'node:perf_hooks';
import { batches } from './batches.js';
import { bitmap, bitsFor, bucketsOf, DigestIndex, hashData, hashList } from './digest.js';
import { isRecordWire, isRevocationWire, type CatchUpMessage, type Message, type Op } from './messages.js';
import type { RecordWire, ReplicaState } from './records.js';
import { processSlices } from './slices.js';
import type { RevocationWire } from './users-index.js';

/** What catch-up needs of the store. */
export interface CatchUpHost {
  readonly node: string;
  readonly state: ReplicaState;
  readonly running: boolean;
  readonly joinTimeoutMs: number;
  readonly heartbeatMs: number;
  /** Peers heard lately (`Lease.livePeers`): each must complete a round before this node is caught up. */
  livePeers(): readonly string[];
  /** Whether any peer was heard since start, lately or not (a rejoining node waits longer for them). */
  knowsPeers(): boolean;
  publish(channel: string, message: Message | CatchUpMessage): Promise<void>;
  /** Take in a stamp seen in a record (the hybrid clock). */
  observe(t: number): void;
  warn(message: string): void;
}

/**
 * Catch-up messages are cut at this size, not the 256 KiB of ops: a node receiving them checks the
 * signature and parses each one in a single turn of the event loop, outside any slice.
 */
export const CATCH_UP_BUDGET = 48 * 1024;
/** Entry hashes per `want` (32 KiB, 43 KiB in base64). */
const HASHES_PER_MESSAGE = 4096;

interface Round {
  readonly k: number;
  readonly peer: string;
  /** Our entries named in `want`, by hash, for answering `need`. */
  readonly mine: Map<string, string>;
  received: number;
  up: boolean;
  end: (result: { received: number; up: boolean } | undefined) => void;
  alive: () => void;
}

const num = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const obj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;
const isBits = (v: unknown): v is number => num(v) && v >= 0 && v <= 16;

/**
 * @example
 * ```ts
 * const catchUp = new CatchUp(host);
 * // in the bus handler: if (catchUp.receive(body, from, direct)) return;
 * // when a publish fails: catchUp.unconfirmed(ops);
 * await catchUp.resync(); // caught up
 * catchUp.caughtUp;       // true
 * ```
 */
export class CatchUp {
  readonly digests: DigestIndex;
  private up = false;
  /** Cache keys (`DigestIndex.userKey` for users) of edits whose publish failed. */
  private readonly pending = new Set<string>();
  private queue: Promise<void> = Promise.resolve();
  private queued = 0;
  private readonly slices = processSlices;
  private running: Promise<void> | undefined;
  private again = false;
  private rounds = 0;
  private round: Round | undefined;
  private readonly peers = new Map<string, { up: boolean; size: number }>();
  private firstAnswer: (() => void) | undefined;
  /** This run's peers still to do, and those that completed a round; an answer arriving mid-run joins `todo`. */
  private pass: { todo: Set<string>; completed: Set<string> } | undefined;
  /** Peers we are sending our whole state to right now: one transfer per peer at a time. */
  private readonly fulls = new Set<string>();
  /** What we send each peer, in order (`need`, records, `synced`), without holding the apply queue. */
  private readonly outgoing = new Map<string, Promise<void>>();

  constructor(private readonly host: CatchUpHost) {
    this.digests = new DigestIndex(host.state);
  }

  /** True once this node has caught up since it (re)connected; false while it catches up. */
  get caughtUp(): boolean {
    return this.up;
  }

  /** Edits applied here whose publish failed: the next catch-up broadcasts their records. */
  unconfirmed(ops: readonly Op[]): void {
    for (const op of ops) {
      if (op[0] === 'x') this.pending.add(DigestIndex.userKey(op[1]));
      else this.pending.add(op[1]);
      if (op[0] === 'r') this.pending.add(op[2]);
    }
  }

  /** Catch up with the cluster; resolves once caught up. Calls meanwhile share the run (and redo it). */
  resync(): Promise<void> {
    if (this.running !== undefined) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          try {
            await this.once();
          } catch (err) {
            if (!this.again || !this.host.running) throw err;
          }
        } while (this.again && this.host.running);
      } finally {
        this.running = undefined;
      }
    })();
    return this.running;
  }

  stop(): void {
    this.up = false;
    this.round?.end(undefined);
    this.firstAnswer?.();
  }

  /** Resolves once every transfer received so far is applied. */
  async idle(): Promise<void> {
    while (this.queued > 0) await this.queue;
  }

  /** Handle a catch-up message; false when it is not one. */
  receive(message: Record<string, unknown>, from: string, direct: boolean): boolean {
    const m = message;
    if (m.hello === true && !direct) {
      const here = { up: this.up, size: this.digests.size };
      this.background(this.host.publish(`sessions.${from}`, { here }), 'answering a hello');
    } else if (Array.isArray(m.revocations)) {
      this.enqueue(() => this.applyRevocations(m.revocations as unknown[], from));
    } else if (Array.isArray(m.records)) {
      this.enqueue(() => this.applyRecords(m.records as unknown[], from));
    } else if (!direct) {
      return false;
    } else if (obj(m.here) && typeof m.here.up === 'boolean' && num(m.here.size)) {
      this.peers.set(from, { up: m.here.up, size: m.here.size });
      if (this.pass !== undefined && !this.pass.completed.has(from) && this.round?.peer !== from) this.pass.todo.add(from);
      this.firstAnswer?.();
    } else if (obj(m.sum) && num(m.sum.k) && typeof m.sum.full === 'boolean' && typeof m.sum.root === 'string' && num(m.sum.size)) {
      const sum = { k: m.sum.k, full: m.sum.full, root: m.sum.root, size: m.sum.size };
      this.enqueue(() => this.answerSum(from, sum));
    } else if (obj(m.want) && num(m.want.k) && isBits(m.want.bits) && typeof m.want.diff === 'string' && typeof m.want.hashes === 'string') {
      const want = { k: m.want.k, bits: m.want.bits, diff: m.want.diff, hashes: m.want.hashes, last: m.want.last === true };
      this.enqueue(() => this.answerWant(from, want));
    } else if (obj(m.need) && num(m.need.k) && typeof m.need.hashes === 'string') {
      const need = { k: m.need.k, hashes: m.need.hashes };
      this.enqueue(() => this.answerNeed(from, need));
    } else if (obj(m.buckets) && num(m.buckets.k) && isBits(m.buckets.bits) && typeof m.buckets.data === 'string' && typeof m.buckets.up === 'boolean') {
      const buckets = { k: m.buckets.k, up: m.buckets.up, bits: m.buckets.bits, data: m.buckets.data };
      this.enqueue(() => this.compare(from, buckets));
    } else if (obj(m.same ?? m.synced)) {
      const end = (m.same ?? m.synced) as Record<string, unknown>;
      if (!num(end.k)) return false;
      const k = end.k;
      this.enqueue(() => this.finish(from, k, end.up === true));
    } else {
      return false;
    }
    return true;
  }

  // ---- the asking side ----

  private async once(): Promise<void> {
    this.up = false;
    await this.pushUnconfirmed();
    this.peers.clear();
    const todo = new Set<string>();
    const completed = new Set<string>();
    /** Peers whose round counts for the re-queue below (a repeat removes them again). */
    const done = new Set<string>();
    this.pass = { todo, completed };
    const started = performance.now();
    let asked = started;
    let asks = 1;
    try {
      await this.host.publish('sessions', { hello: true });
      let full = this.digests.empty;
      let repeats = 0;
      while (this.host.running) {
        if (todo.size > 0) {
          const peer = this.best(todo);
          todo.delete(peer);
          const result = await this.exchange(peer, full);
          if (result === undefined) {
            this.peers.delete(peer); // gone, or too slow: asked again below while it is heard
            continue;
          }
          full = false;
          completed.add(peer);
          done.add(peer);
          // It was catching up too and taught us something: those already done may lack it.
          if (result.received > 0 && !result.up && repeats < 2 * this.peers.size + 2) {
            for (const p of done) if (p !== peer) done.delete(p), todo.add(p), repeats++;
          }
          continue;
        }
        const waiting = this.host.livePeers().filter((p) => !completed.has(p));
        for (const p of waiting) if (this.peers.has(p)) todo.add(p); // answered, but its round failed
        if (todo.size > 0) continue;
        const now = performance.now();
        const grace = this.host.joinTimeoutMs + (this.host.knowsPeers() ? 2 * this.host.heartbeatMs : 0);
        if (waiting.length === 0 && (completed.size > 0 || now - started >= grace)) break; // caught up, or alone
        if (now - asked >= this.host.joinTimeoutMs) {
          if (++asks === 4)
            this.host.warn(`still waiting for ${waiting.length} peer(s) it hears to answer its catch-up (${waiting.join(', ')}); not caught up until they do`);
          asked = now;
          await this.host.publish('sessions', { hello: true });
        }
        await this.nextAnswer(Math.max(1, Math.min(asked + this.host.joinTimeoutMs, started + grace) - now));
      }
    } finally {
      this.pass = undefined;
    }
    await this.idle();
    this.up = this.host.running;
  }

  /** Resolves at the next `here` (or `stop()`), or after `ms`. */
  private nextAnswer(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(), ms);
      const done = () => {
        clearTimeout(timer);
        this.firstAnswer = undefined;
        resolve();
      };
      this.firstAnswer = done;
    });
  }

  /** Caught-up peers first, then the largest (ties by id, so the choice is stable). */
  private best(todo: Set<string>): string {
    let best: string | undefined;
    for (const p of todo) {
      if (best === undefined) {
        best = p;
        continue;
      }
      const a = this.peers.get(p) ?? { up: false, size: 0 };
      const b = this.peers.get(best) ?? { up: false, size: 0 };
      if (a.up !== b.up ? a.up : a.size !== b.size ? a.size > b.size : p < best) best = p;
    }
    return best!;
  }

  /** One round with `peer`; undefined when it did not answer in time. */
  private async exchange(peer: string, full: boolean): Promise<{ received: number; up: boolean } | undefined> {
    await this.idle();
    await this.digests.refresh();
    const k = ++this.rounds;
    const idleMs = 2 * this.host.joinTimeoutMs;
    const result = new Promise<{ received: number; up: boolean } | undefined>((resolve) => {
      let timer = setTimeout(() => round.end(undefined), idleMs);
      const round: Round = {
        k,
        peer,
        mine: new Map(),
        received: 0,
        up: false,
        end: (r) => {
          clearTimeout(timer);
          if (this.round === round) this.round = undefined;
          resolve(r);
        },
        alive: () => {
          clearTimeout(timer);
          timer = setTimeout(() => round.end(undefined), idleMs);
        },
      };
      this.round = round;
    });
    const sum = { k, full, root: full ? '' : this.digests.root(), size: this.digests.size };
    await this.host.publish(`sessions.${peer}`, { sum }).catch((err: unknown) => {
      this.round?.end(undefined);
      throw err;
    });
    return result;
  }

  /** The peer's bucket digests: name the buckets that differ, with the hashes of our entries in them. */
  private async compare(from: string, theirs: { k: number; up: boolean; bits: number; data: string }): Promise<void> {
    const round = this.round;
    if (round === undefined || round.k !== theirs.k || round.peer !== from) return;
    round.alive();
    round.up = theirs.up;
    await this.digests.refresh();
    const differ = this.digests.differing(theirs.bits, Buffer.from(theirs.data, 'base64'));
    if (differ === undefined) return round.end(undefined);
    const channel = `sessions.${from}`;
    const { bits, k } = theirs;
    // Cut into messages by entry count; a `want` for no bucket still asks for the `synced`.
    const chunks: number[][] = [[]];
    let count = 0;
    for (const b of differ) {
      const n = this.digests.countIn(bits, b);
      if (count > 0 && count + n > HASHES_PER_MESSAGE) chunks.push([]), (count = 0);
      chunks[chunks.length - 1]!.push(b);
      count += n;
    }
    for (let i = 0; i < chunks.length; i++) {
      const { keys, hashes } = this.digests.entriesIn(bits, chunks[i]!);
      for (const [j, h] of hashes.entries()) round.mine.set(h, keys[j]!);
      const last = i === chunks.length - 1;
      await this.host.publish(channel, { want: { k, bits, diff: bitmap(chunks[i]!, bits), hashes: hashData(hashes), last } });
      if (!last && this.slices.due()) await this.slices.pause();
    }
  }

  /** The peer lacks these of our entries (by hash): send them. */
  private answerNeed(from: string, need: { k: number; hashes: string }): void {
    const round = this.round;
    if (round === undefined || round.k !== need.k || round.peer !== from) return;
    round.alive();
    const keys: string[] = [];
    for (const h of hashList(need.hashes) ?? []) {
      const key = round.mine.get(h);
      if (key !== undefined) keys.push(key);
    }
    this.chain(from, 'sending records to a peer', () => this.send(`sessions.${from}`, this.digests.revocationsOf(keys), this.digests.recordsOf(keys)));
  }

  private finish(from: string, k: number, up: boolean): void {
    const round = this.round;
    if (round === undefined || round.k !== k || round.peer !== from) return;
    round.end({ received: round.received, up: up || round.up });
  }

  private async pushUnconfirmed(): Promise<void> {
    if (this.pending.size === 0) return;
    const keys = [...this.pending];
    this.pending.clear();
    try {
      await this.send('sessions', this.digests.revocationsOf(keys), this.digests.recordsOf(keys));
    } catch (err) {
      for (const key of keys) this.pending.add(key);
      throw err;
    }
  }

  // ---- the answering side ----

  private async answerSum(from: string, sum: { k: number; full: boolean; root: string; size: number }): Promise<void> {
    const channel = `sessions.${from}`;
    if (sum.full) {
      if (this.fulls.has(from)) return;
      this.fulls.add(from);
      const all = this.send(channel, this.host.state.revocations.wire(), this.host.state.wire()).then(() =>
        this.host.publish(channel, { synced: { k: sum.k, up: this.up } }),
      );
      this.background(
        all.finally(() => this.fulls.delete(from)),
        'a state transfer',
      );
      return;
    }
    await this.digests.refresh();
    if (this.digests.root() === sum.root) return this.background(this.host.publish(channel, { same: { k: sum.k, up: this.up } }), 'answering a digest');
    const bits = bitsFor(Math.max(this.digests.size, sum.size));
    const data = this.digests.digest(bits).toString('base64');
    this.background(this.host.publish(channel, { buckets: { k: sum.k, up: this.up, bits, data } }), 'answering a digest');
  }

  /** The asker's entries in buckets that differ: say which we lack, and send those it lacks. */
  private async answerWant(from: string, want: { k: number; bits: number; diff: string; hashes: string; last: boolean }): Promise<void> {
    const buckets = bucketsOf(want.diff, want.bits);
    const theirs = hashList(want.hashes);
    if (buckets === undefined || theirs === undefined) return;
    await this.digests.refresh();
    const { keys, hashes } = this.digests.entriesIn(want.bits, buckets);
    const known = new Set(theirs);
    const mine = new Set<string>();
    const send: string[] = [];
    hashes.forEach((h, i) => {
      mine.add(h);
      if (!known.has(h)) send.push(keys[i]!);
    });
    const lack = theirs.filter((h) => !mine.has(h));
    const channel = `sessions.${from}`;
    this.chain(from, 'sending records to a peer', async () => {
      if (lack.length > 0) await this.host.publish(channel, { need: { k: want.k, hashes: hashData(lack) } });
      await this.send(channel, this.digests.revocationsOf(send), this.digests.recordsOf(send));
      if (want.last) await this.host.publish(channel, { synced: { k: want.k, up: this.up } });
    });
  }

  /** Work sending to `to`, after what is already being sent there. */
  private chain(to: string, what: string, work: () => Promise<void>): void {
    const next = (this.outgoing.get(to) ?? Promise.resolve()).then(work).catch((err: unknown) => this.host.warn(`${what} failed: ${(err as Error).message}`));
    this.outgoing.set(to, next);
    void next.finally(() => this.outgoing.get(to) === next && this.outgoing.delete(to));
  }

  // ---- moving records ----

  /** Revocations first, so the records they cover die as they land; cut into messages, in slices. */
  private async send(channel: string, revocations: Iterable<RevocationWire>, records: Iterable<RecordWire>): Promise<void> {
    const slices = this.slices;
    for (const run of batches(revocations, CATCH_UP_BUDGET)) {
      await this.host.publish(channel, { revocations: run });
      if (slices.due()) await slices.pause();
    }
    for (const run of batches(records, CATCH_UP_BUDGET)) {
      await this.host.publish(channel, { records: run });
      if (slices.due()) await slices.pause();
    }
  }

  /** Transfers apply in arrival order, one at a time, in slices. */
  private enqueue(task: () => Promise<void> | void): void {
    this.queued++;
    // A turn of the event loop between messages once the slice is used up: a message's own
    // signature check and parse run outside any slice, so they must not pile up in one turn.
    this.queue = this.queue
      .then(task)
      .then(() => (this.slices.due() ? this.slices.pause() : undefined))
      .catch((err: unknown) => this.host.warn(`applying a catch-up failed: ${(err as Error).message}`))
      .finally(() => this.queued--);
  }

  private async applyRevocations(list: unknown[], from: string): Promise<void> {
    let n = 0;
    for (const r of list) {
      if (!isRevocationWire(r)) continue;
      this.host.observe(r[1]);
      this.host.state.revoke(r);
      n++;
      if ((n & 31) === 0 && this.slices.due()) await this.slices.pause();
    }
    this.count(from, n);
  }

  private async applyRecords(list: unknown[], from: string): Promise<void> {
    let n = 0;
    for (let i = 0; i < list.length; i++) {
      const r = list[i];
      if (isRecordWire(r)) {
        for (const f of r[3]) this.host.observe(f[2]);
        if (r[6] !== null) this.host.observe(r[6][5]);
        this.host.state.mergeWire(r);
        n++;
      }
      if ((i & 31) === 31 && this.slices.due()) await this.slices.pause();
    }
    this.count(from, n);
  }

  private count(from: string, n: number): void {
    if (this.round?.peer !== from) return;
    this.round.received += n;
    this.round.alive();
  }

  private background(work: Promise<unknown>, what: string): void {
    work.catch((err: unknown) => this.host.warn(`${what} failed: ${(err as Error).message}`));
  }
}
