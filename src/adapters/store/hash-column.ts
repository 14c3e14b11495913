/**
 * SHA-256 hashes (the ledger's chain, the hash an approval binds to) are stored as their 32
 * bytes (SQLite BLOB, Postgres bytea), half the room of their hex text; the API and the core
 * keep the lowercase hex form. A row written before hashes were bytes, or by hand, still reads.
 */
const HEX_SHA256 = /^[0-9a-f]{64}$/;

/** The stored form of a hex SHA-256. */
export function hashColumn(hex: string): Uint8Array {
  if (!HEX_SHA256.test(hex)) throw new Error(`not a lowercase hex SHA-256: ${JSON.stringify(hex)}`);
  return Buffer.from(hex, 'hex');
}

/** The hex form of a stored hash. */
export function hashHex(stored: Uint8Array | string): string {
  return typeof stored === 'string' ? stored : Buffer.from(stored).toString('hex');
}

/** `hashColumn` for a column that may be null. */
export const hashColumnOrNull = (hex: string | null): Uint8Array | null =>
  hex === null ? null : hashColumn(hex);

/** `hashHex` for a column that may be null. */
export const hashHexOrNull = (stored: Uint8Array | string | null): string | null =>
  stored === null ? null : hashHex(stored);
