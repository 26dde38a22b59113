/**
 * Boot and power: the module itself. PWRKEY, boot URCs (RDY, +CPIN, SMS DONE),
 * reboot, power loss; the V.250 terminal settings (echo, verbose, quiet, ATZ),
 * error reporting (+CMEE), character set (+CSCS), identity (ATI, +CGMI … +CIMI),
 * the SIM lock state (+CPIN) and the real-time clock (+CCLK), which restarts at
 * 1980-01-06 when power is lost and takes the network's time on registration.
 */
import { splitArgs, type ParsedCommand } from '../at-parse.js';
import { intArg, numericSetting, pad2, type Behaviour, type Handled } from '../behaviour.js';
import type { ModemCore } from '../core.js';
import { cmeError, plainError } from '../errors.js';
import type { ModemIdentity } from '../types.js';
import type { CallsBehaviour } from './calls.js';
import type { FaultsBehaviour } from './faults.js';
import type { RegistrationBehaviour } from './registration.js';

export interface BootOptions {
  identity: ModemIdentity;
  bootMs: number;
  smsReadyMs: number;
  registerMs: number;
  /** URCs once SMS is ready, after RDY and +CPIN: READY. */
  readyUrcs: readonly string[];
  /** The network's time zone in quarter hours, which the RTC takes on registration. */
  timezoneQuarterHours: number;
}

export class BootBehaviour implements Behaviour {
  readonly name = 'boot';
  private faults!: FaultsBehaviour;
  private registration!: RegistrationBehaviour;
  private calls!: CallsBehaviour;
  /** RTC minus clock.now(); the RTC restarts at 1980-01-06 when power is lost, network time (NITZ) sets it. */
  private rtcOffsetMs = 0;
  private rtcTzQuarterHours = 0;

  constructor(
    private readonly core: ModemCore,
    readonly options: BootOptions,
  ) {
    this.resetRtc();
  }

  bind(parts: { faults: FaultsBehaviour; registration: RegistrationBehaviour; calls: CallsBehaviour }): void {
    this.faults = parts.faults;
    this.registration = parts.registration;
    this.calls = parts.calls;
  }

  get identity(): ModemIdentity {
    return this.options.identity;
  }

