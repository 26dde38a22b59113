import { fsyncPath, writeFileAtomic } from '../durable.js';
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MIGRATIONS } from './migrations.js';

/**
 * The database side of backup and restore: a consistent snapshot of the live
 * database (SQLite's online backup API, while the box keeps writing), the
 * check of a database from a backup, and the staged restore that is finished
 * or discarded when the store is next opened, so that a power cut or a crash
 * in the middle leaves the old data or the new, never a mix.
 *
 * A restore in `<dataDir>/restore/`:
 *   staged.db    the validated database from the backup (a journal_mode=DELETE file: no -wal of its own)
 *   staged.toml  the config file to put in place with it (optional)
 *   COMMIT       JSON written atomically (temp, fsync, rename, fsync dir): the commit point.
 * Without COMMIT the folder is a restore that never committed: it is deleted at
 * the next open and the old data stays. With COMMIT the next open rolls it
 * forward (config, then the old -wal/-shm removed, then staged.db renamed over
 * smsbox.db), each step safe to repeat, and deletes COMMIT last. The new
 * database is never opened while COMMIT exists, so a -wal found then can only
 * be the old database's.
 */

/** The schema version of this software: the number of migrations. */
export const SCHEMA_VERSION = MIGRATIONS.length;

export const DB_FILE = 'smsbox.db';
export const RESTORE_DIR = 'restore';
const STAGED_DB = 'staged.db';
const STAGED_CONFIG = 'staged.toml';
const COMMIT = 'COMMIT';

/**
 * Copies the live database to `dest` with SQLite's online backup while the
 * box keeps writing: writes through this same connection are carried into the
 * copy as it runs, so the copy is the database as of one moment. The copy is
 * then made a self-contained file (journal_mode=DELETE, no -wal beside it) and
 * flushed to disk.
 */
export async function snapshotDatabase(source: Database.Database, dest: string): Promise<void> {
  await source.backup(dest);
  finishSnapshot(dest);
}

/** The same from a database file no connection has open (a stopped box). */
export async function snapshotDatabaseFile(file: string, dest: string): Promise<void> {
  const source = new Database(file, { fileMustExist: true });
  try {
    await source.backup(dest);
  } finally {
    source.close();
  }
  finishSnapshot(dest);
}

function finishSnapshot(dest: string): void {
  const copy = new Database(dest, { fileMustExist: true });
  try {
    copy.pragma('journal_mode = DELETE');
  } finally {
    copy.close();
  }
  fsyncPath(dest);
}

export interface DatabaseInspection {
  schemaVersion: number;
  /** 'ok', or what PRAGMA integrity_check found. */
  integrity: string;
  /** Rows in each table (SQLite's own tables left out). */
  tables: Record<string, number>;
}

/** Opens a database file read-only and reports its schema version, integrity and row counts. */
export function inspectDatabase(file: string, checkIntegrity = true): DatabaseInspection {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const schemaVersion = db.pragma('user_version', { simple: true }) as number;
    const integrity = checkIntegrity
      ? (db.pragma('integrity_check(20)') as { integrity_check: string }[]).map((r) => r.integrity_check).join('; ')
      : 'ok';
    const names = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]).map((r) => r.name);
    const tables: Record<string, number> = {};
    for (const name of names) tables[name] = (db.prepare(`SELECT COUNT(*) AS n FROM "${name.replace(/"/g, '""')}"`).get() as { n: number }).n;
    return { schemaVersion, integrity, tables };
  } finally {
    db.close();
  }
}

/** Why a restored message waits for the shop: the box the backup came from may have sent it after the backup. */
export const RESTORED_QUEUE_REASON = 'restored from a backup: the box it came from may have sent it after the backup was taken';

/**
 * In a database from a backup, before it is staged: messages that were
 * queued or being sent when the backup was taken become `uncertain`, as after
 * a power cut. The box the backup came from may have sent them since; the
 * shop decides (resend or mark failed, refunded), so none is silently sent
 * twice. Returns how many.
 */
export function holdRestoredQueue(file: string, now: number): number {
  const db = new Database(file, { fileMustExist: true });
  try {
    const held = db.transaction(() => {
      const ids = (db.prepare("SELECT id FROM outbox WHERE status IN ('queued', 'sending') ORDER BY id").all() as { id: number }[]).map((r) => r.id);
      const finishAttempt = db.prepare("UPDATE attempts SET finished_at = ?, outcome = 'uncertain', error = ? WHERE message_id = ? AND finished_at IS NULL");
      const hold = db.prepare("UPDATE outbox SET status = 'uncertain', last_error = ?, updated_at = ?, next_attempt_at = NULL WHERE id = ?");
      for (const id of ids) {
        finishAttempt.run(now, RESTORED_QUEUE_REASON, id);
        hold.run(RESTORED_QUEUE_REASON, now, id);
      }
      return ids.length;
    })();
    return held;
  } finally {
    db.close();
  }
}

// ---- staged restore -------------------------------------------------------

