import type { Clock } from '../clock.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../log.js';
import { planSegments } from '../modem/pdu/index.js';
import { displayNumber, normalizeNumber } from '../protocol/numbers.js';
import type { EventReport } from '../notify/notifier.js';
import type { InboxRow, ReplyContext, Store } from '../store/store.js';
import { cut } from '../text.js';
import { classifyReply } from './keywords.js';
import { CoalescingLoop } from '../coalescing-loop.js';

/**
 * Customers' replies: every received segment is committed to the inbox
 * before the modem deletes its copy; complete messages (or incomplete ones
 * whose wait is over) are then processed once: opt-out, resubscribe, or
 * forwarded to the owner's mobile and/or a webhook. Processing state is in
 * the database, so a restart in the middle picks up where it stopped.
 */

export interface ReceivedPart {
  from: string;
  text: string;
  timestamp: string;
  concat: { ref: number; part: number; total: number; ref16: boolean } | null;
  pdu: string;
}

const WEBHOOK_TIMEOUT_MS = 10_000;
/** How much of the answered notice an SMS forward quotes (every 67 Chinese characters is a segment). */
const FORWARD_NOTICE_CHARS = 20;

/** The notice a reply answers, as the webhook JSON and /api/inbox write it: `{id, text, sent_at}` or null. */
export function replyToJson(context: ReplyContext | null): { id: number; text: string; sent_at: string } | null {
  return context === null ? null : { id: context.id, text: context.text, sent_at: new Date(context.sentAt).toISOString() };
}

/** What the owner's channels are told of a reply or an opt-out: who, what, and the notice it answers. */
function replyReport(row: InboxRow, who: string, replyTo: ReplyContext | null, kind: 'reply' | 'optout'): EventReport {
  const incomplete = row.complete ? '' : `（不完整：${row.partsReceived}/${row.partsTotal} 段）`;
  const incompleteEn = row.complete ? '' : ` (incomplete: ${row.partsReceived} of ${row.partsTotal} parts)`;
  const answered = replyTo ? `；回复的是第 ${replyTo.id} 号短信：“${cut(replyTo.text, 70)}”` : '';
  const answeredEn = replyTo ? `; in reply to message #${replyTo.id}: "${cut(replyTo.text, 70)}"` : '';
  return {
    zh: kind === 'optout'
      ? `${who} 回复“${cut(row.text, 40)}”，已退订${answered}`
      : `${who} 回复${incomplete}：${row.text}${answered}`,
    en: kind === 'optout'
      ? `${who} replied "${cut(row.text, 40)}" and opted out${answeredEn}`
      : `${who} replied${incompleteEn}: ${row.text}${answeredEn}`,
    data: { from: who, text: row.text, inbox_id: row.id, reply_to: replyToJson(replyTo) },
    at: row.receivedAt,
  };
}
const WEBHOOK_MAX_ATTEMPTS = 50;

/** Webhook retry: 30 s doubling, at most an hour apart; about two days in all. */
export function webhookRetryDelay(attempts: number): number {
  return Math.min(30_000 * 2 ** Math.max(0, attempts - 1), 3_600_000);
}

export class InboundProcessor {
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private readonly deliveries = new CoalescingLoop(() => this.deliverOnce());

  constructor(
    private readonly deps: {
      store: Store;
      clock: Clock;
      config: () => Config;
      log: Logger;
      /** Something was queued for sending (a confirmation, a forward). */
      onQueued?: () => void;
      /** The HTTP client for webhooks; the global fetch by default. */
      fetch?: typeof fetch;
      /** Tells the owner's channels (issue 18): a reply that is no opt-out, and a new opt-out; after the row is committed. */
      notify?: (kind: 'reply' | 'optout', report: EventReport) => void;
      /**
       * Asked first for every message: an inbox action when the message is the
       * box's own business (its self-test coming back, a carrier's balance reply
       * or notice: src/sim), which is then only marked with it, never a
       * customer's reply (no opt-out, forward, reply context or reply event).
       */
      claim?: (row: InboxRow) => string | null;
    },
  ) {}

