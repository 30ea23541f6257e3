import { connect } from 'node:net';

/** True when something accepts TCP connections at the URL's host and port (within a second). */
export function reachable(url: string, defaultPort: number): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname || '127.0.0.1', port: Number(port || defaultPort) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * How a test that needs an external service behaves without it: under CI it must fail, so a
 * missing service is never mistaken for a pass; elsewhere it is skipped, saying what is missing.
 */
export async function skipUnlessReachable(url: string, defaultPort: number, what: string): Promise<string | undefined> {
  if (await reachable(url, defaultPort)) return undefined;
  if (process.env.CI === 'true') throw new Error(`${what} is not reachable at ${new URL(url).host}; CI needs it running`);
  return `${what} is not reachable at ${new URL(url).host}: skipped (set CI=true to make this a failure)`;
}
