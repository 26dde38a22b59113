import test from 'ava';
import fc from 'fast-check';
import {
  deriveLeds,
  isLedPattern,
  MAX_COUNT,
  networkSeverity,
  patternCycle,
  SEND_FAILURES_DEGRADED,
  TIMING,
  worstModem,
  type LedExtras,
  type LedModemView,
  type LedPattern,
  type LedStatusView,
} from '../../src/leds/patterns.js';

type ViewPatch = { modem?: Partial<LedStatusView['modem']>; queue?: Partial<LedStatusView['queue']>; clock?: Partial<LedStatusView['clock']> };

/** A box that is sending normally: modem ready with 4 bars, empty queue, clock trusted. */
function view(patch: ViewPatch = {}): LedStatusView {
  return {
    modem: { state: 'ready', hard_fault: null, registered: true, signal_bars: 4, ...patch.modem },
    queue: { waiting: null, queued: 0, uncertain: 0, ...patch.queue },
    clock: { trusted: true, ...patch.clock },
  };
}

const NO_SIM = '未检测到 SIM 卡：请断电后插好 SIM 卡 / No SIM card: power off and insert the SIM card';
const DEAD = '短信模块无响应 / The modem does not respond';

const table: { name: string; status: LedStatusView; extras?: LedExtras; power: LedPattern; network: LedPattern; fault: LedPattern }[] = [
  { name: 'serving, 4 bars', status: view(), power: 'on', network: 'blink-4', fault: 'off' },
  { name: 'serving, 1 bar', status: view({ modem: { signal_bars: 1 } }), power: 'on', network: 'blink-1', fault: 'off' },
  { name: 'serving, 0 bars still shows one blink', status: view({ modem: { signal_bars: 0 } }), power: 'on', network: 'blink-1', fault: 'off' },
  { name: 'serving, bars unknown', status: view({ modem: { signal_bars: null } }), power: 'on', network: 'blink-1', fault: 'off' },
  { name: 'serving, 5 bars', status: view({ modem: { signal_bars: 5 } }), power: 'on', network: 'blink-5', fault: 'off' },
  {
    name: 'box starting, modem starting',
    status: view({ modem: { state: 'starting', registered: false, signal_bars: null }, queue: { waiting: 'modem-not-ready', queued: 3 } }),
    extras: { starting: true },
    power: 'blink-slow',
    network: 'off',
    fault: 'off',
  },
  { name: 'searching', status: view({ modem: { state: 'searching', registered: false } }), power: 'on', network: 'blink-fast', fault: 'off' },
  {
    name: 'searching with messages queued: queue stuck',
    status: view({ modem: { state: 'searching', registered: false }, queue: { waiting: 'modem-not-ready', queued: 2 } }),
    power: 'on',
    network: 'blink-fast',
    fault: 'blink-slow',
  },
  {
    name: 'no SIM: hard fault',
    status: view({ modem: { state: 'no-sim', hard_fault: NO_SIM, registered: false, signal_bars: null }, queue: { waiting: 'modem-not-ready', queued: 2 } }),
    power: 'on',
    network: 'off',
    fault: 'on',
  },
  {
    name: 'stuck queue (window open, modem ready, nothing sent for 10 minutes): hard fault',
    status: view({ queue: { waiting: 'retry-backoff', queued: 3, stuck: true } }),
    power: 'on',
    network: 'blink-4',
    fault: 'on',
  },
  {
    name: 'modem dead: hard fault',
    status: view({ modem: { state: 'not-responding', hard_fault: DEAD, registered: false } }),
    power: 'on',
    network: 'off',
    fault: 'on',
  },
  {
    name: 'registration denied: hard fault, still searching',
    status: view({ modem: { state: 'registration-denied', registered: false } }),
    power: 'on',
    network: 'blink-fast',
    fault: 'on',
  },
  { name: 'queue-only box (no modem driver)', status: view({ modem: { state: 'queue-only', registered: null, signal_bars: null } }), power: 'on', network: 'off', fault: 'off' },
  { name: 'clock not set: degraded', status: view({ clock: { trusted: false } }), power: 'on', network: 'blink-4', fault: 'blink-slow' },
  { name: 'default admin password: degraded', status: view(), extras: { defaultAdminPassword: true }, power: 'on', network: 'blink-4', fault: 'blink-slow' },
  { name: 'uncertain messages: degraded', status: view({ queue: { uncertain: 1 } }), power: 'on', network: 'blink-4', fault: 'blink-slow' },
  { name: 'repeated send failures: degraded', status: view(), extras: { consecutiveSendFailures: SEND_FAILURES_DEGRADED }, power: 'on', network: 'blink-4', fault: 'blink-slow' },
  { name: 'two send failures: not yet', status: view(), extras: { consecutiveSendFailures: SEND_FAILURES_DEGRADED - 1 }, power: 'on', network: 'blink-4', fault: 'off' },
  { name: 'store failing: hard fault', status: view(), extras: { storeFailure: 'disk I/O error' }, power: 'on', network: 'blink-4', fault: 'on' },
  { name: 'watchdog gave up: hard fault', status: view({ modem: { state: 'searching', registered: false } }), extras: { watchdogFault: 'gave up' }, power: 'on', network: 'blink-fast', fault: 'on' },
  {
    name: 'hard fault wins over degraded',
    status: view({ modem: { state: 'no-sim', hard_fault: NO_SIM, registered: false }, clock: { trusted: false } }),
    extras: { defaultAdminPassword: true },
    power: 'on',
    network: 'off',
    fault: 'on',
  },
];

