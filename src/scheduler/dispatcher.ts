import type { Clock } from '../clock.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../log.js';
import { ModemSendError } from '../modem/errors.js';
import { displayNumber } from '../protocol/numbers.js';
import type { MessageRow, Store } from '../store/store.js';
import { nextAllowed, pruneHistory, type LimitName } from './limits.js';
import { windowState } from './window.js';

/**
 * The dispatch loop: the only code that takes messages out of the outbox and
 * hands them to a modem. One message at a time per modem, all its segments in
 * order; every state change committed before and after the modem is asked.
 *
 * It is written over a list of modems (one HAT today) so that a second modem
 * is a config line later: each step picks the first ready modem.
 */

/** What the dispatcher needs of a modem. */
export interface DispatchModem {
  readonly id: string;
  /** null when the modem can send now; otherwise why not (shown on the status page). */
  notReadyReason(): string | null;
  /** Rejects with ModemSendError; anything else is treated as "may have been sent". */
  send(message: { to: string; text: string; statusReport: boolean }): Promise<{ messageRefs: number[] }>;
  /**
   * Keep the radio link open between consecutive messages (AT+CMMS) while a
   * backlog lasts. Said at every decision; the driver, which alone knows the
   * module's AT+CMMS mode, writes the command only when the mode must change.
   */
  setKeepLinkOpen?(on: boolean): void;
}

export type WaitReason = 'idle' | 'clock-not-set' | 'modem-not-ready' | 'carrier-blocked' | 'window-closed' | 'retry-backoff' | `limit-${LimitName}`;

export const WAIT_TEXT: Record<WaitReason, { zh: string; en: string }> = {
  idle: { zh: '队列已空', en: 'nothing to send' },
  'clock-not-set': { zh: '时间尚未校准（等待网络校时或短信模块的网络时间），暂不发送', en: 'clock not set yet (waiting for NTP or the network time from the modem): holding messages' },
  'modem-not-ready': { zh: '短信模块未就绪', en: 'modem not ready' },
  'carrier-blocked': { zh: '运营商已限制本卡发短信，每小时试发一条，发出即恢复', en: 'the carrier restricted this SIM: one message is tried each hour, sending resumes once one goes through' },
  'window-closed': { zh: '免打扰时段，等待发送时段开始', en: 'quiet hours: waiting for the sending window' },
  'retry-backoff': { zh: '等待重试', en: 'waiting to retry' },
  'limit-minute': { zh: '已达每分钟发送上限', en: 'per-minute limit reached' },
  'limit-hour': { zh: '已达每小时发送上限', en: 'per-hour limit reached' },
  'limit-day': { zh: '已达每天发送上限', en: 'per-day limit reached' },
  'limit-pacing': { zh: '按发送速率间隔发送', en: 'pacing to the hourly rate' },
};

export type StepResult =
  | { kind: 'wait'; reason: WaitReason; until: number | null; detail?: string }
  | { kind: 'sent' | 'retry' | 'failed' | 'uncertain' | 'suppressed' | 'skipped'; messageId: number };

export interface DispatchState {
  waiting: WaitReason | null;
  /** When the next message may go, if known. */
  nextSendAt: number | null;
  detail: string | null;
  /** The message being sent right now. */
  sending: number | null;
}

export interface DispatcherDeps {
  store: Store;
  modems: readonly DispatchModem[];
  clock: Clock;
  config: () => Config;
  log: Logger;
  /** Whether the clock can be trusted for the sending window (a Pi has no RTC). */
  clockTrusted: () => boolean;
  /**
   * The carrier's restriction (src/sim/block.ts): null while sending is allowed;
   * else when the next single message may be tried (the outcome of each send
   * goes to onSendOutcome, which lifts the restriction or sets the next try).
   */
  carrierGate?: () => { probeAt: number } | null;
  /** Every send's outcome, as the dispatcher saw it (the carrier-block detector). */
  onSendOutcome?: (outcome: { ok: true; to: string } | { ok: false; to: string; uncertain: boolean; code: number | null; reason: string }) => void;
  /** Numbers that opted out since the message was accepted are suppressed at the moment of sending. */
  isOptedOut?: (e164: string) => boolean;
  /** Called after every state change of a message (status page, LEDs). */
  onChange?: () => void;
}

