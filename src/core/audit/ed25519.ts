import {
  type KeyObject,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
} from 'node:crypto';
import { CountersignError } from '../errors.js';
import type { Signer, SignatureVerifier } from '../ports/checkpoints.js';

/**
 * Ed25519 checkpoint keys (node:crypto; Ed25519 takes no digest algorithm, hence `null`).
 *
 * Formats: the private key is PKCS#8 PEM; a public key is SPKI PEM ("-----BEGIN PUBLIC
 * KEY-----", what `openssl pkey -pubout` prints) or the 32 raw key bytes in base64. The key
 * ID is the first 16 hex digits of SHA-256 over the 32 raw public key bytes.
 */

/** A new Ed25519 private key, PKCS#8 PEM. */
export function generateEd25519KeyPem(): string {
  return generateKeyPairSync('ed25519')
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString();
}

export interface Ed25519Signer extends Signer {
  /** SPKI PEM. */
  readonly publicKeyPem: string;
  /** The 32 raw public key bytes, base64. */
  readonly publicKeyBase64: string;
}

/** A signer from a PKCS#8 PEM private key (what `generateEd25519KeyPem` and openssl write). */
export function ed25519Signer(privateKeyPem: string, source = 'the signing key'): Ed25519Signer {
  let key: KeyObject;
  try {
    key = createPrivateKey(privateKeyPem);
  } catch (e) {
    throw badKey(source, `is not a PEM private key (${(e as Error).message})`);
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw badKey(source, `is a ${key.asymmetricKeyType ?? 'symmetric'} key, not Ed25519`);
  const verifier = verifierOf(createPublicKey(key));
  return {
    key_id: verifier.key_id,
    verifier,
    publicKeyPem: verifier.publicKeyPem,
    publicKeyBase64: verifier.publicKeyBase64,
    sign: (message) => sign(null, message, key),
  };
}

/** A verifier from a public key: SPKI PEM text, or the 32 raw bytes in base64. */
export function ed25519Verifier(
  publicKey: string,
  source = 'the public key',
): SignatureVerifier & { readonly publicKeyPem: string; readonly publicKeyBase64: string } {
  const text = publicKey.trim();
  let key: KeyObject;
  try {
    if (text.startsWith('-----BEGIN')) key = createPublicKey(text);
    else {
      const raw = Buffer.from(text, 'base64');
      if (raw.length !== 32 || raw.toString('base64') !== text)
        throw new Error('expected SPKI PEM or 32 bytes of base64');
      key = createPublicKey({
        key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
        format: 'jwk',
      });
    }
  } catch (e) {
    throw badKey(source, `is not an Ed25519 public key (${(e as Error).message})`);
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw badKey(source, `is a ${key.asymmetricKeyType ?? 'symmetric'} key, not Ed25519`);
  return verifierOf(key);
}

/** The key ID of a raw 32-byte Ed25519 public key. */
export function ed25519KeyId(raw: Uint8Array): string {
  return createHash('sha256').update(raw).digest('hex').slice(0, 16);
}

function verifierOf(publicKey: KeyObject) {
  const jwk = publicKey.export({ format: 'jwk' });
  const raw = Buffer.from(jwk.x ?? '', 'base64url');
  return {
    key_id: ed25519KeyId(raw),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    publicKeyBase64: raw.toString('base64'),
    verify: (message: Uint8Array, signature: Uint8Array) => {
      try {
        return verify(null, message, publicKey, signature);
      } catch {
        return false;
      }
    },
  };
}

function badKey(source: string, what: string): CountersignError {
  return new CountersignError('VALIDATION_FAILED', `${source} ${what}.`, {
    issues: [{ path: source, message: what }],
  });
}
