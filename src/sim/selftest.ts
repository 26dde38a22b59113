import { randomBytes } from 'node:crypto';
import { unrefTimers, type Clock, type Timers } from '../clock.js';
import { displayNumber, normalizeNumber } from '../protocol/numbers.js';
import type { SelftestRow, SimStore } from '../store/sim.js';

/**
 * The self-test (issue 17 item 2): the box sends an SMS to its own number
 * through its outbox, uncharged, and waits for it to come back.
 *
 * - One run at a time: starting while one runs answers with that one.
 * - The SMS carries SELFTEST_TAG and a token; the inbound processor hands every
 *   received message to claim() first, and a message from the box's own number
 *   with the tag is the self-test's, never a customer's (no opt-out, no forward,
 *   marked `selftest` in the inbox).
 * - Bounded: SELFTEST_TIMEOUT_MS after the start the run fails, saying how far
 *   the SMS got (still queued and why, refused by the network, sent but never back).
 * - A run that was under way when the box stopped is failed at the next start.
 *
 * Steps: `own-number` (finding the number), `sending` (in the outbox),
 * `waiting-reply` (the network took it), `done`.
 */

export const SELFTEST_TAG = '[smsbox 自检]';
/** Three minutes: an SMS to oneself takes seconds; a network that is slower than this is itself a finding. */
export const SELFTEST_TIMEOUT_MS = 180_000;
/** How often a run looks at its SMS in the outbox (a refusal ends it early). */
const CHECK_EVERY_MS = 5_000;

export interface SelftestMessageState {
  /** The outbox status: queued, sending, sent, delivered, failed, uncertain, suppressed. */
  status: string;
  error: string | null;
}

export interface SelftestDeps {
  store: SimStore;
  clock: Clock;
  timers?: Timers;
  /** The box's own number: the SIM's (AT+CNUM), else `[modem] own_number`; null when neither knows it. */
  ownNumber: () => string | null;
  /** Queues the self-test SMS (uncharged, kind `selftest`); returns the outbox id. */
  queue: (to: string, text: string) => number;
  /** The SMS's state in the outbox. */
  messageState: (outboxId: number) => SelftestMessageState | null;
  /** Why the dispatcher is not sending right now (zh, en), for a run that timed out with its SMS still queued. */
  waitingReason?: () => { zh: string; en: string } | null;
  /** A run ended (the notifier's `selftest` event, the events log). */
  onFinished?: (run: SelftestRow) => void;
  timeoutMs?: number;
}

export class Selftest {
  private timer: unknown = null;

  constructor(private readonly deps: SelftestDeps) {}

  private get timers(): Timers {
    return this.deps.timers ?? unrefTimers;
  }

  /** At start-up: a run the box was doing when it stopped cannot finish any more. */
  recover(): void {
    const now = this.deps.clock.now();
    for (const run of this.deps.store.runningSelftests()) {
      this.finish(run, 'failed', run.step, '自检进行中时本机重启，自检已中断，请重新开始自检', 'the box restarted while the self-test ran; it was abandoned: start it again', now);
    }
  }

  latest(): SelftestRow | null {
    return this.deps.store.latestSelftest();
  }

  /** Starts a run, or answers with the one under way. */
  start(): { run: SelftestRow; started: boolean } {
    const running = this.deps.store.runningSelftests()[0];
    if (running) return { run: running, started: false };
    const now = this.deps.clock.now();
    const token = randomBytes(4).toString('hex');
    const raw = this.deps.ownNumber();
    const own = raw ? (normalizeNumber(raw, true) ?? raw.trim()) : null;
    const run = this.deps.store.startSelftest(token, own, 'own-number', now);
    if (!own) {
      this.finish(run, 'failed', 'own-number',
        '不知道本机号码：SIM 卡没有存本机号码（AT+CNUM 无结果），请在设置中填写 [modem] own_number 后再自检',
        'the box does not know its own number: the SIM does not hold it (AT+CNUM gave none); set [modem] own_number and run the self-test again', now);
      return { run: this.deps.store.selftest(run.id)!, started: true };
    }
    try {
      this.deps.store.transaction(() => {
        const outboxId = this.deps.queue(own, `${SELFTEST_TAG} ${token}`);
        this.deps.store.updateSelftest(run.id, { step: 'sending', outboxId });
      });
    } catch (err) {
      this.finish(run, 'failed', 'sending', `自检短信无法排队：${String(err)}`, `the self-test SMS could not be queued: ${String(err)}`, now);
      return { run: this.deps.store.selftest(run.id)!, started: true };
    }
    this.schedule();
    return { run: this.deps.store.selftest(run.id)!, started: true };
  }

