import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startChild } from '../helpers/child.js';

const script = fileURLToPath(new URL('../helpers/slow-server.js', import.meta.url));

function get(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('graceful shutdown', () => {
  it('on SIGTERM stops accepting, finishes in-flight requests, then exits 0', async () => {
    const child = await startChild(script, { SLOW_MS: '800' }, /^(\d+)\n/m);
    const port = Number(child.match[1]);
    const inFlight = get(port, '/slow');
    await new Promise((r) => setTimeout(r, 200));
    child.proc.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 100));
    await assert.rejects(get(port, '/fast'), /ECONNREFUSED|ECONNRESET/, 'new connections are refused while draining');
    const done = await inFlight;
    assert.equal(done.status, 200);
    assert.deepEqual(JSON.parse(done.body), { finished: true });
    assert.equal(await child.exited, 0);
  });

  it('cuts requests that outlive the drain timeout and still exits', async () => {
    const child = await startChild(script, { SLOW_MS: '10000', SHUTDOWN_TIMEOUT: '300' }, /^(\d+)\n/m);
    const port = Number(child.match[1]);
    const inFlight = get(port, '/slow').then(
      () => 'answered',
      () => 'cut',
    );
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    child.proc.kill('SIGINT');
    assert.equal(await inFlight, 'cut');
    assert.equal(await child.exited, 0);
    assert.ok(Date.now() - t0 < 5000, 'exited long before the slow request would have finished');
  });
});
