import Database from 'better-sqlite3';
import { MIGRATIONS } from './migrations.js';

/**
 * The one SQLite database the table families share: opened with the pragmas
 * durability needs, migrated, and a cache of prepared statements (the hot
 * paths run the same few statements thousands of times).
 */

export type Row = Record<string, unknown>;

/** WAL pages (4 KiB each) after which a commit checkpoints by itself: 32 MiB. */
export const WAL_BACKSTOP_PAGES = 8000;

/** `%text%` for LIKE … ESCAPE '\', with the pattern characters of `text` taken literally. */
export function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * The database was written by newer software (its schema is past the last
 * migration this code knows). Opening it would risk damaging data this code
 * does not understand, so it is refused: after a rolled-back update the
 * root side restores the pre-update copy instead.
 */
export class SchemaTooNewError extends Error {
  constructor(readonly found: number, readonly known: number) {
    super(`数据库版本 ${found} 比本软件认识的版本 ${known} 新（数据来自更新的 smsbox），本软件不会打开它：请安装更新的 smsbox，或恢复这个版本做的备份 / ` +
      `database schema version ${found} is newer than this software (${known}): the data comes from a newer smsbox and this software will not open it; install a newer smsbox or restore a backup made by this version`);
    this.name = 'SchemaTooNewError';
  }
}

export class Db {
  private readonly statements = new Map<string, Database.Statement>();

  private constructor(readonly raw: Database.Database) {}

  /** Opens (creating if needed) the database file and runs pending migrations. */
  static open(file: string): Db {
    try {
      return Db.openWith(file, 'normal');
    } catch (err) {
      // On a full disk SQLite cannot create the WAL index (-shm) that shared
      // access needs. In exclusive locking mode it keeps that index in memory,
      // so the box still opens its database, serves its pages and says "disk
      // full"; other processes cannot read the file until the next start.
      if (!/SQLITE_IOERR_SHMSIZE|SQLITE_FULL|SQLITE_IOERR_SHMOPEN/.test(String((err as { code?: string }).code))) throw err;
      const db = Db.openWith(file, 'exclusive');
      process.stderr.write(`smsbox: the disk is full; the database is open in exclusive mode until the next start (${String((err as { code?: string }).code)})\n`);
      return db;
    }
  }

  private static openWith(file: string, locking: 'normal' | 'exclusive'): Db {
    const raw = new Database(file);
    try {
      return Db.configure(raw, locking);
    } catch (err) {
      raw.close();
      throw err;
    }
  }

  private static configure(raw: Database.Database, locking: 'normal' | 'exclusive'): Db {
    if (locking === 'exclusive') raw.pragma('locking_mode = EXCLUSIVE');
    raw.pragma('journal_mode = WAL');
    // FULL: a row acknowledged with "1" must survive a power cut, not only a crash.
    raw.pragma('synchronous = FULL');
    raw.pragma('foreign_keys = ON');
    raw.pragma('busy_timeout = 5000');
    // The WAL is folded back into the database by checkpointIfQuiet() when writes
    // pause; a commit does it itself only past this backstop. At SQLite's default
    // (1000 pages) a burst from 管家助理 stalled every few hundred commits for a
    // checkpoint, and on an SD card a checkpoint is random writes.
    raw.pragma(`wal_autocheckpoint = ${WAL_BACKSTOP_PAGES}`);
    // After a checkpoint the WAL file is cut back to this size.
    raw.pragma(`journal_size_limit = ${WAL_BACKSTOP_PAGES * 4096}`);
    const db = new Db(raw);
    db.migrate();
    return db;
  }

  /** Prepared once, reused. */
  stmt(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.raw.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** Runs fn in one transaction (a savepoint when nested). */
  transaction<T>(fn: () => T): T {
    return this.raw.transaction(fn)();
  }

  get schemaVersion(): number {
    return this.raw.pragma('user_version', { simple: true }) as number;
  }

  private migrate(): void {
    const current = this.schemaVersion;
    if (current > MIGRATIONS.length) {
      throw new SchemaTooNewError(current, MIGRATIONS.length);
    }
    for (let version = current; version < MIGRATIONS.length; version++) {
      this.raw.transaction(() => {
        this.raw.exec(MIGRATIONS[version]!);
        this.raw.pragma(`user_version = ${version + 1}`);
      })();
    }
  }
}
