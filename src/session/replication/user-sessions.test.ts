// A login on a replicated node when its lease runs out mid-call and the transport is down.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { errors } from '../../errors.js';
import { generateSessionId } from '../id.js';
import type { Op } from './messages.js';
import { UserSessions, type StoreCore } from './user-sessions.js';

/**
 * A store core whose lease holds for the first `readyCalls` checks and then has run out, and whose
 * transport is down: every publish is refused a moment later, as a real one is after its timeout.
 * The race it stands for (the lease expiring between two checks of one call) lasts microseconds
 * on a real node, so it is made certain here rather than waited for.
 */
function expiringCore(readyCalls: number): StoreCore {
  let calls = 0;
  const ready = () => {
    if (++calls > readyCalls) throw errors.sessionNodeFenced('its lease ran out');
    return Date.now();
  };
  return {
    options: { maxSessionsPerUser: 10 },
    ready,
    behind: false,
    settled: async () => ready(),
    find: () => undefined,
    lookup: async () => undefined,
    writable: () => undefined,
    reserve: () => {},
    times: (_record: unknown, now: number) => [now, now],
    barrier: async () => true,
    issue: (_op: Op) => new Promise<void>((_, reject) => setTimeout(() => reject(errors.pubsubUnavailable('not connected')), 10)),
    kill: async () => {},
    stamp: () => [Date.now(), 'n1'],
  } as unknown as StoreCore;
}

describe('UserSessions.bindUser', () => {
  it('rejects, and leaves no rejection unhandled, when the lease runs out after the bind was published and the publish then fails', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const users = new UserSessions(expiringCore(1));
      await assert.rejects(
        users.bindUser(generateSessionId(), 'ada', {}),
        (err: { code?: string }) => err.code === 'NOVA_ERR_SESSION_NODE_FENCED' || err.code === 'NOVA_ERR_PUBSUB_UNAVAILABLE',
      );
      // The publish is refused 10 ms later: give an unhandled rejection the time to show.
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
    assert.deepEqual(unhandled, [], 'a failed publish nobody waits for would end a real process');
  });
});
