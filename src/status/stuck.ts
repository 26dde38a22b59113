import type { WaitReason } from '../scheduler/dispatcher.js';

/**
 * A stuck queue (issue 18 item 2): the sending window is open, the modem
 * ready, messages are queued, and nothing has been sent for STUCK_AFTER_MS.
 * Judged by the status model (the one place health is judged) from what it
 * sees on every snapshot; pure, so the rule is table-tested with a clock the
 * test moves.
 *
 * What does not count as stuck, because the box knows why nothing goes and
 * says so elsewhere: the window closed, the modem not ready (a fault or the
 * "queued but the modem is not ready" warning), the clock not set, a rate
 * limit (`limit-*`: the owner's own limits), the carrier's restriction
 * (`carrier-blocked`, its own fault with what to do), and the owner's SMS forwards
 * waiting for their hourly budget (only customers' messages count as queued).
 * A message waiting for its retry after failed sends does count, and so does
 * one whose send never ends: sends that keep failing or hang are what the
 * owner must hear about.
 */

export const STUCK_AFTER_MS = 10 * 60_000;

/**
 * - `idle`: no customer message queued;
 * - `held`: messages wait for a reason the box knows (window, modem, clock, limit);
 * - `moving`: something was sent within STUCK_AFTER_MS;
 * - `watching`: messages should be going, nothing went lately, but the box has
 *   not watched for STUCK_AFTER_MS yet (just started, the window just opened);
 * - `stuck`.
 */
export type QueueProgress = 'idle' | 'held' | 'moving' | 'watching' | 'stuck';

export interface StuckInput {
  now: number;
  windowOpen: boolean;
  /** The modem is `ready` and has no hard fault. */
  modemReady: boolean;
  clockTrusted: boolean;
  /** Customers' messages (and the box's answers to them) are queued or being sent; the owner's forwards do not count. */
  queued: boolean;
  /** What the dispatcher says it waits for (null while sending). */
  waiting: WaitReason | null;
  /** The last time any message was sent (null: never). */
  lastSentAt: number | null;
  /** Since when the messages should have been going, as the previous judgement left it. */
  expectedSince: number | null;
}

export interface StuckJudgement {
  progress: QueueProgress;
  /** Carried to the next judgement. */
  expectedSince: number | null;
}

export function judgeQueue(input: StuckInput): StuckJudgement {
  if (!input.queued) return { progress: 'idle', expectedSince: null };
  const held = !input.windowOpen || !input.modemReady || !input.clockTrusted || (input.waiting !== null && (input.waiting.startsWith('limit-') || input.waiting === 'carrier-blocked'));
  if (held) return { progress: 'held', expectedSince: null };
  const expectedSince = input.expectedSince ?? input.now;
  if (input.lastSentAt !== null && input.now - input.lastSentAt < STUCK_AFTER_MS) return { progress: 'moving', expectedSince };
  // Nothing sent lately: stuck once the messages have been expected to go for the whole period.
  return { progress: input.now - expectedSince >= STUCK_AFTER_MS ? 'stuck' : 'watching', expectedSince };
}