  private get windowMs(): number {
    return this.deps.config().inbound.reassemblyTimeoutMinutes * 60_000;
  }

  /** The modem's onInbound: resolves once the part is committed (then the modem may delete its copy). */
  /** One received segment, from the SIM named `modem` (a pool: answers to this customer then go from it). */
  async receive(part: ReceivedPart, modem: string | null = null): Promise<void> {
    const now = this.deps.clock.now();
    const result = this.deps.store.addInboundPart(part, now, this.windowMs, modem);
    if (modem !== null && !result.duplicate) {
      const sender = normalizeNumber(part.from, true);
      if (sender) this.deps.store.noteContact(sender, modem, now);
    }
    if (result.complete && !result.duplicate) this.processPending();
  }

  /** Processes every inbox row that is ready; safe to call at any time, any number of times. */
  processPending(): void {
    const now = this.deps.clock.now();
    for (const row of this.deps.store.pendingInbound(now, this.windowMs)) {
      try {
        this.processOne(row, now);
      } catch (err) {
        this.deps.log.error('processing an inbound message failed', { id: row.id, error: String(err) });
      }
    }
    this.scheduleDeliveries();
  }

  private processOne(row: InboxRow, now: number): void {
    const { store } = this.deps;
    const config = this.deps.config();
    let claimed: string | null = null;
    try {
      claimed = this.deps.claim?.(row) ?? null;
    } catch (err) {
      this.deps.log.error('classifying an inbound message failed', { id: row.id, error: String(err) });
    }
    if (claimed !== null) {
      store.markInboundProcessed(row.id, claimed);
      return;
    }
    // Only a mobile number can opt out; 10086 or "TAOBAO" are kept as they are and forwarded.
    const mobile = normalizeNumber(row.from, true);
    const kind = row.complete && mobile
      ? classifyReply(row.text, { optOut: config.optout.keywords, optOutPhrases: config.optout.contains, resubscribe: config.optout.resubscribe })
      : null;
    const who = displayNumber(mobile ?? row.from);
    let queued = false;
    const notices: { kind: 'reply' | 'optout'; report: EventReport }[] = [];
    store.transaction(() => {
      // The notice this answers: linked before anything else, so the forwards below can quote it.
      const replyTo = mobile ? store.linkReply(row.id, mobile, row.receivedAt) : null;
      if (kind === 'optout') {
        const added = store.addOptOut(mobile!, 'sms', `回复 / replied "${row.text.slice(0, 40)}"`, now, row.id);
        store.addEvent(now, 'info', 'optout', `${who} 回复“${row.text.slice(0, 40)}”，已退订，以后不再发送`, `${who} replied "${row.text.slice(0, 40)}": opted out, never messaged again`, { number: mobile, inboxId: row.id });
        if (added && config.optout.confirmation) {
          const plan = planSegments(config.optout.confirmation);
          store.queueSystemMessage('optout-confirmation', mobile!, config.optout.confirmation, plan.parts.length, plan.encoding, now);
          queued = true;
        }
        store.markInboundProcessed(row.id, 'optout');
        if (added) notices.push({ kind: 'optout', report: replyReport(row, who, replyTo, 'optout') });
      } else if (kind === 'resubscribe') {
        store.removeOptOut(mobile!);
        store.addEvent(now, 'info', 'resubscribe', `${who} 回复“${row.text.slice(0, 40)}”，已重新订阅`, `${who} replied "${row.text.slice(0, 40)}": subscribed again`, { number: mobile, inboxId: row.id });
        store.markInboundProcessed(row.id, 'resubscribe');
      } else {
        const incomplete = !row.complete;
        if (incomplete) {
          store.addEvent(now, 'warn', 'inbound-incomplete', `来自 ${who} 的长短信只收到 ${row.partsReceived}/${row.partsTotal} 段，已按不完整短信保存`, `long SMS from ${who}: only ${row.partsReceived} of ${row.partsTotal} parts arrived; kept as incomplete`, { inboxId: row.id });
        }
        if (config.inbound.forwardTo && config.inbound.forwardTo !== mobile) {
          const answered = replyTo ? `（回复“${cut(replyTo.text, FORWARD_NOTICE_CHARS)}”）` : '';
          const body = `[短信网关] ${who}${incomplete ? '（不完整）' : ''}${answered}: ${row.text}`;
          const plan = planSegments(body);
          // A forward longer than the box accepts from 管家助理 is cut, not dropped.
          const text = plan.parts.length > config.sms.maxSegments ? plan.parts.slice(0, config.sms.maxSegments).join('') : body;
          store.queueSystemMessage('forward', config.inbound.forwardTo, text, Math.min(plan.parts.length, config.sms.maxSegments), plan.encoding, now);
          queued = true;
        }
        if (config.inbound.webhook) store.addForward(row.id, config.inbound.webhook, now);
        store.markInboundProcessed(row.id, incomplete ? 'incomplete' : config.inbound.forwardTo || config.inbound.webhook ? 'forwarded' : null);
        // The owner's own messages to the box (answering a forward or an alert SMS) are not customers' replies:
        // told back to the owner, they would answer each other in a loop.
        const fromOwner = mobile !== null && (mobile === config.inbound.forwardTo || config.notify.some((c) => c.kind === 'sms' && c.to === mobile));
        if (!fromOwner) notices.push({ kind: 'reply', report: replyReport(row, who, replyTo, 'reply') });
      }
    });
    if (queued) this.deps.onQueued?.();
    for (const { kind: event, report } of notices) this.deps.notify?.(event, report);
  }

