import test from 'ava';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBoard } from '../../src/gpio/board.js';
import { GpiodIO, gpiogetArgs, gpiosetArgs, libgpiodMajor, parseGpioget, pickHeaderChip } from '../../src/gpio/gpiod-io.js';
import { normalizeGpio } from '../../src/gpio/io-plugin.js';
import { fakeGpiod } from './fake-gpiod.js';

const until = async (check: () => boolean, what: string, timeoutMs = 3000): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

test('pickHeaderChip finds the 40-pin header on a Pi 5, 4 and 3 from gpiodetect', (t) => {
  const pi5 = [
    'gpiochip0 [pinctrl-rp1] (54 lines)',
    'gpiochip10 [gpio-brcmstb@107d508500] (32 lines)',
    'gpiochip11 [gpio-brcmstb@107d508520] (4 lines)',
    'gpiochip12 [gpio-brcmstb@107d517c00] (17 lines)',
  ].join('\n');
  // Kernels before 6.6.47 numbered the RP1 chip 4.
  const pi5Old = 'gpiochip0 [gpio-brcmstb@107d508500] (32 lines)\ngpiochip4 [pinctrl-rp1] (54 lines)\n';
  t.is(pickHeaderChip(pi5), 'gpiochip0');
  t.is(pickHeaderChip(pi5Old), 'gpiochip4');
  t.is(pickHeaderChip('gpiochip0 [pinctrl-bcm2711] (58 lines)\ngpiochip1 [raspberrypi-exp-gpio] (8 lines)'), 'gpiochip0');
  t.is(pickHeaderChip('gpiochip0 [pinctrl-bcm2835] (54 lines)\r\n'), 'gpiochip0');
  t.is(pickHeaderChip('gpiochip0 [gpio-sim.0-node0] (8 lines)'), null);
  t.is(pickHeaderChip(''), null);
});

test('libgpiod versions, command lines and gpioget answers of v1 and v2', (t) => {
  t.is(libgpiodMajor('gpioset (libgpiod) v2.2.1\nCopyright'), 2);
  t.is(libgpiodMajor('gpioset (libgpiod) v1.6.3'), 1);
  t.is(libgpiodMajor('gpioset: unknown option'), null);
  // v2 holds the line by default; v1 needs --mode=signal or it exits at once.
  t.deepEqual(gpiosetArgs(2, 'gpiochip0', 6, 1, 'smsbox'), ['--banner', '--chip', 'gpiochip0', '--consumer', 'smsbox', '6=1']);
  t.deepEqual(gpiosetArgs(1, 'gpiochip0', 6, 0, 'smsbox'), ['--mode=signal', 'gpiochip0', '6=0']);
  t.deepEqual(gpiogetArgs(2, 'gpiochip4', 5, 'smsbox'), ['--numeric', '--chip', 'gpiochip4', '--consumer', 'smsbox', '5']);
  t.deepEqual(gpiogetArgs(1, 'gpiochip0', 5, 'smsbox'), ['gpiochip0', '5']);
  t.is(parseGpioget('1\n'), 1);
  t.is(parseGpioget('0'), 0);
  t.is(parseGpioget('"5"=active\n'), 1);
  t.is(parseGpioget('"GPIO5"=inactive'), 0);
  t.is(parseGpioget('gpioget: unable to request lines'), null);
});

test('pins are BCM numbers 0-27, also written GPIO6 or BCM6', (t) => {
  t.is(normalizeGpio(6), 6);
  t.is(normalizeGpio('GPIO17'), 17);
  t.is(normalizeGpio('bcm27'), 27);
  t.throws(() => normalizeGpio(28));
  t.throws(() => normalizeGpio('P1-22'));
  t.throws(() => normalizeGpio(-1));
});

