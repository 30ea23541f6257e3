// Every benchmark target calls this once it listens: it tells the parent the port and answers
// the parent's CPU probes, so the benchmark can report server CPU per request.
import type { AddressInfo } from 'node:net';

export function ready(server: { address(): AddressInfo | string | null }): void {
  process.on('message', (msg: unknown) => {
    if (msg === 'cpu') {
      const { user, system } = process.cpuUsage();
      process.send?.({ cpu: user + system });
    } else if (msg === 'heap') {
      (globalThis as { gc?: () => void }).gc?.();
      process.send?.({ heap: process.memoryUsage().heapUsed });
    }
  });
  // A normal exit on SIGTERM, so `node --cpu-prof` writes its profile (BENCH_NODE_ARGS).
  process.once('SIGTERM', () => process.exit(0));
  process.stdout.write(`READY ${(server.address() as AddressInfo).port}\n`);
}
