import test from 'ava';
import { PasswordCheckBusy, PasswordCheckGate, VerifiedPasswordCache, hashPassword } from '../src/passwords.js';

/** A check the test finishes by hand. */
function manualCheck() {
  let finish!: (ok: boolean) => void;
  const result = new Promise<boolean>((resolve) => (finish = resolve));
  return { result, finish };
}

test('the gate runs one slow check at a time, queues a few, and refuses the rest at once', async (t) => {
  const gate = new PasswordCheckGate({ running: 1, waiting: 2 });
  const checks = Array.from({ length: 3 }, manualCheck);
  let started = 0;
  const runs = checks.map((c) => gate.run(() => {
    started++;
    return c.result;
  }));
  t.is(started, 1);
  t.deepEqual(gate.load, { running: 1, waiting: 2 });
  await t.throwsAsync(gate.run(() => Promise.resolve(true)), { instanceOf: PasswordCheckBusy });
  checks[0]!.finish(false);
  t.false(await runs[0]!);
  t.is(started, 2, 'the slot passed to the next in line');
  t.deepEqual(gate.load, { running: 1, waiting: 1 });
  checks[1]!.finish(true);
  checks[2]!.finish(false);
  t.deepEqual(await Promise.all(runs.slice(1)), [true, false]);
  t.deepEqual(gate.load, { running: 0, waiting: 0 });
});

test('a flood of distinct wrong passwords: the known password still answers at once, and a full gate refuses without evaluating', async (t) => {
  const stored = hashPassword('right');
  const cache = new VerifiedPasswordCache(new PasswordCheckGate({ running: 1, waiting: 4 }));
  t.true(await cache.verify('right', stored));
  const flood = Array.from({ length: 20 }, (_, i) => cache.verify(`guess-${i}`, stored).then((ok) => (ok ? 'ok' : 'wrong'), (err: unknown) => (err instanceof PasswordCheckBusy ? 'busy' : 'error')));
  t.true(cache.isKnown('right', stored), 'the known password takes the fast path, never the queue');
  t.true(await cache.verify('right', stored));
  const outcomes = await Promise.all(flood);
  t.is(outcomes.filter((o) => o === 'wrong').length, 5, 'one running and four waiting were evaluated');
  t.is(outcomes.filter((o) => o === 'busy').length, 15);
  // The same password asked many times at once is one check.
  const same = await Promise.all(Array.from({ length: 10 }, () => cache.verify('another', stored)));
  t.deepEqual(new Set(same), new Set([false]));
});
