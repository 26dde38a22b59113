import type { Clock } from '../clock.js';
import type { SimStore } from '../store/sim.js';

/**
 * Whether the carrier has restricted the SIM, and when the box may try again.
 *
 * Carriers restrict SIMs that send in bulk (Beijing Telecom's customer
 * service: over 200 SMS an hour or 1,000 a day, checked as spam, restricted,
 * lifted automatically after one to three working days or at once on a call:
 * http://gd.tiaohao.com/news/newshow.asp?idnews=2021). The box learns it two ways:
 *
 * - a restriction notice from the carrier's service number (isRestrictionNotice);
 * - sends refused by the network for several different recipients in a row with
 *   no success between them: BLOCK_AFTER_DISTINCT_FAILURES (5). One number can
 *   fail for reasons of its own (switched off for days, a landline, a full
 *   inbox), and it is retried with backoff, so its repeats count once. A run
 *   of five different recipients failing, and none going through, is no longer
 *   about the recipients: at the box's default pace (180 an hour) it is under two
 *   minutes of sending, so little is burnt before the box stops, while three,
 *   the box's "degraded" threshold (src/leds/patterns.ts SEND_FAILURES_DEGRADED),
 *   is reached by a few bad numbers in a WDGJ batch on a healthy SIM. No carrier
 *   publishes a figure; this is reasoned, not sourced.
 * - one refusal with 3GPP TS 24.011 cause 8 (operator determined barring) or
 *   10 (call barred) is the network saying so outright.
 *
 * While blocked the dispatcher sends one message an hour (PROBE_INTERVAL_MS): the
 * first to go through ends the block; a restoration notice from the carrier ends it too.
 * The state lives in the database: a restart keeps the block and its next probe.
 */

export const BLOCK_AFTER_DISTINCT_FAILURES = 5;
export const PROBE_INTERVAL_MS = 3_600_000;
/** +CMS ERROR causes (3GPP TS 24.011 table 8.4) that mean the subscriber is barred. */
export const BARRING_CMS_CODES: readonly number[] = [8, 10];

/**
 * +CMS ERROR causes that never count toward a run: they name the recipient
 * (1 unassigned number, 28 unidentified subscriber, 30 unknown subscriber,
 * TP-FCS 0xC3 invalid SME address) or a passing state of the network (38
 * network out of order, 41 temporary failure, 42 congestion, 47 resources
 * unavailable; 3GPP TS 24.011 table 8.4, TS 23.040 §9.2.3.22; 331 no network
 * service, 332 network timeout, 3GPP TS 27.005 §3.2.5). A restricted SIM is
 * refused whoever it sends to, with none of these.
 */
export const NOT_ABOUT_THE_SIM_CMS_CODES: readonly number[] = [1, 28, 30, 0xc3, 38, 41, 42, 47, 331, 332];

const STATE_KEY = 'carrier-block';

export interface BlockState {
  blocked: boolean;
  since: number | null;
  /** Why: `failures` or `notice` (or `barred`, a barring cause from the network). */
  cause: 'failures' | 'notice' | 'barred' | null;
  /** The notice's text, or the last refusal. */
  detail: string;
  /** When the next one-message probe may go. */
  probeAt: number | null;
  probes: number;
}

const CLEAR: BlockState = { blocked: false, since: null, cause: null, detail: '', probeAt: null, probes: 0 };

/** The outcome of one send as the dispatcher saw it. */
export type SendOutcome =
  | { ok: true; to: string }
  | { ok: false; to: string; uncertain: boolean; code: number | null; reason: string };

const STOP = '(?:暂停|停止|关闭|限制|取消|封停|关停|停用|屏蔽)';
const NOTICE_PATTERNS = [new RegExp(`${STOP}[^。！!]{0,12}短信`), new RegExp(`短信[^。！!]{0,10}${STOP}`)];
const RESTORED = /(?:已恢复|恢复正常|已解除|已解封|已开通)/;

/** A carrier's SMS saying the SIM's SMS were stopped (test/fixtures/sim-notices). */
export function isRestrictionNotice(text: string): boolean {
  return !RESTORED.test(text) && NOTICE_PATTERNS.some((p) => p.test(text));
}

/** A carrier's SMS saying the SIM's SMS work again. */
export function isRestorationNotice(text: string): boolean {
  return RESTORED.test(text) && /短信/.test(text);
}

export class CarrierBlock {
  private state: BlockState;
  /** The recipients of the failures since the last success (in memory: a restart starts a new run). */
  private readonly failedRecipients = new Set<string>();

  constructor(
    private readonly deps: {
      store: SimStore;
      clock: Clock;
      /** The block began or ended (status, LEDs, the notifier, the dispatcher). */
      onChange?: (state: Readonly<BlockState>) => void;
    },
  ) {
    this.state = { ...CLEAR, ...(deps.store.getValue<BlockState>(STATE_KEY) ?? {}) };
  }

  current(): Readonly<BlockState> {
    return this.state;
  }

  /**
   * The dispatcher's gate: null when it may send; else when the next probe may
   * go (a time in the past: now, one message).
   */
  gate(): { probeAt: number } | null {
    return this.state.blocked ? { probeAt: this.state.probeAt ?? this.deps.clock.now() } : null;
  }

  /** Every send's outcome, from the dispatcher. */
  report(outcome: SendOutcome): void {
    const now = this.deps.clock.now();
    if (outcome.ok) {
      this.failedRecipients.clear();
      if (this.state.blocked) this.set(CLEAR);
      return;
    }
    // "May have been sent" says nothing about the carrier refusing.
    if (outcome.uncertain) return;
    if (this.state.blocked) {
      this.set({ ...this.state, detail: outcome.reason, probeAt: now + PROBE_INTERVAL_MS, probes: this.state.probes + 1 });
      return;
    }
    if (outcome.code !== null && BARRING_CMS_CODES.includes(outcome.code)) {
      this.block('barred', outcome.reason, now);
      return;
    }
    if (outcome.code !== null && NOT_ABOUT_THE_SIM_CMS_CODES.includes(outcome.code)) return;
    this.failedRecipients.add(outcome.to);
    if (this.failedRecipients.size >= BLOCK_AFTER_DISTINCT_FAILURES) {
      this.block('failures', `${this.failedRecipients.size} recipients in a row: ${outcome.reason}`, now);
    }
  }

  /** A restriction notice from the carrier's service number. */
  notice(text: string): void {
    this.block('notice', text, this.deps.clock.now());
  }

  /** The carrier said the SIM's SMS work again. */
  restored(): void {
    this.failedRecipients.clear();
    if (this.state.blocked) this.set(CLEAR);
  }

  private block(cause: BlockState['cause'], detail: string, now: number): void {
    this.failedRecipients.clear();
    if (this.state.blocked) {
      // Already blocked: a notice after failures names the cause better; the probe time stays.
      this.set({ ...this.state, cause: cause === 'notice' ? cause : this.state.cause, detail: cause === 'notice' ? detail : this.state.detail });
      return;
    }
    this.set({ blocked: true, since: now, cause, detail, probeAt: now + PROBE_INTERVAL_MS, probes: 0 });
  }

  private set(next: BlockState): void {
    const changed = next.blocked !== this.state.blocked;
    this.state = next;
    this.deps.store.setValue(STATE_KEY, next);
    if (changed) this.deps.onChange?.(next);
  }
}
