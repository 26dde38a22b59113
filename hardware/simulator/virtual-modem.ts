/**
 * The virtual HAT: a byte-level AT modem that behaves like the default HAT, a
 * Waveshare SIM7600X (SIMCom SIM7600), in PDU mode. Bytes go in with write(),
 * bytes come out as 'data' events, exactly as they would cross the UART.
 *
 * It is a product feature (the whole box runs on it with no hardware), so it
 * keeps the real modem's shape. VirtualModem is the facade: a core that owns
 * the UART and the command line (core.ts) plus behaviour modules that answer
 * commands and model the network side (behaviours/: boot and power,
 * registration and IMS, SMS, calls, carrier services, faults), the way
 * zwave-js's mock controller is driven by its MockControllerBehaviors. This
 * class wires them and offers the small typed API tests, the box and
 * `simulate-modem` drive it with. It can also behave as the other HATs'
 * modules (profiles.ts: Quectel EC25, SIMCom SIM868). See README.md for what
 * differs from a real module.
 */
import { BootBehaviour } from './behaviours/boot.js';
import { CallsBehaviour } from './behaviours/calls.js';
import { CarrierBehaviour, type Carrier } from './behaviours/carrier.js';
import { FaultsBehaviour } from './behaviours/faults.js';
import { RegistrationBehaviour, type SmsPath } from './behaviours/registration.js';
import { SmsBehaviour } from './behaviours/sms.js';
import { ModemCore } from './core.js';
import { PROFILES, type ModuleProfileName } from './profiles.js';
import type { MemoryName, MessageStat } from './sms-storage.js';
import { FAULT_KINDS, NETWORK_KINDS } from './types.js';
import type {
  FaultKind,
  InboundSms,
  ModemFault,
  NetworkKind,
  NetworkOperator,
  RegistrationState,
  TransmittedSegment,
  TransmittedSms,
  VirtualCall,
  VirtualModemOptions,
} from './types.js';

export { systemTimers } from './core.js';
export { FAULT_KINDS, NETWORK_KINDS } from './types.js';
export { MODULE_PROFILES, type ModuleProfileName } from './profiles.js';
export { CARRIER_SERVICES, carrierOfImsi, type Carrier } from './behaviours/carrier.js';
export type { SmsPath } from './behaviours/registration.js';
export type {
  FaultKind,
  InboundSms,
  ModemFault,
  ModemIdentity,
  ModemTimers,
  NetworkKind,
  NetworkOperator,
  RegistrationState,
  TransmittedSegment,
  TransmittedSms,
  VirtualCall,
  VirtualModemEvents,
  VirtualModemOptions,
} from './types.js';

/** A China Mobile SIM (MCC 460, MNC 00). */
const DEFAULT_IMSI = '460001234567890';
const DEFAULT_ICCID = '89860012345678901234';
/** A made-up China Mobile number (139 is one of its prefixes). */
const DEFAULT_OWN_NUMBER = '+8613912345678';

const DEFAULT_OPERATOR: NetworkOperator = { longName: 'CHINA MOBILE', shortName: 'CMCC', numeric: '46000' };

export class VirtualModem extends ModemCore {
  /** Every complete SMS transmitted, oldest first. Also emitted as 'transmitted'. */
  readonly transmitted: TransmittedSms[];
  /** Every segment accepted with +CMGS, oldest first. Also emitted as 'segment'. */
  readonly transmittedSegments: TransmittedSegment[];

  readonly sendMs: number;
  readonly bootMs: number;

  /** Every call the network offered, oldest first (also emitted as 'call' on every change). */
  readonly calls: VirtualCall[];
  readonly profile: ModuleProfileName;
  /** The fault kinds and networks it knows, for code that may only import its types (src/web). */
  readonly faultKinds: readonly FaultKind[] = FAULT_KINDS;
  readonly networkKinds: readonly NetworkKind[] = NETWORK_KINDS;

  protected readonly boot: BootBehaviour;
  protected readonly registration: RegistrationBehaviour;
  protected readonly sms: SmsBehaviour;
  protected readonly callControl: CallsBehaviour;
  protected readonly carrierServices: CarrierBehaviour;
  protected readonly faults: FaultsBehaviour;

