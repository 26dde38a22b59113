import type { Clock } from '../clock.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../log.js';
import { ModemSendError } from '../modem/errors.js';
import { displayNumber } from '../protocol/numbers.js';
import type { MessageRow, Store } from '../store/store.js';
import { nextAllowed, pruneHistory, type LimitName, type Limits } from './limits.js';
import { windowState } from './window.js';

/**
 * The dispatch loop: the only code that takes messages out of the outbox and
 * hands them to a modem. One message at a time per modem, all its segments in
 * order; every state change committed before and after the modem is asked.
 *
 * A pool of SIMs (issue 19): each modem has its own lane, which sends one
 * message at a time under that SIM's own limits, side by side with the other
 * lanes. Which lane sends a message:
 * - the SIM its number last talked to (sticky: the customer's replies come
 *   back to the number they know), while that SIM can send today (ready, not
 *   blocked by the carrier, day budget left); the message waits for it through
 *   its per-minute and per-hour limits;
 * - otherwise (a new number, or its SIM faulted or spent for the day) the SIM
 *   with the most day budget left among those that can send it now.
 * A modem's fault stops only its lane: its sticky messages go to the others.
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
  /** This SIM's own limits; `[schedule]`'s when absent. */
  limits?(): Limits;
  /** The carrier's restriction on this SIM; the dispatcher's carrierGate when absent. */
  carrierGate?(): { probeAt: number } | null;
  /** Every send's outcome on this SIM; the dispatcher's onSendOutcome when absent. */
  onSendOutcome?(outcome: SendOutcomeReport): void;
}

export type SendOutcomeReport = { ok: true; to: string } | { ok: false; to: string; uncertain: boolean; code: number | null; reason: string };

export type WaitReason = 'idle' | 'clock-not-set' | 'modem-not-ready' | 'carrier-blocked' | 'window-closed' | 'retry-backoff' | 'other-sims' | `limit-${LimitName}`;

export const WAIT_TEXT: Record<WaitReason, { zh: string; en: string }> = {
  idle: { zh: '队列已空', en: 'nothing to send' },
  'clock-not-set': { zh: '时间尚未校准（等待网络校时或短信模块的网络时间），暂不发送', en: 'clock not set yet (waiting for NTP or the network time from the modem): holding messages' },
  'modem-not-ready': { zh: '短信模块未就绪', en: 'modem not ready' },
  'carrier-blocked': { zh: '运营商已限制本卡发短信，每小时试发一条，发出即恢复', en: 'the carrier restricted this SIM: one message is tried each hour, sending resumes once one goes through' },
  'window-closed': { zh: '免打扰时段，等待发送时段开始', en: 'quiet hours: waiting for the sending window' },
  'retry-backoff': { zh: '等待重试', en: 'waiting to retry' },
  'other-sims': { zh: '排队的短信由其他 SIM 卡发送（客户熟悉的号码，或额度更多的卡）', en: 'the queued messages go from the other SIMs (the number their customers know, or more budget left)' },
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
  /** The pool, in config order (the first is the box's first modem). */
  modems: readonly DispatchModem[];
  clock: Clock;
  config: () => Config;
  log: Logger;
  /** Whether the clock can be trusted for the sending window (a Pi has no RTC). */
  clockTrusted: () => boolean;
  /**
   * The carrier's restriction (src/sim/block.ts) on a modem without its own:
   * null while sending is allowed; else when the next single message may be
   * tried (the outcome of each send goes to onSendOutcome, which lifts the
   * restriction or sets the next try).
   */
  carrierGate?: () => { probeAt: number } | null;
  /** Every send's outcome, as the dispatcher saw it (the carrier-block detector), for a modem without its own. */
  onSendOutcome?: (outcome: SendOutcomeReport) => void;
  /** Numbers that opted out since the message was accepted are suppressed at the moment of sending. */
  isOptedOut?: (e164: string) => boolean;
  /** Called after every state change of a message (status page, LEDs). */
  onChange?: () => void;
}

