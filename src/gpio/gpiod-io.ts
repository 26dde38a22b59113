import { spawn as nodeSpawn } from 'node:child_process';
import { join } from 'node:path';
import { DigitalIoPlugin, GpioError, PHYSICAL_PIN } from './io-plugin.js';

/**
 * The Pi's IO plugin: the Linux GPIO character device through Debian's
 * `gpiod` tools (`gpiodetect`, `gpioset`, `gpioget`), which work on the Pi 3,
 * 4 and 5 with any current kernel. Why the tools and not a native addon is in
 * hardware/README.md ("GPIO").
 *
 * A line the kernel gives to a process stays requested only while that
 * process keeps its file descriptor, and "it should not be assumed that a
 * line will retain its state after gpioset exits" (gpioset --help). So each
 * output line is held by its own long-running `gpioset`, and a new level
 * replaces that process: the old one is stopped (SIGTERM), then a new one is
 * started with the new level. The tools differ between libgpiod v1 (Debian
 * 12, Raspberry Pi OS bookworm: `gpioset --mode=signal CHIP 6=1`, which
 * exits at once without `--mode`) and v2 (Debian 13: `gpioset --chip CHIP
 * 6=1`, which holds by default and has no `--mode`); the version is read
 * from `gpioset --version` at start. Debian 13 builds gpioset without its
 * interactive mode (no libedit), so one process per change it is.
 *
 * Inputs (a HAT's STATUS pin) are read with `gpioget`, every `readIntervalMs`
 * while someone listens: well under the 50 Hz the IO-plugin notes recommend,
 * but a module's STATUS line changes a few times a day and a process per read
 * at 50 Hz would cost a Pi 3 more than the rest of the box.
 */

export interface ChildLike {
  readonly pid?: number | undefined;
  readonly stdout: NodeJS.ReadableStream | null;
  readonly stderr: NodeJS.ReadableStream | null;
  kill(signal?: NodeJS.Signals): boolean;
  /** 'exit': the process ended; 'close': it ended and its output has been read to the end. */
  once(event: 'exit' | 'close', listener: (code: number | null, signal: NodeJS.Signals | null) => void): this;
  once(event: 'error', listener: (error: Error) => void): this;
}

export type Spawner = (command: string, args: string[]) => ChildLike;

export interface GpiodIoOptions {
  /**
   * The gpiochip of the 40-pin header: a name (`gpiochip0`), number or path.
   * By default the one whose label is the Pi's pin controller
   * (`pinctrl-rp1` on a Pi 5, `pinctrl-bcm2711` on a Pi 4, `pinctrl-bcm2835`
   * on a Pi 3), else `gpiochip0`.
   */
  chip?: string;
  /** Where gpioset/gpioget/gpiodetect live (default: found on PATH). */
  toolDir?: string;
  /** Starts a process (tests inject a fake). */
  spawn?: Spawner;
  /** Period of gpioget while an input is watched (default 1000 ms). */
  readIntervalMs?: number;
  /** Consumer name shown by `gpioinfo` (v2 only). */
  consumer?: string;
}

/** Labels of the chips that carry the 40-pin header, best first. */
const HEADER_CHIP_LABELS = ['pinctrl-rp1', 'pinctrl-bcm2711', 'pinctrl-bcm2835'];

/** `gpiochip0 [pinctrl-bcm2711] (58 lines)` (v1 and v2 alike) → the chip for the header. */
export function pickHeaderChip(gpiodetectOutput: string): string | null {
  const chips = gpiodetectOutput
    .split(/\r?\n/)
    .map((line) => /^(\S+)\s+\[([^\]]*)\]/.exec(line.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ name: m[1]!, label: m[2]! }));
  for (const label of HEADER_CHIP_LABELS) {
    const chip = chips.find((c) => c.label === label);
    if (chip) return chip.name;
  }
  return null;
}

/** `gpioset (libgpiod) v2.2.1` → 2; null when it is not libgpiod's. */
export function libgpiodMajor(versionOutput: string): number | null {
  const m = /libgpiod\)?\s+v?(\d+)\./.exec(versionOutput);
  return m ? Number(m[1]) : null;
}

