import test from 'ava';
import { createSimulatorBinding } from '../../hardware/simulator/binding.js';
import { connectVirtualPwrkey, pulsesOf, VirtualBoard } from '../../hardware/simulator/virtual-board.js';
import { VirtualModem } from '../../hardware/simulator/virtual-modem.js';
import { openBoard } from '../../src/gpio/board.js';
import { JohnnyFivePower, pwrkeyWiring } from '../../src/gpio/power.js';
import type { Logger } from '../../src/log.js';
import { loadHat } from '../../src/modem/hats.js';
import { Modem, type ModemEvent } from '../../src/modem/modem.js';
import { NoPower, noPowerText, type ModemPower } from '../../src/modem/power.js';
import { openSerialStream } from '../../src/modem/serial.js';
import { ModemWatchdog, type WatchdogOptions } from '../../src/modem/watchdog.js';
import { SendFailureRun } from '../../src/status/health.js';
import { VirtualTime } from '../helpers/virtual-time.js';

/**
 * The whole power path on the virtual HAT: Modem → JohnnyFivePower → johnny-five
 * Pin on the virtual board's GPIO 6 → virtual PWRKEY → VirtualModem. Everything
 * runs on one VirtualTime (test/helpers/virtual-time.ts): the modem's polls and
 * time limits, the watchdog's checks, the virtual HAT's boot and the power's
 * pulses. Time moves only when nothing else can happen, so the outcome does not
 * depend on how busy the machine is, and the SIM7600's real pulse lengths (1 s
 * on, 3 s off) cost no wall time and are recorded exactly.
 */
async function rig(options: { wirePwrkey?: boolean; watchdog?: Partial<WatchdogOptions>; power?: 'gpio' | 'none' | 'usb'; commandTimeoutMs?: number; bootMs?: number } = {}) {
  const hat = loadHat('sim7600');
  const time = new VirtualTime();
  const virtual = new VirtualModem({ sendMs: 20, bootMs: 80, clock: time, timers: time });
  const board = new VirtualBoard({ now: () => time.now() });
  const gpio = await openBoard(board);
  const wiring = pwrkeyWiring(hat)!;
  let power: ModemPower;
  if (options.power === 'none') power = new NoPower();
  else if (options.power === 'usb') power = NoPower.usb();
  else
    power = new JohnnyFivePower(gpio, wiring, { sleep: (ms) => time.sleep(ms) });
  let disconnect = options.wirePwrkey === false ? () => {} : connectVirtualPwrkey(board, virtual, wiring);
  const sent: string[] = [];
  const log: Logger = {
    debug: (_msg, fields) => {
      if (typeof fields?.['line'] === 'string') sent.push(fields['line']);
    },
    info: () => {},
    warn: () => {},
    error: () => {},
  };
  const binding = createSimulatorBinding(virtual);
  const modem = new Modem({
    openStream: () => openSerialStream({ path: '/dev/virtual0', baudRate: 115200, binding }),
    hat,
    power,
    clock: time,
    timers: time,
    log,
    onInbound: async () => {},
    pollIntervalMs: 100,
    commandTimeoutMs: options.commandTimeoutMs ?? 500,
    resyncQuietMs: 30,
    bootMs: options.bootMs ?? 400,
  });
  const events: ModemEvent[] = [];
  // Counted where the box counts it (src/status), as main.ts wires it.
  const sendFailures = new SendFailureRun();
  modem.on('send-result', (result) => sendFailures.record(result));
  const watchdog = new ModemWatchdog({
    modem,
    sendFailureRun: () => sendFailures.length,
    canPowerCycle: power.canPulse,
    ...(noPowerText(power) ? { noPowerText: noPowerText(power)! } : {}),
    clock: time,
    timers: time,
    checkIntervalMs: 50,
    unresponsiveMs: 200,
    lostNetworkMs: 200,
    stuckMs: 60_000,
    backoffMs: [300],
    hardFaultAfterCycles: 2,
    ...options.watchdog,
  });
  watchdog.on('event', (e) => events.push(e));
  modem.on('event', (e) => events.push(e));
  return {
    hat,
    time,
    virtual,
    board,
    modem,
    watchdog,
    events,
    sent,
    wirePwrkey() {
      disconnect = connectVirtualPwrkey(board, virtual, wiring);
    },
    /** Waits (in virtual time) until `check` holds. */
    until<T>(check: () => T | null | undefined | false, what: string): Promise<T> {
      return time.until(check, what);
    },
    /** Drives the time until `promise` settles. */
    run<T>(promise: Promise<T>, what: string): Promise<T> {
      return time.run(promise, what);
    },
    async close() {
      await time.run(watchdog.stop(), 'the watchdog to stop');
      await time.run(modem.stop({ powerDown: false }), 'the modem to stop');
      disconnect();
      virtual.dispose();
      await gpio.close();
    },
  };
}

