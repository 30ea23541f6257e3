// The HAProxy helper must balance as the end-to-end tests assume: round-robin with no stickiness,
// saying which node answered, and (with a check path) draining a node whose /ready says 503.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, describe, it } from 'node:test';
import { haproxyBinary, startHaproxy, type Haproxy } from './haproxy.js';

const skip = haproxyBinary() !== undefined || process.env.CI === 'true' ? false : 'haproxy is not installed (Debian: apt-get install haproxy)';

async function node(name: string, readiness: { ready: boolean }): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    if (req.url === '/ready') res.writeHead(readiness.ready ? 200 : 503).end();
    else res.end(name);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as { port: number }).port };
}

describe('startHaproxy', { skip }, () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const step of cleanup) await step();
  });

  it('spreads the requests of one keep-alive client over every node in turn, naming the one that answered', async () => {
    const nodes = await Promise.all(['a', 'b', 'c'].map((n) => node(n, { ready: true })));
    cleanup.push(
      ...nodes.map(
        ({ server }) =>
          () =>
            new Promise((r) => server.close(r)),
      ),
    );
    const lb: Haproxy = await startHaproxy(nodes.map((n) => n.port));
    cleanup.push(() => lb.stop());
    const answers: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await fetch(lb.url);
      answers.push(`${await res.text()}:${res.headers.get('x-served-by')}`);
    }
    assert.deepEqual(answers, ['a:n0', 'b:n1', 'c:n2', 'a:n0', 'b:n1', 'c:n2']);
  });

  it('with a check path, stops sending to a node that is not ready and sends again once it is', async () => {
    const flaky = { ready: true };
    const nodes = [await node('a', { ready: true }), await node('b', flaky)];
    cleanup.push(
      ...nodes.map(
        ({ server }) =>
          () =>
            new Promise((r) => server.close(r)),
      ),
    );
    const lb = await startHaproxy(
      nodes.map((n) => n.port),
      { checkPath: '/ready', checkIntervalMs: 100 },
    );
    cleanup.push(() => lb.stop());
    const servedBy = async (count: number) => {
      const seen = new Set<string>();
      for (let i = 0; i < count; i++) seen.add(await (await fetch(lb.url)).text());
      return [...seen].sort();
    };
    assert.deepEqual(await servedBy(4), ['a', 'b']);
    flaky.ready = false;
    await new Promise((r) => setTimeout(r, 800));
    assert.deepEqual(await servedBy(6), ['a'], 'the node that is not ready is drained');
    flaky.ready = true;
    await new Promise((r) => setTimeout(r, 800));
    assert.deepEqual(await servedBy(4), ['a', 'b'], 'and back once ready');
  });
});
