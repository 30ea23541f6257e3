import type { AddressInfo } from 'node:net';
import { createApp, type App, type NovaConfigInput } from 'nova-ts';

export interface Served {
  readonly app: App;
  readonly url: string;
  /** What the app logged as warnings and errors. */
  readonly logged: unknown[][];
  close(): Promise<void>;
}

/** Start an app on a free loopback port, as a real server; errors are collected instead of printed. */
export async function serve(config: NovaConfigInput): Promise<Served> {
  const logged: unknown[][] = [];
  const logger = { info: () => {}, warn: (...a: unknown[]) => logged.push(a), error: (...a: unknown[]) => logged.push(a) };
  const app = createApp({ logger, ...config, port: 0, host: '127.0.0.1' });
  const server = await app.listen();
  const { port } = server.address() as AddressInfo;
  return { app, url: `http://127.0.0.1:${port}`, logged, close: () => app.close() };
}
