/**
 * A serialport binding whose other end is a script: the test says how the
 * "modem" answers each command line, and the engine under test talks to it
 * through the real SerialPortStream, exactly as it talks to /dev/serial0.
 */
// The package's ESM entry ships no type declarations; its CommonJS one does.
import type {
  BindingInterface,
  BindingPortInterface,
  OpenOptions,
  PortStatus,
} from '@serialport/bindings-interface' with { 'resolution-mode': 'require' };
import { SerialPortStream } from '@serialport/stream';
import { realTimers, type Timers } from '../../src/clock.js';

type Reply = (modem: ScriptedModem, command: string) => void;

class CanceledError extends Error {
  readonly canceled = true;
}

export class ScriptedModem {
  /** V.25ter echo, on at power-up like a real module; `ATE0` turns it off. */
  echo = true;
  /** Command lines the host wrote, without CR. */
  readonly commands: string[] = [];
  /** Payloads written after a prompt, without the Ctrl-Z. */
  readonly payloads: string[] = [];
  /** Every byte the host wrote. */
  readonly written: number[] = [];

  private readonly replies: Array<{ match: string | RegExp; reply: Reply }> = [];
  private inputLine: number[] = [];
  private payloadMode: ((payload: string) => void) | null = null;
  private outbox: Buffer[] = [];
  private pendingRead: (() => void) | null = null;
  port: ScriptedPort | null = null;
  /** The timers of `later` (the test gives its VirtualTime). */
  timers: Timers = realTimers;

  constructor() {
    this.on('AT', (m) => m.send('\r\nOK\r\n'));
    this.on(/^ATE([01])$/i, (m, cmd) => {
      m.echo = cmd.endsWith('1');
      m.send('\r\nOK\r\n');
    });
  }

  /** How to answer a command line (exact text, or a pattern). Later rules win. */
  on(match: string | RegExp, reply: Reply): this {
    this.replies.unshift({ match, reply });
    return this;
  }

  /** Bytes from the modem to the host. */
  send(data: string | Buffer): void {
    this.outbox.push(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
    const wake = this.pendingRead;
    this.pendingRead = null;
    wake?.();
  }

  /** Runs `then` after `ms`, on the modem's timers: a module that takes its time to answer. */
  later(ms: number, then: () => void): void {
    this.timers.setTimeout(then, ms);
  }

  /** Puts bytes the host has not read yet back at the front. */
  unread(data: Buffer): void {
    this.outbox.unshift(data);
  }

  /** Prints `> ` and hands the next payload (up to Ctrl-Z) to `then`. */
  prompt(then: (payload: string) => void): void {
    this.payloadMode = then;
    this.send('\r\n> ');
  }

  /** Keeps reading PDU input, silently, until Ctrl-Z or ESC: a module that missed the host's Ctrl-Z. */
  swallowInput(): void {
    this.payloadMode = () => {};
  }

  /** Bytes the host wrote, as text. */
  writtenText(): string {
    return Buffer.from(this.written).toString('latin1');
  }

  /** Called by the port for each write of the host. */
  hostWrote(buffer: Buffer): void {
    for (const byte of buffer) {
      this.written.push(byte);
      if (this.payloadMode) {
        if (this.echo && byte !== 0x1a && byte !== 0x1b) this.send(Buffer.from([byte]));
        if (byte === 0x1a || byte === 0x1b) {
          const then = this.payloadMode;
          this.payloadMode = null;
          const payload = Buffer.from(this.inputLine).toString('latin1');
          this.inputLine = [];
          if (byte === 0x1a) {
            this.payloads.push(payload);
            then(payload);
          }
        } else {
          this.inputLine.push(byte);
        }
        continue;
      }
      if (byte === 0x0d) {
        const command = Buffer.from(this.inputLine).toString('latin1');
        this.inputLine = [];
        if (command === '') continue;
        this.commands.push(command);
        if (this.echo) this.send(`${command}\r`);
        const rule = this.replies.find(({ match }) =>
          typeof match === 'string' ? match.toUpperCase() === command.toUpperCase() : match.test(command),
        );
        if (rule) rule.reply(this, command);
        else this.send('\r\nERROR\r\n');
      } else if (byte !== 0x0a) {
        this.inputLine.push(byte);
      }
    }
  }

  /** Called by the port: the next bytes for the host, waiting until there are some. */
  async nextOutput(): Promise<Buffer> {
    while (this.outbox.length === 0) {
      await new Promise<void>((resolve) => {
        this.pendingRead = resolve;
      });
      if (!this.port?.isOpen) throw new CanceledError('read canceled');
    }
    return Buffer.concat(this.outbox.splice(0));
  }

  cancelRead(): void {
    const wake = this.pendingRead;
    this.pendingRead = null;
    wake?.();
  }
}

class ScriptedPort implements BindingPortInterface {
  isOpen = true;
  constructor(
    readonly openOptions: Required<OpenOptions>,
    private readonly modem: ScriptedModem,
  ) {}

  async close(): Promise<void> {
    this.isOpen = false;
    this.modem.cancelRead();
  }

  async read(buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }> {
    const data = await this.modem.nextOutput();
    const bytesRead = Math.min(length, data.length);
    data.copy(buffer, offset, 0, bytesRead);
    // Whatever did not fit goes back to the front of the outbox.
    if (bytesRead < data.length) this.modem.unread(data.subarray(bytesRead));
    return { buffer, bytesRead };
  }

  async write(buffer: Buffer): Promise<void> {
    if (!this.isOpen) throw new CanceledError('port closed');
    const copy = Buffer.from(buffer);
    setImmediate(() => this.modem.hostWrote(copy));
  }

  async update(): Promise<void> {}
  async set(): Promise<void> {}
  async get(): Promise<PortStatus> {
    return { cts: true, dsr: true, dcd: true };
  }
  async getBaudRate(): Promise<{ baudRate: number }> {
    return { baudRate: this.openOptions.baudRate };
  }
  async flush(): Promise<void> {}
  async drain(): Promise<void> {}
}

function scriptedBinding(modem: ScriptedModem): BindingInterface<ScriptedPort> {
  return {
    async list() {
      return [];
    },
    async open(options: OpenOptions) {
      const port = new ScriptedPort(
        {
          dataBits: 8,
          lock: true,
          stopBits: 1,
          parity: 'none',
          rtscts: false,
          xon: false,
          xoff: false,
          xany: false,
          hupcl: true,
          ...options,
        } as Required<OpenOptions>,
        modem,
      );
      modem.port = port;
      return port;
    },
  };
}

/** A SerialPortStream connected to `modem`, open. */
export async function openScripted(modem: ScriptedModem): Promise<SerialPortStream> {
  const stream = new SerialPortStream({ binding: scriptedBinding(modem), path: '/dev/scripted', baudRate: 115200 });
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', reject);
  });
  return stream;
}

export function closeStream(stream: SerialPortStream): Promise<void> {
  return new Promise((resolve) => {
    if (!stream.isOpen) return resolve();
    stream.close(() => resolve());
  });
}
