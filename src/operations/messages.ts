import { MESSAGE_STATUSES, type AttemptRow, type MessageRow, type MessageStatus } from '../store/store.js';
import { recordEvent, type OperationsContext } from './context.js';
import { done, refuse, type Outcome } from './outcome.js';
import type { SendRefusalCode, Sending } from './sending.js';

/** The outbox as the shop sees it: lists, one message's history, and the shop's decisions on a message. */

export interface MessageQuery {
  limit: number;
  q?: string;
  status?: MessageStatus;
  beforeId?: number;
}

/** One try at sending a message, with its outcome. */
export type Attempt = AttemptRow;

/** A later request that was recognised as a client's retry of this message's request and merged into it. */
export interface MergedRetry {
  at: number;
  /** The address of the client that retried. */
  client: string | null;
}

export interface MessageDetails {
  message: MessageRow;
  attempts: Attempt[];
  /** Client retries merged into this message's request: nothing was queued twice for them. */
  retries: MergedRetry[];
}

export const MAX_LIST_LIMIT = 1000;

/**
 * How long after a request its retries are looked for. A retry can only come
 * inside `[sms] duplicate_window_minutes` of the request; a day covers any
 * window the setting allows.
 */
const RETRY_LOOKUP_MS = 24 * 3600_000;

function isStatus(value: string): value is MessageStatus {
  return (MESSAGE_STATUSES as readonly string[]).includes(value);
}

export class Messages {
  constructor(
    private readonly ctx: OperationsContext,
    private readonly sending: Sending,
  ) {}

  /** The JSON API's query (`limit`, `status`, `before_id` as text), checked: a bad value is refused, not guessed. */
  parseQuery(raw: { limit?: string | null; status?: string | null; beforeId?: string | null; q?: string | null }): Outcome<MessageQuery, 'bad-limit' | 'bad-status'> {
    const limitText = raw.limit ?? '50';
    const limit = Number(limitText);
    if (!/^\d+$/.test(limitText) || limit < 1 || limit > MAX_LIST_LIMIT) {
      return refuse('bad-limit', `limit 应为 1 到 ${MAX_LIST_LIMIT} 的整数`, `limit must be a whole number from 1 to ${MAX_LIST_LIMIT}`, 400);
    }
    const status = raw.status ?? null;
    if (status !== null && !isStatus(status)) {
      return refuse('bad-status', `status 应为 ${MESSAGE_STATUSES.join('、')} 之一`, `status must be one of ${MESSAGE_STATUSES.join(', ')}`, 400);
    }
    const before = raw.beforeId ?? null;
    return done({
      limit,
      ...(status ? { status } : {}),
      ...(before !== null && /^\d+$/.test(before) ? { beforeId: Number(before) } : {}),
      ...(raw.q ? { q: raw.q } : {}),
    });
  }

  /** Newest first; `q` matches the number (digits, any form) or the text. */
  search(query: MessageQuery): MessageRow[] {
    return this.ctx.store.searchMessages({ ...query, limit: Math.min(Math.max(1, query.limit), MAX_LIST_LIMIT + 1) });
  }

  /** A message by its id as given in a URL (text); refused when there is none. */
  get(id: number | string): Outcome<MessageRow, 'no-message'> {
    const n = typeof id === 'number' ? id : /^\d{1,15}$/.test(id) ? Number(id) : Number.NaN;
    const message = Number.isSafeInteger(n) ? this.ctx.store.getMessage(n) : null;
    if (!message) return refuse('no-message', `没有第 ${String(id)} 号短信`, `no message ${String(id)}`, 404);
    return done(message);
  }

  /** A message with its attempts and the client retries that were merged into its request. */
  details(id: number | string): Outcome<MessageDetails, 'no-message'> {
    const found = this.get(id);
    if (!found.ok) return found;
    const message = found.value;
    return done({ message, attempts: this.ctx.store.listAttempts(message.id), retries: this.retriesOf(message) });
  }

