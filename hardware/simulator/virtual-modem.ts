/**
 * The virtual HAT: a byte-level AT modem that behaves like the default HAT, a
 * Waveshare SIM7600X (SIMCom SIM7600), in PDU mode. Bytes go in with write(),
 * bytes come out as 'data' events, exactly as they would cross the UART.
 *
 * It is a product feature (the whole box runs on it with no hardware), so it
 * keeps the real modem's shape. VirtualModem is the facade: a core that owns
 * the UART and the command line (core.ts) plus behaviour modules that answer
 * commands and model the network side (behaviours/: boot and power,
 * registration, SMS, calls, faults), the way zwave-js's mock controller is
 * driven by its MockControllerBehaviors. This class wires them and offers the
 * small typed API tests, the box and `simulate-modem` drive it with. See
 * README.md for what differs from a real SIM7600.
 */
import { BootBehaviour } from './behaviours/boot.js';
import { CallsBehaviour } from './behaviours/calls.js';
import { FaultsBehaviour } from './behaviours/faults.js';
import { RegistrationBehaviour } from './behaviours/registration.js';
import { SmsBehaviour } from './behaviours/sms.js';
import { ModemCore } from './core.js';
import type { MemoryName, MessageStat } from './sms-storage.js';
import type {
  FaultKind,
  InboundSms,
  ModemFault,
  ModemIdentity,
  NetworkOperator,
  RegistrationState,
  TransmittedSegment,
  TransmittedSms,
  VirtualModemOptions,
} from './types.js';

export { systemTimers } from './core.js';
export type {
  FaultKind,
  InboundSms,
  ModemFault,
  ModemIdentity,
  ModemTimers,
  NetworkOperator,
  RegistrationState,
  TransmittedSegment,
  TransmittedSms,
  VirtualModemEvents,
  VirtualModemOptions,
} from './types.js';

const DEFAULT_IDENTITY: ModemIdentity = {
  manufacturer: 'SIMCOM INCORPORATED',
  model: 'SIMCOM_SIM7600G-H',
  revision: 'LE20B04SIM7600G22',
  imei: '862636050000001',
  imsi: '460001234567890',
  iccid: '89860012345678901234',
};

const DEFAULT_OPERATOR: NetworkOperator = { longName: 'CHINA MOBILE', shortName: 'CMCC', numeric: '46000' };

export class VirtualModem extends ModemCore {
  /** Every complete SMS transmitted, oldest first. Also emitted as 'transmitted'. */
  readonly transmitted: TransmittedSms[];
  /** Every segment accepted with +CMGS, oldest first. Also emitted as 'segment'. */
  readonly transmittedSegments: TransmittedSegment[];

  readonly sendMs: number;
  readonly bootMs: number;

  protected readonly boot: BootBehaviour;
  protected readonly registration: RegistrationBehaviour;
  protected readonly sms: SmsBehaviour;
  protected readonly calls: CallsBehaviour;
  protected readonly faults: FaultsBehaviour;

  constructor(options: VirtualModemOptions = {}) {
    super(options);
    this.sendMs = options.sendMs ?? 1500;
    this.bootMs = options.bootMs ?? 3000;
    const timezoneQuarterHours = options.timezoneQuarterHours ?? 32;

    this.faults = new FaultsBehaviour(this);
    this.boot = new BootBehaviour(this, {
      identity: { ...DEFAULT_IDENTITY, ...options.identity },
      bootMs: this.bootMs,
      smsReadyMs: options.smsReadyMs ?? 0,
      registerMs: options.registerMs ?? 0,
      readyUrcs: ['SMS DONE', 'PB DONE'],
      timezoneQuarterHours,
    });
    this.registration = new RegistrationBehaviour(this, {
      registration: options.registration ?? 'home',
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
    this.calls = new CallsBehaviour();

    this.faults.bind({ boot: this.boot, registration: this.registration, sms: this.sms });
    this.boot.bind({ faults: this.faults, registration: this.registration });
    this.registration.bind({ boot: this.boot, faults: this.faults, sms: this.sms });
    this.sms.bind({ faults: this.faults, registration: this.registration });
    this.use(this.boot, this.registration, this.sms, this.calls, this.faults);

    this.transmitted = this.sms.transmitted;
    this.transmittedSegments = this.sms.transmittedSegments;
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
    };
  }

  /** Stops every timer; the modem is off and can be dropped. */
  dispose(): void {
    this.boot.shutDown();
    this.clearNetworkTimers();
    this.removeAllListeners();
  }
}
