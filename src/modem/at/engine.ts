import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { realTimers, type TimeSource } from '../../clock.js';
import {
  AtClosedError,
  AtCmeError,
  AtCmsError,
  AtError,
  AtModemRebootedError,
  AtTimeoutError,
} from './at-errors.js';
import { AtLineSplitter } from './line-splitter.js';
import { AtReader, responsePrefixOf, type AtEvent, type AtUrc, type CommandContext, type FinalResult } from './reader.js';

export interface AtResponse {
  /** Information lines, without the echo and without the final result code. */
  lines: string[];
  final: 'OK';
}

export interface CommandOptions {
  /** Time limit for the final result code; defaults to the engine's. */
  timeoutMs?: number;
  /**
   * Only lines starting with this prefix (`+CSQ`) are the command's; others
   * are routed as URCs or counted as unclaimed. Without it the command's own
   * name is the prefix, and unknown lines are taken as its answer too.
   */
  expectPrefix?: string;
}

export interface AtEngineOptions {
  /** Default time limit of a command. 5000 ms. */
  timeoutMs?: number;
  /**
   * Default time limit of a prompt command (AT+CMGS): the modem answers only
   * once the network has. 60000 ms (SIMCom gives 60 s as its maximum).
   */
  promptTimeoutMs?: number;
  /** Sees every line written (`tx`) and received (`rx`); the prompt is logged as `> `. */
  logger?: (line: string, dir: 'tx' | 'rx') => void;
  /**
   * After a timeout, how long the line must stay silent before the engine
   * re-synchronises with a plain `AT`. 200 ms.
   */
  resyncQuietMs?: number;
  /** URC names to route in addition to {@link KNOWN_URCS}. */
  extraUrcs?: string[];
  /** The timers of the time limits and the quiet wait (default: real ones); tests drive them by hand. */
  timers?: TimeSource;
}

export interface AtEngineStats {
  /** Lines that were nothing but noise bytes (dropped). */
  garbageLines: number;
  /** Lines that had noise removed and kept their text. */
  noisyLines: number;
  /** Lines that belonged to nobody: late answers, late echoes, lines outside `expectPrefix`. */
  unclaimedLines: number;
  /** Of those, final result codes (a sign of a late answer). */
  strayFinals: number;
  timeouts: number;
  reboots: number;
  resyncs: number;
}

interface Job {
  context: CommandContext;
  timeoutMs: number;
  lines: string[];
  /** For prompt commands: the payload has not been written yet. */
  awaitingPrompt: boolean;
  written: boolean;
  timer: unknown;
  resolve(response: AtResponse): void;
  reject(error: AtError): void;
}

const CTRL_Z = '\x1a';
const ESC = '\x1b';

/**
 * The one owner of the modem's serial stream: one command in flight, the
 * others wait in a FIFO queue; every answer line goes to the command it
 * belongs to and every URC to the `urc` listeners (routing rules in
 * reader.ts).
 *
 * ## After a timeout
 * A command that timed out may still be answered later, and that late `OK`
 * must not be taken for the answer of the next command. So after a timeout
 * the engine does not send the next command straight away; it first
 * re-synchronises:
 * 1. it waits until the line has been silent for `resyncQuietMs` (a late
 *    answer arriving meanwhile finds no command in flight and is dropped as
 *    unclaimed);
 * 2. it sends a plain `AT` and waits for its final code;
 * 3. it waits for silence again: if another final code turns up in that
 *    window, the `OK` it took in step 2 was itself the late answer, so it
 *    goes back to step 2 (at most three rounds).
 * If `AT` gets no answer, ESC is written (a modem that missed a PDU's Ctrl-Z
 * is still in PDU input and takes `AT` for text) and `AT` is tried once more.
 * If that gets no answer either, the next queued command is rejected with an
 * {@link AtTimeoutError} whose `written` is false (it never reached the
 * modem), and the next one tries again. A command that timed out while
 * waiting for the `> ` prompt is followed by ESC, which makes a modem leave
 * the PDU input mode without sending.
 *
 * ## Events
 * - `urc` (urc: AtUrc): an unsolicited result code.
 * - `reboot` (line: string): the modem restarted; the command in flight, if
 *   any, was rejected with {@link AtModemRebootedError}. The modem's settings
 *   (ATE0, AT+CMGF, AT+CNMI…) are gone: the owner re-initialises it.
 */
