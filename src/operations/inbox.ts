import { planSegments } from '../modem/pdu/index.js';
import { displayNumber, normalizeNumber } from '../protocol/numbers.js';
import type { InboxRow, MessageRow } from '../store/store.js';
import { cut } from '../text.js';
import { recordEvent, type OperationsContext } from './context.js';
import { done, refuse, type Outcome } from './outcome.js';
import { withFooter, type Sending, type SendRefusalCode } from './sending.js';

/**
 * Customers' replies as the shop reads them, in context: each reply names the
 * notice it answers (`replyTo`), a number's messages both ways read as one
 * conversation, and the owner answers from there.
 *
 * Who pays for an answer: the account of the message the customer answered
 * (the notice, or the shop's previous answer), when that account is still in
 * the config. The answer carries on that account's conversation with its own
 * customer, on the same SIM, so it is charged like any message of that
 * account (same price, same balance check, refunded if it fails). Where no
 * account's message is being answered (nothing sent to the number within 7
 * days, the box's own opt-out confirmation, an account since removed) there is
 * nobody whose balance it fairly comes out of: it goes as the box's own
 * message, uncharged, like the owner's forwards.
 */

export type AnswerRefusalCode = 'no-message' | 'cannot-answer' | 'opted-out' | 'retry-window' | 'no-account' | SendRefusalCode;

export interface Answered {
  message: MessageRow;
  /** The account charged; null when the answer went uncharged, as the box's own message. */
  chargedTo: string | null;
}

export type ConversationEntry =
  | { direction: 'out'; at: number; message: MessageRow }
  | { direction: 'in'; at: number; reply: InboxRow };

export interface Conversation {
  /** The number as the outbox writes it (E.164), or the sender as received when it is no phone number. */
  number: string;
  /** Oldest first. */
  entries: ConversationEntry[];
  /** The newest message from this number: the one an answer answers. */
  latestReply: InboxRow | null;
  optedOut: boolean;
  /** Whether an answer can be sent at all (a mobile number the box may send to). */
  answerable: boolean;
  /** The account an answer would be charged to now; null: uncharged. */
  payer: string | null;
}

/** How many messages of each direction a conversation page shows. */
export const CONVERSATION_LIMIT = 100;

export class Inbox {
  constructor(
    private readonly ctx: OperationsContext,
    private readonly sending: Sending,
  ) {}

  /** Newest first; `q` matches the sender or the text; `limit` is kept within 1–1000. */
  list(opts: { limit: number; q?: string | null; beforeId?: number | string | null }): InboxRow[] {
    const before = opts.beforeId ?? null;
    const beforeId = typeof before === 'number' ? before : before !== null && /^\d{1,15}$/.test(before) ? Number(before) : undefined;
    return this.ctx.store.listInbox({
      limit: Math.min(Math.max(Math.trunc(opts.limit) || 1, 1), 1000),
      ...(opts.q ? { q: opts.q } : {}),
      ...(beforeId !== undefined ? { beforeId } : {}),
    });
  }

  /** One number's messages both ways, oldest first (the last CONVERSATION_LIMIT of each). */
  conversation(number: string): Outcome<Conversation, 'no-message'> {
    const { store } = this.ctx;
    const raw = number.trim().slice(0, 40);
    const e164 = normalizeNumber(raw, true);
    // A mainland mobile arrives as +86…, 86… or 1… depending on the network: one conversation.
    const senders = e164 === null ? [raw] : e164.startsWith('+86') ? [e164, e164.slice(1), e164.slice(3)] : [e164, e164.slice(1)];
    const replies = store.inboxFrom(senders, CONVERSATION_LIMIT);
    const messages = e164 === null ? [] : store.messagesTo(e164, CONVERSATION_LIMIT);
    if (replies.length === 0 && messages.length === 0) return refuse('no-message', '这个号码没有收发过短信', 'no message to or from this number', 404);
    const entries: ConversationEntry[] = [
      ...messages.map((message) => ({ direction: 'out' as const, at: message.sentAt ?? message.createdAt, message })),
      ...replies.map((reply) => ({ direction: 'in' as const, at: reply.receivedAt, reply })),
    ].sort((a, b) => a.at - b.at);
    const latestReply = replies[0] ?? null;
    const target = e164 === null ? null : normalizeNumber(raw, this.ctx.config().sms.allowInternational);
    return done({
      number: e164 ?? raw,
      entries,
      latestReply,
      optedOut: e164 !== null && store.isOptedOut(e164),
      answerable: target !== null && latestReply !== null,
      payer: latestReply ? this.payerOf(latestReply) : null,
    });
  }

