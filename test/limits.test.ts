import test from 'ava';
import fc from 'fast-check';
import { nextAllowed, pacingInterval, pruneHistory, type Limits } from '../src/scheduler/limits.js';

const T = 1_800_000_000_000;
const S = 1000;
const none: Limits = { maxPerMinute: 0, maxPerHour: 0, maxPerDay: 0 };

test('no limits: always now', (t) => {
  t.deepEqual(nextAllowed([T - 1, T - 1, T - 1], 3, T, none), { notBefore: T, reason: null });
});

test('pacing: the hourly rate spread evenly, every segment booking one interval', (t) => {
  const limits = { ...none, maxPerHour: 180 };
  t.is(pacingInterval(limits), 20 * S);
  t.deepEqual(nextAllowed([], 1, T, limits), { notBefore: T, reason: null });
  t.deepEqual(nextAllowed([T - 5 * S], 1, T, limits), { notBefore: T + 15 * S, reason: 'pacing' });
  // A 3-part message sent 10 s ago books 60 s.
  t.deepEqual(nextAllowed([T - 10 * S, T - 10 * S, T - 10 * S], 1, T, limits), { notBefore: T + 50 * S, reason: 'pacing' });
  // Idle long enough: no debt carried over.
  t.deepEqual(nextAllowed([T - 3600 * S], 1, T, limits), { notBefore: T, reason: null });
  t.is(pacingInterval({ ...none, maxPerMinute: 4 }), 15 * S);
});

test('per-minute cap: the oldest segment in the window must age out', (t) => {
  const limits = { ...none, maxPerMinute: 3 };
  const history = [T - 50 * S, T - 40 * S, T - 30 * S];
  // Pacing (20 s at 3/minute) is met; the cap is what holds it.
  t.deepEqual(nextAllowed(history, 1, T, limits), { notBefore: T + 10 * S, reason: 'minute' });
  // A 2-part message needs two to age out.
  t.deepEqual(nextAllowed(history, 2, T, limits), { notBefore: T + 20 * S, reason: 'minute' });
});

test('per-hour and per-day caps', (t) => {
  const hour = { ...none, maxPerHour: 2, maxPerMinute: 0 };
  // Pacing at 2/hour is 30 min per segment; two sent 40 and 35 min ago leave the cap the binding rule.
  const h = [T - 40 * 60 * S, T - 35 * 60 * S];
  t.deepEqual(nextAllowed(h, 1, T, hour), { notBefore: T + 20 * 60 * S, reason: 'hour' });
  const day = { ...none, maxPerDay: 2 };
  t.deepEqual(nextAllowed([T - 23 * 3600 * S, T - 3600 * S], 1, T, day), { notBefore: T + 3600 * S, reason: 'day' });
});

test('a message larger than a cap still goes, alone, in an empty window', (t) => {
  t.deepEqual(nextAllowed([], 5, T, { ...none, maxPerMinute: 3 }), { notBefore: T, reason: null });
});

test('property: following nextAllowed never exceeds any cap in any window', (t) => {
  fc.assert(
    fc.property(
      fc.record({ maxPerMinute: fc.integer({ min: 0, max: 5 }), maxPerHour: fc.integer({ min: 0, max: 30 }), maxPerDay: fc.integer({ min: 0, max: 60 }) }),
      fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 40 }),
      (limits, messages) => {
        let now = T;
        const history: number[] = [];
        for (const segments of messages) {
          const { notBefore } = nextAllowed(history, segments, now, limits);
          now = Math.max(now, notBefore);
          for (let i = 0; i < segments; i++) history.push(now);
          for (const [max, span] of [[limits.maxPerMinute, 60 * S], [limits.maxPerHour, 3600 * S], [limits.maxPerDay, 86_400 * S]] as const) {
            if (max === 0) continue;
            const inWindow = history.filter((at) => at > now - span).length;
            // Only a single message bigger than the cap may exceed it, and then alone.
            t.true(inWindow <= Math.max(max, segments), `${inWindow} in window of ${span} with max ${max}`);
          }
        }
      },
    ),
  );
});

test('pruneHistory keeps the last 24 hours', (t) => {
  t.deepEqual(pruneHistory([T - 86_400 * S, T - 86_399 * S, T], T), [T - 86_399 * S, T]);
});
