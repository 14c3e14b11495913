import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { JsonObject } from '../../core/model.js';

/**
 * How a ledger event's data is stored. The chain hashes the event's canonical JSON (ledger.ts),
 * never its stored form, so storage may pack it: on SQLite the JSON is deflated against a
 * preset dictionary of what events say (their keys, the hex of a hash, the usual values), which
 * keeps a few hundred bytes of small JSON in about a third of the room. The stored form is a
 * BLOB whose first byte names the encoding; a TEXT value is the JSON itself (Postgres, rows
 * written before packing, or a row edited by hand), and reads either. The dictionary of an
 * encoding never changes: another dictionary is another first byte.
 */
const DEFLATE_V1 = 0x01;

const DICTIONARY_V1 = Buffer.from(
  [
    '{"actor_id":"actor_","name":"","role":"","kind":"agent","kind":"human"}',
    '{"token_id":"token_","actor_id":"actor_","name":"","expires_at":null,"scope":null}',
    '{"run_id":"run_","definition":"","step":"","stage":"","effect":"","attempt":1,',
    '"approval_id":"approval_","gate":"","outcome":"completed","agent_invocation_id":"run_',
    '"role":"","artifact":"","model":"","error":null,"code":"","message":""}',
    '{"code":"SELF_APPROVAL","operation":"","subject":{},"reason":"","message":"Denied: ',
    '{"execution_id":"execution_","proposal_id":"proposal_","version":1,"tool":"","hash":"',
    '","dry_run":false,"status":"succeeded","output":{"ok":true},"error":null}',
    '{"decision_id":"decision_","proposal_id":"proposal_","decision":"approve","version":1,',
    '"hash":"","comment":null,"status":"approved","approvals":{"received":1,"required":1},',
    '"token":null,"purpose":"',
    '{"proposal_id":"proposal_","version":1,"hash":"","required_approvals":1,"required_roles":[]}',
    '{"proposal_id":"proposal_","version":1,"tool":"","risk":"write","params":{},"hash":"',
    '","reason":"","policy":{"effect":"review","approvals":1,"roles":[],"policy_version":"',
    '","reasons":["calls-need-review"],"errors":[]},"description":null,"workflow_id":"workflow_',
    '","agent_invocation_id":null,"purpose":"',
    '{"workflow_id":"workflow_","title":"","idempotency_key":null,"purpose":"',
  ].join(''),
);

/** The stored form of an event's data on `dialect`. */
export function packLedgerData(data: JsonObject, dialect: string): string | Uint8Array {
  const text = JSON.stringify(data);
  if (dialect !== 'sqlite') return text;
  // Level 1: events are small and mostly dictionary matches, so the fastest level packs them
  // within a few bytes of the default level at two thirds of the time (it is on every write).
  const packed = deflateRawSync(text, { dictionary: DICTIONARY_V1, level: 1 });
  if (packed.length + 1 >= Buffer.byteLength(text)) return text;
  return Buffer.concat([Buffer.of(DEFLATE_V1), packed]);
}

/**
 * An event's data from its stored form (either form, on either store). Bytes that do not
 * unpack (another first byte, a damaged stream) read as `{ unreadable }`: the event then no
 * longer matches its hash, and verification names it as altered rather than failing.
 */
export function unpackLedgerData(stored: string | Uint8Array): JsonObject {
  if (typeof stored === 'string') return JSON.parse(stored) as JsonObject;
  const bytes = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
  if (bytes[0] !== DEFLATE_V1)
    return { unreadable: `packed data in an unknown encoding (first byte ${bytes[0] ?? 'none'})` };
  try {
    const text = inflateRawSync(bytes.subarray(1), { dictionary: DICTIONARY_V1 });
    return JSON.parse(text.toString('utf8')) as JsonObject;
  } catch {
    return { unreadable: 'packed data that does not unpack' };
  }
}
