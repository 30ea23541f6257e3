// A TCP proxy between one node and its transport (Redis, NATS) that can be stalled silently: every
// connection stays open, nothing is forwarded either way, nothing is closed or reset, so neither
// side learns anything from TCP. It is the partition a dropped route or a dead switch makes, which
// a client's reconnect logic never sees; only an end-to-end heartbeat can.
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface StallProxy {
  /** The target's URL with the proxy's port (same scheme): give it to the node instead. */
  readonly url: string;
  /** Stop forwarding, in both directions, on every connection (new ones are accepted and held). */
  stall(): void;
  /** Forward again: what was held back is delivered in order, as a healed network would. */
  resume(): void;
  readonly stalled: boolean;
  /** Connections accepted so far (a client that reconnects makes a new one). */
  readonly connections: number;
  close(): Promise<void>;
}

interface Pipe {
  readonly from: Socket;
  readonly to: Socket;
  readonly held: Buffer[];
}

/**
 * Start a proxy on a free loopback port in front of `targetUrl` (`redis://host:port`,
 * `nats://host:port`).
 *
 * @example
 * ```ts
 * const proxy = await stallProxy(server.url);
 * const node = await start({ SESSION_REPLICATION: proxy.url });
 * proxy.stall(); // the node is cut off, and cannot tell
 * proxy.resume();
 * ```
 */
export async function stallProxy(targetUrl: string): Promise<StallProxy> {
  const target = new URL(targetUrl);
  const sockets = new Set<Socket>();
  const pipes: Pipe[] = [];
  /** Accepted while stalled: connected upstream only on resume. */
  const waiting: Socket[] = [];
  let stalled = false;
  let connections = 0;

  const forward = (from: Socket, to: Socket) => {
    const pipe: Pipe = { from, to, held: [] };
    pipes.push(pipe);
    from.on('data', (chunk: Buffer) => {
      if (stalled) {
        // Data read before the pause took effect: keep it for later, in order.
        pipe.held.push(chunk);
        return;
      }
      if (!to.write(chunk)) {
        from.pause();
        to.once('drain', () => !stalled && from.resume());
      }
    });
    from.on('end', () => to.end());
  };

  const join = (client: Socket) => {
    // No Nagle: the proxy must not add delay of its own (40 ms with delayed ACKs) when not stalled.
    const upstream = connect({ host: target.hostname, port: Number(target.port), noDelay: true });
    client.setNoDelay(true);
    sockets.add(upstream);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    client.on('close', () => {
      sockets.delete(client);
      upstream.destroy();
    });
    forward(client, upstream);
    forward(upstream, client);
  };

  const server: Server = createServer((client) => {
    connections += 1;
    sockets.add(client);
    if (stalled) {
      client.pause();
      waiting.push(client);
    } else join(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };

  return {
    url: `${target.protocol}//127.0.0.1:${port}`,
    get stalled() {
      return stalled;
    },
    get connections() {
      return connections;
    },
    stall() {
      stalled = true;
      // Paused sockets stop reading: the kernel buffers fill and TCP flow control holds the
      // sender, with the connection open and no error on either side.
      for (const { from } of pipes) from.pause();
    },
    resume() {
      stalled = false;
      for (const pipe of pipes) {
        for (const chunk of pipe.held.splice(0)) if (!pipe.to.destroyed) pipe.to.write(chunk);
        if (!pipe.from.destroyed) pipe.from.resume();
      }
      for (const client of waiting.splice(0)) {
        if (client.destroyed) continue;
        join(client);
        client.resume();
      }
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
