/**
 * Calls: the network offers the modem a voice call, and the modem says so the
 * way the modules do (/work/coord/at-contract.md §6, 3GPP TS 27.007 §6.5, §7.6,
 * §7.18, ITU-T V.250): `RING`, with `+CLIP: "<number>",<type>,"",0,"",0` after
 * it when AT+CLIP=1, again every ringIntervalMs until the box hangs up
 * (AT+CHUP or ATH → OK) or the caller gives up (after ringTimeoutMs, or when
 * told): then `NO CARRIER`, and on SIMCom modules `MISSED_CALL: <time> <number>`.
 * AT+CLCC lists the call. Outgoing calls (ATD) are not emulated: ERROR.
 */
import type { ParsedCommand } from '../at-parse.js';
import { numericSetting, type Behaviour, type Handled } from '../behaviour.js';
import type { ModemCore } from '../core.js';
import { plainError } from '../errors.js';
import type { VirtualCall } from '../types.js';
import type { RegistrationBehaviour } from './registration.js';

export interface CallsOptions {
  ringIntervalMs: number;
  ringTimeoutMs: number;
  /** SIMCom prints `MISSED_CALL: <hh:mmAM> <number>` when an unanswered caller gives up. */
  missedCallUrc: boolean;
}

interface LiveCall {
  call: VirtualCall;
  state: 'ringing' | 'active';
  timers: unknown[];
}

/** Calls kept in the list: anyone on the LAN can start calls in simulator mode, so the list has a bound. */
export const MAX_CALLS_KEPT = 500;

/** 27.007 <type> of a number: 145 international (with '+'), 129 otherwise. */
const numberType = (number: string): number => (number.startsWith('+') ? 145 : 129);

export class CallsBehaviour implements Behaviour {
  readonly name = 'calls';
  /** The calls the network offered, oldest first (the last MAX_CALLS_KEPT). */
  readonly calls: VirtualCall[] = [];
  private clip = 0;
  private live: LiveCall | null = null;
  private nextId = 1;
  private registration!: RegistrationBehaviour;

  constructor(
    private readonly core: ModemCore,
    private readonly options: CallsOptions,
  ) {}

  bind(parts: { registration: RegistrationBehaviour }): void {
    this.registration = parts.registration;
  }

  resetSettings(): void {
    this.clip = 0;
  }

  onCommand(command: ParsedCommand): Handled | undefined {
    switch (command.name) {
      case 'D':
        // Outgoing calls are outside what the box needs; the SIM7600 would dial.
        return plainError();
      case 'A':
        return this.answer();
      case 'H':
        this.hangUp();
        return [];
      case '+CHUP':
        if (command.form === 'test') return [];
        if (command.form !== 'exec') return plainError();
        this.hangUp();
        return [];
      case '+CLIP':
        if (command.form === 'read') return [`+CLIP: ${this.clip},1`];
        return numericSetting(command, '+CLIP', 0, 1, () => this.clip, (v) => (this.clip = v));
      case '+CLCC':
        if (command.form === 'test') return [];
        if (command.form !== 'exec') return plainError();
        if (!this.live) return [];
        // <id>,<dir> 1 = mobile terminated,<stat> 4 = incoming / 0 = active,<mode> 0 = voice,<mpty> 0
        return [`+CLCC: 1,1,${this.live.state === 'ringing' ? 4 : 0},0,0,"${this.live.call.from}",${numberType(this.live.call.from)}`];
      default:
        return undefined;
    }
  }

  private now(): string {
    return new Date(this.core.clock.now()).toISOString();
  }

  private changed(call: VirtualCall): void {
    this.core.emit('call', { ...call });
  }

  /**
   * A caller rings the SIM's number. The modem rings at once when it can be
   * reached (powered, registered with a voice path: CS, SGs or IMS; no other
   * call); otherwise the network ends the call at once, as an unreachable
   * phone's caller hears.
   */
  ring(from: string): VirtualCall {
    const call: VirtualCall = {
      id: this.nextId++,
      from,
      started_at: this.now(),
      hung_up_at: null,
      hung_up_by: null,
      rings: 0,
      answered_at: null,
    };
    this.calls.push(call);
    if (this.calls.length > MAX_CALLS_KEPT) this.calls.splice(0, this.calls.length - MAX_CALLS_KEPT);
    // LTE without SGs (no CS fallback) and without IMS reaches the SIM for data only: no calls either.
    if (this.core.power !== 'ready' || this.registration.smsPath() === 'none' || this.live !== null) {
      call.hung_up_at = call.started_at;
      call.hung_up_by = 'network';
      this.changed(call);
      return call;
    }
    const live: LiveCall = { call, state: 'ringing', timers: [] };
    this.live = live;
    live.timers.push(this.core.moduleTimer(this.options.ringTimeoutMs, () => this.callerHangsUp()));
    this.ringOnce(live);
    return call;
  }

  private ringOnce(live: LiveCall): void {
    if (this.live !== live || live.state !== 'ringing') return;
    live.call.rings++;
    this.core.sendUrc('RING');
    if (this.clip === 1) this.core.sendUrc(`+CLIP: "${live.call.from}",${numberType(live.call.from)},"",0,"",0`);
    this.changed(live.call);
    live.timers.push(this.core.moduleTimer(this.options.ringIntervalMs, () => this.ringOnce(live)));
  }

  private answer(): Handled {
    const live = this.live;
    if (!live || live.state !== 'ringing') return plainError();
    live.state = 'active';
    live.call.answered_at = this.now();
    this.changed(live.call);
    return [];
  }

  private end(by: 'modem' | 'caller' | 'network'): VirtualCall | null {
    const live = this.live;
    if (!live) return null;
    this.live = null;
    for (const timer of live.timers) this.core.cancelTimer(timer);
    live.call.hung_up_at = this.now();
    live.call.hung_up_by = by;
    if (by === 'caller') {
      this.core.sendUrc('NO CARRIER');
      if (this.options.missedCallUrc && live.state === 'ringing') this.core.sendUrc(`MISSED_CALL: ${this.clockTime()} ${live.call.from}`);
    }
    this.changed(live.call);
    return live.call;
  }

  /** AT+CHUP / ATH: the box ends the call. */
  private hangUp(): void {
    this.end('modem');
  }

  /** The caller gives up (or hangs up an answered call). Returns the call, or null when none was up. */
  callerHangsUp(): VirtualCall | null {
    return this.end('caller');
  }

  /** The module lost power: the network drops the call. */
  powerLost(): void {
    this.end('network');
  }

  /** The call ringing or up now, if any. */
  current(): VirtualCall | null {
    return this.live?.call ?? null;
  }

  /** `11:53AM`, local time in UTC+8 as SIMCom prints it in MISSED_CALL. */
  private clockTime(): string {
    const d = new Date(this.core.clock.now() + 8 * 3600_000);
    const h = d.getUTCHours();
    const m = String(d.getUTCMinutes()).padStart(2, '0');
    return `${String(h % 12 === 0 ? 12 : h % 12).padStart(2, '0')}:${m}${h < 12 ? 'AM' : 'PM'}`;
  }
}
