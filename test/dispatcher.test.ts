import test from 'ava';
import { rmSync } from 'node:fs';
import { ManualClock } from '../src/clock.js';
import { defaultConfig, type Config } from '../src/config/config.js';
import { silentLogger } from '../src/log.js';
import { ModemSendError } from '../src/modem/errors.js';
import { Dispatcher, retryDelay, type DispatchModem } from '../src/scheduler/dispatcher.js';
import { Store } from '../src/store/store.js';
import { tempDir } from './helpers/box.js';
import { settle } from './helpers/virtual-time.js';

/** Shanghai wall-clock time → instant. */
const at = (local: string) => Date.parse(`${local}+08:00`);
const S = 1000;

type Behaviour = { refs: number[] } | ModemSendError | 'hang';

/**
 * A modem at the dispatcher's seam, scripted per call. The real Modem over
 * the virtual HAT is exercised end to end in test/e2e; here the dispatcher's
 * decisions are driven step by step with a clock the test controls.
 */
class ScriptedModem implements DispatchModem {
  readonly id = 'hat';
  ready: string | null = null;
  readonly transmitted: { to: string; text: string; at: number }[] = [];
  readonly script: Behaviour[] = [];
  keepLinkOpen: boolean[] = [];
  constructor(private readonly clock: ManualClock) {}
  notReadyReason() {
    return this.ready;
  }
  setKeepLinkOpen(on: boolean) {
    this.keepLinkOpen.push(on);
  }
  send(message: { to: string; text: string }) {
    const behaviour = this.script.shift() ?? { refs: [this.transmitted.length % 256] };
    if (behaviour === 'hang') {
      this.transmitted.push({ ...message, at: this.clock.now() });
      return new Promise<{ messageRefs: number[] }>(() => {});
    }
    if (behaviour instanceof ModemSendError) return Promise.reject(behaviour);
    this.transmitted.push({ ...message, at: this.clock.now() });
    return Promise.resolve({ messageRefs: behaviour.refs });
  }
}

interface Rig {
  store: Store;
  clock: ManualClock;
  modem: ScriptedModem;
  config: Config;
  dispatcher: Dispatcher;
  dir: string;
  clockTrusted: boolean;
  optedOut: Set<string>;
  queue(to: string, body: string, opts?: { user?: string; segments?: number }): number;
  reopen(): void;
  dispose(): void;
}

