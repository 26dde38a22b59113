import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { realTimers, type Clock, type TimeSource } from '../clock.js';
import type { Logger } from '../log.js';
import {
  AtClosedError,
  AtCmeError,
  AtCmsError,
  AtEngine,
  AtError,
  AtModemRebootedError,
  AtTimeoutError,
  classifyCmeError,
  classifyCmsError,
  lookupCmsText,
  type AtResponse,
  type AtUrc,
} from './at/index.js';
import { decodePdu, encodeSubmit, PduError, type DecodedPdu, type SmsEncoding } from './pdu/index.js';
import { ModemSendError } from './errors.js';
import type { HatProfile } from './hats.js';
import {
  decideSmsPath,
  parseCimi,
  parseClip,
  parseCnum,
  parseMissedCall,
  parseCopsAct,
  parseImsRegistration,
  parseVendorRat,
  parseCclk,
  parseCmgl,
  parseCmgr,
  parseCmgs,
  parseCops,
  parseCpin,
  parseCsca,
  parseCsq,
  parseNetworkTimeUrc,
  parseRegistration,
  parseStoredIndication,
  simStateFromCme,
  WEAK_SIGNAL_CSQ,
  type Rat,
  type RegistrationStat,
  type Signal,
  type SimState,
  type SmsPath,
} from './parse.js';
import { PowerUnavailableError, type ModemPower } from './power.js';
import { TransactionQueue, type TransactionKind } from './transactions.js';

export { ModemSendError } from './errors.js';

/** One received SMS segment, as the modem stored it. Multipart reassembly is the inbox's job (issue 6). */
export interface InboundPart {
  from: string;
  /** For 8-bit data: the octets as upper-case hex. */
  text: string;
  /** Service-centre time stamp, ISO 8601 with the network's offset. */
  timestamp: string;
  concat: { ref: number; part: number; total: number; ref16: boolean } | null;
  encoding: SmsEncoding;
  /** The PDU as the modem gave it (with its SMSC part): the inbox can deduplicate on it. */
  pdu: string;
}

export interface StatusReport {
  /** TP-MR of the segment this report is about (as answered in `+CMGS`). */
  messageRef: number;
  recipient: string;
  /** TP-ST (TS 23.040 §9.2.3.15). */
  status: number;
  statusText: string;
  delivered: boolean;
  /** False while the network is still trying (TP-ST 0x20-0x3F): another report follows. */
  final: boolean;
  /** Discharge time, ISO 8601. */
  at: string;
}

export type ModemStateName =
  | 'off'
  | 'starting'
  | 'ready'
  | 'no-sim'
  | 'pin-required'
  | 'searching'
  | 'registration-denied'
  | 'not-responding'
  | 'no-smsc'
  | 'error';

export interface ModemState {
  state: ModemStateName;
  registered: boolean;
  roaming: boolean;
  operator: string | null;
  csq: number | null;
  bars: number | null;
  dbm: number | null;
  imei: string | null;
  model: string | null;
  firmware: string | null;
  iccid: string | null;
  /** The SIM's IMSI (AT+CIMI at init): the carrier is read from its MCC/MNC. */
  imsi: string | null;
  /** The SIM's own number (AT+CNUM at init); null where the SIM does not store it (most Chinese prepaid SIMs). */
  ownNumber: string | null;
  smsc: string | null;
  /** Access technology the module is registered on (AT+COPS? AcT, the profile's AT+CPSI?/AT+QNWINFO). */
  rat: Rat;
  /** IMS registration (AT+CIREG? or the profile's vendor query); null: unknown or not asked (not on LTE). */
  imsRegistered: boolean | null;
  /** How an SMS would leave the module now; `none`: registered on LTE with no IMS and no SGs, nothing can be sent. */
  smsPath: SmsPath;
  lastError: string | null;
  /** zh + en text when sending is impossible (no SIM, PIN, modem dead, no SMSC); null otherwise. */
  hardFault: string | null;
}

/** An incoming call, after the driver hung it up (or the caller gave up first). */
export interface IncomingCall {
  /** The caller's number from +CLIP (or SIMCom's MISSED_CALL); null when withheld or unknown. */
  from: string | null;
  /** When the first RING came (the box's clock). */
  at: number;
  /** True when our hang-up command was answered OK; false when it failed. */
  hungUp: boolean;
}

/** Something a shop owner should see in the events log. */
export interface ModemEvent {
  level: 'info' | 'warn' | 'error';
  kind: string;
  zh: string;
  en: string;
}

export interface SendRequest {
  to: string;
  text: string;
  statusReport?: boolean;
  /** 8-bit concatenation reference; default: the modem's rotating counter. Keep it to resend the same multipart. */
  concatRef?: number;
}

export interface ModemOptions {
  /** Opens the serial stream (a SerialPortStream on the real or the simulator binding). Called again after the stream is lost. */
  openStream: () => Promise<Duplex>;
  hat: HatProfile;
  power: ModemPower;
  clock: Clock;
  log?: Logger;
  /** Commits one received segment; the modem's copy is deleted only after this resolves. */
  onInbound: (sms: InboundPart) => Promise<void>;
  /** Registration/signal poll period (default 10 000 ms). */
  pollIntervalMs?: number;
  /** Read everything stored (AT+CMGL=4) every this many polls (default 6), besides at start and after a restart. */
  inboxScanEveryPolls?: number;
  /** Time limit of an ordinary command (default 5000 ms). */
  commandTimeoutMs?: number;
  /** Time limit of one AT+CMGS (default 60 000 ms, SIMCom's maximum). */
  sendTimeoutMs?: number;
  /** Consecutive unanswered commands before the state is `not-responding` (default 3). */
  failuresBeforeNotResponding?: number;
  /** A message whose handler rejected waits this long before it is offered again (default 30 000 ms). */
  inboundRetryMs?: number;
  /**
   * After a hang-up, RINGs this long are taken as the tail of the same call
   * (default 3000 ms): a module may have printed one before it took the hang-up.
   */
  callSettleMs?: number;
  /** Overrides the profile's boot time (tests). */
  bootMs?: number;
  /** Passed to the AT engine (tests use small values). */
  resyncQuietMs?: number;
  /**
   * The timers of polling, boot waits and command time limits (default: real
   * ones). Not `clock`, which network time may correct: these measure durations.
   */
  timers?: TimeSource;
}

interface ModemEvents {
  status: [ModemState];
  event: [ModemEvent];
  'status-report': [StatusReport];
  'network-time': [Date];
  /** An incoming call was hung up (RING, +CLIP): the inbox records it. */
  call: [IncomingCall];
  /** A message the modem was asked to transmit (AT+CMGS): sent, or why not. */
  'send-result': [{ ok: true } | { ok: false; error: ModemSendError }];
}