  /** Starts the periodic work: incomplete messages whose wait is over, and webhook retries. */
  start(): void {
    this.running = true;
    this.processPending();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.deliveries.idle();
  }

  private scheduleDeliveries(): void {
    // While a delivery loop runs, it is the next step: its end schedules again.
    if (!this.running || this.deliveries.running) return;
    if (this.timer) clearTimeout(this.timer);
    const now = this.deps.clock.now();
    const next = this.deps.store.nextForwardAt();
    // Wake at least every minute: incomplete multipart messages time out on their own.
    const delay = Math.max(0, Math.min(next === null ? 60_000 : next - now, 60_000));
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.deliverDue().finally(() => this.processPending());
    }, delay);
    this.timer.unref?.();
  }

  /**
   * POSTs due webhook forwards; each outcome committed, so retries survive a
   * restart. One delivery loop at a time: a call while one runs joins it (and
   * makes it look for due forwards once more before it ends), so a server that
   * hangs never receives concurrent copies of one reply.
   */
  deliverDue(): Promise<void> {
    return this.deliveries.run();
  }

  private async deliverOnce(): Promise<void> {
    const { store, clock } = this.deps;
    const post = this.deps.fetch ?? fetch;
    for (const job of store.dueForwards(clock.now())) {
      const row = store.getInbox(job.inboxId);
      if (!row) continue;
      let error: string | null = null;
      try {
        const response = await post(job.target, {
          method: 'POST',
          headers: { 'content-type': 'application/json; charset=utf-8' },
          body: JSON.stringify({
            id: row.id,
            from: row.from,
            text: row.text,
            received_at: new Date(row.receivedAt).toISOString(),
            sent_at: row.sentAt,
            complete: row.complete,
            parts: { received: row.partsReceived, total: row.partsTotal },
            reply_to: replyToJson(row.replyTo),
          }),
          signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
        });
        if (!response.ok) error = `HTTP ${response.status}`;
        await response.body?.cancel();
      } catch (err) {
        error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      }
      const now = clock.now();
      if (error === null) {
        store.finishForward(job.id, now, { ok: true });
      } else {
        const attempts = job.attempts + 1;
        const retryAt = attempts >= WEBHOOK_MAX_ATTEMPTS ? null : now + webhookRetryDelay(attempts);
        store.finishForward(job.id, now, { ok: false, error, retryAt });
        if (retryAt === null) {
          store.addEvent(now, 'warn', 'webhook-failed', `转发到 ${job.target} 失败 ${attempts} 次，已放弃：${error}`, `forwarding to ${job.target} failed ${attempts} times, given up: ${error}`, { inboxId: row.id });
        }
      }
    }
  }
}
