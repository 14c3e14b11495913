import fs from 'node:fs';
import path from 'node:path';
import type { Checkpoint } from '../../core/audit/checkpoint.js';
import { CountersignError } from '../../core/errors.js';
import type { CheckpointLog, CheckpointLogLine } from '../../core/ports/checkpoints.js';

/**
 * The checkpoint log as a JSON-lines file, one signed checkpoint a line, only ever appended
 * (O_APPEND, one write per line, fsync'd). Created with mode 0600.
 */
export class JsonlCheckpointLog implements CheckpointLog {
  constructor(readonly location: string) {}

  async append(checkpoint: Checkpoint): Promise<void> {
    const line = `${JSON.stringify(checkpoint)}\n`;
    fs.mkdirSync(path.dirname(this.location), { recursive: true });
    const created = !fs.existsSync(this.location);
    const file = await fs.promises.open(this.location, 'a', 0o600);
    try {
      if (created) await file.chmod(0o600);
      await file.write(line);
      await file.sync();
    } finally {
      await file.close();
    }
  }

  async read(): Promise<CheckpointLogLine[]> {
    let text: string;
    try {
      text = await fs.promises.readFile(this.location, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new CountersignError(
        'VALIDATION_FAILED',
        `cannot read the checkpoint log ${this.location}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
    return text
      .split('\n')
      .map((t, i) => ({ line: i + 1, text: t.trim() }))
      .filter((l) => l.text !== '');
  }
}
