/**
 * The AES-256 keys that encrypt what Countersign sends to Temporal, kept in a JSON file outside
 * Temporal:
 *
 *     {"current": "k2", "keys": {"k1": "<base64 of 32 bytes>", "k2": "<base64 of 32 bytes>"}}
 *
 * New payloads are encrypted with `current`; a payload is decrypted with whichever key its
 * metadata names, so rotating is adding a key and making it current. Error messages name the
 * file and the offending entry, never key material.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { CountersignError } from '../../core/errors.js';

export interface Keyring {
  /** The key ID new payloads are encrypted with. */
  readonly current: string;
  /** Every key that may decrypt, by key ID. */
  readonly keys: ReadonlyMap<string, Buffer>;
}

/** AES-256: 32-byte keys. */
export const KEY_BYTES = 32;
/** Key IDs travel in payload metadata: short, printable, no separators to confuse a reader. */
export const KEY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** Far larger than any sane key file; stops a wrong path (a log, a database) being read whole. */
const MAX_FILE_BYTES = 1024 * 1024;

function invalid(file: string, reason: string, cause?: unknown): CountersignError {
  return new CountersignError(
    'ENCRYPTION_KEYS_INVALID',
    `The Temporal key file ${file} ${reason}`,
    {
      file,
      ...(cause instanceof Error && 'code' in cause ? { reason: String(cause.code) } : {}),
    },
  );
}

/** Parses the key file's text; `file` only names it in errors. */
export function parseKeyring(text: string, file: string): Keyring {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw invalid(file, 'is not valid JSON; expected {"current": "<key id>", "keys": {...}}.');
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    throw invalid(file, 'must hold a JSON object {"current": "<key id>", "keys": {...}}.');
  const { current, keys } = doc as { current?: unknown; keys?: unknown };
  if (typeof keys !== 'object' || keys === null || Array.isArray(keys))
    throw invalid(file, 'has no "keys" object mapping key IDs to base64 AES-256 keys.');
  const map = new Map<string, Buffer>();
  for (const [id, value] of Object.entries(keys)) {
    if (!KEY_ID.test(id))
      throw invalid(
        file,
        `has a key ID ${JSON.stringify(id.slice(0, 80))} that is not 1 to 64 letters, digits, ".", "_" or "-".`,
      );
    const bytes =
      typeof value === 'string' && BASE64.test(value) ? Buffer.from(value, 'base64') : null;
    if (!bytes || bytes.length !== KEY_BYTES)
      throw invalid(
        file,
        `has key "${id}" that is not the base64 of ${KEY_BYTES} bytes (an AES-256 key); make one with \`openssl rand -base64 32\`.`,
      );
    map.set(id, bytes);
  }
  if (typeof current !== 'string' || current === '')
    throw invalid(file, 'has no "current" naming the key ID new payloads are encrypted with.');
  if (!map.has(current))
    throw invalid(
      file,
      `names "${current}" as current, but "keys" has no such key (it has ${[...map.keys()].join(', ') || 'none'}).`,
    );
  return { current, keys: map };
}

/** Reads and parses the key file; a missing, unreadable or malformed one is ENCRYPTION_KEYS_INVALID. */
export function readKeyFile(file: string): Keyring {
  let text: string;
  try {
    const stat = fs.statSync(file);
    if (!stat.isFile()) throw invalid(file, 'is not a regular file.');
    if (stat.size > MAX_FILE_BYTES)
      throw invalid(file, 'is larger than 1 MiB: is it the key file?');
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if (e instanceof CountersignError) throw e;
    const code = (e as { code?: unknown }).code;
    throw invalid(
      file,
      code === 'ENOENT'
        ? 'does not exist.'
        : code === 'EACCES' || code === 'EPERM'
          ? 'cannot be read by this process (permission denied).'
          : 'cannot be read.',
      e,
    );
  }
  return parseKeyring(text, file);
}

/** A fresh key file's text: one random key, current. */
export function newKeyFileText(keyId = `k-${randomBytes(4).toString('hex')}`): string {
  const doc = { current: keyId, keys: { [keyId]: randomBytes(KEY_BYTES).toString('base64') } };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/**
 * Reads the key file, creating it first (mode 0600, one random key) when it does not exist.
 * Processes starting together (a server and a worker on one data directory) agree on one key:
 * the file appears whole or not at all (written aside, then hard-linked into place), and a
 * process that loses the race reads the winner's file.
 */
export function ensureKeyFile(file: string): Keyring {
  if (!fs.existsSync(file)) createKeyFile(file);
  return readKeyFile(file);
}

function createKeyFile(file: string): void {
  const dir = path.dirname(file);
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw invalid(file, 'cannot be created: its directory cannot be made.', e);
  }
  const aside = path.join(
    dir,
    `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}`,
  );
  try {
    fs.writeFileSync(aside, newKeyFileText(), { mode: 0o600, flag: 'wx' });
    try {
      fs.linkSync(aside, file);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      // Another process created it first: theirs is the key.
      if (code === 'EEXIST') return;
      // A file system without hard links: exclusive create is the next best.
      fs.writeFileSync(file, fs.readFileSync(aside), { mode: 0o600, flag: 'wx' });
    }
  } catch (e) {
    if ((e as { code?: unknown }).code === 'EEXIST') return;
    throw invalid(file, 'does not exist and cannot be created.', e);
  } finally {
    fs.rmSync(aside, { force: true });
  }
}