  private retriesOf(message: MessageRow): MergedRetry[] {
    // The retries are known from the events the sending operation writes for them (src/operations/sending.ts).
    return this.ctx.store
      .eventsOfKind('duplicate-request', message.createdAt, message.createdAt + RETRY_LOOKUP_MS)
      .filter((e) => (e.data as { requestId?: unknown } | null)?.requestId === message.requestId)
      .map((e) => {
        const client = (e.data as { retried_by?: unknown }).retried_by;
        return { at: e.at, client: typeof client === 'string' ? client : null };
      });
  }

  /**
   * The shop's decision on an `uncertain` message (it may or may not have
   * reached the network): queue it again, or give it up, refunded.
   */
  resolveUncertain(id: number | string, action: 'resend' | 'fail'): Outcome<MessageRow, 'no-message' | 'not-uncertain'> {
    const { ctx } = this;
    const found = this.get(id);
    if (!found.ok) return found;
    const message = found.value;
    if (!ctx.store.resolveUncertain(message.id, action, ctx.clock.now())) {
      return refuse('not-uncertain',
        `第 ${message.id} 号短信的状态是 ${message.status}，只有“待确认”（uncertain）的短信可以${action === 'resend' ? '重发' : '标记失败'}`,
        `message ${message.id} is ${message.status}; only uncertain messages can be ${action === 'resend' ? 'resent' : 'marked failed'}`, 409);
    }
    recordEvent(ctx, 'info', `message-${action}`,
      action === 'resend' ? `第 ${message.id} 号短信已重新排队` : `第 ${message.id} 号短信已标记失败并退款`,
      action === 'resend' ? `message ${message.id} queued again` : `message ${message.id} marked failed and refunded`, { messageId: message.id });
    if (action === 'resend') ctx.onQueued?.();
    return done(ctx.store.getMessage(message.id)!);
  }

  /**
   * A failed message stays failed (it was refunded); "send again" queues a new
   * one with the same number and text, charged to the same account like a new send.
   */
  async sendAgain(id: number | string): Promise<Outcome<MessageRow, 'no-message' | 'not-failed' | 'retry-window' | 'no-account' | SendRefusalCode>> {
    const { ctx } = this;
    const found = this.get(id);
    if (!found.ok) return found;
    const message = found.value;
    if (message.status !== 'failed' || message.kind !== 'wdgj' || !ctx.config().accounts.some((a) => a.user === message.account)) {
      return refuse('not-failed', '只有失败的、账号仍在配置中的短信可以再发一次', 'only failed messages of an account still in the config can be sent again', 409);
    }
    const sent = await this.sending.submitAs(message.account, { tel: message.to, body: message.body, client: 'admin-again' });
    if (!sent.ok) return sent;
    if (sent.value.kind === 'duplicate') {
      const minutes = ctx.config().sms.duplicateWindowMinutes;
      return refuse('retry-window',
        `同样的短信在 ${minutes} 分钟内已提交过，被当作重复请求；请稍后再试`,
        `the same message was submitted less than ${minutes} minutes ago and counts as a retry; try again later`, 409);
    }
    return done(ctx.store.getMessage(sent.value.messageIds[0]!)!);
  }

  /** The admin's test send: the same way in as 管家助理's smsSnd, charged to the chosen account (the first when none is chosen). */
  async testSend(input: { user?: string | null; to: string; text: string }): Promise<Outcome<MessageRow[], 'no-account' | 'retry-window' | SendRefusalCode>> {
    const { ctx } = this;
    const accounts = ctx.config().accounts;
    const account = accounts.find((a) => a.user === input.user) ?? accounts[0];
    if (!account) return refuse('no-account', '没有账号，请先在设置中添加账号', 'no account; add one in Settings first', 404);
    const sent = await this.sending.submitAs(account.user, { tel: input.to, body: input.text, client: 'admin-test' });
    if (!sent.ok) return sent;
    if (sent.value.kind === 'duplicate') {
      const minutes = ctx.config().sms.duplicateWindowMinutes;
      return refuse('retry-window',
        `同样的短信在 ${minutes} 分钟内已提交过，被当作重复请求，没有再次排队`,
        `the same message was submitted less than ${minutes} minutes ago and counts as a retry; not queued again`, 409);
    }
    return done(sent.value.messageIds.map((messageId) => ctx.store.getMessage(messageId)!));
  }
}
