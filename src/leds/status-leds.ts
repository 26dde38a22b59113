import { LedDriver } from './driver.js';
import { deriveLeds, type LedExtras, type LedState, type LedStatusView } from './patterns.js';

/**
 * The LEDs of a running box: derives the patterns from the status model
 * (on every refresh() and every `intervalMs`) and plays them on the driver.
 * Activity flashes come from flash(), called per segment sent or received.
 */
export interface StatusLedsOptions<View extends LedStatusView = LedStatusView> {
  driver: LedDriver;
  /** The status model's snapshot (StatusModel.snapshot satisfies it). */
  status: () => View;
  /** What the snapshot does not carry: starting, default password, failures … */
  extras?: () => LedExtras;
  /** How often the patterns are derived again without a refresh() (default 1000 ms; 0: only on refresh()). */
  intervalMs?: number;
  /** A snapshot that throws (database gone) must not stop the LEDs: the error goes here. */
  onError?: (error: unknown) => void;
  /** After every derivation, with the snapshot it was derived from (the alerts read the same reasons). */
  onRefresh?: (state: LedState, status: View) => void;
}

export class StatusLeds<View extends LedStatusView = LedStatusView> {
  private timer: NodeJS.Timeout | null = null;
  private last: LedState | null = null;
  private stopped = false;

  constructor(private readonly options: StatusLedsOptions<View>) {}

  start(): void {
    this.refresh();
    const interval = this.options.intervalMs ?? 1000;
    if (interval > 0 && !this.timer) {
      this.timer = setInterval(() => this.refresh(), interval);
      this.timer.unref();
    }
  }

  /** Derives the patterns now (call it on a modem status change). */
  refresh(): LedState | null {
    if (this.stopped) return this.last;
    try {
      const status = this.options.status();
      this.last = deriveLeds(status, this.options.extras?.() ?? {});
      this.options.driver.set(this.last.patterns);
      this.options.onRefresh?.(this.last, status);
    } catch (error) {
      this.options.onError?.(error);
    }
    return this.last;
  }

  /** A segment was sent or received. */
  flash(): void {
    this.options.driver.flash('activity');
  }

  /** Each LED's pattern, for `/api/status` `leds`. */
  current(): Record<string, string> {
    return this.options.driver.current();
  }

  /** Why the fault LED is lit (for the status page), from the last refresh. */
  faults(): LedState['faults'] {
    return this.last?.faults ?? [];
  }

  /** LEDs off, timers stopped (SIGTERM). */
  off(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.options.driver.off();
  }
}
