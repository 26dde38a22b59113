import type { Clock } from '../clock.js';
import type { Config, ConfigError } from '../config/config.js';
import { windowState } from '../scheduler/window.js';
import { startOfLocalDay } from '../scheduler/tz.js';
import type { Store } from '../store/store.js';
import { displayedVersion } from '../paths.js';
import { maskName } from '../text.js';
import type { StorageStatus } from './storage.js';
import type { FaultReason } from '../leds/patterns.js';
import { WAIT_TEXT, type DispatchState } from '../scheduler/dispatcher.js';
import type { ClockSource } from '../scheduler/clock-trust.js';
import { judgeQueue, type QueueProgress } from './stuck.js';
import { modemNotReadyReason, SendFailureRun, type SendOutcome } from './health.js';
import type { LastRunSummary } from '../system/last-run.js';
import type { HostInfo } from '../system/host-name.js';

/** The SIM's state as src/sim reports it (`/api/status` `sim`; the first four names are fixed by issue 17). */
export interface SimStatus {
  carrier: string;
  balance_yuan: number | null;
  balance_at: string | null;
  low: boolean;
  own_number: string | null;
  blocked: boolean;
  blocked_since: string | null;
  block_cause: 'failures' | 'notice' | 'barred' | null;
  next_probe_at: string | null;
}

/**
 * The one status model. LEDs, the web page, /api/status and metrics all read
 * it; health is computed here and nowhere else.
 */

export interface ModemStatus {
  /** 'queue-only' until a modem driver runs; then its life-cycle state. */
  state: string;
  simulated: boolean;
  /** A fault that makes sending impossible (no SIM, modem dead): smsSnd answers 3. */
  hardFault: string | null;
  registered?: boolean;
  operator?: string | null;
  signalCsq?: number | null;
  signalBars?: number | null;
  /** `gsm`, `umts`, `lte` or `unknown` (the driver's ModemState.rat). */
  rat?: string;
  /** `cs`, `sgs`, `ims`, `none` or `unknown` (the driver's ModemState.smsPath). */
  smsPath?: string;
}

export interface WdgjRequestRecord {
  at: number;
  client: string;
  msg: string;
  /**
   * The account the request named; '' when its User named no account (then it
   * is not kept at all: a client that swapped User and PWD sent its password).
   */
  user: string;
  /** A User was given that names no account. */
  unknownUser?: boolean;
  reply: string;
  /** Why, when the reply was not a plain success (`duplicate` for a client retry merged into `requestId`). */
  reason?: string;
  /** The request a retry was merged into. */
  requestId?: number;
}

const RECENT_REQUESTS = 50;

export class StatusModel {
  private modem: ModemStatus;
  private readonly sendFailures = new SendFailureRun();
  private readonly recent: WdgjRequestRecord[] = [];
  private readonly startedAt: number;
  /** Since when the queue has been expected to move (the stuck judgement's memory). */
  private expectedSince: number | null = null;

  constructor(
    private readonly deps: {
      store: Store;
      clock: Clock;
      config: () => Config;
      /** The dispatch loop's view: what it waits for and until when. */
      dispatch?: () => DispatchState;
      clockSource?: () => ClockSource;
      /** Each LED's current pattern (`on`, `off`, `blink-fast`, `blink-3` …). */
      leds?: () => Record<string, string>;
      configProblem?: () => { error: ConfigError; using: 'last-good' | 'defaults' } | null;
      /** Free space where the database lives. */
      storage?: () => StorageStatus;
      /** Why the fault LED is lit, worst first (src/leds decides); the overview's verdict follows it. */
      faults?: () => readonly FaultReason[];
      /** The SIM's credit and the carrier's restriction (src/sim). */
      sim?: () => SimStatus;
      /** The A/B slot the app runs from on the appliance (null elsewhere). */
      slot?: () => string | null;
      /** How the previous run of the box ended (src/system/last-run.ts); its log is not here: admins only. */
      lastRun?: () => LastRunSummary | null;
      /** The name avahi announced and the URLs for 管家助理 (src/system/host-name.ts). */
      host?: () => HostInfo;
    },
    simulated: boolean,
  ) {
    this.startedAt = deps.clock.now();
    this.modem = { state: 'queue-only', simulated, hardFault: null };
  }

  setModem(update: Partial<ModemStatus>): void {
    this.modem = { ...this.modem, ...update };
  }

  get modemStatus(): Readonly<ModemStatus> {
    return this.modem;
  }

  /** Why the dispatcher must not hand the modem a message now; null when it may. */
  modemNotReadyReason(): string | null {
    return modemNotReadyReason(this.modem);
  }

  /** The driver's word on each message it was asked to transmit (its `send-result` event). */
  recordSendResult(outcome: SendOutcome): void {
    this.sendFailures.record(outcome);
  }

  /** Sends in a row that failed for the modem's reasons (the LEDs and the watchdog read it). */
  sendFailureRun(): number {
    return this.sendFailures.length;
  }

  recordWdgj(record: WdgjRequestRecord): void {
    this.recent.unshift(record);
    if (this.recent.length > RECENT_REQUESTS) this.recent.length = RECENT_REQUESTS;
  }

  recentWdgj(): readonly WdgjRequestRecord[] {
    return this.recent;
  }

  /** Whether a new message can be accepted at all. */
  acceptance(): { ok: true } | { ok: false; reason: string } {
    return this.modem.hardFault ? { ok: false, reason: this.modem.hardFault } : { ok: true };
  }

