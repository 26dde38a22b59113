import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AccountConfig } from '../config/config.js';
import { hashPassword, verifyPasswordSync } from '../passwords.js';
import { formatYuan } from '../money.js';
import { MIGRATIONS } from './migrations.js';

export const MESSAGE_STATUSES = ['queued', 'sending', 'sent', 'delivered', 'failed', 'suppressed', 'uncertain'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

export interface AccountRow {
  id: number;
  user: string;
  passwordHash: string;
  balanceLi: number | null;
  ignoreQuietHours: boolean;
  enabled: boolean;
}

export interface MessageRow {
  id: number;
  requestId: number;
  account: string;
  to: string;
  body: string;
  segments: number;
  encoding: string;
  chargeLi: number;
  status: MessageStatus;
  createdAt: number;
  updatedAt: number;
  sentAt: number | null;
  deliveredAt: number | null;
  attempts: number;
  lastError: string | null;
}

export interface LedgerRow {
  id: number;
  at: number;
  kind: 'opening' | 'config' | 'topup' | 'charge' | 'refund';
  amountLi: number;
  balanceAfterLi: number | null;
  requestId: number | null;
  messageId: number | null;
  note: string;
}

export type EventLevel = 'info' | 'warn' | 'error';
export interface EventRow {
  id: number;
  at: number;
  level: EventLevel;
  kind: string;
  zh: string;
  en: string;
  data: unknown;
}

export interface SendRequest {
  accountId: number;
  recipients: string[];
  invalidNumbers: string[];
  body: string;
  segments: number;
  encoding: string;
  priceLiPerSegment: number;
  client: string;
  now: number;
  /** A request with the same fingerprint inside this window is a client retry; 0 = off. */
  duplicateWindowMs: number;
}

export type SendOutcome =
  | { kind: 'accepted'; requestId: number; messageIds: number[]; chargeLi: number }
  | { kind: 'duplicate'; requestId: number }
  | { kind: 'balance-too-low'; balanceLi: number; neededLi: number };

/** Who sent what, reduced to a hash so retries can be recognised without keeping another copy of the text. */
export function requestFingerprint(accountId: number, recipients: string[], body: string): string {
  return createHash('sha256')
    .update(`${accountId}\0${[...recipients].sort().join(',')}\0${body}`, 'utf8')
    .digest('hex');
}

type Row = Record<string, unknown>;

function toMessage(r: Row): MessageRow {
  return {
    id: r['id'] as number,
    requestId: r['request_id'] as number,
    account: r['user'] as string,
    to: r['to_number'] as string,
    body: r['body'] as string,
    segments: r['segments'] as number,
    encoding: r['encoding'] as string,
    chargeLi: r['charge_li'] as number,
    status: r['status'] as MessageStatus,
    createdAt: r['created_at'] as number,
    updatedAt: r['updated_at'] as number,
    sentAt: (r['sent_at'] as number | null) ?? null,
    deliveredAt: (r['delivered_at'] as number | null) ?? null,
    attempts: r['attempts'] as number,
    lastError: (r['last_error'] as string | null) ?? null,
  };
}

function toAccount(r: Row): AccountRow {
  return {
    id: r['id'] as number,
    user: r['user'] as string,
    passwordHash: r['password_hash'] as string,
    balanceLi: (r['balance_li'] as number | null) ?? null,
    ignoreQuietHours: r['ignore_quiet_hours'] === 1,
    enabled: r['enabled'] === 1,
  };
}

/**
 * The only owner of SQLite. Every state change is one transaction; callers
 * never see a half-applied change.
 */
export class Store {
  readonly db: Database.Database;

  private readonly statements = new Map<string, Database.Statement>();
  private pendingEvents: [number, EventLevel, string, string, string, string | null][] = [];

  /** Nested inside acceptSendBatch's transaction it becomes a savepoint. */
  private readonly acceptTx: (req: SendRequest) => SendOutcome;

  private constructor(db: Database.Database) {
    this.db = db;
    this.acceptTx = db.transaction((req: SendRequest) => this.acceptOne(req));
  }

  /** Prepared once, reused: the hot paths run the same few statements thousands of times. */
  private stmt(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  /** Opens (creating if needed) `<dataDir>/smsbox.db` with WAL and runs pending migrations. */
  static open(dataDir: string): Store {
    mkdirSync(dataDir, { recursive: true });
    return Store.openFile(join(dataDir, 'smsbox.db'));
  }

  static openFile(file: string): Store {
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    // FULL: a row acknowledged with "1" must survive a power cut, not only a crash.
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    const store = new Store(db);
    store.migrate();
    return store;
  }

  close(): void {
    this.flushEvents();
    this.db.close();
  }

  get schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  private migrate(): void {
    const current = this.schemaVersion;
    if (current > MIGRATIONS.length) {
      throw new Error(`database schema version ${current} is newer than this software (${MIGRATIONS.length}); install a newer smsbox`);
    }
    for (let version = current; version < MIGRATIONS.length; version++) {
      this.db.transaction(() => {
        this.db.exec(MIGRATIONS[version]!);
        this.db.pragma(`user_version = ${version + 1}`);
      })();
    }
  }

  // ---- accounts -----------------------------------------------------------

  /**
   * Brings the accounts table in line with the config file: new accounts are
   * created with their opening balance, changed passwords re-hashed, a changed
   * `balance` in the file applied once as a ledger row, and accounts no longer
   * in the file disabled (their history stays).
   */
  syncAccounts(accounts: readonly AccountConfig[], now: number): void {
    const existing = new Map(
      (this.stmt('SELECT * FROM accounts').all() as Row[]).map((r) => [r['user'] as string, r]),
    );
    // Hash outside the transaction: scrypt is slow and the transaction should be short.
    const prepared = accounts.map((a) => {
      const row = existing.get(a.user);
      const keepHash = row !== undefined && verifyPasswordSync(a.password, row['password_hash'] as string);
      return { config: a, row, hash: keepHash ? (row!['password_hash'] as string) : hashPassword(a.password) };
    });
    this.db.transaction(() => {
      for (const { config, row, hash } of prepared) {
        if (!row) {
          const id = this.stmt(
              `INSERT INTO accounts (user, password_hash, balance_li, config_balance_li, ignore_quiet_hours, enabled, created_at, updated_at)
               VALUES (?, ?, ?, ?, ?, 1, ?, ?)`,
            )
            .run(config.user, hash, config.balanceLi, config.balanceLi, config.ignoreQuietHours ? 1 : 0, now, now).lastInsertRowid as number;
          this.insertLedger(id, now, 'opening', config.balanceLi ?? 0, config.balanceLi, null, null,
            config.balanceLi === null ? 'unlimited' : `opening balance ${formatYuan(config.balanceLi)}`);
          continue;
        }
        const id = row['id'] as number;
        const oldConfigBalance = (row['config_balance_li'] as number | null) ?? null;
        let balance = (row['balance_li'] as number | null) ?? null;
        if (config.balanceLi !== oldConfigBalance) {
          if (config.balanceLi === null) balance = null;
          else if (oldConfigBalance === null || balance === null) balance = config.balanceLi;
          else balance += config.balanceLi - oldConfigBalance;
          this.insertLedger(id, now, 'config', config.balanceLi === null || oldConfigBalance === null ? 0 : config.balanceLi - oldConfigBalance, balance, null, null,
            `config balance ${oldConfigBalance === null ? 'unlimited' : formatYuan(oldConfigBalance)} → ${config.balanceLi === null ? 'unlimited' : formatYuan(config.balanceLi)}`);
        }
        this.stmt(
            `UPDATE accounts SET password_hash = ?, balance_li = ?, config_balance_li = ?, ignore_quiet_hours = ?, enabled = 1, updated_at = ? WHERE id = ?`,
          )
          .run(hash, balance, config.balanceLi, config.ignoreQuietHours ? 1 : 0, now, id);
      }
      const keep = new Set(accounts.map((a) => a.user));
      for (const user of existing.keys()) {
        if (!keep.has(user)) this.stmt('UPDATE accounts SET enabled = 0, updated_at = ? WHERE user = ?').run(now, user);
      }
    })();
  }

  getAccount(user: string): AccountRow | null {
    const row = this.stmt('SELECT * FROM accounts WHERE user = ? AND enabled = 1').get(user) as Row | undefined;
    return row ? toAccount(row) : null;
  }

  listAccounts(): AccountRow[] {
    return (this.stmt('SELECT * FROM accounts WHERE enabled = 1 ORDER BY user').all() as Row[]).map(toAccount);
  }

  private insertLedger(accountId: number, at: number, kind: LedgerRow['kind'], amountLi: number, balanceAfterLi: number | null,
    requestId: number | null, messageId: number | null, note: string): void {
    this.stmt(
        `INSERT INTO ledger (account_id, at, kind, amount_li, balance_after_li, request_id, message_id, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(accountId, at, kind, amountLi, balanceAfterLi, requestId, messageId, note);
  }

  /** Adds money to a limited account; returns the new balance, or null if the account is unknown or unlimited. */
  topUp(user: string, amountLi: number, now: number, note = ''): number | null {
    return this.db.transaction(() => {
      const account = this.getAccount(user);
      if (!account || account.balanceLi === null) return null;
      const balance = account.balanceLi + amountLi;
      this.stmt('UPDATE accounts SET balance_li = ?, updated_at = ? WHERE id = ?').run(balance, now, account.id);
      this.insertLedger(account.id, now, 'topup', amountLi, balance, null, null, note);
      return balance;
    })();
  }

  ledger(user: string, limit = 100): LedgerRow[] {
    const rows = this.stmt(
        `SELECT l.* FROM ledger l JOIN accounts a ON a.id = l.account_id WHERE a.user = ? ORDER BY l.id DESC LIMIT ?`,
      )
      .all(user, limit) as Row[];
    return rows.map((r) => ({
      id: r['id'] as number,
      at: r['at'] as number,
      kind: r['kind'] as LedgerRow['kind'],
      amountLi: r['amount_li'] as number,
      balanceAfterLi: (r['balance_after_li'] as number | null) ?? null,
      requestId: (r['request_id'] as number | null) ?? null,
      messageId: (r['message_id'] as number | null) ?? null,
      note: r['note'] as string,
    }));
  }

  // ---- outbox -------------------------------------------------------------

  /**
   * Accepts a send request in one transaction: a retry of a recent identical
   * request is recognised and adds nothing; otherwise the balance is checked
   * and charged and one outbox row per recipient is written. Only after this
   * returns may the client be told "1".
   */
  acceptSend(req: SendRequest): SendOutcome {
    return this.acceptTx(req);
  }

  /**
   * Group commit: several requests in one transaction, so one disk flush
   * acknowledges them all. Each request runs in its own savepoint; one that
   * fails is returned as its Error and does not undo the others.
   */
  acceptSendBatch(requests: readonly SendRequest[]): (SendOutcome | Error)[] {
    return this.db.transaction(() =>
      requests.map((req) => {
        try {
          return this.acceptTx(req);
        } catch (err) {
          return err instanceof Error ? err : new Error(String(err));
        }
      }),
    )();
  }

  private acceptOne(req: SendRequest): SendOutcome {
    const fingerprint = requestFingerprint(req.accountId, req.recipients, req.body);
    if (req.duplicateWindowMs > 0) {
      const previous = this.stmt('SELECT id FROM requests WHERE fingerprint = ? AND received_at >= ? ORDER BY id DESC LIMIT 1')
        .get(fingerprint, req.now - req.duplicateWindowMs) as Row | undefined;
      if (previous) return { kind: 'duplicate', requestId: previous['id'] as number };
    }
    const account = this.stmt('SELECT balance_li FROM accounts WHERE id = ?').get(req.accountId) as Row;
    const balance = (account['balance_li'] as number | null) ?? null;
    const perMessage = req.segments * req.priceLiPerSegment;
    const needed = perMessage * req.recipients.length;
    if (balance !== null && needed > balance) return { kind: 'balance-too-low', balanceLi: balance, neededLi: needed };

    const requestId = this.stmt(
        'INSERT INTO requests (account_id, received_at, client, fingerprint, recipients, invalid_numbers) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(req.accountId, req.now, req.client, fingerprint, req.recipients.length, JSON.stringify(req.invalidNumbers))
      .lastInsertRowid as number;
    const insert = this.stmt(
      `INSERT INTO outbox (request_id, account_id, to_number, body, segments, encoding, charge_li, status, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)`,
    );
    const messageIds = req.recipients.map(
      (to) => insert.run(requestId, req.accountId, to, req.body, req.segments, req.encoding, perMessage, req.now, req.now).lastInsertRowid as number,
    );
    if (balance !== null && needed > 0) {
      const after = balance - needed;
      this.stmt('UPDATE accounts SET balance_li = ?, updated_at = ? WHERE id = ?').run(after, req.now, req.accountId);
      this.insertLedger(req.accountId, req.now, 'charge', -needed, after, requestId, null,
        `${req.recipients.length} × ${req.segments} × ${formatYuan(req.priceLiPerSegment)}`);
    }
    return { kind: 'accepted', requestId, messageIds, chargeLi: needed };
  }

  getMessage(id: number): MessageRow | null {
    const row = this.stmt('SELECT o.*, a.user FROM outbox o JOIN accounts a ON a.id = o.account_id WHERE o.id = ?')
      .get(id) as Row | undefined;
    return row ? toMessage(row) : null;
  }

  /** Newest first. */
  listMessages(opts: { limit: number; status?: MessageStatus; beforeId?: number }): MessageRow[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (opts.status) {
      where.push('o.status = ?');
      args.push(opts.status);
    }
    if (opts.beforeId !== undefined) {
      where.push('o.id < ?');
      args.push(opts.beforeId);
    }
    const sql = `SELECT o.*, a.user FROM outbox o JOIN accounts a ON a.id = o.account_id
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY o.id DESC LIMIT ?`;
    return (this.stmt(sql).all(...args, opts.limit) as Row[]).map(toMessage);
  }

  /** Queue counts for the status model; "today" starts at `dayStart` (local midnight). */
  queueCounts(dayStart: number): { queued: number; sending: number; uncertain: number; sentToday: number; failedToday: number; suppressedToday: number } {
    const byStatus = new Map(
      (this.stmt(`SELECT status, COUNT(*) AS n FROM outbox WHERE status IN ('queued', 'sending', 'uncertain') GROUP BY status`).all() as Row[])
        .map((r) => [r['status'] as string, r['n'] as number]),
    );
    const today = this.stmt(
        `SELECT
           (SELECT COUNT(*) FROM outbox WHERE sent_at >= ?) AS sent,
           (SELECT COUNT(*) FROM outbox WHERE status = 'failed' AND updated_at >= ?) AS failed,
           (SELECT COUNT(*) FROM outbox WHERE status = 'suppressed' AND updated_at >= ?) AS suppressed`,
      )
      .get(dayStart, dayStart, dayStart) as Row;
    return {
      queued: byStatus.get('queued') ?? 0,
      sending: byStatus.get('sending') ?? 0,
      uncertain: byStatus.get('uncertain') ?? 0,
      sentToday: today['sent'] as number,
      failedToday: today['failed'] as number,
      suppressedToday: today['suppressed'] as number,
    };
  }

  // ---- events -------------------------------------------------------------

  /**
   * Events are written in batches on the next turn of the event loop: a flood
   * of refused requests must not cost one disk flush each. They are what a
   * person reads, not what the box promised, so losing the last few
   * milliseconds of them in a power cut is acceptable.
   */
  addEvent(at: number, level: EventLevel, kind: string, zh: string, en: string, data?: unknown): void {
    this.pendingEvents.push([at, level, kind, zh, en, data === undefined ? null : JSON.stringify(data)]);
    if (this.pendingEvents.length === 1) {
      setImmediate(() => {
        try {
          this.flushEvents();
        } catch (err) {
          // A failing database must not take the process down from a timer; the store's callers report it.
          process.stderr.write(`smsbox: cannot write events: ${String(err)}\n`);
        }
      });
    }
  }

  flushEvents(): void {
    if (this.pendingEvents.length === 0 || !this.db.open) return;
    const batch = this.pendingEvents;
    this.pendingEvents = [];
    const insert = this.stmt('INSERT INTO events (at, level, kind, message_zh, message_en, data) VALUES (?, ?, ?, ?, ?, ?)');
    this.db.transaction(() => {
      for (const row of batch) insert.run(...row);
    })();
  }

  listEvents(limit: number): EventRow[] {
    this.flushEvents();
    return (this.stmt('SELECT * FROM events ORDER BY id DESC LIMIT ?').all(limit) as Row[]).map((r) => ({
      id: r['id'] as number,
      at: r['at'] as number,
      level: r['level'] as EventLevel,
      kind: r['kind'] as string,
      zh: r['message_zh'] as string,
      en: r['message_en'] as string,
      data: r['data'] === null ? null : JSON.parse(r['data'] as string),
    }));
  }
}
