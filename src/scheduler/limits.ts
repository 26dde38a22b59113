/**
 * Sending limits per SIM, in segments. Pure: the caller supplies the send
 * history (segment timestamps) and the time.
 *
 * - Caps: never more than max_per_minute in any 60 s, max_per_hour in any
 *   3600 s, max_per_day in any 24 h (sliding windows: stricter than the
 *   carriers' calendar counting, so never over it).
 * - Pacing: a backlog is spread evenly at the hourly (else per-minute) rate,
 *   so the window opening on 500 waiting messages does not become a burst
 *   that a carrier reads as spam.
 */

export interface Limits {
  maxPerMinute: number;
  maxPerHour: number;
  maxPerDay: number;
}

export type LimitName = 'minute' | 'hour' | 'day' | 'pacing';

export interface LimitDecision {
  /** Earliest instant the next segment may go; <= now means now. */
  notBefore: number;
  /** Which rule set notBefore (null when nothing holds it back). */
  reason: LimitName | null;
}

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** Even spacing between segments derived from the limits; 0 = none. */
export function pacingInterval(limits: Limits): number {
  if (limits.maxPerHour > 0) return Math.floor(HOUR / limits.maxPerHour);
  if (limits.maxPerMinute > 0) return Math.floor(MINUTE / limits.maxPerMinute);
  return 0;
}

/**
 * When may a message of `segments` segments go, given the instants at which
 * earlier segments were sent (ascending)? A message needs room for all its
 * segments in every window, so a multipart message is never cut in two by a
 * limit.
 */
export function nextAllowed(history: readonly number[], segments: number, now: number, limits: Limits): LimitDecision {
  let notBefore = now;
  let reason: LimitName | null = null;
  const consider = (at: number, why: LimitName) => {
    if (at > notBefore) {
      notBefore = at;
      reason = why;
    }
  };

  const windows: [number, number, LimitName][] = [
    [limits.maxPerMinute, MINUTE, 'minute'],
    [limits.maxPerHour, HOUR, 'hour'],
    [limits.maxPerDay, DAY, 'day'],
  ];
  for (const [max, span, name] of windows) {
    if (max <= 0) continue;
    // A message bigger than the cap could never go; let it go alone in an empty window.
    const need = Math.min(segments, max);
    // The window must hold at most max - need earlier segments: the (max - need + 1)-th
    // newest one has to age out first.
    const mustAgeOut = history.length - (max - need);
    if (mustAgeOut > 0) consider(history[mustAgeOut - 1]! + span, name);
  }

  // Pacing as a leaky bucket without burst: every segment sent books one
  // interval, so a 3-part message is followed by three intervals of quiet.
  const spacing = pacingInterval(limits);
  if (spacing > 0) {
    let bookedUntil = 0;
    for (const at of history) bookedUntil = Math.max(bookedUntil, at) + spacing;
    consider(bookedUntil, 'pacing');
  }
  return { notBefore, reason };
}

/** The part of the history that can still matter (the last 24 h). */
export function pruneHistory(history: number[], now: number): number[] {
  const cutoff = now - DAY;
  let first = 0;
  while (first < history.length && history[first]! <= cutoff) first++;
  return first === 0 ? history : history.slice(first);
}