  onCommand(command: ParsedCommand): Handled | undefined {
    const { name, form, args } = command;
    const core = this.core;
    const identity = this.options.identity;
    switch (name) {
      case 'E':
      case 'V':
      case 'Q': {
        const value = args === '' ? 0 : intArg(args, 0, 1);
        if (value === null || form !== 'exec') return plainError();
        if (name === 'E') core.terminal.echo = value === 1;
        else if (name === 'V') core.terminal.verbose = value === 1;
        else core.terminal.quiet = value === 1;
        return [];
      }
      case 'Z':
      case '&F':
        core.resetSettings();
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
          `Manufacturer: ${identity.manufacturer}`,
          `Model: ${identity.model}`,
          `Revision: ${identity.revision}`,
          `IMEI: ${identity.imei}`,
          '+GCAP: +CGSM',
        ];
      case '+CGMI':
      case '+GMI':
        return form === 'test' ? [] : [identity.manufacturer];
      case '+CGMM':
      case '+GMM':
        return form === 'test' ? [] : [identity.model];
      case '+CGMR':
      case '+GMR':
        return form === 'test' ? [] : [name === '+CGMR' ? `+CGMR: ${identity.revision}` : identity.revision];
      case '+CGSN':
      case '+GSN':
        return form === 'test' ? [] : [identity.imei];
      case '+GCAP':
        return ['+GCAP: +CGSM'];
      case '+CIMI':
        if (form === 'test') return [];
        this.faults.requireSim('cme');
        return [identity.imsi];
      case '+CICCID':
      case '+CCID':
        this.faults.requireSim('cme');
        return [`+ICCID: ${identity.iccid}`];
      case '+CMEE':
        return numericSetting(command, '+CMEE', 0, 2, () => core.terminal.cmee, (v) => (core.terminal.cmee = v));
      case '+CPIN':
        return this.cpin(command);
      case '+CPOF':
        core.afterFinal(() => this.powerOff());
        return [];
      case '+CCLK':
        return this.cclk(command);
      case '+CSCS':
        return this.cscs(command);
      case '+IPR':
        if (form === 'read') return ['+IPR: 115200'];
        if (form === 'test') return ['+IPR: (0,300,600,1200,2400,4800,9600,19200,38400,57600,115200,230400,460800,921600)'];
        return [];
      default:
        if (/^S\d+$/.test(name)) return form === 'read' ? ['000'] : [];
        return undefined;
    }
  }

  private cpin(command: ParsedCommand): Handled {
    if (command.form === 'test') return [];
    this.faults.requireSim('cme');
    if (command.form === 'read') return ['+CPIN: READY'];
    // No PIN is set on the virtual SIM, so there is nothing to unlock.
    return cmeError(3);
  }

  private cscs(command: ParsedCommand): Handled {
    const supported = ['IRA', 'GSM', 'UCS2'];
    switch (command.form) {
      case 'read':
        return [`+CSCS: "${this.core.terminal.cscs}"`];
      case 'test':
        return [`+CSCS: (${supported.map((s) => `"${s}"`).join(',')})`];
      case 'set': {
        const value = (splitArgs(command.args)[0] ?? '').toUpperCase();
        if (!supported.includes(value)) return cmeError(4);
        this.core.terminal.cscs = value;
        return [];
      }
      default:
        return plainError();
    }
  }

  // ---------------------------------------------------------------- RTC

  private resetRtc(): void {
    this.rtcOffsetMs = Date.UTC(1980, 0, 6) - this.core.clock.now();
    this.rtcTzQuarterHours = 0;
  }

  /** NITZ on registration: the RTC takes the network's time and zone. */
  learnNetworkTime(): void {
    this.rtcOffsetMs = 0;
    this.rtcTzQuarterHours = this.options.timezoneQuarterHours;
  }

  private cclk(command: ParsedCommand): Handled {
    if (command.form === 'test') return [];
    if (command.form === 'read') {
      const tz = this.rtcTzQuarterHours;
      const local = new Date(this.core.clock.now() + this.rtcOffsetMs + tz * 15 * 60_000);
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
      this.rtcOffsetMs = localMs - tz * 15 * 60_000 - this.core.clock.now();
      this.rtcTzQuarterHours = tz;
      return [];
    }
    return plainError();
  }

  // ---------------------------------------------------------------- power

  /** The constructor's starting point: already booted and registered, booting, or off. */
  start(initial: 'ready' | 'booting' | 'off'): void {
    if (initial === 'ready') {
      this.core.power = 'ready';
      this.registration.attachAtOnce();
      this.learnNetworkTime();
    } else if (initial === 'booting') {
      this.powerOn();
    }
  }

  /** What a PWRKEY pulse does to a module that is off: boot, then RDY, +CPIN, SMS DONE, PB DONE. */
  powerOn(): void {
    if (this.core.power !== 'off') return;
    this.resetRtc();
    this.boot();
  }

  /**
   * PWRKEY held low for `durationMs`, as the HAT's GPIO does: the SIM7600 powers
   * on after at least 500 ms (when off) and powers off after at least 2.5 s (when on).
   */
  pwrkeyPulse(durationMs: number): 'powered-on' | 'powered-off' | 'ignored' {
    if (this.core.power === 'off' && durationMs >= 500) {
      this.powerOn();
      return 'powered-on';
    }
    if (this.core.power !== 'off' && durationMs >= 2500) {
      this.powerOff();
      return 'powered-off';
    }
    return 'ignored';
  }

  /** Power removed (or PWRKEY held to switch off): everything volatile is lost, storage survives. */
  powerOff(): void {
    if (this.core.power === 'off') return;
    this.shutDown();
    this.core.emit('power', 'off');
  }

  /** A module reset: like a power cycle, but the RTC keeps its time. */
  restart(): void {
    this.shutDown();
    this.boot();
  }

  shutDown(): void {
    const core = this.core;
    this.calls.powerLost();
    core.clearModuleTimers();
    core.power = 'off';
    this.registration.powerLost();
    core.resetSettings();
    core.resetLine();
    core.silent = false;
  }

  private boot(): void {
    const core = this.core;
    core.power = 'booting';
    core.emit('power', 'booting');
    core.later(this.options.bootMs, () => {
      core.power = 'ready';
      core.emit('power', 'ready');
      core.sendUrc('RDY');
      if (this.faults.noSim) {
        core.sendUrc('+CPIN: SIM REMOVED');
      } else {
        core.sendUrc('+CPIN: READY');
        core.later(this.options.smsReadyMs, () => {
          for (const urc of this.options.readyUrcs) core.sendUrc(urc);
        });
      }
      core.later(this.options.registerMs, () => this.registration.attach());
      this.registration.noteBootState();
    });
  }
}
