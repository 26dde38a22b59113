import { MESSAGE_STATUSES } from './outbox.js';
import type { Db, Row } from './database.js';

/** What the daily summary counts (issue 18), over [from, to). */
export interface DayCounts {
  /** Messages sent to customers (the owner's own forwards and alerts left out). */
  sent: number;
  /** Of those, delivered (by the network's status reports). */
  delivered: number;
  /** Messages that failed (before sending, or by a status report). */
  failed: number;
  /** Numbers added to the opt-out list. */
  optedOut: number;
  /** Messages received. */
  replies: number;
  /** Calls the box hung up (inbox entries of kind `call`). */
  calls: number;
  /** Messages whose fate is unknown and waits for the shop's decision (now, whenever they were sent). */
  uncertain: number;
  /** The first of those, oldest first. */
  uncertainIds: number[];
  /** Messages still waiting in the queue (now). */
  queued: number;
}

/** What the charts, /metrics and the daily summary read: messages per hour, totals by status, the signal history. */
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

  /**
   * The day's figures for the summary. Each count walks an index that stops
   * at the period (sent_at, a status), not the whole outbox; the opt-outs and
   * the inbox are scanned, once a day.
   */
  dayCounts(from: number, to: number): DayCounts {
    const sent = this.db.stmt(
      `SELECT COUNT(*) AS sent, COALESCE(SUM(status = 'delivered'), 0) AS delivered FROM outbox INDEXED BY outbox_sent
       WHERE sent_at >= ? AND sent_at < ? AND kind <> 'forward'`,
    ).get(from, to) as Row;
    const count = (sql: string, ...args: unknown[]) => (this.db.stmt(sql).get(...args) as Row)['n'] as number;
    const uncertainIds = (this.db.stmt(`SELECT id FROM outbox WHERE status = 'uncertain' ORDER BY id LIMIT 10`).all() as Row[]).map((r) => r['id'] as number);
    return {
      sent: sent['sent'] as number,
      delivered: sent['delivered'] as number,
      failed: count(`SELECT COUNT(*) AS n FROM outbox WHERE status = 'failed' AND updated_at >= ? AND updated_at < ? AND kind <> 'forward'`, from, to),
      optedOut: count('SELECT COUNT(*) AS n FROM optouts WHERE created_at >= ? AND created_at < ?', from, to),
      replies: count(`SELECT COUNT(*) AS n FROM inbox WHERE received_at >= ? AND received_at < ? AND kind = 'sms' AND (action IS NULL OR action NOT IN ('selftest', 'carrier-balance', 'carrier-notice', 'carrier-service'))`, from, to),
      calls: count(`SELECT COUNT(*) AS n FROM inbox INDEXED BY inbox_calls WHERE kind = 'call' AND received_at >= ? AND received_at < ?`, from, to),
      uncertain: count(`SELECT COALESCE(SUM(n), 0) AS n FROM outbox_counts WHERE status = 'uncertain'`),
      uncertainIds,
      queued: count(`SELECT COALESCE(SUM(n), 0) AS n FROM outbox_counts WHERE status = 'queued'`),
    };
  }

  addSignalSample(at: number, csq: number | null): void {
    this.db.stmt('INSERT OR REPLACE INTO signal_samples (at, csq) VALUES (?, ?)').run(at, csq);
    this.db.stmt('DELETE FROM signal_samples WHERE at < ?').run(at - 8 * 24 * 3600_000);
  }

  signalSamples(since: number): { at: number; csq: number | null }[] {
    return (this.db.stmt('SELECT at, csq FROM signal_samples WHERE at >= ? ORDER BY at').all(since) as Row[]).map((r) => ({ at: r['at'] as number, csq: (r['csq'] as number | null) ?? null }));
  }
}
