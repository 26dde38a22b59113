import { unrefTimers, type Timers } from '../clock.js';
import type { GpioBoard } from '../gpio/board.js';
import { LED_NAMES, TIMING, patternCycle, type LedName, type LedPattern } from './patterns.js';

/**
 * Plays LED patterns on johnny-five `Led`s: one step sequencer per LED on
 * injectable timers (johnny-five's own `blink()` only does even on/off, and
 * counted blinks need a pause). A LED whose pattern did not change keeps its
 * rhythm; a changed one restarts at the start of its new pattern.
 */

/** What the driver needs of an LED; a johnny-five `Led` is one. */
export interface LedOutput {
  on(): unknown;
  off(): unknown;
}

export interface LedTimers extends Timers {
  now(): number;
}

/** Real timers that never keep the process alive by themselves. */
export const realLedTimers: LedTimers = { ...unrefTimers, now: () => Date.now() };

/** BCM GPIO of each LED; a LED left out is simply not fitted. */
export type LedPins = Partial<Record<LedName, number>>;

/**
 * The defaults documented in hardware/README.md and hardware/leds.svg: physical pins 11, 13, 15
 * and 37, all clear of every supported HAT's UART, PWRKEY and flight-mode pins.
 */
export const DEFAULT_LED_PINS: Readonly<Record<LedName, number>> = Object.freeze({ power: 17, network: 27, activity: 22, fault: 26 });

export interface LedDriverOptions {
  timers?: LedTimers;
  /** How long `current()` keeps reporting `flash` after the last flash (default 2000 ms). */
  flashReportMs?: number;
}

interface Channel {
  output: LedOutput;
  pattern: LedPattern;
  lit: boolean;
  timer: unknown;
  step: number;
  flashTimer: unknown;
  lastFlashAt: number | null;
}

export class LedDriver {
  private readonly channels = new Map<LedName, Channel>();
  private readonly timers: LedTimers;
  private readonly flashReportMs: number;
  private stopped = false;

  constructor(outputs: Partial<Record<LedName, LedOutput>>, options: LedDriverOptions = {}) {
    this.timers = options.timers ?? realLedTimers;
    this.flashReportMs = options.flashReportMs ?? 2000;
    for (const name of LED_NAMES) {
      const output = outputs[name];
      if (!output) continue;
      output.off();
      this.channels.set(name, { output, pattern: 'off', lit: false, timer: null, step: 0, flashTimer: null, lastFlashAt: null });
    }
  }

  /** A driver on johnny-five `Led`s of a board, one per fitted pin. */
  static onBoard(gpio: GpioBoard, pins: LedPins = DEFAULT_LED_PINS, options: LedDriverOptions = {}): LedDriver {
    const outputs: Partial<Record<LedName, LedOutput>> = {};
    for (const name of LED_NAMES) {
      const pin = pins[name];
      if (pin !== undefined) outputs[name] = gpio.led(pin);
    }
    return new LedDriver(outputs, options);
  }

  /** Shows these patterns; LEDs not named keep theirs. `flash` is ignored here: use flash(). */
  set(patterns: Partial<Record<LedName, LedPattern>>): void {
    if (this.stopped) return;
    for (const [name, pattern] of Object.entries(patterns) as [LedName, LedPattern][]) {
      const channel = this.channels.get(name);
      if (!channel || pattern === 'flash' || channel.pattern === pattern) continue;
      this.play(channel, pattern);
    }
  }

  /** One short light on `led` (default: activity), for a segment sent or received. */
  flash(led: LedName = 'activity'): void {
    const channel = this.channels.get(led);
    if (!channel || this.stopped) return;
    channel.lastFlashAt = this.timers.now();
    if (channel.flashTimer !== null) return; // already lit by a flash: one light per burst
    this.light(channel, true);
    channel.flashTimer = this.timers.setTimeout(() => {
      channel.flashTimer = null;
      // Back to what the pattern shows now (a flash on a steady-on LED ends lit).
      this.light(channel, this.patternLevel(channel));
    }, TIMING.flashMs);
  }

  /** Each fitted LED's pattern as `/api/status` reports it. */
  current(): Record<string, string> {
    const out: Record<string, string> = {};
    const now = this.timers.now();
    for (const [name, channel] of this.channels) {
      const flashing = channel.lastFlashAt !== null && now - channel.lastFlashAt < this.flashReportMs;
      out[name] = flashing && channel.pattern === 'off' ? 'flash' : channel.pattern;
    }
    return out;
  }

  /** Whether each fitted LED is lit this instant (the simulator's status page draws it). */
  lit(): Record<string, boolean> {
    const out: Record<string, boolean> = {};
    for (const [name, channel] of this.channels) out[name] = channel.lit;
    return out;
  }

  /** Every LED off and every timer stopped: the clean-shutdown step. Later set()/flash() do nothing. */
  off(): void {
    this.stopped = true;
    for (const channel of this.channels.values()) {
      this.cancel(channel);
      channel.pattern = 'off';
      this.light(channel, false);
    }
  }

  private play(channel: Channel, pattern: LedPattern): void {
    this.cancel(channel);
    channel.pattern = pattern;
    channel.step = 0;
    const cycle = patternCycle(pattern);
    if (!cycle) {
      this.light(channel, pattern === 'on');
      return;
    }
    const advance = (): void => {
      const step = cycle[channel.step % cycle.length]!;
      if (channel.flashTimer === null) this.light(channel, step.level === 1);
      channel.step = (channel.step + 1) % cycle.length;
      channel.timer = this.timers.setTimeout(advance, step.ms);
    };
    advance();
  }

  /** The level the LED's pattern shows at this step (what a flash returns to). */
  private patternLevel(channel: Channel): boolean {
    const cycle = patternCycle(channel.pattern);
    if (!cycle) return channel.pattern === 'on';
    const current = (channel.step - 1 + cycle.length) % cycle.length;
    return cycle[current]!.level === 1;
  }

  private cancel(channel: Channel): void {
    if (channel.timer !== null) this.timers.clearTimeout(channel.timer);
    channel.timer = null;
    if (channel.flashTimer !== null) this.timers.clearTimeout(channel.flashTimer);
    channel.flashTimer = null;
  }

  private light(channel: Channel, on: boolean): void {
    if (channel.lit === on) return;
    channel.lit = on;
    if (on) channel.output.on();
    else channel.output.off();
  }
}
