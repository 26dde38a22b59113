import type { Board, Led, Pin } from 'johnny-five';
import { GpioError, type GpioPlugin } from './io-plugin.js';

/**
 * A johnny-five Board on one of the box's IO plugins (GpiodIO on the Pi,
 * VirtualBoard elsewhere), with johnny-five's REPL, console logging and
 * SIGINT handler off: the box owns its process, its log and its shutdown.
 */
export interface GpioBoard {
  readonly board: Board;
  readonly io: GpioPlugin;
  /** A johnny-five Led on a BCM GPIO (wired GPIO → resistor → LED → GND). */
  led(gpio: number): Led;
  /** A johnny-five digital output Pin on a BCM GPIO, driven at `initialLevel` from its first instant (default low). */
  output(gpio: number, initialLevel?: 0 | 1): Pin;
  /** Releases every line (LEDs and PWRKEY let go). */
  close(): Promise<void>;
}

export interface OpenBoardOptions {
  /** How long to wait for the plugin's "ready" (default 10 000 ms). */
  timeoutMs?: number;
  /** Where johnny-five's and the plugin's errors go (default: dropped, so an unheard 'error' cannot kill the box). */
  onError?: (error: Error) => void;
}

export async function openBoard(io: GpioPlugin, options: OpenBoardOptions = {}): Promise<GpioBoard> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const onError = options.onError ?? (() => {});
  const started = Date.now();
  await pluginReady(io, timeoutMs);
  // johnny-five costs about 15 MiB of memory: loaded only once there are pins to
  // drive, so a box without GPIO (a PC, a USB modem) never carries it.
  const { default: five } = await import('johnny-five');
  const board = new five.Board({ io, repl: false, debug: false, sigint: false, timeout: timeoutMs });
  board.on('error', (error: unknown) => onError(error instanceof Error ? error : new GpioError(String((error as { message?: string })?.message ?? error))));
  io.on('gpio-error', onError);

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new GpioError(`${io.name} did not become ready within ${timeoutMs} ms`));
    }, Math.max(0, timeoutMs - (Date.now() - started)));
    const failed = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const ready = (): void => {
      cleanup();
      resolve();
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      board.off('ready', ready);
      io.off('gpio-error', failed);
    };
    board.once('ready', ready);
    io.once('gpio-error', failed);
  });

  return {
    board,
    io,
    led: (gpio) => new five.Led({ pin: gpio, board }),
    output: (gpio, initialLevel = 0) => {
      // Claim the line at its idle level before johnny-five makes it an output (at level 0):
      // an active-low PWRKEY must never see a glitch that presses it.
      io.digitalWrite(gpio, initialLevel);
      return new five.Pin({ pin: gpio, board, type: 'digital', mode: 1 });
    },
    close: () => io.close(),
  };
}

/** The plugin's own "ready" (johnny-five takes a plugin that is ready already), or its error. */
function pluginReady(io: GpioPlugin, timeoutMs: number): Promise<void> {
  if (io.isReady) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new GpioError(`${io.name} did not become ready within ${timeoutMs} ms`));
    }, timeoutMs);
    const ready = (): void => {
      cleanup();
      resolve();
    };
    const failed = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      io.off('ready', ready);
      io.off('gpio-error', failed);
    };
    io.once('ready', ready);
    io.once('gpio-error', failed);
  });
}
