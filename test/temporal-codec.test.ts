import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ENCRYPTED_ENCODING,
  EncryptionCodec,
  KEY_ID_METADATA,
} from '../src/adapters/temporal/encryption-codec.js';
import {
  type Keyring,
  ensureKeyFile,
  newKeyFileText,
  parseKeyring,
  readKeyFile,
} from '../src/adapters/temporal/key-file.js';
import { CountersignError } from '../src/core/errors.js';
import { configFromEnv } from '../src/main/config.js';
import { openTemporalCodec } from '../src/main/temporal.js';

/**
 * The payload codec that encrypts what Countersign sends to Temporal, and its key file: no
 * Temporal server needed (test/temporal-encryption.test.ts runs it against one).
 */
const run = promisify(execFile);
const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-codec-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

const key = (byte: number) => Buffer.alloc(32, byte).toString('base64');
const ring = (current: string, keys: Record<string, string>): Keyring =>
  parseKeyring(JSON.stringify({ current, keys }), 'test-keys.json');
const EMAIL = 'riley.ops@example.com';
const input = () => defaultPayloadConverter.toPayload({ requester: EMAIL, note: 'rotate the key' });
const text = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? []).toString('utf8');

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
    return undefined;
  } catch (e) {
    return e instanceof CountersignError ? e.code : `not a CountersignError: ${String(e)}`;
  }
}

