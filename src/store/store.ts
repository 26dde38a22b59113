import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AccountConfig } from '../config/config.js';
import { hashPassword, verifyPasswordSync } from '../passwords.js';
import { formatYuan } from '../money.js';
import { MIGRATIONS } from './migrations.js';
import { EventLog, type EventLevel, type EventRow } from './events.js';

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
  /** 'wdgj' for messages from 管家助理; 'optout-confirmation' and 'forward' are the box's own. */
  kind: string;
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

/** The account the box's own messages are queued under; never enabled, so it cannot log in. */
export const SYSTEM_ACCOUNT = '#system';

export interface InboxRow {
  id: number;
  receivedAt: number;
  from: string;
  text: string;
  sentAt: string | null;
  partsTotal: number;
  partsReceived: number;
  complete: boolean;
  action: string | null;
  processed: boolean;
}

export interface OptOutRow {
  number: string;
  createdAt: number;
  source: 'sms' | 'admin' | 'import';
  reason: string;
  inboxId: number | null;
}

function toInbox(r: Record<string, unknown>): InboxRow {
  return {
    id: r['id'] as number,
    receivedAt: r['received_at'] as number,
    from: r['sender'] as string,
    text: r['text'] as string,
    sentAt: (r['sent_at'] as string | null) ?? null,
    partsTotal: r['parts_total'] as number,
    partsReceived: r['parts_received'] as number,
    complete: r['complete'] === 1,
    action: (r['action'] as string | null) ?? null,
    processed: r['processed'] === 1,
  };
}

export type { EventRow, EventLevel } from './events.js';

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
  | { kind: 'accepted'; requestId: number; messageIds: number[]; chargeLi: number; suppressed: string[] }
  | { kind: 'duplicate'; requestId: number }
  | { kind: 'balance-too-low'; balanceLi: number; neededLi: number };

/** Who sent what, reduced to a hash so retries can be recognised without keeping another copy of the text. */
export function requestFingerprint(accountId: number, recipients: string[], body: string): string {
  return createHash('sha256')
    .update(`${accountId}\0${[...recipients].sort().join(',')}\0${body}`, 'utf8')
    .digest('hex');
}

type Row = Record<string, unknown>;

/** The indexed part of a fingerprint (migration 5): short keys keep the index small. */
const fingerprintKey = (fingerprint: string): string => fingerprint.slice(0, 16);

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
    kind: (r['kind'] as string | undefined) ?? 'wdgj',
  };
}

/** What authentication needs of an account. */
export type LoginAccount = Pick<AccountRow, 'id' | 'user' | 'passwordHash'>;

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

/** WAL pages (4 KiB each) after which a commit checkpoints by itself: 32 MiB. */
export const WAL_BACKSTOP_PAGES = 8000;

/**
 * The only owner of SQLite. Every state change is one transaction; callers
 * never see a half-applied change.
 */
export class Store {
  readonly db: Database.Database;

