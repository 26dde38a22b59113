import type { AccountConfig } from '../config/config.js';
import { formatYuan } from '../money.js';
import { hashPassword, verifyPasswordSync } from '../passwords.js';
import type { Db, Row } from './database.js';

/** The accounts table family: WDGJ accounts (scrypt hashes, balances in 厘) and their ledger. */

export interface AccountRow {
  id: number;
  user: string;
  passwordHash: string;
  balanceLi: number | null;
  ignoreQuietHours: boolean;
  enabled: boolean;
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

export class Accounts {
  private readonly logins = new Map<string, LoginAccount | null>();

  constructor(private readonly db: Db) {}

  /**
   * Brings the accounts table in line with the config file: new accounts are
   * created with their opening balance, changed passwords re-hashed, a changed
   * `balance` in the file applied once as a ledger row, and accounts no longer
   * in the file disabled (their history stays).
   */
  syncAccounts(accounts: readonly AccountConfig[], now: number): void {
    const existing = new Map(
      (this.db.stmt('SELECT * FROM accounts').all() as Row[]).map((r) => [r['user'] as string, r]),
    );
    // Hash outside the transaction: scrypt is slow and the transaction should be short.
    const prepared = accounts.map((a) => {
      const row = existing.get(a.user);
      const keepHash = row !== undefined && verifyPasswordSync(a.password, row['password_hash'] as string);
      return { config: a, row, hash: keepHash ? (row!['password_hash'] as string) : hashPassword(a.password) };
    });
    this.db.raw.transaction(() => {
      for (const { config, row, hash } of prepared) {
        if (!row) {
          const id = this.db.stmt(
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
        this.db.stmt(
            `UPDATE accounts SET password_hash = ?, balance_li = ?, config_balance_li = ?, ignore_quiet_hours = ?, enabled = 1, updated_at = ? WHERE id = ?`,
          )
          .run(hash, balance, config.balanceLi, config.ignoreQuietHours ? 1 : 0, now, id);
      }
      const keep = new Set(accounts.map((a) => a.user));
      for (const user of existing.keys()) {
        if (!keep.has(user) && user !== SYSTEM_ACCOUNT) this.db.stmt('UPDATE accounts SET enabled = 0, updated_at = ? WHERE user = ?').run(now, user);
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
    const row = this.db.stmt('SELECT * FROM accounts WHERE user = ? AND enabled = 1').get(user) as Row | undefined;
    return row ? toAccount(row) : null;
  }

  listAccounts(): AccountRow[] {
    return (this.db.stmt('SELECT * FROM accounts WHERE enabled = 1 ORDER BY user').all() as Row[]).map(toAccount);
  }

  /** One ledger row; every change of a balance writes one, in the same transaction. */
  insertLedger(accountId: number, at: number, kind: LedgerRow['kind'], amountLi: number, balanceAfterLi: number | null,
    requestId: number | null, messageId: number | null, note: string): void {
    this.db.stmt(
        `INSERT INTO ledger (account_id, at, kind, amount_li, balance_after_li, request_id, message_id, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(accountId, at, kind, amountLi, balanceAfterLi, requestId, messageId, note);
  }

  /** Adds money to a limited account; returns the new balance, or null if the account is unknown or unlimited. */
  topUp(user: string, amountLi: number, now: number, note = ''): number | null {
    return this.db.raw.transaction(() => {
      const account = this.getAccount(user);
      if (!account || account.balanceLi === null) return null;
      const balance = account.balanceLi + amountLi;
      this.db.stmt('UPDATE accounts SET balance_li = ?, updated_at = ? WHERE id = ?').run(balance, now, account.id);
      this.insertLedger(account.id, now, 'topup', amountLi, balance, null, null, note);
      return balance;
    })();
  }

  ledger(user: string, limit = 100): LedgerRow[] {
    const rows = this.db.stmt(
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

  /** The id of the account the box's own messages are queued under, created (disabled) on first use. */
  systemAccountId(now: number): number {
    let account = this.db.stmt('SELECT id FROM accounts WHERE user = ?').get(SYSTEM_ACCOUNT) as Row | undefined;
    if (!account) {
      // Disabled: it can never log in over WDGJ.
      this.db.stmt(
        `INSERT INTO accounts (user, password_hash, balance_li, config_balance_li, enabled, created_at, updated_at) VALUES (?, '!', NULL, NULL, 0, ?, ?)`,
      ).run(SYSTEM_ACCOUNT, now, now);
      account = this.db.stmt('SELECT id FROM accounts WHERE user = ?').get(SYSTEM_ACCOUNT) as Row;
    }
    return account['id'] as number;
  }
}