  constructor(options: VirtualModemOptions = {}) {
    super(options);
    this.sendMs = options.sendMs ?? 1500;
    this.bootMs = options.bootMs ?? 3000;
    const timezoneQuarterHours = options.timezoneQuarterHours ?? 32;
    const profile = PROFILES[options.profile ?? 'sim7600'];
    if (!profile) throw new RangeError(`unknown module profile ${String(options.profile)}`);
    this.profile = profile.name;

    this.faults = new FaultsBehaviour(this);
    this.boot = new BootBehaviour(this, {
      identity: { ...profile.identity, imsi: options.imsi ?? DEFAULT_IMSI, iccid: DEFAULT_ICCID, ...options.identity },
      bootMs: this.bootMs,
      smsReadyMs: options.smsReadyMs ?? 0,
      registerMs: options.registerMs ?? 0,
      readyUrcs: profile.readyUrcs,
      timezoneQuarterHours,
    });
    this.registration = new RegistrationBehaviour(this, {
      profile,
      registration: options.registration ?? 'home',
      network: options.network ?? (profile.lte ? 'lte-sgs' : 'gsm'),
      imsProvisioned: options.imsProvisioned ?? true,
      signal: options.signal ?? 20,
      operator: { ...DEFAULT_OPERATOR, ...options.operator },
    });
    this.sms = new SmsBehaviour(this, {
      sendMs: this.sendMs,
      statusReportDelayMs: options.statusReportDelayMs ?? 2000,
      statusReportStatus: options.statusReportStatus ?? 0,
      smsc: options.smsc ?? '+8613800100500',
      storage: { SM: options.storage?.SM ?? 30, ME: options.storage?.ME ?? 50 },
      timezoneQuarterHours,
    });
    this.callControl = new CallsBehaviour(this, {
      ringIntervalMs: options.ringIntervalMs ?? 5000,
      ringTimeoutMs: options.ringTimeoutMs ?? 60_000,
      missedCallUrc: profile.missedCallUrc,
    });
    this.carrierServices = new CarrierBehaviour(this, {
      ownNumber: options.ownNumber ?? DEFAULT_OWN_NUMBER,
      ownNumberKnown: options.ownNumberKnown ?? true,
      balanceYuan: options.balanceYuan ?? 23.45,
      replies: options.carrierReplies ?? {},
      replyDelayMs: options.serviceReplyDelayMs ?? 3000,
      answerServices: options.carrierServices ?? true,
      loopback: options.ownNumberLoopback ?? true,
      imsi: () => this.boot.identity.imsi,
    });

    this.faults.bind({ boot: this.boot, registration: this.registration, sms: this.sms });
    this.boot.bind({ faults: this.faults, registration: this.registration, calls: this.callControl });
    this.registration.bind({ boot: this.boot, faults: this.faults, sms: this.sms });
    this.sms.bind({ faults: this.faults, registration: this.registration });
    this.callControl.bind({ registration: this.registration });
    this.carrierServices.bind({ faults: this.faults, sms: this.sms });
    this.use(this.boot, this.registration, this.sms, this.callControl, this.carrierServices, this.faults);

    this.transmitted = this.sms.transmitted;
    this.transmittedSegments = this.sms.transmittedSegments;
    this.calls = this.callControl.calls;
    this.boot.start(options.initialPower ?? 'ready');
  }

  // ---------------------------------------------------------------- SMS

  /** Multipart messages of which only some segments have been transmitted so far. */
  incompleteMultiparts(): { to: string; received: number; total: number }[] {
    return this.sms.incompleteMultiparts();
  }

  /**
   * A customer's SMS reaches the network. It is delivered to the modem at once
   * when the modem can take it (powered, SIM, registered, room in storage),
   * otherwise when it next can, as an SMSC retries. Returns the PDUs, one per part.
   */
  deliver(sms: InboundSms): string[] {
    return this.sms.deliver(sms);
  }

  /** Messages the network still holds for the modem (it was off, unregistered or full). */
  pendingNetworkDeliveries(): number {
    return this.sms.pendingNetworkDeliveries();
  }

  /** What the modem holds in a memory, for status pages and tests. */
  stored(mem: MemoryName = 'MT'): { index: number; pdu: string; stat: MessageStat; kind: 'deliver' | 'status-report' }[] {
    return this.sms.stored(mem);
  }

  /** Puts a message in storage as if it had been received earlier (e.g. while the box was off). */
  storeMessage(pdu: string, mem: 'SM' | 'ME' = 'SM', stat?: MessageStat): number | null {
    return this.sms.storeMessage(pdu, mem, stat);
  }

  // ---------------------------------------------------------------- network state

  setRegistration(state: RegistrationState): void {
    this.registration.setRegistration(state);
  }

  getRegistration(): RegistrationState {
    return this.registration.registration;
  }

  /** +CSQ rssi 0-31, or 99 for unknown. */
  setSignal(csq: number): void {
    if (!Number.isInteger(csq) || csq < 0 || (csq > 31 && csq !== 99)) throw new RangeError(`signal must be 0-31 or 99, got ${csq}`);
    this.registration.signal = csq;
  }

  getSignal(): number {
    return this.registration.signal;
  }

  /** Puts the SIM on another network at once (URCs follow for what changed). */
  setNetwork(kind: NetworkKind): void {
    this.registration.setNetwork(kind);
  }

  /** The network as configured: `lte-ims` even while IMS is still registering. */
  getNetwork(): NetworkKind {
    return this.registration.network();
  }

  /** How an SMS would travel now: cs, sgs, ims, or none (not registered, or LTE without SGs and IMS). */
  smsPath(): SmsPath {
    return this.registration.smsPath();
  }

  isImsRegistered(): boolean {
    return this.registration.isImsRegistered();
  }

  /** Whether the carrier would register this SIM on IMS (VoLTE provisioned); applies at the next radio start. */
  setImsProvisioned(provisioned: boolean): void {
    this.registration.imsProvisioned = provisioned;
  }

