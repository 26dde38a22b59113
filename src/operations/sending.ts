import { formatYuan } from '../money.js';
import { planSegments } from '../modem/pdu/index.js';
import { PasswordCheckBusy, VerifiedPasswordCache, hashPassword } from '../passwords.js';
import { displayNumber, parseRecipients } from '../protocol/numbers.js';
import { EVENT_VALUE_MAX_CHARS } from '../store/events.js';
import { cut } from '../text.js';
import { GroupCommit } from '../store/group-commit.js';
import type { LoginAccount } from '../store/store.js';
import { recordEvent, type OperationsContext } from './context.js';
import { factoryAccountBlocked, factoryAccountRefusal } from './credentials.js';
import { LoginLimiter } from './login-limiter.js';
import { done, refuse, type Outcome, type Refusal } from './outcome.js';

/**
 * Accepting a message: the one way into the outbox for 管家助理's smsSnd, the
 * admin's test send and "send again" (Gammu SMSD's SMSD_InjectSMS plays this
 * part there). Checks in the documented order — something acceptable at all,
 * the modem able to send, then the balance — and answers only after the rows
 * are committed.
 */

export type LoginRefusalCode = 'account-invalid' | 'login-locked' | 'login-busy' | 'factory-password';
export type SendRefusalCode = 'empty-body' | 'no-valid-number' | 'too-long' | 'modem-fault' | 'store-failure' | 'balance-too-low';

export type Accepted =
  /** Committed: one outbox row per recipient (opted-out ones as `suppressed`, uncharged). */
  | { kind: 'queued'; requestId: number; messageIds: number[]; suppressed: string[]; chargeLi: number }
  /** A client retry of request `requestId` inside the duplicate window: nothing new was queued. */
  | { kind: 'duplicate'; requestId: number };

/** The opt-out footer ("回T退订") is added once: not again when the shop's text already ends with it. */
export function withFooter(body: string, footer: string): string {
  return footer === '' || body.trimEnd().endsWith(footer.trim()) ? body : body + footer;
}

export class Sending {
  private readonly passwords = new VerifiedPasswordCache();
  private readonly limiter: LoginLimiter;
  /** Compared against when the user does not exist, so both paths cost the same. */
  private readonly decoyHash = hashPassword('decoy-password-for-unknown-users');
  private readonly commits: GroupCommit;

  constructor(private readonly ctx: OperationsContext) {
    this.commits = new GroupCommit(ctx.store);
    this.limiter = new LoginLimiter(() => {
      const s = ctx.config().security;
      return { allowed: s.loginFailuresAllowed, lockMs: s.loginLockMinutes * 60_000 };
    });
  }

  /** Whether `user` names an enabled account (the request log shows only names that do). */
  isAccount(user: string): boolean {
    return user !== '' && this.ctx.store.getLogin(user) !== null;
  }

