/**
 * A real Redis Cluster for tests: three masters with a replica each, on free loopback ports, in a
 * temporary directory, with `cluster-node-timeout 1000` so a failover takes about two seconds.
 * `stop()` kills every process it started (call it from `after()`, it is safe to call twice).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One node of the cluster: its port and its process. */
export interface ClusterNode {
  port: number;
  process: ChildProcess;
}

/** A running cluster. */
export interface RedisClusterHandle {
  nodes: ClusterNode[];
  /** `redis+cluster://127.0.0.1:P1,127.0.0.1:P2,…`, the URL the session store takes. */
  url: string;
  /** The port of the master that owns `key`'s slot. */
  masterOf(key: string): number;
  /** The port of the replica of the master on `port`. */
  replicaOf(port: number): number;
  /** Kill one node with SIGKILL. */
  kill(port: number): void;
  /** Wait until the cluster says `cluster_state:ok` on every living node and no slot is served by a dead one. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  stop(): void;
}

/** Why a cluster cannot be started here (no redis-server or redis-cli), or undefined. */
export function clusterUnavailable(): string | undefined {
  for (const bin of ['redis-server', 'redis-cli']) {
    const r = spawnSync(bin, ['--version'], { encoding: 'utf8' });
    if (r.error !== undefined || r.status !== 0) return `${bin} is not installed`;
  }
  return undefined;
}

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function cli(port: number, ...args: string[]): string {
  const r = spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8', timeout: 5000 });
  return r.status === 0 ? r.stdout : '';
}

/**
 * Start six nodes and join them into a cluster of three masters with one replica each.
 *
 * @example
 * ```ts
 * const cluster = await startRedisCluster();
 * after(() => cluster.stop());
 * const store = redisStore({ url: cluster.url });
 * ```
 */
export async function startRedisCluster(): Promise<RedisClusterHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'nova-redis-cluster-'));
  const nodes: ClusterNode[] = [];
  const dead = new Set<number>();
  let stopped = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    for (const n of nodes) if (n.process.exitCode === null) n.process.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  // A test process that dies must not leave six redis-servers behind.
  process.once('exit', stop);
  try {
    for (let i = 0; i < 6; i++) {
      const port = await freePort();
      const child = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          `nodes-${port}.conf`,
          '--cluster-node-timeout',
          '1000',
          '--dir',
          dir,
          '--save',
          '',
          '--appendonly',
          'no',
        ],
        { stdio: 'ignore' },
      );
      nodes.push({ port, process: child });
    }
    for (const n of nodes) {
      const deadline = Date.now() + 5000;
      while (!cli(n.port, 'PING').includes('PONG')) {
        if (Date.now() > deadline) throw new Error(`redis-server on port ${n.port} did not start`);
        await sleep(50);
      }
    }
    const create = spawnSync('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    const handle: RedisClusterHandle = {
      nodes,
      url: `redis+cluster://${nodes.map((n) => `127.0.0.1:${n.port}`).join(',')}`,
      masterOf(key) {
        const alive = nodes.find((n) => !dead.has(n.port));
        const slot = cli(alive?.port ?? 0, 'CLUSTER', 'KEYSLOT', key).trim();
        for (const n of nodes) {
          if (dead.has(n.port)) continue;
          const lines = cli(n.port, 'CLUSTER', 'NODES').split('\n');
          for (const line of lines) {
            const f = line.split(' ');
            if (!f[2]?.includes('master') || f[2].includes('fail')) continue;
            for (const range of f.slice(8)) {
              const [lo, hi] = range.split('-').map(Number);
              const s = Number(slot);
              if (lo !== undefined && s >= lo && s <= (hi ?? lo)) return Number(f[1]?.split(':')[1]?.split('@')[0]);
            }
          }
          break;
        }
        throw new Error(`no master found for ${key}`);
      },
      replicaOf(port) {
        const alive = nodes.find((n) => !dead.has(n.port));
        const lines = cli(alive?.port ?? 0, 'CLUSTER', 'NODES')
          .split('\n')
          .map((l) => l.split(' '));
        const master = lines.find((f) => f[1]?.startsWith(`127.0.0.1:${port}@`));
        const replica = lines.find((f) => f[2]?.includes('slave') && f[3] === master?.[0]);
        if (replica === undefined) throw new Error(`no replica found for the master on ${port}`);
        return Number(replica[1]?.split(':')[1]?.split('@')[0]);
      },
      kill(port) {
        dead.add(port);
        nodes.find((n) => n.port === port)?.process.kill('SIGKILL');
      },
      async waitHealthy(timeoutMs = 20_000) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const living = nodes.filter((n) => !dead.has(n.port));
          const ok = living.every((n) => cli(n.port, 'CLUSTER', 'INFO').includes('cluster_state:ok'));
          // Every slot must be on a living master: right after a kill the state can still read ok.
          const served =
            ok &&
            living.every((n) =>
              cli(n.port, 'CLUSTER', 'NODES')
                .split('\n')
                .filter((l) => l.includes('master') && l.split(' ').length > 8)
                .every((l) => !dead.has(Number(l.split(' ')[1]?.split(':')[1]?.split('@')[0])) && !l.includes('fail')),
            );
          // And every replica has finished its sync: until then WAIT has nobody to wait for.
          const synced =
            served &&
            living.every((n) => {
              const info = cli(n.port, 'INFO', 'replication');
              return !info.includes('role:slave') || info.includes('master_link_status:up');
            });
          if (synced) return;
          if (Date.now() > deadline) throw new Error('the redis cluster did not become healthy in time');
          await sleep(100);
        }
      },
      stop,
    };
    await handle.waitHealthy();
    return handle;
  } catch (err) {
    stop();
    throw err;
  }
}