for (const row of table) {
  test(`status → LEDs: ${row.name}`, (t) => {
    const { patterns, faults } = deriveLeds(row.status, row.extras);
    t.deepEqual(
      { power: patterns.power, network: patterns.network, fault: patterns.fault, activity: patterns.activity },
      { power: row.power, network: row.network, fault: row.fault, activity: 'off' },
    );
    // The fault LED is lit exactly when there is a reason to show the owner.
    t.is(faults.length > 0, row.fault !== 'off');
    if (row.fault === 'on') t.is(faults[0]!.level, 'hard');
  });
}

test('a hard fault lists its reason first, in both languages', (t) => {
  const { faults } = deriveLeds(view({ modem: { state: 'no-sim', hard_fault: NO_SIM }, clock: { trusted: false } }), { defaultAdminPassword: true });
  t.is(faults[0]!.kind, 'modem-no-sim');
  t.deepEqual(faults.map((f) => f.level), ['hard', 'degraded', 'degraded']);
  for (const f of faults) t.true(f.zh.length > 0 && f.en.length > 0);
  // The modem's "中文 / English" is split, so an alert or the English page gets one language.
  t.like(faults[0], { zh: '未检测到 SIM 卡：请断电后插好 SIM 卡', en: 'No SIM card: power off and insert the SIM card' });
});

test('a stuck queue is a hard fault of its own kind, named in both languages', (t) => {
  const { faults, patterns } = deriveLeds(view({ queue: { waiting: null, queued: 5, stuck: true } }));
  t.is(patterns.fault, 'on');
  t.like(faults[0], { level: 'hard', kind: 'stuck' });
  t.regex(faults[0]!.zh, /发送停滞/);
  t.regex(faults[0]!.en, /stuck/);
  t.deepEqual(deriveLeds(view({ queue: { waiting: null, queued: 5, stuck: false } })).faults, [], 'the control');
});

