/**
 * Issue 18 item 2: a stuck queue is a fault. The rule as a table, then the
 * status model judging it over a real database on a clock the test moves,
 * and the overview's verdict and the fault LED agreeing on it.
 */
import test from 'ava';
import { rmSync } from 'node:fs';
import { ManualClock } from '../../src/clock.js';
import { defaultConfig, type Config } from '../../src/config/config.js';
import { parseQuietHours } from '../../src/config/quiet-hours.js';
import { deriveLeds } from '../../src/leds/patterns.js';
import type { DispatchState } from '../../src/scheduler/dispatcher.js';
import { StatusModel } from '../../src/status/status.js';
import { judgeQueue, STUCK_AFTER_MS, type StuckInput } from '../../src/status/stuck.js';
import { Store } from '../../src/store/store.js';
import { verdictOf } from '../../src/web/pages.js';
import { tempDir } from '../helpers/box.js';

const T0 = Date.parse('2026-12-01T10:00:00+08:00');
const MIN = 60_000;

const moving: StuckInput = { now: T0, windowOpen: true, modemReady: true, clockTrusted: true, queued: true, waiting: null, lastSentAt: null, expectedSince: null };

const table: [string, Partial<StuckInput>, ReturnType<typeof judgeQueue>][] = [
  ['nothing queued', { queued: false, expectedSince: T0 - 30 * MIN }, { progress: 'idle', expectedSince: null }],
  ['window closed', { windowOpen: false, expectedSince: T0 - 30 * MIN }, { progress: 'held', expectedSince: null }],
  ['modem not ready', { modemReady: false }, { progress: 'held', expectedSince: null }],
  ['clock not set', { clockTrusted: false }, { progress: 'held', expectedSince: null }],
  ['the hourly limit: the owner\'s own', { waiting: 'limit-hour', expectedSince: T0 - 30 * MIN }, { progress: 'held', expectedSince: null }],
  ['pacing', { waiting: 'limit-pacing' }, { progress: 'held', expectedSince: null }],
  ['first seen: starts watching', {}, { progress: 'watching', expectedSince: T0 }],
  ['sent 9:59 ago', { lastSentAt: T0 - STUCK_AFTER_MS + 1, expectedSince: T0 - 60 * MIN }, { progress: 'moving', expectedSince: T0 - 60 * MIN }],
  ['sent 10:00 ago, expected all along', { lastSentAt: T0 - STUCK_AFTER_MS, expectedSince: T0 - 60 * MIN }, { progress: 'stuck', expectedSince: T0 - 60 * MIN }],
  ['never sent, expected for 10 minutes', { expectedSince: T0 - STUCK_AFTER_MS }, { progress: 'stuck', expectedSince: T0 - STUCK_AFTER_MS }],
  ['never sent, expected for 9:59', { expectedSince: T0 - STUCK_AFTER_MS + 1 }, { progress: 'watching', expectedSince: T0 - STUCK_AFTER_MS + 1 }],
  ['retries failing count (retry-backoff)', { waiting: 'retry-backoff', expectedSince: T0 - 11 * MIN, lastSentAt: T0 - 3 * 3600_000 }, { progress: 'stuck', expectedSince: T0 - 11 * MIN }],
  ['the window just opened after a night: watching, not stuck', { lastSentAt: T0 - 12 * 3600_000 }, { progress: 'watching', expectedSince: T0 }],
];
for (const [name, input, expected] of table) {
  test(`judgeQueue: ${name}`, (t) => {
    t.deepEqual(judgeQueue({ ...moving, ...input }), expected);
  });
}