  /** The stuck judgement, with its memory carried from one snapshot to the next. */
  private judgeQueue(now: number, pending: number, windowOpen: boolean, waiting: DispatchState['waiting'] | null, clockTrusted: boolean): { progress: QueueProgress; lastSentAt: number | null } {
    const { store } = this.deps;
    // Both are single index lookups (the newest sent_at; the first queued or sending row that is no forward).
    const customersQueued = pending > 0 && store.hasPendingExceptForwards();
    const lastSentAt = store.lastSentAt();
    const judged = judgeQueue({
      now,
      windowOpen,
      modemReady: this.modemNotReadyReason() === null,
      clockTrusted,
      queued: customersQueued,
      waiting,
      lastSentAt,
      expectedSince: this.expectedSince,
    });
    this.expectedSince = judged.expectedSince;
    return { progress: judged.progress, lastSentAt };
  }

  private simSnapshot(config: Config) {
    const sim = this.deps.sim?.() ?? null;
    const lowMark = config.sim.lowBalanceLi / 1000;
    if (!sim) {
      return { carrier: 'unknown', balance_yuan: null, balance_at: null, low: false, low_balance_yuan: lowMark, own_number: null, blocked: false, blocked_since: null, block_cause: null, next_probe_at: null };
    }
    return { ...sim, low_balance_yuan: lowMark };
  }

  snapshot() {
    const config = this.deps.config();
    const now = this.deps.clock.now();
    const tz = config.schedule.timezone;
    const counts = this.deps.store.queueCounts(startOfLocalDay(now, tz));
    const window = windowState(now, config.schedule.quietHours, tz);
    const last = this.recent[0];
    const dispatch = this.deps.dispatch?.() ?? null;
    const waiting = dispatch?.waiting ?? null;
    const clockSource = this.deps.clockSource?.() ?? 'rtc';
    const configProblem = this.deps.configProblem?.() ?? null;
    const progress = this.judgeQueue(now, counts.queued + counts.sending, window.open, waiting, clockSource !== 'none');
    return {
      /** package.json version + commit when known. */
      version: displayedVersion,
      slot: this.deps.slot?.() ?? null,
      /** clean, crash (ended without a stop: a crash, a watchdog kill, a power cut) or unknown; same_boot tells a process's end from the system's. */
      last_run: this.deps.lastRun?.() ?? null,
      /** name: the `.local` name avahi announced (else the host name's); urls: what to paste into 管家助理. */
      host: this.deps.host?.() ?? null,
      uptime_s: Math.floor((now - this.startedAt) / 1000),
      time: new Date(now).toISOString(),
      modem: {
        state: this.modem.state,
        simulated: this.modem.simulated,
        hard_fault: this.modem.hardFault,
        registered: this.modem.registered ?? null,
        operator: this.modem.operator ?? null,
        signal_csq: this.modem.signalCsq ?? null,
        signal_bars: this.modem.signalBars ?? null,
        /** Access technology: gsm, umts, lte, unknown. */
        rat: this.modem.rat ?? 'unknown',
        /** How an SMS leaves the module: cs, sgs, ims, none (registered, nothing can be sent), unknown. */
        sms_path: this.modem.smsPath ?? 'unknown',
      },
      queue: {
        /** Why nothing is being sent right now (null while sending). */
        waiting,
        waiting_text: waiting ? WAIT_TEXT[waiting].zh : null,
        waiting_text_en: waiting ? WAIT_TEXT[waiting].en : null,
        waiting_detail: dispatch?.detail ?? null,
        next_send_at: dispatch?.nextSendAt ? new Date(dispatch.nextSendAt).toISOString() : null,
        sending_message_id: dispatch?.sending ?? null,
        queued: counts.queued,
        sending: counts.sending,
        uncertain: counts.uncertain,
        sent_today: counts.sentToday,
        failed_today: counts.failedToday,
        suppressed_today: counts.suppressedToday,
        /** Window open, modem ready, messages queued and nothing sent for 10 minutes (a fault: src/status/stuck.ts). */
        stuck: progress.progress === 'stuck',
        /** idle, held, moving, watching or stuck: how the stuck judgement sees the queue. */
        progress: progress.progress,
        last_sent_at: progress.lastSentAt === null ? null : new Date(progress.lastSentAt).toISOString(),
      },
      /** Calls the box hung up since midnight (they are in the inbox, kind `call`). */
      calls: { today: this.deps.store.callsSince(startOfLocalDay(now, tz)) },
      window: {
        open: window.open,
        quiet_hours: config.schedule.quietHoursText,
        timezone: tz,
        next_open: window.nextOpen === null ? null : new Date(window.nextOpen).toISOString(),
        next_close: window.nextClose === null ? null : new Date(window.nextClose).toISOString(),
      },
      clock: { source: clockSource, trusted: clockSource !== 'none' },
      sim: this.simSnapshot(config),
      storage: this.deps.storage?.() ?? { free_bytes: null, full: false },
      leds: this.deps.leds?.() ?? {},
      faults: (this.deps.faults?.() ?? []).map((f) => ({ level: f.level, kind: f.kind, message: f.zh, message_en: f.en })),
      config_error: configProblem
        ? { file: configProblem.error.file, line: configProblem.error.line, message: configProblem.error.zh, message_en: configProblem.error.en, using: configProblem.using }
        : null,
      wdgj: {
        last_request: last
          ? { at: new Date(last.at).toISOString(), client: last.client, msg: last.msg, user: publicUserName(last.user, config), reply: last.reply, reason: last.reason ?? null }
          : null,
      },
    };
  }
}

/**
 * An account name as anyone on the LAN may see it (/api/status needs no
 * login): masked (`s***`), and nothing at all for a value that is no account,
 * which may be a password typed into the wrong field.
 */
export function publicUserName(user: string, config: Config): string | null {
  if (!config.accounts.some((a) => a.user === user)) return null;
  return maskName(user);
}

export type StatusSnapshot = ReturnType<StatusModel['snapshot']>;
