/**
 * Files and directories Countersign creates in the data directory hold the ledger, token hashes,
 * approvals and the demo target's data: only their owner may read them. Directories are made
 * 0700 and files 0600, exactly, whatever the process umask: each is created with that mode
 * (a umask only ever removes bits, so it is never more open) and then chmod-ed to it.
 *
 * Only what Countersign creates is set. A directory that already exists is left as it is: the
 * data directory may be one the user made and shares on purpose (a mounted volume, `.`,
 * their home), and files inside are private anyway. A file that exists keeps its mode too.
 */
import fs from 'node:fs';
import path from 'node:path';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/**
 * Creates `dir` and its missing parents, each 0700; an existing directory is not changed.
 *
 * @example
 * makePrivateDir(config.dataDir); // .countersign/ drwx------
 */
export function makePrivateDir(dir: string): void {
  const target = path.resolve(dir);
  const first = fs.mkdirSync(target, { recursive: true, mode: PRIVATE_DIR_MODE });
  if (first === undefined) return;
  // mkdirSync returns the first directory it created; set that one and each below it.
  for (let d = target; ; d = path.dirname(d)) {
    fs.chmodSync(d, PRIVATE_DIR_MODE);
    if (d === first || path.dirname(d) === d) break;
  }
}

/**
 * Creates `file` empty with mode 0600 if it does not exist (its directory must). Returns whether
 * it created the file; an existing file is not changed.
 */
export function createPrivateFile(file: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'wx', PRIVATE_FILE_MODE);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  }
  try {
    fs.fchmodSync(fd, PRIVATE_FILE_MODE);
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

/** Writes `text` to `file` (created or replaced) with mode 0600. */
export function writePrivateFile(file: string, text: string): void {
  const fd = fs.openSync(file, 'w', PRIVATE_FILE_MODE);
  try {
    fs.fchmodSync(fd, PRIVATE_FILE_MODE);
    fs.writeFileSync(fd, text, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/** Sets `file` to 0600 if it exists (a SQLite `-wal` or `-shm` file may not). */
export function makeFilePrivate(file: string): void {
  try {
    fs.chmodSync(file, PRIVATE_FILE_MODE);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

/**
 * Opens a SQLite database file as a private file: its directory made with makePrivateDir, the
 * file created 0600 before `open` runs (SQLite creates `-wal` and `-shm` with the mode of the
 * database file), and, for a new database, `-wal` and `-shm` set 0600 after `open` (which
 * switches to WAL) as well, should SQLite ever make them otherwise.
 */
export function openPrivateDatabase<T>(file: string, open: (file: string) => T): T {
  const abs = path.resolve(file);
  makePrivateDir(path.dirname(abs));
  const created = createPrivateFile(abs);
  const db = open(file);
  if (created) for (const suffix of ['-wal', '-shm']) makeFilePrivate(`${abs}${suffix}`);
  return db;
}