interface Prepared {
  message: MessageRow;
  modem: DispatchModem;
  history: number[];
  attemptId: number;
}

const DAY = 86_400_000;
/** The longest sleep: re-evaluate now and then even when nothing wakes us (clock jumps, missed events). */
const MAX_SLEEP_MS = 30_000;

/** Backoff before attempt n+1 after n failed attempts: base × 2^(n-1), at most 30 minutes. */
export function retryDelay(failedAttempts: number, baseMs: number): number {
  return Math.min(baseMs * 2 ** Math.max(0, failedAttempts - 1), 30 * 60_000);
}

export class Dispatcher {
  private readonly histories = new Map<string, number[]>();
  private current: DispatchState = { waiting: null, nextSendAt: null, detail: null, sending: null };
  private running = false;
  private loopDone: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private kicked = false;
  private lastLoggedWait: WaitReason | null = null;
  /** A message already committed as "sending", to be transmitted by the next step. */
  private prepared: Prepared | null = null;

  constructor(private readonly deps: DispatcherDeps) {}

  state(): Readonly<DispatchState> {
    return this.current;
  }

  private history(modemId: string, now: number): number[] {
    let history = this.histories.get(modemId);
    if (!history) history = this.deps.store.sendHistory(modemId, now - DAY);
    history = pruneHistory(history, now);
    this.histories.set(modemId, history);
    return history;
  }

  /** One decision: send at most one message, or say what we wait for and until when. */
  async step(): Promise<StepResult> {
    const ready = this.prepared ?? this.decide();
    this.prepared = null;
    return 'kind' in ready ? ready : this.transmit(ready);
  }

  /**
   * Everything up to the modem, synchronously: checks, the message, and
   * "sending" committed for it. Returns what to transmit, or why not.
   */
  private decide(opts: { forwards: boolean } = { forwards: true }): StepResult | Prepared {
    const { store, clock, config: getConfig } = this.deps;
    const config = getConfig();
    const now = clock.now();

    if (!this.deps.clockTrusted()) return this.waitFor({ kind: 'wait', reason: 'clock-not-set', until: null });

    const modem = this.deps.modems.find((m) => m.notReadyReason() === null);
    if (!modem) {
      const reasons = this.deps.modems.map((m) => m.notReadyReason()).filter((r): r is string => r !== null);
      return this.waitFor({ kind: 'wait', reason: 'modem-not-ready', until: null, detail: reasons.join('; ') || 'no modem' });
    }

    // Restricted by the carrier: one message an hour, until one goes through.
    const gate = this.deps.carrierGate?.() ?? null;
    if (gate && gate.probeAt > now) {
      this.keepLinkOpen(modem, false);
      return this.waitFor({ kind: 'wait', reason: 'carrier-blocked', until: gate.probeAt });
    }

    const window = windowState(now, config.schedule.quietHours, config.schedule.timezone);
    const message = store.nextDue(now, window.open, () => opts.forwards && this.forwardsAllowed(now));
    if (!message) {
      this.keepLinkOpen(modem, false);
      const retryAt = store.nextRetryAt(now);
      if (!window.open && store.hasQueued() && (retryAt === null || (window.nextOpen !== null && window.nextOpen <= retryAt))) {
        return this.waitFor({ kind: 'wait', reason: 'window-closed', until: window.nextOpen });
      }
      if (retryAt !== null) return this.waitFor({ kind: 'wait', reason: 'retry-backoff', until: retryAt });
      return this.waitFor({ kind: 'wait', reason: 'idle', until: null });
    }

    const history = this.history(modem.id, now);
    const limit = nextAllowed(history, message.segments, now, {
      maxPerMinute: config.schedule.maxPerMinute,
      maxPerHour: config.schedule.maxPerHour,
      maxPerDay: config.schedule.maxPerDay,
    });
    if (limit.notBefore > now) return this.waitFor({ kind: 'wait', reason: `limit-${limit.reason!}`, until: limit.notBefore });

    return this.prepare(message, modem, history, now);
  }

