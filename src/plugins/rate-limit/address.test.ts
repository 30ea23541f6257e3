import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addressKey } from './address.js';

describe('rate-limit address keys', () => {
  it('keeps IPv4 addresses, also IPv4-mapped ones', () => {
    assert.equal(addressKey('192.0.2.1', 64), '192.0.2.1');
    assert.equal(addressKey('::ffff:192.0.2.1', 64), '192.0.2.1');
    assert.equal(addressKey('::FFFF:192.0.2.1', 64), '192.0.2.1');
  });

  it('counts IPv6 by network, so one /64 is one client', () => {
    assert.equal(addressKey('2001:db8:1:2:aaaa::1', 64), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:db8:1:2:ffff:ffff:ffff:ffff', 64), '2001:db8:1:2::/64');
    assert.equal(addressKey('2001:0DB8:0001:0002:0:0:0:1', 64), '2001:db8:1:2::/64');
    assert.notEqual(addressKey('2001:db8:1:3::1', 64), addressKey('2001:db8:1:2::1', 64));
    assert.equal(addressKey('2001:db8:1:2:aaaa::1', 56), '2001:db8:1::/56');
    assert.equal(addressKey('2001:db8:1:2:aaaa::1', 128), '2001:db8:1:2:aaaa::1/128');
    assert.equal(addressKey('fe80::1%eth0', 64), 'fe80::/64');
    assert.equal(addressKey('::1', 64), '::/64');
  });

  it('counts what it cannot read as written', () => {
    assert.equal(addressKey('not:an:address', 64), 'not:an:address');
    assert.equal(addressKey('1::2::3', 64), '1::2::3');
  });
});