  /**
   * A received message: true when it is the self-test's (then it is no
   * customer's). Ends the run when it carries the running run's token.
   */
  claim(from: string, text: string, inboxId: number): boolean {
    if (!text.includes(SELFTEST_TAG)) return false;
    const sender = normalizeNumber(from, true) ?? from.trim();
    const running = this.deps.store.runningSelftests();
    const own = this.deps.ownNumber();
    const fromOwn = own !== null && (normalizeNumber(own, true) ?? own.trim()) === sender;
    const match = running.find((r) => text.includes(r.token));
    if (!match) return fromOwn || this.fromAnyRun(sender);
    const now = this.deps.clock.now();
    this.deps.store.updateSelftest(match.id, { inboxId });
    const seconds = Math.round((now - match.startedAt) / 1000);
    this.finish(match, 'ok', 'done',
      `自检成功：本机发给自己（${displayNumber(sender)}）的短信 ${seconds} 秒后收到，收发正常`,
      `self-test passed: the SMS the box sent to itself (${displayNumber(sender)}) came back after ${seconds} s; sending and receiving work`, now);
    return true;
  }

  /** A tagged message from a number an earlier run sent to (a late echo of a timed-out run). */
  private fromAnyRun(sender: string): boolean {
    const latest = this.deps.store.latestSelftest();
    return latest !== null && latest.to === sender;
  }

  /** The running run's step as its SMS's state says; fails it on a refusal or when its time is up. */
  check(): void {
    const now = this.deps.clock.now();
    for (const run of this.deps.store.runningSelftests()) {
      const message = run.outboxId === null ? null : this.deps.messageState(run.outboxId);
      const status = message?.status ?? 'queued';
      if (status === 'failed' || status === 'suppressed') {
        this.finish(run, 'failed', 'sending', `自检短信发送失败：${message?.error ?? status}`, `the self-test SMS was not sent: ${message?.error ?? status}`, now);
        continue;
      }
      const sent = status === 'sent' || status === 'delivered';
      if (sent && run.step !== 'waiting-reply') this.deps.store.updateSelftest(run.id, { step: 'waiting-reply' });
      if (now - run.startedAt < (this.deps.timeoutMs ?? SELFTEST_TIMEOUT_MS)) continue;
      const minutes = Math.round((this.deps.timeoutMs ?? SELFTEST_TIMEOUT_MS) / 60_000);
      if (sent) {
        this.finish(run, 'failed', 'waiting-reply',
          `自检失败：短信已发出，但 ${minutes} 分钟内没有收到（能发不能收：请检查本机号码 ${displayNumber(run.to ?? '')} 是否正确、SIM 卡是否开通接收短信）`,
          `self-test failed: the SMS went out but did not come back within ${minutes} min (sends but does not receive: check the own number ${displayNumber(run.to ?? '')} is right and the SIM receives SMS)`, now);
      } else {
        const why = this.deps.waitingReason?.() ?? null;
        this.finish(run, 'failed', 'sending',
          `自检失败：${minutes} 分钟内短信没有发出${why ? `（${why.zh}）` : ''}${status === 'uncertain' ? '（不确定是否已发出）' : ''}`,
          `self-test failed: the SMS was not sent within ${minutes} min${why ? ` (${why.en})` : ''}${status === 'uncertain' ? ' (may or may not have gone out)' : ''}`, now);
      }
    }
    this.schedule();
  }

  stop(): void {
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    this.stop();
    const running = this.deps.store.runningSelftests()[0];
    if (!running) return;
    const deadline = running.startedAt + (this.deps.timeoutMs ?? SELFTEST_TIMEOUT_MS);
    const delay = Math.max(0, Math.min(CHECK_EVERY_MS, deadline - this.deps.clock.now()));
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      this.check();
    }, delay);
  }

  private finish(run: SelftestRow, state: 'ok' | 'failed', step: string, zh: string, en: string, now: number): void {
    if (!this.deps.store.finishSelftest(run.id, state, step, zh, en, now)) return;
    const done = this.deps.store.selftest(run.id)!;
    if (this.deps.store.runningSelftests().length === 0) this.stop();
    this.deps.onFinished?.(done);
  }
}

/** A run as GET /api/selftest gives it (exact names: issue 17). */
export function selftestJson(run: SelftestRow | null, now: number) {
  if (!run) return { state: null, step: null, started_at: null, finished_at: null, seconds: null, message: null, message_en: null, to: null, outbox_id: null, inbox_id: null, id: null };
  return {
    id: run.id,
    state: run.state,
    step: run.step,
    started_at: new Date(run.startedAt).toISOString(),
    finished_at: run.finishedAt === null ? null : new Date(run.finishedAt).toISOString(),
    seconds: Math.round(((run.finishedAt ?? now) - run.startedAt) / 1000),
    message: run.state === 'running' ? STEP_TEXT[run.step]?.zh ?? run.step : run.zh,
    message_en: run.state === 'running' ? STEP_TEXT[run.step]?.en ?? run.step : run.en,
    to: run.to === null ? null : displayNumber(run.to),
    outbox_id: run.outboxId,
    inbox_id: run.inboxId,
  };
}

const STEP_TEXT: Record<string, { zh: string; en: string }> = {
  'own-number': { zh: '正在查找本机号码', en: 'finding the own number' },
  sending: { zh: '自检短信排队发送中', en: 'the self-test SMS is being sent' },
  'waiting-reply': { zh: '自检短信已发出，等待收到', en: 'the self-test SMS went out; waiting for it to come back' },
};