function rig(start: string, configure?: (c: Config) => void): Rig {
  const dir = tempDir();
  const clock = new ManualClock(at(start));
  const config = defaultConfig();
  config.accounts = [
    { user: 'shop', password: 'pw', balanceLi: 10_000, ignoreQuietHours: false },
    { user: 'urgent', password: 'pw', balanceLi: null, ignoreQuietHours: true },
  ];
  configure?.(config);
  const r: Rig = {
    store: Store.open(dir),
    clock,
    modem: new ScriptedModem(clock),
    config,
    dispatcher: undefined as unknown as Dispatcher,
    dir,
    clockTrusted: true,
    optedOut: new Set(),
    queue(to, body, opts = {}) {
      const outcome = r.store.acceptSend({
        accountId: r.store.getAccount(opts.user ?? 'shop')!.id,
        recipients: [to],
        invalidNumbers: [],
        body,
        segments: opts.segments ?? 1,
        encoding: 'ucs2',
        priceLiPerSegment: config.billing.pricePerSegmentLi,
        client: 'test',
        now: clock.now(),
        duplicateWindowMs: 0,
      });
      if (outcome.kind !== 'accepted') throw new Error(outcome.kind);
      return outcome.messageIds[0]!;
    },
    reopen() {
      r.store.close();
      r.store = Store.open(dir);
      r.dispatcher = makeDispatcher();
    },
    dispose() {
      r.store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  const makeDispatcher = () =>
    new Dispatcher({
      store: r.store,
      modems: [r.modem],
      clock,
      config: () => config,
      log: silentLogger,
      clockTrusted: () => r.clockTrusted,
      isOptedOut: (n) => r.optedOut.has(n),
    });
  r.store.syncAccounts(config.accounts, clock.now());
  r.dispatcher = makeDispatcher();
  return r;
}

const status = (r: Rig, id: number) => r.store.getMessage(id)!.status;

test('quiet hours across midnight: messages wait, then the backlog goes out oldest first, paced', async (t) => {
  const r = rig('2026-11-25T22:30:00');
  const ids = [r.queue('+8613800000001', 'a'), r.queue('+8613800000002', 'b'), r.queue('+8613800000003', 'c')];
  const wait = await r.dispatcher.step();
  t.deepEqual(wait, { kind: 'wait', reason: 'window-closed', until: at('2026-11-26T09:00:00') });
  t.is(r.dispatcher.state().waiting, 'window-closed');
  r.clock.set(at('2026-11-26T08:59:59'));
  t.like(await r.dispatcher.step(), { kind: 'wait', reason: 'window-closed' });
  t.is(r.modem.transmitted.length, 0);

  r.clock.set(at('2026-11-26T09:00:00'));
  t.deepEqual(await r.dispatcher.step(), { kind: 'sent', messageId: ids[0] });
  // max_per_hour = 180: one segment every 20 s, not a burst.
  t.deepEqual(await r.dispatcher.step(), { kind: 'wait', reason: 'limit-pacing', until: at('2026-11-26T09:00:20') });
  r.clock.advance(20 * S);
  t.deepEqual(await r.dispatcher.step(), { kind: 'sent', messageId: ids[1] });
  r.clock.advance(20 * S);
  t.deepEqual(await r.dispatcher.step(), { kind: 'sent', messageId: ids[2] });
  t.deepEqual(r.modem.transmitted.map((m) => m.text), ['a', 'b', 'c']);
  t.like(await r.dispatcher.step(), { kind: 'wait', reason: 'idle' });
  t.deepEqual(ids.map((id) => status(r, id)), ['sent', 'sent', 'sent']);
  r.dispose();
});

test('an urgent account (ignore_quiet_hours) is sent during quiet hours; others wait', async (t) => {
  const r = rig('2026-11-25T23:00:00');
  const normal = r.queue('+8613800000001', 'normal');
  const urgent = r.queue('+8613800000002', 'urgent', { user: 'urgent' });
  t.deepEqual(await r.dispatcher.step(), { kind: 'sent', messageId: urgent });
  t.like(await r.dispatcher.step(), { kind: 'wait', reason: 'window-closed' });
  t.is(status(r, normal), 'queued');
  r.dispose();
});

test('per-day cap: the day limit holds the queue until the oldest send is 24 h old', async (t) => {
  const r = rig('2026-11-25T10:00:00', (c) => {
    c.schedule.maxPerHour = 0;
    c.schedule.maxPerDay = 2;
    c.schedule.quietHours = null;
  });
  r.queue('+8613800000001', 'a');
  r.queue('+8613800000002', 'b');
  r.queue('+8613800000003', 'c');
  t.like(await r.dispatcher.step(), { kind: 'sent' });
  t.like(await r.dispatcher.step(), { kind: 'sent' });
  t.deepEqual(await r.dispatcher.step(), { kind: 'wait', reason: 'limit-day', until: at('2026-11-26T10:00:00') });
  // The history is in the database: a restart does not reset the count.
  r.reopen();
  t.like(await r.dispatcher.step(), { kind: 'wait', reason: 'limit-day' });
  r.dispose();
});

test('retryable errors back off, and the message behind is not held up', async (t) => {
  const r = rig('2026-11-25T10:00:00', (c) => (c.schedule.maxPerHour = 0));
  const first = r.queue('+8613800000001', 'first');
  const second = r.queue('+8613800000002', 'second');
  r.modem.script.push(new ModemSendError({ retryable: true, uncertain: false, code: 42, reason: '+CMS ERROR: 42 congestion', segmentsSent: 0 }));
  t.deepEqual(await r.dispatcher.step(), { kind: 'retry', messageId: first });
  const row = r.store.getMessage(first)!;
  t.is(row.status, 'queued');
  t.is(row.attempts, 1);
  t.is(row.lastError, '+CMS ERROR: 42 congestion');
  t.deepEqual(await r.dispatcher.step(), { kind: 'sent', messageId: second });
  t.deepEqual(await r.dispatcher.step(), { kind: 'wait', reason: 'retry-backoff', until: at('2026-11-25T10:00:30') });
  r.clock.advance(30 * S);
  t.deepEqual(await r.dispatcher.step(), { kind: 'sent', messageId: first });
  t.deepEqual(r.store.listAttempts(first).map((a) => a.outcome), ['retry', 'sent']);
  r.dispose();
});

test('backoff doubles up to 30 minutes; after max_attempts the message fails and is refunded', async (t) => {
  t.deepEqual([1, 2, 3, 4, 10, 20].map((n) => retryDelay(n, 30 * S)), [30 * S, 60 * S, 120 * S, 240 * S, 1800 * S, 1800 * S]);
  const r = rig('2026-11-25T10:00:00', (c) => {
    c.schedule.maxPerHour = 0;
    c.dispatch.maxAttempts = 3;
  });
  const id = r.queue('+8613800000001', 'x', { segments: 2 });
  t.is(r.store.getAccount('shop')!.balanceLi, 9_800);
  const busy = () => new ModemSendError({ retryable: true, uncertain: false, code: 331, reason: 'no network', segmentsSent: 0 });
  r.modem.script.push(busy(), busy(), busy());
  t.like(await r.dispatcher.step(), { kind: 'retry' });
  r.clock.advance(30 * S);
  t.like(await r.dispatcher.step(), { kind: 'retry' });
  r.clock.advance(60 * S);
  t.like(await r.dispatcher.step(), { kind: 'failed' });
  const row = r.store.getMessage(id)!;
  t.is(row.status, 'failed');
  t.regex(row.lastError!, /gave up after 3 attempts: no network/);
  t.is(r.store.getAccount('shop')!.balanceLi, 10_000);
  t.like(r.store.ledger('shop')[0], { kind: 'refund', amountLi: 200, messageId: id });
  r.dispose();
});

test('a final error (unassigned number) fails at once, refunded, and the queue goes on', async (t) => {
  const r = rig('2026-11-25T10:00:00', (c) => (c.schedule.maxPerHour = 0));
  const bad = r.queue('+8613800000001', 'x');
  const good = r.queue('+8613800000002', 'y');
  r.modem.script.push(new ModemSendError({ retryable: false, uncertain: false, code: 1, reason: '+CMS ERROR: 1 unassigned number', segmentsSent: 0 }));
  t.deepEqual(await r.dispatcher.step(), { kind: 'failed', messageId: bad });
  t.deepEqual(await r.dispatcher.step(), { kind: 'sent', messageId: good });
  t.is(r.store.getAccount('shop')!.balanceLi, 9_900);
  t.truthy(r.store.listEvents(10).find((e) => e.kind === 'send-failed'));
  r.dispose();
});

test('an uncertain send is not resent; the shop resends it or marks it failed', async (t) => {
  const r = rig('2026-11-25T10:00:00', (c) => (c.schedule.maxPerHour = 0));
  const a = r.queue('+8613800000001', 'a');
  const b = r.queue('+8613800000002', 'b');
  r.modem.script.push(new ModemSendError({ retryable: true, uncertain: true, code: null, reason: 'timeout after AT+CMGS', segmentsSent: 0 }));
  t.deepEqual(await r.dispatcher.step(), { kind: 'uncertain', messageId: a });
  t.deepEqual(await r.dispatcher.step(), { kind: 'sent', messageId: b });
  t.like(await r.dispatcher.step(), { kind: 'wait', reason: 'idle' });
  t.is(status(r, a), 'uncertain');
  t.is(r.store.queueCounts(0).uncertain, 1);
  t.true(r.store.resolveUncertain(a, 'resend', r.clock.now()));
  t.deepEqual(await r.dispatcher.step(), { kind: 'sent', messageId: a });
  const c = r.queue('+8613800000003', 'c');
  r.modem.script.push(new ModemSendError({ retryable: false, uncertain: true, code: null, reason: 'modem rebooted', segmentsSent: 0 }));
  await r.dispatcher.step();
  t.true(r.store.resolveUncertain(c, 'fail', r.clock.now()));
  t.is(status(r, c), 'failed');
  t.is(r.store.getAccount('shop')!.balanceLi, 9_800, 'a and b charged, c refunded');
  t.false(r.store.resolveUncertain(c, 'resend', r.clock.now()), 'only uncertain messages');
  r.dispose();
});

test('nothing is sent while the modem is not ready or the clock is not set', async (t) => {
  const r = rig('2026-11-25T10:00:00');
  const id = r.queue('+8613800000001', 'a');
  r.modem.ready = 'no SIM';
  t.deepEqual(await r.dispatcher.step(), { kind: 'wait', reason: 'modem-not-ready', until: null, detail: 'no SIM' });
  r.modem.ready = null;
  r.clockTrusted = false;
  t.like(await r.dispatcher.step(), { kind: 'wait', reason: 'clock-not-set' });
  t.is(status(r, id), 'queued');
  t.truthy(r.store.listEvents(10).find((e) => e.kind === 'dispatch-clock-not-set'));
  r.clockTrusted = true;
  t.like(await r.dispatcher.step(), { kind: 'sent' });
  r.dispose();
});

test('a number that opted out after acceptance is suppressed at sending time, not charged', async (t) => {
  const r = rig('2026-11-25T10:00:00');
  const id = r.queue('+8613800000001', 'a');
  r.optedOut.add('+8613800000001');
  t.deepEqual(await r.dispatcher.step(), { kind: 'suppressed', messageId: id });
  t.is(status(r, id), 'suppressed');
  t.is(r.modem.transmitted.length, 0);
  t.is(r.store.getAccount('shop')!.balanceLi, 10_000);
  r.dispose();
});

test('status reports move sent to delivered once every part is delivered', async (t) => {
  const r = rig('2026-11-25T10:00:00');
  const id = r.queue('+8613800000001', 'two parts', { segments: 2 });
  r.modem.script.push({ refs: [17, 18] });
  await r.dispatcher.step();
  t.is(r.store.applyStatusReport('+8613800000001', 17, 0, true, true, r.clock.now()), id);
  t.is(status(r, id), 'sent');
  r.store.applyStatusReport('+8613800000001', 18, 0, true, true, r.clock.now());
  t.is(status(r, id), 'delivered');
  t.is(r.store.applyStatusReport('+8613800000009', 18, 0, true, true, r.clock.now()), null);
  const failing = r.queue('+8613800000002', 'x');
  r.clock.advance(60 * S);
  r.modem.script.push({ refs: [19] });
  await r.dispatcher.step();
  r.store.applyStatusReport('+8613800000002', 19, 0x41, false, true, r.clock.now());
  t.is(status(r, failing), 'failed');
  r.dispose();
});

// Crash safety: the box dies between every pair of steps of a send. The steps are
// (1) accepted and committed, (2) "sending" committed, (3) the modem transmitted,
// (4) "sent" committed. After a restart nothing is lost and nothing is sent twice.
test('a crash after acceptance (before dispatch) loses nothing', async (t) => {
  const r = rig('2026-11-25T10:00:00');
  const id = r.queue('+8613800000001', 'a');
  r.reopen();
  t.deepEqual(r.store.recoverInterrupted(r.clock.now(), false), []);
  t.deepEqual(await r.dispatcher.step(), { kind: 'sent', messageId: id });
  t.is(r.modem.transmitted.length, 1);
  r.dispose();
});

for (const transmitted of [false, true]) {
  test(`a crash while sending (${transmitted ? 'after' : 'before'} the modem transmitted): uncertain, never resent by itself`, async (t) => {
    const r = rig('2026-11-25T10:00:00');
    const id = r.queue('+8613800000001', 'a');
    const other = r.queue('+8613800000002', 'b');
    if (transmitted) {
      r.modem.script.push('hang');
      void r.dispatcher.step(); // the process dies while waiting for +CMGS
    } else {
      r.store.beginAttempt(id, r.modem.id, r.clock.now()); // died right after committing "sending"
    }
    await new Promise((resolve) => setImmediate(resolve));
    t.is(status(r, id), 'sending');
    r.reopen();
    t.deepEqual(r.store.recoverInterrupted(r.clock.now(), false), [id]);
    t.is(status(r, id), 'uncertain');
    t.deepEqual(await r.dispatcher.step(), { kind: 'sent', messageId: other });
    t.like(await r.dispatcher.step(), { kind: 'wait', reason: 'idle' });
    t.is(r.modem.transmitted.filter((m) => m.to === '+8613800000001').length, transmitted ? 1 : 0);
    t.deepEqual(r.store.listAttempts(id).map((a) => a.outcome), ['uncertain']);
    r.dispose();
  });
}

test('a crash after "sent" was committed: not resent', async (t) => {
  const r = rig('2026-11-25T10:00:00');
  const id = r.queue('+8613800000001', 'a');
  await r.dispatcher.step();
  r.reopen();
  t.deepEqual(r.store.recoverInterrupted(r.clock.now(), false), []);
  t.like(await r.dispatcher.step(), { kind: 'wait' });
  t.is(status(r, id), 'sent');
  t.is(r.modem.transmitted.length, 1);
  r.dispose();
});

test('resend_uncertain = true: an interrupted message is queued again (at-least-once)', async (t) => {
  const r = rig('2026-11-25T10:00:00');
  const id = r.queue('+8613800000001', 'a');
  r.store.beginAttempt(id, r.modem.id, r.clock.now());
  r.reopen();
  t.deepEqual(r.store.recoverInterrupted(r.clock.now(), true), [id]);
  t.deepEqual(await r.dispatcher.step(), { kind: 'sent', messageId: id });
  r.dispose();
});

test('the radio link is kept open while a backlog lasts and released when the queue is empty', async (t) => {
  const r = rig('2026-11-25T10:00:00', (c) => (c.schedule.maxPerHour = 0));
  r.queue('+8613800000001', 'a');
  r.queue('+8613800000002', 'b');
  await r.dispatcher.step();
  await r.dispatcher.step();
  await r.dispatcher.step();
  // The wish: on for the backlog, off when it is gone. (That AT+CMMS is written only when the
  // module's mode must change is the driver's, tested in test/modem/transactions.test.ts.)
  const changes = r.modem.keepLinkOpen.filter((on, i, all) => i === 0 || all[i - 1] !== on);
  t.deepEqual(changes, [true, false]);
  t.is(r.modem.keepLinkOpen.at(-1), false);
  r.dispose();
});

test('the loop reacts to a new message at once and stops cleanly', async (t) => {
  const r = rig('2026-11-25T10:00:00', (c) => (c.schedule.maxPerHour = 0));
  r.dispatcher.start();
  // The loop has found nothing to send and sleeps (its sleep is long: only a kick can wake it in this test).
  await settle();
  t.is(r.dispatcher.state().waiting, 'idle');
  const id = r.queue('+8613800000001', 'a');
  r.dispatcher.kick();
  // At once: by the time the work the kick started has run, without any time passing.
  await settle();
  t.is(status(r, id), 'sent');
  await r.dispatcher.stop();
  r.dispose();
});

test("the owner's SMS forwards never go before a customer's message, and have their own hourly budget", async (t) => {
  const r = rig('2026-11-25T10:00:00', (c) => {
    c.schedule.maxPerHour = 0;
    c.inbound.forwardMaxPerHour = 2;
  });
  const forward = () => r.store.queueSystemMessage('forward', '+8613900000009', '[短信网关] 13800000001: 在吗', 1, 'ucs2', r.clock.now());
  const forwards = [forward(), forward(), forward()];
  r.clock.advance(S);
  const notices = [r.queue('+8613800000001', 'notice 1'), r.queue('+8613800000002', 'notice 2')];
  // Older forwards are queued first, but the customers' notices leave first.
  t.deepEqual(await r.dispatcher.step(), { kind: 'sent', messageId: notices[0] });
  t.deepEqual(await r.dispatcher.step(), { kind: 'sent', messageId: notices[1] });
  t.deepEqual(await r.dispatcher.step(), { kind: 'sent', messageId: forwards[0] });
  // A notice that arrives while forwards wait goes before them.
  const late = r.queue('+8613800000003', 'notice 3');
  t.deepEqual(await r.dispatcher.step(), { kind: 'sent', messageId: late });
  t.deepEqual(await r.dispatcher.step(), { kind: 'sent', messageId: forwards[1] });
  // Two forwards this hour: the third waits for the budget, and never holds a notice up.
  t.like(await r.dispatcher.step(), { kind: 'wait' });
  t.is(status(r, forwards[2]!), 'queued');
  const later = r.queue('+8613800000004', 'notice 4');
  t.deepEqual(await r.dispatcher.step(), { kind: 'sent', messageId: later });
  r.clock.advance(3600 * S);
  t.deepEqual(await r.dispatcher.step(), { kind: 'sent', messageId: forwards[2] });
  r.dispose();
});
