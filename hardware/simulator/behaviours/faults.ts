/**
 * Faults: what goes wrong with a SIM, a network or a firmware, switched on
 * and off from outside (tests, the simulator's HTTP controls, `simulate-modem`).
 * The flags live here; the behaviours they affect read them.
 */
import type { Behaviour } from '../behaviour.js';
import type { ModemCore } from '../core.js';
import { cmeError, cmsError } from '../errors.js';
import type { FaultKind, ModemFault } from '../types.js';
import type { BootBehaviour } from './boot.js';
import type { RegistrationBehaviour } from './registration.js';
import type { SmsBehaviour } from './sms.js';

export class FaultsBehaviour implements Behaviour {
  readonly name = 'faults';
  noSim = false;
  noNetwork = false;
  /** The carrier restricts the SIM: the error every send ends with, or null. */
  carrierBlockCode: number | null = null;
  private cmsFaults: { code: number; remaining: number }[] = [];
  private boot!: BootBehaviour;
  private registration!: RegistrationBehaviour;
  private sms!: SmsBehaviour;

  constructor(private readonly core: ModemCore) {}

  bind(parts: { boot: BootBehaviour; registration: RegistrationBehaviour; sms: SmsBehaviour }): void {
    this.boot = parts.boot;
    this.registration = parts.registration;
    this.sms = parts.sms;
  }

  /** Throws the SIM-missing error of the command's family when the SIM is gone. */
  requireSim(family: 'cme' | 'cms'): void {
    if (this.noSim) throw family === 'cme' ? cmeError(10) : cmsError(310);
  }

  /** The error the next send ends with, if a cms-error fault is armed (using one up). */
  takeSendError(): number | null {
    const fault = this.cmsFaults[0];
    if (!fault) return null;
    fault.remaining--;
    if (fault.remaining <= 0) this.cmsFaults.shift();
    return fault.code;
  }

  inject(fault: ModemFault): void {
    switch (fault.kind) {
      case 'no-sim':
        this.noSim = true;
        this.registration.updateRegistration();
        break;
      case 'no-network':
        this.noNetwork = true;
        this.registration.updateRegistration();
        break;
      case 'cms-error':
        this.cmsFaults.push({ code: fault.code ?? 500, remaining: Math.max(1, fault.count ?? 1) });
        break;
      case 'silence':
        this.core.silent = true;
        break;
      case 'garbage':
        this.core.garbageProbability = Math.min(1, Math.max(0, fault.probability ?? 0.5));
        break;
      case 'reboot':
        this.boot.restart();
        break;
      case 'no-ims':
        this.registration.breakIms();
        break;
      case 'carrier-blocked':
        // 24.011 RP-cause 21 "Short message transfer rejected" (contract §7); there is no one code for it.
        this.carrierBlockCode = fault.code ?? 21;
        break;
    }
  }

  /** Clears one kind of fault, or all of them. */
  clear(kind?: FaultKind): void {
    const all = kind === undefined;
    if (all || kind === 'no-sim') this.noSim = false;
    if (all || kind === 'no-network') this.noNetwork = false;
    if (all || kind === 'cms-error') this.cmsFaults = [];
    if (all || kind === 'silence') this.core.silent = false;
    if (all || kind === 'garbage') this.core.garbageProbability = null;
    if (all || kind === 'carrier-blocked') this.carrierBlockCode = null;
    if (all || kind === 'no-ims') this.registration.fixIms();
    this.registration.updateRegistration();
    this.sms.flushNetworkQueue();
  }

  active(): ModemFault[] {
    const faults: ModemFault[] = [];
    if (this.noSim) faults.push({ kind: 'no-sim' });
    if (this.noNetwork) faults.push({ kind: 'no-network' });
    for (const f of this.cmsFaults) faults.push({ kind: 'cms-error', code: f.code, count: f.remaining });
    if (this.core.silent) faults.push({ kind: 'silence' });
    if (this.core.garbageProbability !== null) faults.push({ kind: 'garbage', probability: this.core.garbageProbability });
    if (this.registration.lacksSmsPath()) faults.push({ kind: 'no-ims' });
    if (this.carrierBlockCode !== null) faults.push({ kind: 'carrier-blocked', code: this.carrierBlockCode });
    return faults;
  }
}
