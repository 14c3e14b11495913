import fs from 'node:fs';
import path from 'node:path';
import {
  type Ed25519Signer,
  ed25519Signer,
  generateEd25519KeyPem,
} from '../../core/audit/ed25519.js';
import { CountersignError } from '../../core/errors.js';

/**
 * The checkpoint signing key as a file: a PKCS#8 PEM Ed25519 private key, mode 0600. Created
 * on first need (`create`), with `wx` so two processes racing to create it end up sharing
 * the one that won.
 */
export function openSigningKeyFile(
  file: string,
  options: { create: boolean },
): { signer: Ed25519Signer; created: boolean } {
  let created = false;
  if (options.create && !fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    try {
      fs.writeFileSync(file, generateEd25519KeyPem(), { mode: 0o600, flag: 'wx' });
      // The mode given to open is filtered by the umask; make sure it is exactly 0600.
      fs.chmodSync(file, 0o600);
      created = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw cannotRead(file, e);
    }
  }
  let pem: string;
  try {
    pem = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw cannotRead(file, e);
  }
  return { signer: ed25519Signer(pem, `signing key ${file}`), created };
}

function cannotRead(file: string, e: unknown): CountersignError {
  const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
  return new CountersignError(
    code === 'ENOENT' ? 'NOT_FOUND' : 'VALIDATION_FAILED',
    code === 'ENOENT'
      ? `no checkpoint signing key at ${file} (countersign audit checkpoint creates one)`
      : `cannot use the signing key ${file}: ${code}`,
    { issues: [{ path: file, message: String(code) }] },
  );
}