  // ---------------------------------------------------------------- the SIM and its carrier

  getImsi(): string {
    return this.boot.identity.imsi;
  }

  /** Another SIM's IMSI (another carrier, as far as carrierOfImsi is concerned). */
  setImsi(imsi: string): void {
    if (!/^\d{6,15}$/.test(imsi)) throw new RangeError(`an IMSI is 6-15 digits, got ${imsi}`);
    this.boot.identity.imsi = imsi;
  }

  /** The SIM's carrier, from its IMSI (null when it is not a Chinese one). */
  carrier(): Carrier | null {
    return this.carrierServices.carrier();
  }

  /** The SIM's number; `known: false` makes AT+CNUM answer nothing, as SIMs without a stored MSISDN do. */
  setOwnNumber(number: string, known = true): void {
    this.carrierServices.ownNumber = number;
    this.carrierServices.ownNumberKnown = known;
  }

  getOwnNumber(): { number: string; known: boolean } {
    return { number: this.carrierServices.ownNumber, known: this.carrierServices.ownNumberKnown };
  }

  /** The balance the carrier services report, in yuan. */
  setBalance(yuan: number): void {
    if (!Number.isFinite(yuan)) throw new RangeError(`balance must be a number of yuan, got ${yuan}`);
    this.carrierServices.balanceYuan = yuan;
  }

  getBalance(): number {
    return this.carrierServices.balanceYuan;
  }

  /** The text a service number (10086 …) answers with; null puts its default balance reply back. */
  setCarrierReply(number: string, text: string | null): void {
    this.carrierServices.setReply(number, text);
  }

  /** What a service number would answer now, or null if the number is not a carrier service. */
  carrierReply(number: string): string | null {
    return this.carrierServices.replyOf(number);
  }

  /** A restriction notice from the carrier's service number (defaults: the SIM's carrier and its text). */
  sendCarrierNotice(notice: { from?: string; text?: string } = {}): { from: string; text: string } {
    return this.carrierServices.sendNotice(notice);
  }

  // ---------------------------------------------------------------- calls

  /** Someone calls the SIM: it rings (RING, +CLIP) until the box hangs up or the caller gives up. */
  call(caller: { from: string }): VirtualCall {
    if (typeof caller.from !== 'string' || !/^\+?\d{3,20}$/.test(caller.from)) throw new RangeError(`a caller is a phone number, got ${String(caller.from)}`);
    return this.callControl.ring(caller.from);
  }

  /** The caller hangs up; returns the call, or null when no call was up. */
  callerHangsUp(): VirtualCall | null {
    return this.callControl.callerHangsUp();
  }

  /** The call ringing (or answered) now, if any. */
  currentCall(): VirtualCall | null {
    return this.callControl.current();
  }

  // ---------------------------------------------------------------- faults

  inject(fault: ModemFault): void {
    this.faults.inject(fault);
  }

  /** Clears one kind of fault, or all of them. */
  clear(kind?: FaultKind): void {
    this.faults.clear(kind);
  }

  activeFaults(): ModemFault[] {
    return this.faults.active();
  }

  // ---------------------------------------------------------------- power

  isPoweredOn(): boolean {
    return this.power !== 'off';
  }

  /** Booted and answering commands. */
  isReady(): boolean {
    return this.power === 'ready';
  }

  /** What a PWRKEY pulse does to a module that is off: boot, then RDY, +CPIN, SMS DONE, PB DONE. */
  powerOn(): void {
    this.boot.powerOn();
  }

  /**
   * PWRKEY held low for `durationMs`, as the HAT's GPIO does: the SIM7600 powers
   * on after at least 500 ms (when off) and powers off after at least 2.5 s (when on).
   * Returns what the pulse did.
   */
  pwrkeyPulse(durationMs: number): 'powered-on' | 'powered-off' | 'ignored' {
    return this.boot.pwrkeyPulse(durationMs);
  }

  /** Power removed (or PWRKEY held to switch off): everything volatile is lost, storage survives. */
  powerOff(): void {
    this.boot.powerOff();
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
    profile: ModuleProfileName;
    network: NetworkKind;
    smsPath: SmsPath;
    ims: boolean;
    ringing: boolean;
  } {
    return {
      power: this.power,
      registration: this.registration.registration,
      creg: this.registration.regStat(),
      signal: this.registration.effectiveSignal(),
      faults: this.activeFaults(),
      stored: this.sms.storage.used('MT'),
      waitingAtNetwork: this.sms.pendingNetworkDeliveries(),
      transmitted: this.transmitted.length,
      profile: this.profile,
      network: this.registration.network(),
      smsPath: this.registration.smsPath(),
      ims: this.registration.isImsRegistered(),
      ringing: this.callControl.current()?.answered_at === null,
    };
  }

  /** Stops every timer; the modem is off and can be dropped. */
  dispose(): void {
    this.boot.shutDown();
    this.clearNetworkTimers();
    this.removeAllListeners();
  }
}
