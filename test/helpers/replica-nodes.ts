// Replicated stores on one in-process bus, each behind a transport the test can stall or make
// lossy: the fixture of the lease, loss and fencing tests.
import assert from 'node:assert/strict';
import { inProcessBus, type InProcessBus } from '../../src/pubsub/transports/in-process.js';
import type { Transport } from '../../src/pubsub/transport.js';
import type { SessionStoreOptions } from '../../src/session/store.js';
import { replicatedStore, type ReplicatedSessionStore, type ReplicatedStoreOptions } from '../../src/session/replication/store.js';
import { stallable, type StallableTransport } from './stallable.js';

const SECRET = 'replication-nodes-secret-0123456789abcdef';
export const OPTIONS: SessionStoreOptions = {
  idleTimeoutMs: 60_000,
  absoluteTimeoutMs: 600_000,
  touchIntervalMs: 1000,
  maxSessionBytes: 4096,
  maxSessions: 1000,
};

export interface Node {
  store: ReplicatedSessionStore;
  transport: StallableTransport;
  raw: Transport;
  /** What the store warned about (fenced, suspect peers, loss). */
  logs: string[];
}

/** Start `count` nodes; `extra` goes to every `replicatedStore`. */
export async function nodes(count: number, extra: Partial<ReplicatedStoreOptions> = {}, options = OPTIONS): Promise<{ bus: InProcessBus; all: Node[] }> {
  const bus = inProcessBus();
  const all: Node[] = [];
  for (let i = 0; i < count; i++) {
    const raw = bus.transport();
    const transport = stallable(raw);
    const logs: string[] = [];
    const store = replicatedStore({ transport, secret: SECRET, joinTimeoutMs: 20, warn: (m) => logs.push(m), ...extra });
    await store.start(options);
    all.push({ store, transport, raw, logs });
  }
  return { bus, all };
}

export async function stopAll(all: Node[]): Promise<void> {
  for (const n of all) await n.store.stop();
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll `check` every 5 ms until it holds; fail after `limitMs`. */
export async function waitFor(check: () => boolean | Promise<boolean>, limitMs = 5000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > end) assert.fail('timed out');
    await sleep(5);
  }
}
