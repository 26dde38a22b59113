import type { Pin } from 'johnny-five';
import { hatHasPowerControl, type HatProfile } from '../modem/hats.js';
import { NoPower, type ModemPower } from '../modem/power.js';
import type { GpioBoard } from './board.js';
import { PHYSICAL_PIN } from './io-plugin.js';

/**
 * The modem's power through johnny-five: a `Pin` on the HAT's PWRKEY GPIO,
 * pressed for the profile's pulse lengths, and the module's STATUS output
 * read where the HAT routes it. Implements the ModemPower seam of
 * src/modem/power.ts, so the Modem and the watchdog do not know GPIO exists.
 */

export interface PwrkeyWiring {
  /** BCM number of the GPIO that presses PWRKEY. */
  pwrkeyGpio: number;
  /** True when a high GPIO presses the key (an NPN transistor on the HAT). */
  activeHigh: boolean;
  /** BCM number of the module's STATUS output, or null. */
  statusGpio: number | null;
  /** BCM number of the flight-mode input, held at its inactive level (low), or null. */
  flightModeGpio: number | null;
}

/** What config may override from the profile ([modem] pwrkey_gpio, status_gpio). */
export interface PowerPinOverrides {
  pwrkeyGpio?: number | null;
  statusGpio?: number | null;
}

/** The HAT's power wiring, or null when no GPIO presses its PWRKEY (then the box cannot power it). */
export function pwrkeyWiring(hat: HatProfile, overrides: PowerPinOverrides = {}): PwrkeyWiring | null {
  // The bus powers a USB module: a pin in the config cannot press a key the module does not expose.
  if (!hatHasPowerControl(hat)) return null;
  const pwrkeyGpio = overrides.pwrkeyGpio !== undefined ? overrides.pwrkeyGpio : hat.power.pwrkeyGpio;
  if (pwrkeyGpio === null) return null;
  return {
    pwrkeyGpio,
    activeHigh: hat.power.pwrkeyActiveHigh,
    statusGpio: overrides.statusGpio !== undefined ? overrides.statusGpio : hat.power.statusGpio,
    flightModeGpio: hat.power.flightModeGpio,
  };
}

export interface JohnnyFivePowerOptions {
  /** Waits `ms` (tests may pass a fake; the default is a real timer). */
  sleep?: (ms: number) => Promise<void>;
}

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class JohnnyFivePower implements ModemPower {
  readonly canPulse = true;
  private readonly pwrkey: Pin;
  private readonly sleep: (ms: number) => Promise<void>;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly gpio: GpioBoard,
    readonly wiring: PwrkeyWiring,
    options: JohnnyFivePowerOptions = {},
  ) {
    this.sleep = options.sleep ?? realSleep;
    // Released from the first instant: a floating or glitching GPIO could press the key.
    this.pwrkey = gpio.output(wiring.pwrkeyGpio, wiring.activeHigh ? 0 : 1);
    this.release();
    if (wiring.flightModeGpio !== null) gpio.output(wiring.flightModeGpio).low();
  }

  /** Holds PWRKEY pressed for `ms`, then releases it. Pulses never overlap. */
  pulsePwrkey(ms: number): Promise<void> {
    const run = this.chain.then(async () => {
      this.press();
      await this.gpio.io.settled?.();
      try {
        await this.sleep(ms);
      } finally {
        this.release();
        await this.gpio.io.settled?.();
      }
    });
    this.chain = run.catch(() => {});
    return run;
  }

  async readStatusPin(): Promise<boolean | null> {
    if (this.wiring.statusGpio === null) return null;
    try {
      return (await this.gpio.io.readOnce(this.wiring.statusGpio)) === 1;
    } catch {
      return null;
    }
  }

  /** Where PWRKEY is, for the events log and the doctor. */
  describe(): string {
    const physical = PHYSICAL_PIN[this.wiring.pwrkeyGpio];
    return `PWRKEY on GPIO ${this.wiring.pwrkeyGpio}${physical ? ` (pin ${physical})` : ''}, ${this.wiring.activeHigh ? 'high' : 'low'} = pressed`;
  }

  private press(): void {
    if (this.wiring.activeHigh) this.pwrkey.high();
    else this.pwrkey.low();
  }

  private release(): void {
    if (this.wiring.activeHigh) this.pwrkey.low();
    else this.pwrkey.high();
  }
}

/**
 * The ModemPower for a box: johnny-five on the profile's PWRKEY when there is
 * a GPIO board and the profile (or config) names the pin, else NoPower with
 * the reason (a USB modem: "no power control (USB)", whatever the config says).
 */
export function modemPowerFor(gpio: GpioBoard | null, hat: HatProfile, overrides: PowerPinOverrides = {}, options: JohnnyFivePowerOptions = {}): ModemPower {
  if (!hatHasPowerControl(hat)) return NoPower.usb();
  if (!gpio) return new NoPower('this box has no GPIO (gpiod tools missing or not a Pi)');
  const wiring = pwrkeyWiring(hat, overrides);
  if (!wiring) return new NoPower(`the ${hat.title} profile names no PWRKEY GPIO: set [modem] pwrkey_gpio`);
  return new JohnnyFivePower(gpio, wiring, options);
}
