import { EventEmitter } from 'node:events';
import { unrefTimers, type Clock, type Timers } from '../clock.js';
import type { Logger } from '../log.js';
import type { ModemEvent, ModemState } from './modem.js';
import { PowerUnavailableError, type NoPowerText } from './power.js';
import type { ModemSendError } from './errors.js';

/**
 * Keeps the modem alive without a person: the Modem recovers from a single
 * lost answer by itself (it probes, re-initialises, reconnects); this is for
 * a module that stays unwell.
 *
 * 1. Soft: a modem that has been searching for the network for
 *    `lostNetworkMs` gets its radio switched off and on (`AT+CFUN=0/1`), once
 *    per episode.
 * 2. Hard: a modem that does not answer for `unresponsiveMs`, or is still not
 *    ready `stuckMs` into an episode (after the soft step), is power-cycled
 *    through PWRKEY; a cycle that does not bring it back waits 1, 2, 4, 8, 16
 *    and then 30 minutes before the next one.
 * 3. After `hardFaultAfterCycles` cycles without recovery it reports a hard
 *    fault (hardFault(), the 'hard-fault' event): the fault LED lights and
 *    smsSnd answers 3 until the modem is ready again. It keeps trying.
 *
 * A modem without a SIM, with a PIN, without an SMSC or refused by the
 * network is a person's job: the watchdog leaves it alone (the modem's own
 * hard fault says what to do). Every power action is an `event` for the
 * events log.
 */

/** The part of the Modem the watchdog drives (structural, so tests may pass the real one). */
export interface WatchdogModem {
  status(): ModemState;
  readonly consecutiveFailures: number;
  powerCycle(): Promise<void>;
  restartRadio(): Promise<void>;
  on(event: 'status', listener: (state: ModemState) => void): unknown;
  off(event: 'status', listener: (state: ModemState) => void): unknown;
  on(event: 'send-result', listener: (result: SendResult) => void): unknown;
  off(event: 'send-result', listener: (result: SendResult) => void): unknown;
}

type SendResult = { ok: true } | { ok: false; error: ModemSendError };

export interface WatchdogOptions {
  modem: WatchdogModem;
  /** False when the box cannot press PWRKEY (ModemPower.canPulse): then only the soft step is tried. */
  canPowerCycle: boolean;
  /**
   * Why it cannot and what the owner does instead (noPowerText(power)), said in
   * the watchdog's events; default: "PWRKEY is not wired, unplug the box".
   * A USB modem says it has no power control (USB) and to replug its cable.
   */
  noPowerText?: NoPowerText;
  clock?: Clock;
  /** The timer of the periodic check (default: real timers that do not keep the process alive); tests drive it. */
  timers?: Timers;
  log?: Logger;
  /** How often the modem's state is looked at besides its 'status' events (default 10 s). */
  checkIntervalMs?: number;
  /** Searching this long → AT+CFUN off/on (default 5 min). */
  lostNetworkMs?: number;
  /** Not answering this long → power cycle (default 1 min; the Modem itself has already probed for a while). */
  unresponsiveMs?: number;
  /** Not ready this long into an episode, the soft step done → power cycle (default 15 min). */
  stuckMs?: number;
  /** Waits after a power cycle that did not help, in order; the last one repeats (default 1, 2, 4, 8, 16, 30 min). */
  backoffMs?: readonly number[];
  /** Power cycles without recovery before the hard fault (default 3). */
  hardFaultAfterCycles?: number;
  /**
   * Sends in a row that a ready modem failed for a retryable reason (+CMS 500,
   * no answer…) before its radio is restarted (default 5), and before it is
   * power cycled (default 10; then counting starts again). A module can stay
   * registered and answer AT while refusing every message until it restarts.
   */
  sendFailuresBeforeRadioRestart?: number;
  sendFailuresBeforePowerCycle?: number;
  /**
   * The run of sends that failed for the modem's reasons, as src/status
   * counts it (StatusModel.sendFailureRun): counted there once, read here.
   * Its 'send-result' listener must be registered before start().
   */
  sendFailureRun: () => number;
}

export const DEFAULT_BACKOFF_MS: readonly number[] = [1, 2, 4, 8, 16, 30].map((minutes) => minutes * 60_000);

/** States a power cycle can cure. The others are the shop's to fix (SIM, PIN, SMSC, the carrier). */
const CURABLE = new Set(['not-responding', 'searching', 'error']);

interface Episode {
  since: number;
  softDone: boolean;
  cycles: number;
  nextCycleAt: number;
}

interface WatchdogEvents {
  event: [ModemEvent];
  'hard-fault': [string | null];
}