const kinds = (events: ModemEvent[]): string[] => events.map((e) => e.kind);

test.serial('a silent modem is power-cycled through the virtual PWRKEY, comes back, and sends again', async (t) => {
  // A long backoff: the first cycle's recovery (boot, init, registration) is over long before a second cycle is due.
  const r = await rig({ watchdog: { backoffMs: [10_000] } });
  await r.run(r.modem.start(), 'the modem start');
  await r.until(() => r.modem.status().state === 'ready', 'the modem ready');
  r.watchdog.start();
  r.virtual.inject({ kind: 'silence' });

  await r.until(() => r.events.some((e) => e.kind === 'watchdog-power-cycle'), 'the power cycle');
  await r.until(() => r.events.some((e) => e.kind === 'watchdog-recovered'), 'the recovery');
  t.is(r.modem.status().state, 'ready');
  t.deepEqual(r.virtual.activeFaults(), []);
  // The module was switched off (≥ 2.5 s) and on (≥ 0.5 s) by the pin, with the profile's lengths.
  t.deepEqual(pulsesOf(r.board.history(6)).map((p) => p.ms), [r.hat.power.powerOffPulseMs, r.hat.power.powerOnPulseMs]);
  t.is(r.watchdog.hardFault(), null);
  const order = kinds(r.events).filter((k) => k.startsWith('watchdog-') || k === 'not-responding' || k === 'power-cycle');
  t.deepEqual(order.slice(0, 4), ['not-responding', 'watchdog-power-cycle', 'power-cycle', 'watchdog-recovered']);
  for (const e of r.events.filter((e) => e.kind.startsWith('watchdog-'))) t.true(e.zh.length > 0 && e.en.length > 0);

  // The queue resumes: a send goes out on the air again.
  const { messageRefs } = await r.run(r.modem.send({ to: '+8613800138000', text: '您的订单已发货' }), 'the send');
  t.is(messageRefs.length, 1);
  t.is(r.virtual.transmitted.at(-1)?.text, '您的订单已发货');
  await r.close();
});

test.serial('a modem that stays silent: cycles with backoff, then a hard fault until it answers again', async (t) => {
  // PWRKEY not wired to the module: the pulses reach nothing, as with a jumper on PWR–3V3.
  // Short time limits: the module is really silent here, a slow answer cannot be mistaken for silence.
  const r = await rig({ wirePwrkey: false, commandTimeoutMs: 200, bootMs: 200 });
  const started = r.time.now();
  await r.run(r.modem.start(), 'the modem start');
  const faults: (string | null)[] = [];
  r.watchdog.on('hard-fault', (fault) => faults.push(fault));
  r.watchdog.start();
  r.virtual.inject({ kind: 'silence' });

  await r.until(() => r.watchdog.hardFault(), 'the hard fault');
  t.log(`hard fault after ${r.time.now() - started} ms (virtual time)`);
  t.is(r.watchdog.cyclesInEpisode, 2);
  t.regex(r.watchdog.hardFault()!, /2 power cycles/);
  t.regex(r.watchdog.hardFault()!, /断电重启/);
  const cycles = r.events.filter((e) => e.kind === 'watchdog-power-cycle');
  t.is(cycles.length, 2);
  t.true(kinds(r.events).includes('watchdog-backoff'));
  t.true(kinds(r.events).includes('watchdog-hard-fault'));

  // The module answers again (someone pressed its button): the fault clears by itself.
  r.virtual.clear('silence');
  await r.until(() => r.watchdog.hardFault() === null, 'the fault to clear');
  await r.until(() => r.events.some((e) => e.kind === 'watchdog-recovered'), 'the recovery');
  t.deepEqual(faults.at(-1), null);
  t.true(typeof faults[0] === 'string');
  await r.close();
});

