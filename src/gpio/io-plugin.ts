import { EventEmitter } from 'node:events';

/**
 * The part of johnny-five's IO-plugin contract the box uses: digital
 * in and out on the Pi's 40-pin header, addressed by BCM GPIO number.
 * A plugin is what a johnny-five `Board` talks to; `Led` and `Pin` call
 * `pinMode`, `digitalWrite` and `digitalRead` on it.
 *
 * Contract (github.com/rwaldron/io-plugins): an EventEmitter that emits
 * "connect" then "ready" asynchronously, sets `isReady` no later than the turn
 * it emits "ready", and has frozen `MODES`, a `pins` array indexed by pin
 * address, `analogPins`, `HIGH`/`LOW`. Essential features it cannot do must
 * throw (analog, PWM, servo, I2C here: the header has no ADC and the box
 * drives only LEDs and PWRKEY).
 */

export const MODES = Object.freeze({ INPUT: 0, OUTPUT: 1, ANALOG: 2, PWM: 3, SERVO: 4 } as const);

export interface PinConfig {
  supportedModes: number[];
  mode: number;
  value: number;
  report: number;
  analogChannel: number;
}

/** BCM GPIO numbers on the 40-pin header of every Pi since the B+: 0-27. */
export const HEADER_GPIO_COUNT = 28;

/**
 * BCM GPIO number → physical pin of the 40-pin header (same on Pi 3, 4, 5, Zero 2 W).
 * Used by the docs and error messages so a shop can find the pin on the board.
 */
export const PHYSICAL_PIN: Readonly<Record<number, number>> = Object.freeze({
  2: 3, 3: 5, 4: 7, 14: 8, 15: 10, 17: 11, 18: 12, 27: 13, 22: 15, 23: 16, 24: 18, 10: 19, 9: 21,
  25: 22, 11: 23, 8: 24, 7: 26, 0: 27, 1: 28, 5: 29, 6: 31, 12: 32, 13: 33, 19: 35, 16: 36, 26: 37,
  20: 38, 21: 40,
});

export class GpioError extends Error {
  override name = 'GpioError';
}

/** `6`, `"6"`, `"GPIO6"`, `"BCM6"` → 6; anything else throws. */
export function normalizeGpio(pin: unknown): number {
  const text = typeof pin === 'number' ? String(pin) : typeof pin === 'string' ? pin.trim().toUpperCase().replace(/^(GPIO|BCM)/, '') : '';
  if (!/^\d{1,2}$/.test(text)) throw new GpioError(`"${String(pin)}" is not a GPIO number (BCM 0-${HEADER_GPIO_COUNT - 1})`);
  const n = Number(text);
  if (n >= HEADER_GPIO_COUNT) throw new GpioError(`GPIO ${n} is not on the 40-pin header (BCM 0-${HEADER_GPIO_COUNT - 1})`);
  return n;
}

/** What the rest of the box needs of a plugin besides johnny-five's contract. */
export interface GpioPlugin extends EventEmitter {
  readonly name: string;
  readonly isReady: boolean;
  readonly MODES: typeof MODES;
  readonly pins: PinConfig[];
  pinMode(pin: number | string, mode: number): this;
  digitalWrite(pin: number | string, value: number): this;
  digitalRead(pin: number | string, handler: (value: number) => void): this;
  /** Reads an input once (the STATUS pin before a power action). */
  readOnce(pin: number | string): Promise<number>;
  /** Resolves once every line has reached the level last written (a plugin whose writes are asynchronous). */
  settled?(): Promise<void>;
  /** Releases every line and stops every reader; the plugin is unusable afterwards. */
  close(): Promise<void>;
}

/**
 * Shared bookkeeping of the box's plugins: pin table, modes, validation,
 * the unsupported half of the contract. Subclasses move the real line.
 */
export abstract class DigitalIoPlugin extends EventEmitter implements GpioPlugin {
  readonly MODES = MODES;
  readonly HIGH = 1;
  readonly LOW = 0;
  readonly analogPins: number[] = [];
  readonly SERIAL_PORT_IDs = Object.freeze({});
  readonly RESOLUTION = Object.freeze({ ADC: 0, DAC: null, PWM: 1 });
  readonly pins: PinConfig[];
  isReady = false;
  protected closed = false;
  private readonly readers = new Map<number, Set<(value: number) => void>>();
  /** The level last reported to the readers of each watched input. */
  private readonly reported = new Map<number, number>();
  /** Outputs whose line has been requested (driveLine called at least once). */
  private readonly outputStarted = new Set<number>();

