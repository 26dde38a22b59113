/**
 * Waits on the state of a box running in this process (startBox), ending on
 * the events that change it: every call into its store (each row the box
 * commits goes through one), every status, event, send result and status
 * report of each of its modems, every byte and SMS of their virtual HATs. A condition is
 * checked when one of those happened, never on a timer.
 */
import { EventEmitter } from 'node:events';
import type { Box } from '../../src/main.js';
import { DEADLINE_MS, whenTrue } from './wait.js';

interface Watched {
  changes: EventEmitter;
  /** True while a probe runs: its own reads of the store are not changes. */
  probing: boolean;
}

const watched = new WeakMap<Box, Watched>();

function watch(box: Box): Watched {
  let w = watched.get(box);
  if (w) return w;
  const state: Watched = { changes: new EventEmitter(), probing: false };
  const changed = (): void => {
    if (!state.probing) state.changes.emit('change');
  };
  // The store: each method of its class, on this instance, tells when it was called.
  const store = box.store as unknown as Record<string, unknown>;
  const names = new Set<string>();
  for (let proto = Object.getPrototypeOf(store); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) if (name !== 'constructor') names.add(name);
  }
  for (const name of names) {
    const original = store[name];
    if (typeof original !== 'function') continue;
    store[name] = function (this: unknown, ...args: unknown[]) {
      const result = (original as (...a: unknown[]) => unknown).apply(this, args);
      changed();
      if (result instanceof Promise) void result.finally(changed).catch(() => {});
      return result;
    };
  }
  // Every modem of a pool, and its virtual HAT.
  for (const unit of box.modems) {
    for (const event of ['status', 'event', 'send-result', 'status-report', 'network-time'] as const) unit.modem.on(event, changed);
    if (unit.simulator) for (const event of ['data', 'transmitted', 'segment', 'power'] as const) unit.simulator.on(event, changed);
  }
  w = state;
  watched.set(box, w);
  return w;
}

/**
 * Resolves with `probe()`'s value once it is truthy, checking it now and after
 * each change in the box. The probe must be synchronous (state, not HTTP):
 * ask the HTTP API once the state is there.
 */
export function boxUntil<T>(box: Box, what: string, probe: () => T, timeoutMs = DEADLINE_MS): Promise<NonNullable<T>> {
  const w = watch(box);
  const quietly = (): T => {
    w.probing = true;
    try {
      return probe();
    } finally {
      w.probing = false;
    }
  };
  return whenTrue(quietly, what, [[w.changes, 'change']], timeoutMs);
}
