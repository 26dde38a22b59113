import test from 'ava';
import { pulsesOf } from '../../hardware/simulator/virtual-board.js';
import { VirtualModem } from '../../hardware/simulator/virtual-modem.js';
import { poolModemPower, setupBoxGpio } from '../../src/gpio/setup.js';
import { DEFAULT_LED_PINS } from '../../src/leds/driver.js';
import { loadHat } from '../../src/modem/hats.js';
import { fakeGpiod } from './fake-gpiod.js';

test('simulator mode: the virtual board drives the LEDs and presses the virtual HAT\'s PWRKEY', async (t) => {
  const simulator = new VirtualModem({ initialPower: 'off', bootMs: 10 });
  const hat = loadHat('sim7600');
  // Short pulses keep the test fast; the virtual SIM7600 needs ≥ 500 ms to switch on.
  const box = await setupBoxGpio({ hat: { ...hat, power: { ...hat.power, powerOnPulseMs: 520 } }, simulator });
  t.true(box.power.canPulse);
  await box.power.pulsePwrkey(520);
  t.true(simulator.isPoweredOn());
  t.is(pulsesOf(box.virtualBoard!.history(6)).length, 1);
  box.leds.set({ power: 'on' });
  t.is(box.virtualBoard!.level(DEFAULT_LED_PINS.power), 1);
  await box.close();
  t.is(box.virtualBoard!.level(DEFAULT_LED_PINS.power), 0);
  simulator.dispose();
});

test('simulator mode with a profile that names no PWRKEY pin still switches the virtual HAT', async (t) => {
  const simulator = new VirtualModem({ initialPower: 'off', bootMs: 10 });
  const box = await setupBoxGpio({ hat: loadHat('ec25'), simulator });
  t.true(box.power.canPulse);
  await box.close();
  simulator.dispose();
});

test('simulator mode with a USB profile: the virtual modem is on from the start, as on the bus, and the box has no power control over it', async (t) => {
  const simulator = new VirtualModem({ initialPower: 'off', bootMs: 10 });
  const box = await setupBoxGpio({ hat: loadHat('ec25-usb'), simulator });
  t.false(box.power.canPulse);
  t.true(simulator.isPoweredOn());
  await t.throwsAsync(box.power.pulsePwrkey(600), { message: /no power control \(USB\)/ });
  await box.close();
  simulator.dispose();
});

test('a Pi without GPIO and a USB modem: the power says USB, not "GPIO is unavailable"', async (t) => {
  const fake = fakeGpiod({ missing: ['gpioset', 'gpiodetect'] });
  const box = await setupBoxGpio({ hat: loadHat('sim7600-usb'), simulator: null, gpiod: { spawn: fake.spawn }, readyTimeoutMs: 1000 });
  await t.throwsAsync(box.power.pulsePwrkey(600), { message: /no power control \(USB\)/ });
  await box.close();
});

test('a Pi without the gpiod tools still starts: no LEDs, NoPower, a warning', async (t) => {
  const warnings: string[] = [];
  const log = { debug() {}, info() {}, warn: (msg: string) => void warnings.push(msg), error() {} };
  const fake = fakeGpiod({ missing: ['gpioset', 'gpiodetect'] });
  const box = await setupBoxGpio({ hat: loadHat('sim7600'), simulator: null, gpiod: { spawn: fake.spawn }, log, readyTimeoutMs: 1000 });
  t.is(box.gpio, null);
  t.false(box.power.canPulse);
  box.leds.set({ power: 'on' });
  t.deepEqual(box.leds.current(), {});
  t.true(warnings.some((w) => /GPIO unavailable/.test(w)));
  await box.close();
});

test('on a Pi: LEDs and PWRKEY through GpiodIO on the profile\'s pins', async (t) => {
  const fake = fakeGpiod();
  const box = await setupBoxGpio({ hat: loadHat('sim7600'), simulator: null, gpiod: { spawn: fake.spawn } });
  t.true(box.power.canPulse);
  box.leds.set({ fault: 'on' });
  const io = box.gpio!.io as unknown as { settled(): Promise<void> };
  await io.settled();
  const held = fake.holders().map((c) => c.args.at(-1)).sort();
  // PWRKEY released, flight mode off, the four LEDs; the fault LED lit.
  t.deepEqual(held, ['17=0', '22=0', '26=1', '27=0', '4=0', '6=0']);
  await box.close();
  t.deepEqual(fake.holders(), []);
});

test('poolModemPower: a second virtual HAT is switched through its seam; a USB one is on and has no power control; a real USB one says USB', async (t) => {
  const uart = new VirtualModem({ initialPower: 'off', bootMs: 10 });
  const usb = new VirtualModem({ initialPower: 'off', bootMs: 10 });
  try {
    t.true(poolModemPower(loadHat('sim7600'), uart, null).canPulse);
    t.false(uart.isPoweredOn(), 'a HAT with a key stays off until the box presses it');
    const usbPower = poolModemPower(loadHat('ec25-usb'), usb, null);
    t.false(usbPower.canPulse);
    t.true(usb.isPoweredOn());
    const real = poolModemPower(loadHat('sim7600-usb'), null, null, { pwrkeyGpio: 6 });
    await t.throwsAsync(real.pulsePwrkey(1000), { message: /no power control \(USB\)/ });
    t.false(poolModemPower(loadHat('sim7600'), null, null).canPulse, 'no GPIO board: no power');
  } finally {
    uart.dispose();
    usb.dispose();
  }
});