export class AtEngine extends EventEmitter<{ urc: [AtUrc]; reboot: [line: string] }> {
  private readonly splitter = new AtLineSplitter();
  private readonly reader: AtReader;
  private readonly queue: Job[] = [];
  private current: Job | null = null;
  private lastPrefix: string | null = null;
  private needsResync = false;
  private resyncing = false;
  private pumpScheduled = false;
  private isClosed = false;
  private lastRxAt = 0;
  private quietWaiter: { timer: unknown; resolve(): void } | null = null;
  private readonly counters = { unclaimedLines: 0, strayFinals: 0, timeouts: 0, reboots: 0, resyncs: 0 };

  private readonly timeoutMs: number;
  private readonly promptTimeoutMs: number;
  private readonly resyncQuietMs: number;
  private readonly logger: ((line: string, dir: 'tx' | 'rx') => void) | undefined;
  private readonly timers: TimeSource;

  private readonly onData = (chunk: Buffer | string): void => this.receive(chunk);
  private readonly onClose = (): void => this.shutDown();
  private readonly onError = (error: Error): void => this.shutDown(error);

  constructor(
    private readonly stream: Duplex,
    options: AtEngineOptions = {},
  ) {
    super();
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.promptTimeoutMs = options.promptTimeoutMs ?? 60_000;
    this.resyncQuietMs = options.resyncQuietMs ?? 200;
    this.timers = options.timers ?? realTimers;
    this.logger = options.logger;
    this.reader = new AtReader(
      {
        inFlight: () => this.current?.context ?? null,
        recentPrefix: () => this.current?.context.prefix ?? this.lastPrefix,
      },
      options.extraUrcs,
    );
    stream.on('data', this.onData);
    stream.on('close', this.onClose);
    stream.on('end', this.onClose);
    stream.on('error', this.onError);
    if (stream.destroyed) this.shutDown();
  }

  /** Sends `cmd` + CR and resolves with its information lines once the modem says OK. */
  command(cmd: string, opts: CommandOptions = {}): Promise<AtResponse> {
    return this.enqueue(cmd, undefined, opts.timeoutMs ?? this.timeoutMs, opts.expectPrefix);
  }

  /**
   * Sends `cmd` + CR, waits for the `> ` prompt, writes `payload` and Ctrl-Z,
   * and resolves with the information lines once the modem says OK.
   */
  commandWithPrompt(cmd: string, payload: string, opts: CommandOptions = {}): Promise<AtResponse> {
    if (/[\r\n\x1a\x1b]/.test(payload)) {
      return Promise.reject(new AtError(`${cmd}: the payload must not contain CR, LF, Ctrl-Z or ESC`, cmd, null, false));
    }
    return this.enqueue(cmd, payload, opts.timeoutMs ?? this.promptTimeoutMs, opts.expectPrefix);
  }

  /**
   * AT+CMGS in PDU mode. `pduHex` starts with the SMSC part (`00` for the
   * SIM's default); `tpduLength` is the octet count after it, as 27.005
   * wants it, and is checked against the hex, because a wrong length leaves
   * the modem waiting for octets that never come. The answer's
   * `+CMGS: <mr>` line is in `lines`.
   */
  sendPdu(tpduLength: number, pduHex: string, opts: Omit<CommandOptions, 'expectPrefix'> = {}): Promise<AtResponse> {
    const cmd = `AT+CMGS=${tpduLength}`;
    if (!/^(?:[0-9A-Fa-f]{2})+$/.test(pduHex)) {
      return Promise.reject(new AtError(`${cmd}: the PDU is not an even number of hex digits`, cmd, null, false));
    }
    const smscOctets = Number.parseInt(pduHex.slice(0, 2), 16);
    const expected = pduHex.length / 2 - 1 - smscOctets;
    if (!Number.isInteger(tpduLength) || tpduLength !== expected) {
      return Promise.reject(
        new AtError(`${cmd}: the PDU holds ${expected} TPDU octets after its SMSC part, not ${tpduLength}`, cmd, null, false),
      );
    }
    return this.enqueue(cmd, pduHex.toUpperCase(), opts.timeoutMs ?? this.promptTimeoutMs, '+CMGS');
  }

  get closed(): boolean {
    return this.isClosed;
  }

  stats(): AtEngineStats {
    return { garbageLines: this.splitter.garbageLines, noisyLines: this.splitter.noisyLines, ...this.counters };
  }

  /**
   * Stops using the stream: every waiting command is rejected with
   * {@link AtClosedError}. The stream itself belongs to the caller, who closes it.
   */
  dispose(): void {
    this.shutDown();
  }

