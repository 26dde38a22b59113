/**
 * SMS in PDU mode: the message memories (+CPMS, +CMGL, +CMGR, +CMGD), routing
 * of new messages (+CNMI: +CMTI, +CMT, +CDS, +CDSI), the service centre
 * (+CSCA), and sending (+CMGS: the `> ` prompt, the PDU decoded with the box's
 * own codec, a rotating TP-MR, multipart reassembly, status reports). The
 * network side lives here too: messages for the modem wait at the network
 * until the modem can take them, as an SMSC retries.
 */
import { decodePdu, encodeDeliver, encodeStatusReport, PduError, type DecodedPdu } from '../../../src/modem/pdu/index.js';
import { splitArgs, type ParsedCommand } from '../at-parse.js';
import { intArg, numericSetting, type Behaviour, type Handled } from '../behaviour.js';
import type { ModemCore } from '../core.js';
import { cmsError, plainError, type CommandFailure } from '../errors.js';
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
} from '../sms-storage.js';
import type { InboundSms, TransmittedSegment, TransmittedSms } from '../types.js';
import type { FaultsBehaviour } from './faults.js';
import type { RegistrationBehaviour } from './registration.js';

/** More than the longest PDU (1 + 12 SMSC octets + 164 TPDU octets), as hex digits. */
const MAX_PDU_HEX_CHARS = 2 * 200;

export type SubmitPdu = Extract<DecodedPdu, { type: 'submit' }>;

/** A network-side message waiting for the modem to be reachable. */
interface NetworkDelivery {
  kind: 'deliver' | 'status-report';
  pdu: string;
}

interface Multipart {
  parts: Map<number, { text: string; messageRef: number }>;
  total: number;
  encoding: TransmittedSms['encoding'];
}

interface SmsSettings {
  cmgf: number;
  csms: number;
  cnmi: [number, number, number, number, number];
  cmms: number;
  mem: [MemoryName, MemoryName, MemoryName];
}

function defaultSmsSettings(): SmsSettings {
  return {
    cmgf: 0,
    csms: 0,
    // The SIM7600 starts with new-message indications on: +CMTI for stored SMS.
    cnmi: [2, 1, 0, 0, 0],
    cmms: 0,
    mem: ['SM', 'SM', 'SM'],
  };
}

export interface SmsOptions {
  sendMs: number;
  statusReportDelayMs: number;
  statusReportStatus: number;
  smsc: string;
  storage: StorageCapacity;
  timezoneQuarterHours: number;
}

export class SmsBehaviour implements Behaviour {
  readonly name = 'sms';
  /** Every complete SMS transmitted, oldest first. Also emitted as 'transmitted'. */
  readonly transmitted: TransmittedSms[] = [];
  /** Every segment accepted with +CMGS, oldest first. Also emitted as 'segment'. */
  readonly transmittedSegments: TransmittedSegment[] = [];
  readonly storage: SmsStorage;

  private faults!: FaultsBehaviour;
  private registration!: RegistrationBehaviour;
  private settings = defaultSmsSettings();
  private smsc: string;
  private nextMessageRef = 0;
  private nextInboundConcatRef = 1;
  private readonly multiparts = new Map<string, Multipart>();
  private readonly networkQueue: NetworkDelivery[] = [];
  private readonly sendChecks: ((submit: SubmitPdu) => CommandFailure | null)[] = [];
  private readonly transmitListeners: ((sms: TransmittedSms) => void)[] = [];

  constructor(
    private readonly core: ModemCore,
    private readonly options: SmsOptions,
  ) {
    this.smsc = options.smsc;
    this.storage = new SmsStorage(options.storage);
  }

  bind(parts: { faults: FaultsBehaviour; registration: RegistrationBehaviour }): void {
    this.faults = parts.faults;
    this.registration = parts.registration;
  }

  resetSettings(): void {
    this.settings = defaultSmsSettings();
  }

