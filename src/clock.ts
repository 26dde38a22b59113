/**
 * The one injectable clock. Everything that asks "what time is it" (sending
 * window, rate limits, retries, dedup windows) takes a Clock, so tests can
 * drive time instead of waiting for it.
 */
export interface Clock {
  /** Milliseconds since the Unix epoch, like Date.now(). */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Timers a component schedules through, so a test can drive them by hand. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * Timers and the time they run on, for measuring durations (a boot wait, a
 * quiet line). Unlike a Clock, which may be corrected by network time, this
 * time only moves forward with the timers: a test drives both at once.
 */
export interface TimeSource extends Clock, Timers {}

/** Real timers, on Date.now(), that keep the process alive while they are pending (like plain setTimeout). */
export const realTimers: TimeSource = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Real timers that never keep the process alive by themselves. */
export const unrefTimers: Timers = {
  setTimeout(callback, ms) {
    const handle = setTimeout(callback, ms);
    handle.unref();
    return handle;
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

/** A clock a test moves by hand. */
export class ManualClock implements Clock {
  constructor(private current: number) {}
  now(): number {
    return this.current;
  }
  set(ms: number): void {
    this.current = ms;
  }
  advance(ms: number): void {
    this.current += ms;
  }
}