  /**
   * A WDGJ login. Each attempt is counted when it starts, before the (slow)
   * password check, so parallel guesses from one address evaluate at most
   * `login_failures_allowed` passwords before the address is locked out; a
   * locked address is refused whatever it sends. An account whose password
   * is still the factory one is refused while a real modem is fitted.
   */
  async authenticate(input: { user: string; password: string; client: string }): Promise<Outcome<LoginAccount, LoginRefusalCode>> {
    const { ctx } = this;
    const { user, password, client } = input;
    const account = user === '' ? null : ctx.store.getLogin(user);
    const hash = account?.passwordHash ?? this.decoyHash;
    const attempt = this.passwords.checkKey(password, hash);
    if (!this.limiter.begin(client, attempt, ctx.clock.now())) {
      return refuse('login-locked', `来自 ${client} 的登录失败次数过多，暂时拒绝`, `too many failed logins from ${client}; refused for now`, 429);
    }
    let ok = false;
    try {
      ok = this.passwords.isKnown(password, hash) || (await this.passwords.verify(password, hash));
    } catch (err) {
      this.limiter.cancel(client, attempt);
      // Nothing was evaluated: too many other checks under way (a flood of guesses). Not a failure of this client.
      if (err instanceof PasswordCheckBusy) return refuse('login-busy', '同时核对的登录过多，请稍后再试', 'too many logins being checked at once; try again shortly', 503);
      throw err;
    }
    if (this.limiter.end(client, attempt, account !== null && ok, ctx.clock.now())) {
      const minutes = ctx.config().security.loginLockMinutes;
      recordEvent(ctx, 'warn', 'login-locked',
        `来自 ${client} 的账号或密码错误次数过多，${minutes} 分钟内拒绝该地址。请在管家助理中核对用户名和密码。`,
        `too many failed logins from ${client}; refused for ${minutes} minutes. Check the user name and password in 管家助理.`,
        // A User that names no account may be a password typed into the wrong field: never written down.
        { client, user: account ? account.user : null });
    }
    if (!account || !ok) return refuse('account-invalid', '用户名或密码错误', 'wrong user name or password', 401);
    if (factoryAccountBlocked(ctx.config(), account.user)) return factoryAccountRefusal(account.user);
    return done(account);
  }

  /** The balance of a logged-in account; null = unlimited. */
  balance(account: LoginAccount): Outcome<{ balanceLi: number | null }, 'account-invalid'> {
    const fresh = this.ctx.store.getAccount(account.user);
    if (!fresh) return refuse('account-invalid', `没有账号 ${account.user}`, `no account ${account.user}`, 404);
    return done({ balanceLi: fresh.balanceLi });
  }

  /**
   * A request whose `Msg` is none of the three messages: logged for the shop
   * (the value cut, repeats from one client counted in one row), refused.
   */
  unknownMessage(value: string, client: string): Refusal<'unknown-message'> {
    const shown = cut(value, EVENT_VALUE_MAX_CHARS);
    recordEvent(this.ctx, 'warn', 'wdgj-unknown-msg', `收到未知的 Msg 参数 "${shown}"（来自 ${client}）`, `unknown Msg "${shown}" from ${client}`, { client, msg: shown });
    return refuse('unknown-message', `未知的 Msg 参数 "${shown}"`, `unknown Msg "${shown}"`, 400);
  }

  /** A WDGJ request failed inside the box (a bug, a database gone): logged for the shop. */
  failed(err: unknown, client: string): void {
    this.ctx.log.error('wdgj request failed', { error: String(err), client });
    recordEvent(this.ctx, 'error', 'wdgj-internal', `处理请求出错：${String(err)}`, `request failed: ${String(err)}`, { client });
  }

  /** Sends as `user` without a password: for the admin (already logged in), never for a WDGJ client. */
  async submitAs(user: string, input: { tel: string; body: string; client: string }): Promise<Outcome<Accepted, SendRefusalCode | 'no-account'>> {
    const account = this.ctx.store.getLogin(user);
    if (!account) return refuse('no-account', `没有账号 ${user}`, `no account ${user}`, 404);
    return this.submit(account, input);
  }

