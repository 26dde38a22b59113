import test from 'ava';
import { pulsesOf, VirtualBoard } from '../../hardware/simulator/virtual-board.js';
import { openBoard, type GpioBoard } from '../../src/gpio/board.js';
import { DEFAULT_LED_PINS, LedDriver } from '../../src/leds/driver.js';
import { TIMING, type LedStatusView } from '../../src/leds/patterns.js';
import { StatusLeds } from '../../src/leds/status-leds.js';
import { waitFor } from '../helpers/wait.js';
import { FakeTimers } from './fake-timers.js';

const PINS = DEFAULT_LED_PINS;

/** johnny-five Leds on a virtual board whose clock is the fake timers'. */
async function rig(): Promise<{ timers: FakeTimers; board: VirtualBoard; gpio: GpioBoard; driver: LedDriver }> {
  const timers = new FakeTimers();
  const board = new VirtualBoard({ now: () => timers.now() });
  const gpio = await openBoard(board);
  const driver = LedDriver.onBoard(gpio, PINS, { timers });
  return { timers, board, gpio, driver };
}

const risingEdges = (board: VirtualBoard, pin: number, since = -Infinity): number => board.history(pin, since).filter((e) => e.level === 1).length;

test('LEDs start dark, and every fitted pin is an output driven low', async (t) => {
  const { board, driver, gpio } = await rig();
  for (const pin of Object.values(PINS)) {
    t.true(board.isOutput(pin));
    t.is(board.level(pin), 0);
  }
  t.deepEqual(driver.current(), { power: 'off', network: 'off', activity: 'off', fault: 'off' });
  await gpio.close();
});

test('on and off are steady levels on the pin', async (t) => {
  const { board, driver, timers, gpio } = await rig();
  driver.set({ power: 'on', fault: 'off' });
  timers.advance(10_000);
  t.is(board.level(PINS.power), 1);
  t.is(board.level(PINS.fault), 0);
  t.is(risingEdges(board, PINS.power), 1);
  t.is(risingEdges(board, PINS.fault), 0);
  await gpio.close();
});

test('blink-slow lights 500 ms of every second, blink-fast 125 ms four times a second', async (t) => {
  const { board, driver, timers, gpio } = await rig();
  const start = timers.now();
  driver.set({ power: 'blink-slow', network: 'blink-fast' });
  timers.advance(10_000);
  const slow = pulsesOf(board.history(PINS.power, start));
  const fast = pulsesOf(board.history(PINS.network, start));
  t.is(slow.length, 10);
  t.true(slow.every((p) => p.ms === TIMING.slowHalfMs));
  t.is(fast.length, 40);
  t.true(fast.every((p) => p.ms === TIMING.fastHalfMs));
  // Evenly spaced: each pulse starts one period after the previous one.
  t.true(slow.slice(1).every((p, i) => p.start - slow[i]!.start === 1000));
  await gpio.close();
});

test('blink-3 shows groups of three, a long pause between groups', async (t) => {
  const { board, driver, timers, gpio } = await rig();
  const start = timers.now();
  driver.set({ network: 'blink-3' });
  const cycle = 3 * TIMING.countOnMs + 2 * TIMING.countOffMs + TIMING.countPauseMs;
  timers.advance(cycle * 4 - 1);
  const pulses = pulsesOf(board.history(PINS.network, start));
  t.is(pulses.length, 12);
  const gaps = pulses.slice(1).map((p, i) => p.start - (pulses[i]!.start + pulses[i]!.ms));
  // Within a group: the short gap; between groups: the pause.
  t.deepEqual(gaps, [400, 400, 2000, 400, 400, 2000, 400, 400, 2000, 400, 400]);
  await gpio.close();
});

test('a changed pattern restarts; an unchanged one keeps its rhythm', async (t) => {
  const { board, driver, timers, gpio } = await rig();
  driver.set({ network: 'blink-fast' });
  timers.advance(300);
  const before = board.history(PINS.network).length;
  driver.set({ network: 'blink-fast' }); // same pattern: no restart, no extra edge
  t.is(board.history(PINS.network).length, before);
  driver.set({ network: 'blink-2' });
  t.deepEqual(driver.current().network, 'blink-2');
  const start = timers.now();
  timers.advance(3000);
  t.is(pulsesOf(board.history(PINS.network, start)).length, 2);
  await gpio.close();
});

test('flash lights the activity LED once per burst and /api/status says "flash" for a while', async (t) => {
  const { board, driver, timers, gpio } = await rig();
  const start = timers.now();
  driver.flash();
  timers.advance(50);
  driver.flash(); // a second segment while still lit: the same light
  timers.advance(200);
  t.deepEqual(pulsesOf(board.history(PINS.activity, start)), [{ start, ms: TIMING.flashMs }]);
  t.is(driver.current().activity, 'flash');
  driver.flash();
  timers.advance(200);
  t.is(pulsesOf(board.history(PINS.activity, start)).length, 2);
  timers.advance(5000);
  t.is(driver.current().activity, 'off');
  await gpio.close();
});