  constructor(readonly name: string) {
    super();
    this.pins = Array.from({ length: HEADER_GPIO_COUNT }, () => ({
      supportedModes: [MODES.INPUT, MODES.OUTPUT],
      mode: MODES.INPUT,
      value: 0,
      report: 0,
      analogChannel: 127,
    }));
  }

  /** johnny-five's Board.Options passes every pin through here. */
  normalize(pin: unknown): number {
    return normalizeGpio(pin);
  }

  pinMode(pin: number | string, mode: number): this {
    const n = this.normalize(pin);
    if (mode !== MODES.INPUT && mode !== MODES.OUTPUT) {
      throw new GpioError(`GPIO ${n}: mode ${mode} is not supported (only INPUT and OUTPUT on this board)`);
    }
    this.ensureOpen();
    const config = this.pins[n]!;
    if (config.mode === mode && (mode === MODES.INPUT || this.outputStarted.has(n))) return this;
    config.mode = mode;
    if (mode === MODES.OUTPUT) {
      this.outputStarted.add(n);
      this.driveLine(n, config.value ? 1 : 0);
    } else {
      this.outputStarted.delete(n);
      this.releaseLine(n);
    }
    return this;
  }

  digitalWrite(pin: number | string, value: number | boolean): this {
    const n = this.normalize(pin);
    this.ensureOpen();
    const level = value ? 1 : 0;
    const config = this.pins[n]!;
    if (config.mode !== MODES.OUTPUT || !this.outputStarted.has(n)) {
      config.value = level;
      return this.pinMode(n, MODES.OUTPUT);
    }
    if (config.value === level) return this;
    config.value = level;
    this.driveLine(n, level);
    return this;
  }

  digitalRead(pin: number | string, handler: (value: number) => void): this {
    const n = this.normalize(pin);
    this.ensureOpen();
    if (this.pins[n]!.mode !== MODES.INPUT) this.pinMode(n, MODES.INPUT);
    let handlers = this.readers.get(n);
    if (!handlers) {
      handlers = new Set();
      this.readers.set(n, handlers);
      this.pins[n]!.report = 1;
      this.watchLine(n);
    }
    handlers.add(handler);
    const known = this.reported.get(n);
    if (known !== undefined) setImmediate(() => handler(known));
    return this;
  }

  abstract readOnce(pin: number | string): Promise<number>;

  /** Subclasses call this when an input line read a new level. */
  protected inputChanged(pin: number, value: number): void {
    const level = value ? 1 : 0;
    this.pins[pin]!.value = level;
    if (this.reported.get(pin) === level) return;
    this.reported.set(pin, level);
    for (const handler of this.readers.get(pin) ?? []) handler(level);
    this.emit(`digital-read-${pin}`, level);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.readers.clear();
    this.reported.clear();
    await this.shutdown();
    this.isReady = false;
    this.emit('close');
  }

  /** Emits "connect" and "ready" on a later turn, as the contract asks. */
  protected announceReady(): void {
    setImmediate(() => {
      if (this.closed) return;
      this.emit('connect');
      this.isReady = true;
      this.emit('ready');
    });
  }

  protected ensureOpen(): void {
    if (this.closed) throw new GpioError(`${this.name}: the board is closed`);
  }

  /** Makes the line an output at `level` (or changes its level). */
  protected abstract driveLine(pin: number, level: number): void;
  /** The line is an input again (or no longer used). */
  protected abstract releaseLine(pin: number): void;
  /** Starts reporting the line's level through inputChanged(). */
  protected abstract watchLine(pin: number): void;
  protected abstract shutdown(): Promise<void>;

  // ------------------------------------------------------------------ unsupported: essential features must throw

  analogRead(): never {
    throw new GpioError(`${this.name}: analogRead is not supported (the Pi has no analog inputs)`);
  }
  analogWrite(): never {
    throw new GpioError(`${this.name}: analogWrite/PWM is not supported`);
  }
  pwmWrite(): never {
    return this.analogWrite();
  }
  servoWrite(): never {
    throw new GpioError(`${this.name}: servoWrite is not supported`);
  }
  i2cConfig(): never {
    throw new GpioError(`${this.name}: I2C is not supported`);
  }
  i2cWrite(): never {
    return this.i2cConfig();
  }
  i2cRead(): never {
    return this.i2cConfig();
  }
}