/** A command failure that means "the modem did not answer", as opposed to an error answer. */
function isSilence(error: unknown): boolean {
  return error instanceof AtTimeoutError || error instanceof AtClosedError;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

const FAULT_TEXT: Partial<Record<ModemStateName, { zh: string; en: string }>> = {
  'not-responding': {
    zh: '短信模块无响应：检查 HAT 是否插好、是否上电、串口设置（运行 smsbox doctor）',
    en: 'The modem does not respond: check that the HAT is seated and powered and the UART is set up (run smsbox doctor)',
  },
  'no-sim': { zh: '未检测到 SIM 卡：请断电后插好 SIM 卡', en: 'No SIM card: power off and insert the SIM card' },
  'pin-required': {
    zh: 'SIM 卡设置了 PIN 码：请用手机取消 PIN 码后再插回',
    en: 'The SIM card asks for a PIN: remove the PIN lock in a phone, then put the SIM back',
  },
  'no-smsc': {
    zh: 'SIM 卡没有短信中心号码：请联系运营商或在手机上设置短信中心',
    en: 'The SIM has no SMS service centre number: ask the carrier or set it in a phone',
  },
};

/**
 * The modem's life: power, init, polling, send, receive, status reports,
 * network time and health. The only code that talks to the modem.
 *
 * ## Receiving: stored, never routed
 * New messages are configured to be *stored* on the SIM and announced with
 * `+CMTI` (CNMI `<mt>` = 1; hats.ts refuses profiles that route with +CMT).
 * A message routed with `+CMT` exists only in the URC: a crash before the
 * inbox commit would lose it, and in 27.005 phase 2+ an unacknowledged +CMT
 * makes the network resend it anyway. A stored message is read with
 * `AT+CMGR`, handed to `onInbound`, and deleted with `AT+CMGD` only after the
 * handler resolved. So delivery to `onInbound` is at least once: a crash
 * between the handler and the delete offers the same PDU again (the inbox
 * deduplicates on `pdu`). A `+CMT` that arrives anyway (a class 0 message, a
 * module that ignores CNMI) is still handed over; with AT+CSMS=0 (the
 * default we leave) the module acknowledges it itself, so no `AT+CNMA`.
 * Everything stored is read again at start, after a modem restart and every
 * `inboxScanEveryPolls` polls, which also retries messages whose handler
 * rejected.
 *
 * ## One queue
 * Every exchange with the module is a transaction on one prioritised queue
 * (transactions.ts; the table is in README.md): start and re-init, hang-ups,
 * inbound reads, sends, queries, polls. Only the transaction holding the
 * port sends commands (`at()` checks it), one at a time.
 *
 * ## Events
 * - `status` (ModemState) whenever the state changes;
 * - `event` (ModemEvent) for the events log: SIM missing, registered on X,
 *   signal weak, modem restarted, not responding …;
 * - `status-report` (StatusReport) for each `+CDS` / `+CDSI`;
 * - `network-time` (Date) when a URC carried the network's time.
 */
export class Modem extends EventEmitter<ModemEvents> {
  private readonly hat: HatProfile;
  private readonly log: Logger | undefined;
  private readonly pollIntervalMs: number;
  private readonly inboxScanEveryPolls: number;
  private readonly commandTimeoutMs: number;
  private readonly sendTimeoutMs: number;
  private readonly failuresBeforeNotResponding: number;
  private readonly inboundRetryMs: number;
  private readonly bootMs: number;
  private readonly timers: TimeSource;

  private engine: AtEngine | null = null;
  private stream: Duplex | null = null;
  private lifecycle: 'off' | 'starting' | 'running' | 'stopping' = 'off';
  private answered = false;
  private failures = 0;
  private sim: SimState | null = null;
  private simCode: string | null = null;
  private initDone = false;
  /** Restarts of the module seen so far, and how many had been seen when the last init began. */
  private reboots = 0;
  private initAsOfReboot = -1;
  private initError: string | null = null;
  private initRunning: Promise<void> | null = null;
  private registration: RegistrationStat | null = null;
  private roaming = false;
  private operator: string | null = null;
  private signal: Signal = { csq: null, dbm: null, bars: null };
  private identity = {
    imei: null as string | null,
    model: null as string | null,
    firmware: null as string | null,
    iccid: null as string | null,
    imsi: null as string | null,
    ownNumber: null as string | null,
  };
  private rat: Rat = 'unknown';
  private imsRegistered: boolean | null = null;
  private smsPath: SmsPath = 'unknown';
  /** The profile's IMS switch was tried since this process started (once: it is stored by the module). */
  private imsEnableTried = false;
  private smsc: string | null | undefined = undefined;
  private lastError: string | null = null;
  private pollTimer: unknown = null;
  private pollCount = 0;
  /** The one queue of transactions on this modem's port (transactions.ts). */
  private readonly queue = new TransactionQueue();
  private readonly inboundInFlight = new Set<number>();
  /** `index:pdu` → time before which a message whose handler rejected is not offered again. */
  private readonly inboundHeld = new Map<string, number>();
  private nextConcatRef = Math.floor(Math.random() * 256);
  /** The wish of the sender: keep the SMS link open between messages (a backlog). */
  private keepLinkOpen = false;
  /** The AT+CMMS mode the module is in as far as we know (null: unknown). The one place this is kept. */
  private cmmsMode: 0 | 2 | null = 0;
  private lastNetworkTime: { time: number; receivedAt: number } | null = null;
  private lastPublished: ModemState | null = null;
  /** The call ringing now: hung up by one top-priority transaction. */
  private call: { from: string | null; at: number } | null = null;
  /** Until when (timers) a RING belongs to the call just hung up. */
  private callSettledAt = 0;
  private readonly callSettleMs: number;

  constructor(private readonly options: ModemOptions) {
    super();
    this.hat = options.hat;
    this.log = options.log;
    this.pollIntervalMs = options.pollIntervalMs ?? 10_000;
    this.inboxScanEveryPolls = Math.max(1, options.inboxScanEveryPolls ?? 6);
    this.commandTimeoutMs = options.commandTimeoutMs ?? 5000;
    this.sendTimeoutMs = options.sendTimeoutMs ?? 60_000;
    this.failuresBeforeNotResponding = options.failuresBeforeNotResponding ?? 3;
    this.inboundRetryMs = options.inboundRetryMs ?? 30_000;
    this.callSettleMs = options.callSettleMs ?? 3000;
    this.bootMs = options.bootMs ?? options.hat.power.bootMs;
    this.timers = options.timers ?? realTimers;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.timers.setTimeout(resolve, ms));
  }

  // ------------------------------------------------------------------ life cycle

  /**
   * Opens the port, powers the modem on if it does not answer (PWRKEY), waits
   * for it, initialises it and starts the poll loop. Resolves once the first
   * attempt is over, whatever the modem's state: a box whose modem is broken
   * still runs and shows why (`status()`); the poll loop keeps trying.
   */
  async start(): Promise<void> {
    if (this.lifecycle !== 'off') return;
    this.lifecycle = 'starting';
    this.failures = 0;
    this.answered = false;
    this.queue.reopen();
    this.publish();
    await this.queue.enqueue('start', () => this.startHeld()).catch((error: unknown) => {
      this.lastError = describe(error);
    });
    if (this.lifecycle === 'starting') {
      this.lifecycle = 'running';
      this.schedulePoll();
    }
    this.publish();
  }

  private async startHeld(): Promise<void> {
    try {
      await this.connect();
      if (this.lifecycle === 'stopping') return;
      let on = await this.probe(2);
      if (!on) {
        if (this.options.power.canPulse) {
          this.event('info', 'power-on', '正在给短信模块开机（PWRKEY）', 'Powering the modem on (PWRKEY)');
          await this.options.power.pulsePwrkey(this.hat.power.powerOnPulseMs);
        }
        on = await this.waitForBoot(this.bootMs);
      }
      if (!on) {
        this.failures = this.failuresBeforeNotResponding;
        this.lastError = 'no answer to AT';
      } else {
        await this.runInit();
        if (this.initDone) await this.pollNetwork();
      }
    } catch (error) {
      this.lastError = describe(error);
      this.log?.warn('modem start failed', { error: this.lastError });
      if (!this.engine || this.engine.closed) this.failures = this.failuresBeforeNotResponding;
    }
  }

  /**
   * Stops polling, lets every transaction already queued (the send in
   * progress, a hang-up) finish, powers the modem down with the profile's
   * command (unless `powerDown` is false) and closes the port.
   */
  async stop(options: { powerDown?: boolean } = {}): Promise<void> {
    if (this.lifecycle === 'off' || this.lifecycle === 'stopping') return;
    this.lifecycle = 'stopping';
    if (this.pollTimer) this.timers.clearTimeout(this.pollTimer);
    this.pollTimer = null;
    // Messages being sent, calls being hung up and messages being read finish; the rest is
    // dropped, and a boot wait, init or poll holding the port is cut short by closing it.
    const finishing = (kind: TransactionKind | null) => kind === 'send' || kind === 'link' || kind === 'hang-up' || kind === 'inbound';
    this.queue.drop((kind) => !finishing(kind));
    if (this.queue.current !== null && !finishing(this.queue.current)) await this.disconnect();
    await this.queue
      .enqueue('power-down', async () => {
        const engine = this.engine;
        if (engine && !engine.closed && (options.powerDown ?? true) && this.answered && this.failures < this.failuresBeforeNotResponding) {
          try {
            await this.at(this.hat.power.powerDownCommand);
            this.event('info', 'power-down', '短信模块已关机', 'The modem was powered down');
          } catch (error) {
            this.log?.warn('modem power-down command failed', { error: describe(error) });
          }
        }
      })
      .catch(() => {});
    this.queue.close();
    await this.queue.idle();
    await this.disconnect();
    this.lifecycle = 'off';
    this.initDone = false;
    this.cmmsMode = 0;
    this.publish();
  }

  /**
   * Power-cycles the modem through PWRKEY (off pulse, pause, on pulse), then
   * waits for it and initialises it again, as one transaction: nothing else
   * talks to the modem meanwhile. Rejects with PowerUnavailableError when the
   * power seam cannot press PWRKEY. The watchdog decides when.
   */
  async powerCycle(): Promise<void> {
    const power = this.options.power;
    if (!power.canPulse) throw new PowerUnavailableError('this box cannot press the modem\'s PWRKEY');
    await this.queue
      .enqueue('power-cycle', async () => {
        this.event('warn', 'power-cycle', '正在重启短信模块（断电再开机）', 'Power-cycling the modem (PWRKEY)');
        const isOn = (await power.readStatusPin?.()) ?? true;
        if (isOn) {
          await power.pulsePwrkey(this.hat.power.powerOffPulseMs);
          await this.sleep(Math.min(2000, this.bootMs));
        }
        this.initDone = false;
        this.cmmsMode = 0;
        await power.pulsePwrkey(this.hat.power.powerOnPulseMs);
        if (!this.engine || this.engine.closed) await this.connect().catch(() => {});
        const on = await this.waitForBoot(this.bootMs);
        if (on) {
          this.failures = 0;
          await this.runInit();
          if (this.initDone) await this.pollNetwork();
        }
      })
      .finally(() => this.publish());
  }

  /**
   * Switches the radio off and on again (`AT+CFUN=0`, then `AT+CFUN=1`): a
   * module that lost the network is often brought back by it, without the
   * cost of a power cycle. One transaction, after the one in progress; the
   * next poll reads the registration again. The watchdog decides when.
   */
  async restartRadio(): Promise<void> {
    // Switching the radio is slower than an ordinary command on real modules (SIM7600: seconds).
    const timeoutMs = this.commandTimeoutMs * 3;
    try {
      await this.queue.enqueue('radio-restart', async () => {
        await this.at('AT+CFUN=0', timeoutMs);
        await this.at('AT+CFUN=1', timeoutMs);
      });
      this.event('info', 'radio-restart', '已重启短信模块的射频（AT+CFUN 关/开）', 'Restarted the modem\'s radio (AT+CFUN off/on)');
    } finally {
      this.publish();
    }
  }

  /** The transaction holding the port, how many wait, and the last ones run (status page, tests). */
  transactions(): { current: TransactionKind | null; waiting: number; recent: readonly TransactionKind[] } {
    return { current: this.queue.current, waiting: this.queue.pending(), recent: this.queue.history };
  }

  /** Consecutive commands without an answer (the watchdog of issue 7 reads it). */
  get consecutiveFailures(): number {
    return this.failures;
  }

  status(): ModemState {
    const state = this.stateName();
    const fault = FAULT_TEXT[state];
    const registered = this.registration === 'home' || this.registration === 'roaming';
    return {
      state,
      registered,
      roaming: registered && this.roaming,
      operator: registered ? this.operator : null,
      csq: this.signal.csq,
      bars: this.signal.bars,
      dbm: this.signal.dbm,
      imei: this.identity.imei,
      model: this.identity.model,
      firmware: this.identity.firmware,
      iccid: this.identity.iccid,
      imsi: this.identity.imsi,
      ownNumber: this.identity.ownNumber,
      smsc: this.smsc ?? null,
      rat: registered ? this.rat : 'unknown',
      imsRegistered: registered ? this.imsRegistered : null,
      smsPath: registered ? this.smsPath : 'unknown',
      lastError: this.lastError,
      hardFault: fault ? `${fault.zh} / ${fault.en}` : null,
    };
  }

  private stateName(): ModemStateName {
    if (this.lifecycle === 'off' || this.lifecycle === 'stopping') return 'off';
    if (this.failures >= this.failuresBeforeNotResponding) return 'not-responding';
    if (this.lifecycle === 'starting' && !this.initDone && this.sim === null) return 'starting';
    if (this.sim === 'no-sim') return 'no-sim';
    if (this.sim === 'pin-required' || this.sim === 'puk-required') return 'pin-required';
    if (!this.initDone) return this.initError ? 'error' : 'starting';
    if (this.smsc === null) return 'no-smsc';
    if (this.registration === 'denied') return 'registration-denied';
    if (this.registration === 'home' || this.registration === 'roaming') return 'ready';
    return 'searching';
  }

  // ------------------------------------------------------------------ connection

  private async connect(): Promise<void> {
    await this.disconnect();
    const stream = await this.options.openStream();
    // A box that crashed in the middle of AT+CMGS leaves the modem waiting for PDU
    // input, where our "AT" would be read as PDU text for ever. ESC ends that input
    // without sending (SIMCom, Quectel; 27.005 §3.5.1); to a modem in command mode
    // it is a stray byte at worst. Its answer, if any, is drained as stray output.
    await new Promise<void>((resolve) => stream.write(Buffer.from([0x1b]), () => resolve()));
    const engine = new AtEngine(stream, {
      timeoutMs: this.commandTimeoutMs,
      promptTimeoutMs: this.sendTimeoutMs,
      ...(this.options.resyncQuietMs === undefined ? {} : { resyncQuietMs: this.options.resyncQuietMs }),
      logger: this.log ? (line, dir) => this.log?.debug(`modem ${dir}`, { line }) : undefined,
      extraUrcs: this.hat.at.networkTimeUrcs,
      timers: this.timers,
    } as ConstructorParameters<typeof AtEngine>[1]);
    engine.on('urc', (urc) => this.onUrc(urc));
    engine.on('reboot', (line) => this.onReboot(line));
    this.stream = stream;
    this.engine = engine;
  }

  private async disconnect(): Promise<void> {
    const engine = this.engine;
    const stream = this.stream;
    this.engine = null;
    this.stream = null;
    engine?.removeAllListeners();
    engine?.dispose();
    if (stream && !stream.destroyed) {
      const closable = stream as Duplex & { close?: (cb: (error?: Error | null) => void) => void; isOpen?: boolean };
      if (typeof closable.close === 'function' && closable.isOpen !== false) {
        await new Promise<void>((resolve) => closable.close!(() => resolve()));
      } else {
        stream.destroy();
      }
    }
  }

  /**
   * Sends a command, keeping count of unanswered ones. Only the transaction
   * holding the port talks to the modem: a command from anywhere else is a bug.
   */
  private async at(command: string, timeoutMs = this.commandTimeoutMs, expectPrefix?: string): Promise<AtResponse> {
    if (this.queue.current === null) throw new Error(`${command}: AT command outside a modem transaction`);
    const engine = this.engine;
    if (!engine || engine.closed) throw new AtClosedError(command, false);
    try {
      const response = await engine.command(command, expectPrefix ? { timeoutMs, expectPrefix } : { timeoutMs });
      this.answeredNow();
      return response;
    } catch (error) {
      if (isSilence(error)) this.unanswered(error);
      else if (error instanceof AtError && !(error instanceof AtModemRebootedError)) this.answeredNow();
      throw error;
    }
  }

  private answeredNow(): void {
    this.answered = true;
    if (this.failures >= this.failuresBeforeNotResponding) {
      this.event('info', 'responding-again', '短信模块恢复响应', 'The modem answers again');
      this.initDone = false;
    }
    this.failures = 0;
  }

  private unanswered(error: unknown): void {
    this.failures++;
    this.lastError = describe(error);
    this.publish();
  }

  /** A plain AT, `tries` times, with a short time limit; true when the modem answered. */
  private async probe(tries: number): Promise<boolean> {
    for (let i = 0; i < tries; i++) {
      try {
        await this.at('AT', Math.min(this.commandTimeoutMs, 1500));
        return true;
      } catch (error) {
        if (!isSilence(error)) return true; // ERROR is an answer too
        if (this.engine?.closed) return false;
      }
    }
    return false;
  }

  /** Waits up to `ms` for the modem to answer AT (after a power-on or a restart). */
  private async waitForBoot(ms: number): Promise<boolean> {
    const deadline = this.timers.now() + ms;
    while (this.timers.now() < deadline) {
      if (await this.probe(1)) return true;
      if (!this.engine || this.engine.closed || this.lifecycle === 'stopping') return false;
      await this.sleep(Math.min(1000, Math.max(0, deadline - this.timers.now())));
    }
    return this.probe(1);
  }

  // ------------------------------------------------------------------ init and polling

  /**
   * Queues the init sequence as a transaction of its own (after a restart of
   * the module); callers that arrive while one waits or runs share it.
   */
  private initialize(): Promise<void> {
    if (!this.initRunning) {
      const asOf = this.reboots;
      this.initRunning = this.queue
        // A transaction ahead of this one (a power cycle, a start) may have set the module up already.
        .enqueue('init', async () => (this.initDone && this.initAsOfReboot >= asOf ? undefined : this.runInit()))
        .catch(() => {})
        .finally(() => {
          this.initRunning = null;
        });
    }
    return this.initRunning;
  }

  private async runInit(): Promise<void> {
    this.initDone = false;
    this.initAsOfReboot = this.reboots;
    try {
      await this.at('ATE0');
      await this.at('AT+CMEE=2');
      await this.readIdentity();
      if (!(await this.readSim())) return;
      await this.at('AT+CMGF=0');
      await this.at(`AT+CNMI=${this.hat.at.cnmi}`);
      // The caller's number with each RING (27.007 §7.6), so that a call can be recorded by who made it.
      await this.at('AT+CLIP=1').catch((error) => this.log?.info('AT+CLIP=1 refused', { error: describe(error) }));
      const mem = `"${this.hat.at.storage}"`;
      await this.at(`AT+CPMS=${mem},${mem},${mem}`);
      const csca = await this.at('AT+CSCA?');
      this.smsc = csca.lines.map(parseCsca).find((s) => s !== null) ?? null;
      for (const command of this.hat.at.networkTimeCommands) {
        await this.at(command).catch((error) => this.log?.info('network time command refused', { command, error: describe(error) }));
      }
      // A restarted module is back in AT+CMMS mode 0; a backlog being sent wants 2.
      this.cmmsMode = 0;
      if (this.keepLinkOpen && this.hat.at.cmms) await this.setCmms(2).catch(() => {});
      this.initDone = true;
      this.initError = null;
      this.log?.info('modem initialised', { model: this.identity.model, firmware: this.identity.firmware });
      void this.scanInbox();
    } catch (error) {
      this.initError = describe(error);
      this.lastError = this.initError;
      this.log?.warn('modem init failed', { error: this.initError });
    } finally {
      this.publish();
    }
  }

  private async readIdentity(): Promise<void> {
    const first = async (command: string): Promise<string | null> => {
      try {
        const { lines } = await this.at(command);
        const line = lines.find((l) => l.trim() !== '');
        return line ? line.replace(/^\+\w+:\s*/, '').trim() : null;
      } catch (error) {
        if (isSilence(error)) throw error;
        return null;
      }
    };
    this.identity.model = (await first('AT+CGMM')) ?? this.identity.model;
    this.identity.firmware = (await first('AT+CGMR')) ?? this.identity.firmware;
    this.identity.imei = (await first('AT+CGSN')) ?? this.identity.imei;
  }

  /** AT+CPIN? → the SIM state; true when the SIM is ready. */
  private async readSim(): Promise<boolean> {
    let state: SimState | null = null;
    try {
      const { lines } = await this.at('AT+CPIN?');
      const parsed = lines.map(parseCpin).find((p) => p !== null) ?? null;
      state = parsed?.state ?? 'other';
      this.simCode = parsed?.code ?? null;
    } catch (error) {
      if (error instanceof AtCmeError) {
        state = simStateFromCme(error.code, error.text) ?? 'other';
        this.simCode = error.text;
      } else if (error instanceof AtError && !isSilence(error)) {
        state = 'other';
      } else {
        throw error;
      }
    }
    this.sim = state;
    if (state === 'ready') {
      if (this.identity.iccid === null) {
        try {
          const { lines } = await this.at('AT+CICCID');
          this.identity.iccid = lines.map((l) => /(\d{18,22}[0-9A-F]?)/i.exec(l)?.[1] ?? null).find((v) => v) ?? null;
        } catch (error) {
          if (isSilence(error)) throw error;
        }
      }
      await this.readSubscriber();
      return true;
    }
    if (state === 'other') this.initError = `SIM not ready (${this.simCode ?? 'unknown'})`;
    return false;
  }

  /** AT+CIMI and AT+CNUM [27007 §7.1]: who the SIM is (the carrier, the number a self-test sends to). */
  private async readSubscriber(): Promise<void> {
    try {
      const { lines } = await this.at('AT+CIMI');
      this.identity.imsi = parseCimi(lines) ?? this.identity.imsi;
    } catch (error) {
      if (isSilence(error)) throw error;
    }
    try {
      const { lines } = await this.at('AT+CNUM');
      // A SIM that does not store its MSISDN answers a bare OK: unknown, not an error.
      this.identity.ownNumber = parseCnum(lines);
    } catch (error) {
      if (isSilence(error)) throw error;
    }
  }

  private schedulePoll(): void {
    if (this.lifecycle !== 'running') return;
    if (this.pollTimer) this.timers.clearTimeout(this.pollTimer);
    this.pollTimer = this.timers.setTimeout(() => {
      this.pollTimer = null;
      // A poll waits behind everything else queued; the next one is timed from its end.
      void this.queue
        .enqueue('poll', () => this.poll())
        .catch(() => {})
        .finally(() => this.schedulePoll());
    }, this.pollIntervalMs);
    (this.pollTimer as { unref?: () => void }).unref?.();
  }

  /** One round of the poll loop: reconnect, recover, re-init, registration, signal, operator, inbox. */
  private async poll(): Promise<void> {
    if (this.lifecycle !== 'running') return;
    this.pollCount++;
    try {
      if (!this.engine || this.engine.closed) {
        await this.connect();
        if (!(await this.probe(1))) return;
      }
      if (this.failures >= this.failuresBeforeNotResponding) {
        if (!(await this.probe(1))) return;
      }
      if (!this.initDone) {
        await this.runInit();
        if (!this.initDone) return;
      }
      await this.pollNetwork();
      if (this.pollCount % this.inboxScanEveryPolls === 0) await this.scanInboxHeld();
    } catch (error) {
      this.lastError = describe(error);
      this.log?.debug('modem poll failed', { error: this.lastError });
    } finally {
      this.publish();
    }
  }

  private async pollNetwork(): Promise<void> {
    const stats: RegistrationStat[] = [];
    let csRegistered = false;
    for (const command of this.hat.at.registration) {
      try {
        const { lines } = await this.at(`AT${command}?`, this.commandTimeoutMs, command);
        const parsed = lines.map(parseRegistration).find((p) => p !== null);
        if (parsed) stats.push(parsed.stat);
        if (command.toUpperCase() === '+CREG' && (parsed?.stat === 'home' || parsed?.stat === 'roaming')) csRegistered = true;
      } catch (error) {
        if (isSilence(error)) throw error;
      }
    }
    if (stats.includes('home')) {
      this.registration = 'home';
      this.roaming = false;
    } else if (stats.includes('roaming')) {
      this.registration = 'roaming';
      this.roaming = true;
    } else if (stats.includes('denied')) {
      this.registration = 'denied';
    } else {
      this.registration = stats.length > 0 ? 'searching' : this.registration;
    }
    try {
      const { lines } = await this.at('AT+CSQ');
      this.signal = lines.map(parseCsq).find((s) => s !== null) ?? this.signal;
    } catch (error) {
      if (isSilence(error)) throw error;
    }
    if (this.registration === 'home' || this.registration === 'roaming') {
      let rat: Rat = 'unknown';
      try {
        const { lines } = await this.at('AT+COPS?');
        this.operator = lines.map(parseCops).find((o) => o !== null) ?? this.operator;
        rat = lines.map(parseCopsAct).find((r) => r !== null) ?? 'unknown';
      } catch (error) {
        if (isSilence(error)) throw error;
      }
      await this.readRadio(rat, csRegistered);
    } else {
      this.rat = 'unknown';
      this.imsRegistered = null;
      this.smsPath = 'unknown';
    }
    this.publish();
  }

  /**
   * The access technology (the profile's own query wins over the AcT of
   * AT+COPS?), IMS registration on LTE, and from them the SMS path
   * (parse.ts decideSmsPath; /work/coord/at-contract.md §1-§3).
   */
  private async readRadio(copsRat: Rat, csRegistered: boolean): Promise<void> {
    let rat = copsRat;
    if (this.hat.at.ratCommand) {
      try {
        const { lines } = await this.at(this.hat.at.ratCommand);
        const vendor = lines.map(parseVendorRat).find((r) => r !== null && r !== 'unknown');
        if (vendor) rat = vendor;
      } catch (error) {
        if (isSilence(error)) throw error;
      }
    }
    let ims: boolean | null = null;
    if (rat === 'lte') {
      for (const query of this.hat.at.imsQueries) {
        try {
          const { lines } = await this.at(query);
          const answer = lines.map(parseImsRegistration).find((r) => r !== null);
          if (answer !== undefined) {
            ims = answer;
            break;
          }
        } catch (error) {
          if (isSilence(error)) throw error;
          // A module without this query (ERROR, +CME ERROR: 4): try the next one.
        }
      }
    }
    const before = this.smsPath;
    this.rat = rat;
    this.imsRegistered = ims;
    this.smsPath = decideSmsPath({ registered: true, rat, csRegistered, imsRegistered: ims });
    if (this.smsPath === 'none' && before !== 'none') {
      this.event(
        'error',
        'no-sms-path',
        '已注册 4G 网络，但没有短信通道（IMS/VoLTE 未注册，也没有 SGs）：短信暂停发送',
        'Registered on LTE without an SMS path (no IMS/VoLTE registration, no SGs): sending is held',
      );
      if (this.hat.at.imsEnable.length > 0 && !this.imsEnableTried) {
        this.imsEnableTried = true;
        void this.enableIms().catch((error: unknown) => this.log?.warn('switching IMS on failed', { error: describe(error) }));
      }
    } else if (before === 'none' && this.smsPath !== 'none' && this.smsPath !== 'unknown') {
      this.event('info', 'sms-path', `短信通道已恢复（${this.smsPath.toUpperCase()}）`, `SMS path back (${this.smsPath.toUpperCase()})`);
    }
  }

  /**
   * The profile's IMS/VoLTE switch (AT+QCFG="ims",1 on Quectel,
   * AT+VOLTESETTING=1 on SIMCom; hardware/hats/*.toml cites them), then a
   * radio restart so that it takes effect: once per start of the box, as a
   * control transaction of its own. Whether IMS then registers is up to the
   * carrier (VoLTE provisioned for the SIM); the next poll tells.
   */
  private async enableIms(): Promise<void> {
    const timeoutMs = this.commandTimeoutMs * 3;
    const accepted = await this.queue.enqueue('ims-enable', async () => {
      let any = false;
      for (const command of this.hat.at.imsEnable) {
        try {
          await this.at(command);
          any = true;
        } catch (error) {
          if (isSilence(error)) throw error;
          this.log?.info('IMS switch refused', { command, error: describe(error) });
        }
      }
      if (any) {
        await this.at('AT+CFUN=0', timeoutMs);
        await this.at('AT+CFUN=1', timeoutMs);
      }
      return any;
    });
    if (accepted) {
      this.event(
        'info',
        'ims-enable',
        `已打开短信模块的 IMS/VoLTE 设置（${this.hat.at.imsEnable.join('; ')}）并重启射频`,
        `Switched the module's IMS/VoLTE setting on (${this.hat.at.imsEnable.join('; ')}) and restarted the radio`,
      );
    }
    this.publish();
  }

  // ------------------------------------------------------------------ status and events

  private publish(): void {
    const next = this.status();
    const previous = this.lastPublished;
    if (previous && JSON.stringify(previous) === JSON.stringify(next)) return;
    this.lastPublished = next;
    this.eventsFor(previous, next);
    this.emit('status', next);
  }

  /** The events a person should see for a change of status. */
  private eventsFor(previous: ModemState | null, next: ModemState): void {
    const was = previous?.state ?? 'off';
    if (next.state !== was) {
      switch (next.state) {
        case 'ready':
          this.event(
            'info',
            'registered',
            `已注册到 ${next.operator ?? '网络'}${next.roaming ? '（漫游）' : ''}，可以发送短信`,
            `Registered on ${next.operator ?? 'the network'}${next.roaming ? ' (roaming)' : ''}; SMS can be sent`,
          );
          break;
        case 'searching':
          if (was === 'ready') this.event('warn', 'searching', '短信模块失去网络，正在搜索', 'The modem lost the network and is searching');
          break;
        case 'registration-denied':
          this.event('error', 'registration-denied', '运营商拒绝注册：SIM 卡可能欠费或被停用', 'The network denied registration: the SIM may be out of credit or barred');
          break;
        case 'no-sim':
        case 'pin-required':
        case 'no-smsc':
        case 'not-responding': {
          const text = FAULT_TEXT[next.state]!;
          this.event('error', next.state, text.zh, text.en);
          break;
        }
        default:
          break;
      }
    }
    const weak = next.csq !== null && next.csq < WEAK_SIGNAL_CSQ;
    const wasWeak = previous?.csq !== null && previous?.csq !== undefined && previous.csq < WEAK_SIGNAL_CSQ;
    if (weak && !wasWeak) {
      this.event('warn', 'signal-weak', `信号弱（CSQ ${next.csq}，${next.dbm} dBm）：请调整天线位置`, `Weak signal (CSQ ${next.csq}, ${next.dbm} dBm): move the antenna`);
    }
  }

  private event(level: ModemEvent['level'], kind: string, zh: string, en: string): void {
    this.emit('event', { level, kind, zh, en });
  }

  // ------------------------------------------------------------------ sending

  /**
   * Sends one message, all its segments in order, and resolves with the
   * message reference of each. One send at a time: a second call waits for
   * the first to finish, so the segments of two messages never interleave.
   * Failures reject with {@link ModemSendError}; its rules are in errors.ts.
   */
  send(request: SendRequest): Promise<{ messageRefs: number[] }> {
    return this.queue.enqueue('send', () => this.sendNow(request));
  }

  /**
   * Keeps the SMS link open between messages (AT+CMMS=2) while a backlog is
   * being sent, where the profile supports it. The sender says what it wants
   * as often as it likes: AT+CMMS is written only when the module's mode has
   * to change. Resolves false when the profile has no AT+CMMS or it failed.
   */
  async setKeepLinkOpen(on: boolean): Promise<boolean> {
    if (!this.hat.at.cmms) return false;
    this.keepLinkOpen = on;
    const wanted = on ? 2 : 0;
    if (this.cmmsMode === wanted) return true;
    try {
      await this.queue.enqueue('link', async () => {
        // The wish may have changed again while this waited; a send may have set the mode meanwhile.
        const target = this.keepLinkOpen ? 2 : 0;
        if (this.cmmsMode !== target && this.initDone) await this.setCmms(target);
      });
      return true;
    } catch {
      return false;
    }
  }

  /** AT+CMMS; `cmmsMode` follows what the module confirmed. */
  private async setCmms(mode: 0 | 2): Promise<void> {
    try {
      await this.at(`AT+CMMS=${mode}`);
      this.cmmsMode = mode;
    } catch (error) {
      this.cmmsMode = null;
      throw error;
    }
  }

  private async sendNow(request: SendRequest): Promise<{ messageRefs: number[] }> {
    const notNow = this.refusal();
    if (notNow) throw new ModemSendError({ retryable: true, uncertain: false, reason: notNow, segmentsSent: 0 });

    let segments: { pdu: string; tpduLength: number }[];
    try {
      const probe = encodeSubmit({ to: request.to, text: request.text, statusReport: request.statusReport ?? false, concatRef: 0 });
      let concatRef = request.concatRef;
      if (probe.length > 1 && concatRef === undefined) {
        concatRef = this.nextConcatRef;
        this.nextConcatRef = (this.nextConcatRef + 1) % 256;
      }
      segments = probe.length > 1 ? encodeSubmit({ to: request.to, text: request.text, statusReport: request.statusReport ?? false, concatRef: concatRef! }) : probe;
    } catch (error) {
      if (!(error instanceof PduError)) throw error;
      throw new ModemSendError({ retryable: false, uncertain: false, reason: `cannot encode: ${error.message}`, segmentsSent: 0 }, { cause: error });
    }

    const engine = this.engine!;
    const multipart = segments.length > 1;
    // The segments of one message go on one link; afterwards the mode goes back to the sender's wish.
    const wrap = multipart && this.hat.at.cmms && this.cmmsMode !== 2;
    if (wrap) await this.setCmms(2).catch(() => {});
    const messageRefs: number[] = [];
    try {
      for (const segment of segments) {
        let response: AtResponse;
        try {
          response = await engine.sendPdu(segment.tpduLength, segment.pdu, { timeoutMs: this.sendTimeoutMs });
          this.answeredNow();
        } catch (error) {
          const failure = this.sendFailure(error, messageRefs);
          this.emit('send-result', { ok: false, error: failure });
          throw failure;
        }
        const ref = parseCmgs(response.lines);
        messageRefs.push(ref ?? -1);
      }
    } finally {
      if (wrap && !this.keepLinkOpen && this.engine === engine && !engine.closed) {
        await this.setCmms(0).catch(() => {});
      }
    }
    this.emit('send-result', { ok: true });
    return { messageRefs };
  }

  /**
   * Why the driver cannot even try to transmit now (the port is shut, the
   * module is not set up or does not answer); null when it can. Whether the
   * box *should* send (health, SMS path, carrier) is judged in src/status/.
   */
  private refusal(): string | null {
    if (!this.engine || this.engine.closed) return 'the modem port is not open';
    const state = this.stateName();
    if (state === 'off' || state === 'starting') return `the modem is ${state}`;
    const fault = FAULT_TEXT[state];
    if (fault) return fault.en;
    if (!this.initDone) return 'the modem is not set up';
    return null;
  }

  private sendFailure(error: unknown, messageRefs: number[]): ModemSendError {
    const segmentsSent = messageRefs.length;
    const partial = segmentsSent > 0;
    const base = { segmentsSent, messageRefs: [...messageRefs] };
    if (error instanceof AtCmsError) {
      const code = error.code ?? lookupCmsText(error.text);
      return new ModemSendError(
        { ...base, retryable: classifyCmsError(code) === 'retryable', uncertain: partial, code, reason: `+CMS ERROR: ${error.text}` },
        { cause: error },
      );
    }
    if (error instanceof AtCmeError) {
      return new ModemSendError(
        { ...base, retryable: classifyCmeError(error.code) === 'retryable', uncertain: partial, code: error.code, reason: `+CME ERROR: ${error.text}` },
        { cause: error },
      );
    }
    if (error instanceof AtTimeoutError || error instanceof AtModemRebootedError || error instanceof AtClosedError) {
      if (isSilence(error)) this.unanswered(error);
      const what = error instanceof AtTimeoutError ? 'no answer' : error instanceof AtModemRebootedError ? 'the modem restarted' : 'the port closed';
      return new ModemSendError(
        { ...base, retryable: true, uncertain: error.written || partial, reason: `${what} during AT+CMGS${error.written ? ' after the PDU was written' : ''}` },
        { cause: error },
      );
    }
    if (error instanceof AtError) {
      return new ModemSendError({ ...base, retryable: true, uncertain: partial, reason: error.finalLine ?? error.message }, { cause: error });
    }
    return new ModemSendError({ ...base, retryable: true, uncertain: partial, reason: describe(error) }, { cause: error });
  }

  // ------------------------------------------------------------------ receiving

  private onUrc(urc: AtUrc): void {
    const name = urc.name.toUpperCase();
    if (name === '+CMTI') {
      const at = parseStoredIndication(urc.line);
      if (at) void this.queueInbound(() => this.readStored(at.index));
    } else if (name === '+CDSI') {
      const at = parseStoredIndication(urc.line);
      if (at) void this.queueInbound(() => this.readStored(at.index));
    } else if (name === '+CMT' && urc.pdu) {
      const pdu = urc.pdu;
      void this.queueInbound(() => this.handOver(pdu, null));
    } else if (name === 'RING' || name === '+CRING') {
      this.onRing();
    } else if (name === '+CLIP') {
      const clip = parseClip(urc.line);
      if (clip?.number && this.call && this.call.from === null) this.call.from = clip.number;
      if (!this.call) this.onRing(clip?.number ?? null);
    } else if (name === 'MISSED_CALL') {
      const number = parseMissedCall(urc.line);
      if (number && this.call && this.call.from === null) this.call.from = number;
    } else if (name === '+CDS' && urc.pdu) {
      this.statusReportFrom(urc.pdu);
    } else if (this.hat.at.networkTimeUrcs.some((n) => n.toUpperCase() === name)) {
      const time = parseNetworkTimeUrc(urc.line);
      if (time) {
        this.lastNetworkTime = { time: time.getTime(), receivedAt: this.options.clock.now() };
        this.emit('network-time', time);
      }
    } else if (this.hat.at.readyUrcs.some((n) => n.toUpperCase() === urc.line.toUpperCase()) && !this.initDone && this.lifecycle === 'running') {
      void this.initialize();
    }
  }

  // ------------------------------------------------------------------ calls

  /**
   * An incoming call: hung up at once, as a transaction ahead of everything
   * waiting (the one holding the port finishes first), and reported as a
   * `call` event once the hang-up is over. A shop's SIM is for SMS: a call
   * left ringing blocks nothing, but the customer should hear it end and the
   * owner should know someone called.
   */
  private onRing(from: string | null = null): void {
    if (this.call) return; // the same call ringing again: its hang-up is queued or running
    if (this.timers.now() < this.callSettledAt) return;
    const call = { from, at: this.options.clock.now() };
    this.call = call;
    void this.queue
      .enqueue('hang-up', async () => {
        // (The +CLIP that follows RING in the same burst is read before this command goes out:
        // the engine writes it on its next turn, after the rest of the received chunk.)
        let hungUp = false;
        try {
          await this.at(this.hat.at.hangUp);
          hungUp = true;
        } catch (error) {
          this.log?.warn('hanging up a call failed', { command: this.hat.at.hangUp, error: describe(error) });
        }
        return hungUp;
      })
      .catch(() => false)
      .then((hungUp) => {
        this.call = null;
        this.callSettledAt = this.timers.now() + this.callSettleMs;
        this.emit('call', { from: call.from, at: call.at, hungUp });
      });
  }

  private onReboot(line: string): void {
    this.reboots++;
    this.initDone = false;
    this.failures = 0;
    if (this.lifecycle !== 'running') return;
    this.event('warn', 'modem-restarted', `短信模块重新启动了（${line}）`, `The modem restarted (${line})`);
    this.publish();
    this.cmmsMode = 0;
    // Give the module a moment to print the rest of its boot URCs, then set it up again.
    void this.sleep(50).then(() => this.initialize());
  }

  /** One received message (read, hand over, delete) is one transaction, before the next send. */
  private queueInbound(work: () => Promise<void>, kind: TransactionKind = 'inbound'): Promise<void> {
    return this.queue.enqueue(kind, work).catch((error: unknown) => {
      this.log?.warn('inbound SMS handling failed', { error: describe(error) });
    });
  }

  private async readStored(index: number): Promise<void> {
    if (this.inboundInFlight.has(index)) return;
    this.inboundInFlight.add(index);
    try {
      const { lines } = await this.at(`AT+CMGR=${index}`);
      const stored = parseCmgr(lines);
      if (!stored) return; // an empty location: someone else read it
      await this.handOver(stored.pdu, index);
    } finally {
      this.inboundInFlight.delete(index);
    }
  }

  /**
   * Reads everything stored (AT+CMGL=4) and offers each message that is not
   * held back: what arrived while the box was off, and earlier failures.
   */
  scanInbox(): Promise<void> {
    return this.queueInbound(() => this.scanInboxHeld(), 'inbox-scan');
  }

  private async scanInboxHeld(): Promise<void> {
    if (!this.initDone || !this.engine) return;
    const { lines } = await this.at('AT+CMGL=4', Math.max(this.commandTimeoutMs, 15_000));
    for (const entry of parseCmgl(lines)) {
      const key = `${entry.index}:${entry.pdu}`;
      const heldUntil = this.inboundHeld.get(key);
      if (heldUntil !== undefined && this.options.clock.now() < heldUntil) continue;
      if (this.inboundInFlight.has(entry.index)) continue;
      this.inboundInFlight.add(entry.index);
      try {
        await this.handOver(entry.pdu, entry.index);
      } finally {
        this.inboundInFlight.delete(entry.index);
      }
    }
  }

  /** Decodes one PDU, hands it to its consumer, and deletes the stored copy once the consumer is done. */
  private async handOver(pdu: string, index: number | null): Promise<void> {
    let decoded: DecodedPdu;
    try {
      decoded = decodePdu(pdu);
    } catch (error) {
      if (!(error instanceof PduError)) throw error;
      // Kept in the events log with its bytes, then deleted: an undecodable PDU would otherwise fill the SIM.
      this.event('warn', 'inbound-undecodable', `收到无法解码的短信，已记录原始数据：${pdu}`, `Received an SMS that cannot be decoded; raw PDU: ${pdu} (${error.message})`);
      if (index !== null) await this.deleteStored(index);
      return;
    }
    if (decoded.type === 'status-report') {
      this.emitStatusReport(decoded);
      if (index !== null) await this.deleteStored(index);
      return;
    }
    if (decoded.type !== 'deliver') return; // a stored SUBMIT is not ours to touch
    const part: InboundPart = {
      from: decoded.number,
      text: decoded.text,
      timestamp: decoded.timestamp,
      concat: decoded.concat,
      encoding: decoded.encoding,
      pdu,
    };
    const key = index === null ? null : `${index}:${pdu}`;
    try {
      await this.options.onInbound(part);
    } catch (error) {
      if (key) this.inboundHeld.set(key, this.options.clock.now() + this.inboundRetryMs);
      this.log?.warn('inbound SMS handler failed; the message stays on the SIM and is offered again later', { error: describe(error) });
      return;
    }
    if (key) this.inboundHeld.delete(key);
    if (index !== null) await this.deleteStored(index);
  }

  private async deleteStored(index: number): Promise<void> {
    try {
      await this.at(`AT+CMGD=${index}`);
    } catch (error) {
      // Not fatal: the next scan offers it again (the inbox deduplicates on the PDU).
      this.log?.warn('could not delete a stored SMS', { index, error: describe(error) });
    }
  }

  private statusReportFrom(pdu: string): void {
    try {
      const decoded = decodePdu(pdu);
      if (decoded.type === 'status-report') this.emitStatusReport(decoded);
    } catch (error) {
      this.log?.warn('undecodable status report', { pdu, error: describe(error) });
    }
  }

  private emitStatusReport(decoded: Extract<DecodedPdu, { type: 'status-report' }>): void {
    this.emit('status-report', {
      messageRef: decoded.messageRef,
      recipient: decoded.number,
      status: decoded.status,
      statusText: decoded.statusText,
      delivered: decoded.delivered,
      final: decoded.final,
      at: decoded.dischargeTime,
    });
  }

  // ------------------------------------------------------------------ network time

  /**
   * The network's time, for a box whose own clock is not trustworthy: the
   * module's RTC (AT+CCLK?) when the network has set it, else the last
   * network-time URC advanced by the time since. Null when neither is known.
   */
  async networkTime(): Promise<Date | null> {
    try {
      const time = await this.queue.enqueue('network-time', async () => {
        const { lines } = await this.at('AT+CCLK?', this.commandTimeoutMs, '+CCLK');
        return lines.map((l) => parseCclk(l, this.hat.at.cclkValidFromYear)).find((d) => d !== null) ?? null;
      });
      if (time) return time;
    } catch (error) {
      this.log?.debug('AT+CCLK? failed', { error: describe(error) });
    }
    if (this.lastNetworkTime) {
      return new Date(this.lastNetworkTime.time + (this.options.clock.now() - this.lastNetworkTime.receivedAt));
    }
    return null;
  }
}
