import test from 'ava';
import { connectVirtualPwrkey, pulsesOf, VirtualBoard } from '../../hardware/simulator/virtual-board.js';
import { VirtualModem } from '../../hardware/simulator/virtual-modem.js';
import { openBoard } from '../../src/gpio/board.js';
import { JohnnyFivePower, modemPowerFor, pwrkeyWiring } from '../../src/gpio/power.js';
import { loadHat, type HatProfile } from '../../src/modem/hats.js';
import { noPowerText, PowerUnavailableError, USB_NO_POWER_TEXT } from '../../src/modem/power.js';

/** A board whose clock only moves when the power's sleep says so: pulses are instant, their recorded lengths exact. */
async function fakeTimeRig(hat: HatProfile, wiringPatch: Partial<ReturnType<typeof pwrkeyWiring> & object> = {}) {
  let now = 1_700_000_000_000;
  const board = new VirtualBoard({ now: () => now });
  const gpio = await openBoard(board);
  const wiring = { ...pwrkeyWiring(hat)!, ...wiringPatch };
  const power = new JohnnyFivePower(gpio, wiring, {
    sleep: async (ms) => {
      now += ms;
    },
  });
  const modem = new VirtualModem({ initialPower: 'off', bootMs: 10 });
  const disconnect = connectVirtualPwrkey(board, modem, wiring);
  return {
    board,
    gpio,
    power,
    modem,
    wiring,
    async close() {
      disconnect();
      modem.dispose();
      await gpio.close();
    },
  };
}

test('power-on pulse in real time on the SIM7600 profile: GPIO 6 high for at least the profile\'s 1000 ms, and the virtual module switches on', async (t) => {
  const hat = loadHat('sim7600');
  const board = new VirtualBoard();
  const gpio = await openBoard(board);
  const wiring = pwrkeyWiring(hat)!;
  t.deepEqual(wiring, { pwrkeyGpio: 6, activeHigh: true, statusGpio: null, flightModeGpio: 4 });
  const power = new JohnnyFivePower(gpio, wiring);
  const modem = new VirtualModem({ initialPower: 'off', bootMs: 10 });
  const disconnect = connectVirtualPwrkey(board, modem, wiring);
  const start = Date.now();
  await power.pulsePwrkey(hat.power.powerOnPulseMs);
  const pulses = pulsesOf(board.history(6, start));
  t.is(pulses.length, 1);
  // Never shorter than the profile (the module ignores a short press); a loaded machine may make it longer.
  t.true(pulses[0]!.ms >= hat.power.powerOnPulseMs, `pulse ${pulses[0]!.ms} ms`);
  t.true(pulses[0]!.ms < hat.power.powerOnPulseMs + 700, `pulse ${pulses[0]!.ms} ms`);
  t.is(board.level(6), 0);
  t.true(modem.isPoweredOn());
  // Flight mode (GPIO 4 on this HAT) is held off.
  t.true(board.isOutput(4));
  t.is(board.level(4), 0);
  disconnect();
  modem.dispose();
  await gpio.close();
});

test('pin → modem: the off pulse switches a running module off, the on pulse back on, with the profile\'s exact lengths', async (t) => {
  const hat = loadHat('sim7600');
  const r = await fakeTimeRig(hat);
  await r.power.pulsePwrkey(hat.power.powerOnPulseMs);
  t.true(r.modem.isPoweredOn());
  // A power-on pulse on a running SIM7600 does nothing (1 s < 2.5 s).
  await r.power.pulsePwrkey(hat.power.powerOnPulseMs);
  t.true(r.modem.isPoweredOn());
  await r.power.pulsePwrkey(hat.power.powerOffPulseMs);
  t.false(r.modem.isPoweredOn());
  t.deepEqual(pulsesOf(r.board.history(6)).map((p) => p.ms), [1000, 1000, 3000]);
  await r.close();
});

test('pulses asked for at once do not overlap: the second waits for the first release', async (t) => {
  const hat = loadHat('sim868');
  const r = await fakeTimeRig(hat);
  await Promise.all([r.power.pulsePwrkey(hat.power.powerOnPulseMs), r.power.pulsePwrkey(hat.power.powerOffPulseMs)]);
  t.deepEqual(pulsesOf(r.board.history(hat.power.pwrkeyGpio!)).map((p) => p.ms), [1200, 2000]);
  await r.close();
});

test('active-low wiring: PWRKEY idles high and a press pulls it low', async (t) => {
  const hat = loadHat('sim7600');
  const r = await fakeTimeRig(hat, { activeHigh: false });
  t.is(r.board.level(6), 1);
  await r.power.pulsePwrkey(hat.power.powerOnPulseMs);
  t.is(r.board.level(6), 1);
  t.deepEqual(pulsesOf(r.board.history(6), false).map((p) => p.ms), [1000]);
  t.true(r.modem.isPoweredOn());
  await r.close();
});

test('a HAT with a STATUS pin: readStatusPin follows the module\'s power', async (t) => {
  const hat = loadHat('sim7600');
  const r = await fakeTimeRig(hat, { statusGpio: 5 });
  t.false(await r.power.readStatusPin());
  await r.power.pulsePwrkey(hat.power.powerOnPulseMs);
  t.true(await r.power.readStatusPin());
  await r.close();
});

test('modemPowerFor: NoPower with the reason when there is no board or the profile names no PWRKEY pin', async (t) => {
  const ec25 = loadHat('ec25');
  t.false(modemPowerFor(null, ec25).canPulse);
  const board = new VirtualBoard();
  const gpio = await openBoard(board);
  const none = modemPowerFor(gpio, ec25);
  t.false(none.canPulse);
  const error = await t.throwsAsync(none.pulsePwrkey(600));
  t.regex(error!.message, /pwrkey_gpio/);
  // Config can name the pin the profile lacks.
  const configured = modemPowerFor(gpio, ec25, { pwrkeyGpio: 26 });
  t.true(configured.canPulse);
  t.true(board.isOutput(26));
  t.is(board.level(26), 0);
  await gpio.close();
});

test('modemPowerFor: a USB modem has no power control (USB), even with a board and a pwrkey_gpio in the config', async (t) => {
  const usb = loadHat('sim7600-usb');
  const board = new VirtualBoard();
  const gpio = await openBoard(board);
  for (const power of [modemPowerFor(null, usb), modemPowerFor(gpio, usb), modemPowerFor(gpio, usb, { pwrkeyGpio: 6 })]) {
    t.false(power.canPulse);
    const error = await t.throwsAsync(power.pulsePwrkey(1000), { instanceOf: PowerUnavailableError });
    t.regex(error!.message, /This modem has no power control \(USB\)/);
    t.regex(error!.message, /此模块没有电源控制（USB）/);
    t.deepEqual(noPowerText(power), USB_NO_POWER_TEXT);
  }
  t.false(board.isOutput(6), 'no GPIO driven for a module that has no key');
  t.is(pwrkeyWiring(usb, { pwrkeyGpio: 6 }), null);
  // A HAT whose key is merely unwired says so, not "USB".
  t.notRegex(noPowerText(modemPowerFor(gpio, loadHat('ec25')))!.en, /USB/);
  t.is(noPowerText(modemPowerFor(gpio, loadHat('sim7600'))), null);
  await gpio.close();
});