/** The gpioset command line that holds `line` at `level` until the process is stopped. */
export function gpiosetArgs(major: number, chip: string, line: number, level: number, consumer: string): string[] {
  // v2's --banner prints (and flushes) one line once the line is requested and driven: the moment the level is real.
  return major >= 2 ? ['--banner', '--chip', chip, '--consumer', consumer, `${line}=${level}`] : ['--mode=signal', chip, `${line}=${level}`];
}

/** The gpioget command line that reads `line` once. */
export function gpiogetArgs(major: number, chip: string, line: number, consumer: string): string[] {
  return major >= 2 ? ['--numeric', '--chip', chip, '--consumer', consumer, String(line)] : [chip, String(line)];
}

/** gpioget's answer: `1` / `0` (v1, v2 --numeric) or `"6"=active` (v2). */
export function parseGpioget(output: string): number | null {
  const text = output.trim();
  if (/^[01]$/.test(text)) return Number(text);
  const m = /=(active|inactive)\s*$/.exec(text);
  if (m) return m[1] === 'active' ? 1 : 0;
  return null;
}

/** How long a gpioset v2 may take to print its banner before the change counts as done anyway. */
const BANNER_TIMEOUT_MS = 2000;

interface HeldLine {
  child: ChildLike;
  level: number;
  exited: Promise<void>;
}

export class GpiodIO extends DigitalIoPlugin {
  private readonly spawnProcess: Spawner;
  private readonly toolDir: string | undefined;
  private readonly readIntervalMs: number;
  private readonly consumer: string;
  private chip: string | null;
  private major = 2;
  /** The process holding each output line. */
  private readonly held = new Map<number, HeldLine>();
  /** The level each output should reach; the per-line chain moves the line there. */
  private readonly wanted = new Map<number, number>();
  private readonly chains = new Map<number, Promise<void>>();
  private readonly pollers = new Map<number, NodeJS.Timeout>();
  /** The last failure of a gpio tool, for `smsbox doctor` and the log. */
  lastError: string | null = null;

