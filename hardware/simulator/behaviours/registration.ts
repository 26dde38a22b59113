/**
 * Registration and IMS: the radio and the network it camps on. +CFUN (radio
 * on/off, reset), +CREG/+CGREG/+CEREG (state per domain, URCs on every change
 * when n ≥ 1, LAC/TAC and cell for n = 2), +CGATT, +COPS (with the access
 * technology), +CSQ, the vendor's own view of the radio (SIMCom AT+CPSI?,
 * Quectel AT+QNWINFO), IMS registration (+CIREG) and the module switch that
 * turns IMS on (Quectel AT+QCFG="ims", SIMCom AT+VOLTESETTING).
 *
 * The network decides the SMS path (issue 17, /work/coord/at-contract.md §2):
 * 2G/3G carry SMS in the CS domain; LTE carries it over SGs when the network
 * offers a combined attach, else over IMS when the module registered there,
 * else not at all: registered, data up, SMS refused. The module's IMS switch
 * is read when the radio comes up (boot, AT+CFUN=1 after 0), as on a real
 * module, so turning it on needs a restart of the radio.
 */
import { splitArgs, type ParsedCommand } from '../at-parse.js';
import { intArg, type Behaviour, type Handled } from '../behaviour.js';
import type { ModemCore } from '../core.js';
import { cmeError, plainError } from '../errors.js';
import type { ModuleProfile } from '../profiles.js';
import type { NetworkKind, NetworkOperator, RegistrationState } from '../types.js';
import type { BootBehaviour } from './boot.js';
import type { FaultsBehaviour } from './faults.js';
import type { SmsBehaviour } from './sms.js';

/** 27.007 <stat> of +CREG/+CGREG/+CEREG. */
const REG_STAT: Record<RegistrationState, number> = { none: 0, home: 1, searching: 2, denied: 3, roaming: 5 };

type RegCommand = '+CREG' | '+CGREG' | '+CEREG';
const REG_COMMANDS: readonly RegCommand[] = ['+CREG', '+CGREG', '+CEREG'];

export type Rat = 'gsm' | 'umts' | 'lte';
export type SmsPath = 'cs' | 'sgs' | 'ims' | 'none';

/** 27.007 §7.3 <AcT>. */
const ACT: Record<Rat, number> = { gsm: 0, umts: 2, lte: 7 };

/** 27.007 §8.71 <ext_info>: RTP-based voice (1) + SMS using IMS (4). */
const IMS_EXT_INFO = 5;

export interface RegistrationOptions {
  profile: ModuleProfile;
  registration: RegistrationState;
  network: NetworkKind;
  imsProvisioned: boolean;
  signal: number;
  operator: NetworkOperator;
}

export class RegistrationBehaviour implements Behaviour {
  readonly name = 'registration';
  private boot!: BootBehaviour;
  private faults!: FaultsBehaviour;
  private sms!: SmsBehaviour;

  registration: RegistrationState;
  signal: number;
  readonly operator: NetworkOperator;
  readonly profile: ModuleProfile;
  rat: Rat = 'lte';
  /** The network offers a combined EPS/IMSI attach on LTE, so SMS goes over SGs. */
  private sgs = true;
  /** The module's IMS switch (kept in its NV memory: it survives a reboot). */
  private imsSwitch = false;
  /** What AT+QCFG="ims" last set (0 = as the carrier profile says), shown back by the query. */
  private qcfgCtrl: number | null = null;
  /** The carrier provisions IMS (VoLTE) for this SIM. */
  imsProvisioned: boolean;
  /** Registered with IMS: decided when the radio comes up. */
  private imsRegistered = false;
  /** The radio found the network since it was switched on. */
  private attached = false;
  private cfun = 1;
  private lastBase = -1;
  private lastStat: Record<RegCommand, number> = { '+CREG': -1, '+CGREG': -1, '+CEREG': -1 };
  private reg: Record<RegCommand, number> = { '+CREG': 0, '+CGREG': 0, '+CEREG': 0 };
  private cireg = 0;
  private copsFormat = 0;