export interface CommitRecord {
  /** The backup restored (its file name), for the events log. */
  backup: string;
  /** Where staged.toml goes; null when the config is not restored. */
  configTarget: string | null;
  /** The pre-restore backup of the data it replaced. */
  preRestoreBackup: string | null;
  committedAt: number;
  /** Messages of the backup's queue held as `uncertain` (holdRestoredQueue). */
  held?: number;
}

/** The steps at which a test makes the process "crash" (a thrown SimulatedCrash). */
export type RestoreStep = 'staged' | 'committed' | 'config-written' | 'old-wal-removed' | 'renamed';

export class SimulatedCrash extends Error {
  constructor(readonly step: RestoreStep) {
    super(`simulated crash after step ${step}`);
    this.name = 'SimulatedCrash';
  }
}

export interface RestoreSeams {
  crashAfter?: RestoreStep;
}

function step(seams: RestoreSeams | undefined, name: RestoreStep): void {
  if (seams?.crashAfter === name) throw new SimulatedCrash(name);
}

export function restoreDir(dataDir: string): string {
  return join(dataDir, RESTORE_DIR);
}

/** Whether a restore is staged or committed but not finished (another may not start). */
export function restorePending(dataDir: string): boolean {
  return existsSync(restoreDir(dataDir));
}

/**
 * Puts a validated database (and config text) in the staging folder: moved
 * there by rename (same file system), flushed. Nothing is committed yet.
 */
export function stageRestore(dataDir: string, database: string, configText: string | null, seams?: RestoreSeams): void {
  const dir = restoreDir(dataDir);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  renameSync(database, join(dir, STAGED_DB));
  if (configText !== null) writeFileSync(join(dir, STAGED_CONFIG), configText, { flush: true, mode: 0o600 });
  fsyncPath(join(dir, STAGED_DB));
  fsyncPath(dir);
  fsyncPath(dataDir);
  step(seams, 'staged');
}

/** The commit point: from here on the restore is finished at the next open, whatever happens. */
export function commitRestore(dataDir: string, record: CommitRecord, seams?: RestoreSeams): void {
  const dir = restoreDir(dataDir);
  if (!existsSync(join(dir, STAGED_DB))) throw new Error('no staged restore to commit');
  writeFileAtomic(join(dir, COMMIT), JSON.stringify(record));
  step(seams, 'committed');
}

/** Drops a staged restore that was not committed (the old data stays). */
export function discardRestore(dataDir: string): void {
  const dir = restoreDir(dataDir);
  if (existsSync(join(dir, COMMIT))) throw new Error('the restore is committed; it can only be finished');
  rmSync(dir, { recursive: true, force: true });
  if (existsSync(dataDir)) fsyncPath(dataDir);
}

export type RestoreRecovery =
  | { outcome: 'none' }
  | { outcome: 'discarded' }
  | { outcome: 'finished'; record: CommitRecord; configWritten: boolean };

function unlinkIfThere(file: string): void {
  try {
    unlinkSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
}

/**
 * Called before the database is opened: finishes a committed restore or
 * discards an uncommitted one. Each step can be repeated after a crash.
 */
export function finishPendingRestore(dataDir: string, seams?: RestoreSeams): RestoreRecovery {
  const dir = restoreDir(dataDir);
  if (!existsSync(dir)) return { outcome: 'none' };
  let record: CommitRecord | null = null;
  try {
    record = JSON.parse(readFileSync(join(dir, COMMIT), 'utf8')) as CommitRecord;
  } catch {
    record = null; // no commit (a rename is atomic, so a commit file is whole or absent)
  }
  if (!record) {
    rmSync(dir, { recursive: true, force: true });
    fsyncPath(dataDir);
    return { outcome: 'discarded' };
  }
  const stagedConfig = join(dir, STAGED_CONFIG);
  let configWritten = false;
  if (record.configTarget && existsSync(stagedConfig)) {
    const target = record.configTarget;
    let mode = 0o600;
    try {
      mode = statSync(target).mode & 0o7777;
    } catch {
      // a new file keeps 0600: it holds passwords
    }
    writeFileAtomic(target, readFileSync(stagedConfig), mode);
    configWritten = true;
  }
  step(seams, 'config-written');
  const live = join(dataDir, DB_FILE);
  const staged = join(dir, STAGED_DB);
  if (existsSync(staged)) {
    // The old database's log must not be replayed into the new one.
    for (const suffix of ['-wal', '-shm', '-journal']) unlinkIfThere(live + suffix);
    fsyncPath(dataDir);
    step(seams, 'old-wal-removed');
    renameSync(staged, live);
    fsyncPath(dataDir);
    step(seams, 'renamed');
  }
  rmSync(join(dir, COMMIT));
  fsyncPath(dir);
  rmSync(dir, { recursive: true, force: true });
  fsyncPath(dataDir);
  return { outcome: 'finished', record, configWritten: configWritten || record.configTarget !== null };
}
