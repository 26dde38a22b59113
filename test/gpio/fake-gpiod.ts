import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import type { ChildLike, Spawner } from '../../src/gpio/gpiod-io.js';

/** A process started by the fake spawner: either it answers and exits, or it runs until killed (gpioset holding a line). */
export class FakeChild extends EventEmitter implements ChildLike {
  static nextPid = 1000;
  readonly pid = FakeChild.nextPid++;
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  exited = false;
  killedWith: NodeJS.Signals | null = null;

  constructor(
    readonly command: string,
    readonly args: string[],
  ) {
    super();
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    if (this.exited) return false;
    this.killedWith = signal;
    setImmediate(() => this.exit(null, signal));
    return true;
  }

  /** Prints and exits (a one-shot tool, or a gpioset that failed). */
  finish(stdout: string, code = 0, stderr = ''): void {
    setImmediate(() => {
      if (stdout) this.stdout.write(stdout);
      if (stderr) this.stderr.write(stderr);
      setImmediate(() => this.exit(code, null));
    });
  }

  private exit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.exited) return;
    this.exited = true;
    this.emit('exit', code, signal);
    this.emit('close', code, signal);
  }
}

export interface FakeGpiodOptions {
  version?: string;
  gpiodetect?: string;
  /** Level gpioget reports for each line (default 0). */
  inputs?: Map<number, number>;
  /** Decides what a gpioset that holds a line does: return an error text to make it fail at once. */
  gpiosetFails?: (args: string[]) => string | null;
  /** Tools that are not installed. */
  missing?: string[];
  /** How long a holding gpioset takes to request its line and print the banner (default: at once). */
  bannerDelayMs?: number;
}

export const PI4_GPIODETECT = 'gpiochip0 [pinctrl-bcm2711] (58 lines)\ngpiochip1 [raspberrypi-exp-gpio] (8 lines)\n';

/** Every process the plugin started, and the gpiod tools' answers. */
export function fakeGpiod(options: FakeGpiodOptions = {}): { spawn: Spawner; children: FakeChild[]; holders: () => FakeChild[] } {
  const children: FakeChild[] = [];
  const spawn: Spawner = (command, args) => {
    const child = new FakeChild(command, args);
    children.push(child);
    const tool = command.split('/').pop()!;
    if (options.missing?.includes(tool)) {
      setImmediate(() => child.emit('error', Object.assign(new Error(`spawn ${command} ENOENT`), { code: 'ENOENT' })));
      return child;
    }
    if (tool === 'gpioset' && args[0] === '--version') child.finish(`gpioset (libgpiod) ${options.version ?? 'v2.2.1'}\nCopyright (C) 2017-2023 Bartosz Golaszewski\n`);
    else if (tool === 'gpiodetect') child.finish(options.gpiodetect ?? PI4_GPIODETECT);
    else if (tool === 'gpioget') child.finish(`${options.inputs?.get(Number(args.at(-1))) ?? 0}\n`);
    else if (tool === 'gpioset') {
      const failure = options.gpiosetFails?.(args) ?? null;
      if (failure) child.finish('', 1, failure);
      // Otherwise it holds the line until it is killed, saying so as v2's --banner does.
      else if (args.includes('--banner')) {
        setTimeout(() => {
          if (!child.exited) child.stdout.write(`Setting line '${args.at(-1)!.split('=')[0]}'...\n`);
        }, options.bannerDelayMs ?? 0);
      }
    } else child.finish('', 127, `${tool}: not faked`);
    return child;
  };
  return { spawn, children, holders: () => children.filter((c) => c.command.endsWith('gpioset') && c.args[0] !== '--version' && !c.exited) };
}
