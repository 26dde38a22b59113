import type { Clock } from '../clock.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../log.js';
import { formatYuan } from '../money.js';
import { planSegments } from '../modem/pdu/index.js';
import { displayNumber, parseRecipients } from '../protocol/numbers.js';
import type { Params } from '../protocol/request.js';
import { AuthReply, parseMessageName, SendReply, type RejectReason } from '../protocol/wdgj.js';
import { VerifiedPasswordCache, hashPassword } from '../passwords.js';
import type { StatusModel } from '../status/status.js';
import { GroupCommit } from '../store/group-commit.js';
import type { LoginAccount, Store } from '../store/store.js';
import { LoginLimiter } from './login-limiter.js';
import { cut, EVENT_VALUE_MAX_CHARS } from '../store/events.js';

/**
 * Answers the three WDGJ messages. The decisions (what each reply code means)
 * are documented in README.md, "WDGJ protocol as implemented".
 */
export class WdgjEndpoint {
  private readonly passwords = new VerifiedPasswordCache();
  private readonly limiter: LoginLimiter;
  /** Compared against when the user does not exist, so both paths cost the same. */
  private readonly decoyHash = hashPassword('decoy-password-for-unknown-users');
  private readonly commits: GroupCommit;

  constructor(
    private readonly deps: {
      store: Store;
      status: StatusModel;
      clock: Clock;
      config: () => Config;
      log: Logger;
      /** Called after a message is committed, so dispatch can react at once. */
      onQueued?: () => void;
    },
  ) {
    this.commits = new GroupCommit(deps.store);
    this.limiter = new LoginLimiter(() => {
      const s = deps.config().security;
      return { allowed: s.loginFailuresAllowed, lockMs: s.loginLockMinutes * 60_000 };
    });
  }

  /** The reply body for a request whose params carry `msg`. Never throws. */
  async answer(params: Params, client: string): Promise<string> {
    const now = this.deps.clock.now();
    const message = parseMessageName(params.get('msg'));
    const user = (params.get('user') ?? '').trim();
    const record = (reply: string, reason?: string) => {
      this.deps.status.recordWdgj({ at: now, client, msg: message ?? cut(params.get('msg') ?? '', 40), user: cut(user, 40), reply, ...(reason ? { reason } : {}) });
      // Successes are routine (管家助理 polls): debug only; anything refused is worth a line.
      const fields = { msg: message ?? cut(params.get('msg') ?? '', 40), user: cut(user, 40), client, reply, ...(reason ? { reason } : {}) };
      if (reason) this.deps.log.info('wdgj refused', fields);
      else this.deps.log.debug('wdgj', fields);
      return reply;
    };
    try {
      if (!message) {
        // Not one of the three messages: "interface failure" tells the client this URL is not what it thinks.
        // Repeats from one client are counted in one row, and the value is cut (src/store/events.ts).
        const value = cut(params.get('msg') ?? '', EVENT_VALUE_MAX_CHARS);
        this.event('warn', 'wdgj-unknown-msg', `收到未知的 Msg 参数 "${value}"（来自 ${client}）`, `unknown Msg "${value}" from ${client}`, { client, msg: value });
        return record(SendReply.interfaceFailure, 'unknown-message');
      }
      const account = await this.authenticate(user, params.get('pwd') ?? '', client, now);
      if (!account) return record(message === 'smsBalance' ? '0' : AuthReply.invalid, 'account-invalid');
      switch (message) {
        case 'smsAU':
          return record(AuthReply.valid);
        case 'smsBalance': {
          const fresh = this.deps.store.getAccount(account.user);
          if (!fresh) return record('0', 'account-invalid');
          return record(fresh.balanceLi === null ? this.deps.config().billing.unlimitedBalanceReply : formatYuan(fresh.balanceLi));
        }
        case 'smsSnd':
          return record(...(await this.send(account, params, client, now)));
      }
    } catch (err) {
      this.deps.log.error('wdgj request failed', { error: String(err), client });
      this.event('error', 'wdgj-internal', `处理请求出错：${String(err)}`, `request failed: ${String(err)}`, { client });
      return record(message === 'smsSnd' ? SendReply.interfaceFailure : '0', 'store-failure');
    }
  }