export class ModemWatchdog extends EventEmitter<WatchdogEvents> {
  private readonly modem: WatchdogModem;
  private readonly clock: Clock;
  private readonly checkIntervalMs: number;
  private readonly lostNetworkMs: number;
  private readonly unresponsiveMs: number;
  private readonly stuckMs: number;
  private readonly backoffMs: readonly number[];
  private readonly hardFaultAfterCycles: number;
  private episode: Episode | null = null;
  private fault: string | null = null;
  private readonly timers: Timers;
  private timer: unknown = null;
  private running: Promise<void> | null = null;
  private recheck = false;
  private started = false;
  private toldNoPower = false;
  private readonly onStatus = (): void => void this.check();
  private readonly sendFailuresBeforeRadioRestart: number;
  private readonly sendFailuresBeforePowerCycle: number;
  /** The run's length at the last power cycle it caused: counting starts again from there. */
  private handledRun = 0;
  /** A recovery asked for by failing sends, run by the next check (one action at a time). */
  private sendRecovery: 'radio' | 'power' | null = null;
  private readonly onSendResult = (result: SendResult): void => {
    if (result.ok) {
      this.handledRun = 0;
      return;
    }
    // A final error is about the message (its number, its length), not the modem.
    if (!result.error.retryable || this.modem.status().state !== 'ready') return;
    const run = this.options.sendFailureRun() - this.handledRun;
    if (run === this.sendFailuresBeforeRadioRestart) this.sendRecovery = 'radio';
    else if (run >= this.sendFailuresBeforePowerCycle) {
      this.sendRecovery = 'power';
      this.handledRun += run;
    } else return;
    void this.check();
  };

  constructor(private readonly options: WatchdogOptions) {
    super();
    this.modem = options.modem;
    this.clock = options.clock ?? { now: () => Date.now() };
    this.timers = options.timers ?? unrefTimers;
    this.checkIntervalMs = options.checkIntervalMs ?? 10_000;
    this.lostNetworkMs = options.lostNetworkMs ?? 5 * 60_000;
    this.unresponsiveMs = options.unresponsiveMs ?? 60_000;
    this.stuckMs = options.stuckMs ?? 15 * 60_000;
    this.backoffMs = options.backoffMs && options.backoffMs.length > 0 ? options.backoffMs : DEFAULT_BACKOFF_MS;
    this.hardFaultAfterCycles = Math.max(1, options.hardFaultAfterCycles ?? 3);
    this.sendFailuresBeforeRadioRestart = Math.max(1, options.sendFailuresBeforeRadioRestart ?? 5);
    this.sendFailuresBeforePowerCycle = Math.max(this.sendFailuresBeforeRadioRestart + 1, options.sendFailuresBeforePowerCycle ?? 10);
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.modem.on('status', this.onStatus);
    this.modem.on('send-result', this.onSendResult);
    this.scheduleCheck();
    void this.check();
  }

  /** Every checkIntervalMs, whatever the checks take (as setInterval would). */
  private scheduleCheck(): void {
    this.timer = this.timers.setTimeout(() => {
      if (!this.started) return;
      this.scheduleCheck();
      void this.check();
    }, this.checkIntervalMs);
  }

