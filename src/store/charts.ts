import { MESSAGE_STATUSES } from './outbox.js';
import type { Db, Row } from './database.js';

/** What the charts and /metrics read: messages per hour, totals by status, the signal history. */
export class Charts {
  constructor(private readonly db: Db) {}

  /** Messages sent and failed per hour since `since` (hour = floor(ms / 3600000)). */
  hourlyCounts(since: number): { hour: number; sent: number; failed: number }[] {
    return (this.db.stmt(
      `SELECT hour, SUM(sent) AS sent, SUM(failed) AS failed FROM (
         SELECT sent_at / 3600000 AS hour, 1 AS sent, 0 AS failed FROM outbox WHERE sent_at >= ?
         UNION ALL
         SELECT updated_at / 3600000, 0, 1 FROM outbox WHERE status = 'failed' AND updated_at >= ?
       ) GROUP BY hour ORDER BY hour`,
    ).all(since, since) as Row[]).map((r) => ({ hour: r['hour'] as number, sent: r['sent'] as number, failed: r['failed'] as number }));
  }

  /** Totals by status since the beginning, for /metrics counters. */
  statusTotals(): Record<string, number> {
    const totals: Record<string, number> = Object.fromEntries(MESSAGE_STATUSES.map((s) => [s, 0]));
    for (const r of this.db.stmt('SELECT status, COUNT(*) AS n FROM outbox GROUP BY status').all() as Row[]) totals[r['status'] as string] = r['n'] as number;
    return totals;
  }

  addSignalSample(at: number, csq: number | null): void {
    this.db.stmt('INSERT OR REPLACE INTO signal_samples (at, csq) VALUES (?, ?)').run(at, csq);
    this.db.stmt('DELETE FROM signal_samples WHERE at < ?').run(at - 8 * 24 * 3600_000);
  }

  signalSamples(since: number): { at: number; csq: number | null }[] {
    return (this.db.stmt('SELECT at, csq FROM signal_samples WHERE at >= ? ORDER BY at').all(since) as Row[]).map((r) => ({ at: r['at'] as number, csq: (r['csq'] as number | null) ?? null }));
  }
}