const arbitraryView = fc.record({
  modem: fc.record({
    state: fc.constantFrom('off', 'starting', 'ready', 'no-sim', 'pin-required', 'searching', 'registration-denied', 'not-responding', 'no-smsc', 'error', 'queue-only'),
    hard_fault: fc.option(fc.string({ minLength: 1 }), { nil: null }),
    registered: fc.option(fc.boolean(), { nil: null }),
    signal_bars: fc.option(fc.integer({ min: 0, max: 5 }), { nil: null }),
  }),
  queue: fc.record({
    waiting: fc.option(fc.constantFrom('idle', 'modem-not-ready', 'window-closed', 'clock-not-set'), { nil: null }),
    queued: fc.nat(100),
    uncertain: fc.nat(5),
    stuck: fc.boolean(),
  }),
  clock: fc.record({ trusted: fc.boolean() }),
});
const arbitraryExtras = fc.record(
  {
    starting: fc.boolean(),
    defaultAdminPassword: fc.boolean(),
    consecutiveSendFailures: fc.nat(10),
    storeFailure: fc.option(fc.string({ minLength: 1 }), { nil: null }),
    watchdogFault: fc.option(fc.string({ minLength: 1 }), { nil: null }),
  },
  { requiredKeys: [] },
);

test('property: every status gives a pattern the driver can play, and the fault LED is on exactly for a hard fault', (t) => {
  fc.assert(
    fc.property(arbitraryView, arbitraryExtras, (status, extras) => {
      const { patterns, faults } = deriveLeds(status, extras);
      for (const pattern of Object.values(patterns)) if (!isLedPattern(pattern)) return false;
      const hard = status.modem.hard_fault !== null || !!extras.storeFailure || !!extras.watchdogFault || status.modem.state === 'registration-denied' || status.queue.stuck;
      if ((patterns.fault === 'on') !== hard) return false;
      if (status.modem.hard_fault !== null && patterns.fault !== 'on') return false;
      // Counted blinks only for a registered modem, and never more than the bars (at least one).
      const counted = /^blink-(\d)$/.exec(patterns.network);
      if (counted && !(status.modem.registered === true && Number(counted[1]) === Math.max(1, status.modem.signal_bars ?? 1))) return false;
      return (patterns.fault === 'off') === (faults.length === 0);
    }),
  );
  t.pass();
});

test('pattern cycles: fast is 4 Hz, slow is 1 Hz, blink-N lights N times then pauses', (t) => {
  t.deepEqual(patternCycle('blink-fast')!.map((s) => s.ms), [125, 125]);
  t.deepEqual(patternCycle('blink-slow')!.map((s) => s.level), [1, 0]);
  t.is(patternCycle('blink-slow')!.reduce((sum, s) => sum + s.ms, 0), 1000);
  t.is(patternCycle('on'), null);
  t.is(patternCycle('off'), null);
  t.is(patternCycle('flash'), null);
  t.throws(() => patternCycle('blink-9' as LedPattern), { instanceOf: RangeError });
  fc.assert(
    fc.property(fc.integer({ min: 1, max: MAX_COUNT }), (n) => {
      const cycle = patternCycle(`blink-${n}`)!;
      const lit = cycle.filter((s) => s.level === 1);
      const total = cycle.reduce((sum, s) => sum + s.ms, 0);
      return (
        lit.length === n &&
        lit.every((s) => s.ms === TIMING.countOnMs) &&
        cycle.at(-1)!.level === 0 &&
        cycle.at(-1)!.ms === TIMING.countPauseMs &&
        total === n * TIMING.countOnMs + (n - 1) * TIMING.countOffMs + TIMING.countPauseMs
      );
    }),
  );
});

test('isLedPattern accepts exactly the documented strings', (t) => {
  for (const ok of ['on', 'off', 'blink-fast', 'blink-slow', 'flash', 'blink-1', 'blink-5']) t.true(isLedPattern(ok), ok);
  for (const bad of ['', 'blink', 'blink-0', 'blink-6', 'blink-10', 'ON', 'blink-fast ']) t.false(isLedPattern(bad), bad);
});

// ------------------------------------------------------------------ several SIMs (issue 19)

type Card = LedModemView & { name: string };
const card = (name: string, patch: Partial<LedModemView> = {}): Card => ({ name, state: 'ready', hard_fault: null, registered: true, signal_bars: 4, sms_path: 'sgs', ...patch });
const pool = (...modems: Card[]): LedStatusView => ({ ...view({ modem: modems[0]! }), modems });

