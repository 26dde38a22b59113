import type Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { AccountConfig } from '../config/config.js';
import { Accounts, type AccountRow, type LedgerRow, type LoginAccount } from './accounts.js';
import { Charts, type DayCounts } from './charts.js';
import { finishPendingRestore, snapshotDatabase, type RestoreRecovery, type RestoreSeams } from './backup.js';
import { Db } from './database.js';
import { EventLog, type EventLevel, type EventRow } from './events.js';
import { Inbox, type ForwardJob, type InboxRow, type ReplyContext } from './inbox.js';
import { NotifyStore } from './notify.js';
import { SimStore } from './sim.js';
import { OptOuts, type OptOutRow } from './optouts.js';
import { Outbox, type SystemMessageKind, type AttemptRow, type MessageRow, type MessageStatus, type SendOutcome, type SendRequest } from './outbox.js';

export { SYSTEM_ACCOUNT, type AccountRow, type LedgerRow, type LoginAccount } from './accounts.js';
export { WAL_BACKSTOP_PAGES } from './database.js';
export type { RestoreRecovery } from './backup.js';
export type { DayCounts } from './charts.js';
export type { EventLevel, EventRow } from './events.js';
export { REPLY_CONTEXT_MS, type ForwardJob, type InboxRow, type ReplyContext } from './inbox.js';
export type { NotifyStore } from './notify.js';
export type { BalanceRow, SelftestRow, SelftestState, SimStore } from './sim.js';
export type { OptOutRow } from './optouts.js';
export { MESSAGE_STATUSES, requestFingerprint, type SystemMessageKind, type AttemptRow, type MessageRow, type MessageStatus, type SendOutcome, type SendRequest } from './outbox.js';

/**
 * The only owner of SQLite: one database (database.ts) and one module per
 * table family — accounts and ledger (accounts.ts), outbox and attempts
 * (outbox.ts), inbox and forwards (inbox.ts), opt-outs (optouts.ts), events
 * (events.ts), charts and metrics (charts.ts), notifications (notify.ts, used
 * whole by the notifier as `store.notify`). This class opens them over the
 * same database and answers for all of them, so the dispatcher, the inbound
 * processor, the status model and the operations each hold one Store. Every
 * state change is one transaction; callers never see a half-applied change.
 */
export class Store {
  /** The better-sqlite3 handle (tests and the group commit's callers only). */
  readonly db: Database.Database;
  private readonly accounts: Accounts;
  private readonly outbox: Outbox;
  private readonly inbox: Inbox;
  private readonly optOuts: OptOuts;
  private readonly events: EventLog;
  private readonly charts: Charts;
  /** The notification queue and channel states, for the notifier (src/notify), which is their one writer. */
  readonly notify: NotifyStore;
  /** The SIM's own state (self-tests, balance, carrier block), for src/sim, their one writer. */
  readonly sim: SimStore;

  /** What opening did with a restore left by the last run (finished, discarded, or none). */
  restoreOnOpen: RestoreRecovery = { outcome: 'none' };

  private constructor(private readonly database: Db) {
    this.db = database.raw;
    this.accounts = new Accounts(database);
    this.optOuts = new OptOuts(database);
    this.outbox = new Outbox(database, this.accounts, this.optOuts);
    this.inbox = new Inbox(database);
    this.events = new EventLog(database.raw);
    this.charts = new Charts(database);
    this.notify = new NotifyStore(database.raw);
    this.sim = new SimStore(database.raw);
  }

  /**
   * Opens (creating if needed) `<dataDir>/smsbox.db` with WAL and runs pending
   * migrations; first finishes a committed restore or discards an uncommitted
   * one (store/backup.ts), so the database opened is the old one or the new.
   */
  static open(dataDir: string, seams?: RestoreSeams): Store {
    mkdirSync(dataDir, { recursive: true });
    const recovery = finishPendingRestore(dataDir, seams);
    const store = Store.openFile(join(dataDir, 'smsbox.db'));
    store.restoreOnOpen = recovery;
    return store;
  }

  static openFile(file: string): Store {
    return new Store(Db.open(file));
  }

  /** Runs fn in one transaction (a savepoint when nested). */
  transaction<T>(fn: () => T): T {
    return this.database.transaction(fn);
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
    return this.database.schemaVersion;
  }