test.serial('soft recovery first: a modem searching for the network gets AT+CFUN=0 then AT+CFUN=1', async (t) => {
  const r = await rig();
  await r.run(r.modem.start(), 'the modem start');
  await r.until(() => r.modem.status().state === 'ready', 'the modem ready');
  r.watchdog.start();
  r.virtual.inject({ kind: 'no-network' });
  await r.until(() => r.events.some((e) => e.kind === 'watchdog-radio-restart'), 'the radio restart');
  await r.until(() => r.sent.includes('AT+CFUN=1'), 'AT+CFUN=1');
  const off = r.sent.indexOf('AT+CFUN=0');
  t.true(off >= 0);
  t.true(r.sent.indexOf('AT+CFUN=1') > off);
  t.true(kinds(r.events).includes('radio-restart'));
  // Not yet stuck long enough for a power cycle.
  t.false(kinds(r.events).includes('watchdog-power-cycle'));
  r.virtual.clear('no-network');
  await r.until(() => r.events.some((e) => e.kind === 'watchdog-recovered'), 'the recovery');
  t.is(r.modem.status().state, 'ready');
  // Once per episode: no second radio restart.
  t.is(r.events.filter((e) => e.kind === 'watchdog-radio-restart').length, 1);
  await r.close();
});

test.serial('no SIM is the shop\'s to fix: the watchdog neither restarts the radio nor power-cycles', async (t) => {
  const r = await rig();
  // A SIM missing at start (the modem reads the SIM when it initialises).
  r.virtual.inject({ kind: 'no-sim' });
  await r.run(r.modem.start(), 'the modem start');
  r.watchdog.start();
  await r.until(() => r.modem.status().state === 'no-sim', 'no-sim');
  await r.time.advance(600);
  t.false(kinds(r.events).some((k) => k.startsWith('watchdog-')));
  t.deepEqual(pulsesOf(r.board.history(6)), []);
  t.is(r.watchdog.hardFault(), null);
  await r.close();
});

test.serial('a USB modem that needs a power cycle: the event says it has no power control (USB), in both languages, and what to do', async (t) => {
  const r = await rig({ power: 'usb', commandTimeoutMs: 200, bootMs: 200 });
  await r.run(r.modem.start(), 'the modem start');
  r.watchdog.start();
  r.virtual.inject({ kind: 'silence' });
  const event = await r.until(() => r.events.find((e) => e.kind === 'watchdog-no-power'), 'the no-power event');
  t.regex(event.en, /no power control \(USB\)/);
  t.regex(event.en, /unplug its USB cable/);
  t.regex(event.zh, /没有电源控制（USB）/);
  t.notRegex(event.zh, /PWRKEY 未接/, 'not the wording of a HAT whose key is not wired');
  t.false(kinds(r.events).includes('watchdog-power-cycle'));
  await r.close();
});

test.serial('a box that cannot press PWRKEY says so once, and leaves the modem\'s own fault to speak', async (t) => {
  const r = await rig({ power: 'none', commandTimeoutMs: 200, bootMs: 200 });
  await r.run(r.modem.start(), 'the modem start');
  r.watchdog.start();
  r.virtual.inject({ kind: 'silence' });
  await r.until(() => r.events.some((e) => e.kind === 'watchdog-no-power'), 'the no-power event');
  await r.time.advance(400);
  t.is(r.events.filter((e) => e.kind === 'watchdog-no-power').length, 1);
  t.false(kinds(r.events).includes('watchdog-power-cycle'));
  t.not(r.modem.status().hardFault, null);
  await r.close();
});