test('a johnny-five Led on GpiodIO: one gpioset holds each line, a new level replaces it', async (t) => {
  const fake = fakeGpiod();
  const io = new GpiodIO({ spawn: fake.spawn });
  const gpio = await openBoard(io);
  t.deepEqual(io.info, { chip: 'gpiochip0', libgpiod: 2 });
  const led = gpio.led(17);
  await io.settled();
  t.deepEqual(fake.holders().map((c) => c.args.at(-1)), ['17=0']);
  led.on();
  await io.settled();
  t.deepEqual(fake.holders().map((c) => c.args), [['--banner', '--chip', 'gpiochip0', '--consumer', 'smsbox', '17=1']]);
  const first = fake.children.find((c) => c.args.at(-1) === '17=0')!;
  t.is(first.killedWith, 'SIGTERM');
  t.true(first.exited);
  led.off();
  await io.settled();
  t.deepEqual(fake.holders().map((c) => c.args.at(-1)), ['17=0']);
  await gpio.close();
  t.deepEqual(fake.holders(), []);
});

test('a new level counts as reached only once gpioset v2 says it holds the line (its banner)', async (t) => {
  const fake = fakeGpiod({ bannerDelayMs: 150 });
  const io = new GpiodIO({ spawn: fake.spawn });
  const gpio = await openBoard(io);
  const pin = gpio.output(6);
  await io.settled();
  const start = Date.now();
  pin.high();
  await io.settled();
  // PWRKEY pulses are timed from here: never before the line is driven.
  t.true(Date.now() - start >= 140, `settled after ${Date.now() - start} ms`);
  await gpio.close();
});

test('levels written faster than processes start are coalesced: the line ends at the last one', async (t) => {
  const fake = fakeGpiod();
  const io = new GpiodIO({ spawn: fake.spawn });
  const gpio = await openBoard(io);
  const led = gpio.led(22);
  for (let i = 0; i < 20; i++) led.toggle();
  led.on();
  await io.settled();
  t.deepEqual(fake.holders().map((c) => c.args.at(-1)), ['22=1']);
  // Far fewer processes than writes: each change waits for the previous holder to exit, then applies the latest level.
  const started = fake.children.filter((c) => c.args.at(-1)?.startsWith('22=')).length;
  t.true(started <= 4, `${started} gpioset processes for 21 writes`);
  await gpio.close();
});

test('libgpiod v1 (Debian 12, Raspberry Pi OS bookworm): gpioset --mode=signal CHIP LINE=V', async (t) => {
  const fake = fakeGpiod({ version: 'v1.6.3', gpiodetect: 'gpiochip0 [pinctrl-bcm2835] (54 lines)\n' });
  const io = new GpiodIO({ spawn: fake.spawn });
  const gpio = await openBoard(io);
  gpio.output(6).high();
  await io.settled();
  t.deepEqual(fake.holders().map((c) => c.args), [['--mode=signal', 'gpiochip0', '6=1']]);
  await gpio.close();
});

test('a configured chip is used as it is, without gpiodetect', async (t) => {
  const fake = fakeGpiod();
  const io = new GpiodIO({ spawn: fake.spawn, chip: 'gpiochip4' });
  const gpio = await openBoard(io);
  gpio.output(6).low();
  await io.settled();
  t.false(fake.children.some((c) => c.command.endsWith('gpiodetect')));
  t.deepEqual(fake.holders()[0]!.args.slice(1, 3), ['--chip', 'gpiochip4']);
  await gpio.close();
});

test('a gpioset that fails (line busy) is reported with the GPIO and its header pin, not thrown', async (t) => {
  const fake = fakeGpiod({ gpiosetFails: (args) => (args.at(-1) === '6=1' ? 'gpioset: unable to request lines on chip gpiochip0: Device or resource busy' : null) });
  const errors: Error[] = [];
  const io = new GpiodIO({ spawn: fake.spawn });
  const gpio = await openBoard(io, { onError: (error) => errors.push(error) });
  gpio.output(6).high();
  await until(() => errors.length > 0, 'the gpio error');
  t.regex(errors[0]!.message, /GPIO 6 \(pin 31\).*busy/);
  t.is(io.lastError, errors[0]!.message);
  await gpio.close();
});