test('the network severity order: hard fault, registration denied, no network, searching, then fewer bars before more', (t) => {
  const ordered: Card[] = [
    card('fault', { state: 'not-responding', hard_fault: DEAD, registered: null }),
    card('denied', { state: 'registration-denied', registered: false }),
    card('dead', { state: 'not-responding', registered: null }),
    card('searching', { state: 'searching', registered: false }),
    card('one-bar', { signal_bars: 1 }),
    card('three-bars', { signal_bars: 3 }),
    card('five-bars', { signal_bars: 5 }),
  ];
  const severities = ordered.map(networkSeverity);
  t.deepEqual([...severities].sort((a, b) => a - b), severities, 'each one worse than the next');
  t.is(new Set(severities).size, severities.length, 'no two the same');
  // Whatever order the modems come in, the worst one is picked.
  for (let i = 0; i < ordered.length; i++) {
    const rotated = [...ordered.slice(i), ...ordered.slice(0, i)];
    t.is(worstModem(rotated).name, 'fault');
    t.is(worstModem(rotated.filter((m) => m.name !== 'fault')).name, 'denied');
  }
  t.is(worstModem([card('a', { signal_bars: 2 }), card('b', { signal_bars: 2 })]).name, 'a', 'the first of equals');
});

test('the network LED shows the worst modem of the pool', (t) => {
  t.is(deriveLeds(pool(card('sim1', { signal_bars: 5 }), card('sim2', { signal_bars: 2 }))).patterns.network, 'blink-2');
  t.is(deriveLeds(pool(card('sim1'), card('sim2', { state: 'searching', registered: false }))).patterns.network, 'blink-fast');
  t.is(deriveLeds(pool(card('sim1'), card('sim2', { state: 'not-responding', registered: null }))).patterns.network, 'off');
  // One modem: as before issue 19, `modems` or not.
  t.is(deriveLeds(pool(card('sim1', { signal_bars: 3 }))).patterns.network, 'blink-3');
  t.is(deriveLeds(view({ modem: { signal_bars: 3 } })).patterns.network, 'blink-3');
});

test('fault reasons of a pool name their modem; one SIM down is degraded (the others send), every SIM down is hard', (t) => {
  const one = deriveLeds(pool(card('shop-a'), card('shop-b', { state: 'no-sim', hard_fault: NO_SIM, registered: null })));
  t.is(one.patterns.fault, 'blink-slow');
  t.deepEqual(one.faults.map((f) => [f.level, f.kind]), [['degraded', 'modem-no-sim:shop-b']]);
  t.is(one.faults[0]!.zh, 'SIM shop-b：未检测到 SIM 卡：请断电后插好 SIM 卡');
  t.is(one.faults[0]!.en, 'Modem shop-b: No SIM card: power off and insert the SIM card');

  const both = deriveLeds(pool(
    card('shop-a', { state: 'registration-denied', registered: false }),
    card('shop-b', { registered: true, sms_path: 'none' }),
  ));
  t.is(both.patterns.fault, 'on');
  t.deepEqual(both.faults.map((f) => [f.level, f.kind]), [['hard', 'registration-denied:shop-a'], ['hard', 'no-sms-path:shop-b']]);
  t.regex(both.faults[0]!.zh, /^SIM shop-a：运营商拒绝注册/);
  t.regex(both.faults[1]!.en, /^Modem shop-b: /);

  // A hard reason of the box comes before a modem's warning (worst first).
  const disk = deriveLeds({ ...pool(card('a'), card('b', { state: 'registration-denied', registered: false })), storage: { full: true } });
  t.deepEqual(disk.faults.map((f) => f.kind), ['disk-full', 'registration-denied:b']);

  // One modem: no name in the text, hard as before.
  const single = deriveLeds(pool(card('sim1', { state: 'no-sim', hard_fault: NO_SIM, registered: null })));
  t.deepEqual(single.faults.map((f) => [f.level, f.kind, f.zh]), [['hard', 'modem-no-sim', '未检测到 SIM 卡：请断电后插好 SIM 卡']]);
  t.is(deriveLeds(pool(card('a'), card('b'))).faults.length, 0, 'the control: a healthy pool');
});