test('off() darkens every LED, stops every timer, and ignores later patterns', async (t) => {
  const { board, driver, timers, gpio } = await rig();
  driver.set({ power: 'on', network: 'blink-fast', fault: 'blink-slow' });
  driver.flash();
  timers.advance(60);
  driver.off();
  t.is(timers.scheduled, 0);
  for (const pin of Object.values(PINS)) t.is(board.level(pin), 0);
  driver.set({ power: 'on' });
  driver.flash();
  timers.advance(5000);
  for (const pin of Object.values(PINS)) t.is(board.level(pin), 0);
  t.deepEqual(driver.current(), { power: 'off', network: 'off', activity: 'off', fault: 'off' });
  await gpio.close();
});

test('a LED left out of [leds] is not driven', async (t) => {
  const timers = new FakeTimers();
  const board = new VirtualBoard({ now: () => timers.now() });
  const gpio = await openBoard(board);
  const driver = LedDriver.onBoard(gpio, { power: 5 }, { timers });
  driver.set({ power: 'on', fault: 'on' });
  t.deepEqual(driver.current(), { power: 'on' });
  t.is(board.level(5), 1);
  t.is(board.level(PINS.fault), null);
  await gpio.close();
});

function status(patch: Partial<LedStatusView['modem']> = {}, queue: Partial<LedStatusView['queue']> = {}): LedStatusView {
  return {
    modem: { state: 'ready', hard_fault: null, registered: true, signal_bars: 3, ...patch },
    queue: { waiting: null, queued: 0, uncertain: 0, ...queue },
    clock: { trusted: true },
  };
}

test('StatusLeds: the pins follow the status model through start, serving and a hard fault', async (t) => {
  const { board, driver, timers, gpio } = await rig();
  let current = status({ state: 'starting', registered: false, signal_bars: null });
  let starting = true;
  const leds = new StatusLeds({ driver, status: () => current, extras: () => ({ starting }), intervalMs: 0 });
  leds.start();
  let since = timers.now();
  timers.advance(4000);
  t.deepEqual(leds.current(), { power: 'blink-slow', network: 'off', activity: 'off', fault: 'off' });
  t.is(pulsesOf(board.history(PINS.power, since)).length, 4);
  t.is(risingEdges(board, PINS.network, since), 0);

  starting = false;
  current = status();
  leds.refresh();
  since = timers.now();
  timers.advance(3400 * 2);
  t.deepEqual(leds.current(), { power: 'on', network: 'blink-3', activity: 'off', fault: 'off' });
  t.is(board.level(PINS.power), 1);
  t.is(pulsesOf(board.history(PINS.network, since)).length, 6);

  current = status({ state: 'no-sim', hard_fault: 'No SIM card', registered: false, signal_bars: null });
  leds.refresh();
  timers.advance(5000);
  t.is(leds.current().fault, 'on');
  t.is(board.level(PINS.fault), 1);
  t.is(board.level(PINS.network), 0);
  t.is(leds.faults()[0]!.kind, 'modem-no-sim');

  leds.off();
  for (const pin of Object.values(PINS)) t.is(board.level(pin), 0);
  await gpio.close();
});

test('StatusLeds: a snapshot that throws keeps the last patterns and reports the error', async (t) => {
  const { driver, gpio } = await rig();
  const errors: unknown[] = [];
  let fail = false;
  const leds = new StatusLeds({
    driver,
    status: () => {
      if (fail) throw new Error('database is locked');
      return status();
    },
    intervalMs: 0,
    onError: (error) => errors.push(error),
  });
  leds.start();
  fail = true;
  leds.refresh();
  t.is(errors.length, 1);
  t.is(leds.current().network, 'blink-3');
  leds.off();
  await gpio.close();
});

test('real timers on a loaded machine: blink-fast and blink-slow blink, never faster than their rates', async (t) => {
  const board = new VirtualBoard();
  const gpio = await openBoard(board);
  const driver = LedDriver.onBoard(gpio, PINS);
  const start = Date.now();
  const pulses = (pin: number) => pulsesOf(board.history(pin, start));
  // Until both have blinked, on the board's own level changes: a busy machine makes this take longer, not fail.
  const blinked = waitFor(board, 'level', () => pulses(PINS.network).length >= 2 && pulses(PINS.power).length >= 1, { what: 'two fast blinks and a slow one' });
  driver.set({ network: 'blink-fast', power: 'blink-slow' });
  await blinked;
  driver.off();
  const elapsed = Date.now() - start;
  const fast = pulses(PINS.network);
  const slow = pulses(PINS.power);
  // Nominal: 4 per second and 1 per second. A loaded machine can only make them late: never more
  // blinks than the rate allows, never a light shorter than its half period (a timer is never early;
  // 1 ms for Node's rounding of timer times).
  t.true(fast.length <= Math.ceil((elapsed / 1000) * 4) + 1, `fast pulses: ${fast.length} in ${elapsed} ms`);
  t.true(slow.length <= Math.ceil(elapsed / 1000) + 1, `slow pulses: ${slow.length} in ${elapsed} ms`);
  t.true(fast.every((p) => p.ms >= TIMING.fastHalfMs - 1), `fast pulses ${fast.map((p) => p.ms).join(', ')} ms`);
  t.true(slow.every((p) => p.ms >= TIMING.slowHalfMs - 1), `slow pulses ${slow.map((p) => p.ms).join(', ')} ms`);
  await gpio.close();
});