function rig(change?: (c: Config) => void) {
  const dir = tempDir('smsbox-stuck-');
  const store = Store.open(dir);
  const clock = new ManualClock(T0);
  const config = defaultConfig();
  config.schedule.quietHours = parseQuietHours('21:00-09:00');
  config.schedule.quietHoursText = '21:00-09:00';
  change?.(config);
  store.syncAccounts(config.accounts, T0);
  let dispatch: DispatchState = { waiting: 'retry-backoff', nextSendAt: null, detail: null, sending: null };
  const status = new StatusModel({ store, clock, config: () => config, dispatch: () => dispatch }, true);
  status.setModem({ state: 'ready', hardFault: null, registered: true });
  return {
    store,
    clock,
    status,
    setWaiting(waiting: DispatchState['waiting']) {
      dispatch = { ...dispatch, waiting };
    },
    queue(to = '+8613800138000', kind: 'answer' | 'forward' = 'answer') {
      return store.queueSystemMessage(kind, to, '您的订单已发货', 1, 'ucs2', clock.now());
    },
    send(id: number) {
      store.finishSent(id, store.beginAttempt(id, 'hat', clock.now())!, clock.now(), '+8613800138000', [1]);
    },
    dispose() {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('the status model: stuck after 10 minutes of queued messages and no send, the fault LED and the verdict agree; a send ends it', (t) => {
  const r = rig();
  try {
    r.queue();
    t.like(r.status.snapshot().queue, { stuck: false, progress: 'watching', last_sent_at: null });
    r.clock.advance(STUCK_AFTER_MS - 1);
    t.false(r.status.snapshot().queue.stuck);
    r.clock.advance(1);
    const snapshot = r.status.snapshot();
    t.like(snapshot.queue, { stuck: true, progress: 'stuck' });

    const leds = deriveLeds(snapshot);
    t.is(leds.patterns.fault, 'on');
    t.is(leds.faults[0]!.kind, 'stuck');
    const withFaults = { ...snapshot, faults: leds.faults.map((f) => ({ level: f.level, kind: f.kind, message: f.zh, message_en: f.en })) };
    const verdict = verdictOf(withFaults, 'zh');
    t.is(verdict.level, 'fault');
    t.regex(verdict.text, /^故障: 发送停滞/);
    t.regex(verdict.detail, /“短信”页面/);

    // Something goes: the queue moves again.
    const second = r.queue('+8613900139000');
    r.send(second);
    t.like(r.status.snapshot().queue, { stuck: false, progress: 'moving', last_sent_at: new Date(r.clock.now()).toISOString() });
    r.clock.advance(STUCK_AFTER_MS);
    t.true(r.status.snapshot().queue.stuck, 'and stuck again 10 minutes after that last send');
  } finally {
    r.dispose();
  }
});

test('the status model: quiet hours, a rate limit and the owner\'s forwards are no stuck queue; the window opening starts a fresh 10 minutes', (t) => {
  const r = rig();
  try {
    r.queue('+8613800000000', 'forward');
    r.status.snapshot();
    r.clock.advance(30 * MIN);
    t.like(r.status.snapshot().queue, { stuck: false, progress: 'idle' }, 'only the owner\'s forwards wait: their own hourly budget');

    r.queue();
    r.setWaiting('limit-hour');
    r.status.snapshot();
    r.clock.advance(30 * MIN);
    t.like(r.status.snapshot().queue, { stuck: false, progress: 'held' });

    // The evening: the window closes at 21:00 with messages queued; nothing goes all night.
    r.setWaiting('window-closed');
    r.clock.set(Date.parse('2026-12-01T21:00:00+08:00'));
    t.like(r.status.snapshot().queue, { stuck: false, progress: 'held' });
    r.clock.set(Date.parse('2026-12-02T09:00:00+08:00'));
    r.setWaiting('retry-backoff');
    t.like(r.status.snapshot().queue, { stuck: false, progress: 'watching' }, 'the window opened: nothing sent for 12 hours, but watched only now');
    r.clock.advance(STUCK_AFTER_MS);
    t.true(r.status.snapshot().queue.stuck);
  } finally {
    r.dispose();
  }
});

test('the status model: a modem that is not ready is the modem\'s fault, not a stuck queue', (t) => {
  const r = rig();
  try {
    r.queue();
    r.status.setModem({ state: 'searching', registered: false });
    r.status.snapshot();
    r.clock.advance(60 * MIN);
    t.like(r.status.snapshot().queue, { stuck: false, progress: 'held' });
    r.status.setModem({ state: 'ready', registered: true });
    t.like(r.status.snapshot().queue, { stuck: false, progress: 'watching' });
  } finally {
    r.dispose();
  }
});