  private enqueue(cmd: string, payload: string | undefined, timeoutMs: number, expectPrefix: string | undefined): Promise<AtResponse> {
    if (!/^AT/i.test(cmd) || /[\r\n]/.test(cmd)) {
      return Promise.reject(new AtError(`not a single AT command: ${JSON.stringify(cmd)}`, cmd, null, false));
    }
    if (this.isClosed) return Promise.reject(new AtClosedError(cmd, false));
    return new Promise<AtResponse>((resolve, reject) => {
      const explicit = expectPrefix?.trim().toUpperCase();
      const context: CommandContext = {
        command: cmd,
        prefix: explicit || responsePrefixOf(cmd),
        exclusive: Boolean(explicit),
      };
      if (payload !== undefined) context.payload = payload;
      this.queue.push({
        context,
        timeoutMs,
        lines: [],
        awaitingPrompt: payload !== undefined,
        written: false,
        timer: null,
        resolve,
        reject,
      });
      this.schedulePump();
    });
  }

  /**
   * Starts the next command later, never from inside the processing of a
   * received chunk: lines behind the final code in the same chunk were sent
   * before our next command and must not be taken for its answer.
   */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.isClosed || this.current || this.resyncing || this.queue.length === 0) return;
    if (this.needsResync) {
      this.resyncing = true;
      void this.resync().then((inSync) => {
        this.resyncing = false;
        if (!inSync && !this.isClosed) {
          const job = this.queue.shift();
          job?.reject(
            new AtTimeoutError(job.context.command, this.timeoutMs, false, 'the modem did not answer AT after an earlier timeout; not sent'),
          );
        }
        this.schedulePump();
      });
      return;
    }
    const job = this.queue.shift()!;
    this.start(job);
  }

  private start(job: Job): void {
    this.current = job;
    job.timer = this.timers.setTimeout(() => this.timedOut(job), job.timeoutMs);
    this.write(job, `${job.context.command}\r`, job.context.command);
    if (!job.awaitingPrompt) job.written = true;
  }

  private write(job: Job, data: string, logLine: string): void {
    this.logger?.(logLine, 'tx');
    this.stream.write(data, (error) => {
      if (error && this.current === job) {
        this.finish(job);
        job.reject(this.stream.writable ? new AtError(`${job.context.command}: write failed: ${error.message}`, job.context.command, null, false, { cause: error }) : new AtClosedError(job.context.command, false, error));
      }
    });
  }

  private receive(chunk: Buffer | string): void {
    this.lastRxAt = this.timers.now();
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk;
    this.splitter.push(bytes, (token) => {
      if (this.isClosed) return;
      if (token.kind === 'prompt') {
        this.logger?.('> ', 'rx');
        this.reader.prompt((event) => this.handle(event));
      } else {
        this.logger?.(token.text, 'rx');
        this.reader.line(token.text, (event) => this.handle(event));
      }
    });
  }

  private handle(event: AtEvent): void {
    const job = this.current;
    switch (event.type) {
      case 'echo':
        return;
      case 'info':
        job?.lines.push(event.line);
        return;
      case 'prompt':
        if (job?.awaitingPrompt && job.context.payload !== undefined) {
          job.awaitingPrompt = false;
          this.write(job, job.context.payload + CTRL_Z, `${job.context.payload}<Ctrl-Z>`);
          job.written = true;
        }
        return;
      case 'final':
        if (job) this.completed(job, event.result, event.line);
        return;
      case 'urc':
        this.notify('urc', event.urc);
        return;
      case 'reboot':
        this.counters.reboots++;
        // A restarted modem owes us no late answers.
        this.needsResync = false;
        if (job) {
          this.finish(job);
          job.reject(new AtModemRebootedError(job.context.command, event.line, job.written));
        }
        this.notify('reboot', event.line);
        return;
      case 'unclaimed':
        this.counters.unclaimedLines++;
        if (event.reason === 'final') this.counters.strayFinals++;
        return;
    }
  }

  /**
   * A listener that throws must not leave the rest of a received chunk
   * unprocessed (the engine's state would be half-updated); its error is
   * re-thrown on its own tick, where it is as loud as ever.
   */
  private notify<E extends 'urc' | 'reboot'>(name: E, ...args: E extends 'urc' ? [AtUrc] : [string]): void {
    try {
      (this.emit as (event: string, ...rest: unknown[]) => boolean)(name, ...args);
    } catch (error) {
      process.nextTick(() => {
        throw error;
      });
    }
  }

  private completed(job: Job, result: FinalResult, line: string): void {
    this.finish(job);
    const cmd = job.context.command;
    if (result.ok) {
      job.resolve({ lines: job.lines, final: 'OK' });
    } else if (result.kind === 'cms') {
      job.reject(new AtCmsError(cmd, line, result.detail, job.written));
    } else if (result.kind === 'cme') {
      job.reject(new AtCmeError(cmd, line, result.detail, job.written));
    } else {
      job.reject(new AtError(`${cmd}: ${line}`, cmd, line, job.written));
    }
  }

  /** Takes the job out of flight and lets the queue move on. */
  private finish(job: Job): void {
    if (job.timer) this.timers.clearTimeout(job.timer);
    job.timer = null;
    if (this.current === job) {
      this.lastPrefix = job.context.prefix;
      this.current = null;
    }
    this.schedulePump();
  }

  private timedOut(job: Job): void {
    if (this.current !== job) return;
    const cancelPrompt = job.awaitingPrompt && job.context.payload !== undefined;
    this.finish(job);
    this.counters.timeouts++;
    this.needsResync = true;
    if (cancelPrompt) {
      this.logger?.('<ESC>', 'tx');
      this.stream.write(ESC);
    }
    job.reject(new AtTimeoutError(job.context.command, job.timeoutMs, job.written));
  }

  /** The re-synchronisation described in the class comment; true when in step with the modem. */
  private async resync(): Promise<boolean> {
    this.counters.resyncs++;
    let escaped = false;
    for (let round = 0; round < 3 && !this.isClosed; round++) {
      await this.waitForQuiet();
      const strayBefore = this.counters.strayFinals;
      const outcome = await this.probe();
      if (outcome === 'closed') return false;
      if (outcome === 'timeout') {
        if (escaped) return false;
        // A modem that missed the Ctrl-Z of a PDU still reads PDU input and swallows `AT`
        // as text: ESC leaves that mode without sending, then the probe is tried again.
        escaped = true;
        this.logger?.('<ESC>', 'tx');
        this.stream.write(ESC);
        continue;
      }
      if (outcome === 'reboot') return true;
      await this.waitForQuiet();
      if (this.counters.strayFinals === strayBefore) {
        this.needsResync = false;
        return true;
      }
    }
    return false;
  }

  /** A plain `AT` outside the queue. Any final code means the modem listens. */
  private probe(): Promise<'answered' | 'timeout' | 'reboot' | 'closed'> {
    if (this.isClosed) return Promise.resolve('closed');
    return new Promise((settle) => {
      const job: Job = {
        context: { command: 'AT', prefix: null, exclusive: false },
        timeoutMs: this.timeoutMs,
        lines: [],
        awaitingPrompt: false,
        written: false,
        timer: null,
        resolve: () => settle('answered'),
        reject: (error) => {
          if (error instanceof AtTimeoutError) settle('timeout');
          else if (error instanceof AtModemRebootedError) settle('reboot');
          else if (error instanceof AtClosedError) settle('closed');
          else settle('answered');
        },
      };
      this.current = job;
      job.timer = this.timers.setTimeout(() => {
        if (this.current !== job) return;
        this.finish(job);
        job.reject(new AtTimeoutError('AT', job.timeoutMs, true));
      }, job.timeoutMs);
      this.write(job, 'AT\r', 'AT');
      job.written = true;
    });
  }

  /** Resolves once nothing has been received for `resyncQuietMs` (or after a bounded wait on a chattering line). */
  private waitForQuiet(): Promise<void> {
    const deadline = this.timers.now() + Math.max(this.timeoutMs, this.resyncQuietMs * 10);
    return new Promise((resolve) => {
      const check = (): void => {
        this.quietWaiter = null;
        const silentFor = this.timers.now() - this.lastRxAt;
        if (this.isClosed || silentFor >= this.resyncQuietMs || this.timers.now() >= deadline) return resolve();
        this.quietWaiter = { timer: this.timers.setTimeout(check, this.resyncQuietMs - silentFor), resolve };
      };
      this.quietWaiter = { timer: this.timers.setTimeout(check, this.resyncQuietMs), resolve };
    });
  }

  private shutDown(cause?: unknown): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.stream.off('data', this.onData);
    this.stream.off('close', this.onClose);
    this.stream.off('end', this.onClose);
    // Keep a listener for 'error': an unhandled 'error' would crash the process.
    this.stream.off('error', this.onError);
    this.stream.on('error', () => {});
    if (this.quietWaiter) {
      this.timers.clearTimeout(this.quietWaiter.timer);
      this.quietWaiter.resolve();
      this.quietWaiter = null;
    }
    const inFlight = this.current;
    if (inFlight) {
      if (inFlight.timer) this.timers.clearTimeout(inFlight.timer);
      this.current = null;
      inFlight.reject(new AtClosedError(inFlight.context.command, inFlight.written, cause));
    }
    for (const job of this.queue.splice(0)) job.reject(new AtClosedError(job.context.command, false, cause));
  }
}
