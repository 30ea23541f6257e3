// `npm run cluster`: the example as several Node cluster workers on one port (default one per
// core), sharing sessions over cluster IPC. Connections are spread round-robin by the primary, so
// consecutive requests of one browser land on different workers: no sticky routing.
import cluster from 'node:cluster';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { clusterHub } from 'nova-ts';

if (cluster.isPrimary) {
  const raw = process.env.CLUSTER_WORKERS;
  const count = raw === undefined || raw === '' ? availableParallelism() : Number(raw);
  if (!Number.isInteger(count) || count < 1) {
    console.error(`nova-ts cluster could not start: CLUSTER_WORKERS must be a whole number of at least 1, got "${raw}"`);
    process.exit(1);
  }
  const env: NodeJS.ProcessEnv = { SESSION_REPLICATION: 'cluster' };
  if (!process.env.SESSION_SECRET) {
    // Workers must share a secret; one made here lasts as long as this primary does.
    env.SESSION_SECRET = randomBytes(32).toString('base64url');
    console.warn('nova-ts cluster: no SESSION_SECRET set; the workers share a random one, so sessions end when the cluster stops');
  }
  cluster.setupPrimary({ silent: false });
  clusterHub();
  let stopping = false;
  const fork = () => cluster.fork(env);
  for (let i = 0; i < count; i++) fork();
  // A worker that dies is replaced; the new one pulls the sessions from the others as it starts.
  // One that dies before it ever listened has a start-up problem (its message is above): starting
  // it again would only loop, so the cluster stops instead.
  const served = new Set<number>();
  cluster.on('listening', (worker) => served.add(worker.id));
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    if (!served.has(worker.id)) {
      stopping = true;
      console.error(`nova-ts cluster: worker ${worker.process.pid} failed to start (${signal ?? code}); stopping`);
      for (const other of Object.values(cluster.workers ?? {})) other?.process.kill('SIGTERM');
      process.exitCode = 1;
      return;
    }
    console.error(`nova-ts cluster: worker ${worker.process.pid} exited (${signal ?? code}); starting another`);
    fork();
  });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      stopping = true;
      for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    });
  }
  console.info(`nova-ts cluster: primary ${process.pid} starting ${count} worker(s)`);
} else {
  await import('./main.js');
}