  constructor(
    private readonly core: ModemCore,
    options: RegistrationOptions,
  ) {
    this.profile = options.profile;
    this.registration = options.registration;
    this.signal = options.signal;
    this.operator = options.operator;
    this.imsProvisioned = options.imsProvisioned;
    this.applyNetwork(options.network);
  }

  bind(parts: { boot: BootBehaviour; faults: FaultsBehaviour; sms: SmsBehaviour }): void {
    this.boot = parts.boot;
    this.faults = parts.faults;
    this.sms = parts.sms;
  }

  resetSettings(): void {
    this.reg = { '+CREG': 0, '+CGREG': 0, '+CEREG': 0 };
    this.cireg = 0;
    this.copsFormat = 0;
  }

  onCommand(command: ParsedCommand): Handled | undefined {
    const profile = this.profile;
    switch (command.name) {
      case '+CSQ':
        if (command.form === 'test') return ['+CSQ: (0-31,99),(0-7,99)'];
        return [`+CSQ: ${this.effectiveSignal()},99`];
      case '+CREG':
      case '+CGREG':
        return this.regCommand(command.name, command);
      case '+CEREG':
        // A 2G-only module has no EPS registration to report.
        return profile.lte ? this.regCommand(command.name, command) : undefined;
      case '+CGATT':
        return this.cgatt(command);
      case '+COPS':
        return this.cops(command);
      case '+CFUN':
        return this.cfunCommand(command);
      case '+CPSI':
        return profile.cpsi ? this.cpsi(command) : undefined;
      case '+QNWINFO':
        return profile.qnwinfo ? this.qnwinfo(command) : undefined;
      case '+CIREG':
        return profile.cireg ? this.ciregCommand(command) : undefined;
      case '+QCFG':
        return profile.imsSwitch === 'qcfg' ? this.qcfg(command) : undefined;
      case '+VOLTESETTING':
        return profile.imsSwitch === 'voltesetting' ? this.volteSetting(command) : undefined;
      default:
        return undefined;
    }
  }

  // ---------------------------------------------------------------- the network

  /** Puts the SIM on another network (a scenario switch: another cell, another SIM, the carrier's doing). */
  setNetwork(kind: NetworkKind): void {
    this.applyNetwork(kind);
    this.setImsRegistered(this.isRegistered() && this.imsWanted());
    this.updateRegistration();
  }

  private applyNetwork(kind: NetworkKind): void {
    const rat: Rat = kind === 'gsm' ? 'gsm' : kind === 'umts' ? 'umts' : 'lte';
    if ((rat === 'lte' && !this.profile.lte) || (rat === 'umts' && !this.profile.umts)) {
      throw new RangeError(`the ${this.profile.name} profile has no ${rat === 'lte' ? 'LTE' : 'UMTS'} radio, so network ${kind} is impossible`);
    }
    this.rat = rat;
    this.sgs = kind === 'lte-sgs';
    this.qcfgCtrl = null;
    if (kind === 'lte-ims') {
      this.imsSwitch = true;
      this.imsProvisioned = true;
    } else if (kind === 'lte-no-ims' || kind === 'lte-sgs') {
      this.imsSwitch = false;
    }
  }

  /** The network as configured (not whether IMS has come up yet: see smsPath()). */
  network(): NetworkKind {
    if (this.rat !== 'lte') return this.rat;
    if (this.sgs) return 'lte-sgs';
    return this.imsSwitch && this.imsProvisioned ? 'lte-ims' : 'lte-no-ims';
  }

  /** Would IMS register on this radio start: LTE, the module switch on, the carrier willing. */
  private imsWanted(): boolean {
    return this.rat === 'lte' && this.imsSwitch && this.imsProvisioned;
  }

  isImsRegistered(): boolean {
    return this.imsRegistered;
  }

