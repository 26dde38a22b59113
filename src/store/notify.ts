import type Database from 'better-sqlite3';

/**
 * The notification tables (migration 8): the durable queue of messages to
 * channels (`notify_jobs`) and, per channel, the last delivery and the storm
 * machine's state (`notify_channels`). Over the box's one database
 * connection, like the events log: an SMS to the owner is queued into the
 * outbox inside the same transaction that marks its job done.
 */

export type NotifyJobStatus = 'pending' | 'done' | 'failed' | 'dropped';

export interface NotifyJobRow {
  id: number;
  channel: string;
  kind: string;
  /** The message as JSON (src/notify/message.ts Outgoing). */
  message: string;
  status: NotifyJobStatus;
  attempts: number;
  nextAttemptAt: number;
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface NotifyChannelRow {
  channel: string;
  lastAt: number | null;
  lastOk: boolean | null;
  lastKind: string | null;
  lastError: string | null;
  /** JSON of the platform's answer. */
  lastAnswer: string | null;
  pending: number;
  failed: number;
}

export interface LastDelivery {
  at: number;
  ok: boolean;
  kind: string;
  error: string | null;
  answer: unknown;
}

type Row = Record<string, unknown>;

function toJob(r: Row): NotifyJobRow {
  return {
    id: r['id'] as number,
    channel: r['channel'] as string,
    kind: r['kind'] as string,
    message: r['message'] as string,
    status: r['status'] as NotifyJobStatus,
    attempts: r['attempts'] as number,
    nextAttemptAt: r['next_attempt_at'] as number,
    lastError: (r['last_error'] as string | null) ?? null,
    createdAt: r['created_at'] as number,
    updatedAt: r['updated_at'] as number,
  };
}

export class NotifyStore {
  private readonly statements = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {}

