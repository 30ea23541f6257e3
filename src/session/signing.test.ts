import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NovaError } from '../errors.js';
import { generateSessionId } from './id.js';
import { SIGNED_VALUE_LENGTH, sessionSecrets, sign, verify, type SessionSecrets } from './signing.js';

const SECRET_A = 'secret A: at least thirty-two bytes long, really';
const SECRET_B = 'secret B: another one of at least thirty-two bytes';
const secrets = sessionSecrets([SECRET_A]);

function code(err: unknown): string | undefined {
  return err instanceof NovaError ? err.code : undefined;
}

/** A value whose MAC has one byte flipped but is still well-formed base64url. */
function flipMacByte(value: string, index: number): string {
  const [id, mac] = value.split('.') as [string, string];
  const bytes = Buffer.from(mac, 'base64url');
  bytes[index]! ^= 0x01;
  return `${id}.${bytes.toString('base64url')}`;
}

describe('sign / verify', () => {
  const id = generateSessionId();
  const value = sign(id, secrets);

  it('round-trips: <id>.<mac>, 87 characters', () => {
    assert.equal(value.length, SIGNED_VALUE_LENGTH);
    assert.ok(value.startsWith(`${id}.`));
    assert.equal(verify(value, secrets), id);
  });

  it('is deterministic for one id and secret, and differs between ids', () => {
    assert.equal(sign(id, secrets), value);
    assert.notEqual(sign(generateSessionId(), secrets).slice(44), value.slice(44));
  });

  it('refuses a tampered id', () => {
    const other = id[0] === 'A' ? 'B' : 'A';
    assert.equal(verify(`${other}${value.slice(1)}`, secrets), undefined);
  });

  it('refuses a MAC with any one byte flipped', () => {
    for (const i of [0, 15, 31]) assert.equal(verify(flipMacByte(value, i), secrets), undefined);
  });

  it('refuses a MAC whose last character has non-zero spare bits (same bytes, other text)', () => {
    const last = value[value.length - 1]!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const twin = alphabet[alphabet.indexOf(last) + 1]!;
    const forged = value.slice(0, -1) + twin;
    assert.deepEqual(Buffer.from(forged.slice(44), 'base64url'), Buffer.from(value.slice(44), 'base64url'));
    assert.equal(verify(forged, secrets), undefined);
  });

  it('refuses truncated MACs', () => {
    for (const cut of [1, 2, 10, 42, 43]) assert.equal(verify(value.slice(0, -cut), secrets), undefined);
  });

  it('refuses a valid value with anything appended', () => {
    for (const tail of ['A', '.', '.x', `.${value.slice(44)}`, ' ', ';']) {
      assert.equal(verify(value + tail, secrets), undefined);
    }
  });

  it('refuses an unsigned id, an id with an empty MAC, and a value without the dot', () => {
    assert.equal(verify(id, secrets), undefined);
    assert.equal(verify(`${id}.`, secrets), undefined);
    assert.equal(verify(value.replace('.', 'A'), secrets), undefined);
  });

  it('refuses a value signed with another secret', () => {
    assert.equal(verify(sign(id, [SECRET_B]), secrets), undefined);
  });

  it('verifies with every secret of the list (rotation) but signs with the first', () => {
    const old = sign(id, [SECRET_A]);
    const rotated = sessionSecrets([SECRET_B, SECRET_A]);
    assert.equal(verify(old, rotated), id);
    const fresh = sign(id, rotated);
    assert.equal(fresh, sign(id, [SECRET_B]));
    assert.equal(verify(fresh, [SECRET_A]), undefined);
  });

  it('refuses prototype names and never signs them', () => {
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      assert.equal(verify(name, secrets), undefined);
      assert.throws(
        () => sign(name, secrets),
        (err) => code(err) === 'NOVA_ERR_SESSION_ID_INVALID',
      );
    }
  });

  it('refuses a 10 KB value, including one made of valid values', () => {
    assert.equal(verify('a'.repeat(10_240), secrets), undefined);
    assert.equal(verify(value.repeat(118), secrets), undefined);
  });

  it('refuses non-ASCII values of the right length, and signs with a non-ASCII secret', () => {
    assert.equal(verify(`é${value.slice(1)}`, secrets), undefined);
    assert.equal(verify(`${value.slice(0, -1)}😀`.slice(0, SIGNED_VALUE_LENGTH), secrets), undefined);
    const unicode = ['ключ сессии — достаточно длинный секрет'];
    assert.equal(verify(sign(id, unicode), unicode), id);
    assert.equal(verify(sign(id, unicode), ['ключ сессии — другой достаточно длинный секрет']), undefined);
  });

  it('refuses non-strings', () => {
    for (const v of [undefined, null, 0, 87, true, [value], Buffer.from(value), { toString: () => value }]) {
      assert.equal(verify(v, secrets), undefined);
    }
  });

  it('does no key work for a malformed value', () => {
    const trap = {
      get keys(): never {
        throw new Error('keys were read');
      },
    } as unknown as SessionSecrets;
    for (const v of ['', 'garbage', id, `${id}.`, `${value}x`, 'a'.repeat(10_240)]) assert.equal(verify(v, trap), undefined);
    assert.throws(() => verify(value, trap), /keys were read/);
  });
});

describe('sessionSecrets', () => {
  it('refuses an empty list and short or non-string secrets', () => {
    const isConfig = (err: unknown) => code(err) === 'NOVA_ERR_CONFIG';
    assert.throws(() => sessionSecrets([]), isConfig);
    assert.throws(() => sessionSecrets(['short']), isConfig);
    assert.throws(() => sessionSecrets([SECRET_A, 'x'.repeat(31)]), isConfig);
    assert.throws(() => sessionSecrets([42 as unknown as string]), isConfig);
    assert.throws(() => sign(generateSessionId(), []), isConfig);
  });

  it('accepts Buffer secrets, equal to the same bytes as a string', () => {
    const id = generateSessionId();
    assert.equal(sign(id, [Buffer.from(SECRET_A)]), sign(id, [SECRET_A]));
  });

  it('notices when a plain secrets array is edited after first use', () => {
    const id = generateSessionId();
    const list = [SECRET_A];
    const before = sign(id, list);
    list[0] = SECRET_B;
    assert.notEqual(sign(id, list), before);
    assert.equal(sign(id, list), sign(id, [SECRET_B]));
  });
});
