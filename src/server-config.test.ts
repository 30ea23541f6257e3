import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from './config.js';
import { NovaError } from './errors.js';

const routes = () => [];

function failsAt(input: unknown, key: string, message?: RegExp) {
  assert.throws(
    () => loadConfig(input as Parameters<typeof loadConfig>[0]),
    (err: unknown) =>
      err instanceof NovaError && err.code === 'NOVA_ERR_CONFIG' && err.message.includes(`"${key}"`) && (message === undefined || message.test(err.message)),
    `expected an error naming ${key}${message ? ` matching ${message}` : ''}`,
  );
}

describe('config.server (limits)', () => {
  it('has safe defaults, in milliseconds', () => {
    const { server } = loadConfig({ routes });
    assert.deepEqual(server, {
      headersTimeout: 10_000,
      requestTimeout: 30_000,
      bodyTimeout: 10_000,
      keepAliveTimeout: 5_000,
      maxConnections: 10_000,
      maxHeaderSize: 16 * 1024,
    });
  });

  it('takes a partial section and fills in the rest', () => {
    const { server } = loadConfig({ routes, server: { bodyTimeout: 500 } });
    assert.equal(server.bodyTimeout, 500);
    assert.equal(server.requestTimeout, 30_000);
  });

  it('refuses zero, negative, fractional and non-numeric values, naming the key and the unit', () => {
    failsAt({ routes, server: { headersTimeout: 0 } }, 'server.headersTimeout');
    failsAt({ routes, server: { requestTimeout: -1 } }, 'server.requestTimeout');
    failsAt({ routes, server: { bodyTimeout: 0.5 } }, 'server.bodyTimeout', /milliseconds/);
    failsAt({ routes, server: { keepAliveTimeout: '5s' } }, 'server.keepAliveTimeout', /milliseconds/);
    failsAt({ routes, server: { maxConnections: 0 } }, 'server.maxConnections');
    failsAt({ routes, server: { maxHeaderSize: 100 } }, 'server.maxHeaderSize', /1024 bytes/);
  });

  it('refuses a headers or body timeout longer than the whole request may take', () => {
    failsAt({ routes, server: { headersTimeout: 20_000, requestTimeout: 10_000 } }, 'server.headersTimeout', /requestTimeout/);
    failsAt({ routes, server: { bodyTimeout: 40_000 } }, 'server.bodyTimeout', /requestTimeout \(30000 ms\)/);
  });

  it('names an unknown key (a typo is an error)', () => {
    failsAt({ routes, server: { bodyTimeOut: 500 } }, 'server.bodyTimeOut');
  });
});

describe('config.tls', () => {
  it('is off by default and takes PEM strings or Buffers', () => {
    assert.equal(loadConfig({ routes }).tls, undefined);
    const tls = loadConfig({ routes, tls: { key: Buffer.from('k'), cert: 'c', passphrase: 'p' } }).tls;
    assert.ok(tls !== undefined && Buffer.isBuffer(tls.key) && tls.cert === 'c');
  });

  it('needs both key and cert, and knows its keys', () => {
    failsAt({ routes, tls: { key: 'k' } }, 'tls.cert');
    failsAt({ routes, tls: { cert: 'c' } }, 'tls.key');
    failsAt({ routes, tls: { key: '', cert: 'c' } }, 'tls.key');
    failsAt({ routes, tls: { key: 'k', cert: 'c', certificate: 'c' } }, 'tls.certificate');
  });
});
