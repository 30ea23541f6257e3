// A child process for the shutdown test: serves /slow (answers after SLOW_MS) and exits on SIGTERM.
import type { AddressInfo } from 'node:net';
import { closeOnSignals, createApp, json } from 'nova-ts';

const slowMs = Number(process.env.SLOW_MS ?? 500);
const app = createApp({
  host: '127.0.0.1',
  port: 0,
  shutdownTimeout: Number(process.env.SHUTDOWN_TIMEOUT ?? 5000),
  logger: { info: () => {}, warn: console.warn, error: console.error },
  routes: [
    {
      routes: [
        [
          '/slow',
          async () => {
            await new Promise((r) => setTimeout(r, slowMs));
            return json({ finished: true });
          },
        ],
        ['/fast', () => json({ fast: true })],
      ],
    },
  ],
});
const server = await app.listen();
closeOnSignals(app, { info: () => {}, error: console.error });
process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