  private async authenticate(user: string, password: string, client: string, now: number): Promise<LoginAccount | null> {
    const account = user === '' ? null : this.deps.store.getLogin(user);
    const hash = account?.passwordHash ?? this.decoyHash;
    // The attempt is counted before the (slow) check, so parallel guesses from one
    // address evaluate at most login_failures_allowed passwords before the lock.
    const attempt = this.passwords.checkKey(password, hash);
    if (!this.limiter.begin(client, attempt, now)) return null;
    let ok = false;
    try {
      ok = this.passwords.isKnown(password, hash) || (await this.passwords.verify(password, hash));
    } finally {
      if (this.limiter.end(client, attempt, account !== null && ok, this.deps.clock.now())) {
        const minutes = this.deps.config().security.loginLockMinutes;
        this.event('warn', 'login-locked',
          `来自 ${client} 的账号或密码错误次数过多，${minutes} 分钟内拒绝该地址。请在管家助理中核对用户名和密码。`,
          `too many failed logins from ${client}; refused for ${minutes} minutes. Check the user name and password in 管家助理.`,
          // A user name that is no account may be a password typed in the wrong field: not kept.
          { client, user: account ? user : null });
      }
    }
    return account && ok ? account : null;
  }

  private async send(account: LoginAccount, params: Params, client: string, now: number): Promise<[string, RejectReason?]> {
    const config = this.deps.config();
    const body = params.get('body') ?? '';
    const reject = (reason: RejectReason, zh: string, en: string, data?: unknown): [string, RejectReason] => {
      this.event('warn', `send-rejected-${reason}`, zh, en, data);
      return [SendReply.interfaceFailure, reason];
    };
    if (body.trim() === '') return reject('empty-body', `账号 ${account.user} 的短信内容为空，未发送`, `empty message body from account ${account.user}; nothing queued`);

    const recipients = parseRecipients(params.get('tel') ?? '', config.sms.allowInternational);
    if (recipients.invalid.length > 0) {
      this.event('warn', 'invalid-numbers',
        `以下号码无效，已跳过：${recipients.invalid.join('、')}`,
        `invalid numbers skipped: ${recipients.invalid.join(', ')}`,
        { invalid: recipients.invalid, account: account.user });
    }
    if (recipients.valid.length === 0) {
      return reject('no-valid-number', `没有有效的手机号码（Tel="${params.get('tel') ?? ''}"），未发送`, `no valid mobile number (Tel="${params.get('tel') ?? ''}"); nothing queued`);
    }

    const text = withFooter(body, config.optout.footer);
    const plan = planSegments(text);
    if (plan.parts.length > config.sms.maxSegments) {
      return reject('too-long',
        `短信过长：需要 ${plan.parts.length} 条，上限为 ${config.sms.maxSegments} 条（[sms] max_segments）`,
        `message too long: ${plan.parts.length} segments, the limit is ${config.sms.maxSegments} ([sms] max_segments)`);
    }

    const acceptance = this.deps.status.acceptance();
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
        client,
        now,
        duplicateWindowMs: config.sms.duplicateWindowMinutes * 60_000,
      });
    } catch (err) {
      this.deps.log.error('store failed to accept a message', { error: String(err) });
      return reject('store-failure', `数据库写入失败，短信未接收：${String(err)}`, `database write failed, message not accepted: ${String(err)}`);
    }
    switch (outcome.kind) {
      case 'duplicate':
        this.event('info', 'duplicate-request',
          `管家助理重发了相同的请求（第 ${outcome.requestId} 号请求），未重复排队`,
          `管家助理 repeated request #${outcome.requestId}; not queued twice`,
          { requestId: outcome.requestId, to: recipients.valid.map(displayNumber) });
        return [SendReply.accepted];
      case 'balance-too-low':
        this.event('warn', 'balance-too-low',
          `账号 ${account.user} 余额不足：需要 ${formatYuan(outcome.neededLi)} 元，余额 ${formatYuan(outcome.balanceLi)} 元`,
          `account ${account.user}: balance ${formatYuan(outcome.balanceLi)} yuan does not cover ${formatYuan(outcome.neededLi)} yuan`);
        return [SendReply.balanceTooLow];
      case 'accepted':
        if (outcome.suppressed.length > 0) {
          const numbers = outcome.suppressed.map(displayNumber);
          this.event('info', 'suppressed-at-accept',
            `以下号码已退订，未发送也未扣费：${numbers.join('、')}`,
            `opted-out numbers neither sent nor charged: ${numbers.join(', ')}`, { numbers });
        }
        this.deps.onQueued?.();
        return [SendReply.accepted];
    }
  }

  private event(level: 'info' | 'warn' | 'error', kind: string, zh: string, en: string, data?: unknown): void {
    try {
      this.deps.store.addEvent(this.deps.clock.now(), level, kind, zh, en, data);
    } catch (err) {
      this.deps.log.error('cannot write event', { kind, error: String(err) });
    }
  }
}

/** The opt-out footer ("回T退订") is added once: not again when the shop's text already ends with it. */
export function withFooter(body: string, footer: string): string {
  return footer === '' || body.trimEnd().endsWith(footer.trim()) ? body : body + footer;
}