  private stmt(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** Runs fn in one transaction (a savepoint when nested). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  addJob(channel: string, kind: string, message: string, now: number): number {
    return Number(
      this.stmt('INSERT INTO notify_jobs (channel, kind, message, next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(channel, kind, message, now, now, now).lastInsertRowid,
    );
  }

  /** The newest pending job of a channel and kind: a new message of that kind may be merged into it. */
  lastPendingJob(channel: string, kind: string): NotifyJobRow | null {
    const row = this.stmt(`SELECT * FROM notify_jobs WHERE channel = ? AND kind = ? AND status = 'pending' ORDER BY id DESC LIMIT 1`).get(channel, kind) as Row | undefined;
    return row ? toJob(row) : null;
  }

  /** Whether a pending job of `kind` waits behind job `id` in its channel. */
  pendingAfter(channel: string, id: number, kind: string): boolean {
    return this.stmt(`SELECT 1 FROM notify_jobs WHERE channel = ? AND status = 'pending' AND kind = ? AND id > ? LIMIT 1`).get(channel, kind, id) !== undefined;
  }

  /** A waiting job's message replaced by one that says more (merged); its place in the queue and its retry time stay. */
  replaceJobMessage(id: number, message: string, now: number): void {
    this.stmt(`UPDATE notify_jobs SET message = ?, updated_at = ? WHERE id = ? AND status = 'pending'`).run(message, now, id);
  }

  /** A job that may not go yet (an SMS in quiet hours) waits until `at`, without counting an attempt. */
  postponeJob(id: number, at: number, now: number): void {
    this.stmt(`UPDATE notify_jobs SET next_attempt_at = ?, updated_at = ? WHERE id = ? AND status = 'pending'`).run(at, now, id);
  }

  getJob(id: number): NotifyJobRow | null {
    const row = this.stmt('SELECT * FROM notify_jobs WHERE id = ?').get(id) as Row | undefined;
    return row ? toJob(row) : null;
  }

  /**
   * The jobs to try now: of each channel only its oldest pending job, and only
   * when it is due, so one channel's messages arrive in the order they were
   * decided (a newer one never overtakes one waiting for its retry).
   */
  dueJobs(now: number, limit = 20): NotifyJobRow[] {
    return (this.stmt(
      `SELECT * FROM notify_jobs j WHERE status = 'pending' AND next_attempt_at <= ?
         AND id = (SELECT MIN(id) FROM notify_jobs k WHERE k.channel = j.channel AND k.status = 'pending')
       ORDER BY next_attempt_at, id LIMIT ?`,
    ).all(now, limit) as Row[]).map(toJob);
  }

  nextJobAt(): number | null {
    const row = this.stmt(`SELECT MIN(next_attempt_at) AS at FROM notify_jobs WHERE status = 'pending'`).get() as Row;
    return (row['at'] as number | null) ?? null;
  }

  /**
   * One attempt's outcome, and the channel's last delivery, in one
   * transaction: a retry (retryAt) keeps the job pending, null gives it up.
   */
  finishJob(job: { id: number; channel: string; kind: string }, now: number, outcome: { ok: true; answer: unknown } | { ok: false; error: string; answer: unknown; retryAt: number | null }): void {
    this.transaction(() => {
      if (outcome.ok) {
        this.stmt(`UPDATE notify_jobs SET status = 'done', attempts = attempts + 1, last_error = NULL, updated_at = ? WHERE id = ?`).run(now, job.id);
      } else {
        this.stmt(`UPDATE notify_jobs SET status = ?, attempts = attempts + 1, last_error = ?, next_attempt_at = COALESCE(?, next_attempt_at), updated_at = ? WHERE id = ?`)
          .run(outcome.retryAt === null ? 'failed' : 'pending', outcome.error, outcome.retryAt, now, job.id);
      }
      this.recordDelivery(job.channel, { at: now, ok: outcome.ok, kind: job.kind, error: outcome.ok ? null : outcome.error, answer: outcome.answer });
    });
  }

  /** The channel's last delivery (a test send too). */
  recordDelivery(channel: string, last: LastDelivery): void {
    this.stmt(
      `INSERT INTO notify_channels (channel, last_at, last_ok, last_kind, last_error, last_answer) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (channel) DO UPDATE SET last_at = excluded.last_at, last_ok = excluded.last_ok, last_kind = excluded.last_kind,
         last_error = excluded.last_error, last_answer = excluded.last_answer`,
    ).run(channel, last.at, last.ok ? 1 : 0, last.kind, last.error, last.answer === undefined ? null : JSON.stringify(last.answer));
  }

  /** Pending jobs of channels no longer in the config will never be delivered: say so. */
  dropJobsExcept(channels: readonly string[], now: number): number {
    const keep = JSON.stringify(channels);
    return this.stmt(
      `UPDATE notify_jobs SET status = 'dropped', last_error = 'channel removed from the config', updated_at = ?
       WHERE status = 'pending' AND channel NOT IN (SELECT value FROM json_each(?))`,
    ).run(now, keep).changes;
  }

  /** The storm machine's state of a channel: kind → state (JSON-decoded by the caller). */
  loadState(channel: string): Record<string, unknown> {
    const row = this.stmt('SELECT state FROM notify_channels WHERE channel = ?').get(channel) as Row | undefined;
    if (!row) return {};
    try {
      const parsed = JSON.parse(row['state'] as string) as unknown;
      return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
    } catch {
      return {};
    }
  }

  saveState(channel: string, state: Record<string, unknown>): void {
    this.stmt(`INSERT INTO notify_channels (channel, state) VALUES (?, ?) ON CONFLICT (channel) DO UPDATE SET state = excluded.state`).run(channel, JSON.stringify(state));
  }

  channel(channel: string): NotifyChannelRow {
    const row = this.stmt('SELECT * FROM notify_channels WHERE channel = ?').get(channel) as Row | undefined;
    const counts = this.stmt(
      `SELECT COALESCE(SUM(status = 'pending'), 0) AS pending, COALESCE(SUM(status = 'failed'), 0) AS failed FROM notify_jobs WHERE channel = ? AND status IN ('pending', 'failed')`,
    ).get(channel) as Row;
    return {
      channel,
      lastAt: (row?.['last_at'] as number | null | undefined) ?? null,
      lastOk: row?.['last_ok'] === null || row?.['last_ok'] === undefined ? null : row['last_ok'] === 1,
      lastKind: (row?.['last_kind'] as string | null | undefined) ?? null,
      lastError: (row?.['last_error'] as string | null | undefined) ?? null,
      lastAnswer: (row?.['last_answer'] as string | null | undefined) ?? null,
      pending: counts['pending'] as number,
      failed: counts['failed'] as number,
    };
  }

  /** Finished jobs older than `before` go (the queue keeps a month of history). */
  purge(before: number): number {
    return this.stmt(`DELETE FROM notify_jobs WHERE status <> 'pending' AND updated_at < ?`).run(before).changes;
  }

  jobs(channel?: string): NotifyJobRow[] {
    return ((channel === undefined
      ? this.stmt('SELECT * FROM notify_jobs ORDER BY id').all()
      : this.stmt('SELECT * FROM notify_jobs WHERE channel = ? ORDER BY id').all(channel)) as Row[]).map(toJob);
  }
}