/** One modem's lane: its loop, its send history (the limits' memory) and what it does now. */
interface Lane {
  readonly modem: DispatchModem;
  history: number[] | null;
  state: DispatchState;
  /** A message already committed as "sending", to be transmitted by the lane's next step. */
  prepared: Prepared | null;
  /** Between "sending" committed and the outcome committed. */
  transmitting: boolean;
  lastLoggedWait: WaitReason | null;
  wake: (() => void) | null;
  kicked: boolean;
  loopDone: Promise<void> | null;
}

interface Prepared {
  message: MessageRow;
  lane: Lane;
  history: number[];
  attemptId: number;
}

const DAY = 86_400_000;
/** The longest sleep: re-evaluate now and then even when nothing wakes us (clock jumps, missed events). */
const MAX_SLEEP_MS = 30_000;
/** How far down the queue a lane of a pool looks for a message that is its to send. */
const POOL_LOOKAHEAD = 64;

/** Backoff before attempt n+1 after n failed attempts: base × 2^(n-1), at most 30 minutes. */
export function retryDelay(failedAttempts: number, baseMs: number): number {
  return Math.min(baseMs * 2 ** Math.max(0, failedAttempts - 1), 30 * 60_000);
}

/** The order in which a pool's lanes speak for the whole queue: a lane at work first, then why the others wait. */
const WAIT_PRIORITY: readonly (WaitReason | null)[] = [null, 'window-closed', 'clock-not-set', 'retry-backoff', 'limit-pacing', 'limit-minute', 'limit-hour', 'limit-day', 'carrier-blocked', 'idle', 'other-sims', 'modem-not-ready'];

export class Dispatcher {
  private readonly lanes: Lane[];
  private running = false;

  constructor(private readonly deps: DispatcherDeps) {
    this.lanes = deps.modems.map((modem) => ({
      modem,
      history: null,
      state: { waiting: null, nextSendAt: null, detail: null, sending: null },
      prepared: null,
      transmitting: false,
      lastLoggedWait: null,
      wake: null,
      kicked: false,
      loopDone: null,
    }));
  }

  /**
   * The queue as the status page shows it: a message being sent on any SIM,
   * else the most telling reason any lane waits (quiet hours before a limit,
   * a limit before "the other SIMs send these").
   */
  state(): Readonly<DispatchState> {
    if (this.lanes.length === 1) return this.lanes[0]!.state;
    const sending = this.lanes.find((l) => l.state.sending !== null);
    if (sending) return { waiting: null, nextSendAt: null, detail: null, sending: sending.state.sending };
    const rank = (l: Lane) => WAIT_PRIORITY.indexOf(l.state.waiting);
    const telling = [...this.lanes].sort((a, b) => rank(a) - rank(b))[0]!;
    const untils = this.lanes.map((l) => l.state.nextSendAt).filter((t): t is number => t !== null);
    const notReady = this.lanes.every((l) => l.state.waiting === 'modem-not-ready');
    return {
      waiting: telling.state.waiting,
      nextSendAt: untils.length > 0 ? Math.min(...untils) : null,
      detail: notReady ? this.lanes.map((l) => `${l.modem.id}: ${l.state.detail ?? ''}`).join('; ') : telling.state.detail,
      sending: null,
    };
  }

  /** Each SIM's lane: what it sends or waits for (the status page's card per SIM). */
  laneStates(): { modem: string; state: Readonly<DispatchState> }[] {
    return this.lanes.map((l) => ({ modem: l.modem.id, state: l.state }));
  }

  /** One SIM's limits, what they count (segments in the last hour and 24 h) and its lane's state. */
  usage(modemId: string): { limits: Limits; segmentsLastHour: number; segmentsLastDay: number; lane: DispatchState } | null {
    const lane = this.lanes.find((l) => l.modem.id === modemId);
    if (!lane) return null;
    const now = this.deps.clock.now();
    const history = this.history(lane, now);
    return {
      limits: this.limits(lane),
      segmentsLastHour: history.filter((at) => at > now - 3_600_000).length,
      segmentsLastDay: history.length,
      lane: lane.state,
    };
  }

