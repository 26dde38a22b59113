/**
 * Time a test drives, for code that takes a Clock and Timers (src/clock.ts):
 * the modem driver, the AT engine, the watchdog, the virtual HAT.
 *
 * Nothing waits for the wall clock. A test asks for a condition
 * (`until(check)`) or for a promise (`run(promise)`); VirtualTime lets every
 * piece of work already queued finish (immediates, process.nextTick, promises:
 * the in-process serial link and the AT engine run on those), checks, and only
 * when the process has nothing left to do moves the time to the next timer and
 * fires it. So a 500 ms command time limit can only fire once the answer that
 * would beat it on an infinitely fast machine has been handled: the outcome is
 * the same on an idle laptop and on a CI machine with its CPUs taken, and a
 * 3 s PWRKEY pulse or a 10 s poll interval costs no real time.
 *
 * A wait that cannot be met fails at once, with what it waited for: when no
 * timer is left (nothing more can happen) or when the next one lies beyond the
 * wait's budget of virtual time.
 */
import { createHook } from 'node:async_hooks';
import type { TimeSource } from '../../src/clock.js';

/**
 * Immediates queued and not yet run in this process, other than settle()'s
 * own: while there are some, the process is busy. (settle()'s own are left
 * out, so that tests running side by side in one file do not keep each other
 * "busy" for ever.)
 */
const queuedImmediates = new Set<number>();
let creatingOwnImmediate = false;
createHook({
  init(asyncId, type) {
    if (type === 'Immediate' && !creatingOwnImmediate) queuedImmediates.add(asyncId);
  },
  before(asyncId) {
    queuedImmediates.delete(asyncId);
  },
  destroy(asyncId) {
    queuedImmediates.delete(asyncId);
  },
}).enable();

/** More rounds than this without going idle is a loop, not work. */
const MAX_SETTLE_ROUNDS = 100_000;

/**
 * Lets everything already queued in this process run (immediates, ticks,
 * promises, and what they queue in turn): resolves when nothing is left but
 * timers and I/O. For code whose reaction to a call is immediate, this is the
 * wait for that reaction, with no time involved.
 */
export async function settle(): Promise<void> {
  for (let round = 0; round < MAX_SETTLE_ROUNDS; round++) {
    await new Promise<void>((resolve) => {
      creatingOwnImmediate = true;
      try {
        setImmediate(resolve);
      } finally {
        creatingOwnImmediate = false;
      }
    });
    if (queuedImmediates.size === 0) return;
  }
  throw new Error(`the process never went idle in ${MAX_SETTLE_ROUNDS} rounds of immediates`);
}

interface Scheduled {
  at: number;
  seq: number;
  callback: () => void;
}

/** 2026-11-25 10:00 in Shanghai. */
export const VIRTUAL_START = Date.UTC(2026, 10, 25, 2, 0, 0);

export class VirtualTime implements TimeSource {
  private current: number;
  private seq = 0;
  private readonly scheduled = new Map<number, Scheduled>();
  /** Timers fired so far (a measure of how much happened). */
  fired = 0;

  constructor(start = VIRTUAL_START) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.scheduled.set(id, { at: this.current + Math.max(0, ms), seq: id, callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.scheduled.delete(handle as number);
  }

  /** Resolves once `ms` of virtual time have passed (a power's sleep, a test's pause). */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.setTimeout(resolve, ms));
  }

  /** Timers waiting to fire. */
  get pendingTimers(): number {
    return this.scheduled.size;
  }

  /** Lets everything already queued run: resolves when the process has nothing to do but wait for a timer. */
  settle(): Promise<void> {
    return settle();
  }

  /** Moves the time forward by `ms`, firing what falls due on the way, each at its own time. */
  async advance(ms: number): Promise<void> {
    const end = this.current + ms;
    await this.settle();
    for (let next = this.next(); next && next.at <= end; next = this.next()) {
      this.fire(next);
      await this.settle();
    }
    this.current = end;
    await this.settle();
  }

  /**
   * Resolves with `check()`'s value once it is truthy, moving the time only
   * while nothing else can happen; fails when it cannot become true within
   * `withinMs` of virtual time (default 10 minutes).
   */
  async until<T>(check: () => T | null | undefined | false, what: string, withinMs = 600_000): Promise<T> {
    const started = this.current;
    const deadline = started + withinMs;
    for (;;) {
      await this.settle();
      const value = check();
      if (value) return value;
      const next = this.next();
      if (!next) throw new Error(`${what}: did not happen, and nothing more can (no timer left) after ${this.current - started} ms of virtual time`);
      if (next.at > deadline) throw new Error(`${what}: did not happen within ${withinMs} ms of virtual time`);
      this.fire(next);
    }
  }

  /** Drives the time until `promise` settles, and returns its outcome. */
  async run<T>(promise: Promise<T>, what: string, withinMs = 600_000): Promise<T> {
    let settled = false;
    promise.then(
      () => (settled = true),
      () => (settled = true),
    );
    await this.until(() => settled, what, withinMs);
    return promise;
  }

  private next(): Scheduled | undefined {
    let next: Scheduled | undefined;
    for (const entry of this.scheduled.values()) {
      if (!next || entry.at < next.at || (entry.at === next.at && entry.seq < next.seq)) next = entry;
    }
    return next;
  }

  private fire(entry: Scheduled): void {
    this.scheduled.delete(entry.seq);
    this.current = Math.max(this.current, entry.at);
    this.fired++;
    entry.callback();
  }
}
