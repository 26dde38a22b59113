import { formatYuan, parseYuan } from '../money.js';
import type { AccountRow, LedgerRow } from '../store/store.js';
import { recordEvent, type OperationsContext } from './context.js';
import { done, refuse, type Outcome } from './outcome.js';

/** The WDGJ accounts, their balances and ledgers. */

/** The largest single top-up: a typo of a few zeros should not go through. */
export const MAX_TOPUP_LI = 1_000_000_000;

export class Accounts {
  constructor(private readonly ctx: OperationsContext) {}

  /** Enabled accounts, by name. */
  list(): AccountRow[] {
    return this.ctx.store.listAccounts();
  }

  /** Enabled accounts that are also in the config in force (the settings page edits those). */
  listConfigured(): AccountRow[] {
    const configured = new Set(this.ctx.config().accounts.map((a) => a.user));
    return this.list().filter((a) => configured.has(a.user));
  }

  /** Every change of an account's balance, newest first. */
  ledger(user: string, limit = 100): Outcome<LedgerRow[], 'no-account'> {
    if (!this.ctx.store.getAccount(user)) return refuse('no-account', `没有账号 ${user}`, `no account ${user}`, 404);
    return done(this.ctx.store.ledger(user, limit));
  }

  /**
   * Adds `amount` yuan (number or text, at most 3 decimals) to a limited
   * account, as a ledger row; `via` is noted in the ledger.
   */
  topUp(input: { user: string; amount: unknown; via: 'api' | 'page' }): Outcome<{ account: AccountRow; amountLi: number }, 'bad-amount' | 'no-account' | 'unlimited'> {
    const { ctx } = this;
    const { user } = input;
    const li = typeof input.amount === 'number' || typeof input.amount === 'string' ? parseYuan(input.amount) : null;
    if (li === null || li <= 0 || li > MAX_TOPUP_LI) {
      return refuse('bad-amount', '金额应为大于 0 的数（元），最多三位小数', 'the amount must be a positive number of yuan, at most 3 decimals', 400);
    }
    const account = ctx.store.getAccount(user);
    if (!account) return refuse('no-account', `没有账号 ${user}`, `no account ${user}`, 404);
    if (account.balanceLi === null) return refuse('unlimited', `账号 ${user} 不限余额，无需充值`, `account ${user} has an unlimited balance`, 409);
    const now = ctx.clock.now();
    const balanceLi = ctx.store.topUp(user, li, now, input.via === 'api' ? 'api top-up' : 'admin page top-up');
    recordEvent(ctx, 'info', 'topup', `账号 ${user} 充值 ${formatYuan(li)} 元`, `account ${user} topped up by ${formatYuan(li)} yuan`);
    return done({ account: { ...account, balanceLi }, amountLi: li });
  }
}