  /** Stops watching; resolves once a recovery in progress has ended. */
  async stop(): Promise<void> {
    this.started = false;
    this.modem.off('status', this.onStatus);
    this.modem.off('send-result', this.onSendResult);
    if (this.timer) this.timers.clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => {});
  }

  /** zh / en text while the watchdog has given up on the modem; null otherwise. */
  hardFault(): string | null {
    return this.fault;
  }

  /** Power cycles in the current episode (0 when the modem is well). */
  get cyclesInEpisode(): number {
    return this.episode?.cycles ?? 0;
  }

  /** Looks at the modem now and acts if it must; one action at a time. */
  check(): Promise<void> {
    if (this.running) {
      this.recheck = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.recheck = false;
        await this.step();
      } while (this.recheck && this.started);
    })()
      .catch((error: unknown) => this.options.log?.warn('modem watchdog failed', { error: String(error) }))
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  private async step(): Promise<void> {
    if (!this.started) return;
    const recovery = this.sendRecovery;
    this.sendRecovery = null;
    if (recovery && this.modem.status().state === 'ready') {
      const n = recovery === 'radio' ? this.sendFailuresBeforeRadioRestart : this.sendFailuresBeforePowerCycle;
      if (recovery === 'radio') {
        this.event('warn', 'watchdog-send-failures', `短信模块已连续 ${n} 次发送失败：正在重启射频（AT+CFUN 关/开）`, `The modem failed ${n} sends in a row: restarting its radio (AT+CFUN off/on)`);
        await this.restartRadio();
      } else if (this.options.canPowerCycle) {
        this.event('warn', 'watchdog-send-failures', `短信模块已连续 ${n} 次发送失败，重启射频也无效：正在断电重启`, `The modem failed ${n} sends in a row, also after a radio restart: power cycling it`);
        await this.modem.powerCycle().catch((error: unknown) => this.event('error', 'watchdog-power-cycle-failed', `断电重启失败：${describe(error)}`, `The power cycle failed: ${describe(error)}`));
      } else {
        const text = this.options.noPowerText;
        if (text) this.event('error', 'watchdog-send-failures', `短信模块已连续 ${n} 次发送失败。${text.zh}`, `The modem failed ${n} sends in a row. ${text.en}`);
        else this.event('error', 'watchdog-send-failures', `短信模块已连续 ${n} 次发送失败，且本机无法控制其电源（PWRKEY 未接）：请手动断电重启`, `The modem failed ${n} sends in a row and this box cannot press its PWRKEY: unplug the box and plug it in again`);
      }
      return;
    }
    const state = this.modem.status().state;
    const now = this.clock.now();
    if (state === 'ready') {
      this.recovered();
      return;
    }
    if (!CURABLE.has(state)) return;
    const episode = (this.episode ??= { since: now, softDone: false, cycles: 0, nextCycleAt: 0 });
    const age = now - episode.since;

    if (state === 'searching' && !episode.softDone && age >= this.lostNetworkMs) {
      episode.softDone = true;
      await this.softRecovery();
      return;
    }
    const due = state === 'not-responding' ? age >= this.unresponsiveMs : age >= this.stuckMs && (episode.softDone || state !== 'searching');
    if (due && now >= episode.nextCycleAt) await this.powerCycle(episode);
  }

  private async softRecovery(): Promise<void> {
    this.event('warn', 'watchdog-radio-restart', '短信模块长时间搜不到网络：正在重启射频（AT+CFUN 关/开）', 'The modem has been searching for the network for a long time: restarting its radio (AT+CFUN off/on)');
    await this.restartRadio();
  }

  private async restartRadio(): Promise<void> {
    try {
      await this.modem.restartRadio();
    } catch (error) {
      this.options.log?.warn('radio restart failed', { error: describe(error) });
    }
  }

  private async powerCycle(episode: Episode): Promise<void> {
    if (!this.options.canPowerCycle) {
      if (!this.toldNoPower) {
        this.toldNoPower = true;
        const text = this.options.noPowerText;
        if (text) this.event('error', 'watchdog-no-power', `短信模块需要断电重启。${text.zh}`, `The modem needs a power cycle. ${text.en}`);
        else this.event('error', 'watchdog-no-power', '短信模块需要断电重启，但本机无法控制其电源（PWRKEY 未接）：请手动断电重启', 'The modem needs a power cycle but this box cannot press its PWRKEY: unplug the box and plug it in again');
      }
      return;
    }
    episode.cycles++;
    const n = episode.cycles;
    this.event('warn', 'watchdog-power-cycle', `短信模块无响应或无法恢复：第 ${n} 次断电重启`, `The modem does not respond or recover: power cycle ${n}`);
    try {
      await this.modem.powerCycle();
    } catch (error) {
      const text = describe(error);
      this.event('error', 'watchdog-power-cycle-failed', `断电重启失败：${text}`, `The power cycle failed: ${text}`);
      if (error instanceof PowerUnavailableError) this.toldNoPower = true;
    }
    const after = this.modem.status().state;
    if (after === 'ready') {
      this.recovered();
      return;
    }
    const now = this.clock.now();
    if (after !== 'not-responding') {
      // It answers again but has not registered yet: a fresh start for the soft step and the timers.
      episode.since = now;
      episode.softDone = false;
    }
    const wait = this.backoffMs[Math.min(n - 1, this.backoffMs.length - 1)]!;
    episode.nextCycleAt = now + wait;
    this.event('warn', 'watchdog-backoff', `短信模块仍未恢复，${minutes(wait)} 后再试`, `The modem has not recovered; next try in ${minutesEn(wait)}`);
    if (n >= this.hardFaultAfterCycles && this.fault === null) {
      this.setFault(`短信模块经 ${n} 次断电重启仍未恢复：请检查 HAT 供电、天线和 SIM 卡，或拔掉电源重启整机 / The modem did not recover after ${n} power cycles: check the HAT's power, the antenna and the SIM, or unplug the box and plug it in again`);
      this.event('error', 'watchdog-hard-fault', `短信模块经 ${n} 次断电重启仍未恢复，暂停接收短信`, `The modem did not recover after ${n} power cycles; new messages are refused until it does`);
    }
  }

  private recovered(): void {
    const episode = this.episode;
    this.episode = null;
    if (episode && (episode.cycles > 0 || episode.softDone)) {
      this.event('info', 'watchdog-recovered', '短信模块已恢复正常', 'The modem has recovered');
    }
    if (this.fault !== null) this.setFault(null);
  }

  private setFault(fault: string | null): void {
    this.fault = fault;
    this.emit('hard-fault', fault);
  }

  private event(level: ModemEvent['level'], kind: string, zh: string, en: string): void {
    this.options.log?.[level === 'error' ? 'error' : level === 'warn' ? 'warn' : 'info'](en, { kind });
    this.emit('event', { level, kind, zh, en });
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function minutes(ms: number): string {
  return ms >= 60_000 ? `${Math.round(ms / 60_000)} 分钟` : `${Math.round(ms / 1000)} 秒`;
}

function minutesEn(ms: number): string {
  return ms >= 60_000 ? `${Math.round(ms / 60_000)} min` : `${Math.round(ms / 1000)} s`;
}
