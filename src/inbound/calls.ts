import type { Clock } from '../clock.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../log.js';
import { planSegments } from '../modem/pdu/index.js';
import type { EventReport } from '../notify/notifier.js';
import { displayNumber, normalizeNumber } from '../protocol/numbers.js';
import { startOfLocalDay } from '../scheduler/tz.js';
import type { Store } from '../store/store.js';

/** A call the modem driver hung up (its `call` event). */
export interface HungUpCall {
  from: string | null;
  at: number;
  hungUp: boolean;
}

/**
 * Incoming calls (issue 17 item 5). Customers call back the number their
 * notice came from; the driver hangs up at once, and here the call becomes
 * an inbox entry of kind `call`, an event for the events log, a `call`
 * notification to the owner's channels and, when `[calls] reply_sms` is set,
 * one SMS back to that number a day (the box's own message: uncharged, sent
 * inside the sending window like an opt-out confirmation). A call is never an
 * opt-out, a customer reply or a forward: its inbox row is born processed.
 */
export class CallRecorder {
  constructor(
    private readonly deps: {
      store: Store;
      clock: Clock;
      config: () => Config;
      log: Logger;
      /** A reply SMS was queued. */
      onQueued?: () => void;
      /** Tells the owner's channels, after the row is committed. */
      notify?: (kind: 'call', report: EventReport) => void;
    },
  ) {}

  /** Commits the call; never throws (a full disk is logged, the box runs on). Returns the inbox id, or null. */
  record(call: HungUpCall, modem: string | null = null): number | null {
    const { store, clock } = this.deps;
    const config = this.deps.config();
    const now = clock.now();
    const mobile = call.from === null ? null : normalizeNumber(call.from, true);
    const who = call.from === null ? null : displayNumber(mobile ?? call.from);
    let inboxId: number;
    try {
      inboxId = store.addCall(mobile ?? call.from ?? '', call.at, call.hungUp, modem);
      if (mobile && modem !== null) store.noteContact(mobile, modem, now);
      const zh = who ? `${who} 来电，已自动挂断` : '有来电（未显示号码），已自动挂断';
      const en = who ? `call from ${who}, hung up` : 'a call (number withheld), hung up';
      store.addEvent(now, 'info', 'call', zh, en, { inboxId, number: mobile ?? call.from, ...(modem !== null ? { modem } : {}) });
      this.maybeReply(mobile, now, config);
    } catch (err) {
      this.deps.log.error('recording a call failed', { from: call.from, error: String(err) });
      return null;
    }
    try {
      this.deps.notify?.('call', {
        zh: who ? `${who} 来电（已自动挂断）` : '有来电（未显示号码，已自动挂断）',
        en: who ? `Call from ${who} (hung up)` : 'A call, number withheld (hung up)',
        data: { from: mobile ?? call.from, inbox_id: inboxId },
        at: call.at,
      });
    } catch (err) {
      this.deps.log.warn('call notification failed', { error: String(err) });
    }
    return inboxId;
  }

  /** `[calls] reply_sms`, to a mobile number that has not had one today (in the box's timezone) and has not opted out. */
  private maybeReply(mobile: string | null, now: number, config: Config): void {
    const text = config.calls.replySms;
    if (!text || mobile === null) return;
    const { store } = this.deps;
    if (store.isOptedOut(mobile)) return;
    if (store.systemMessageSince('call-reply', mobile, startOfLocalDay(now, config.schedule.timezone))) return;
    const plan = planSegments(text);
    store.queueSystemMessage('call-reply', mobile, text, plan.parts.length, plan.encoding, now);
    this.deps.onQueued?.();
  }
}