test.serial('Modem.restartRadio sends CFUN off then on, after the send in progress, and the modem stays ready', async (t) => {
  const r = await rig();
  await r.run(r.modem.start(), 'the modem start');
  await r.until(() => r.modem.status().state === 'ready', 'the modem ready');
  const send = r.modem.send({ to: '+8613800138000', text: 'first' });
  const restart = r.modem.restartRadio();
  await r.run(Promise.all([send, restart]), 'the send and the radio restart');
  const cmgs = r.sent.findIndex((l) => l.startsWith('AT+CMGS'));
  t.true(cmgs >= 0 && cmgs < r.sent.indexOf('AT+CFUN=0'));
  await r.until(() => r.modem.status().state === 'ready', 'ready again');
  t.true(kinds(r.events).includes('radio-restart'));
  await r.close();
});

test.serial('sends a ready modem keeps failing: radio restart after 5, power cycle after 10; a message\'s own error does not count, a success starts again', async (t) => {
  const r = await rig({ watchdog: { backoffMs: [10_000] } });
  await r.run(r.modem.start(), 'the modem start');
  const ready = () => r.until(() => r.modem.status().state === 'ready', 'the modem ready');
  await ready();
  r.watchdog.start();
  const send = () =>
    r.run(
      r.modem.send({ to: '+8613800138000', text: '您的订单已发货' }).then(
        () => 'sent',
        (error: { retryable: boolean }) => (error.retryable ? 'retryable' : 'final'),
      ),
      'a send',
    );
  const actions = () => kinds(r.events).filter((k) => ['watchdog-send-failures', 'radio-restart', 'power-cycle'].includes(k));

  // +CMS ERROR 1, unassigned number: the recipient's problem, however often it comes.
  r.virtual.inject({ kind: 'cms-error', code: 1, count: 6 });
  for (let i = 0; i < 6; i++) t.is(await send(), 'final');
  // Four retryable failures, then a success: the count starts again.
  r.virtual.inject({ kind: 'cms-error', code: 500, count: 4 });
  for (let i = 0; i < 4; i++) t.is(await send(), 'retryable');
  t.is(await send(), 'sent');
  t.deepEqual(actions(), []);

  // A module that answers AT and stays registered but refuses every message.
  r.virtual.inject({ kind: 'cms-error', code: 500, count: 10 });
  for (let i = 0; i < 5; i++) t.is(await send(), 'retryable');
  await r.until(() => actions().includes('radio-restart'), 'the radio restart');
  await ready();
  t.deepEqual(pulsesOf(r.board.history(6)), [], 'no power cycle yet');
  for (let i = 0; i < 5; i++) t.is(await send(), 'retryable');
  await r.until(() => actions().includes('power-cycle'), 'the power cycle');
  t.deepEqual(actions(), ['watchdog-send-failures', 'radio-restart', 'watchdog-send-failures', 'power-cycle']);
  await r.until(() => pulsesOf(r.board.history(6)).length === 2, 'the power-on pulse');
  t.deepEqual(pulsesOf(r.board.history(6)).map((p) => p.ms), [r.hat.power.powerOffPulseMs, r.hat.power.powerOnPulseMs]);
  // Once the module has booted again, messages go out.
  await r.until(() => kinds(r.events).lastIndexOf('registered') > kinds(r.events).lastIndexOf('power-cycle') && r.modem.status().state === 'ready', 'the modem ready after the cycle');
  t.is(await send(), 'sent');
  for (const e of r.events.filter((e) => e.kind === 'watchdog-send-failures')) t.true(e.zh.length > 0 && e.en.length > 0);
  await r.close();
});
