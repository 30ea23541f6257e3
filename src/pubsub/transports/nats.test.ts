/**
 * The NATS transport: the shared engine scenarios (`test/helpers/transport-engine-scenarios.ts`: conformance against the
 * NATS server at NATS_URL, default nats://127.0.0.1:4222, and outages of a nats-server of its
 * own), plus what only NATS has: a connection passed in, and channels that must be subjects.
 * Without NATS (or the nats-server binary) these tests fail under CI (CI=true) and are skipped
 * elsewhere.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from '@nats-io/transport-node';
import { rejectsWith } from '../../testing/session-store.lifecycle.js';
import { engineTransportScenarios, roundTrip } from '../../../test/helpers/transport-engine-scenarios.js';
import { natsTransport } from './nats.js';

const servers = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

await engineTransportScenarios({
  name: 'nats',
  title: 'NATS',
  defaultPort: 4222,
  url: servers,
  probeUrl: servers.split(',')[0]!, // NATS_URL may list several servers
  transport: (to, options) => natsTransport({ servers: to, ...options }),
  server: 'nats-server',
  serverArgs: (port) => ['-a', '127.0.0.1', '-p', String(port)],
  // The NATS client notices the kill a little later: until then a publish is not refused at once.
  refusesAtOnceWhenKilled: false,
  liveTests() {
    it('works on a connection passed in, and leaves it open on stop()', async () => {
      const connection = await connect({ servers });
      const transport = natsTransport({ connection });
      try {
        await roundTrip(transport);
        await transport.stop();
        assert.equal(connection.isClosed(), false, 'the connection passed in is still open');
        await connection.flush();
      } finally {
        await transport.stop();
        await connection.close();
      }
    });

    it('refuses channels that are not plain NATS subjects', async () => {
      const transport = natsTransport({ servers });
      await transport.start();
      try {
        for (const bad of ['', 'has space', 'a..b', '.a', 'a.', 'a.*', 'a.>', 'tab\there']) {
          await rejectsWith(transport.publish(bad, 'x'), 'NOVA_ERR_CONFIG');
          await rejectsWith(
            transport.subscribe(bad, () => {}),
            'NOVA_ERR_CONFIG',
          );
        }
      } finally {
        await transport.stop();
      }
    });
  },
});