  /** The configured account whose message `reply` answers; null: nobody's (uncharged). */
  private payerOf(reply: InboxRow): string | null {
    if (!reply.replyTo) return null;
    const answered = this.ctx.store.getMessage(reply.replyTo.id);
    return answered && this.ctx.config().accounts.some((a) => a.user === answered.account) ? answered.account : null;
  }

  /**
   * The owner answers a customer's reply: `text` (with the opt-out footer) to
   * the reply's sender, charged as the class comment says. Refused for a
   * number that opted out (the customer asked to be left alone: take it off
   * the list first if they asked again), for senders no SMS can be sent to
   * (10086, TAOBAO), and for what smsSnd refuses (empty, too long, balance).
   */
  async answer(input: { inboxId: number | string; text: string }): Promise<Outcome<Answered, AnswerRefusalCode>> {
    const { ctx } = this;
    const { store } = ctx;
    const config = ctx.config();
    const id = typeof input.inboxId === 'number' ? input.inboxId : /^\d{1,15}$/.test(input.inboxId) ? Number(input.inboxId) : Number.NaN;
    const reply = Number.isSafeInteger(id) ? store.getInbox(id) : null;
    if (!reply) return refuse('no-message', '没有这条收到的短信', 'no such received message', 404);
    const to = normalizeNumber(reply.from, config.sms.allowInternational);
    if (!to) {
      return refuse('cannot-answer', `无法回复 ${reply.from}：不是可以发送短信的手机号码`, `cannot answer ${reply.from}: not a mobile number the box may send to`, 409);
    }
    const who = displayNumber(to);
    const text = input.text.trim();
    if (text === '') return refuse('empty-body', '请填写回复内容', 'enter the answer', 400);
    if (store.isOptedOut(to)) {
      return refuse('opted-out', `${who} 已退订，不能再发短信。如顾客要求恢复，请先在“退订”页面移除该号码。`,
        `${who} opted out and gets no more messages. If the customer asked again, remove the number on the Opt-outs page first.`, 409);
    }
    const payer = this.payerOf(reply);
    let message: MessageRow;
    if (payer !== null) {
      const sent = await this.sending.submitAs(payer, { tel: to, body: text, client: 'inbox-answer' });
      if (!sent.ok) return sent;
      if (sent.value.kind === 'duplicate') {
        const minutes = config.sms.duplicateWindowMinutes;
        return refuse('retry-window', `同样的回复在 ${minutes} 分钟内已发送过，没有再次排队`, `the same answer was sent less than ${minutes} minutes ago; not queued again`, 409);
      }
      message = store.getMessage(sent.value.messageIds[0]!)!;
    } else {
      const body = withFooter(text, config.optout.footer);
      const plan = planSegments(body);
      if (plan.parts.length > config.sms.maxSegments) {
        return refuse('too-long', `回复过长：需要 ${plan.parts.length} 条，上限为 ${config.sms.maxSegments} 条`, `answer too long: ${plan.parts.length} segments, the limit is ${config.sms.maxSegments}`, 400);
      }
      try {
        message = store.getMessage(store.queueSystemMessage('answer', to, body, plan.parts.length, plan.encoding, ctx.clock.now()))!;
      } catch (err) {
        ctx.log.error('store failed to queue an answer', { error: String(err) });
        return refuse('store-failure', `数据库写入失败，回复未排队：${String(err)}`, `database write failed, the answer was not queued: ${String(err)}`, 503);
      }
      ctx.onQueued?.();
    }
    recordEvent(ctx, 'info', 'inbox-answer',
      `已回复 ${who}（第 ${message.id} 号短信${payer ? `，计入账号 ${payer}` : '，本机短信，不计费'}）：${cut(text, 40)}`,
      `answered ${who} (message #${message.id}, ${payer ? `charged to account ${payer}` : "the box's own, uncharged"}): ${cut(text, 40)}`,
      { inboxId: reply.id, messageId: message.id, account: payer });
    return done({ message, chargedTo: payer });
  }
}