  /**
   * Queues `body` (with the footer) to every valid number of `tel`, charged to
   * `account`; a retry of a recent identical request queues nothing again.
   */
  async submit(account: LoginAccount, input: { tel: string; body: string; client: string }): Promise<Outcome<Accepted, SendRefusalCode>> {
    const { ctx } = this;
    const config = ctx.config();
    const now = ctx.clock.now();
    const reject = (code: Exclude<SendRefusalCode, 'balance-too-low'>, zh: string, en: string, data?: unknown): Refusal<SendRefusalCode> => {
      recordEvent(ctx, 'warn', `send-rejected-${code}`, zh, en, data);
      return refuse(code, zh, en, code === 'store-failure' ? 503 : code === 'modem-fault' ? 503 : 400);
    };
    if (input.body.trim() === '') return reject('empty-body', `账号 ${account.user} 的短信内容为空，未发送`, `empty message body from account ${account.user}; nothing queued`);

    const recipients = parseRecipients(input.tel, config.sms.allowInternational);
    if (recipients.invalid.length > 0) {
      recordEvent(ctx, 'warn', 'invalid-numbers',
        `以下号码无效，已跳过：${recipients.invalid.join('、')}`,
        `invalid numbers skipped: ${recipients.invalid.join(', ')}`,
        { invalid: recipients.invalid, account: account.user });
    }
    if (recipients.valid.length === 0) {
      return reject('no-valid-number', `没有有效的手机号码（Tel="${input.tel}"），未发送`, `no valid mobile number (Tel="${input.tel}"); nothing queued`);
    }

    const text = withFooter(input.body, config.optout.footer);
    const plan = planSegments(text);
    if (plan.parts.length > config.sms.maxSegments) {
      return reject('too-long',
        `短信过长：需要 ${plan.parts.length} 条，上限为 ${config.sms.maxSegments} 条（[sms] max_segments）`,
        `message too long: ${plan.parts.length} segments, the limit is ${config.sms.maxSegments} ([sms] max_segments)`);
    }

    const acceptance = ctx.acceptance();
    if (!acceptance.ok) return reject('modem-fault', `短信模块故障，暂不接收新短信：${acceptance.reason}`, `modem fault, not accepting messages: ${acceptance.reason}`);

    let outcome;
    try {
      outcome = await this.commits.accept({
        accountId: account.id,
        recipients: recipients.valid,
        invalidNumbers: recipients.invalid,
        body: text,
        segments: plan.parts.length,
        encoding: plan.encoding,
        priceLiPerSegment: config.billing.pricePerSegmentLi,
        client: input.client,
        now,
        duplicateWindowMs: config.sms.duplicateWindowMinutes * 60_000,
      });
    } catch (err) {
      ctx.log.error('store failed to accept a message', { error: String(err) });
      return reject('store-failure', `数据库写入失败，短信未接收：${String(err)}`, `database write failed, message not accepted: ${String(err)}`);
    }
    switch (outcome.kind) {
      case 'duplicate':
        recordEvent(ctx, 'info', 'duplicate-request',
          `管家助理重发了相同的请求（第 ${outcome.requestId} 号请求），未重复排队`,
          `管家助理 repeated request #${outcome.requestId}; not queued twice`,
          // Not under the key `client`: that would count one client's retries of different requests
          // into one row (src/store/events.ts), and each message's history shows its own.
          { requestId: outcome.requestId, to: recipients.valid.map(displayNumber), retried_by: input.client });
        return done({ kind: 'duplicate', requestId: outcome.requestId });
      case 'balance-too-low': {
        const zh = `账号 ${account.user} 余额不足：需要 ${formatYuan(outcome.neededLi)} 元，余额 ${formatYuan(outcome.balanceLi)} 元`;
        const en = `account ${account.user}: balance ${formatYuan(outcome.balanceLi)} yuan does not cover ${formatYuan(outcome.neededLi)} yuan`;
        recordEvent(ctx, 'warn', 'balance-too-low', zh, en);
        return refuse('balance-too-low', zh, en, 402);
      }
      case 'accepted':
        if (outcome.suppressed.length > 0) {
          const numbers = outcome.suppressed.map(displayNumber);
          recordEvent(ctx, 'info', 'suppressed-at-accept',
            `以下号码已退订，未发送也未扣费：${numbers.join('、')}`,
            `opted-out numbers neither sent nor charged: ${numbers.join(', ')}`, { numbers });
        }
        ctx.onQueued?.();
        return done({ kind: 'queued', requestId: outcome.requestId, messageIds: outcome.messageIds, suppressed: outcome.suppressed, chargeLi: outcome.chargeLi });
    }
  }
}