  private history(lane: Lane, now: number): number[] {
    const history = pruneHistory(lane.history ?? this.deps.store.sendHistory(lane.modem.id, now - DAY), now);
    lane.history = history;
    return history;
  }

  private limits(lane: Lane): Limits {
    const own = lane.modem.limits?.();
    if (own) return own;
    const { schedule } = this.deps.config();
    return { maxPerMinute: schedule.maxPerMinute, maxPerHour: schedule.maxPerHour, maxPerDay: schedule.maxPerDay };
  }

  private gate(lane: Lane): { probeAt: number } | null {
    return (lane.modem.carrierGate ? lane.modem.carrierGate() : this.deps.carrierGate?.()) ?? null;
  }

  /** Segments left in the SIM's last-24-hours budget; Infinity without a day cap. */
  private dayBudgetLeft(lane: Lane, now: number): number {
    const { maxPerDay } = this.limits(lane);
    return maxPerDay > 0 ? maxPerDay - this.history(lane, now).length : Number.POSITIVE_INFINITY;
  }

  /** The SIM can send this message today: ready, not restricted by the carrier, day budget left for it. */
  private canSendToday(lane: Lane, message: MessageRow, now: number): boolean {
    if (lane.modem.notReadyReason() !== null) return false;
    const gate = this.gate(lane);
    if (gate && gate.probeAt > now) return false;
    const { maxPerDay } = this.limits(lane);
    return nextAllowed(this.history(lane, now), message.segments, now, { maxPerMinute: 0, maxPerHour: 0, maxPerDay }).notBefore <= now;
  }

  /** The SIM can send this message this very moment (idle, and its limits allow it now). */
  private canSendNow(lane: Lane, message: MessageRow, now: number, deciding: Lane): boolean {
    if (lane !== deciding && (lane.transmitting || lane.prepared)) return false;
    if (!this.canSendToday(lane, message, now)) return false;
    return nextAllowed(this.history(lane, now), message.segments, now, this.limits(lane)).notBefore <= now;
  }

  /**
   * Which lane sends this message: its sticky SIM while that one can send
   * today, else the one with the most day budget left among those that can
   * send it now (fewest sent in 24 h, then config order, on a tie); null
   * when none can now.
   */
  private ownerOf(message: MessageRow, now: number, deciding: Lane): { lane: Lane | null; sticky: boolean } {
    const sticky = this.deps.store.stickyModem(message.to);
    const stickyLane = sticky === null ? undefined : this.lanes.find((l) => l.modem.id === sticky);
    if (stickyLane && this.canSendToday(stickyLane, message, now)) return { lane: stickyLane, sticky: true };
    let best: Lane | null = null;
    for (const lane of this.lanes) {
      if (!this.canSendNow(lane, message, now, deciding)) continue;
      if (best === null) {
        best = lane;
        continue;
      }
      const left = this.dayBudgetLeft(lane, now);
      const bestLeft = this.dayBudgetLeft(best, now);
      if (left > bestLeft || (left === bestLeft && this.history(lane, now).length < this.history(best, now).length)) best = lane;
    }
    return { lane: best, sticky: false };
  }

  /** One decision of the first modem's lane: send at most one message, or say what it waits for and until when. */
  async step(): Promise<StepResult> {
    return this.laneStep(this.lanes[0]!);
  }

  /** One decision of the named modem's lane (tests drive a pool lane by lane). */
  async stepModem(modemId: string): Promise<StepResult> {
    const lane = this.lanes.find((l) => l.modem.id === modemId);
    if (!lane) throw new RangeError(`no modem named ${modemId}`);
    return this.laneStep(lane);
  }