  /**
   * A consistent copy of the database at `dest` while the box keeps writing
   * (SQLite's online backup; store/backup.ts). Pending events are written first.
   */
  async snapshotTo(dest: string): Promise<void> {
    try {
      this.flushEvents();
    } catch {
      // a full disk: the copy is made without the last events
    }
    await snapshotDatabase(this.db, dest);
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
    const changes = this.database.stmt('SELECT total_changes() AS n').get() as { n: number };
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

  // ---- accounts and ledger (accounts.ts) ---------------------------------------

  syncAccounts(accounts: readonly AccountConfig[], now: number): void {
    this.accounts.syncAccounts(accounts, now);
  }
  getLogin(user: string): LoginAccount | null {
    return this.accounts.getLogin(user);
  }
  getAccount(user: string): AccountRow | null {
    return this.accounts.getAccount(user);
  }
  listAccounts(): AccountRow[] {
    return this.accounts.listAccounts();
  }
  topUp(user: string, amountLi: number, now: number, note = ''): number | null {
    return this.accounts.topUp(user, amountLi, now, note);
  }
  ledger(user: string, limit = 100): LedgerRow[] {
    return this.accounts.ledger(user, limit);
  }

  // ---- outbox and attempts (outbox.ts) -------------------------------------------

  acceptSend(req: SendRequest): SendOutcome {
    return this.outbox.acceptSend(req);
  }
  acceptSendBatch(requests: readonly SendRequest[]): (SendOutcome | Error)[] {
    return this.outbox.acceptSendBatch(requests);
  }
  getMessage(id: number): MessageRow | null {
    return this.outbox.getMessage(id);
  }
  listMessages(opts: { limit: number; status?: MessageStatus; beforeId?: number }): MessageRow[] {
    return this.outbox.listMessages(opts);
  }
  searchMessages(opts: { limit: number; q?: string; status?: MessageStatus; beforeId?: number }): MessageRow[] {
    return this.outbox.searchMessages(opts);
  }
  messagesTo(number: string, limit: number): MessageRow[] {
    return this.outbox.messagesTo(number, limit);
  }
  queueCounts(dayStart: number): ReturnType<Outbox['queueCounts']> {
    return this.outbox.queueCounts(dayStart);
  }
  nextDue(now: number, windowOpen: boolean, forwardsAllowed?: () => boolean): MessageRow | null {
    return this.outbox.nextDue(now, windowOpen, forwardsAllowed);
  }
  dueIds(now: number, windowOpen: boolean, forwardsAllowed: () => boolean, limit: number): number[] {
    return this.outbox.dueIds(now, windowOpen, forwardsAllowed, limit);
  }
  dueMessage(id: number): MessageRow | null {
    return this.outbox.dueMessage(id);
  }
  stickyModem(number: string): string | null {
    return this.outbox.stickyModem(number);
  }
  noteContact(number: string, modem: string, now: number): void {
    this.outbox.noteContact(number, modem, now);
  }
  sentByModemSince(modem: string, since: number): number {
    return this.outbox.sentByModemSince(modem, since);
  }

  forwardsSentSince(since: number): number[] {
    return this.outbox.forwardsSentSince(since);
  }
  hasQueued(): boolean {
    return this.outbox.hasQueued();
  }
  hasPendingExceptForwards(): boolean {
    return this.outbox.hasPendingExceptForwards();
  }
  lastSentAt(): number | null {
    return this.outbox.lastSentAt();
  }
  nextRetryAt(now: number): number | null {
    return this.outbox.nextRetryAt(now);
  }
  sendHistory(modem: string, since: number): number[] {
    return this.outbox.sendHistory(modem, since);
  }
  beginAttempt(messageId: number, modem: string, now: number): number | null {
    return this.outbox.beginAttempt(messageId, modem, now);
  }
  cancelAttempt(messageId: number, attemptId: number): void {
    this.outbox.cancelAttempt(messageId, attemptId);
  }
  finishSent(messageId: number, attemptId: number, now: number, to: string, messageRefs: readonly number[]): void {
    this.outbox.finishSent(messageId, attemptId, now, to, messageRefs);
  }
  finishRetry(messageId: number, attemptId: number, now: number, nextAt: number, error: string, segmentsSent: number, spendAttempt = true): void {
    this.outbox.finishRetry(messageId, attemptId, now, nextAt, error, segmentsSent, spendAttempt);
  }

  finishFailed(messageId: number, attemptId: number, now: number, error: string, segmentsSent: number): void {
    this.outbox.finishFailed(messageId, attemptId, now, error, segmentsSent);
  }
  finishUncertain(messageId: number, attemptId: number, now: number, error: string, segmentsSent: number): void {
    this.outbox.finishUncertain(messageId, attemptId, now, error, segmentsSent);
  }
  suppress(messageId: number, attemptId: number | null, now: number, reason: string): boolean {
    return this.outbox.suppress(messageId, attemptId, now, reason);
  }
  recoverInterrupted(now: number, resend: boolean): number[] {
    return this.outbox.recoverInterrupted(now, resend);
  }
  resolveUncertain(messageId: number, action: 'resend' | 'fail', now: number): boolean {
    return this.outbox.resolveUncertain(messageId, action, now);
  }
  applyStatusReport(recipient: string, messageRef: number, status: number, delivered: boolean, final: boolean, now: number, modem?: string): number | null {
    return this.outbox.applyStatusReport(recipient, messageRef, status, delivered, final, now, modem);
  }
  listAttempts(messageId: number): AttemptRow[] {
    return this.outbox.listAttempts(messageId);
  }
  queueSystemMessage(kind: SystemMessageKind, to: string, body: string, segments: number, encoding: string, now: number): number {
    return this.outbox.queueSystemMessage(kind, to, body, segments, encoding, now);
  }
  systemMessageSince(kind: SystemMessageKind, to: string, since: number): boolean {
    return this.outbox.systemMessageSince(kind, to, since);
  }

  // ---- inbox and forwards (inbox.ts) -----------------------------------------------

  addInboundPart(...args: Parameters<Inbox['addInboundPart']>): ReturnType<Inbox['addInboundPart']> {
    return this.inbox.addInboundPart(...args);
  }
  pendingInbound(now: number, reassemblyWindowMs: number): InboxRow[] {
    return this.inbox.pendingInbound(now, reassemblyWindowMs);
  }
  markInboundProcessed(id: number, action: string | null): void {
    this.inbox.markInboundProcessed(id, action);
  }
  addCall(from: string, at: number, hungUp: boolean, modem: string | null = null): number {
    return this.inbox.addCall(from, at, hungUp, modem);
  }
  callsSince(since: number): number {
    return this.inbox.callsSince(since);
  }
  linkReply(inboxId: number, number: string, receivedAt: number): ReplyContext | null {
    return this.inbox.linkReply(inboxId, number, receivedAt);
  }
  inboxFrom(senders: readonly string[], limit: number): InboxRow[] {
    return this.inbox.inboxFrom(senders, limit);
  }
  listInbox(opts: { limit: number; q?: string; beforeId?: number }): InboxRow[] {
    return this.inbox.listInbox(opts);
  }
  getInbox(id: number): InboxRow | null {
    return this.inbox.getInbox(id);
  }
  addForward(inboxId: number, target: string, now: number): void {
    this.inbox.addForward(inboxId, target, now);
  }
  dueForwards(now: number): ForwardJob[] {
    return this.inbox.dueForwards(now);
  }
  nextForwardAt(): number | null {
    return this.inbox.nextForwardAt();
  }
  finishForward(id: number, now: number, outcome: { ok: true } | { ok: false; error: string; retryAt: number | null }): void {
    this.inbox.finishForward(id, now, outcome);
  }

  // ---- opt-outs (optouts.ts) --------------------------------------------------------

  isOptedOut(number: string): boolean {
    return this.optOuts.isOptedOut(number);
  }
  addOptOut(number: string, source: OptOutRow['source'], reason: string, now: number, inboxId: number | null = null): boolean {
    return this.optOuts.addOptOut(number, source, reason, now, inboxId);
  }
  removeOptOut(number: string): boolean {
    return this.optOuts.removeOptOut(number);
  }
  countOptOuts(): number {
    return this.optOuts.countOptOuts();
  }
  listOptOuts(opts: { limit: number; q?: string }): OptOutRow[] {
    return this.optOuts.listOptOuts(opts);
  }

  // ---- events (events.ts) ------------------------------------------------------------

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

  // ---- charts and metrics (charts.ts) ---------------------------------------------

  hourlyCounts(since: number): { hour: number; sent: number; failed: number }[] {
    return this.charts.hourlyCounts(since);
  }
  statusTotals(): Record<string, number> {
    return this.charts.statusTotals();
  }
  dayCounts(from: number, to: number): DayCounts {
    return this.charts.dayCounts(from, to);
  }
  addSignalSample(at: number, csq: number | null): void {
    this.charts.addSignalSample(at, csq);
  }
  signalSamples(since: number): { at: number; csq: number | null }[] {
    return this.charts.signalSamples(since);
  }
}
