import { Duplex } from 'node:stream';

/**
 * One end of an in-memory connection: what one side writes, the other reads. It carries the few
 * socket properties the framework reads (the peer's address) and no-op socket methods, so Node's
 * HTTP server and client run over it as over TCP, parser and all, without opening a port.
 */
export class MemorySocket extends Duplex {
  peer!: MemorySocket;
  readonly remoteAddress: string;
  readonly remotePort = 0;

  constructor(remoteAddress: string) {
    super();
    this.remoteAddress = remoteAddress;
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.peer.push(chunk);
    done();
  }

  override _final(done: (err?: Error | null) => void): void {
    this.peer.push(null);
    done();
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    // A connection torn down on one side is gone for the other too, as with TCP.
    if (!this.peer.destroyed) this.peer.destroy();
    done(err);
  }

  setTimeout(_ms: number, _callback?: () => void): this {
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }
}

/** Two connected ends: the client's and the server's. */
export function socketPair(clientAddress = '127.0.0.1'): { client: MemorySocket; server: MemorySocket } {
  const client = new MemorySocket('127.0.0.1');
  const server = new MemorySocket(clientAddress);
  client.peer = server;
  server.peer = client;
  return { client, server };
}
