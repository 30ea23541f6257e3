import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createApp } from './app.js';
import type { SessionStore, StoreReadiness } from './session/store.js';
import { memoryStore } from './session/stores/memory.js';

const quiet = { info: () => {}, warn: () => {}, error: () => {} };

/** A working store whose readiness the test sets. */
function storeSaying(answer: () => StoreReadiness): SessionStore {
  return Object.assign(memoryStore(), { readiness: answer });
}

describe('app.readiness()', () => {
  it('is not ready before start, ready once started, and not ready from the moment close is called', async () => {
    const app = createApp({ routes: [], logger: quiet });
    assert.deepEqual(app.readiness(), { ready: false, reasons: ['starting'] });
    await app.start();
    assert.deepEqual(app.readiness(), { ready: true, reasons: [] });
    const closed = app.close();
    assert.deepEqual(app.readiness(), { ready: false, reasons: ['closing'] }, 'a draining node takes no new traffic');
    await closed;
    assert.deepEqual(app.readiness(), { ready: false, reasons: ['closing'] });
  });

  it("follows the session store's readiness on every call, with its reason", async () => {
    let answer: StoreReadiness = { ready: true };
    const app = createApp({ routes: [], logger: quiet, session: { store: storeSaying(() => answer) } });
    await app.start();
    assert.deepEqual(app.readiness(), { ready: true, reasons: [] });
    answer = { ready: false, reason: 'fenced: lease ran out' };
    assert.deepEqual(app.readiness(), { ready: false, reasons: ['session store: fenced: lease ran out'] });
    answer = { ready: false };
    assert.deepEqual(app.readiness(), { ready: false, reasons: ['session store: not ready'] });
    answer = { ready: true };
    assert.equal(app.readiness().ready, true, 'ready again as soon as the store is');
    await app.close();
  });

  it('gives every reason at once, and a store check that throws counts as not ready', async () => {
    const app = createApp({
      routes: [],
      logger: quiet,
      session: {
        store: storeSaying(() => {
          throw new Error('boom');
        }),
      },
    });
    assert.deepEqual(app.readiness(), { ready: false, reasons: ['starting', 'session store: readiness check failed'] });
  });

  it('counts a store without readiness(), and an app without sessions, as ready once started', async () => {
    for (const config of [
      { routes: [], logger: quiet },
      { routes: [], logger: quiet, useSessions: false },
    ]) {
      const app = createApp(config);
      await app.start();
      assert.deepEqual(app.readiness(), { ready: true, reasons: [] });
      await app.close();
    }
  });
});
