// Every benchmark target calls this once it listens: it tells the parent the port and answers
// the parent's CPU probes, so the benchmark can report server CPU per request.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import type { AddressInfo } from 'node:net';

// BENCH_PROFILE=<dir>: the parent asks for a CPU profile of the read phase alone ('profile-start',
// 'profile-stop'), written to <dir>/<pid>.cpuprofile; a whole-process --cpu-prof would be mostly logins.
let inspector: Session | undefined;
function profile(msg: 'profile-start' | 'profile-stop'): void {
  if (msg === 'profile-start') {
    inspector = new Session();
    inspector.connect();
    inspector.post('Profiler.enable', () => inspector?.post('Profiler.start', () => process.send?.({ profile: 1 })));
    return;
  }
  inspector?.post('Profiler.stop', (err, { profile: result }) => {
    if (err === null) writeFileSync(`${process.env.BENCH_PROFILE}/${process.pid}.cpuprofile`, JSON.stringify(result));
    inspector?.disconnect();
    process.send?.({ profile: 1 });
  });
}

export function ready(server: { address(): AddressInfo | string | null }): void {
  process.on('message', (msg: unknown) => {
    if (msg === 'cpu') {
      const { user, system } = process.cpuUsage();
      process.send?.({ cpu: user + system });
    } else if (msg === 'heap') {
      (globalThis as { gc?: () => void }).gc?.();
      process.send?.({ heap: process.memoryUsage().heapUsed });
    } else if (msg === 'profile-start' || msg === 'profile-stop') {
      profile(msg);
    }
  });
  // A normal exit on SIGTERM, so `node --cpu-prof` writes its profile (BENCH_NODE_ARGS).
  process.once('SIGTERM', () => process.exit(0));
  process.stdout.write(`READY ${(server.address() as AddressInfo).port}\n`);
}
