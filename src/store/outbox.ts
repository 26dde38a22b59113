import { createHash } from 'node:crypto';
import { formatYuan } from '../money.js';
import type { Accounts } from './accounts.js';
import { likePattern, type Db, type Row } from './database.js';
import type { OptOuts } from './optouts.js';

/**
 * The outbox table family: requests (one per accepted smsSnd, with the
 * fingerprint that recognises retries), the outbox (one row per recipient),
 * attempts and the segments' message references. Every state change of a
 * message is one transaction, guarded by the status it expects, so a message
 * can never be in two states or sent by two loops.
 */

/**
 * The box's own messages, by `outbox.kind`: `optout-confirmation`, `forward`
 * (to the owner: forwarded replies, alerts; sent after customers' messages,
 * within their own budget) and `answer` (the owner's answer to a customer from
 * the inbox, when no account pays for it).
 */
/**
 * `selftest`: the box's SMS to its own number; `sim-query`: a balance query to
 * the carrier's service number (src/sim). Neither reaches a person, so both go
 * in quiet hours too.
 */
export type SystemMessageKind = 'optout-confirmation' | 'forward' | 'answer' | 'call-reply' | 'selftest' | 'sim-query';

/** The box's messages that reach no person: sent whatever the hour. */
const ANY_HOUR_KINDS = `kind IN ('selftest', 'sim-query')`;