  private async laneStep(lane: Lane): Promise<StepResult> {
    const ready = lane.prepared ?? this.decide(lane);
    lane.prepared = null;
    return 'kind' in ready ? ready : this.transmit(ready);
  }

  /**
   * Everything up to the modem, synchronously: checks, the message, and
   * "sending" committed for it. Returns what to transmit, or why not.
   */
  private decide(lane: Lane, opts: { forwards: boolean } = { forwards: true }): StepResult | Prepared {
    const { store, clock, config: getConfig } = this.deps;
    const config = getConfig();
    const now = clock.now();
    const modem = lane.modem;

    if (!this.deps.clockTrusted()) return this.waitFor(lane, { kind: 'wait', reason: 'clock-not-set', until: null });

    const notReady = modem.notReadyReason();
    if (notReady !== null) return this.waitFor(lane, { kind: 'wait', reason: 'modem-not-ready', until: null, detail: notReady });

    // Restricted by the carrier: one message an hour, until one goes through.
    const gate = this.gate(lane);
    if (gate && gate.probeAt > now) {
      this.keepLinkOpen(modem, false);
      return this.waitFor(lane, { kind: 'wait', reason: 'carrier-blocked', until: gate.probeAt });
    }

    const window = windowState(now, config.schedule.quietHours, config.schedule.timezone);
    const candidates = store.dueIds(now, window.open, () => opts.forwards && this.forwardsAllowed(now), this.lanes.length === 1 ? 1 : POOL_LOOKAHEAD);
    if (candidates.length === 0) {
      this.keepLinkOpen(modem, false);
      const retryAt = store.nextRetryAt(now);
      if (!window.open && store.hasQueued() && (retryAt === null || (window.nextOpen !== null && window.nextOpen <= retryAt))) {
        return this.waitFor(lane, { kind: 'wait', reason: 'window-closed', until: window.nextOpen });
      }
      if (retryAt !== null) return this.waitFor(lane, { kind: 'wait', reason: 'retry-backoff', until: retryAt });
      return this.waitFor(lane, { kind: 'wait', reason: 'idle', until: null });
    }

    const history = this.history(lane, now);
    const limits = this.limits(lane);
    if (this.lanes.length === 1) {
      const message = store.dueMessage(candidates[0]!);
      if (!message) return { kind: 'skipped', messageId: candidates[0]! };
      const limit = nextAllowed(history, message.segments, now, limits);
      if (limit.notBefore > now) return this.waitFor(lane, { kind: 'wait', reason: `limit-${limit.reason!}`, until: limit.notBefore });
      return this.prepare(message, lane, history, now);
    }

    let held: { notBefore: number; reason: LimitName } | null = null;
    for (const id of candidates) {
      // Loaded one by one: the first is nearly always this lane's to send.
      const message = store.dueMessage(id);
      if (!message) continue;
      const { lane: owner, sticky } = this.ownerOf(message, now, lane);
      if (owner === lane) {
        const limit = nextAllowed(history, message.segments, now, limits);
        if (limit.notBefore <= now) return this.prepare(message, lane, history, now);
        // Its customer's SIM is this one, and its limits hold it: it waits here.
        if (!held || limit.notBefore < held.notBefore) held = { notBefore: limit.notBefore, reason: limit.reason! };
        continue;
      }
      if (!sticky && this.canSendToday(lane, message, now)) {
        // This SIM could take it but for its own limits: say so (another SIM may send it first).
        const limit = nextAllowed(history, message.segments, now, limits);
        if (limit.notBefore > now && (!held || limit.notBefore < held.notBefore)) held = { notBefore: limit.notBefore, reason: limit.reason! };
      }
      if (owner !== null && owner.wake !== null && this.canSendNow(owner, message, now, lane)) {
        // Another SIM sends it now: a sleeping lane must hear that it has work.
        this.kickLane(owner);
      }
    }
    this.keepLinkOpen(modem, false);
    if (held) return this.waitFor(lane, { kind: 'wait', reason: `limit-${held.reason}`, until: held.notBefore });
    return this.waitFor(lane, { kind: 'wait', reason: 'other-sims', until: null });
  }

