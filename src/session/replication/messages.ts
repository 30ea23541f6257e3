/**
 * What replicating nodes say to each other. Messages are authenticated by the bus before they get
 * here; the checks below still refuse anything malformed, so a bug in one node cannot crash the
 * others. Ops are arrays, not objects: a busy node sends thousands a second.
 */
import { MAX_USER_ID_LENGTH } from '../users.js';
import type { BindingWire, FieldWire, RecordWire } from './records.js';
import type { FactWire, RevocationWire } from './users-index.js';

// Session ids in every op and record are `hashSessionId(id)`: the raw id never leaves the node.

/** Set a key (text) or delete it (null): `[op, id, key, text, t, n, created, lastSeen]`. */
export type SetOp = ['s', string, string, string | null, number, string, number, number];
/** End a session (delete or expiry): `[op, id, t, n, created]`. */
export type KillOp = ['k', string, number, string, number];
/** Rotate: old id ends, new id gets its keys and binding: `[op, old, new, t, n, created, lastSeen, fields, binding, facts]`. */
export type RotateOp = ['r', string, string, number, string, number, number, FieldWire[], BindingWire | null, FactWire[]];
/** A read refreshed "last seen": `[op, id, lastSeen]`. Not versioned: it only ever moves later. */
export type TouchOp = ['u', string, number];
/** Tie a session to a user (creating it if new): `[op, id, binding, created, lastSeen]`. */
export type BindOp = ['b', string, BindingWire, number, number];
/** Revoke all of a user's sessions but one handle (`''`: none): `[op, userId, except, t, n]`; t is the stamp. */
export type RevokeOp = ['x', string, string, number, string];
export type Op = SetOp | KillOp | RotateOp | TouchOp | BindOp | RevokeOp;

/** What catch-up (catchup.ts) says, on the shared channel (`hello`, broadcast records) or point to point. */
export type CatchUpMessage =
  | { hello: true } // who is there? (shared)
  | { here: { up: boolean; size: number } } // an answer to hello: caught up? how many entries?
  | { sum: { k: number; full: boolean; root: string; size: number } } // round k: my whole digest (full: send me everything)
  | { same: { k: number; up: boolean } } // round k: equal, nothing to send
  | { buckets: { k: number; up: boolean; bits: number; data: string } } // round k: my 2^bits bucket digests, base64
  | { want: { k: number; bits: number; diff: string; hashes: string; last: boolean } } // round k: these buckets differ (bitmap); my entries in them (8-byte hashes, base64)
  | { need: { k: number; hashes: string } } // round k: of your hashes, these I lack (base64)
  | { revocations: RevocationWire[] } // records and revocations: a broadcast or part of a round
  | { records: RecordWire[] }
  | { synced: { k: number; up: boolean } }; // round k: all my records for it are sent

/**
 * Everything on the shared channel and on a node's own channel. On the shared channel every data
 * message also carries `q`, its sender's next number (sequence.ts): a hole is a lost message.
 */
export type Message =
  | { ops: Op[]; confirm?: number } // with `confirm`: kills, each peer answers `applied` once it applied them (kills.ts)
  | { applied: number } // to a kill's issuer: message `confirm` applied here
  | { beat: number; q: number } // a heartbeat, on the shared channel (lease.ts); q: the sender's last data message number
  | { bye: true } // this node stops: wait for it no more
  | CatchUpMessage // who is there, digests, records that differ (catchup.ts)
  | { ping: number }; // a read barrier coming back to its sender

const str = (v: unknown): v is string => typeof v === 'string';
const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const text = (v: unknown): v is string | null => v === null || typeof v === 'string';
const user = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_USER_ID_LENGTH;

export function isOp(v: unknown): v is Op {
  if (!Array.isArray(v)) return false;
  switch (v[0]) {
    case 's':
      return v.length === 8 && str(v[1]) && str(v[2]) && text(v[3]) && num(v[4]) && str(v[5]) && num(v[6]) && num(v[7]);
    case 'k':
      return v.length === 5 && str(v[1]) && num(v[2]) && str(v[3]) && num(v[4]);
    case 'r':
      return (
        v.length === 10 &&
        str(v[1]) &&
        str(v[2]) &&
        num(v[3]) &&
        str(v[4]) &&
        num(v[5]) &&
        num(v[6]) &&
        Array.isArray(v[7]) &&
        v[7].every(isFieldWire) &&
        (v[8] === null || isBindingWire(v[8])) &&
        Array.isArray(v[9]) &&
        v[9].every(isFactWire)
      );
    case 'u':
      return v.length === 3 && str(v[1]) && num(v[2]);
    case 'b':
      return v.length === 5 && str(v[1]) && isBindingWire(v[2]) && num(v[3]) && num(v[4]);
    case 'x':
      return v.length === 5 && user(v[1]) && str(v[2]) && num(v[3]) && str(v[4]);
    default:
      return false;
  }
}

function isFieldWire(f: unknown): f is FieldWire {
  return Array.isArray(f) && f.length === 4 && str(f[0]) && text(f[1]) && num(f[2]) && str(f[3]);
}

function isBindingWire(b: unknown): b is BindingWire {
  return Array.isArray(b) && b.length === 7 && user(b[0]) && str(b[1]) && num(b[2]) && text(b[3]) && text(b[4]) && num(b[5]) && str(b[6]);
}

function isFactWire(f: unknown): f is FactWire {
  return Array.isArray(f) && f.length === 3 && user(f[0]) && num(f[1]) && str(f[2]);
}

export function isRevocationWire(v: unknown): v is RevocationWire {
  return Array.isArray(v) && v.length === 3 && user(v[0]) && num(v[1]) && str(v[2]);
}

export function isRecordWire(v: unknown): v is RecordWire {
  return (
    Array.isArray(v) &&
    v.length === 8 &&
    str(v[0]) &&
    num(v[1]) &&
    num(v[2]) &&
    Array.isArray(v[3]) &&
    v[3].every(isFieldWire) &&
    (v[4] === 0 || v[4] === 1) &&
    Array.isArray(v[5]) &&
    v[5].every(str) &&
    (v[6] === null || isBindingWire(v[6])) &&
    Array.isArray(v[7]) &&
    v[7].every(isFactWire)
  );
}