export const MESSAGE_STATUSES = ['queued', 'sending', 'sent', 'delivered', 'failed', 'suppressed', 'uncertain'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

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

/** One try at sending a message, with its outcome: the message's history and the rate limits' memory. */
export interface AttemptRow {
  id: number;
  modem: string;
  startedAt: number;
  finishedAt: number | null;
  outcome: string | null;
  segmentsSent: number;
  error: string | null;
}

export class Outbox {
  /** Nested inside acceptSendBatch's transaction it becomes a savepoint. */
  private readonly acceptTx: (req: SendRequest) => SendOutcome;

  constructor(
    private readonly db: Db,
    private readonly accounts: Accounts,
    private readonly optOuts: OptOuts,
  ) {
    this.acceptTx = db.raw.transaction((req: SendRequest) => this.acceptOne(req));
  }

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
    return this.db.raw.transaction(() =>
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
      const previous = this.db.stmt('SELECT id FROM requests WHERE fingerprint_key = ? AND received_at >= ? AND fingerprint = ? ORDER BY id DESC LIMIT 1')
        .get(fingerprintKey(fingerprint), req.now - req.duplicateWindowMs, fingerprint) as Row | undefined;
      if (previous) return { kind: 'duplicate', requestId: previous['id'] as number };
    }
    const account = this.db.stmt('SELECT balance_li FROM accounts WHERE id = ?').get(req.accountId) as Row;
    const balance = (account['balance_li'] as number | null) ?? null;
    // Opted-out numbers get a row (so the shop sees why) but are neither sent nor charged.
    const suppressed = req.recipients.filter((to) => this.optOuts.isOptedOut(to));
    const perMessage = req.segments * req.priceLiPerSegment;
    const needed = perMessage * (req.recipients.length - suppressed.length);
    if (balance !== null && needed > balance) return { kind: 'balance-too-low', balanceLi: balance, neededLi: needed };

    const requestId = this.db.stmt(
      'INSERT INTO requests (account_id, received_at, client, fingerprint, fingerprint_key, recipients, invalid_numbers) VALUES (?, ?, ?, ?, ?, ?, ?)',
    )
      .run(req.accountId, req.now, req.client, fingerprint, fingerprintKey(fingerprint), req.recipients.length, JSON.stringify(req.invalidNumbers))
      .lastInsertRowid as number;
    const insert = this.db.stmt(
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
      this.db.stmt('UPDATE accounts SET balance_li = ?, updated_at = ? WHERE id = ?').run(after, req.now, req.accountId);
      this.accounts.insertLedger(req.accountId, req.now, 'charge', -needed, after, requestId, null,
        `${req.recipients.length - suppressed.length} × ${req.segments} × ${formatYuan(req.priceLiPerSegment)}`);
    }
    return { kind: 'accepted', requestId, messageIds, chargeLi: needed, suppressed };
  }

  getMessage(id: number): MessageRow | null {
    const row = this.db.stmt('SELECT o.*, a.user FROM outbox o JOIN accounts a ON a.id = o.account_id WHERE o.id = ?')
      .get(id) as Row | undefined;
    return row ? toMessage(row) : null;
  }

  /** Newest first. */
  listMessages(opts: { limit: number; status?: MessageStatus; beforeId?: number }): MessageRow[] {
    return this.searchMessages(opts);
  }

  /** Newest first; `q` matches the number (digits, any form) or the text. */
  searchMessages(opts: { limit: number; q?: string; status?: MessageStatus; beforeId?: number }): MessageRow[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (opts.q) {
      const like = likePattern(opts.q);
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
    return (this.db.stmt(sql).all(...args, opts.limit) as Row[]).map(toMessage);
  }

  /** The messages to one number (E.164), newest first: a conversation's outgoing side (the owner's forwards left out). */
  messagesTo(number: string, limit: number): MessageRow[] {
    return (this.db.stmt(
      `SELECT o.*, a.user FROM outbox o INDEXED BY outbox_to JOIN accounts a ON a.id = o.account_id
       WHERE o.to_number = ? AND o.kind <> 'forward' ORDER BY o.id DESC LIMIT ?`,
    ).all(number, limit) as Row[]).map(toMessage);
  }

  /** Queue counts for the status model; "today" starts at `dayStart` (local midnight). */
  queueCounts(dayStart: number): { queued: number; sending: number; uncertain: number; sentToday: number; failedToday: number; suppressedToday: number } {
    const byStatus = new Map(
      (this.db.stmt(`SELECT status, n FROM outbox_counts WHERE status IN ('queued', 'sending', 'uncertain')`).all() as Row[])
        .map((r) => [r['status'] as string, r['n'] as number]),
    );
    const today = this.db.stmt(
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
  /**
   * The next message to send. Customers' messages (and the box's opt-out
   * confirmations) come first; the owner's SMS forwards only when none of those
   * is due, and only when `forwardsAllowed()` (their own budget) says so, so a
   * flood of customer replies never delays a shipping notice.
   */
  nextDue(now: number, windowOpen: boolean, forwardsAllowed: () => boolean = () => true): MessageRow | null {
    const [id] = this.dueIds(now, windowOpen, forwardsAllowed, 1);
    return id === undefined ? null : this.dueMessage(id);
  }

  /** A message as the dispatcher sends it (with its account's name). */
  dueMessage(id: number): MessageRow | null {
    const row = this.db.stmt(`SELECT o.*, a.user FROM outbox o JOIN accounts a ON a.id = o.account_id WHERE o.id = ?`).get(id);
    return row ? toMessage(row as Row) : null;
  }

  /**
   * The ids of the first `limit` messages due now, oldest first (index only). Forwards to the owner
   * come after every customer's message (and only when their budget allows).
   * A pool of SIMs looks past the first: a message waiting for its customer's
   * SIM must not hold up the others.
   */
  dueIds(now: number, windowOpen: boolean, forwardsAllowed: () => boolean, limit: number): number[] {
    const ids = new Set<number>();
    const collect = (sources: (() => unknown[])[]) => {
      const found = sources.flatMap((read) => (read() as { id: number }[]).map((r) => r.id)).sort((a, b) => a - b);
      for (const id of found) {
        if (ids.size >= limit) break;
        ids.add(id);
      }
    };
    const due = (kinds: string) => [
      () => this.db.stmt(`SELECT id FROM outbox INDEXED BY outbox_due WHERE status = 'queued' AND next_attempt_at IS NULL AND ${kinds} ORDER BY id LIMIT ?`).all(limit),
      () => this.db.stmt(`SELECT id FROM outbox INDEXED BY outbox_due WHERE status = 'queued' AND next_attempt_at <= ? AND ${kinds} ORDER BY id LIMIT ?`).all(now, limit),
    ];
    if (windowOpen) {
      collect(due(`kind <> 'forward'`));
      if (ids.size < limit && forwardsAllowed()) collect(due(`kind = 'forward'`));
    } else {
      // Quiet hours: only the accounts that ignore them (WDGJ messages; the box's own wait).
      // Few rows of these kinds are ever queued: their own partial index (migration 11), never a walk of the queue.
      const sources = [
        () => this.db.stmt(`SELECT id FROM outbox INDEXED BY outbox_queued_kind WHERE status = 'queued' AND ${ANY_HOUR_KINDS} AND (next_attempt_at IS NULL OR next_attempt_at <= ?) ORDER BY id LIMIT ?`).all(now, limit),
      ];
      for (const account of this.db.stmt(`SELECT id FROM accounts WHERE ignore_quiet_hours = 1`).all() as { id: number }[]) {
        sources.push(
          () => this.db.stmt(`SELECT id FROM outbox INDEXED BY outbox_queued_account WHERE status = 'queued' AND account_id = ? AND next_attempt_at IS NULL ORDER BY id LIMIT ?`).all(account.id, limit),
          () => this.db.stmt(`SELECT id FROM outbox INDEXED BY outbox_queued_account WHERE status = 'queued' AND account_id = ? AND next_attempt_at <= ? ORDER BY id LIMIT ?`).all(account.id, now, limit),
        );
      }
      collect(sources);
    }
    return [...ids];
  }

  /** Whether a message of the box's own `kind` was queued for `to` since `since` (a caller's reply: once a day). */
  systemMessageSince(kind: SystemMessageKind, to: string, since: number): boolean {
    return this.db.stmt(`SELECT 1 FROM outbox INDEXED BY outbox_to WHERE to_number = ? AND kind = ? AND created_at >= ? LIMIT 1`).get(to, kind, since) !== undefined;
  }

  /** Times the owner's SMS forwards went out since `since` (oldest first): their budget. */
  forwardsSentSince(since: number): number[] {
    return (this.db.stmt(`SELECT sent_at FROM outbox INDEXED BY outbox_sent WHERE sent_at > ? AND kind = 'forward' ORDER BY sent_at`).all(since) as Row[]).map((r) => r['sent_at'] as number);
  }

  /** When the last message of any kind went out (null: never): whether the queue moves (src/status/stuck.ts). */
  lastSentAt(): number | null {
    const row = this.db.stmt('SELECT MAX(sent_at) AS at FROM outbox').get() as Row;
    return (row['at'] as number | null) ?? null;
  }

  /**
   * Customers' messages (and the box's answers to them) wait to go or are
   * being sent; the owner's forwards, which wait for their own budget, do not count.
   */
  hasPendingExceptForwards(): boolean {
    return this.db.stmt(`SELECT 1 FROM outbox WHERE status IN ('queued', 'sending') AND kind <> 'forward' LIMIT 1`).get() !== undefined;
  }

  /** Cheaper than counting: the dispatcher asks before every message. */
  hasQueued(): boolean {
    return this.db.stmt(`SELECT 1 FROM outbox WHERE status = 'queued' LIMIT 1`).get() !== undefined;
  }

  /** When the earliest waiting retry falls due (null when none waits). */
  nextRetryAt(now: number): number | null {
    const row = this.db.stmt(`SELECT MIN(next_attempt_at) AS at FROM outbox WHERE status = 'queued' AND next_attempt_at > ?`).get(now) as Row;
    return (row['at'] as number | null) ?? null;
  }

  /** Instants at which this modem sent segments since `since`, ascending: the rate limits' memory, kept across restarts. */
  sendHistory(modem: string, since: number): number[] {
    const rows = this.db.stmt(
      `SELECT COALESCE(finished_at, started_at) AS at, segments_sent FROM attempts
       WHERE modem = ? AND started_at > ? AND segments_sent > 0 ORDER BY at`,
    ).all(modem, since) as Row[];
    return rows.flatMap((r) => Array<number>(r['segments_sent'] as number).fill(r['at'] as number));
  }

  /** queued → sending, committed before the modem is touched; null when the message is no longer queued. */
  beginAttempt(messageId: number, modem: string, now: number): number | null {
    return this.db.raw.transaction(() => {
      const changed = this.db.stmt(
        `UPDATE outbox SET status = 'sending', attempts = attempts + 1, modem = ?, updated_at = ? WHERE id = ? AND status = 'queued'`,
      ).run(modem, now, messageId).changes;
      if (changed === 0) return null;
      return this.db.stmt('INSERT INTO attempts (message_id, modem, started_at) VALUES (?, ?, ?)').run(messageId, modem, now).lastInsertRowid as number;
    })();
  }

  /** Undoes beginAttempt for a message that never reached the modem (the box is stopping). */
  cancelAttempt(messageId: number, attemptId: number): void {
    this.db.raw.transaction(() => {
      this.db.stmt('DELETE FROM attempts WHERE id = ? AND finished_at IS NULL').run(attemptId);
      this.db.stmt(`UPDATE outbox SET status = 'queued', attempts = attempts - 1 WHERE id = ? AND status = 'sending'`).run(messageId);
    })();
  }

  private finishAttempt(attemptId: number, now: number, outcome: string, segmentsSent: number, error: string | null): void {
    this.db.stmt('UPDATE attempts SET finished_at = ?, outcome = ?, segments_sent = ?, error = ? WHERE id = ?').run(now, outcome, segmentsSent, error, attemptId);
  }

  /** sending → sent, with the network's reference of each segment for status reports. */
  finishSent(messageId: number, attemptId: number, now: number, to: string, messageRefs: readonly number[]): void {
    this.db.raw.transaction(() => {
      this.finishAttempt(attemptId, now, 'sent', messageRefs.length, null);
      this.db.stmt(`UPDATE outbox SET status = 'sent', sent_at = ?, updated_at = ?, last_error = NULL, next_attempt_at = NULL WHERE id = ? AND status = 'sending'`).run(now, now, messageId);
      const insert = this.db.stmt('INSERT OR REPLACE INTO message_parts (message_id, part, message_ref, recipient, sent_at) VALUES (?, ?, ?, ?, ?)');
      messageRefs.forEach((ref, i) => insert.run(messageId, i + 1, ref, to, now));
      // The SIM this number now knows us by (a pool keeps customers on it).
      this.db.stmt(
        `INSERT INTO number_modem (number, modem, at) SELECT ?, modem, ? FROM attempts WHERE id = ?
         ON CONFLICT(number) DO UPDATE SET modem = excluded.modem, at = excluded.at`,
      ).run(to, now, attemptId);
    })();
  }

  /** The SIM that last sent to or heard from `number` (null: none yet). */
  stickyModem(number: string): string | null {
    const row = this.db.stmt('SELECT modem FROM number_modem WHERE number = ?').get(number) as Row | undefined;
    return row ? (row['modem'] as string) : null;
  }

  /** A customer wrote to (or called) `modem`: our answers go from that SIM. */
  noteContact(number: string, modem: string, now: number): void {
    if (number === '') return;
    this.db.stmt(
      `INSERT INTO number_modem (number, modem, at) VALUES (?, ?, ?)
       ON CONFLICT(number) DO UPDATE SET modem = excluded.modem, at = excluded.at`,
    ).run(number, modem, now);
  }

  /** Messages `modem` finished as sent since `since` (the pool's per-SIM count for today). */
  sentByModemSince(modem: string, since: number): number {
    return (this.db.stmt(`SELECT COUNT(*) AS n FROM attempts INDEXED BY attempts_modem_started WHERE modem = ? AND started_at >= ? AND outcome = 'sent'`).get(modem, since) as Row)['n'] as number;
  }

  /**
   * sending → queued again, due at `nextAt`. `spendAttempt: false` keeps the
   * attempt in the history but not against the message's max_attempts: the
   * failure was the SIM's (a carrier block), not the message's.
   */
  finishRetry(messageId: number, attemptId: number, now: number, nextAt: number, error: string, segmentsSent: number, spendAttempt = true): void {
    this.db.raw.transaction(() => {
      this.finishAttempt(attemptId, now, 'retry', segmentsSent, error);
      this.db.stmt(
        `UPDATE outbox SET status = 'queued', next_attempt_at = ?, last_error = ?, updated_at = ?${spendAttempt ? '' : ', attempts = attempts - 1'} WHERE id = ? AND status = 'sending'`,
      ).run(nextAt, error, now, messageId);
    })();
  }

  /** sending → failed, and the charge refunded. */
  finishFailed(messageId: number, attemptId: number, now: number, error: string, segmentsSent: number): void {
    this.db.raw.transaction(() => {
      this.finishAttempt(attemptId, now, 'failed', segmentsSent, error);
      this.db.stmt(`UPDATE outbox SET status = 'failed', last_error = ?, updated_at = ?, next_attempt_at = NULL WHERE id = ? AND status = 'sending'`).run(error, now, messageId);
      this.refund(messageId, now, `failed: ${error}`);
    })();
  }

  /** sending → uncertain: the network may or may not have it. Not refunded, not resent until the shop decides. */
  finishUncertain(messageId: number, attemptId: number, now: number, error: string, segmentsSent: number): void {
    this.db.raw.transaction(() => {
      this.finishAttempt(attemptId, now, 'uncertain', segmentsSent, error);
      this.db.stmt(`UPDATE outbox SET status = 'uncertain', last_error = ?, updated_at = ?, next_attempt_at = NULL WHERE id = ? AND status = 'sending'`).run(error, now, messageId);
    })();
  }

  /** queued or sending → suppressed (the number opted out), refunded. */
  suppress(messageId: number, attemptId: number | null, now: number, reason: string): boolean {
    return this.db.raw.transaction(() => {
      if (attemptId !== null) this.finishAttempt(attemptId, now, 'suppressed', 0, reason);
      const changed = this.db.stmt(
        `UPDATE outbox SET status = 'suppressed', last_error = ?, updated_at = ?, next_attempt_at = NULL WHERE id = ? AND status IN ('queued', 'sending')`,
      ).run(reason, now, messageId).changes;
      if (changed > 0) this.refund(messageId, now, `suppressed: ${reason}`);
      return changed > 0;
    })();
  }

  /** Gives a message's charge back once (charge_li goes to 0), as a ledger row. */
  private refund(messageId: number, now: number, note: string): void {
    const row = this.db.stmt(
      'SELECT o.charge_li, o.account_id, a.balance_li FROM outbox o JOIN accounts a ON a.id = o.account_id WHERE o.id = ?',
    ).get(messageId) as Row;
    const charge = row['charge_li'] as number;
    const balance = (row['balance_li'] as number | null) ?? null;
    if (charge <= 0 || balance === null) return;
    const after = balance + charge;
    this.db.stmt('UPDATE accounts SET balance_li = ?, updated_at = ? WHERE id = ?').run(after, now, row['account_id']);
    this.db.stmt('UPDATE outbox SET charge_li = 0 WHERE id = ?').run(messageId);
    this.accounts.insertLedger(row['account_id'] as number, now, 'refund', charge, after, null, messageId, note);
  }

  /**
   * After a crash or power cut: a message left in `sending` may or may not
   * have reached the network. It becomes `uncertain` (default), or is queued
   * again when the shop chose at-least-once delivery.
   */
  recoverInterrupted(now: number, resend: boolean): number[] {
    return this.db.raw.transaction(() => {
      const ids = (this.db.stmt(`SELECT id FROM outbox WHERE status = 'sending' ORDER BY id`).all() as Row[]).map((r) => r['id'] as number);
      const reason = 'interrupted: the box stopped while sending (power cut or crash)';
      for (const id of ids) {
        this.db.stmt(`UPDATE attempts SET finished_at = ?, outcome = 'uncertain', error = ? WHERE message_id = ? AND finished_at IS NULL`).run(now, reason, id);
        this.db.stmt(`UPDATE outbox SET status = ?, last_error = ?, updated_at = ?, next_attempt_at = NULL WHERE id = ?`).run(resend ? 'queued' : 'uncertain', reason, now, id);
      }
      return ids;
    })();
  }

  /** The shop's decision on an uncertain message: send it again, or give it up (refunded). */
  resolveUncertain(messageId: number, action: 'resend' | 'fail', now: number): boolean {
    return this.db.raw.transaction(() => {
      const changed = this.db.stmt(
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
  applyStatusReport(recipient: string, messageRef: number, status: number, delivered: boolean, final: boolean, now: number, modem?: string): number | null {
    return this.db.raw.transaction(() => {
      // References are counted by each modem on its own: with several SIMs, only the reporting one's parts match.
      const part = (modem === undefined
        ? this.db.stmt(
            `SELECT message_id, part FROM message_parts WHERE recipient = ? AND message_ref = ? AND sent_at > ? ORDER BY sent_at DESC LIMIT 1`,
          ).get(recipient, messageRef, now - 7 * 86_400_000)
        : this.db.stmt(
            `SELECT p.message_id, p.part FROM message_parts p JOIN outbox o ON o.id = p.message_id
              WHERE p.recipient = ? AND p.message_ref = ? AND p.sent_at > ? AND o.modem = ? ORDER BY p.sent_at DESC LIMIT 1`,
          ).get(recipient, messageRef, now - 7 * 86_400_000, modem)) as Row | undefined;
      if (!part) return null;
      const messageId = part['message_id'] as number;
      this.db.stmt('UPDATE message_parts SET report_status = ?, reported_at = ? WHERE message_id = ? AND part = ?').run(status, now, messageId, part['part']);
      if (delivered) {
        const open = this.db.stmt(`SELECT COUNT(*) AS n FROM message_parts WHERE message_id = ? AND (report_status IS NULL OR report_status <> 0)`).get(messageId) as Row;
        if ((open['n'] as number) === 0) {
          this.db.stmt(`UPDATE outbox SET status = 'delivered', delivered_at = ?, updated_at = ? WHERE id = ? AND status = 'sent'`).run(now, now, messageId);
        }
      } else if (final) {
        this.db.stmt(`UPDATE outbox SET status = 'failed', last_error = ?, updated_at = ? WHERE id = ? AND status IN ('sent', 'delivered')`)
          .run(`delivery failed (status report 0x${status.toString(16).padStart(2, '0')})`, now, messageId);
      }
      return messageId;
    })();
  }

  listAttempts(messageId: number): AttemptRow[] {
    return (this.db.stmt('SELECT * FROM attempts WHERE message_id = ? ORDER BY id').all(messageId) as Row[]).map((r) => ({
      id: r['id'] as number,
      modem: r['modem'] as string,
      startedAt: r['started_at'] as number,
      finishedAt: (r['finished_at'] as number | null) ?? null,
      outcome: (r['outcome'] as string | null) ?? null,
      segmentsSent: r['segments_sent'] as number,
      error: (r['error'] as string | null) ?? null,
    }));
  }

  /** The box's own messages (opt-out confirmations, forwards and alerts to the owner, the owner's uncharged answers) go through the outbox like any other, uncharged. */
  queueSystemMessage(kind: SystemMessageKind, to: string, body: string, segments: number, encoding: string, now: number): number {
    return this.db.raw.transaction(() => {
      const accountId = this.accounts.systemAccountId(now);
      const requestId = this.db.stmt(
        'INSERT INTO requests (account_id, received_at, client, fingerprint, recipients) VALUES (?, ?, ?, ?, 1)',
      ).run(accountId, now, kind, requestFingerprint(accountId, [to], body)).lastInsertRowid as number;
      return this.db.stmt(
        `INSERT INTO outbox (request_id, account_id, to_number, body, segments, encoding, charge_li, status, created_at, updated_at, kind)
         VALUES (?, ?, ?, ?, ?, ?, 0, 'queued', ?, ?, ?)`,
      ).run(requestId, accountId, to, body, segments, encoding, now, now, kind).lastInsertRowid as number;
    })();
  }
}