  /**
   * The owner's SMS forwards have their own budget ([inbound]
   * forward_max_per_hour), beside the customers' messages, which always go first.
   */
  private forwardsAllowed(now: number): boolean {
    const cap = this.deps.config().inbound.forwardMaxPerHour;
    return cap === 0 || this.deps.store.forwardsSentSince(now - 3_600_000).length < cap;
  }

  private waitFor(result: StepResult & { kind: 'wait' }): StepResult {
    this.current = { waiting: result.reason, nextSendAt: result.until, detail: result.detail ?? null, sending: null };
    if (result.reason !== this.lastLoggedWait) {
      this.lastLoggedWait = result.reason;
      // A modem that is still starting is routine, not something for the shop to read about.
      const routine = result.reason === 'modem-not-ready' && (result.detail === 'starting' || result.detail === 'off');
      if (!routine && (result.reason === 'clock-not-set' || result.reason === 'modem-not-ready')) {
        const text = WAIT_TEXT[result.reason];
        this.event('warn', `dispatch-${result.reason}`, `${text.zh}${result.detail ? `：${result.detail}` : ''}`, `${text.en}${result.detail ? `: ${result.detail}` : ''}`);
      }
    }
    return result;
  }

  private prepare(message: MessageRow, modem: DispatchModem, history: number[], now: number): StepResult | Prepared {
    const { store } = this.deps;
    // The box's own messages (an opt-out confirmation) go to numbers that opted out by design;
    // the owner's answer to a customer does not, should the customer opt out before it goes.
    if ((message.kind === 'wdgj' || message.kind === 'answer') && this.deps.isOptedOut?.(message.to)) {
      store.suppress(message.id, null, now, 'opted out');
      this.changed();
      return { kind: 'suppressed', messageId: message.id };
    }
    const attemptId = store.beginAttempt(message.id, modem.id, now);
    if (attemptId === null) return { kind: 'skipped', messageId: message.id };
    // A backlog behind this message: keep the radio link up between them.
    this.keepLinkOpen(modem, store.hasQueued());
    return { message, modem, history, attemptId };
  }

