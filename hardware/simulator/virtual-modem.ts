/**
 * The virtual HAT: a byte-level AT modem that behaves like the default HAT, a
 * Waveshare SIM7600X (SIMCom SIM7600), in PDU mode. Bytes go in with write(),
 * bytes come out as 'data' events, exactly as they would cross the UART.
 *
 * It is a product feature (the whole box runs on it with no hardware), so it
 * keeps the real modem's shape: a command line is echoed until ATE0, answers
 * are framed with CR LF, the `> ` prompt of AT+CMGS waits for a PDU and Ctrl-Z,
 * every PDU it is given is decoded with the box's own codec, multipart messages
 * are reassembled, received messages land in SIM storage with +CMTI, and the
 * network side (registration, signal, inbound SMS, status reports) and faults
 * can be driven through a small typed API. See README.md for what differs from
 * a real SIM7600.
 */
import { EventEmitter } from 'node:events';
import { systemClock, unrefTimers, type Clock, type Timers } from '../../src/clock.js';
import { decodePdu, encodeDeliver, encodeStatusReport, PduError, type DecodedPdu } from '../../src/modem/pdu/index.js';
import { parseCommandLine, splitArgs, type ParsedCommand } from './at-parse.js';
import { CommandFailure, cmeError, cmsError, formatFailure, plainError } from './errors.js';
import {
  MEMORY_NAMES,
  SmsStorage,
  STAT_REC_READ,
  STAT_REC_UNREAD,
  STAT_STO_SENT,
  STAT_STO_UNSENT,
  tpduLength,
  type MemoryName,
  type MessageStat,
  type StorageCapacity,
} from './sms-storage.js';

export type RegistrationState = 'home' | 'roaming' | 'searching' | 'denied' | 'none';

export type ModemFault =
  /** The SIM is gone: +CPIN answers SIM not inserted, nothing registers, SMS commands fail with 310. */
  | { kind: 'no-sim' }
  /** No coverage: registration "searching", +CSQ 99, sends fail with +CMS ERROR: 331. */
  | { kind: 'no-network' }
  /** The next `count` (default 1) sends fail with `+CMS ERROR: <code>` (default 500) after the usual send time. */
  | { kind: 'cms-error'; code?: number; count?: number }
  /** The firmware hangs: no echo, no answers, no URCs, until clear() or a power cycle. */
  | { kind: 'silence' }
  /** Line noise: bursts of random bytes between the modem's output chunks, until clear(). */
  | { kind: 'garbage'; probability?: number }
  /** The module restarts at once (an in-flight send is lost, not transmitted) and prints its boot URCs. */
  | { kind: 'reboot' };

export type FaultKind = ModemFault['kind'];

/** One complete SMS the virtual modem put on the air, reassembled from its segments. */
export interface TransmittedSms {
  to: string;
  text: string;
  segments: number;
  /** ISO 8601 time of the last segment. */
  at: string;
  encoding: 'gsm7' | '8bit' | 'ucs2';
  /** TP-MR the modem answered in +CMGS for each segment, in part order. */
  messageRefs: number[];
}

/** One SMS-SUBMIT the modem accepted (+CMGS answered). */
export interface TransmittedSegment {
  to: string;
  text: string;
  messageRef: number;
  part: number;
  total: number;
  statusReportRequest: boolean;
  at: string;
}

export interface InboundSms {
  from: string;
  text: string;
  /** Service-centre time stamp; defaults to the modem's clock. */
  at?: Date;
  /** Use a 16-bit concatenation reference when the text needs several parts. */
  concatRef16?: boolean;
}

export type ModemTimers = Timers;

/** Real timers that do not keep the process alive on their own. */
export const systemTimers: ModemTimers = unrefTimers;

export interface ModemIdentity {
  manufacturer: string;
  model: string;
  revision: string;
  imei: string;
  imsi: string;
  iccid: string;
}

export interface NetworkOperator {
  longName: string;
  shortName: string;
  numeric: string;
}

export interface VirtualModemOptions {
  /** Time the radio takes per segment between Ctrl-Z and +CMGS (default 1500 ms). */
  sendMs?: number;
  /** Power-on to RDY (default 3000 ms; a real SIM7600 takes 10-15 s). */
  bootMs?: number;
  /** RDY to SMS DONE / PB DONE (default 0). */
  smsReadyMs?: number;
  /** Boot to network registration (default 0: registered as soon as RDY is printed). */
  registerMs?: number;
  /** Submit to status report, when one was requested (default 2000 ms). */
  statusReportDelayMs?: number;
  /** TP-ST of the status reports the network sends back (default 0, delivered). */
  statusReportStatus?: number;
  /** 'ready' (default): booted and registered; 'booting': prints its boot URCs after bootMs; 'off'. */
  initialPower?: 'ready' | 'booting' | 'off';
  registration?: RegistrationState;
  /** +CSQ rssi, 0-31 (default 20). */
  signal?: number;
  identity?: Partial<ModemIdentity>;
  operator?: Partial<NetworkOperator>;
  /** Service centre address the SIM carries (default China Mobile's +8613800100500). */
  smsc?: string;
  storage?: Partial<StorageCapacity>;
  /** Network time zone in quarter hours (default 32, UTC+8). */
  timezoneQuarterHours?: number;
  clock?: Clock;
  timers?: ModemTimers;
  /** Random source in [0, 1) for garbage bytes (default Math.random). */
  random?: () => number;
}

export interface VirtualModemEvents {
  /** Bytes the modem sends on its TX line. */
  data: [Buffer];
  transmitted: [TransmittedSms];
  segment: [TransmittedSegment];
  /** A segment's PDU was taken (after Ctrl-Z): the radio is on it, its +CMGS answer comes after sendMs. */
  submitting: [{ to: string }];
  power: ['off' | 'booting' | 'ready'];
}

const DEFAULT_IDENTITY: ModemIdentity = {
  manufacturer: 'SIMCOM INCORPORATED',
  model: 'SIMCOM_SIM7600G-H',
  revision: 'LE20B04SIM7600G22',
  imei: '862636050000001',
  imsi: '460001234567890',
  iccid: '89860012345678901234',
};

