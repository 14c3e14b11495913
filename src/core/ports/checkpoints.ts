import type { Checkpoint } from '../audit/checkpoint.js';

/**
 * What checkpoints need from outside the core: a key to sign with, a key to check with, and
 * places to keep and send signed checkpoints. The point of a checkpoint is to live where a
 * database writer cannot reach, so none of these is the store.
 */

/** Signs checkpoints. The private key never leaves the implementation. */
export interface Signer {
  /** Names the public key, so a verifier can tell which key a checkpoint claims. */
  readonly key_id: string;
  sign(message: Uint8Array): Uint8Array;
  /** The matching verifier (the checkpointer checks the log it appends to). */
  readonly verifier: SignatureVerifier;
}

export interface SignatureVerifier {
  readonly key_id: string;
  verify(message: Uint8Array, signature: Uint8Array): boolean;
}

/** One line of a checkpoint log as stored, numbered from 1, not yet parsed or trusted. */
export interface CheckpointLogLine {
  readonly line: number;
  readonly text: string;
}

/** An append-only log of signed checkpoints (a JSON-lines file outside the database). */
export interface CheckpointLog {
  /** Where the log lives, for messages (a file path). */
  readonly location: string;
  /** Appends one checkpoint durably; a failure is an error (the checkpoint is not written). */
  append(checkpoint: Checkpoint): Promise<void>;
  /** Every non-blank line in order; an absent log has none. */
  read(): Promise<CheckpointLogLine[]>;
}

/** Somewhere else a checkpoint is sent as it is written (a webhook); failures are reported, not fatal. */
export interface CheckpointPublisher {
  /** Where it publishes, for messages. */
  readonly name: string;
  publish(checkpoint: Checkpoint): Promise<void>;
}