describe('the encryption codec', () => {
  it('round-trips a payload, metadata and all, and stores no plaintext', async () => {
    const codec = new EncryptionCodec(ring('k1', { k1: key(1) }));
    const original = input();
    const [encrypted] = await codec.encode([original]);
    expect(text(encrypted!.metadata!.encoding)).toBe(ENCRYPTED_ENCODING);
    expect(text(encrypted!.metadata![KEY_ID_METADATA])).toBe('k1');
    expect(Object.keys(encrypted!.metadata!).sort()).toEqual(['encoding', KEY_ID_METADATA]);
    expect(Buffer.from(encrypted!.data!).includes(EMAIL)).toBe(false);
    expect(Buffer.from(encrypted!.data!).includes('json/plain')).toBe(false);

    const [decoded] = await codec.decode([encrypted!]);
    expect(text(decoded!.metadata!.encoding)).toBe('json/plain');
    expect(defaultPayloadConverter.fromPayload(decoded!)).toEqual({
      requester: EMAIL,
      note: 'rotate the key',
    });
  });

  it('uses a fresh IV for every payload, so equal inputs never give equal ciphertexts', async () => {
    const codec = new EncryptionCodec(ring('k1', { k1: key(1) }));
    const [a, b] = await codec.encode([input(), input()]);
    expect(Buffer.from(a!.data!).subarray(0, 12)).not.toEqual(
      Buffer.from(b!.data!).subarray(0, 12),
    );
    expect(Buffer.from(a!.data!)).not.toEqual(Buffer.from(b!.data!));
  });

  it('round-trips an empty list and payloads without data', async () => {
    const codec = new EncryptionCodec(ring('k1', { k1: key(1) }));
    expect(await codec.decode(await codec.encode([]))).toEqual([]);
    const undef = defaultPayloadConverter.toPayload(undefined);
    const [back] = await codec.decode(await codec.encode([undef]));
    expect(defaultPayloadConverter.fromPayload(back!)).toBeUndefined();
  });

  it('passes payloads that are not encrypted through decode untouched (histories from before)', async () => {
    const codec = new EncryptionCodec(ring('k1', { k1: key(1) }));
    const plain = input();
    expect(await codec.decode([plain])).toEqual([plain]);
  });

  it('after a rotation encrypts with the new current key and still decrypts the old one', async () => {
    const before = new EncryptionCodec(ring('k1', { k1: key(1) }));
    const [old] = await before.encode([input()]);
    const after = new EncryptionCodec(ring('k2', { k1: key(1), k2: key(2) }));
    expect(after.currentKeyId).toBe('k2');
    const [fresh] = await after.encode([input()]);
    expect(text(fresh!.metadata![KEY_ID_METADATA])).toBe('k2');
    for (const p of await after.decode([old!, fresh!]))
      expect(defaultPayloadConverter.fromPayload(p)).toMatchObject({ requester: EMAIL });
    // A process that still has only k1 refuses k2's payloads by name, not with garbage.
    expect(await codeOf(before.decode([fresh!]))).toBe('ENCRYPTION_KEY_UNKNOWN');
  });

  it('refuses a payload naming a key ID it does not hold, saying which', async () => {
    const codec = new EncryptionCodec(ring('k1', { k1: key(1) }));
    const other = new EncryptionCodec(ring('k9', { k9: key(9) }));
    const [foreign] = await other.encode([input()]);
    const error = await codec.decode([foreign!]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CountersignError);
    expect(error).toMatchObject({
      code: 'ENCRYPTION_KEY_UNKNOWN',
      details: { key_id: 'k9', known_key_ids: ['k1'] },
    });
    expect((error as Error).message).toContain('"k9"');
    expect((error as Error).message).not.toContain(key(1));
  });

  it('refuses tampered, truncated or relabelled ciphertext', async () => {
    const codec = new EncryptionCodec(ring('k1', { k1: key(1), k2: key(1) }));
    const [good] = await codec.encode([input()]);
    const data = Buffer.from(good!.data!);
    const flip = (at: number) => {
      const copy = Buffer.from(data);
      copy[at] = copy[at]! ^ 0x01;
      return { ...good!, data: copy };
    };
    // IV, body and tag: every bit is covered.
    for (const at of [0, 12, Math.floor(data.length / 2), data.length - 1])
      expect(await codeOf(codec.decode([flip(at)]))).toBe('DECRYPTION_FAILED');
    expect(await codeOf(codec.decode([{ ...good!, data: data.subarray(0, 20) }]))).toBe(
      'DECRYPTION_FAILED',
    );
    expect(await codeOf(codec.decode([{ ...good!, data: new Uint8Array() }]))).toBe(
      'DECRYPTION_FAILED',
    );
    // k2 holds the same bytes as k1, yet a payload relabelled k2 does not decrypt: the key ID
    // is authenticated.
    const relabelled = {
      metadata: { ...good!.metadata!, [KEY_ID_METADATA]: Buffer.from('k2') },
      data,
    };
    expect(await codeOf(codec.decode([relabelled]))).toBe('DECRYPTION_FAILED');
    const noKeyId: Payload = { metadata: { encoding: good!.metadata!.encoding! }, data };
    expect(await codeOf(codec.decode([noKeyId]))).toBe('DECRYPTION_FAILED');
  });

  it('refuses a payload encrypted under another key of the same ID', async () => {
    const mine = new EncryptionCodec(ring('k1', { k1: key(1) }));
    const theirs = new EncryptionCodec(ring('k1', { k1: key(7) }));
    const [p] = await theirs.encode([input()]);
    expect(await codeOf(mine.decode([p!]))).toBe('DECRYPTION_FAILED');
  });

  it('re-reads the key file for an unknown key ID, at most once a second', async () => {
    let clock = 0;
    let reads = 0;
    let onDisk = ring('k1', { k1: key(1) });
    const codec = new EncryptionCodec(onDisk, {
      now: () => clock,
      reload: () => {
        reads++;
        return onDisk;
      },
    });
    const [fromK2] = await new EncryptionCodec(ring('k2', { k2: key(2) })).encode([input()]);
    expect(await codeOf(codec.decode([fromK2!]))).toBe('ENCRYPTION_KEY_UNKNOWN');
    expect(reads).toBe(1);
    onDisk = ring('k2', { k1: key(1), k2: key(2) });
    clock += 500;
    expect(await codeOf(codec.decode([fromK2!]))).toBe('ENCRYPTION_KEY_UNKNOWN');
    expect(reads).toBe(1);
    clock += 600;
    const [decoded] = await codec.decode([fromK2!]);
    expect(defaultPayloadConverter.fromPayload(decoded!)).toMatchObject({ requester: EMAIL });
    expect(reads).toBe(2);
    // The re-read file's current key is what it encrypts with from now on.
    expect(codec.currentKeyId).toBe('k2');
  });
});

