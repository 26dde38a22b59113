import type Database from 'better-sqlite3';

/**
 * The SIM's own tables (migration 11): self-test runs, balance queries and
 * their answers, and small named values (the carrier block's state). Their one
 * writer is src/sim/, used whole as `store.sim`, like the notifier's tables.
 */

export type SelftestState = 'running' | 'ok' | 'failed';

export interface SelftestRow {
  id: number;
  token: string;
  to: string | null;
  state: SelftestState;
  step: string;
  startedAt: number;
  finishedAt: number | null;
  zh: string;
  en: string;
  outboxId: number | null;
  inboxId: number | null;
}

export interface BalanceRow {
  id: number;
  askedAt: number;
  carrier: string;
  queryTo: string;
  queryText: string;
  outboxId: number | null;
  answeredAt: number | null;
  balanceLi: number | null;
  reply: string | null;
  inboxId: number | null;
}

type Row = Record<string, unknown>;

const toSelftest = (r: Row): SelftestRow => ({
  id: r['id'] as number,
  token: r['token'] as string,
  to: (r['to_number'] as string | null) ?? null,
  state: r['state'] as SelftestState,
  step: r['step'] as string,
  startedAt: r['started_at'] as number,
  finishedAt: (r['finished_at'] as number | null) ?? null,
  zh: r['message_zh'] as string,
  en: r['message_en'] as string,
  outboxId: (r['outbox_id'] as number | null) ?? null,
  inboxId: (r['inbox_id'] as number | null) ?? null,
});

const toBalance = (r: Row): BalanceRow => ({
  id: r['id'] as number,
  askedAt: r['asked_at'] as number,
  carrier: r['carrier'] as string,
  queryTo: r['query_to'] as string,
  queryText: r['query_text'] as string,
  outboxId: (r['outbox_id'] as number | null) ?? null,
  answeredAt: (r['answered_at'] as number | null) ?? null,
  balanceLi: (r['balance_li'] as number | null) ?? null,
  reply: (r['reply'] as string | null) ?? null,
  inboxId: (r['inbox_id'] as number | null) ?? null,
});

export class SimStore {
  constructor(private readonly db: Database.Database) {}

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  // ---- self-tests ------------------------------------------------------------
  startSelftest(token: string, to: string | null, step: string, now: number): SelftestRow {
    const id = this.db.prepare(`INSERT INTO selftests (token, to_number, state, step, started_at) VALUES (?, ?, 'running', ?, ?)`).run(token, to, step, now).lastInsertRowid as number;
    return this.selftest(id)!;
  }

  selftest(id: number): SelftestRow | null {
    const row = this.db.prepare('SELECT * FROM selftests WHERE id = ?').get(id) as Row | undefined;
    return row ? toSelftest(row) : null;
  }

  latestSelftest(): SelftestRow | null {
    const row = this.db.prepare('SELECT * FROM selftests ORDER BY id DESC LIMIT 1').get() as Row | undefined;
    return row ? toSelftest(row) : null;
  }

  runningSelftests(): SelftestRow[] {
    return (this.db.prepare(`SELECT * FROM selftests WHERE state = 'running' ORDER BY id`).all() as Row[]).map(toSelftest);
  }

  updateSelftest(id: number, fields: { step?: string; outboxId?: number; inboxId?: number }): void {
    this.db.prepare('UPDATE selftests SET step = COALESCE(?, step), outbox_id = COALESCE(?, outbox_id), inbox_id = COALESCE(?, inbox_id) WHERE id = ?')
      .run(fields.step ?? null, fields.outboxId ?? null, fields.inboxId ?? null, id);
  }

  /** Ends a running self-test; false when it had ended already (a late reply after a timeout). */
  finishSelftest(id: number, state: 'ok' | 'failed', step: string, zh: string, en: string, now: number): boolean {
    return this.db.prepare(`UPDATE selftests SET state = ?, step = ?, message_zh = ?, message_en = ?, finished_at = ? WHERE id = ? AND state = 'running'`)
      .run(state, step, zh, en, now, id).changes > 0;
  }

  // ---- balance ---------------------------------------------------------------
  addBalanceQuery(carrier: string, to: string, text: string, outboxId: number, now: number): number {
    return this.db.prepare('INSERT INTO sim_balance (asked_at, carrier, query_to, query_text, outbox_id) VALUES (?, ?, ?, ?, ?)')
      .run(now, carrier, to, text, outboxId).lastInsertRowid as number;
  }

  /** The newest query to `to` not answered yet, asked after `since`. */
  openBalanceQuery(to: string, since: number): BalanceRow | null {
    const row = this.db.prepare('SELECT * FROM sim_balance WHERE query_to = ? AND answered_at IS NULL AND asked_at > ? ORDER BY id DESC LIMIT 1').get(to, since) as Row | undefined;
    return row ? toBalance(row) : null;
  }

  answerBalance(id: number, balanceLi: number | null, reply: string, inboxId: number, now: number): void {
    this.db.prepare('UPDATE sim_balance SET answered_at = ?, balance_li = ?, reply = ?, inbox_id = ? WHERE id = ?').run(now, balanceLi, reply, inboxId, id);
  }

  /** The last balance read from a reply. */
  lastBalance(): BalanceRow | null {
    const row = this.db.prepare('SELECT * FROM sim_balance WHERE balance_li IS NOT NULL ORDER BY answered_at DESC, id DESC LIMIT 1').get() as Row | undefined;
    return row ? toBalance(row) : null;
  }

  lastBalanceQuery(): BalanceRow | null {
    const row = this.db.prepare('SELECT * FROM sim_balance ORDER BY id DESC LIMIT 1').get() as Row | undefined;
    return row ? toBalance(row) : null;
  }

  // ---- named values ----------------------------------------------------------
  getValue<T>(key: string): T | null {
    const row = this.db.prepare('SELECT value FROM sim_state WHERE key = ?').get(key) as Row | undefined;
    return row ? (JSON.parse(row['value'] as string) as T) : null;
  }

  setValue(key: string, value: unknown): void {
    this.db.prepare('INSERT INTO sim_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, JSON.stringify(value));
  }
}
