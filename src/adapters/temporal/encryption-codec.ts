/**
 * A Temporal `PayloadCodec` that encrypts every payload Countersign sends to Temporal (workflow
 * and activity arguments and results, update and query arguments and results, failure details)
 * with AES-256-GCM, so the Temporal server, its database and its UI hold ciphertext only.
 *
 * Design decisions:
 * - The whole payload (its metadata and data, protobuf-encoded) is encrypted, and the result is
 *   a new payload whose metadata says `encoding: binary/encrypted` and
 *   `encryption-key-id: <id>`, as Temporal's encryption samples do: the original encoding stays
 *   secret too, and a decoder knows which key to use without trying each.
 * - A fresh random 12-byte IV per payload (never a counter: several processes encrypt with the
 *   same key). `data` is IV ‖ ciphertext ‖ 16-byte tag. The key ID is the additional
 *   authenticated data, so a payload relabelled with another key ID does not decrypt.
 * - Payloads that are not `binary/encrypted` pass through decode unchanged, as Temporal advises:
 *   histories written before encryption was on still replay and still read.
 * - A payload naming a key ID this process does not hold makes it re-read the key file once
 *   (at most once a second): a key added and made current by another process is picked up
 *   without a restart. Failures are CountersignErrors with stable codes (ENCRYPTION_KEY_UNKNOWN,
 *   DECRYPTION_FAILED), whose messages name key IDs, never key material or plaintext.
 *
 * Codecs run in the worker's and the client's Node.js process, never inside the workflow
 * sandbox, so node:crypto is fine here.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { METADATA_ENCODING_KEY, type Payload, type PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import { CountersignError } from '../../core/errors.js';
import { KEY_ID, type Keyring } from './key-file.js';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';

const CIPHER = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const RELOAD_EVERY_MS = 1_000;
const ProtoPayload = proto.temporal.api.common.v1.Payload;

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

export interface EncryptionCodecOptions {
  /**
   * Re-reads the key file (called when a payload names an unknown key ID, at most once a
   * second); without it the keyring is fixed.
   */
  readonly reload?: () => Keyring;
  /** Milliseconds since some epoch, for the reload interval; `Date.now` by default. */
  readonly now?: () => number;
}

export class EncryptionCodec implements PayloadCodec {
  private keyring: Keyring;
  private lastReload = Number.NEGATIVE_INFINITY;

  constructor(
    keyring: Keyring,
    private readonly options: EncryptionCodecOptions = {},
  ) {
    this.keyring = keyring;
  }

  /** The key ID payloads are encrypted with now. */
  get currentKeyId(): string {
    return this.keyring.current;
  }

  encode(payloads: Payload[]): Promise<Payload[]> {
    const { current, keys } = this.keyring;
    const key = keys.get(current)!;
    return Promise.resolve(
      payloads.map((payload) => ({
        metadata: {
          [METADATA_ENCODING_KEY]: utf8.encode(ENCRYPTED_ENCODING),
          [KEY_ID_METADATA]: utf8.encode(current),
        },
        data: encrypt(ProtoPayload.encode(payload).finish(), key, current),
      })),
    );
  }

  decode(payloads: Payload[]): Promise<Payload[]> {
    try {
      return Promise.resolve(payloads.map((p) => this.decodeOne(p)));
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }

  private decodeOne(payload: Payload): Payload {
    const encoding = payload.metadata?.[METADATA_ENCODING_KEY];
    if (!encoding || !sameText(encoding, ENCRYPTED_ENCODING)) return payload;
    const idBytes = payload.metadata?.[KEY_ID_METADATA];
    const keyId = idBytes ? text(idBytes) : undefined;
    if (keyId === undefined || keyId === '')
      throw failed('names no encryption key ID (metadata "encryption-key-id")');
    if (!KEY_ID.test(keyId)) throw failed('names a malformed encryption key ID');
    const key = this.keyFor(keyId);
    const data = payload.data ?? new Uint8Array();
    let plain: Buffer;
    try {
      plain = decrypt(data, key, keyId);
    } catch {
      throw failed(
        `does not authenticate under key "${keyId}": it was altered or truncated, or key "${keyId}" in the key file is not the key it was encrypted with`,
        keyId,
      );
    }
    try {
      return ProtoPayload.decode(plain);
    } catch {
      throw failed(`decrypted under key "${keyId}" but is not a Temporal payload`, keyId);
    }
  }

  private keyFor(keyId: string): Buffer {
    const known = this.keyring.keys.get(keyId);
    if (known) return known;
    const { reload, now = Date.now } = this.options;
    if (reload && now() - this.lastReload >= RELOAD_EVERY_MS) {
      this.lastReload = now();
      this.keyring = reload();
      const found = this.keyring.keys.get(keyId);
      if (found) return found;
    }
    throw new CountersignError(
      'ENCRYPTION_KEY_UNKNOWN',
      `A Temporal payload is encrypted with key "${keyId}", which the key file does not hold (it holds ${[...this.keyring.keys.keys()].join(', ')}): add that key to the key file of every Countersign process.`,
      { key_id: keyId, known_key_ids: [...this.keyring.keys.keys()] },
    );
  }
}

function encrypt(plain: Uint8Array, key: Buffer, keyId: string): Uint8Array {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(CIPHER, key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(utf8.encode(keyId));
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

function decrypt(data: Uint8Array, key: Buffer, keyId: string): Buffer {
  if (data.length < IV_BYTES + TAG_BYTES) throw new Error('too short');
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const decipher = createDecipheriv(CIPHER, key, bytes.subarray(0, IV_BYTES), {
    authTagLength: TAG_BYTES,
  });
  decipher.setAAD(utf8.encode(keyId));
  decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
  return Buffer.concat([
    decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)),
    decipher.final(),
  ]);
}

function failed(why: string, keyId?: string): CountersignError {
  return new CountersignError('DECRYPTION_FAILED', `An encrypted Temporal payload ${why}.`, {
    ...(keyId !== undefined ? { key_id: keyId } : {}),
  });
}

function text(bytes: Uint8Array): string | undefined {
  try {
    return fromUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}

function sameText(bytes: Uint8Array, expected: string): boolean {
  return text(bytes) === expected;
}
