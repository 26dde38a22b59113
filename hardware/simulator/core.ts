/**
 * The virtual HAT's core: the UART and the command line. Bytes go in with
 * write(), bytes come out as 'data' events, exactly as they would cross the
 * wire. The core echoes, edits and splits command lines, offers each command
 * to the behaviour modules (behaviours/) in order, and frames what they answer
 * (`\r\n<info>\r\n`, OK or the error form AT+CMEE asks for, the `> ` prompt).
 * It knows nothing of SMS, registration or calls.
 */
import { EventEmitter } from 'node:events';
import { systemClock, unrefTimers, type Clock } from '../../src/clock.js';
import { parseCommandLine } from './at-parse.js';
import type { Behaviour, Handled, PromptHandler } from './behaviour.js';
import { CommandFailure, formatFailure, plainError } from './errors.js';
import type { ModemTimers, VirtualModemEvents } from './types.js';

/** Real timers that do not keep the process alive on their own. */
export const systemTimers: ModemTimers = unrefTimers;

const CTRL_Z = 0x1a;
const ESC = 0x1b;
const CR = 0x0d;
const LF = 0x0a;
const BACKSPACE = 0x08;
const MAX_LINE = 4096;

export type PowerState = 'off' | 'booting' | 'ready';

/** Terminal settings the framing itself depends on; reset by ATZ, AT&F and every boot. */
export interface TerminalSettings {
  echo: boolean;
  verbose: boolean;
  quiet: boolean;
  cmee: number;
  cscs: string;
}

function defaultTerminalSettings(): TerminalSettings {
  return { echo: true, verbose: true, quiet: false, cmee: 0, cscs: 'IRA' };
}

export interface CoreOptions {
  clock?: Clock;
  timers?: ModemTimers;
  random?: () => number;
}

export class ModemCore extends EventEmitter<VirtualModemEvents> {
  readonly clock: Clock;
  readonly timers: ModemTimers;
  protected readonly random: () => number;

  /** Power as the UART sees it: nothing is answered until 'ready'. Changed by the boot behaviour. */
  power: PowerState = 'off';
  /** The firmware hangs (fault 'silence'): no echo, no answer, no URC. */
  silent = false;
  /** Probability of a burst of line noise before an output chunk (fault 'garbage'), or null. */
  garbageProbability: number | null = null;
  terminal: TerminalSettings = defaultTerminalSettings();

  private behaviours: Behaviour[] = [];
  private line = '';
  private prompt: { handler: PromptHandler; text: string } | null = null;
  private inputHeld = false;
  private queuedInput: number[] = [];
  /** Timers that die with the module's power (boot steps, a send in progress, a ringing call). */
  private readonly moduleTimers = new Set<unknown>();
  /** Timers of the network side (status reports, replies on their way), which outlive a modem reboot. */
  private readonly networkTimers = new Set<unknown>();

  constructor(options: CoreOptions = {}) {
    super();
    this.clock = options.clock ?? systemClock;
    this.timers = options.timers ?? systemTimers;
    this.random = options.random ?? Math.random;
  }

  /** Adds behaviours; a command goes to them in the order they were added. */
  protected use(...behaviours: Behaviour[]): void {
    this.behaviours.push(...behaviours);
  }

  // ---------------------------------------------------------------- UART in

  /** Bytes arriving on the modem's RX line. */
  write(data: Buffer | Uint8Array | string): void {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    if (this.power !== 'ready' || this.silent) return;
    for (const byte of bytes) {
      if (this.inputHeld) this.queuedInput.push(byte);
      else this.receiveByte(byte);
    }
  }

  /** While the radio is busy (a segment on the air), bytes wait and are read afterwards. */
  holdInput(): void {
    this.inputHeld = true;
  }

  releaseInput(): void {
    this.inputHeld = false;
  }

  /** Reads what arrived while the input was held. */
  drainQueuedInput(): void {
    while (this.queuedInput.length > 0 && !this.inputHeld) {
      this.receiveByte(this.queuedInput.shift()!);
    }
  }

  private receiveByte(byte: number): void {
    if (this.prompt) {
      this.receivePromptByte(byte);
      return;
    }
    if (byte === LF && this.line === '') return;
    if (this.terminal.echo) this.emitBytes(Buffer.from([byte]));
    if (byte === CR) {
      const line = this.line;
      this.line = '';
      this.runLine(line);
      return;
    }
    if (byte === BACKSPACE) {
      this.line = this.line.slice(0, -1);
      return;
    }
    if (byte === LF || byte === CTRL_Z || byte === ESC) return;
    if (this.line.length < MAX_LINE) this.line += String.fromCharCode(byte);
  }

  private receivePromptByte(byte: number): void {
    const prompt = this.prompt!;
    if (this.terminal.echo) this.emitBytes(Buffer.from([byte]));
    if (byte === ESC) {
      // Cancelled: nothing of it is acted on.
      this.prompt = null;
      this.finalOk([]);
      return;
    }
    if (byte === CTRL_Z) {
      this.prompt = null;
      prompt.handler.submit(prompt.text);
      return;
    }
    if (byte === CR || byte === LF || byte === 0x20) return;
    if (prompt.text.length < prompt.handler.maxChars) prompt.text += String.fromCharCode(byte);
  }

  /** Forgets a half-typed line, a pending prompt and held input (the module lost power). */
  resetLine(): void {
    this.line = '';
    this.prompt = null;
    this.inputHeld = false;
    this.queuedInput = [];
  }