  private async transmit({ message, modem, history, attemptId }: Prepared): Promise<StepResult> {
    const { store, clock } = this.deps;
    const config = this.deps.config();
    this.current = { waiting: null, nextSendAt: null, detail: null, sending: message.id };
    this.lastLoggedWait = null;
    this.changed();

    let outcome: StepResult['kind'] = 'sent';
    let sent: { messageRefs: number[] } | null = null;
    try {
      sent = await modem.send({ to: message.to, text: message.body, statusReport: config.dispatch.statusReports });
    } catch (err) {
      const done = clock.now();
      const failure =
        err instanceof ModemSendError
          ? err
          : new ModemSendError({ retryable: false, uncertain: true, reason: `unexpected error: ${String(err)}`, segmentsSent: 0 });
      if (failure.segmentsSent > 0) for (let i = 0; i < failure.segmentsSent; i++) history.push(done);
      const who = displayNumber(message.to);
      this.reportOutcome({ ok: false, to: message.to, uncertain: failure.uncertain, code: failure.code, reason: failure.reason });
      // Under a carrier block (already on, or set by this very failure) a refusal is the SIM's,
      // not the message's: it waits for the block to lift without spending its attempts,
      // else the hourly probe would fail one customer's message after another.
      const carrierBlocked = !failure.uncertain && failure.segmentsSent === 0 && (this.deps.carrierGate?.() ?? null) !== null;
      if (carrierBlocked) {
        store.finishRetry(message.id, attemptId, done, done, `carrier block: ${failure.reason}`, 0, false);
        outcome = 'retry';
      } else if (failure.uncertain) {
        store.finishUncertain(message.id, attemptId, done, failure.reason, failure.segmentsSent);
        this.event('warn', 'send-uncertain',
          `发给 ${who} 的短信（#${message.id}）不确定是否已发出：${failure.reason}。为避免重复，不会自动重发，请在管理页面选择“重发”或“标记失败”。`,
          `message #${message.id} to ${who} may or may not have been sent: ${failure.reason}. Not resent automatically, to avoid a duplicate: choose resend or mark failed.`,
          { messageId: message.id });
        outcome = 'uncertain';
      } else if (!failure.retryable || message.attempts + 1 >= config.dispatch.maxAttempts) {
        const reason = failure.retryable ? `gave up after ${message.attempts + 1} attempts: ${failure.reason}` : failure.reason;
        store.finishFailed(message.id, attemptId, done, reason, failure.segmentsSent);
        this.event('warn', 'send-failed', `发给 ${who} 的短信（#${message.id}）发送失败，已退款：${reason}`, `message #${message.id} to ${who} failed and was refunded: ${reason}`, {
          messageId: message.id,
          code: failure.code,
        });
        outcome = 'failed';
      } else {
        const nextAt = done + retryDelay(message.attempts + 1, config.dispatch.retryBaseSeconds * 1000);
        store.finishRetry(message.id, attemptId, done, nextAt, failure.reason, failure.segmentsSent);
        outcome = 'retry';
      }
    }
    if (sent) {
      const done = clock.now();
      for (let i = 0; i < message.segments; i++) history.push(done);
      // Before the next message is chosen: a probe that went through lifts a carrier block.
      this.reportOutcome({ ok: true, to: message.to });
      // "sent" for this message and "sending" for the next in one commit: one disk
      // flush instead of two between segments keeps a backlog at the modem's pace.
      try {
        const next = store.transaction(() => {
          store.finishSent(message.id, attemptId, done, message.to, sent!.messageRefs);
          // Not a forward ahead of time: a customer's message may still arrive before it goes.
          return this.decide({ forwards: false });
        });
        if (!('kind' in next)) this.prepared = next;
      } catch (err) {
        this.deps.log.error('choosing the next message failed', { error: String(err) });
        store.finishSent(message.id, attemptId, done, message.to, sent.messageRefs);
      }
      outcome = 'sent';
    }
    if (!this.prepared) this.current = { ...this.current, sending: null };
    this.changed();
    return { kind: outcome, messageId: message.id };
  }

  private reportOutcome(outcome: Parameters<NonNullable<DispatcherDeps['onSendOutcome']>>[0]): void {
    try {
      this.deps.onSendOutcome?.(outcome);
    } catch (err) {
      this.deps.log.error('send outcome listener failed', { error: String(err) });
    }
  }

  private keepLinkOpen(modem: DispatchModem, on: boolean): void {
    modem.setKeepLinkOpen?.(on);
  }

  private changed(): void {
    try {
      this.deps.onChange?.();
    } catch (err) {
      this.deps.log.error('dispatch change listener failed', { error: String(err) });
    }
  }

  private event(level: 'info' | 'warn' | 'error', kind: string, zh: string, en: string, data?: unknown): void {
    this.deps.store.addEvent(this.deps.clock.now(), level, kind, zh, en, data);
  }

  /** A new message, an open window or a modem that became ready: decide again now. */
  kick(): void {
    this.kicked = true;
    this.wake?.();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loopDone = this.loop();
  }

  /** Stops after the message being sent (if any) has its outcome committed. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loopDone;
    // Committed as "sending" but never given to the modem: back to the queue, no trace.
    if (this.prepared) {
      this.deps.store.cancelAttempt(this.prepared.message.id, this.prepared.attemptId);
      this.prepared = null;
    }
  }

  private async loop(): Promise<void> {
    while (this.running) {
      this.kicked = false;
      let result: StepResult;
      try {
        result = await this.step();
      } catch (err) {
        // The store failing: say so and try again shortly rather than die.
        this.deps.log.error('dispatch step failed', { error: String(err) });
        result = { kind: 'wait', reason: 'idle', until: this.deps.clock.now() + 5_000 };
      }
      if (result.kind !== 'wait' || this.kicked || !this.running) continue;
      const delay = result.until === null ? MAX_SLEEP_MS : Math.min(MAX_SLEEP_MS, Math.max(0, result.until - this.deps.clock.now()));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, delay);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.wake = done;
      });
      this.wake = null;
    }
  }
}