  /**
   * The owner's SMS forwards have their own budget ([inbound]
   * forward_max_per_hour), beside the customers' messages, which always go first.
   */
  private forwardsAllowed(now: number): boolean {
    const cap = this.deps.config().inbound.forwardMaxPerHour;
    return cap === 0 || this.deps.store.forwardsSentSince(now - 3_600_000).length < cap;
  }

  private waitFor(lane: Lane, result: StepResult & { kind: 'wait' }): StepResult {
    lane.state = { waiting: result.reason, nextSendAt: result.until, detail: result.detail ?? null, sending: null };
    if (result.reason !== lane.lastLoggedWait) {
      lane.lastLoggedWait = result.reason;
      // A modem that is still starting is routine, not something for the shop to read about.
      const routine = result.reason === 'modem-not-ready' && (result.detail === 'starting' || result.detail === 'off');
      if (!routine && (result.reason === 'clock-not-set' || result.reason === 'modem-not-ready')) {
        const text = WAIT_TEXT[result.reason];
        const who = this.lanes.length > 1 && result.reason === 'modem-not-ready' ? `[${lane.modem.id}] ` : '';
        this.event('warn', `dispatch-${result.reason}`, `${who}${text.zh}${result.detail ? `：${result.detail}` : ''}`, `${who}${text.en}${result.detail ? `: ${result.detail}` : ''}`,
          this.lanes.length > 1 ? { modem: lane.modem.id } : undefined);
      }
    }
    return result;
  }

  private prepare(message: MessageRow, lane: Lane, history: number[], now: number): StepResult | Prepared {
    const { store } = this.deps;
    // The box's own messages (an opt-out confirmation) go to numbers that opted out by design;
    // the owner's answer to a customer does not, should the customer opt out before it goes.
    if ((message.kind === 'wdgj' || message.kind === 'answer') && this.deps.isOptedOut?.(message.to)) {
      store.suppress(message.id, null, now, 'opted out');
      this.changed();
      return { kind: 'suppressed', messageId: message.id };
    }
    const attemptId = store.beginAttempt(message.id, lane.modem.id, now);
    if (attemptId === null) return { kind: 'skipped', messageId: message.id };
    // A backlog behind this message: keep the radio link up between them.
    this.keepLinkOpen(lane.modem, store.hasQueued());
    return { message, lane, history, attemptId };
  }

