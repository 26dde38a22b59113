import test from 'ava';
import { rmSync } from 'node:fs';
import { ManualClock } from '../../src/clock.js';
import { defaultConfig, type Config } from '../../src/config/config.js';
import { silentLogger } from '../../src/log.js';
import { ModemSendError } from '../../src/modem/errors.js';
import { Dispatcher, type DispatchModem } from '../../src/scheduler/dispatcher.js';
import type { Limits } from '../../src/scheduler/limits.js';
import { Store } from '../../src/store/store.js';
import { tempDir } from '../helpers/box.js';

/**
 * A pool of SIMs at the dispatcher's seam (issue 19): which SIM sends which
 * message, each SIM's own limits, and a fault on one that must not stop the
 * others. Driven lane by lane with a clock the test controls; the real pool
 * over several virtual HATs is in test/e2e/pool.test.ts.
 */

const T0 = Date.parse('2026-11-25T10:00:00+08:00');

/** A SIM whose sends finish when the test says (or at once when `auto`). */
class PoolModem implements DispatchModem {
  ready: string | null = null;
  auto = true;
  own: Limits | null = null;
  readonly sent: string[] = [];
  private pending: { to: string; finish: (outcome: { messageRefs: number[] } | Error) => void }[] = [];
  private ref = 0;
  constructor(readonly id: string) {}
  notReadyReason() {
    return this.ready;
  }
  limits() {
    return this.own ?? undefined!;
  }
  send(message: { to: string }) {
    return new Promise<{ messageRefs: number[] }>((resolve, reject) => {
      const finish = (outcome: { messageRefs: number[] } | Error) => {
        if (outcome instanceof Error) return reject(outcome);
        this.sent.push(message.to);
        resolve(outcome);
      };
      if (this.auto) finish({ messageRefs: [this.ref++ % 256] });
      else this.pending.push({ to: message.to, finish });
    });
  }
  /** Ends the send in flight. */
  complete(outcome: { messageRefs: number[] } | Error = { messageRefs: [this.ref++ % 256] }) {
    const next = this.pending.shift();
    if (!next) throw new Error(`${this.id} has no send in flight`);
    next.finish(outcome);
  }
  get inFlight(): string[] {
    return this.pending.map((p) => p.to);
  }
}

interface Pool {
  store: Store;
  clock: ManualClock;
  config: Config;
  modems: PoolModem[];
  dispatcher: Dispatcher;
  queue(to: string, segments?: number): number;
  dispose(): void;
}