  /** How an SMS would travel now; 'none' when registered without any SMS path, or not registered. */
  smsPath(): SmsPath {
    if (!this.isRegistered()) return 'none';
    if (this.rat !== 'lte') return 'cs';
    if (this.imsRegistered) return 'ims';
    return this.sgs ? 'sgs' : 'none';
  }

  /** Registered on LTE with data up and no SMS path (fault 'no-ims'). */
  lacksSmsPath(): boolean {
    return this.rat === 'lte' && !this.sgs && !this.imsRegistered;
  }

  /** Fault 'no-ims' injected: LTE, no SGs, the module's IMS switch off. */
  breakIms(): void {
    if (!this.profile.lte) throw new RangeError(`the ${this.profile.name} profile has no LTE radio, so it cannot lack IMS`);
    this.rat = 'lte';
    this.sgs = false;
    this.imsSwitch = false;
    this.qcfgCtrl = null;
    this.setImsRegistered(false);
    this.updateRegistration();
  }

  /** Fault 'no-ims' cleared: the owner or the carrier fixed it, IMS registers now. */
  fixIms(): void {
    if (!this.lacksSmsPath()) return;
    this.imsSwitch = true;
    this.imsProvisioned = true;
    this.qcfgCtrl = null;
    this.setImsRegistered(this.isRegistered());
    this.updateRegistration();
  }

  private setImsRegistered(registered: boolean): void {
    if (registered === this.imsRegistered) return;
    this.imsRegistered = registered;
    if (this.cireg >= 1 && this.core.power === 'ready') this.core.sendUrc(`+CIREGU: ${this.ciregInfo(this.cireg)}`);
  }

  // ---------------------------------------------------------------- state

  /** Registration as a whole (the best of the domains): what lets anything through. */
  regStat(): number {
    if (this.core.power !== 'ready' || this.cfun !== 1 || this.faults.noSim) return 0;
    if (this.faults.noNetwork || !this.attached) return 2;
    return REG_STAT[this.registration];
  }

  /** One domain's <stat>: CS (+CREG), packet on 2G/3G (+CGREG), EPS (+CEREG). */
  private domainStat(name: RegCommand): number {
    const base = this.regStat();
    if (base !== 1 && base !== 5) return base;
    // On LTE without a combined attach the CS domain is not registered (contract §2).
    if (name === '+CREG' && this.rat === 'lte' && !this.sgs) return 0;
    if (name === '+CEREG' && this.rat !== 'lte') return 0;
    return base;
  }

  isRegistered(): boolean {
    const stat = this.regStat();
    return stat === 1 || stat === 5;
  }

  effectiveSignal(): number {
    if (this.cfun !== 1 || this.faults.noNetwork || this.registration === 'none') return 99;
    return this.signal;
  }

  /** Booted straight into service (the constructor's 'ready'). */
  attachAtOnce(): void {
    this.attached = true;
    this.imsRegistered = this.isRegistered() && this.imsWanted();
    this.noteBootState();
  }

  /** RDY printed: what the state is before the radio has found the network. */
  noteBootState(): void {
    this.lastBase = this.regStat();
    for (const name of REG_COMMANDS) this.lastStat[name] = this.domainStat(name);
  }

  /** The radio found the network after boot. */
  attach(): void {
    this.attached = true;
    this.updateRegistration();
  }

  powerLost(): void {
    this.attached = false;
    this.cfun = 1;
    this.imsRegistered = false;
    this.lastBase = 0;
    for (const name of REG_COMMANDS) this.lastStat[name] = 0;
  }

  /**
   * Prints the URCs of a changed registration. Coming into service, the RTC
   * takes the network time, IMS registers if the module and the carrier allow
   * it, and the network delivers what it held.
   */
  updateRegistration(): void {
    const base = this.regStat();
    const cameIntoService = base !== this.lastBase && (base === 1 || base === 5);
    const leftService = base !== this.lastBase && base !== 1 && base !== 5;
    this.lastBase = base;
    const changed = REG_COMMANDS.filter((name) => this.domainStat(name) !== this.lastStat[name]);
    for (const name of changed) this.lastStat[name] = this.domainStat(name);
    if (this.core.power !== 'ready') return;
    for (const name of changed) {
      const n = this.reg[name];
      if (n >= 1 && (name !== '+CEREG' || this.profile.lte)) this.core.sendUrc(this.regLine(name, n, this.lastStat[name], false));
    }
    if (leftService) this.setImsRegistered(false);
    if (cameIntoService) {
      this.boot.learnNetworkTime();
      this.setImsRegistered(this.imsWanted());
    }
    if (cameIntoService || this.smsPath() !== 'none') this.sms.flushNetworkQueue();
  }

