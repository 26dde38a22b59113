/**
 * Registration: the radio and the network it camps on. +CFUN (radio on/off,
 * reset), +CREG/+CGREG/+CEREG (state, URCs on every change when n ≥ 1, LAC/TAC
 * and cell for n = 2), +COPS, +CSQ. Registration is what lets SMS flow: when
 * it comes, the RTC takes the network time and held messages are delivered.
 */
import { splitArgs, type ParsedCommand } from '../at-parse.js';
import { intArg, type Behaviour, type Handled } from '../behaviour.js';
import type { ModemCore } from '../core.js';
import { cmeError, plainError } from '../errors.js';
import type { NetworkOperator, RegistrationState } from '../types.js';
import type { BootBehaviour } from './boot.js';
import type { FaultsBehaviour } from './faults.js';
import type { SmsBehaviour } from './sms.js';

/** 27.007 <stat> of +CREG/+CGREG/+CEREG. */
const REG_STAT: Record<RegistrationState, number> = { none: 0, home: 1, searching: 2, denied: 3, roaming: 5 };

type RegCommand = '+CREG' | '+CGREG' | '+CEREG';
const REG_COMMANDS: readonly RegCommand[] = ['+CREG', '+CGREG', '+CEREG'];

export interface RegistrationOptions {
  registration: RegistrationState;
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
  /** The radio found the network since it was switched on. */
  private attached = false;
  private cfun = 1;
  private lastRegStat = -1;
  private reg: Record<RegCommand, number> = { '+CREG': 0, '+CGREG': 0, '+CEREG': 0 };
  private copsFormat = 0;

  constructor(
    private readonly core: ModemCore,
    options: RegistrationOptions,
  ) {
    this.registration = options.registration;
    this.signal = options.signal;
    this.operator = options.operator;
  }

  bind(parts: { boot: BootBehaviour; faults: FaultsBehaviour; sms: SmsBehaviour }): void {
    this.boot = parts.boot;
    this.faults = parts.faults;
    this.sms = parts.sms;
  }

  resetSettings(): void {
    this.reg = { '+CREG': 0, '+CGREG': 0, '+CEREG': 0 };
    this.copsFormat = 0;
  }

  onCommand(command: ParsedCommand): Handled | undefined {
    switch (command.name) {
      case '+CSQ':
        if (command.form === 'test') return ['+CSQ: (0-31,99),(0-7,99)'];
        return [`+CSQ: ${this.effectiveSignal()},99`];
      case '+CREG':
      case '+CGREG':
      case '+CEREG':
        return this.regCommand(command.name, command);
      case '+COPS':
        return this.cops(command);
      case '+CFUN':
        return this.cfunCommand(command);
      default:
        return undefined;
    }
  }

  // ---------------------------------------------------------------- state

  regStat(): number {
    if (this.core.power !== 'ready' || this.cfun !== 1 || this.faults.noSim) return 0;
    if (this.faults.noNetwork || !this.attached) return 2;
    return REG_STAT[this.registration];
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
    this.lastRegStat = this.regStat();
  }

  /** RDY printed: what the state is before the radio has found the network. */
  noteBootState(): void {
    this.lastRegStat = this.regStat();
  }

  /** The radio found the network after boot. */
  attach(): void {
    this.attached = true;
    this.updateRegistration();
  }

  powerLost(): void {
    this.attached = false;
    this.cfun = 1;
    this.lastRegStat = 0;
  }

  /** Prints the URCs of a changed registration; registration lets time and held messages in. */
  updateRegistration(): void {
    const stat = this.regStat();
    if (stat === this.lastRegStat) return;
    this.lastRegStat = stat;
    if (this.core.power !== 'ready') return;
    for (const name of REG_COMMANDS) {
      const n = this.reg[name];
      if (n >= 1) this.core.sendUrc(this.regLine(name, n, stat, false));
    }
    if (stat === 1 || stat === 5) {
      this.boot.learnNetworkTime();
      this.sms.flushNetworkQueue();
    }
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
        return [this.regLine(regName, this.reg[regName], this.regStat(), true)];
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
        return [`+COPS: 0,${this.copsFormat},"${oper}",7`];
      }
      case 'test':
        return [
          `+COPS: (2,"${core.teString(this.operator.longName)}","${core.teString(this.operator.shortName)}","${this.operator.numeric}",7),,(0-4),(0-2)`,
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
}