  constructor(options: GpiodIoOptions = {}) {
    super('GpiodIO');
    this.spawnProcess = options.spawn ?? ((command, args) => nodeSpawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
    this.toolDir = options.toolDir;
    this.readIntervalMs = options.readIntervalMs ?? 1000;
    this.consumer = options.consumer ?? 'smsbox';
    this.chip = options.chip ?? null;
    void this.connect();
  }

  /** The chip in use and the libgpiod major version, once ready. */
  get info(): { chip: string | null; libgpiod: number } {
    return { chip: this.chip, libgpiod: this.major };
  }

  private tool(name: string): string {
    return this.toolDir ? join(this.toolDir, name) : name;
  }

  private async connect(): Promise<void> {
    try {
      const version = await this.run('gpioset', ['--version']);
      const major = libgpiodMajor(version);
      if (major === null) throw new GpioError(`gpioset --version printed "${version.trim()}", not libgpiod's version`);
      this.major = major;
      if (this.chip === null) {
        const chips = await this.run('gpiodetect', []);
        this.chip = pickHeaderChip(chips) ?? 'gpiochip0';
      }
      this.announceReady();
    } catch (error) {
      this.lastError = describe(error);
      // Not 'error': an unheard 'error' event would kill the process, and johnny-five forwards it.
      setImmediate(() => this.emit('gpio-error', new GpioError(
        `GPIO unavailable: ${this.lastError}. Install Debian's "gpiod" package and add the box's user to the "gpio" group. ` +
          `无法使用 GPIO：请安装 gpiod 软件包，并把运行用户加入 gpio 组。`,
      )));
    }
  }

  /** Runs a tool to its end and resolves its stdout; rejects on a non-zero exit. */
  private run(name: string, args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      let child: ChildLike;
      try {
        child = this.spawnProcess(this.tool(name), args);
      } catch (error) {
        reject(error instanceof Error ? error : new Error(String(error)));
        return;
      }
      let out = '';
      let err = '';
      child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
      child.once('error', (error) => reject(new GpioError(`${name}: ${error.message}`)));
      child.once('close', (code) => {
        if (code === 0) resolve(out);
        else reject(new GpioError(`${name} ${args.join(' ')} exited with ${code}: ${err.trim() || out.trim()}`));
      });
    });
  }

  async readOnce(pin: number | string): Promise<number> {
    const n = this.normalize(pin);
    this.ensureOpen();
    const output = await this.run('gpioget', gpiogetArgs(this.major, this.chipName(), n, this.consumer));
    const value = parseGpioget(output);
    if (value === null) throw new GpioError(`gpioget printed "${output.trim()}" for GPIO ${n}`);
    return value;
  }

  private chipName(): string {
    if (this.chip === null) throw new GpioError('GPIO is not ready yet');
    return this.chip;
  }

  protected driveLine(pin: number, level: number): void {
    this.wanted.set(pin, level);
    const previous = this.chains.get(pin) ?? Promise.resolve();
    // Changes of one line are applied in order; a level overtaken by a newer one before its turn is skipped.
    const next = previous.then(() => this.applyLevel(pin)).catch((error: unknown) => this.failed(pin, error));
    this.chains.set(pin, next);
  }

  private async applyLevel(pin: number): Promise<void> {
    const level = this.wanted.get(pin);
    if (level === undefined || this.closed) return;
    const current = this.held.get(pin);
    if (current && current.level === level) return;
    if (current) await this.stopHolding(pin, current);
    const child = this.spawnProcess(this.tool('gpioset'), gpiosetArgs(this.major, this.chipName(), pin, level, this.consumer));
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let driven!: () => void;
    const requested = new Promise<void>((resolve) => (driven = resolve));
    const line: HeldLine = {
      child,
      level,
      exited: new Promise<void>((resolve) => {
        child.once('exit', (code, signal) => {
          driven();
          if (this.held.get(pin) === line) {
            // It died on its own: the line is not held any more.
            this.held.delete(pin);
            if (signal === null) this.failed(pin, new GpioError(`gpioset for GPIO ${pin} exited with ${code}: ${stderr.trim()}`));
          }
          resolve();
        });
        child.once('error', (error) => {
          driven();
          if (this.held.get(pin) === line) this.held.delete(pin);
          this.failed(pin, error);
          resolve();
        });
      }),
    };
    this.held.set(pin, line);
    if (this.major >= 2) {
      // The banner comes once the kernel granted the line at its level; a level change is not done before.
      child.stdout?.once('data', () => driven());
      const timer = setTimeout(driven, BANNER_TIMEOUT_MS);
      await requested;
      clearTimeout(timer);
    } else {
      // libgpiod v1 has no banner: the spawn is all there is to wait for.
      child.stdout?.resume();
    }
  }

  private async stopHolding(pin: number, line: HeldLine): Promise<void> {
    this.held.delete(pin);
    line.child.kill('SIGTERM');
    await line.exited;
  }

  private failed(pin: number, error: unknown): void {
    const physical = PHYSICAL_PIN[pin];
    this.lastError = `GPIO ${pin}${physical ? ` (pin ${physical})` : ''}: ${describe(error)}`;
    this.emit('gpio-error', new GpioError(this.lastError));
  }

  /** Resolves once every line has reached the level last written (tests, and before a timed pulse). */
  async settled(): Promise<void> {
    for (;;) {
      const chains = new Set(this.chains.values());
      await Promise.all(chains);
      if ([...this.chains.values()].every((chain) => chains.has(chain))) return;
    }
  }

  protected releaseLine(pin: number): void {
    this.wanted.delete(pin);
    const previous = this.chains.get(pin) ?? Promise.resolve();
    this.chains.set(pin, previous.then(async () => {
      const line = this.held.get(pin);
      if (line) await this.stopHolding(pin, line);
    }));
  }

  protected watchLine(pin: number): void {
    const poll = async (): Promise<void> => {
      try {
        this.inputChanged(pin, await this.readOnce(pin));
      } catch (error) {
        if (!this.closed) this.failed(pin, error);
      }
    };
    void poll();
    const timer = setInterval(() => void poll(), this.readIntervalMs);
    timer.unref();
    this.pollers.set(pin, timer);
  }

  protected async shutdown(): Promise<void> {
    for (const timer of this.pollers.values()) clearInterval(timer);
    this.pollers.clear();
    this.wanted.clear();
    await Promise.all([...this.chains.values()].map((c) => c.catch(() => {})));
    await Promise.all([...this.held.entries()].map(([pin, line]) => this.stopHolding(pin, line)));
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