test('without the gpiod tools the board never becomes ready and says what to install', async (t) => {
  const fake = fakeGpiod({ missing: ['gpioset', 'gpiodetect'] });
  const error = await t.throwsAsync(openBoard(new GpiodIO({ spawn: fake.spawn }), { timeoutMs: 2000 }));
  t.regex(error!.message, /gpiod/);
  t.regex(error!.message, /ENOENT/);
});

test('inputs: readOnce runs gpioget; digitalRead reports the level and its changes', async (t) => {
  const inputs = new Map([[5, 1]]);
  const fake = fakeGpiod({ inputs });
  const io = new GpiodIO({ spawn: fake.spawn, readIntervalMs: 20 });
  const gpio = await openBoard(io);
  t.is(await io.readOnce(5), 1);
  t.deepEqual(fake.children.find((c) => c.command.endsWith('gpioget'))!.args, ['--numeric', '--chip', 'gpiochip0', '--consumer', 'smsbox', '5']);
  const seen: number[] = [];
  io.digitalRead(5, (value) => seen.push(value));
  await until(() => seen.length === 1, 'the first reading');
  inputs.set(5, 0);
  await until(() => seen.length === 2, 'the change');
  await new Promise((resolve) => setTimeout(resolve, 80));
  t.deepEqual(seen, [1, 0]);
  await gpio.close();
});

test('analog, PWM and I2C throw, as the IO-plugin contract asks of essential features a board lacks', async (t) => {
  const fake = fakeGpiod();
  const io = new GpiodIO({ spawn: fake.spawn });
  const gpio = await openBoard(io);
  t.throws(() => io.analogRead());
  t.throws(() => io.pwmWrite());
  t.throws(() => io.i2cConfig());
  t.throws(() => io.pinMode(6, io.MODES.PWM));
  await gpio.close();
});

test('real processes: fake gpiod tools on disk hold lines until stopped, and close() leaves none running', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'smsbox-gpiod-'));
  const log = join(dir, 'gpioset.log');
  const script = (body: string): string => `#!/bin/sh\n${body}\n`;
  writeFileSync(
    join(dir, 'gpioset'),
    script(`if [ "$1" = "--version" ]; then echo "gpioset (libgpiod) v2.2.1"; exit 0; fi
trap 'echo "$$ released" >> "${log}"; exit 0' TERM
echo "$$ $*" >> "${log}"
echo "Setting line '6'..."
while :; do sleep 0.05; done`),
  );
  writeFileSync(join(dir, 'gpiodetect'), script(`echo "gpiochip0 [pinctrl-bcm2711] (58 lines)"`));
  writeFileSync(join(dir, 'gpioget'), script(`echo 1`));
  for (const tool of ['gpioset', 'gpiodetect', 'gpioget']) chmodSync(join(dir, tool), 0o755);
  try {
    const io = new GpiodIO({ toolDir: dir });
    const gpio = await openBoard(io);
    const pin = gpio.output(6);
    await io.settled();
    pin.high();
    await io.settled();
    pin.low();
    await io.settled();
    t.is(await io.readOnce(4), 1);
    await gpio.close();
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    const started = lines.filter((l) => !l.endsWith('released')).map((l) => l.split(' ').slice(1).join(' '));
    t.deepEqual(started, ['--banner --chip gpiochip0 --consumer smsbox 6=0', '--banner --chip gpiochip0 --consumer smsbox 6=1', '--banner --chip gpiochip0 --consumer smsbox 6=0']);
    // Each holder was stopped before the next one started, and the last by close().
    t.is(lines.filter((l) => l.endsWith('released')).length, 3);
    const order = lines.map((l) => (l.endsWith('released') ? 'stop' : 'start'));
    t.deepEqual(order, ['start', 'stop', 'start', 'stop', 'start', 'stop']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
