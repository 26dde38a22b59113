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

/** Who a modem of the pool is: fixed for the life of the box. */
export interface ModemIdentity {
  name: string;
  device: string;
  hat: string;
  /** The box can press its PWRKEY (a USB modem, or a HAT without the pin wired, cannot). */
  powerControl: boolean;
  simulated: boolean;
}

/** How one SIM of the pool is used: its limits, what it sent, what its lane does. */
export interface ModemUsage {
  limits: { maxPerMinute: number; maxPerHour: number; maxPerDay: number };
  /** Segments sent in the last hour and the last 24 h (the limits' windows). */
  segmentsLastHour: number;
  segmentsLastDay: number;
  lane: DispatchState | null;
}

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

interface PoolMember {
  identity: ModemIdentity;
  status: ModemStatus;
  sendFailures: SendFailureRun;
}

export class StatusModel {
  /** The pool, in config order; the first is `modem` in the snapshot. */
  private readonly pool: PoolMember[];
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
      /** Each SIM's limits, use and lane (the dispatcher's); absent before it runs. */
      usage?: (name: string) => ModemUsage | null;
    },
    simulated: boolean,
    modems: readonly ModemIdentity[] = [{ name: 'sim1', device: simulated ? 'simulator' : '', hat: '', powerControl: simulated, simulated }],
  ) {
    this.startedAt = deps.clock.now();
    this.pool = modems.map((identity) => ({
      identity,
      status: { state: 'queue-only', simulated: identity.simulated, hardFault: null },
      sendFailures: new SendFailureRun(),
    }));
  }

  private member(name?: string): PoolMember {
    if (name === undefined) return this.pool[0]!;
    const found = this.pool.find((m) => m.identity.name === name);
    if (!found) throw new RangeError(`no modem named ${name}`);
    return found;
  }

  /** The driver's state of one modem (the first when unnamed). */
  setModem(update: Partial<ModemStatus>, name?: string): void {
    const member = this.member(name);
    member.status = { ...member.status, ...update };
  }

  /** The first modem's state. */
  get modemStatus(): Readonly<ModemStatus> {
    return this.pool[0]!.status;
  }

  /**
   * Why the dispatcher must not hand this modem a message now; null when it
   * may. Unnamed: the box as a whole, ready while any modem is (else the
   * first one's reason).
   */
  modemNotReadyReason(name?: string): string | null {
    if (name !== undefined) return modemNotReadyReason(this.member(name).status);
    const reasons = this.pool.map((m) => modemNotReadyReason(m.status));
    return reasons.some((r) => r === null) ? null : reasons[0]!;
  }

  /** The driver's word on each message it was asked to transmit (its `send-result` event). */
  recordSendResult(outcome: SendOutcome, name?: string): void {
    this.member(name).sendFailures.record(outcome);
  }

  /**
   * Sends in a row that failed for the modem's reasons (the LEDs and the
   * watchdog read it). Unnamed: the longest run of any modem (the fault LED
   * shows the worst).
   */
  sendFailureRun(name?: string): number {
    if (name !== undefined) return this.member(name).sendFailures.length;
    return Math.max(...this.pool.map((m) => m.sendFailures.length));
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
    // One SIM's fault moves its queue to the others: only a pool with every modem dead refuses.
    if (this.pool.some((m) => !m.status.hardFault)) return { ok: true };
    return { ok: false, reason: this.pool.map((m) => m.status.hardFault).join('; ') };
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

  private poolMemberJson(member: PoolMember, now: number, tz: string) {
    const usage = this.deps.usage?.(member.identity.name) ?? null;
    const config = this.deps.config();
    const limits = usage?.limits ?? { maxPerMinute: config.schedule.maxPerMinute, maxPerHour: config.schedule.maxPerHour, maxPerDay: config.schedule.maxPerDay };
    const lane = usage?.lane ?? null;
    return {
      name: member.identity.name,
      device: member.identity.device,
      hat: member.identity.hat,
      ...modemJson(member.status),
      /** False for a modem the box cannot power-cycle (a USB modem; a HAT whose PWRKEY is not wired). */
      power_control: member.identity.powerControl,
      sent_today: this.deps.store.sentByModemSince(member.identity.name, startOfLocalDay(now, tz)),
      /** Segments in the last hour and 24 h: what this SIM's limits count. */
      sent_last_hour: usage?.segmentsLastHour ?? 0,
      sent_last_day: usage?.segmentsLastDay ?? 0,
      /** Segments left in the last 24 h's budget; null without a day cap. */
      day_budget_left: limits.maxPerDay > 0 ? Math.max(0, limits.maxPerDay - (usage?.segmentsLastDay ?? 0)) : null,
      limits: { max_per_minute: limits.maxPerMinute, max_per_hour: limits.maxPerHour, max_per_day: limits.maxPerDay },
      sending_message_id: lane?.sending ?? null,
      waiting: lane?.waiting ?? null,
      waiting_text: lane?.waiting ? WAIT_TEXT[lane.waiting].zh : null,
      waiting_text_en: lane?.waiting ? WAIT_TEXT[lane.waiting].en : null,
      next_send_at: lane?.nextSendAt ? new Date(lane.nextSendAt).toISOString() : null,
    };
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
      modem: modemJson(this.pool[0]!.status),
      /** Every SIM of the pool, the first being `modem` (issue 19). */
      modems: this.pool.map((m) => this.poolMemberJson(m, now, tz)),
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

/** One modem's driver state as /api/status shows it (`modem`, and each of `modems`). */
export type ModemJson = ReturnType<typeof modemJson>;

function modemJson(modem: ModemStatus) {
  return {
    state: modem.state,
    simulated: modem.simulated,
    hard_fault: modem.hardFault,
    registered: modem.registered ?? null,
    operator: modem.operator ?? null,
    signal_csq: modem.signalCsq ?? null,
    signal_bars: modem.signalBars ?? null,
    /** Access technology: gsm, umts, lte, unknown. */
    rat: modem.rat ?? 'unknown',
    /** How an SMS leaves the module: cs, sgs, ims, none (registered, nothing can be sent), unknown. */
    sms_path: modem.smsPath ?? 'unknown',
  };
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
