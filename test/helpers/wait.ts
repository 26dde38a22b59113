/**
 * Waits on what a test expects to happen, never on the wall clock.
 *
 * Each wait ends on an event: the one the test expects (`waitFor`), or any of
 * the events that can make an expected state come true (`whenTrue`, which
 * checks its condition at once and again after each of them). The deadline
 * is generous and only ever fails the test, with what it waited for: on a busy
 * machine a wait lasts longer, it does not end differently. (Like zwave-js's
 * testing package, whose mocks wait on expectations, not on time.)
 */
import type { EventEmitter } from 'node:events';

/** How long an expected event may take before the test fails: long enough for a CI machine whose CPUs are taken. */
export const DEADLINE_MS = 60_000;

type Emitter = Pick<EventEmitter, 'on' | 'off'>;

export interface WaitOptions {
  /** What is awaited, for the failure message. */
  what?: string;
  timeoutMs?: number;
}

/** Resolves with the arguments of the first `event` of `emitter` that `accept` accepts (default: the first). */
export function waitFor<A extends unknown[] = unknown[]>(
  emitter: Emitter,
  event: string,
  accept: (...args: A) => boolean = () => true,
  options: WaitOptions = {},
): Promise<A> {
  const timeoutMs = options.timeoutMs ?? DEADLINE_MS;
  return new Promise<A>((resolve, reject) => {
    const listener = (...args: unknown[]): void => {
      let accepted: boolean;
      try {
        accepted = accept(...(args as A));
      } catch (error) {
        cleanup();
        reject(error);
        return;
      }
      if (!accepted) return;
      cleanup();
      resolve(args as A);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${options.what ?? `the '${event}' event`} did not come within ${timeoutMs} ms`));
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      emitter.off(event, listener);
    };
    emitter.on(event, listener);
  });
}

/**
 * Resolves with `probe()`'s value once it is truthy. The probe runs now and
 * again after each of `events` (each [emitter, event name]: whatever can make
 * it true), once the emitter's synchronous work and the promises it resolved
 * have run.
 */
export function whenTrue<T>(probe: () => T, what: string, events: ReadonlyArray<readonly [Emitter, string]>, timeoutMs = DEADLINE_MS): Promise<NonNullable<T>> {
  return new Promise<NonNullable<T>>((resolve, reject) => {
    let finished = false;
    let scheduled = false;
    const check = (): void => {
      scheduled = false;
      if (finished) return;
      let value: T;
      try {
        value = probe();
      } catch (error) {
        finish();
        reject(error);
        return;
      }
      if (!value) return;
      finish();
      resolve(value as NonNullable<T>);
    };
    const onEvent = (): void => {
      if (scheduled || finished) return;
      scheduled = true;
      setImmediate(check);
    };
    const timer = setTimeout(() => {
      if (finished) return;
      finish();
      reject(new Error(`${what}: did not happen within ${timeoutMs} ms`));
    }, timeoutMs);
    const finish = (): void => {
      finished = true;
      clearTimeout(timer);
      for (const [emitter, event] of events) emitter.off(event, onEvent);
    };
    for (const [emitter, event] of events) emitter.on(event, onEvent);
    check();
  });
}