  setRegistration(state: RegistrationState): void {
    this.registration = state;
    this.updateRegistration();
  }

  // ---------------------------------------------------------------- commands

  private regLine(name: RegCommand, n: number, stat: number, withN: boolean): string {
    const fields: string[] = withN ? [String(n), String(stat)] : [String(stat)];
    if (n === 2 && (stat === 1 || stat === 5)) {
      if (name === '+CEREG') fields.push('"5A1F"', '"0B3C4D51"', '7');
      else fields.push('"5A1F"', '"0B3C4D51"');
    }
    return `${name}: ${fields.join(',')}`;
  }

  private regCommand(name: string, command: ParsedCommand): Handled {
    const regName = name as RegCommand;
    switch (command.form) {
      case 'read':
        return [this.regLine(regName, this.reg[regName], this.domainStat(regName), true)];
      case 'test':
        return [`${regName}: (0-2)`];
      case 'set': {
        const value = intArg(splitArgs(command.args)[0], 0, 2);
        if (value === null) return cmeError(3);
        this.reg[regName] = value;
        return [];
      }
      default:
        this.reg[regName] = 0;
        return [];
    }
  }

  private cops(command: ParsedCommand): Handled {
    const core = this.core;
    switch (command.form) {
      case 'read': {
        if (!this.isRegistered()) return [`+COPS: 0`];
        const names = [this.operator.longName, this.operator.shortName, this.operator.numeric];
        const oper = this.copsFormat === 2 ? names[2]! : core.teString(names[this.copsFormat]!);
        return [`+COPS: 0,${this.copsFormat},"${oper}",${ACT[this.rat]}`];
      }
      case 'test':
        return [
          `+COPS: (2,"${core.teString(this.operator.longName)}","${core.teString(this.operator.shortName)}","${this.operator.numeric}",${ACT[this.rat]}),,(0-4),(0-2)`,
        ];
      case 'set': {
        const [mode, format] = splitArgs(command.args);
        const modeValue = intArg(mode, 0, 4);
        if (modeValue === null) return cmeError(3);
        if (format !== undefined) {
          const formatValue = intArg(format, 0, 2);
          if (formatValue === null) return cmeError(3);
          this.copsFormat = formatValue;
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
          this.core.afterFinal(() => this.boot.restart());
          return [];
        }
        this.cfun = fun === 1 ? 1 : 0;
        this.core.afterFinal(() => this.updateRegistration());
        return [];
      }
      default:
        return plainError();
    }
  }

  private cgatt(command: ParsedCommand): Handled {
    switch (command.form) {
      case 'read': {
        const packet = this.domainStat(this.rat === 'lte' ? '+CEREG' : '+CGREG');
        return [`+CGATT: ${packet === 1 || packet === 5 ? 1 : 0}`];
      }
      case 'test':
        return ['+CGATT: (0,1)'];
      case 'set':
        // Attach and detach are the network's business here; the state follows registration.
        return intArg(splitArgs(command.args)[0], 0, 1) === null ? cmeError(3) : [];
      default:
        return plainError();
    }
  }

  private mccMnc(): string {
    return `${this.operator.numeric.slice(0, 3)}-${this.operator.numeric.slice(3)}`;
  }

