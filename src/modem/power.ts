/**
 * The GPIO seam for the modem's power: pressing PWRKEY and reading the STATUS
 * pin. On the Pi, johnny-five implements it (issue 7); here are the board with
 * no GPIO at all and the virtual HAT's power switch.
 */
export interface ModemPower {
  /** False when this power cannot press PWRKEY: the box can then neither power on nor power-cycle the modem. */
  readonly canPulse: boolean;
  /** Holds PWRKEY pressed for `ms`, then releases it; resolves once released. */
  pulsePwrkey(ms: number): Promise<void>;
  /** The module's STATUS output: true = on, false = off, null = not wired or unknown. */
  readStatusPin?(): Promise<boolean | null>;
}

export class PowerUnavailableError extends Error {
  override name = 'PowerUnavailableError';
}

/** Why the box cannot power the modem, and what the owner does instead, in both languages. */
export interface NoPowerText {
  zh: string;
  en: string;
}

/** A USB modem: the bus powers it, there is no PWRKEY to press. */
export const USB_NO_POWER_TEXT: NoPowerText = Object.freeze({
  zh: '此模块没有电源控制（USB）：本机无法给它开机或断电重启。需要重启时，请拔下模块的 USB 线，等 10 秒再插上',
  en: 'This modem has no power control (USB): the box cannot power it on or power-cycle it. When it needs a restart, unplug its USB cable, wait 10 seconds and plug it back in',
});

/** No GPIO (a HAT whose PWRKEY is not wired, a USB modem, a tty): the modem must already be on. */
export class NoPower implements ModemPower {
  readonly canPulse = false;
  /** What the status page, the events and the watchdog say about it. */
  readonly text: NoPowerText;
  constructor(
    readonly reason = 'no GPIO is connected to the HAT\'s PWRKEY',
    text?: NoPowerText,
  ) {
    this.text = text ?? {
      zh: '本机无法控制模块电源：需要重启时请拔掉电源再接上；要开机请按 PWR 键或用跳线帽短接 PWR 与 3V3',
      en: `This box cannot press the modem's PWRKEY (${reason}): when it needs a restart, unplug the box and plug it back in; to switch it on, press PWR or put the jumper on PWR–3V3`,
    };
  }

  /** A USB modem, powered by the bus. */
  static usb(): NoPower {
    return new NoPower('this modem has no power control (USB)', USB_NO_POWER_TEXT);
  }

  async pulsePwrkey(): Promise<void> {
    throw new PowerUnavailableError(`${this.text.en}. ${this.text.zh}。`);
  }
  async readStatusPin(): Promise<boolean | null> {
    return null;
  }
}

/** What to say when `power` cannot press PWRKEY; null when it can. */
export function noPowerText(power: ModemPower): NoPowerText | null {
  if (power.canPulse) return null;
  return power instanceof NoPower ? power.text : new NoPower().text;
}

/** The part of the VirtualModem a power switch needs (structural, so src/ does not depend on hardware/). */
export interface PowerSwitchable {
  isPoweredOn(): boolean;
  powerOn(): void;
  powerOff(): void;
}

export interface SimulatorPowerOptions {
  /** A pulse at least this long turns a running module off (SIM7600: 2.5 s). */
  offPulseMs?: number;
  /** Waits `ms`; the default waits in real time. Tests pass a fake to make pulses instant. */
  sleep?: (ms: number) => Promise<void>;
}

const realSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * PWRKEY of the virtual HAT, behaving as the SIM7600's: a pulse turns a module
 * that is off on; a pulse of at least `offPulseMs` turns a running one off;
 * a shorter pulse on a running module does nothing.
 */
export function simulatorPower(modem: PowerSwitchable, options: SimulatorPowerOptions = {}): ModemPower & { pulses: { ms: number; at: number }[] } {
  const offPulseMs = options.offPulseMs ?? 2500;
  const sleep = options.sleep ?? realSleep;
  const pulses: { ms: number; at: number }[] = [];
  return {
    canPulse: true,
    pulses,
    async pulsePwrkey(ms: number): Promise<void> {
      pulses.push({ ms, at: Date.now() });
      const wasOn = modem.isPoweredOn();
      await sleep(ms);
      if (!wasOn) modem.powerOn();
      else if (ms >= offPulseMs) modem.powerOff();
    },
    async readStatusPin(): Promise<boolean | null> {
      return modem.isPoweredOn();
    },
  };
}
