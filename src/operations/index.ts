import { Accounts } from './accounts.js';
import { AdminLogin } from './admin-login.js';
import { Backups } from './backup.js';
import { Charts } from './charts.js';
import type { OperationsContext } from './context.js';
import { Events } from './events.js';
import { Inbox } from './inbox.js';
import { Messages } from './messages.js';
import { Notifications } from './notify.js';
import { OptOuts } from './optouts.js';
import { Sending } from './sending.js';
import { Settings } from './settings.js';
import { Sim } from './sim.js';
import { Summary } from './summary.js';

/**
 * Every action on the shop's data, written once. The WDGJ adapter, the JSON
 * API and the HTML forms call these and differ only in how they render the
 * outcome; the events each action writes are written here.
 */
export class Operations {
  readonly sending: Sending;
  readonly messages: Messages;
  readonly accounts: Accounts;
  readonly optouts: OptOuts;
  readonly inbox: Inbox;
  readonly events: Events;
  readonly charts: Charts;
  readonly settings: Settings;
  readonly adminLogin: AdminLogin;
  readonly notify: Notifications;
  readonly summary: Summary;
  readonly sim: Sim;
  readonly backup: Backups;

  constructor(context: OperationsContext) {
    this.sending = new Sending(context);
    this.messages = new Messages(context, this.sending);
    this.accounts = new Accounts(context);
    this.optouts = new OptOuts(context);
    this.inbox = new Inbox(context, this.sending);
    this.events = new Events(context);
    this.charts = new Charts(context);
    this.settings = new Settings(context);
    this.adminLogin = new AdminLogin(context);
    this.notify = new Notifications(context, this.settings);
    this.summary = new Summary(context);
    this.sim = new Sim(context);
    this.backup = new Backups(context);
  }
}

export type { OperationsContext } from './context.js';
export { accountsWithFactoryPassword, FACTORY_ACCOUNT_TEXT, hasRealModem } from './credentials.js';
export { withFooter, type Accepted } from './sending.js';
export type { Attempt, MergedRetry, MessageDetails, MessageQuery } from './messages.js';
// The row types the pages render, so src/web needs nothing from src/store.
export { MESSAGE_STATUSES, type AccountRow, type EventRow, type InboxRow, type LedgerRow, type MessageRow, type MessageStatus, type OptOutRow } from '../store/store.js';
export { done, refuse, type Done, type Outcome, type Refusal } from './outcome.js';
export { EVENT_NAMES, type NewChannel, type NotifierPort } from './notify.js';
export type { Conversation, ConversationEntry, Answered } from './inbox.js';
export type { DailySummary } from './summary.js';
export type { SimPort, SelftestJson } from './sim.js';
export { BACKUP_REASONS, BACKUPS_KEPT, MAX_RESTORE_UPLOAD_BYTES, backupToFile, listBackups, restoreBackupFile, type BackupFileInfo, type BackupManifest, type BackupReason, type RestoreAccepted } from './backup.js';
export type { ChannelListing, TestResult } from '../notify/notifier.js';
export { NOTIFY_CHANNEL_KINDS, NOTIFY_EVENT_KINDS, DEFAULT_NOTIFY_EVENTS, type NotifyChannelKind, type NotifyEventKind } from '../notify/kinds.js';