describe('the key file', () => {
  it('is created on first use with mode 0600 and one random 32-byte key, then reused', () => {
    const file = path.join(tmp(), 'nested', 'temporal-keys.json');
    const first = ensureKeyFile(file);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(first.keys.size).toBe(1);
    expect(first.keys.get(first.current)).toHaveLength(32);
    const again = ensureKeyFile(file);
    expect(again.current).toBe(first.current);
    expect(again.keys.get(again.current)).toEqual(first.keys.get(first.current));
    expect(fs.readdirSync(path.dirname(file))).toEqual(['temporal-keys.json']);
  });

  it('gives processes racing to create it one key (a server and a worker starting together)', async () => {
    const file = path.join(tmp(), 'temporal-keys.json');
    const module = pathToFileURL(path.resolve('dist/src/adapters/temporal/key-file.js')).href;
    const startAt = Date.now() + 1_000;
    const script = `import { ensureKeyFile } from ${JSON.stringify(module)};
      while (Date.now() < ${startAt});
      const k = ensureKeyFile(process.argv[1]);
      process.stdout.write(k.current + ' ' + k.keys.get(k.current).toString('base64'));`;
    const outputs = await Promise.all(
      Array.from({ length: 6 }, () =>
        run(process.execPath, ['--input-type=module', '-e', script, file]).then((r) => r.stdout),
      ),
    );
    expect(new Set(outputs).size).toBe(1);
    expect(outputs[0]).toBe(
      (() => {
        const k = readKeyFile(file);
        return `${k.current} ${k.keys.get(k.current)!.toString('base64')}`;
      })(),
    );
    expect(fs.readdirSync(path.dirname(file))).toEqual(['temporal-keys.json']);
  });

  it('parses the documented format, several keys and a current one', () => {
    const k = parseKeyring(
      JSON.stringify({ current: 'k2', keys: { k1: key(1), k2: key(2) } }),
      'f.json',
    );
    expect(k.current).toBe('k2');
    expect([...k.keys.keys()]).toEqual(['k1', 'k2']);
    expect(parseKeyring(newKeyFileText('x'), 'f.json').current).toBe('x');
  });

  it.each([
    ['not JSON', '{', /not valid JSON/],
    ['an array', '[]', /JSON object/],
    ['no keys', JSON.stringify({ current: 'k1' }), /no "keys" object/],
    ['no current', JSON.stringify({ keys: { k1: key(1) } }), /no "current"/],
    [
      'a current key it does not hold',
      JSON.stringify({ current: 'k3', keys: { k1: key(1) } }),
      /names "k3" as current, but "keys" has no such key \(it has k1\)/,
    ],
    [
      'a short key',
      JSON.stringify({ current: 'k1', keys: { k1: Buffer.alloc(16).toString('base64') } }),
      /key "k1" that is not the base64 of 32 bytes/,
    ],
    [
      'a key that is not base64',
      JSON.stringify({ current: 'k1', keys: { k1: '%%%' + key(1).slice(3) } }),
      /key "k1" that is not the base64 of 32 bytes/,
    ],
    [
      'a bad key ID',
      JSON.stringify({ current: 'a b', keys: { 'a b': key(1) } }),
      /key ID "a b" that is not/,
    ],
  ])('refuses %s with ENCRYPTION_KEYS_INVALID, naming the file but no key', (_what, body, msg) => {
    const file = path.join(tmp(), 'temporal-keys.json');
    fs.writeFileSync(file, body);
    let error: unknown;
    try {
      readKeyFile(file);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CountersignError);
    expect(error).toMatchObject({ code: 'ENCRYPTION_KEYS_INVALID', details: { file } });
    expect((error as Error).message).toMatch(msg);
    expect((error as Error).message).toContain(file);
    expect((error as Error).message).not.toContain(key(1));
  });

  it('refuses a missing file named by COUNTERSIGN_TEMPORAL_KEY_FILE instead of making up a key', () => {
    const dir = tmp();
    const file = path.join(dir, 'shared-keys.json');
    const config = configFromEnv({
      COUNTERSIGN_DATA_DIR: dir,
      COUNTERSIGN_TEMPORAL_ADDRESS: '127.0.0.1:7233',
      COUNTERSIGN_TEMPORAL_KEY_FILE: file,
    });
    expect(() => openTemporalCodec(config.dataDir, config.temporal!)).toThrow(
      expect.objectContaining({ code: 'ENCRYPTION_KEYS_INVALID' }) as Error,
    );
    expect(fs.existsSync(file)).toBe(false);
    fs.writeFileSync(file, newKeyFileText('shared'), { mode: 0o600 });
    expect(openTemporalCodec(config.dataDir, config.temporal!).currentKeyId).toBe('shared');
    // Without the variable the data directory's file is made on first use.
    const local = configFromEnv({
      COUNTERSIGN_DATA_DIR: dir,
      COUNTERSIGN_TEMPORAL_ADDRESS: '127.0.0.1:7233',
    });
    openTemporalCodec(local.dataDir, local.temporal!);
    expect(fs.existsSync(path.join(dir, 'temporal-keys.json'))).toBe(true);
  });

  it('refuses a Temporal UI address that is not an http(s) URL', () => {
    expect(() =>
      configFromEnv({
        COUNTERSIGN_TEMPORAL_ADDRESS: '127.0.0.1:7233',
        COUNTERSIGN_TEMPORAL_UI_URL: 'localhost:8233',
      }),
    ).toThrow(/COUNTERSIGN_TEMPORAL_UI_URL must be/);
  });
});