  // ---------------------------------------------------------------- command lines

  private runLine(rawLine: string): void {
    const line = rawLine.replace(/^[^Aa]*/, '');
    if (!/^at/i.test(line)) return; // Not a command: a modem ignores it.
    const commands = parseCommandLine(line.slice(2));
    if (commands === null) {
      this.finalFailure([], plainError());
      return;
    }
    const blocks: string[][] = [];
    for (const command of commands) {
      let result: Handled | undefined;
      try {
        for (const behaviour of this.behaviours) {
          result = behaviour.onCommand?.(command);
          if (result !== undefined) break;
        }
      } catch (error) {
        if (error instanceof CommandFailure) result = error;
        else throw error;
      }
      result ??= plainError();
      if (result instanceof CommandFailure) {
        this.finalFailure(blocks, result);
        return;
      }
      if ('prompt' in result) {
        this.prompt = { handler: result.prompt, text: '' };
        this.emitBytes(this.infoText(blocks) + '\r\n> ');
        return;
      }
      if (result.length > 0) blocks.push(result);
    }
    this.finalOk(blocks);
  }

  /** ATZ / AT&F / boot: every volatile setting back to its power-on value. */
  resetSettings(): void {
    this.terminal = defaultTerminalSettings();
    for (const behaviour of this.behaviours) behaviour.resetSettings?.();
  }

  // ---------------------------------------------------------------- UART out

  emitBytes(text: string | Buffer): void {
    if (this.silent || this.power === 'off') return;
    const chunk = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
    // Noise goes between chunks, not between echoed keystrokes, so its rate stays per answer.
    if (this.garbageProbability !== null && chunk.length > 1 && this.random() < this.garbageProbability) this.emit('data', this.garbageBurst());
    this.emit('data', chunk);
  }

  private garbageBurst(): Buffer {
    const length = 1 + Math.floor(this.random() * 8);
    const bytes: number[] = [];
    while (bytes.length < length) {
      const byte = Math.floor(this.random() * 256);
      // CR and LF would turn noise into framing; real noise on a UART rarely forms them.
      if (byte !== CR && byte !== LF) bytes.push(byte);
    }
    return Buffer.from(bytes);
  }

  sendUrc(line: string): void {
    this.emitBytes(this.terminal.verbose ? `\r\n${line}\r\n` : `${line}\r\n`);
  }

  private infoText(blocks: string[][]): string {
    return blocks.map((lines) => (this.terminal.verbose ? `\r\n${lines.join('\r\n')}\r\n` : `${lines.join('\r\n')}\r\n`)).join('');
  }

  finalOk(blocks: string[][]): void {
    if (this.terminal.quiet) {
      this.emitBytes(this.infoText(blocks));
      return;
    }
    this.emitBytes(this.infoText(blocks) + (this.terminal.verbose ? '\r\nOK\r\n' : '0\r'));
  }

  finalFailure(blocks: string[][], failure: CommandFailure): void {
    const text = formatFailure(failure, this.terminal.cmee);
    if (this.terminal.quiet) {
      this.emitBytes(this.infoText(blocks));
      return;
    }
    const final = this.terminal.verbose ? `\r\n${text}\r\n` : text === 'ERROR' ? '4\r' : `${text}\r\n`;
    this.emitBytes(this.infoText(blocks) + final);
  }

  /** Runs once the final result code of the current line has been written. */
  afterFinal(action: () => void): void {
    queueMicrotask(action);
  }

  // ---------------------------------------------------------------- text in the TE character set

  teString(text: string): string {
    if (this.terminal.cscs !== 'UCS2') return text;
    return Buffer.from(text, 'utf16le').swap16().toString('hex').toUpperCase();
  }

  fromTeString(text: string): string {
    if (this.terminal.cscs !== 'UCS2' || !/^([0-9A-Fa-f]{4})+$/.test(text)) return text;
    return Buffer.from(text, 'hex').swap16().toString('utf16le');
  }

  // ---------------------------------------------------------------- time

  /** Runs `action` after `ms` of module time (at once for 0); lost when the module loses power. */
  later(ms: number, action: () => void): void {
    if (ms <= 0) {
      action();
      return;
    }
    this.moduleTimer(ms, action);
  }

  /** A module timer, always asynchronous; returns a handle for cancelTimer(). */
  moduleTimer(ms: number, action: () => void): unknown {
    const timer = this.timers.setTimeout(() => {
      this.moduleTimers.delete(timer);
      action();
    }, ms);
    this.moduleTimers.add(timer);
    return timer;
  }

  /** Runs `action` after `ms` on the network side: it survives a reboot of the module. */
  networkTimer(ms: number, action: () => void): unknown {
    const timer = this.timers.setTimeout(() => {
      this.networkTimers.delete(timer);
      action();
    }, ms);
    this.networkTimers.add(timer);
    return timer;
  }

  cancelTimer(handle: unknown): void {
    if (this.moduleTimers.delete(handle) || this.networkTimers.delete(handle)) this.timers.clearTimeout(handle);
  }

  /** The module lost power: its own timers stop. */
  clearModuleTimers(): void {
    for (const timer of this.moduleTimers) this.timers.clearTimeout(timer);
    this.moduleTimers.clear();
  }

  protected clearNetworkTimers(): void {
    for (const timer of this.networkTimers) this.timers.clearTimeout(timer);
    this.networkTimers.clear();
  }
}
