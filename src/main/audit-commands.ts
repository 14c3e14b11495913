import fs from 'node:fs';
import { JsonlCheckpointLog } from '../adapters/audit/checkpoint-file-log.js';
import { parseCheckpoint, signatureProblem, type Checkpoint } from '../core/audit/checkpoint.js';
import { type CheckpointReport, auditCheckpoints } from '../core/audit/checkpoint-audit.js';
import type { CheckpointOutcome } from '../core/audit/checkpointer.js';
import { ed25519Verifier } from '../core/audit/ed25519.js';
import {
  type InclusionProof,
  type ProofCheck,
  checkInclusionProof,
  proveInclusion,
} from '../core/audit/inclusion.js';
import { CountersignError } from '../core/errors.js';
import type { CheckpointLogLine, SignatureVerifier } from '../core/ports/checkpoints.js';
import type { Store } from '../core/ports/store.js';
import { checkpointLogPath, openCheckpointer, openSigner } from './checkpoints.js';
import { openConfiguredStore } from './compose.js';
import type { Config } from './config.js';

/** The local `countersign audit` commands that work with signed checkpoints. */

async function withStore<T>(config: Config, work: (store: Store) => Promise<T>): Promise<T> {
  const store = await openConfiguredStore(config);
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

export interface PublicKeyInfo {
  readonly key_id: string;
  readonly key_file: string;
  readonly created: boolean;
  /** SPKI PEM. */
  readonly public_key_pem: string;
  /** The 32 raw key bytes, base64. */
  readonly public_key_base64: string;
}

/** `audit key`: the signing key's public half (the key is created on first need). */
export function auditKey(config: Config): PublicKeyInfo {
  const { signer, file, created } = openSigner(config, { create: true });
  return {
    key_id: signer.key_id,
    key_file: file,
    created,
    public_key_pem: signer.publicKeyPem,
    public_key_base64: signer.publicKeyBase64,
  };
}

/** `audit checkpoint`: signs the tenant's ledger at its head and appends it to the log. */
export async function auditCheckpoint(
  config: Config,
  warn: (line: string) => void,
): Promise<{ outcome: CheckpointOutcome; log: string }> {
  return withStore(config, async (store) => {
    const { checkpointer, log } = openCheckpointer(config, store, { warn });
    return { outcome: await checkpointer.checkpoint(config.tenant), log: log.location };
  });
}

/**
 * The checkpoint side of `audit verify`: the tenant's ledger against every checkpoint in the
 * log (`--checkpoints`, else the data directory's when it exists), checked with `--public-key`
 * or else the public half of the local signing key. Null when there is nothing to check.
 */
export async function verifyCheckpoints(
  config: Config,
  options: { checkpoints?: string | undefined; publicKey?: string | undefined },
): Promise<CheckpointReport | null> {
  const file = options.checkpoints ?? checkpointLogPath(config);
  if (options.checkpoints === undefined && !fs.existsSync(file)) return null;
  const lines = await readLog(file);
  const verifier = verifierFor(config, options.publicKey);
  return withStore(config, (store) =>
    auditCheckpoints(store, config.tenant, lines, verifier, file),
  );
}

/** `audit prove <seq>`: an inclusion proof of one event against the newest checkpoint. */
export async function auditProve(config: Config, seq: number): Promise<InclusionProof> {
  const file = checkpointLogPath(config);
  const verifier = verifierFor(config, undefined);
  const checkpoint = newestCheckpoint(await readLog(file), config.tenant, verifier);
  if (!checkpoint || checkpoint.seq < seq)
    throw new CountersignError(
      'NOT_FOUND',
      checkpoint
        ? `the newest checkpoint in ${file} covers events 1..${checkpoint.seq}, not ${seq}: run countersign audit checkpoint first`
        : `no checkpoint of tenant ${config.tenant} in ${file}: run countersign audit checkpoint first`,
    );
  const proved = await withStore(config, (store) => proveInclusion(store, checkpoint, seq));
  if (!proved.ok) throw new LedgerContradiction(proved.problem);
  return proved.proof;
}

/** `audit check-proof`: checks a proof file with a public key, without any database. */
export function auditCheckProof(proofFile: string, publicKey: string): ProofCheck {
  const text = readText(proofFile === '-' ? 0 : proofFile, '--proof');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { valid: false, reason: `the proof is not JSON: ${(e as Error).message}` };
  }
  return checkInclusionProof(value, publicKeyArg(publicKey));
}

/** The database no longer matches what was signed: the CLI exits LEDGER_BROKEN. */
export class LedgerContradiction extends Error {}

/** `--public-key`: a file holding SPKI PEM or base64 raw bytes, or that text itself. */
export function publicKeyArg(value: string): SignatureVerifier {
  const file = value.startsWith('@') ? value.slice(1) : value;
  const isFile = value.startsWith('@') || (!value.includes('\n') && fs.existsSync(file));
  const text = isFile ? readText(file, '--public-key') : value;
  return ed25519Verifier(text, isFile ? `--public-key ${file}` : '--public-key');
}

function verifierFor(config: Config, publicKey: string | undefined): SignatureVerifier {
  if (publicKey !== undefined) return publicKeyArg(publicKey);
  try {
    return openSigner(config, { create: false }).signer.verifier;
  } catch (e) {
    if (e instanceof CountersignError && e.code === 'NOT_FOUND')
      throw new CountersignError(
        'NOT_FOUND',
        `${e.message}; to check checkpoints signed elsewhere pass --public-key`,
      );
    throw e;
  }
}

/** The validly signed checkpoint of the tenant with the highest seq. */
function newestCheckpoint(
  lines: readonly CheckpointLogLine[],
  tenant_id: string,
  verifier: SignatureVerifier,
): Checkpoint | null {
  const candidates: Checkpoint[] = [];
  for (const { text } of lines) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      continue;
    }
    const parsed = parseCheckpoint(value);
    if (parsed.ok && parsed.checkpoint.tenant_id === tenant_id) candidates.push(parsed.checkpoint);
  }
  // Newest first, so a long log costs one signature check, not one per line.
  candidates.sort((a, b) => b.seq - a.seq);
  return candidates.find((c) => signatureProblem(c, verifier) === null) ?? null;
}

async function readLog(file: string): Promise<CheckpointLogLine[]> {
  if (!fs.existsSync(file))
    throw new CountersignError('NOT_FOUND', `no checkpoint log at ${file}`, {
      issues: [{ path: file, message: 'no such file' }],
    });
  return new JsonlCheckpointLog(file).read();
}

function readText(file: string | 0, flag: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    const name = file === 0 ? 'stdin' : file;
    throw new CountersignError(
      'VALIDATION_FAILED',
      `cannot read ${name}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      { issues: [{ path: flag, message: 'file cannot be read' }] },
    );
  }
}
