import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** Writes that survive a power cut: what the store, the backups, the updates and the run record share. */

/** fsync a file or a directory by path. */
export function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes a file so that a crash leaves the old file or the whole new one:
 * a temp file beside it (its folder made if missing), flushed, renamed over
 * it, the folder flushed. A failed write leaves no temp file behind.
 */
export function writeFileAtomic(file: string, data: string | Buffer, mode?: number): void {
  mkdirSync(dirname(file), { recursive: true });
  const temp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  try {
    writeFileSync(temp, data, { flush: true, ...(mode !== undefined ? { mode } : {}) });
    renameSync(temp, file);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
  fsyncPath(dirname(file));
}