  onCommand(command: ParsedCommand): Handled | undefined {
    const { name, form } = command;
    switch (name) {
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
        return numericSetting(command, '+CMMS', 0, 2, () => this.settings.cmms, (v) => (this.settings.cmms = v));
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
        return undefined;
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
    this.faults.requireSim('cms');
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
        const next = [...this.settings.cnmi] as SmsSettings['cnmi'];
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
        this.faults.requireSim('cms');
        return [`+CSCA: "${this.core.teString(this.smsc)}",${this.smsc.startsWith('+') ? 145 : 129}`];
      case 'test':
        return [];
      case 'set': {
        this.faults.requireSim('cms');
        const [address] = splitArgs(command.args);
        if (address === undefined) return cmsError(302);
        this.smsc = this.core.fromTeString(address);
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
    this.faults.requireSim('cms');
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
    this.faults.requireSim('cms');
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
    this.faults.requireSim('cms');
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
    this.faults.requireSim('cms');
    return { prompt: { maxChars: MAX_PDU_HEX_CHARS, submit: (hex) => this.submit(length, hex) } };
  }

  private submit(declaredLength: number, hex: string): void {
    const core = this.core;
    let decoded: DecodedPdu;
    try {
      if (!/^([0-9A-Fa-f]{2})+$/.test(hex) || tpduLength(hex) !== declaredLength) throw new PduError('length');
      decoded = decodePdu(hex);
    } catch (error) {
      if (!(error instanceof PduError)) throw error;
      core.finalFailure([], cmsError(304));
      return;
    }
    if (decoded.type !== 'submit') {
      core.finalFailure([], cmsError(304));
      return;
    }
    if (!this.registration.isRegistered()) {
      core.finalFailure([], cmsError(331));
      return;
    }
    const submit = decoded;
    core.holdInput();
    core.emit('submitting', { to: submit.number });
    core.moduleTimer(this.options.sendMs, () => {
      core.releaseInput();
      const failure = this.sendFailure(submit);
      if (failure) {
        core.finalFailure([], failure);
      } else {
        const messageRef = this.nextMessageRef;
        this.nextMessageRef = (this.nextMessageRef + 1) % 256;
        this.recordSegment(submit, messageRef);
        core.emitBytes(`\r\n+CMGS: ${messageRef}\r\n` + (core.terminal.verbose ? '\r\nOK\r\n' : '0\r'));
      }
      core.drainQueuedInput();
    });
  }

  /** Another behaviour's say on a segment at the end of its send time: a failure refuses it. */
  addSendCheck(check: (submit: SubmitPdu) => CommandFailure | null): void {
    this.sendChecks.push(check);
  }

  /** Called with every complete SMS once it is on the air. */
  afterTransmit(listener: (sms: TransmittedSms) => void): void {
    this.transmitListeners.push(listener);
  }

  /** Why the network refuses a segment at the end of its send time, if it does. */
  private sendFailure(submit: SubmitPdu): CommandFailure | null {
    const code = this.faults.takeSendError();
    if (code !== null) return cmsError(code);
    if (!this.registration.isRegistered()) return cmsError(331);
    // Registered on LTE, data up, no SGs and no IMS: what a SIM7600 answers [contract §4].
    if (this.registration.smsPath() === 'none') return cmsError(500);
    for (const check of this.sendChecks) {
      const failure = check(submit);
      if (failure) return failure;
    }
    return null;
  }

  private recordSegment(submit: SubmitPdu, messageRef: number): void {
    const at = new Date(this.core.clock.now()).toISOString();
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
    this.core.emit('segment', segment);
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
    this.core.emit('transmitted', sms);
    for (const listener of this.transmitListeners) listener(sms);
  }

  /** Multipart messages of which only some segments have been transmitted so far. */
  incompleteMultiparts(): { to: string; received: number; total: number }[] {
    return [...this.multiparts.entries()].map(([key, m]) => ({ to: key.split('|')[0]!, received: m.parts.size, total: m.total }));
  }

  private scheduleStatusReport(messageRef: number, recipient: string): void {
    const submittedAt = new Date(this.core.clock.now());
    this.core.networkTimer(this.options.statusReportDelayMs, () => {
      const pdu = encodeStatusReport({
        messageRef,
        recipient,
        status: this.options.statusReportStatus,
        submittedAt,
        dischargedAt: new Date(this.core.clock.now()),
        smsc: this.smsc,
        tzQuarterHours: this.options.timezoneQuarterHours,
      });
      this.networkQueue.push({ kind: 'status-report', pdu });
      this.flushNetworkQueue();
    });
  }

  // ---------------------------------------------------------------- receiving

  /**
   * An SMS reaches the network for the modem. It is delivered at once when the
   * modem can take it (powered, SIM, registered, room in storage), otherwise
   * when it next can, as an SMSC retries. Returns the PDUs, one per part.
   */
  deliver(sms: InboundSms): string[] {
    const ref16 = sms.concatRef16 === true;
    const concatRef = this.nextInboundConcatRef;
    this.nextInboundConcatRef = (this.nextInboundConcatRef % (ref16 ? 0xffff : 0xff)) + 1;
    const pdus = encodeDeliver({
      from: sms.from,
      text: sms.text,
      timestamp: sms.at ?? new Date(this.core.clock.now()),
      tzQuarterHours: this.options.timezoneQuarterHours,
      concatRef,
      concatRef16: ref16,
      smsc: this.smsc,
    });
    for (const pdu of pdus) this.networkQueue.push({ kind: 'deliver', pdu });
    this.core.emit('delivered', sms);
    this.flushNetworkQueue();
    return pdus;
  }

  /** Messages the network still holds for the modem (it was off, unregistered or full). */
  pendingNetworkDeliveries(): number {
    return this.networkQueue.length;
  }

  flushNetworkQueue(): void {
    while (this.networkQueue.length > 0) {
      // No SMS path (LTE without SGs or IMS) keeps messages at the network as no coverage does.
      if (this.core.power !== 'ready' || this.core.silent || this.registration.smsPath() === 'none') return;
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
        this.core.sendUrc(`+CDS: ${length}\r\n${item.pdu}`);
        return true;
      }
      if (ds === 2) {
        const mem = this.settings.mem[2];
        const index = this.storage.store(mem, { pdu: item.pdu, stat: STAT_REC_UNREAD, kind: 'status-report' });
        if (index === null) return false;
        if (indicate) this.core.sendUrc(`+CDSI: "${mem}",${index}`);
        return true;
      }
      return true; // ds=0: the report is not routed to the terminal and is lost.
    }
    if (mt === 2 && indicate) {
      this.core.sendUrc(`+CMT: ,${length}\r\n${item.pdu}`);
      return true;
    }
    const mem = this.settings.mem[2];
    const index = this.storage.store(mem, { pdu: item.pdu, stat: STAT_REC_UNREAD, kind: 'deliver' });
    if (index === null) return false;
    if (indicate && (mt === 1 || mt === 3)) this.core.sendUrc(`+CMTI: "${mem}",${index}`);
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
}