  private async transmit({ message, lane, history, attemptId }: Prepared): Promise<StepResult> {
    const { store, clock } = this.deps;
    const modem = lane.modem;
    const config = this.deps.config();
    lane.state = { waiting: null, nextSendAt: null, detail: null, sending: message.id };
    lane.lastLoggedWait = null;
    lane.transmitting = true;
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
      const via = this.lanes.length > 1 ? { zh: `（${modem.id}）`, en: ` (${modem.id})` } : { zh: '', en: '' };
      this.reportOutcome(lane, { ok: false, to: message.to, uncertain: failure.uncertain, code: failure.code, reason: failure.reason });
      // Under a carrier block (already on, or set by this very failure) a refusal is the SIM's,
      // not the message's: it waits for the block to lift without spending its attempts,
      // else the hourly probe would fail one customer's message after another.
      const carrierBlocked = !failure.uncertain && failure.segmentsSent === 0 && this.gate(lane) !== null;
      if (carrierBlocked) {
        store.finishRetry(message.id, attemptId, done, done, `carrier block: ${failure.reason}`, 0, false);
        outcome = 'retry';
      } else if (failure.uncertain) {
        store.finishUncertain(message.id, attemptId, done, failure.reason, failure.segmentsSent);
        this.event('warn', 'send-uncertain',
          `发给 ${who} 的短信（#${message.id}）${via.zh}不确定是否已发出：${failure.reason}。为避免重复，不会自动重发，请在管理页面选择“重发”或“标记失败”。`,
          `message #${message.id} to ${who}${via.en} may or may not have been sent: ${failure.reason}. Not resent automatically, to avoid a duplicate: choose resend or mark failed.`,
          { messageId: message.id, modem: modem.id });
        outcome = 'uncertain';
      } else if (!failure.retryable || message.attempts + 1 >= config.dispatch.maxAttempts) {
        const reason = failure.retryable ? `gave up after ${message.attempts + 1} attempts: ${failure.reason}` : failure.reason;
        store.finishFailed(message.id, attemptId, done, reason, failure.segmentsSent);
        this.event('warn', 'send-failed', `发给 ${who} 的短信（#${message.id}）${via.zh}发送失败，已退款：${reason}`, `message #${message.id} to ${who}${via.en} failed and was refunded: ${reason}`, {
          messageId: message.id,
          code: failure.code,
          modem: modem.id,
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
      this.reportOutcome(lane, { ok: true, to: message.to });
      // "sent" for this message and "sending" for the next in one commit: one disk
      // flush instead of two between segments keeps a backlog at the modem's pace.
      try {
        const next = store.transaction(() => {
          store.finishSent(message.id, attemptId, done, message.to, sent!.messageRefs);
          // Not a forward ahead of time: a customer's message may still arrive before it goes.
          return this.decide(lane, { forwards: false });
        });
        if (!('kind' in next)) lane.prepared = next;
      } catch (err) {
        this.deps.log.error('choosing the next message failed', { error: String(err) });
        store.finishSent(message.id, attemptId, done, message.to, sent.messageRefs);
      }
      outcome = 'sent';
    }
    lane.transmitting = false;
    if (!lane.prepared) lane.state = { ...lane.state, sending: null };
    // The other SIMs' choices depended on this one being busy and on its budget.
    if (this.lanes.length > 1) for (const other of this.lanes) if (other !== lane) this.kickLane(other);
    this.changed();
    return { kind: outcome, messageId: message.id };
  }

  private reportOutcome(lane: Lane, outcome: SendOutcomeReport): void {
    try {
      if (lane.modem.onSendOutcome) lane.modem.onSendOutcome(outcome);
      else this.deps.onSendOutcome?.(outcome);
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

  /** A new message, an open window or a modem that became ready: every lane decides again now. */
  kick(): void {
    for (const lane of this.lanes) this.kickLane(lane);
  }

  private kickLane(lane: Lane): void {
    lane.kicked = true;
    lane.wake?.();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    for (const lane of this.lanes) lane.loopDone = this.loop(lane);
  }

  /** Stops after the messages being sent (if any) have their outcomes committed. */
  async stop(): Promise<void> {
    this.running = false;
    for (const lane of this.lanes) lane.wake?.();
    await Promise.all(this.lanes.map((l) => l.loopDone));
    // Committed as "sending" but never given to the modem: back to the queue, no trace.
    for (const lane of this.lanes) {
      if (!lane.prepared) continue;
      this.deps.store.cancelAttempt(lane.prepared.message.id, lane.prepared.attemptId);
      lane.prepared = null;
    }
  }

  private async loop(lane: Lane): Promise<void> {
    while (this.running) {
      lane.kicked = false;
      let result: StepResult;
      try {
        result = await this.laneStep(lane);
      } catch (err) {
        // The store failing: say so and try again shortly rather than die.
        this.deps.log.error('dispatch step failed', { modem: lane.modem.id, error: String(err) });
        result = { kind: 'wait', reason: 'idle', until: this.deps.clock.now() + 5_000 };
      }
      if (result.kind !== 'wait' || lane.kicked || !this.running) continue;
      const delay = result.until === null ? MAX_SLEEP_MS : Math.min(MAX_SLEEP_MS, Math.max(0, result.until - this.deps.clock.now()));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, delay);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        lane.wake = done;
      });
      lane.wake = null;
    }
  }
}