const DEFAULT_OPERATOR: NetworkOperator = { longName: 'CHINA MOBILE', shortName: 'CMCC', numeric: '46000' };

const CTRL_Z = 0x1a;
const ESC = 0x1b;
const CR = 0x0d;
const LF = 0x0a;
const BACKSPACE = 0x08;
const MAX_LINE = 4096;
/** More than the longest PDU (1 + 12 SMSC octets + 164 TPDU octets), as hex digits. */
const MAX_PDU_HEX_CHARS = 2 * 200;

/** 27.007 <stat> of +CREG/+CGREG/+CEREG. */
const REG_STAT: Record<RegistrationState, number> = { none: 0, home: 1, searching: 2, denied: 3, roaming: 5 };

/** 27.005 commands, whose failures are +CMS ERRORs; every other command fails with +CME ERROR. */
const SMS_COMMANDS = new Set(['+CMGF', '+CMGS', '+CMGL', '+CMGR', '+CMGD', '+CMMS', '+CNMI', '+CPMS', '+CSCA', '+CSMS', '+CNMA']);

type RegCommand = '+CREG' | '+CGREG' | '+CEREG';
const REG_COMMANDS: readonly RegCommand[] = ['+CREG', '+CGREG', '+CEREG'];

/** Settings a reboot or ATZ puts back to their power-on values. */
interface VolatileSettings {
  echo: boolean;
  verbose: boolean;
  quiet: boolean;
  cmee: number;
  cmgf: number;
  cscs: string;
  csms: number;
  cnmi: [number, number, number, number, number];
  cmms: number;
  clip: number;
  copsFormat: number;
  reg: Record<RegCommand, number>;
  mem: [MemoryName, MemoryName, MemoryName];
}

function defaultSettings(): VolatileSettings {
  return {
    echo: true,
    verbose: true,
    quiet: false,
    cmee: 0,
    cmgf: 0,
    cscs: 'IRA',
    csms: 0,
    // The SIM7600 starts with new-message indications on: +CMTI for stored SMS.
    cnmi: [2, 1, 0, 0, 0],
    cmms: 0,
    clip: 0,
    copsFormat: 0,
    reg: { '+CREG': 0, '+CGREG': 0, '+CEREG': 0 },
    mem: ['SM', 'SM', 'SM'],
  };
}

type Handled = string[] | CommandFailure | { prompt: true };

/** A network-side message waiting for the modem to be reachable. */
interface NetworkDelivery {
  kind: 'deliver' | 'status-report';
  pdu: string;
}

interface PendingSend {
  declaredLength: number;
  hex: string;
}

interface Multipart {
  parts: Map<number, { text: string; messageRef: number }>;
  total: number;
  encoding: TransmittedSms['encoding'];
}

