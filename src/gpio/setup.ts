import { connectVirtualPwrkey, VirtualBoard } from '../../hardware/simulator/virtual-board.js';
import type { VirtualModem } from '../../hardware/simulator/virtual-modem.js';
import { DEFAULT_LED_PINS, LedDriver, type LedDriverOptions, type LedPins } from '../leds/driver.js';
import type { Logger } from '../log.js';
import { hatHasPowerControl, type HatProfile } from '../modem/hats.js';
import { NoPower, simulatorPower, type ModemPower } from '../modem/power.js';
import { openBoard, type GpioBoard } from './board.js';
import { GpiodIO, type GpiodIoOptions } from './gpiod-io.js';
import { JohnnyFivePower, modemPowerFor, pwrkeyWiring, type PowerPinOverrides } from './power.js';

/**
 * Everything GPIO for one box in one call: the johnny-five board (the
 * virtual one wired to the virtual HAT in simulator mode, GpiodIO on a Pi),
 * the modem's power and the LED driver. A box whose GPIO cannot be opened
 * (not a Pi, gpiod tools missing) still runs: no LEDs, NoPower, and a
 * warning in the log.
 */

export interface BoxGpioOptions {
  hat: HatProfile;
  /** The virtual HAT in simulator mode; null on real hardware. */
  simulator: VirtualModem | null;
  /** `[leds]` pins; default DEFAULT_LED_PINS. */
  ledPins?: LedPins;
  /** Config overrides of the profile's PWRKEY / STATUS pins. */
  powerPins?: PowerPinOverrides;
  /** Options of the Pi's plugin (chip, tool directory, an injected spawner in tests). */
  gpiod?: GpiodIoOptions;
  leds?: LedDriverOptions;
  log?: Logger;
  /** How long the board may take to become ready (default 5000 ms). */
  readyTimeoutMs?: number;
}

export interface BoxGpio {
  /** The johnny-five board, or null when GPIO is unavailable. */
  readonly gpio: GpioBoard | null;
  /** The virtual board in simulator mode (the status page draws the LEDs from its pin levels). */
  readonly virtualBoard: VirtualBoard | null;
  readonly power: ModemPower;
  readonly leds: LedDriver;
  /** LEDs off, lines released, the virtual PWRKEY unwired. */
  close(): Promise<void>;
}

export async function setupBoxGpio(options: BoxGpioOptions): Promise<BoxGpio> {
  const ledPins = options.ledPins ?? DEFAULT_LED_PINS;
  const timeoutMs = options.readyTimeoutMs ?? 5000;
  const onError = (error: Error): void => options.log?.warn('GPIO error', { error: error.message });

  if (options.simulator) {
    const virtualBoard = new VirtualBoard();
    const gpio = await openBoard(virtualBoard, { timeoutMs, onError });
    const wiring = pwrkeyWiring(options.hat, options.powerPins);
    let disconnect = (): void => {};
    let power: ModemPower;
    if (wiring) {
      power = new JohnnyFivePower(gpio, wiring);
      disconnect = connectVirtualPwrkey(virtualBoard, options.simulator, wiring);
    } else if (!hatHasPowerControl(options.hat)) {
      // A USB modem is on as soon as the bus is, and the box has no power control over it: so is the virtual one.
      power = NoPower.usb();
      if (!options.simulator.isPoweredOn()) options.simulator.powerOn();
    } else {
      // A profile without a PWRKEY pin: the virtual HAT is still switched through its own seam.
      power = simulatorPower(options.simulator);
    }
    const leds = LedDriver.onBoard(gpio, ledPins, options.leds);
    return {
      gpio,
      virtualBoard,
      power,
      leds,
      async close() {
        leds.off();
        disconnect();
        await gpio.close();
      },
    };
  }

  let gpio: GpioBoard | null = null;
  try {
    gpio = await openBoard(new GpiodIO(options.gpiod), { timeoutMs, onError });
  } catch (error) {
    options.log?.warn('GPIO unavailable: no LEDs, and the modem cannot be power-cycled', { error: error instanceof Error ? error.message : String(error) });
  }
  const power = gpio || !hatHasPowerControl(options.hat) ? modemPowerFor(gpio, options.hat, options.powerPins) : new NoPower('GPIO is unavailable (see the log: gpiod tools, gpio group)');
  const leds = gpio ? LedDriver.onBoard(gpio, ledPins, options.leds) : new LedDriver({}, options.leds);
  return {
    gpio,
    virtualBoard: null,
    power,
    leds,
    async close() {
      leds.off();
      await gpio?.close();
    },
  };
}

/**
 * The power of a modem of the pool other than the first (whose power comes
 * with the board, setupBoxGpio): a virtual HAT is switched through its own
 * seam, except a USB one, which is on from the start and has no power control,
 * like the real one; a real modem gets its PWRKEY pin, or NoPower with the
 * reason (a USB modem: "no power control (USB)").
 */
export function poolModemPower(hat: HatProfile, simulator: VirtualModem | null, gpio: GpioBoard | null, powerPins: PowerPinOverrides = {}): ModemPower {
  if (!simulator) return modemPowerFor(gpio, hat, powerPins);
  if (hatHasPowerControl(hat)) return simulatorPower(simulator);
  if (!simulator.isPoweredOn()) simulator.powerOn();
  return NoPower.usb();
}
