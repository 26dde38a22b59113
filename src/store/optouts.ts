import { likePattern, type Db, type Row } from './database.js';

/** The opt-out list: numbers that asked to be left alone. */

export interface OptOutRow {
  number: string;
  createdAt: number;
  source: 'sms' | 'admin' | 'import';
  reason: string;
  inboxId: number | null;
}

export class OptOuts {
  constructor(private readonly db: Db) {}

  isOptedOut(number: string): boolean {
    return this.db.stmt('SELECT 1 FROM optouts WHERE number = ?').get(number) !== undefined;
  }

  /** Adds a number to the opt-out list; false when it was already there (the first reason is kept). */
  addOptOut(number: string, source: OptOutRow['source'], reason: string, now: number, inboxId: number | null = null): boolean {
    return this.db.stmt('INSERT OR IGNORE INTO optouts (number, created_at, source, reason, inbox_id) VALUES (?, ?, ?, ?, ?)')
      .run(number, now, source, reason, inboxId).changes > 0;
  }

  removeOptOut(number: string): boolean {
    return this.db.stmt('DELETE FROM optouts WHERE number = ?').run(number).changes > 0;
  }

  countOptOuts(): number {
    return (this.db.stmt('SELECT COUNT(*) AS n FROM optouts').get() as { n: number }).n;
  }

  listOptOuts(opts: { limit: number; q?: string }): OptOutRow[] {
    const like = opts.q ? likePattern(opts.q) : null;
    const rows = (like
      ? this.db.stmt(`SELECT * FROM optouts WHERE number LIKE ? ESCAPE '\\' OR reason LIKE ? ESCAPE '\\' ORDER BY created_at DESC LIMIT ?`).all(like, like, opts.limit)
      : this.db.stmt('SELECT * FROM optouts ORDER BY created_at DESC LIMIT ?').all(opts.limit)) as Row[];
    return rows.map((r) => ({
      number: r['number'] as string,
      createdAt: r['created_at'] as number,
      source: r['source'] as OptOutRow['source'],
      reason: r['reason'] as string,
      inboxId: (r['inbox_id'] as number | null) ?? null,
    }));
  }
}