  private readonly statements = new Map<string, Database.Statement>();
  private readonly logins = new Map<string, LoginAccount | null>();
  private events!: EventLog;

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
    // The WAL is folded back into the database by checkpointIfQuiet() when writes
    // pause; a commit does it itself only past this backstop. At SQLite's default
    // (1000 pages) a burst from 管家助理 stalled every few hundred commits for a
    // checkpoint, and on an SD card a checkpoint is random writes.
    db.pragma(`wal_autocheckpoint = ${WAL_BACKSTOP_PAGES}`);
    // After a checkpoint the WAL file is cut back to this size.
    db.pragma(`journal_size_limit = ${WAL_BACKSTOP_PAGES * 4096}`);
    const store = new Store(db);
    store.migrate();
    store.events = new EventLog(db);
    return store;
  }

  /** Runs fn in one transaction (a savepoint when nested). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  close(): void {
    try {
      this.flushEvents();
    } catch {
      // A full disk: the last events are lost, the database closes cleanly.
    }
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
        if (!keep.has(user) && user !== SYSTEM_ACCOUNT) this.stmt('UPDATE accounts SET enabled = 0, updated_at = ? WHERE user = ?').run(now, user);
      }
    })();
    this.logins.clear();
  }

  /**
   * Who may log in as `user`: an enabled account's id and password hash, kept in
   * memory until syncAccounts (the only place credentials change). Every WDGJ
   * request authenticates, and a read outside a transaction costs more than the
   * rest of an smsAU. Not the balance: read that with getAccount.
   */
  getLogin(user: string): LoginAccount | null {
    let login = this.logins.get(user);
    if (login === undefined) {
      const account = this.getAccount(user);
      login = account ? { id: account.id, user: account.user, passwordHash: account.passwordHash } : null;
      // Names that do not exist are remembered too; a scanner must not grow this for ever.
      if (this.logins.size >= 1000) this.logins.clear();
      this.logins.set(user, login);
    }
    return login;
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
      const previous = this.stmt('SELECT id FROM requests WHERE fingerprint_key = ? AND received_at >= ? AND fingerprint = ? ORDER BY id DESC LIMIT 1')
        .get(fingerprintKey(fingerprint), req.now - req.duplicateWindowMs, fingerprint) as Row | undefined;
      if (previous) return { kind: 'duplicate', requestId: previous['id'] as number };
    }
    const account = this.stmt('SELECT balance_li FROM accounts WHERE id = ?').get(req.accountId) as Row;
    const balance = (account['balance_li'] as number | null) ?? null;
    // Opted-out numbers get a row (so the shop sees why) but are neither sent nor charged.
    const suppressed = req.recipients.filter((to) => this.isOptedOut(to));
    const perMessage = req.segments * req.priceLiPerSegment;
    const needed = perMessage * (req.recipients.length - suppressed.length);
    if (balance !== null && needed > balance) return { kind: 'balance-too-low', balanceLi: balance, neededLi: needed };

    const requestId = this.stmt(
      'INSERT INTO requests (account_id, received_at, client, fingerprint, fingerprint_key, recipients, invalid_numbers) VALUES (?, ?, ?, ?, ?, ?, ?)',
    )
      .run(req.accountId, req.now, req.client, fingerprint, fingerprintKey(fingerprint), req.recipients.length, JSON.stringify(req.invalidNumbers))
      .lastInsertRowid as number;
    const insert = this.stmt(
      `INSERT INTO outbox (request_id, account_id, to_number, body, segments, encoding, charge_li, status, created_at, updated_at, last_error)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const messageIds = req.recipients.map((to) => {
      const optedOut = suppressed.includes(to);
      return insert.run(requestId, req.accountId, to, req.body, req.segments, req.encoding, optedOut ? 0 : perMessage,
        optedOut ? 'suppressed' : 'queued', req.now, req.now, optedOut ? 'opted out' : null).lastInsertRowid as number;
    });
    if (balance !== null && needed > 0) {
      const after = balance - needed;
      this.stmt('UPDATE accounts SET balance_li = ?, updated_at = ? WHERE id = ?').run(after, req.now, req.accountId);
      this.insertLedger(req.accountId, req.now, 'charge', -needed, after, requestId, null,
        `${req.recipients.length - suppressed.length} × ${req.segments} × ${formatYuan(req.priceLiPerSegment)}`);
    }
    return { kind: 'accepted', requestId, messageIds, chargeLi: needed, suppressed };
  }

  getMessage(id: number): MessageRow | null {
    const row = this.stmt('SELECT o.*, a.user FROM outbox o JOIN accounts a ON a.id = o.account_id WHERE o.id = ?')
      .get(id) as Row | undefined;
    return row ? toMessage(row) : null;
  }

  /** Newest first. */
  listMessages(opts: { limit: number; status?: MessageStatus; beforeId?: number }): MessageRow[] {
    return this.searchMessages(opts);
  }

  /** Queue counts for the status model; "today" starts at `dayStart` (local midnight). */
  queueCounts(dayStart: number): { queued: number; sending: number; uncertain: number; sentToday: number; failedToday: number; suppressedToday: number } {
    const byStatus = new Map(
      (this.stmt(`SELECT status, n FROM outbox_counts WHERE status IN ('queued', 'sending', 'uncertain')`).all() as Row[])
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

  // ---- dispatch -----------------------------------------------------------
  // Every transition is one transaction and guarded by the status it expects,
  // so a message can never be in two states or sent by two loops.

  /**
   * The oldest queued message that is due; when the window is closed, only
   * urgent (ignore_quiet_hours) accounts' messages. The dispatcher asks after
   * every batch of accepted requests, so this must not grow with the queue:
   * two index walks that each stop at their first row (never sent yet: the
   * oldest by id; in backoff: the oldest of those due), the lower id wins. One
   * query with "IS NULL OR <= ?" walked every row in backoff at the head and,
   * with the window closed, every queued row of the other accounts (11 ms at
   * 100,000 queued, once per batch, on the event loop). INDEXED BY: with
   * statistics the planner may prefer walking (status, id) to skip the sort,
   * which is the walk this avoids.
   */
  nextDue(now: number, windowOpen: boolean): MessageRow | null {
    let best: { id: number } | undefined;
    const consider = (row: unknown) => {
      if (row && (!best || (row as { id: number }).id < best.id)) best = row as { id: number };
    };
    if (windowOpen) {
      consider(this.stmt(`SELECT id FROM outbox INDEXED BY outbox_due WHERE status = 'queued' AND next_attempt_at IS NULL ORDER BY id LIMIT 1`).get());
      consider(this.stmt(`SELECT id FROM outbox INDEXED BY outbox_due WHERE status = 'queued' AND next_attempt_at <= ? ORDER BY id LIMIT 1`).get(now));
    } else {
      for (const account of this.stmt(`SELECT id FROM accounts WHERE ignore_quiet_hours = 1`).all() as { id: number }[]) {
        consider(this.stmt(`SELECT id FROM outbox INDEXED BY outbox_queued_account WHERE status = 'queued' AND account_id = ? AND next_attempt_at IS NULL ORDER BY id LIMIT 1`).get(account.id));
        consider(this.stmt(`SELECT id FROM outbox INDEXED BY outbox_queued_account WHERE status = 'queued' AND account_id = ? AND next_attempt_at <= ? ORDER BY id LIMIT 1`).get(account.id, now));
      }
    }
    if (!best) return null;
    const row = this.stmt(`SELECT o.*, a.user FROM outbox o JOIN accounts a ON a.id = o.account_id WHERE o.id = ?`).get(best.id);
    return toMessage(row as Row);
  }

  /** Cheaper than counting: the dispatcher asks before every message. */
  hasQueued(): boolean {
    return this.stmt(`SELECT 1 FROM outbox WHERE status = 'queued' LIMIT 1`).get() !== undefined;
  }

  /** When the earliest waiting retry falls due (null when none waits). */
  nextRetryAt(now: number): number | null {
    const row = this.stmt(`SELECT MIN(next_attempt_at) AS at FROM outbox WHERE status = 'queued' AND next_attempt_at > ?`).get(now) as Row;
    return (row['at'] as number | null) ?? null;
  }

  /** Instants at which this modem sent segments since `since`, ascending: the rate limits' memory, kept across restarts. */
  sendHistory(modem: string, since: number): number[] {
    const rows = this.stmt(
      `SELECT COALESCE(finished_at, started_at) AS at, segments_sent FROM attempts
       WHERE modem = ? AND started_at > ? AND segments_sent > 0 ORDER BY at`,
    ).all(modem, since) as Row[];
    return rows.flatMap((r) => Array<number>(r['segments_sent'] as number).fill(r['at'] as number));
  }

  /** queued → sending, committed before the modem is touched; null when the message is no longer queued. */
  beginAttempt(messageId: number, modem: string, now: number): number | null {
    return this.db.transaction(() => {
      const changed = this.stmt(
        `UPDATE outbox SET status = 'sending', attempts = attempts + 1, modem = ?, updated_at = ? WHERE id = ? AND status = 'queued'`,
      ).run(modem, now, messageId).changes;
      if (changed === 0) return null;
      return this.stmt('INSERT INTO attempts (message_id, modem, started_at) VALUES (?, ?, ?)').run(messageId, modem, now).lastInsertRowid as number;
    })();
  }

  /** Undoes beginAttempt for a message that never reached the modem (the box is stopping). */
  cancelAttempt(messageId: number, attemptId: number): void {
    this.db.transaction(() => {
      this.stmt('DELETE FROM attempts WHERE id = ? AND finished_at IS NULL').run(attemptId);
      this.stmt(`UPDATE outbox SET status = 'queued', attempts = attempts - 1 WHERE id = ? AND status = 'sending'`).run(messageId);
    })();
  }

  private finishAttempt(attemptId: number, now: number, outcome: string, segmentsSent: number, error: string | null): void {
    this.stmt('UPDATE attempts SET finished_at = ?, outcome = ?, segments_sent = ?, error = ? WHERE id = ?').run(now, outcome, segmentsSent, error, attemptId);
  }

  /** sending → sent, with the network's reference of each segment for status reports. */
  finishSent(messageId: number, attemptId: number, now: number, to: string, messageRefs: readonly number[]): void {
    this.db.transaction(() => {
      this.finishAttempt(attemptId, now, 'sent', messageRefs.length, null);
      this.stmt(`UPDATE outbox SET status = 'sent', sent_at = ?, updated_at = ?, last_error = NULL, next_attempt_at = NULL WHERE id = ? AND status = 'sending'`).run(now, now, messageId);
      const insert = this.stmt('INSERT OR REPLACE INTO message_parts (message_id, part, message_ref, recipient, sent_at) VALUES (?, ?, ?, ?, ?)');
      messageRefs.forEach((ref, i) => insert.run(messageId, i + 1, ref, to, now));
    })();
  }

  /** sending → queued again, due at `nextAt`. */
  finishRetry(messageId: number, attemptId: number, now: number, nextAt: number, error: string, segmentsSent: number): void {
    this.db.transaction(() => {
      this.finishAttempt(attemptId, now, 'retry', segmentsSent, error);
      this.stmt(`UPDATE outbox SET status = 'queued', next_attempt_at = ?, last_error = ?, updated_at = ? WHERE id = ? AND status = 'sending'`).run(nextAt, error, now, messageId);
    })();
  }

  /** sending → failed, and the charge refunded. */
  finishFailed(messageId: number, attemptId: number, now: number, error: string, segmentsSent: number): void {
    this.db.transaction(() => {
      this.finishAttempt(attemptId, now, 'failed', segmentsSent, error);
      this.stmt(`UPDATE outbox SET status = 'failed', last_error = ?, updated_at = ?, next_attempt_at = NULL WHERE id = ? AND status = 'sending'`).run(error, now, messageId);
      this.refund(messageId, now, `failed: ${error}`);
    })();
  }

  /** sending → uncertain: the network may or may not have it. Not refunded, not resent until the shop decides. */
  finishUncertain(messageId: number, attemptId: number, now: number, error: string, segmentsSent: number): void {
    this.db.transaction(() => {
      this.finishAttempt(attemptId, now, 'uncertain', segmentsSent, error);
      this.stmt(`UPDATE outbox SET status = 'uncertain', last_error = ?, updated_at = ?, next_attempt_at = NULL WHERE id = ? AND status = 'sending'`).run(error, now, messageId);
    })();
  }

  /** queued or sending → suppressed (the number opted out), refunded. */
  suppress(messageId: number, attemptId: number | null, now: number, reason: string): boolean {
    return this.db.transaction(() => {
      if (attemptId !== null) this.finishAttempt(attemptId, now, 'suppressed', 0, reason);
      const changed = this.stmt(
        `UPDATE outbox SET status = 'suppressed', last_error = ?, updated_at = ?, next_attempt_at = NULL WHERE id = ? AND status IN ('queued', 'sending')`,
      ).run(reason, now, messageId).changes;
      if (changed > 0) this.refund(messageId, now, `suppressed: ${reason}`);
      return changed > 0;
    })();
  }

  /** Gives a message's charge back once (charge_li goes to 0), as a ledger row. */
  private refund(messageId: number, now: number, note: string): void {
    const row = this.stmt(
      'SELECT o.charge_li, o.account_id, a.balance_li FROM outbox o JOIN accounts a ON a.id = o.account_id WHERE o.id = ?',
    ).get(messageId) as Row;
    const charge = row['charge_li'] as number;
    const balance = (row['balance_li'] as number | null) ?? null;
    if (charge <= 0 || balance === null) return;
    const after = balance + charge;
    this.stmt('UPDATE accounts SET balance_li = ?, updated_at = ? WHERE id = ?').run(after, now, row['account_id']);
    this.stmt('UPDATE outbox SET charge_li = 0 WHERE id = ?').run(messageId);
    this.insertLedger(row['account_id'] as number, now, 'refund', charge, after, null, messageId, note);
  }

  /**
   * After a crash or power cut: a message left in `sending` may or may not
   * have reached the network. It becomes `uncertain` (default), or is queued
   * again when the shop chose at-least-once delivery.
   */
  recoverInterrupted(now: number, resend: boolean): number[] {
    return this.db.transaction(() => {
      const ids = (this.stmt(`SELECT id FROM outbox WHERE status = 'sending' ORDER BY id`).all() as Row[]).map((r) => r['id'] as number);
      const reason = 'interrupted: the box stopped while sending (power cut or crash)';
      for (const id of ids) {
        this.stmt(`UPDATE attempts SET finished_at = ?, outcome = 'uncertain', error = ? WHERE message_id = ? AND finished_at IS NULL`).run(now, reason, id);
        this.stmt(`UPDATE outbox SET status = ?, last_error = ?, updated_at = ?, next_attempt_at = NULL WHERE id = ?`).run(resend ? 'queued' : 'uncertain', reason, now, id);
      }
      return ids;
    })();
  }

  /** The shop's decision on an uncertain message: send it again, or give it up (refunded). */
  resolveUncertain(messageId: number, action: 'resend' | 'fail', now: number): boolean {
    return this.db.transaction(() => {
      const changed = this.stmt(
        `UPDATE outbox SET status = ?, next_attempt_at = NULL, updated_at = ? WHERE id = ? AND status = 'uncertain'`,
      ).run(action === 'resend' ? 'queued' : 'failed', now, messageId).changes;
      if (changed > 0 && action === 'fail') this.refund(messageId, now, 'uncertain, marked failed by the shop');
      return changed > 0;
    })();
  }

  /**
   * A status report for (recipient, message reference): the newest part sent
   * with that reference in the last 7 days (references wrap at 256). The
   * message is delivered when every part is; failed when a part failed
   * for good. The charge stays: the network carried the message.
   */
  applyStatusReport(recipient: string, messageRef: number, status: number, delivered: boolean, final: boolean, now: number): number | null {
    return this.db.transaction(() => {
      const part = this.stmt(
        `SELECT message_id, part FROM message_parts WHERE recipient = ? AND message_ref = ? AND sent_at > ? ORDER BY sent_at DESC LIMIT 1`,
      ).get(recipient, messageRef, now - 7 * 86_400_000) as Row | undefined;
      if (!part) return null;
      const messageId = part['message_id'] as number;
      this.stmt('UPDATE message_parts SET report_status = ?, reported_at = ? WHERE message_id = ? AND part = ?').run(status, now, messageId, part['part']);
      if (delivered) {
        const open = this.stmt(`SELECT COUNT(*) AS n FROM message_parts WHERE message_id = ? AND (report_status IS NULL OR report_status <> 0)`).get(messageId) as Row;
        if ((open['n'] as number) === 0) {
          this.stmt(`UPDATE outbox SET status = 'delivered', delivered_at = ?, updated_at = ? WHERE id = ? AND status = 'sent'`).run(now, now, messageId);
        }
      } else if (final) {
        this.stmt(`UPDATE outbox SET status = 'failed', last_error = ?, updated_at = ? WHERE id = ? AND status IN ('sent', 'delivered')`)
          .run(`delivery failed (status report 0x${status.toString(16).padStart(2, '0')})`, now, messageId);
      }
      return messageId;
    })();
  }

  listAttempts(messageId: number): { id: number; modem: string; startedAt: number; finishedAt: number | null; outcome: string | null; segmentsSent: number; error: string | null }[] {
    return (this.stmt('SELECT * FROM attempts WHERE message_id = ? ORDER BY id').all(messageId) as Row[]).map((r) => ({
      id: r['id'] as number,
      modem: r['modem'] as string,
      startedAt: r['started_at'] as number,
      finishedAt: (r['finished_at'] as number | null) ?? null,
      outcome: (r['outcome'] as string | null) ?? null,
      segmentsSent: r['segments_sent'] as number,
      error: (r['error'] as string | null) ?? null,
    }));
  }

  // ---- inbound -------------------------------------------------------------

  /**
   * Commits one received segment (the modem deletes its copy only after this
   * returns). Multipart messages are put together in one inbox row, parts in
   * any order; a PDU seen before is ignored, so the modem offering the same
   * message twice (a crash between commit and delete) changes nothing.
   */
  addInboundPart(
    part: { from: string; text: string; timestamp: string; concat: { ref: number; part: number; total: number; ref16: boolean } | null; pdu: string },
    now: number,
    reassemblyWindowMs: number,
  ): { inboxId: number; complete: boolean; duplicate: boolean } {
    return this.db.transaction(() => {
      const seen = this.stmt('SELECT inbox_id FROM inbox_parts WHERE pdu = ?').get(part.pdu) as Row | undefined;
      if (seen) return { inboxId: seen['inbox_id'] as number, complete: true, duplicate: true };
      const insertInbox = this.stmt(
        `INSERT INTO inbox (received_at, sender, text, sent_at, concat_key, parts_total, parts_received, complete) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      const insertPart = this.stmt('INSERT INTO inbox_parts (inbox_id, part, text, pdu, received_at) VALUES (?, ?, ?, ?, ?)');
      if (!part.concat || part.concat.total <= 1) {
        const id = insertInbox.run(now, part.from, part.text, part.timestamp, null, 1, 1, 1).lastInsertRowid as number;
        insertPart.run(id, 1, part.text, part.pdu, now);
        return { inboxId: id, complete: true, duplicate: false };
      }
      const key = `${part.from}|${part.concat.ref16 ? 16 : 8}:${part.concat.ref}|${part.concat.total}`;
      const open = this.stmt(
        `SELECT id, complete FROM inbox WHERE concat_key = ? AND received_at > ? ORDER BY id DESC LIMIT 1`,
      ).get(key, now - reassemblyWindowMs) as Row | undefined;
      // A complete message with this key already has every part: this is the network repeating one.
      if (open && open['complete'] === 1) return { inboxId: open['id'] as number, complete: true, duplicate: true };
      const id = open
        ? (open['id'] as number)
        : (insertInbox.run(now, part.from, '', part.timestamp, key, part.concat.total, 0, 0).lastInsertRowid as number);
      const has = this.stmt('SELECT 1 FROM inbox_parts WHERE inbox_id = ? AND part = ?').get(id, part.concat.part);
      if (has) return { inboxId: id, complete: false, duplicate: true };
      insertPart.run(id, part.concat.part, part.text, part.pdu, now);
      const parts = this.stmt('SELECT part, text FROM inbox_parts WHERE inbox_id = ? ORDER BY part').all(id) as Row[];
      const complete = parts.length >= part.concat.total;
      this.stmt('UPDATE inbox SET text = ?, parts_received = ?, complete = ? WHERE id = ?').run(
        parts.map((p) => p['text'] as string).join(''),
        parts.length,
        complete ? 1 : 0,
        id,
      );
      return { inboxId: id, complete, duplicate: false };
    })();
  }

  /** Inbox rows ready for processing: complete ones, and incomplete ones whose wait is over. */
  pendingInbound(now: number, reassemblyWindowMs: number): InboxRow[] {
    return (
      this.stmt(
        `SELECT * FROM inbox WHERE processed = 0 AND (complete = 1 OR received_at <= ?) ORDER BY id LIMIT 100`,
      ).all(now - reassemblyWindowMs) as Row[]
    ).map(toInbox);
  }

  markInboundProcessed(id: number, action: string | null): void {
    this.stmt('UPDATE inbox SET processed = 1, action = ? WHERE id = ?').run(action, id);
  }

  listInbox(opts: { limit: number; q?: string; beforeId?: number }): InboxRow[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (opts.q) {
      where.push(`(sender LIKE ? ESCAPE '\\' OR text LIKE ? ESCAPE '\\')`);
      const like = `%${opts.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      args.push(like, like);
    }
    if (opts.beforeId !== undefined) {
      where.push('id < ?');
      args.push(opts.beforeId);
    }
    const sql = `SELECT * FROM inbox ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id DESC LIMIT ?`;
    return (this.stmt(sql).all(...args, opts.limit) as Row[]).map(toInbox);
  }

  isOptedOut(number: string): boolean {
    return this.stmt('SELECT 1 FROM optouts WHERE number = ?').get(number) !== undefined;
  }

  /** Adds a number to the opt-out list; false when it was already there (the first reason is kept). */
  addOptOut(number: string, source: OptOutRow['source'], reason: string, now: number, inboxId: number | null = null): boolean {
    return this.stmt('INSERT OR IGNORE INTO optouts (number, created_at, source, reason, inbox_id) VALUES (?, ?, ?, ?, ?)')
      .run(number, now, source, reason, inboxId).changes > 0;
  }

  removeOptOut(number: string): boolean {
    return this.stmt('DELETE FROM optouts WHERE number = ?').run(number).changes > 0;
  }

  countOptOuts(): number {
    return (this.stmt('SELECT COUNT(*) AS n FROM optouts').get() as { n: number }).n;
  }

  listOptOuts(opts: { limit: number; q?: string }): OptOutRow[] {
    const like = opts.q ? `%${opts.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null;
    const rows = (like
      ? this.stmt(`SELECT * FROM optouts WHERE number LIKE ? ESCAPE '\\' OR reason LIKE ? ESCAPE '\\' ORDER BY created_at DESC LIMIT ?`).all(like, like, opts.limit)
      : this.stmt('SELECT * FROM optouts ORDER BY created_at DESC LIMIT ?').all(opts.limit)) as Row[];
    return rows.map((r) => ({
      number: r['number'] as string,
      createdAt: r['created_at'] as number,
      source: r['source'] as OptOutRow['source'],
      reason: r['reason'] as string,
      inboxId: (r['inbox_id'] as number | null) ?? null,
    }));
  }

  /** The box's own messages (opt-out confirmations, forwards to the owner) go through the outbox like any other, uncharged. */
  queueSystemMessage(kind: 'optout-confirmation' | 'forward', to: string, body: string, segments: number, encoding: string, now: number): number {
    return this.db.transaction(() => {
      let account = this.stmt('SELECT id FROM accounts WHERE user = ?').get(SYSTEM_ACCOUNT) as Row | undefined;
      if (!account) {
        // Disabled: it can never log in over WDGJ.
        this.stmt(
          `INSERT INTO accounts (user, password_hash, balance_li, config_balance_li, enabled, created_at, updated_at) VALUES (?, '!', NULL, NULL, 0, ?, ?)`,
        ).run(SYSTEM_ACCOUNT, now, now);
        account = this.stmt('SELECT id FROM accounts WHERE user = ?').get(SYSTEM_ACCOUNT) as Row;
      }
      const accountId = account['id'] as number;
      const requestId = this.stmt(
        'INSERT INTO requests (account_id, received_at, client, fingerprint, recipients) VALUES (?, ?, ?, ?, 1)',
      ).run(accountId, now, kind, requestFingerprint(accountId, [to], body)).lastInsertRowid as number;
      return this.stmt(
        `INSERT INTO outbox (request_id, account_id, to_number, body, segments, encoding, charge_li, status, created_at, updated_at, kind)
         VALUES (?, ?, ?, ?, ?, ?, 0, 'queued', ?, ?, ?)`,
      ).run(requestId, accountId, to, body, segments, encoding, now, now, kind).lastInsertRowid as number;
    })();
  }

  // Webhook forwarding: one row per inbound message and target, retried until done.
  addForward(inboxId: number, target: string, now: number): void {
    this.stmt('INSERT INTO forwards (inbox_id, target, next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?)').run(inboxId, target, now, now, now);
  }

  dueForwards(now: number): { id: number; inboxId: number; target: string; attempts: number }[] {
    return (this.stmt(`SELECT * FROM forwards WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT 20`).all(now) as Row[]).map((r) => ({
      id: r['id'] as number,
      inboxId: r['inbox_id'] as number,
      target: r['target'] as string,
      attempts: r['attempts'] as number,
    }));
  }

  nextForwardAt(): number | null {
    const row = this.stmt(`SELECT MIN(next_attempt_at) AS at FROM forwards WHERE status = 'pending'`).get() as Row;
    return (row['at'] as number | null) ?? null;
  }

  finishForward(id: number, now: number, outcome: { ok: true } | { ok: false; error: string; retryAt: number | null }): void {
    if (outcome.ok) {
      this.stmt(`UPDATE forwards SET status = 'done', attempts = attempts + 1, last_error = NULL, updated_at = ? WHERE id = ?`).run(now, id);
    } else {
      this.stmt(`UPDATE forwards SET status = ?, attempts = attempts + 1, last_error = ?, next_attempt_at = COALESCE(?, next_attempt_at), updated_at = ? WHERE id = ?`)
        .run(outcome.retryAt === null ? 'failed' : 'pending', outcome.error, outcome.retryAt, now, id);
    }
  }

  getInbox(id: number): InboxRow | null {
    const row = this.stmt('SELECT * FROM inbox WHERE id = ?').get(id) as Row | undefined;
    return row ? toInbox(row) : null;
  }

  private changesSeen = -1;
  private changesCheckpointed = -1;

  /**
   * Folds the WAL back into the database file once writing has paused: call it
   * on a timer. The first call after a write only notes the count of changes;
   * a later call that finds the count unchanged (nothing written in between)
   * checkpoints. Returns the checkpoint's result, or null when it did not run.
   */
  checkpointIfQuiet(): { walPages: number; checkpointedPages: number } | null {
    if (!this.db.open || this.db.memory) return null;
    const changes = this.stmt('SELECT total_changes() AS n').get() as { n: number };
    if (changes.n === this.changesCheckpointed) return null;
    if (changes.n !== this.changesSeen) {
      this.changesSeen = changes.n;
      return null;
    }
    const [result] = this.db.pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[];
    this.changesCheckpointed = changes.n;
    return { walPages: result!.log, checkpointedPages: result!.checkpointed };
  }

  /** Daily: events older than 180 days go, the WAL is folded back, the planner refreshed. */
  housekeeping(now: number): void {
    this.events.deleteOlderThan(now - 180 * 86_400_000);
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    this.db.pragma('optimize');
  }

  // ---- events (src/store/events.ts) ------------------------------------------

  addEvent(at: number, level: EventLevel, kind: string, zh: string, en: string, data?: unknown): void {
    this.events.add(at, level, kind, zh, en, data);
  }

  flushEvents(): void {
    this.events.flush();
  }

  listEvents(limit: number): EventRow[] {
    return this.events.list(limit);
  }

  /** Events of one kind in [from, to], oldest first. */
  eventsOfKind(kind: string, from: number, to: number, limit = 100): EventRow[] {
    return this.events.ofKind(kind, from, to, limit);
  }

  eventTotals(): { rows: number; bytes: number } {
    return this.events.totals();
  }

  // ---- web (issue 8) --------------------------------------------------------
  // Queries of the status page and admin; the signal samples are the page's own history.

  /** Newest first; `q` matches the number (digits, any form) or the text. */
  searchMessages(opts: { limit: number; q?: string; status?: MessageStatus; beforeId?: number }): MessageRow[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (opts.q) {
      const like = `%${opts.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      const digits = opts.q.replace(/[\s-]/g, '');
      where.push(`(o.to_number LIKE ? ESCAPE '\\' OR o.body LIKE ? ESCAPE '\\')`);
      args.push(/^\+?\d+$/.test(digits) ? `%${digits.replace(/^\+/, '')}%` : like, like);
    }
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

  /** Messages sent and failed per hour since `since` (hour = floor(ms / 3600000)). */
  hourlyCounts(since: number): { hour: number; sent: number; failed: number }[] {
    return (this.stmt(
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
    for (const r of this.stmt('SELECT status, COUNT(*) AS n FROM outbox GROUP BY status').all() as Row[]) totals[r['status'] as string] = r['n'] as number;
    return totals;
  }

  addSignalSample(at: number, csq: number | null): void {
    this.stmt('INSERT OR REPLACE INTO signal_samples (at, csq) VALUES (?, ?)').run(at, csq);
    this.stmt('DELETE FROM signal_samples WHERE at < ?').run(at - 8 * 24 * 3600_000);
  }

  signalSamples(since: number): { at: number; csq: number | null }[] {
    return (this.stmt('SELECT at, csq FROM signal_samples WHERE at >= ? ORDER BY at').all(since) as Row[]).map((r) => ({ at: r['at'] as number, csq: (r['csq'] as number | null) ?? null }));
  }
}