  /** SIMCom AT+CPSI? [SIM7500/SIM7600 AT Command Manual V2.00], contract §1. */
  private cpsi(command: ParsedCommand): Handled {
    if (command.form === 'test' || command.form === 'set') return [];
    if (command.form !== 'read') return plainError();
    if (!this.isRegistered()) return ['+CPSI: NO SERVICE,Online'];
    switch (this.rat) {
      case 'gsm':
        return [`+CPSI: GSM,Online,${this.mccMnc()},0x5A1F,15437,66 EGSM 900,-64,0,42-42`];
      case 'umts':
        return [`+CPSI: WCDMA,Online,${this.mccMnc()},0x5A1F,188501329,WCDMA IMT 2000,279,10663,0,1.5,62,33,52,500`];
      case 'lte':
        return [`+CPSI: LTE,Online,${this.mccMnc()},0x5A1F,188501329,292,EUTRAN-BAND3,1300,5,5,-96,-1051,-781,14`];
    }
  }

  /** Quectel AT+QNWINFO [EC25&EC21 AT Commands Manual V1.3], contract §1. */
  private qnwinfo(command: ParsedCommand): Handled {
    if (command.form === 'test') return [];
    if (command.form !== 'exec') return plainError();
    if (!this.isRegistered()) return ['+QNWINFO: No Service'];
    const oper = this.operator.numeric;
    switch (this.rat) {
      case 'gsm':
        return [`+QNWINFO: "GSM","${oper}","GSM 900",66`];
      case 'umts':
        return [`+QNWINFO: "WCDMA","${oper}","WCDMA 2100",10713`];
      case 'lte':
        return [`+QNWINFO: "FDD LTE","${oper}","LTE BAND 3",1650`];
    }
  }

  private ciregInfo(n: number): string {
    const registered = this.imsRegistered ? 1 : 0;
    return n === 2 && registered ? `${registered},${IMS_EXT_INFO}` : String(registered);
  }

  /** 3GPP TS 27.007 §8.71. */
  private ciregCommand(command: ParsedCommand): Handled {
    switch (command.form) {
      case 'read':
        return [`+CIREG: ${this.cireg},${this.ciregInfo(this.cireg)}`];
      case 'test':
        return ['+CIREG: (0-2)'];
      case 'set': {
        const value = intArg(splitArgs(command.args)[0] ?? '0', 0, 2);
        if (value === null) return cmeError(3);
        this.cireg = value;
        return [];
      }
      default:
        this.cireg = 0;
        return [];
    }
  }

  /**
   * Quectel AT+QCFG="ims"[,<VoLTE_ctrl>] → +QCFG: "ims",<VoLTE_ctrl>,<VoLTE_state>:
   * ctrl 0 = as the carrier profile (MBN) says (off for this SIM here), 1 = on,
   * 2 = off; state 1 = IMS registered. Other +QCFG settings are not emulated.
   */
  private qcfg(command: ParsedCommand): Handled {
    if (command.form === 'test') return ['+QCFG: "ims",(0-2)'];
    if (command.form !== 'set') return plainError();
    const [key, value] = splitArgs(command.args);
    if (key?.toLowerCase() !== 'ims') return cmeError(3);
    if (value === undefined) return [`+QCFG: "ims",${this.qcfgCtrl ?? (this.imsSwitch ? 1 : 0)},${this.imsRegistered ? 1 : 0}`];
    const ctrl = intArg(value, 0, 2);
    if (ctrl === null) return cmeError(3);
    this.qcfgCtrl = ctrl;
    this.imsSwitch = ctrl === 1;
    return [];
  }

  /** SIMCom AT+VOLTESETTING=<0|1> (VoLTE on or off; applies at the next radio start). */
  private volteSetting(command: ParsedCommand): Handled {
    switch (command.form) {
      case 'read':
        return [`+VOLTESETTING: ${this.imsSwitch ? 1 : 0}`];
      case 'test':
        return ['+VOLTESETTING: (0,1)'];
      case 'set': {
        const value = intArg(splitArgs(command.args)[0], 0, 1);
        if (value === null) return cmeError(3);
        this.imsSwitch = value === 1;
        return [];
      }
      default:
        return plainError();
    }
  }
}