function intArg(value: string | undefined, min: number, max: number): number | null {
  if (value === undefined || !/^\d+$/.test(value)) return null;
  const n = Number(value);
  return n >= min && n <= max ? n : null;
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

export class VirtualModem extends EventEmitter<VirtualModemEvents> {
  /** Every complete SMS transmitted, oldest first. Also emitted as 'transmitted'. */
  readonly transmitted: TransmittedSms[] = [];
  /** Every segment accepted with +CMGS, oldest first. Also emitted as 'segment'. */
  readonly transmittedSegments: TransmittedSegment[] = [];

  readonly sendMs: number;
  readonly bootMs: number;
  private readonly smsReadyMs: number;
  private readonly registerMs: number;
  private readonly statusReportDelayMs: number;
  private readonly statusReportStatus: number;
  private readonly identity: ModemIdentity;
  private readonly operator: NetworkOperator;
  private readonly tzQuarterHours: number;
  private readonly clock: Clock;
  private readonly timers: ModemTimers;
  private readonly random: () => number;
  private readonly storage: SmsStorage;

  private smsc: string;
  private powerState: 'off' | 'booting' | 'ready' = 'off';
  private attached = false;
  private cfun = 1;
  private settings = defaultSettings();
  private registration: RegistrationState;
  private signal: number;
  /** RTC minus clock.now(); the RTC restarts at 1980-01-06 when power is lost, network time (NITZ) sets it. */
  private rtcOffsetMs = 0;
  private rtcTzQuarterHours = 0;

  private faultNoSim = false;
  private faultNoNetwork = false;
  private faultSilence = false;
  private faultGarbage: number | null = null;
  private cmsFaults: { code: number; remaining: number }[] = [];

  private line = '';
  private pendingSend: PendingSend | null = null;
  private busy = false;
  private queuedInput: number[] = [];
  private nextMessageRef = 0;
  private nextInboundConcatRef = 1;
  private readonly multiparts = new Map<string, Multipart>();
  private readonly networkQueue: NetworkDelivery[] = [];
  /** Timers that die with the module's power (boot steps, a send in progress). */
  private readonly moduleTimers = new Set<unknown>();
  /** Timers of the network side (status reports on their way), which outlive a modem reboot. */
  private readonly networkTimers = new Set<unknown>();
  private lastRegStat = -1;

  constructor(options: VirtualModemOptions = {}) {
    super();
    this.sendMs = options.sendMs ?? 1500;
    this.bootMs = options.bootMs ?? 3000;
    this.smsReadyMs = options.smsReadyMs ?? 0;
    this.registerMs = options.registerMs ?? 0;
    this.statusReportDelayMs = options.statusReportDelayMs ?? 2000;
    this.statusReportStatus = options.statusReportStatus ?? 0;
    this.identity = { ...DEFAULT_IDENTITY, ...options.identity };
    this.operator = { ...DEFAULT_OPERATOR, ...options.operator };
    this.smsc = options.smsc ?? '+8613800100500';
    this.tzQuarterHours = options.timezoneQuarterHours ?? 32;
    this.clock = options.clock ?? systemClock;
    this.timers = options.timers ?? systemTimers;
    this.random = options.random ?? Math.random;
    this.storage = new SmsStorage({ SM: options.storage?.SM ?? 30, ME: options.storage?.ME ?? 50 });
    this.registration = options.registration ?? 'home';
    this.signal = options.signal ?? 20;
    this.resetRtc();
    const initial = options.initialPower ?? 'ready';
    if (initial === 'ready') {
      this.powerState = 'ready';
      this.attached = true;
      this.lastRegStat = this.regStat();
      this.learnNetworkTime();
    } else if (initial === 'booting') {
      this.powerOn();
    }
  }

  // ---------------------------------------------------------------- UART

  /** Bytes arriving on the modem's RX line. */
  write(data: Buffer | Uint8Array | string): void {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    if (this.powerState !== 'ready' || this.faultSilence) return;
    for (const byte of bytes) {
      if (this.busy) this.queuedInput.push(byte);
      else this.receiveByte(byte);
    }
  }

  private emitBytes(text: string | Buffer): void {
    if (this.faultSilence || this.powerState === 'off') return;
    const chunk = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
    // Noise goes between chunks, not between echoed keystrokes, so its rate stays per answer.
    if (this.faultGarbage !== null && chunk.length > 1 && this.random() < this.faultGarbage) this.emit('data', this.garbageBurst());
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

  private sendUrc(line: string): void {
    this.emitBytes(this.settings.verbose ? `\r\n${line}\r\n` : `${line}\r\n`);
  }

  private receiveByte(byte: number): void {
    if (this.pendingSend) {
      this.receivePduByte(byte);
      return;
    }
    if (byte === LF && this.line === '') return;
    if (this.settings.echo) this.emitBytes(Buffer.from([byte]));
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

  private receivePduByte(byte: number): void {
    const send = this.pendingSend!;
    if (this.settings.echo) this.emitBytes(Buffer.from([byte]));
    if (byte === ESC) {
      // Cancelled before submission: nothing goes on the air.
      this.pendingSend = null;
      this.finalOk([]);
      return;
    }
    if (byte === CTRL_Z) {
      this.pendingSend = null;
      this.submit(send);
      return;
    }
    if (byte === CR || byte === LF || byte === 0x20) return;
    if (send.hex.length < MAX_PDU_HEX_CHARS) send.hex += String.fromCharCode(byte);
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
      let result: Handled;
      try {
        result = this.handle(command);
      } catch (error) {
        if (error instanceof CommandFailure) result = error;
        else throw error;
      }
      if (result instanceof CommandFailure) {
        this.finalFailure(blocks, result);
        return;
      }
      if ('prompt' in result) {
        this.emitBytes(this.infoText(blocks) + '\r\n> ');
        return;
      }
      if (result.length > 0) blocks.push(result);
    }
    this.finalOk(blocks);
  }

  private infoText(blocks: string[][]): string {
    return blocks.map((lines) => (this.settings.verbose ? `\r\n${lines.join('\r\n')}\r\n` : `${lines.join('\r\n')}\r\n`)).join('');
  }

  private finalOk(blocks: string[][]): void {
    if (this.settings.quiet) {
      this.emitBytes(this.infoText(blocks));
      return;
    }
    this.emitBytes(this.infoText(blocks) + (this.settings.verbose ? '\r\nOK\r\n' : '0\r'));
  }

  private finalFailure(blocks: string[][], failure: CommandFailure): void {
    const text = formatFailure(failure, this.settings.cmee);
    if (this.settings.quiet) {
      this.emitBytes(this.infoText(blocks));
      return;
    }
    const final = this.settings.verbose ? `\r\n${text}\r\n` : text === 'ERROR' ? '4\r' : `${text}\r\n`;
    this.emitBytes(this.infoText(blocks) + final);
  }

  private handle(command: ParsedCommand): Handled {
    const { name, form, args } = command;
    switch (name) {
      case 'E':
      case 'V':
      case 'Q': {
        const value = args === '' ? 0 : intArg(args, 0, 1);
        if (value === null || form !== 'exec') return plainError();
        if (name === 'E') this.settings.echo = value === 1;
        else if (name === 'V') this.settings.verbose = value === 1;
        else this.settings.quiet = value === 1;
        return [];
      }
      case 'Z':
      case '&F':
        this.settings = defaultSettings();
        return [];
      case '&W':
      case '&C':
      case '&D':
      case '&K':
      case 'X':
      case 'L':
      case 'M':
        return [];
      case 'I':
        return [
          `Manufacturer: ${this.identity.manufacturer}`,
          `Model: ${this.identity.model}`,
          `Revision: ${this.identity.revision}`,
          `IMEI: ${this.identity.imei}`,
          '+GCAP: +CGSM',
        ];
      case 'D':
        // Voice and data calls are outside what the box needs; the SIM7600 would dial.
        return plainError();
      case 'H':
      case 'A':
        return [];
      case '+CGMI':
      case '+GMI':
        return form === 'test' ? [] : [this.identity.manufacturer];
      case '+CGMM':
      case '+GMM':
        return form === 'test' ? [] : [this.identity.model];
      case '+CGMR':
      case '+GMR':
        return form === 'test' ? [] : [name === '+CGMR' ? `+CGMR: ${this.identity.revision}` : this.identity.revision];
      case '+CGSN':
      case '+GSN':
        return form === 'test' ? [] : [this.identity.imei];
      case '+GCAP':
        return ['+GCAP: +CGSM'];
      case '+CIMI':
        if (form === 'test') return [];
        this.requireSim('cme');
        return [this.identity.imsi];
      case '+CICCID':
      case '+CCID':
        this.requireSim('cme');
        return [`+ICCID: ${this.identity.iccid}`];
      case '+CMEE':
        return this.setting(command, '+CMEE', 0, 2, () => this.settings.cmee, (v) => (this.settings.cmee = v));
      case '+CPIN':
        return this.cpin(command);
      case '+CSQ':
        if (form === 'test') return ['+CSQ: (0-31,99),(0-7,99)'];
        return [`+CSQ: ${this.effectiveSignal()},99`];
      case '+CREG':
      case '+CGREG':
      case '+CEREG':
        return this.reg(name, command);
      case '+COPS':
        return this.cops(command);
      case '+CFUN':
        return this.cfunCommand(command);
      case '+CPOF':
        this.afterFinal(() => this.powerOff());
        return [];
      case '+CCLK':
        return this.cclk(command);
      case '+CLIP':
        if (form === 'read') return [`+CLIP: ${this.settings.clip},1`];
        return this.setting(command, '+CLIP', 0, 1, () => this.settings.clip, (v) => (this.settings.clip = v));
      case '+CSCS':
        return this.cscs(command);
      case '+IPR':
        if (form === 'read') return ['+IPR: 115200'];
        if (form === 'test') return ['+IPR: (0,300,600,1200,2400,4800,9600,19200,38400,57600,115200,230400,460800,921600)'];
        return [];
      case '+CMGF':
        return this.cmgf(command);
      case '+CSMS':
        return this.csms(command);
      case '+CPMS':
        return this.cpms(command);
      case '+CNMI':
        return this.cnmi(command);
      case '+CSCA':
        return this.csca(command);
      case '+CMMS':
        return this.setting(command, '+CMMS', 0, 2, () => this.settings.cmms, (v) => (this.settings.cmms = v));
      case '+CNMA':
        // Acknowledgement of a routed +CMT/+CDS; in +CSMS=0 there is nothing to acknowledge at the network.
        return [];
      case '+CSDH':
      case '+CSMP':
      case '+CSCB':
        return form === 'read' ? plainError() : [];
      case '+CMGS':
        return this.cmgs(command);
      case '+CMGL':
        return this.cmgl(command);
      case '+CMGR':
        return this.cmgr(command);
      case '+CMGD':
        return this.cmgd(command);
      default:
        if (/^S\d+$/.test(name)) return form === 'read' ? ['000'] : [];
        return plainError();
    }
  }

  /** Generic `=n`, `?`, `=?` for a numeric setting. */
  private setting(command: ParsedCommand, name: string, min: number, max: number, get: () => number, set: (v: number) => void): Handled {
    switch (command.form) {
      case 'read':
        return [`${name}: ${get()}`];
      case 'test':
        return [`${name}: (${min}-${max})`];
      case 'set': {
        const value = intArg(splitArgs(command.args)[0], min, max);
        if (value === null) return this.paramError(name);
        set(value);
        return [];
      }
      default:
        return plainError();
    }
  }

  private paramError(name: string): CommandFailure {
    return SMS_COMMANDS.has(name) ? cmsError(302) : cmeError(3);
  }

  private requireSim(family: 'cme' | 'cms'): void {
    if (this.faultNoSim) throw family === 'cme' ? cmeError(10) : cmsError(310);
  }

  private afterFinal(action: () => void): void {
    // Runs once the final result code of the current line has been written.
    queueMicrotask(action);
  }

  // ---------------------------------------------------------------- general commands

  private cpin(command: ParsedCommand): Handled {
    if (command.form === 'test') return [];
    this.requireSim('cme');
    if (command.form === 'read') return ['+CPIN: READY'];
    // No PIN is set on the virtual SIM, so there is nothing to unlock.
    return cmeError(3);
  }

  private regStat(): number {
    if (this.powerState !== 'ready' || this.cfun !== 1 || this.faultNoSim) return 0;
    if (this.faultNoNetwork || !this.attached) return 2;
    return REG_STAT[this.registration];
  }

  private isRegistered(): boolean {
    const stat = this.regStat();
    return stat === 1 || stat === 5;
  }

  private effectiveSignal(): number {
    if (this.cfun !== 1 || this.faultNoNetwork || this.registration === 'none') return 99;
    return this.signal;
  }

  private regLine(name: RegCommand, n: number, stat: number, withN: boolean): string {
    const fields: string[] = withN ? [String(n), String(stat)] : [String(stat)];
    if (n === 2 && (stat === 1 || stat === 5)) {
      if (name === '+CEREG') fields.push('"5A1F"', '"0B3C4D51"', '7');
      else fields.push('"5A1F"', '"0B3C4D51"');
    }
    return `${name}: ${fields.join(',')}`;
  }

  private reg(name: string, command: ParsedCommand): Handled {
    const regName = name as RegCommand;
    switch (command.form) {
      case 'read':
        return [this.regLine(regName, this.settings.reg[regName], this.regStat(), true)];
      case 'test':
        return [`${regName}: (0-2)`];
      case 'set': {
        const value = intArg(splitArgs(command.args)[0], 0, 2);
        if (value === null) return cmeError(3);
        this.settings.reg[regName] = value;
        return [];
      }
      default:
        this.settings.reg[regName] = 0;
        return [];
    }
  }

  private updateRegistration(): void {
    const stat = this.regStat();
    if (stat === this.lastRegStat) return;
    this.lastRegStat = stat;
    if (this.powerState !== 'ready') return;
    for (const name of REG_COMMANDS) {
      const n = this.settings.reg[name];
      if (n >= 1) this.sendUrc(this.regLine(name, n, stat, false));
    }
    if (stat === 1 || stat === 5) {
      this.learnNetworkTime();
      this.flushNetworkQueue();
    }
  }

  private teString(text: string): string {
    if (this.settings.cscs !== 'UCS2') return text;
    return Buffer.from(text, 'utf16le').swap16().toString('hex').toUpperCase();
  }

  private fromTeString(text: string): string {
    if (this.settings.cscs !== 'UCS2' || !/^([0-9A-Fa-f]{4})+$/.test(text)) return text;
    return Buffer.from(text, 'hex').swap16().toString('utf16le');
  }

  private cops(command: ParsedCommand): Handled {
    switch (command.form) {
      case 'read': {
        if (!this.isRegistered()) return [`+COPS: 0`];
        const names = [this.operator.longName, this.operator.shortName, this.operator.numeric];
        const oper = this.settings.copsFormat === 2 ? names[2]! : this.teString(names[this.settings.copsFormat]!);
        return [`+COPS: 0,${this.settings.copsFormat},"${oper}",7`];
      }
      case 'test':
        return [
          `+COPS: (2,"${this.teString(this.operator.longName)}","${this.teString(this.operator.shortName)}","${this.operator.numeric}",7),,(0-4),(0-2)`,
        ];
      case 'set': {
        const [mode, format] = splitArgs(command.args);
        const modeValue = intArg(mode, 0, 4);
        if (modeValue === null) return cmeError(3);
        if (format !== undefined) {
          const formatValue = intArg(format, 0, 2);
          if (formatValue === null) return cmeError(3);
          this.settings.copsFormat = formatValue;
        }
        return [];
      }
      default:
        return [];
    }
  }

  private cfunCommand(command: ParsedCommand): Handled {
    switch (command.form) {
      case 'read':
        return [`+CFUN: ${this.cfun}`];
      case 'test':
        return ['+CFUN: (0,1,4,5,6,7),(0,1)'];
      case 'set': {
        const [funArg, resetArg] = splitArgs(command.args);
        const fun = intArg(funArg, 0, 7);
        const reset = resetArg === undefined ? 0 : intArg(resetArg, 0, 1);
        if (fun === null || reset === null || fun === 2 || fun === 3) return cmeError(3);
        if (reset === 1) {
          if (fun !== 1) return cmeError(3);
          this.afterFinal(() => this.restart());
          return [];
        }
        this.cfun = fun === 1 ? 1 : 0;
        this.afterFinal(() => this.updateRegistration());
        return [];
      }
      default:
        return plainError();
    }
  }

  private resetRtc(): void {
    this.rtcOffsetMs = Date.UTC(1980, 0, 6) - this.clock.now();
    this.rtcTzQuarterHours = 0;
  }

  private learnNetworkTime(): void {
    this.rtcOffsetMs = 0;
    this.rtcTzQuarterHours = this.tzQuarterHours;
  }

  private cclk(command: ParsedCommand): Handled {
    if (command.form === 'test') return [];
    if (command.form === 'read') {
      const tz = this.rtcTzQuarterHours;
      const local = new Date(this.clock.now() + this.rtcOffsetMs + tz * 15 * 60_000);
      const sign = tz < 0 ? '-' : '+';
      const text =
        `${pad2(local.getUTCFullYear() % 100)}/${pad2(local.getUTCMonth() + 1)}/${pad2(local.getUTCDate())},` +
        `${pad2(local.getUTCHours())}:${pad2(local.getUTCMinutes())}:${pad2(local.getUTCSeconds())}${sign}${pad2(Math.abs(tz))}`;
      return [`+CCLK: "${text}"`];
    }
    if (command.form === 'set') {
      const m = /^(\d\d)\/(\d\d)\/(\d\d),(\d\d):(\d\d):(\d\d)([+-]\d\d)$/.exec(splitArgs(command.args)[0] ?? '');
      if (!m) return cmeError(3);
      const tz = Number(m[7]);
      const localMs = Date.UTC(2000 + Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
      this.rtcOffsetMs = localMs - tz * 15 * 60_000 - this.clock.now();
      this.rtcTzQuarterHours = tz;
      return [];
    }
    return plainError();
  }

  private cscs(command: ParsedCommand): Handled {
    const supported = ['IRA', 'GSM', 'UCS2'];
    switch (command.form) {
      case 'read':
        return [`+CSCS: "${this.settings.cscs}"`];
      case 'test':
        return [`+CSCS: (${supported.map((s) => `"${s}"`).join(',')})`];
      case 'set': {
        const value = (splitArgs(command.args)[0] ?? '').toUpperCase();
        if (!supported.includes(value)) return cmeError(4);
        this.settings.cscs = value;
        return [];
      }
      default:
        return plainError();
    }
  }

  // ---------------------------------------------------------------- SMS settings

  private cmgf(command: ParsedCommand): Handled {
    switch (command.form) {
      case 'read':
        return [`+CMGF: ${this.settings.cmgf}`];
      case 'test':
        // Only PDU mode is emulated; a real SIM7600 also offers text mode (1).
        return ['+CMGF: (0)'];
      case 'set': {
        const value = intArg(splitArgs(command.args)[0], 0, 1);
        if (value === null) return cmsError(302);
        if (value === 1) return cmsError(303);
        this.settings.cmgf = 0;
        return [];
      }
      default:
        this.settings.cmgf = 0;
        return [];
    }
  }

  private csms(command: ParsedCommand): Handled {
    switch (command.form) {
      case 'read':
        return [`+CSMS: ${this.settings.csms},1,1,1`];
      case 'test':
        return ['+CSMS: (0-1)'];
      case 'set': {
        const value = intArg(splitArgs(command.args)[0], 0, 1);
        if (value === null) return cmsError(302);
        this.settings.csms = value;
        return ['+CSMS: 1,1,1'];
      }
      default:
        return plainError();
    }
  }

  private cpmsCounts(): string {
    return this.settings.mem.map((mem) => `${this.storage.used(mem)},${this.storage.total(mem)}`).join(',');
  }

  private cpms(command: ParsedCommand): Handled {
    const list = `(${MEMORY_NAMES.map((m) => `"${m}"`).join(',')})`;
    if (command.form === 'test') return [`+CPMS: ${list},${list},${list}`];
    this.requireSim('cms');
    if (command.form === 'read') {
      return [`+CPMS: ${this.settings.mem.map((mem) => `"${mem}",${this.storage.used(mem)},${this.storage.total(mem)}`).join(',')}`];
    }
    if (command.form !== 'set') return plainError();
    const values = splitArgs(command.args);
    if (values.length < 1 || values.length > 3) return cmsError(302);
    const chosen = [...this.settings.mem] as [MemoryName, MemoryName, MemoryName];
    for (const [i, value] of values.entries()) {
      if (value === undefined) continue;
      const mem = value.toUpperCase() as MemoryName;
      if (!MEMORY_NAMES.includes(mem)) return cmsError(302);
      chosen[i] = mem;
    }
    this.settings.mem = chosen;
    return [`+CPMS: ${this.cpmsCounts()}`];
  }

  private cnmi(command: ParsedCommand): Handled {
    switch (command.form) {
      case 'read':
        return [`+CNMI: ${this.settings.cnmi.join(',')}`];
      case 'test':
        return ['+CNMI: (0-2),(0-3),(0,2),(0-2),(0-1)'];
      case 'set': {
        const values = splitArgs(command.args);
        const limits: [number, number][] = [
          [0, 2],
          [0, 3],
          [0, 3],
          [0, 2],
          [0, 1],
        ];
        if (values.length < 1 || values.length > 5) return cmsError(302);
        const next = [...this.settings.cnmi] as VolatileSettings['cnmi'];
        for (const [i, value] of values.entries()) {
          if (value === undefined) continue;
          const parsed = intArg(value, limits[i]![0], limits[i]![1]);
          if (parsed === null) return cmsError(302);
          next[i] = parsed;
        }
        this.settings.cnmi = next;
        return [];
      }
      default:
        return plainError();
    }
  }

  private csca(command: ParsedCommand): Handled {
    switch (command.form) {
      case 'read':
        this.requireSim('cms');
        return [`+CSCA: "${this.teString(this.smsc)}",${this.smsc.startsWith('+') ? 145 : 129}`];
      case 'test':
        return [];
      case 'set': {
        this.requireSim('cms');
        const [address] = splitArgs(command.args);
        if (address === undefined) return cmsError(302);
        this.smsc = this.fromTeString(address);
        return [];
      }
      default:
        return plainError();
    }
  }

  // ---------------------------------------------------------------- SMS storage commands

  private pduLine(prefix: string, stored: { pdu: string }): string[] {
    return [`${prefix},,${tpduLength(stored.pdu)}`, stored.pdu];
  }

  private cmgl(command: ParsedCommand): Handled {
    if (command.form === 'test') return ['+CMGL: (0-4)'];
    this.requireSim('cms');
    const statArg = command.form === 'exec' ? '0' : splitArgs(command.args)[0];
    const wanted = intArg(statArg, 0, 4);
    if (wanted === null) return cmsError(302);
    const lines: string[] = [];
    for (const { index, message } of this.storage.list(this.settings.mem[0])) {
      if (wanted !== 4 && message.stat !== wanted) continue;
      lines.push(...this.pduLine(`+CMGL: ${index},${message.stat}`, message));
      if (message.stat === STAT_REC_UNREAD) message.stat = STAT_REC_READ;
    }
    return lines;
  }

  private cmgr(command: ParsedCommand): Handled {
    if (command.form === 'test') return [];
    if (command.form !== 'set') return plainError();
    this.requireSim('cms');
    const index = intArg(splitArgs(command.args)[0], 0, 9999);
    const mem = this.settings.mem[0];
    if (index === null || !this.storage.inRange(mem, index)) return cmsError(321);
    const message = this.storage.get(mem, index);
    if (!message) return []; // An empty location answers a bare OK, as the SIM7600 does.
    const lines = this.pduLine(`+CMGR: ${message.stat}`, message);
    if (message.stat === STAT_REC_UNREAD) message.stat = STAT_REC_READ;
    return lines;
  }

  private cmgd(command: ParsedCommand): Handled {
    if (command.form === 'test') {
      const indices = this.storage.list(this.settings.mem[0]).map((entry) => entry.index);
      return [`+CMGD: (${indices.join(',')}),(0-4)`];
    }
    if (command.form !== 'set') return plainError();
    this.requireSim('cms');
    const [indexArg, flagArg] = splitArgs(command.args);
    const flag = flagArg === undefined ? 0 : intArg(flagArg, 0, 4);
    if (flag === null) return cmsError(302);
    const mem = this.settings.mem[0];
    if (flag === 0) {
      const index = intArg(indexArg, 0, 9999);
      if (index === null || !this.storage.inRange(mem, index)) return cmsError(321);
      this.storage.set(mem, index, undefined);
      return [];
    }
    const doomed: Record<number, MessageStat[]> = {
      1: [STAT_REC_READ],
      2: [STAT_REC_READ, STAT_STO_SENT],
      3: [STAT_REC_READ, STAT_STO_SENT, STAT_STO_UNSENT],
      4: [STAT_REC_UNREAD, STAT_REC_READ, STAT_STO_SENT, STAT_STO_UNSENT],
    };
    for (const { index, message } of this.storage.list(mem)) {
      if (doomed[flag]!.includes(message.stat)) this.storage.set(mem, index, undefined);
    }
    return [];
  }

  // ---------------------------------------------------------------- sending

  private cmgs(command: ParsedCommand): Handled {
    if (command.form === 'test') return [];
    if (command.form !== 'set') return plainError();
    const length = intArg(splitArgs(command.args)[0], 1, 164);
    if (length === null) return cmsError(304);
    this.requireSim('cms');
    this.pendingSend = { declaredLength: length, hex: '' };
    return { prompt: true };
  }

  private submit(send: PendingSend): void {
    const hex = send.hex;
    let decoded: DecodedPdu;
    try {
      if (!/^([0-9A-Fa-f]{2})+$/.test(hex) || tpduLength(hex) !== send.declaredLength) throw new PduError('length');
      decoded = decodePdu(hex);
    } catch (error) {
      if (!(error instanceof PduError)) throw error;
      this.finalFailure([], cmsError(304));
      return;
    }
    if (decoded.type !== 'submit') {
      this.finalFailure([], cmsError(304));
      return;
    }
    if (!this.isRegistered()) {
      this.finalFailure([], cmsError(331));
      return;
    }
    const submit = decoded;
    this.busy = true;
    this.emit('submitting', { to: submit.number });
    const timer = this.timers.setTimeout(() => {
      this.moduleTimers.delete(timer);
      this.busy = false;
      const fault = this.cmsFaults[0];
      if (fault) {
        fault.remaining--;
        if (fault.remaining <= 0) this.cmsFaults.shift();
        this.finalFailure([], cmsError(fault.code));
      } else if (!this.isRegistered()) {
        this.finalFailure([], cmsError(331));
      } else {
        const messageRef = this.nextMessageRef;
        this.nextMessageRef = (this.nextMessageRef + 1) % 256;
        this.recordSegment(submit, messageRef);
        this.emitBytes(`\r\n+CMGS: ${messageRef}\r\n` + (this.settings.verbose ? '\r\nOK\r\n' : '0\r'));
      }
      this.drainQueuedInput();
    }, this.sendMs);
    this.moduleTimers.add(timer);
  }

  private drainQueuedInput(): void {
    while (this.queuedInput.length > 0 && !this.busy) {
      this.receiveByte(this.queuedInput.shift()!);
    }
  }

  private recordSegment(submit: Extract<DecodedPdu, { type: 'submit' }>, messageRef: number): void {
    const at = new Date(this.clock.now()).toISOString();
    const part = submit.concat?.part ?? 1;
    const total = submit.concat?.total ?? 1;
    const segment: TransmittedSegment = {
      to: submit.number,
      text: submit.text,
      messageRef,
      part,
      total,
      statusReportRequest: submit.statusReportRequest,
      at,
    };
    this.transmittedSegments.push(segment);
    this.emit('segment', segment);
    if (submit.statusReportRequest) this.scheduleStatusReport(messageRef, submit.number);

    if (!submit.concat || submit.concat.total <= 1) {
      this.recordSms({ to: submit.number, text: submit.text, segments: 1, at, encoding: submit.encoding, messageRefs: [messageRef] });
      return;
    }
    const key = `${submit.number}|${submit.concat.ref16 ? 16 : 8}|${submit.concat.ref}|${submit.concat.total}`;
    let multipart = this.multiparts.get(key);
    if (!multipart) {
      multipart = { parts: new Map(), total: submit.concat.total, encoding: submit.encoding };
      this.multiparts.set(key, multipart);
    }
    multipart.parts.set(part, { text: submit.text, messageRef });
    if (multipart.parts.size < multipart.total) return;
    this.multiparts.delete(key);
    const ordered = [...multipart.parts.entries()].sort((a, b) => a[0] - b[0]).map(([, value]) => value);
    this.recordSms({
      to: submit.number,
      text: ordered.map((p) => p.text).join(''),
      segments: multipart.total,
      at,
      encoding: multipart.encoding,
      messageRefs: ordered.map((p) => p.messageRef),
    });
  }

  private recordSms(sms: TransmittedSms): void {
    this.transmitted.push(sms);
    this.emit('transmitted', sms);
  }

  /** Multipart messages of which only some segments have been transmitted so far. */
  incompleteMultiparts(): { to: string; received: number; total: number }[] {
    return [...this.multiparts.entries()].map(([key, m]) => ({ to: key.split('|')[0]!, received: m.parts.size, total: m.total }));
  }

  private scheduleStatusReport(messageRef: number, recipient: string): void {
    const submittedAt = new Date(this.clock.now());
    const timer = this.timers.setTimeout(() => {
      this.networkTimers.delete(timer);
      const pdu = encodeStatusReport({
        messageRef,
        recipient,
        status: this.statusReportStatus,
        submittedAt,
        dischargedAt: new Date(this.clock.now()),
        smsc: this.smsc,
        tzQuarterHours: this.tzQuarterHours,
      });
      this.networkQueue.push({ kind: 'status-report', pdu });
      this.flushNetworkQueue();
    }, this.statusReportDelayMs);
    this.networkTimers.add(timer);
  }

  // ---------------------------------------------------------------- receiving

  /**
   * A customer's SMS reaches the network. It is delivered to the modem at once
   * when the modem can take it (powered, SIM, registered, room in storage),
   * otherwise when it next can, as an SMSC retries. Returns the PDUs, one per part.
   */
  deliver(sms: InboundSms): string[] {
    const ref16 = sms.concatRef16 === true;
    const concatRef = this.nextInboundConcatRef;
    this.nextInboundConcatRef = (this.nextInboundConcatRef % (ref16 ? 0xffff : 0xff)) + 1;
    const pdus = encodeDeliver({
      from: sms.from,
      text: sms.text,
      timestamp: sms.at ?? new Date(this.clock.now()),
      tzQuarterHours: this.tzQuarterHours,
      concatRef,
      concatRef16: ref16,
      smsc: this.smsc,
    });
    for (const pdu of pdus) this.networkQueue.push({ kind: 'deliver', pdu });
    this.flushNetworkQueue();
    return pdus;
  }

  /** Messages the network still holds for the modem (it was off, unregistered or full). */
  pendingNetworkDeliveries(): number {
    return this.networkQueue.length;
  }

  private flushNetworkQueue(): void {
    while (this.networkQueue.length > 0) {
      if (this.powerState !== 'ready' || this.faultSilence || !this.isRegistered()) return;
      const item = this.networkQueue[0]!;
      if (!this.routeToTerminal(item)) return;
      this.networkQueue.shift();
    }
  }

  /** Applies +CNMI to one incoming PDU. False when it cannot be taken now (storage full). */
  private routeToTerminal(item: NetworkDelivery): boolean {
    const [mode, mt, , ds] = this.settings.cnmi;
    const indicate = mode !== 0;
    const length = tpduLength(item.pdu);
    if (item.kind === 'status-report') {
      if (ds === 1 && indicate) {
        this.sendUrc(`+CDS: ${length}\r\n${item.pdu}`);
        return true;
      }
      if (ds === 2) {
        const mem = this.settings.mem[2];
        const index = this.storage.store(mem, { pdu: item.pdu, stat: STAT_REC_UNREAD, kind: 'status-report' });
        if (index === null) return false;
        if (indicate) this.sendUrc(`+CDSI: "${mem}",${index}`);
        return true;
      }
      return true; // ds=0: the report is not routed to the terminal and is lost.
    }
    if (mt === 2 && indicate) {
      this.sendUrc(`+CMT: ,${length}\r\n${item.pdu}`);
      return true;
    }
    const mem = this.settings.mem[2];
    const index = this.storage.store(mem, { pdu: item.pdu, stat: STAT_REC_UNREAD, kind: 'deliver' });
    if (index === null) return false;
    if (indicate && (mt === 1 || mt === 3)) this.sendUrc(`+CMTI: "${mem}",${index}`);
    return true;
  }

  /** What the modem holds in a memory, for status pages and tests. */
  stored(mem: MemoryName = 'MT'): { index: number; pdu: string; stat: MessageStat; kind: 'deliver' | 'status-report' }[] {
    return this.storage.list(mem).map(({ index, message }) => ({ index, ...message }));
  }

  /** Puts a message in storage as if it had been received earlier (e.g. while the box was off). */
  storeMessage(pdu: string, mem: 'SM' | 'ME' = 'SM', stat: MessageStat = STAT_REC_UNREAD): number | null {
    return this.storage.store(mem, { pdu, stat, kind: decodePdu(pdu).type === 'status-report' ? 'status-report' : 'deliver' });
  }

  // ---------------------------------------------------------------- network state

  setRegistration(state: RegistrationState): void {
    this.registration = state;
    this.updateRegistration();
  }

  getRegistration(): RegistrationState {
    return this.registration;
  }

  /** +CSQ rssi 0-31, or 99 for unknown. */
  setSignal(csq: number): void {
    if (!Number.isInteger(csq) || csq < 0 || (csq > 31 && csq !== 99)) throw new RangeError(`signal must be 0-31 or 99, got ${csq}`);
    this.signal = csq;
  }

  getSignal(): number {
    return this.signal;
  }

  // ---------------------------------------------------------------- faults

  inject(fault: ModemFault): void {
    switch (fault.kind) {
      case 'no-sim':
        this.faultNoSim = true;
        this.updateRegistration();
        break;
      case 'no-network':
        this.faultNoNetwork = true;
        this.updateRegistration();
        break;
      case 'cms-error':
        this.cmsFaults.push({ code: fault.code ?? 500, remaining: Math.max(1, fault.count ?? 1) });
        break;
      case 'silence':
        this.faultSilence = true;
        break;
      case 'garbage':
        this.faultGarbage = Math.min(1, Math.max(0, fault.probability ?? 0.5));
        break;
      case 'reboot':
        this.restart();
        break;
    }
  }

  /** Clears one kind of fault, or all of them. */
  clear(kind?: FaultKind): void {
    const all = kind === undefined;
    if (all || kind === 'no-sim') this.faultNoSim = false;
    if (all || kind === 'no-network') this.faultNoNetwork = false;
    if (all || kind === 'cms-error') this.cmsFaults = [];
    if (all || kind === 'silence') this.faultSilence = false;
    if (all || kind === 'garbage') this.faultGarbage = null;
    this.updateRegistration();
    this.flushNetworkQueue();
  }

  activeFaults(): ModemFault[] {
    const faults: ModemFault[] = [];
    if (this.faultNoSim) faults.push({ kind: 'no-sim' });
    if (this.faultNoNetwork) faults.push({ kind: 'no-network' });
    for (const f of this.cmsFaults) faults.push({ kind: 'cms-error', code: f.code, count: f.remaining });
    if (this.faultSilence) faults.push({ kind: 'silence' });
    if (this.faultGarbage !== null) faults.push({ kind: 'garbage', probability: this.faultGarbage });
    return faults;
  }

  // ---------------------------------------------------------------- power

  isPoweredOn(): boolean {
    return this.powerState !== 'off';
  }

  /** Booted and answering commands. */
  isReady(): boolean {
    return this.powerState === 'ready';
  }

  /** What a PWRKEY pulse does to a module that is off: boot, then RDY, +CPIN, SMS DONE, PB DONE. */
  powerOn(): void {
    if (this.powerState !== 'off') return;
    this.resetRtc();
    this.boot();
  }

  /**
   * PWRKEY held low for `durationMs`, as the HAT's GPIO does: the SIM7600 powers
   * on after at least 500 ms (when off) and powers off after at least 2.5 s (when on).
   * Returns what the pulse did.
   */
  pwrkeyPulse(durationMs: number): 'powered-on' | 'powered-off' | 'ignored' {
    if (this.powerState === 'off' && durationMs >= 500) {
      this.powerOn();
      return 'powered-on';
    }
    if (this.powerState !== 'off' && durationMs >= 2500) {
      this.powerOff();
      return 'powered-off';
    }
    return 'ignored';
  }

  /** The modem's state at a glance, for a status page in simulator mode. */
  snapshot(): {
    power: 'off' | 'booting' | 'ready';
    registration: RegistrationState;
    creg: number;
    signal: number;
    faults: ModemFault[];
    stored: number;
    waitingAtNetwork: number;
    transmitted: number;
  } {
    return {
      power: this.powerState,
      registration: this.registration,
      creg: this.regStat(),
      signal: this.effectiveSignal(),
      faults: this.activeFaults(),
      stored: this.storage.used('MT'),
      waitingAtNetwork: this.networkQueue.length,
      transmitted: this.transmitted.length,
    };
  }

  /** Power removed (or PWRKEY held to switch off): everything volatile is lost, storage survives. */
  powerOff(): void {
    if (this.powerState === 'off') return;
    this.shutDown();
    this.emit('power', 'off');
  }

  private shutDown(): void {
    for (const timer of this.moduleTimers) this.timers.clearTimeout(timer);
    this.moduleTimers.clear();
    this.powerState = 'off';
    this.attached = false;
    this.cfun = 1;
    this.settings = defaultSettings();
    this.line = '';
    this.pendingSend = null;
    this.busy = false;
    this.queuedInput = [];
    this.faultSilence = false;
    this.lastRegStat = 0;
  }

  /** A module reset: like a power cycle, but the RTC keeps its time. */
  private restart(): void {
    this.shutDown();
    this.boot();
  }

  private boot(): void {
    this.powerState = 'booting';
    this.emit('power', 'booting');
    this.later(this.bootMs, () => {
      this.powerState = 'ready';
      this.emit('power', 'ready');
      this.sendUrc('RDY');
      if (this.faultNoSim) {
        this.sendUrc('+CPIN: SIM REMOVED');
      } else {
        this.sendUrc('+CPIN: READY');
        this.later(this.smsReadyMs, () => {
          this.sendUrc('SMS DONE');
          this.sendUrc('PB DONE');
        });
      }
      this.later(this.registerMs, () => {
        this.attached = true;
        this.updateRegistration();
      });
      this.lastRegStat = this.regStat();
    });
  }

  private later(ms: number, action: () => void): void {
    if (ms <= 0) {
      action();
      return;
    }
    const timer = this.timers.setTimeout(() => {
      this.moduleTimers.delete(timer);
      action();
    }, ms);
    this.moduleTimers.add(timer);
  }

  /** Stops every timer; the modem is off and can be dropped. */
  dispose(): void {
    this.shutDown();
    for (const timer of this.networkTimers) this.timers.clearTimeout(timer);
    this.networkTimers.clear();
    this.removeAllListeners();
  }
}
