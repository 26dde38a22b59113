import { DigitalIoPlugin, MODES } from '../../src/gpio/io-plugin.js';
import type { VirtualModem } from './virtual-modem.js';

/**
 * The virtual GPIO board: a johnny-five IO plugin with the Pi's 28 header
 * GPIOs that moves no hardware and records every level each pin takes, with
 * its time, in a ring buffer. Tests assert blink patterns and PWRKEY pulses on
 * it; in simulator mode the status page draws the LEDs from it. Wired to a
 * VirtualModem with {@link connectVirtualPwrkey}, a pulse on the PWRKEY pin
 * reaches the modem exactly as the HAT's transistor passes it on.
 */

export interface PinLevel {
  pin: number;
  level: 0 | 1;
  /** Milliseconds, from the board's clock (Date.now by default). */
  at: number;
}

export interface VirtualBoardOptions {
  /** The clock that stamps each level (tests pass a fake one). */
  now?: () => number;
  /** How many level changes are kept, all pins together (default 4096). */
  historySize?: number;
}

export class VirtualBoard extends DigitalIoPlugin {
  private readonly now: () => number;
  private readonly ring: (PinLevel | undefined)[];
  private ringNext = 0;
  private ringCount = 0;
  private readonly levels = new Map<number, 0 | 1>();

  constructor(options: VirtualBoardOptions = {}) {
    super('VirtualBoard');
    this.now = options.now ?? Date.now;
    this.ring = new Array<PinLevel | undefined>(Math.max(16, options.historySize ?? 4096));
    this.announceReady();
  }

  /** The pin's level now; null for a pin never driven nor set. */
  level(pin: number): 0 | 1 | null {
    return this.levels.get(this.normalize(pin)) ?? null;
  }

  /** Whether the pin is an output now. */
  isOutput(pin: number): boolean {
    return this.pins[this.normalize(pin)]!.mode === MODES.OUTPUT;
  }

  /** Recorded level changes, oldest first; only those of `pin` and at or after `since` when given. */
  history(pin?: number, since = -Infinity): PinLevel[] {
    const out: PinLevel[] = [];
    const size = this.ring.length;
    const first = (this.ringNext - this.ringCount + size) % size;
    for (let i = 0; i < this.ringCount; i++) {
      const entry = this.ring[(first + i) % size]!;
      if ((pin === undefined || entry.pin === pin) && entry.at >= since) out.push(entry);
    }
    return out;
  }

  /** The outside world drives an input (the modem's STATUS output, a button). */
  setInput(pin: number, level: number): void {
    const n = this.normalize(pin);
    if (this.pins[n]!.mode === MODES.OUTPUT) throw new Error(`GPIO ${n} is an output: the virtual board will not short it`);
    this.record(n, level ? 1 : 0);
    this.inputChanged(n, level ? 1 : 0);
  }

  async readOnce(pin: number | string): Promise<number> {
    return this.levels.get(this.normalize(pin)) ?? 0;
  }

  protected driveLine(pin: number, level: number): void {
    this.record(pin, level ? 1 : 0);
  }

  protected releaseLine(): void {
    // An input keeps whatever level the outside world gives it.
  }

  protected watchLine(pin: number): void {
    const level = this.levels.get(pin);
    if (level !== undefined) this.inputChanged(pin, level);
  }

  protected async shutdown(): Promise<void> {
    // Nothing to release.
  }

  private record(pin: number, level: 0 | 1): void {
    if (this.levels.get(pin) === level) return;
    this.levels.set(pin, level);
    const entry: PinLevel = { pin, level, at: this.now() };
    this.ring[this.ringNext] = entry;
    this.ringNext = (this.ringNext + 1) % this.ring.length;
    this.ringCount = Math.min(this.ringCount + 1, this.ring.length);
    this.emit('level', entry);
  }
}

/** How long each press of a pin lasted: pairs of (pressed, released) from a history. */
export function pulsesOf(history: readonly PinLevel[], activeHigh = true): { start: number; ms: number }[] {
  const pressed = activeHigh ? 1 : 0;
  const pulses: { start: number; ms: number }[] = [];
  let start: number | null = null;
  for (const entry of history) {
    if (entry.level === pressed && start === null) start = entry.at;
    else if (entry.level !== pressed && start !== null) {
      pulses.push({ start, ms: entry.at - start });
      start = null;
    }
  }
  return pulses;
}

export interface VirtualPwrkeyWiring {
  /** BCM number of the GPIO that drives PWRKEY (the HAT profile's pwrkey_gpio). */
  pwrkeyGpio: number;
  /** True when a high GPIO presses the key (the profile's pwrkey_active_high). */
  activeHigh: boolean;
  /** BCM number of the GPIO wired to the module's STATUS output, if the HAT routes it. */
  statusGpio?: number | null;
}

/**
 * Wires the virtual board's PWRKEY pin to a VirtualModem: the time the pin is
 * held at its pressed level becomes `modem.pwrkeyPulse(ms)` on release, and
 * the STATUS pin (if any) follows the modem's power. Returns the undo.
 */
export function connectVirtualPwrkey(board: VirtualBoard, modem: Pick<VirtualModem, 'pwrkeyPulse' | 'isPoweredOn' | 'on' | 'off'>, wiring: VirtualPwrkeyWiring): () => void {
  const pressedLevel = wiring.activeHigh ? 1 : 0;
  let pressedAt: number | null = board.level(wiring.pwrkeyGpio) === pressedLevel ? Date.now() : null;
  const onLevel = (entry: PinLevel): void => {
    if (entry.pin !== wiring.pwrkeyGpio) return;
    if (entry.level === pressedLevel) {
      pressedAt ??= entry.at;
    } else if (pressedAt !== null) {
      const held = entry.at - pressedAt;
      pressedAt = null;
      modem.pwrkeyPulse(held);
    }
  };
  board.on('level', onLevel);
  const statusGpio = wiring.statusGpio ?? null;
  const onPower = (): void => {
    if (statusGpio !== null && !board.isOutput(statusGpio)) board.setInput(statusGpio, modem.isPoweredOn() ? 1 : 0);
  };
  if (statusGpio !== null) {
    onPower();
    modem.on('power', onPower);
  }
  return () => {
    board.off('level', onLevel);
    if (statusGpio !== null) modem.off('power', onPower);
  };
}
