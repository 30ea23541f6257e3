import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { Context } from '../context.js';
import { status } from '../results/result.js';
import { breakChain, runPhase, stop, type Plugin, type PluginOutcome } from './plugin.js';

// runPhase only hands the context on, so a context over an unconnected socket is enough here.
function context(): Context {
  const req = new IncomingMessage(new Socket());
  req.method = 'GET';
  req.url = '/';
  return new Context(req, new ServerResponse(req), { trustProxy: false });
}

/** A plugin that records its name in `log` and returns `outcome` from the given phase. */
function recorder(name: string, log: string[], outcome?: () => PluginOutcome | Promise<PluginOutcome>): Plugin {
  const hook = async () => {
    await new Promise((resolve) => setImmediate(resolve));
    log.push(name);
    return outcome?.();
  };
  return { name, preRequest: hook, postRequest: hook };
}

describe('runPhase', () => {
  it('runs the plugins in list order, each after the previous one finished', async () => {
    const log: string[] = [];
    const result = await runPhase([recorder('a', log), recorder('b', log), recorder('c', log)], 'preRequest', context());
    assert.deepEqual(log, ['a', 'b', 'c']);
    assert.equal(result, undefined);
  });

  it('runs only the hooks of the requested phase, skipping plugins without one', async () => {
    const log: string[] = [];
    const preOnly: Plugin = { name: 'pre', preRequest: () => void log.push('pre') };
    const postOnly: Plugin = { name: 'post', postRequest: () => void log.push('post') };
    await runPhase([preOnly, postOnly], 'postRequest', context());
    assert.deepEqual(log, ['post']);
  });

  it('calls hooks with the plugin as `this` and the context as argument', async () => {
    const ctx = context();
    let seen: unknown[] = [];
    const plugin: Plugin = {
      name: 'self',
      preRequest(arg) {
        seen = [this, arg];
      },
    };
    await runPhase([plugin], 'preRequest', ctx);
    assert.equal(seen[0], plugin);
    assert.equal(seen[1], ctx);
  });

  it('returns the first stop and runs no later plugin', async () => {
    const log: string[] = [];
    const first = status(204);
    const result = await runPhase(
      [recorder('a', log), recorder('b', log, () => stop(first)), recorder('c', log, () => stop(status(500)))],
      'preRequest',
      context(),
    );
    assert.equal(result, first);
    assert.deepEqual(log, ['a', 'b']);
  });

  it('ends the phase on break, without a result', async () => {
    const log: string[] = [];
    const result = await runPhase([recorder('a', log, () => breakChain()), recorder('b', log, () => stop(status(500)))], 'postRequest', context());
    assert.equal(result, undefined);
    assert.deepEqual(log, ['a']);
  });

  it('continues when a hook returns undefined, synchronously or not', async () => {
    const log: string[] = [];
    const sync: Plugin = { name: 'sync', preRequest: () => void log.push('sync') };
    const result = await runPhase([sync, recorder('async', log, () => undefined), recorder('last', log)], 'preRequest', context());
    assert.deepEqual(log, ['sync', 'async', 'last']);
    assert.equal(result, undefined);
  });

  it('throws the error of a throwing plugin, and runs no later plugin', async () => {
    const log: string[] = [];
    const boom = new Error('boom');
    const throwing: Plugin = {
      name: 'throwing',
      preRequest: () => {
        throw boom;
      },
    };
    await assert.rejects(
      async () => runPhase([recorder('a', log), throwing, recorder('c', log)], 'preRequest', context()),
      (err) => err === boom,
    );
    assert.deepEqual(log, ['a']);
  });

  it('rejects with the rejection of an async plugin', async () => {
    const boom = new Error('async boom');
    await assert.rejects(
      async () => runPhase([recorder('a', [], () => Promise.reject(boom))], 'preRequest', context()),
      (err) => err === boom,
    );
  });
});