function pool(names: string[], configure?: (c: Config) => void): Pool {
  const dir = tempDir();
  const clock = new ManualClock(T0);
  const config = defaultConfig();
  config.accounts = [{ user: 'shop', password: 'pw', balanceLi: null, ignoreQuietHours: false }];
  // Only the limits a test sets hold (no pacing between messages).
  config.schedule.maxPerHour = 0;
  config.schedule.maxPerDay = 0;
  configure?.(config);
  const store = Store.open(dir);
  store.syncAccounts(config.accounts, clock.now());
  const modems = names.map((n) => new PoolModem(n));
  for (const m of modems) m.own = null;
  const dispatcher = new Dispatcher({
    store,
    modems: modems.map((m) => ({
      id: m.id,
      notReadyReason: () => m.notReadyReason(),
      send: (message) => m.send(message),
      limits: () => m.own ?? { maxPerMinute: config.schedule.maxPerMinute, maxPerHour: config.schedule.maxPerHour, maxPerDay: config.schedule.maxPerDay },
    })),
    clock,
    config: () => config,
    log: silentLogger,
    clockTrusted: () => true,
  });
  return {
    store,
    clock,
    config,
    modems,
    dispatcher,
    queue(to, segments = 1) {
      const outcome = store.acceptSend({
        accountId: store.getAccount('shop')!.id,
        recipients: [to],
        invalidNumbers: [],
        body: `to ${to}`,
        segments,
        encoding: 'ucs2',
        priceLiPerSegment: 0,
        client: 'test',
        now: clock.now(),
        duplicateWindowMs: 0,
      });
      if (outcome.kind !== 'accepted') throw new Error(outcome.kind);
      return outcome.messageIds[0]!;
    },
    dispose() {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Sends one message to `to` from `modem` now, so the number knows that SIM. */
async function history(p: Pool, to: string, modem: string) {
  const others = p.modems.filter((m) => m.id !== modem);
  for (const m of others) m.ready = 'busy elsewhere';
  p.queue(to);
  await p.dispatcher.stepModem(modem);
  for (const m of others) m.ready = null;
}

test('a customer keeps getting messages from the SIM they know, though another SIM is idle', async (t) => {
  const p = pool(['sim1', 'sim2']);
  try {
    await history(p, '+8613800000001', 'sim2');
    p.queue('+8613800000001');
    t.like(await p.dispatcher.stepModem('sim1'), { kind: 'wait', reason: 'other-sims' }, 'sim1 leaves it to sim2');
    t.like(await p.dispatcher.stepModem('sim2'), { kind: 'sent' });
    t.deepEqual(p.modems[1]!.sent, ['+8613800000001', '+8613800000001']);
    t.deepEqual(p.modems[0]!.sent, []);
  } finally {
    p.dispose();
  }
});

test('a new number goes to the SIM with the most day budget left; the sticky SIM then keeps it', async (t) => {
  const p = pool(['sim1', 'sim2'], (c) => (c.schedule.maxPerDay = 100));
  try {
    // sim1 has sent 3 today, sim2 one: sim2 has more budget left.
    for (const n of ['+8613800000011', '+8613800000012', '+8613800000013']) await history(p, n, 'sim1');
    await history(p, '+8613800000021', 'sim2');
    p.queue('+8613900000001');
    t.like(await p.dispatcher.stepModem('sim1'), { kind: 'wait', reason: 'other-sims' });
    t.like(await p.dispatcher.stepModem('sim2'), { kind: 'sent' });
    t.is(p.store.stickyModem('+8613900000001'), 'sim2');
    t.like(p.dispatcher.usage('sim2'), { segmentsLastDay: 2, limits: { maxPerDay: 100 } });
  } finally {
    p.dispose();
  }
});

test('a sticky SIM that is faulted or spent for the day loses the message to another; its rate limits do not', async (t) => {
  const p = pool(['sim1', 'sim2']);
  try {
    await history(p, '+8613800000001', 'sim1');
    await history(p, '+8613800000002', 'sim1');
    // Its per-hour limit holds sim1 for a while: the customer's message waits for it.
    p.modems[0]!.own = { maxPerMinute: 0, maxPerHour: 2, maxPerDay: 0 };
    const waiting = p.queue('+8613800000001');
    t.like(await p.dispatcher.stepModem('sim2'), { kind: 'wait', reason: 'other-sims' });
    t.like(await p.dispatcher.stepModem('sim1'), { kind: 'wait', reason: 'limit-hour' });
    t.is(p.store.getMessage(waiting)!.status, 'queued');
    // Spent for the day: sim2 takes it.
    p.modems[0]!.own = { maxPerMinute: 0, maxPerHour: 0, maxPerDay: 2 };
    t.like(await p.dispatcher.stepModem('sim2'), { kind: 'sent', messageId: waiting });
    // Faulted: the same.
    p.modems[0]!.own = null;
    const second = p.queue('+8613800000002');
    p.modems[0]!.ready = 'registration-denied';
    t.like(await p.dispatcher.stepModem('sim2'), { kind: 'sent', messageId: second });
    t.deepEqual(p.modems[1]!.sent, ['+8613800000001', '+8613800000002']);
    t.is(p.store.stickyModem('+8613800000002'), 'sim2', 'the customer now knows sim2');
  } finally {
    p.dispose();
  }
});

test('each SIM\'s limits are its own: one held by its per-minute limit, the other sends on under its own', async (t) => {
  const p = pool(['sim1', 'sim2'], (c) => (c.schedule.maxPerMinute = 1));
  try {
    p.modems[1]!.own = { maxPerMinute: 60, maxPerHour: 0, maxPerDay: 0 };
    for (let i = 0; i < 6; i++) p.queue(`+86138000001${String(i).padStart(2, '0')}`);
    const waits: string[] = [];
    for (let second = 0; second < 6; second++) {
      for (const m of ['sim1', 'sim2']) {
        const r = await p.dispatcher.stepModem(m);
        if (r.kind === 'wait') waits.push(`${m}:${r.reason}`);
      }
      p.clock.advance(1000);
    }
    t.is(p.modems[0]!.sent.length, 1, 'sim1 sends one a minute ([schedule] max_per_minute = 1)');
    t.is(p.modems[1]!.sent.length, 5, 'sim2 one a second under its own max_per_minute = 60');
    t.true(waits.some((w) => w.startsWith('sim1:limit-')));
    t.like(p.dispatcher.usage('sim1'), { limits: { maxPerMinute: 1 }, segmentsLastDay: 1 });
    t.is(p.store.queueCounts(0).queued, 0);
  } finally {
    p.dispose();
  }
});

test('SIMs send side by side, and a fault on one in flight leaves the message uncertain while the other carries the queue', async (t) => {
  const p = pool(['sim1', 'sim2']);
  try {
    for (const m of p.modems) m.auto = false;
    const ids = [p.queue('+8613800000001'), p.queue('+8613800000002'), p.queue('+8613800000003'), p.queue('+8613800000004')];
    const one = p.dispatcher.stepModem('sim1');
    const two = p.dispatcher.stepModem('sim2');
    // Both in flight at once: the pool's rate is the sum of its SIMs'.
    t.deepEqual([p.modems[0]!.inFlight, p.modems[1]!.inFlight], [['+8613800000001'], ['+8613800000002']]);
    t.like(p.dispatcher.usage('sim2')!.lane, { sending: ids[1] });
    // sim1's module dies with the message in flight.
    p.modems[0]!.complete(new ModemSendError({ retryable: true, uncertain: true, reason: 'no answer to AT+CMGS', segmentsSent: 0 }));
    t.like(await one, { kind: 'uncertain', messageId: ids[0] });
    p.modems[0]!.ready = 'unresponsive';
    p.modems[1]!.complete();
    t.like(await two, { kind: 'sent', messageId: ids[1] });
    p.modems[1]!.auto = true;
    // sim2's lane prepared the next already; it sends everything that is left.
    for (let i = 0; i < 3; i++) await p.dispatcher.stepModem('sim2');
    t.deepEqual(ids.map((id) => p.store.getMessage(id)!.status), ['uncertain', 'sent', 'sent', 'sent']);
    t.like(await p.dispatcher.stepModem('sim1'), { kind: 'wait', reason: 'modem-not-ready', detail: 'unresponsive' });
    const whole = p.dispatcher.state();
    t.is(whole.waiting, 'idle', 'the box as a whole is idle, not "modem not ready": sim2 can send');
  } finally {
    p.dispose();
  }
});

test('the running pool: every lane loops on its own and the queue drains across the SIMs', async (t) => {
  const p = pool(['sim1', 'sim2', 'sim3']);
  try {
    for (let i = 0; i < 30; i++) p.queue(`+86138000002${String(i).padStart(2, '0')}`);
    p.dispatcher.start();
    await new Promise<void>((resolve) => {
      const check = () => (p.store.queueCounts(0).queued === 0 && p.store.queueCounts(0).sending === 0 ? resolve() : setImmediate(check));
      check();
    });
    await p.dispatcher.stop();
    const counts = p.modems.map((m) => m.sent.length);
    t.is(counts.reduce((a, b) => a + b, 0), 30);
    t.true(counts.every((n) => n > 0), `every SIM sent some: ${counts.join(', ')}`);
  } finally {
    p.dispose();
  }
});
