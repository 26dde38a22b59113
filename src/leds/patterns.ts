import { simFaultReasons, type SimHealthView } from '../status/sim.js';

/**
 * What the four LEDs say, derived from the one status model and nothing else.
 * Pure: a status view in, a pattern per LED out. The table, for a shop owner,
 * is in hardware/README.md ("What the lights mean"); keep both in step
 * (test/leds/readme.test.ts checks the timings quoted there).
 */

import { NO_SMS_PATH_TEXT, noSmsPath } from '../status/health.js';

export const LED_NAMES = ['power', 'network', 'activity', 'fault'] as const;
export type LedName = (typeof LED_NAMES)[number];

/** `on`, `off`, `blink-fast`, `blink-slow`, `blink-1` … `blink-5`, `flash`. */
export type LedPattern = 'on' | 'off' | 'blink-fast' | 'blink-slow' | 'flash' | `blink-${number}`;

/** One modem as the LEDs see it. */
export interface LedModemView {
  state: string;
  hard_fault: string | null;
  registered: boolean | null;
  signal_bars: number | null;
  /** cs, sgs, ims, none, unknown (absent: unknown). */
  sms_path?: string;
}

/** The fields of StatusModel.snapshot() the LEDs read (a snapshot satisfies it as it is). */
export interface LedStatusView {
  /** The first modem (the only one on a box with one SIM). */
  modem: LedModemView;
  /** Every modem, the first being `modem` (issue 19); absent: `modem` is the only one. */
  modems?: readonly (LedModemView & { name: string })[];
  queue: {
    waiting: string | null;
    queued: number;
    uncertain: number;
    /** Window open, modem ready, messages queued, nothing sent for 10 minutes (the status model judges it). */
    stuck?: boolean;
  };
  clock: { trusted: boolean };
  /** Where the database lives (absent: unknown, nothing wrong). */
  storage?: { full: boolean };
  /** A mistake in the config file: the box runs on the last good copy or the defaults (absent or null: none). */
  config_error?: unknown;
  /** The SIM's credit and the carrier's restriction (absent: unknown, nothing wrong). */
  sim?: SimHealthView;
}

/** What the snapshot does not carry (yet). Every field defaults to "nothing wrong". */
export interface LedExtras {
  /** The box is starting: the modem's first start attempt is not over. */
  starting?: boolean;
  /** The admin password is still the factory default where that matters (a real modem is fitted). */
  defaultAdminPassword?: boolean;
  /** Sends that failed in a row (reset by a success). */
  consecutiveSendFailures?: number;
  /** The database refused a write (disk full, card failing). */
  storeFailure?: string | null;
  /** The watchdog gave up on the modem (also fed into the status model's hard fault). */
  watchdogFault?: string | null;
}

/** Failed sends in a row that make the box "degraded". */
export const SEND_FAILURES_DEGRADED = 3;

export type FaultLevel = 'hard' | 'degraded';

export interface FaultReason {
  level: FaultLevel;
  kind: string;
  zh: string;
  en: string;
}

export interface LedState {
  patterns: Record<LedName, LedPattern>;
  /** Why the fault LED is lit, worst first; empty when it is off. */
  faults: FaultReason[];
}

/** Modem states in which the module answers but is not on a network. */
const SEARCHING_STATES = new Set(['searching', 'registration-denied', 'no-smsc', 'error', 'pin-required']);

export function deriveLeds(status: LedStatusView, extras: LedExtras = {}): LedState {
  const faults = faultReasons(status, extras);
  const hard = faults.some((f) => f.level === 'hard');
  return {
    patterns: {
      power: extras.starting ? 'blink-slow' : 'on',
      network: networkPattern(status),
      // Flashes are events, not states: the driver flashes this LED per segment.
      activity: 'off',
      fault: hard ? 'on' : faults.length > 0 ? 'blink-slow' : 'off',
    },
    faults,
  };
}

/**
 * How bad a modem's network is, for the network LED of a box with several
 * SIMs: lower is worse. A hard fault, then registration denied, then no
 * network at all (off, starting, not responding, no SIM), then searching (or
 * answering but not registered), then registered with fewer signal bars.
 */
export function networkSeverity(modem: LedModemView): number {
  if (modem.hard_fault) return 0;
  if (modem.state === 'registration-denied') return 1;
  const registered = modem.registered === true && modem.state === 'ready';
  if (!registered && !SEARCHING_STATES.has(modem.state) && modem.state !== 'ready') return 2;
  if (!registered) return 3;
  // Registered: 4 + bars (0-5), so one bar is worse than five.
  return 4 + Math.min(5, Math.max(0, modem.signal_bars ?? 0));
}

/** The modem the network LED shows: the worst one (the first of equals). */
export function worstModem<M extends LedModemView>(modems: readonly M[]): M {
  let worst = modems[0]!;
  for (const modem of modems.slice(1)) if (networkSeverity(modem) < networkSeverity(worst)) worst = modem;
  return worst;
}

function modemsOf(status: LedStatusView): readonly (LedModemView & { name: string | null })[] {
  return status.modems && status.modems.length > 0 ? status.modems : [{ ...status.modem, name: null }];
}

function networkPattern(status: LedStatusView): LedPattern {
  const { state, registered, signal_bars: bars } = worstModem(modemsOf(status));
  if (registered === true && state === 'ready') return `blink-${Math.min(5, Math.max(1, bars ?? 1))}`;
  if (SEARCHING_STATES.has(state) || (state === 'ready' && registered !== true)) return 'blink-fast';
  // off, starting, not-responding, no-sim, queue-only: no modem on a network to speak of.
  return 'off';
}

function faultReasons(status: LedStatusView, extras: LedExtras): FaultReason[] {
  const reasons: FaultReason[] = [];
  const hard = (kind: string, zh: string, en: string): void => void reasons.push({ level: 'hard', kind, zh, en });
  const degraded = (kind: string, zh: string, en: string): void => void reasons.push({ level: 'degraded', kind, zh, en });

  // With several SIMs each modem reason names its modem, and it is hard only when no modem can
  // send: the others carry the queue (issue 19), so one SIM down is something to see to, not a stop.
  const modems = modemsOf(status);
  const pooled = modems.length > 1;
  const modemReasons = modems.map((modem) => {
    const own: FaultReason[] = [];
    const add = (kind: string, zh: string, en: string): void => {
      own.push(pooled
        ? { level: 'hard', kind: `${kind}:${modem.name}`, zh: `SIM ${modem.name}：${zh}`, en: `Modem ${modem.name}: ${en}` }
        : { level: 'hard', kind, zh, en });
    };
    if (modem.hard_fault) {
      // The modem says "中文 / English", each part already saying what to do.
      const [zh, en] = modem.hard_fault.split(' / ');
      add(`modem-${modem.state}`, zh || modem.hard_fault, en ?? modem.hard_fault);
    } else if (extras.watchdogFault && modem === modems[0]) add('modem-watchdog', extras.watchdogFault, extras.watchdogFault);
    if (modem.state === 'registration-denied') {
      add('registration-denied', '运营商拒绝注册：SIM 卡可能欠费或被停用', 'The network denied registration: the SIM may be out of credit or barred');
    }
    if (noSmsPath({ registered: modem.registered, smsPath: modem.sms_path ?? null })) add('no-sms-path', NO_SMS_PATH_TEXT.zh, NO_SMS_PATH_TEXT.en);
    return own;
  });
  const everyModemDown = modemReasons.every((own) => own.length > 0);
  const modemWarnings: FaultReason[] = [];
  for (const own of modemReasons) for (const reason of own) (everyModemDown ? reasons : modemWarnings).push(everyModemDown ? reason : { ...reason, level: 'degraded' });
  const withoutSmsPath = noSmsPath({ registered: status.modem.registered, smsPath: status.modem.sms_path ?? null });
  if (status.storage?.full) hard('disk-full', '磁盘已满：新短信无法保存，请联系技术支持清理存储卡', 'The disk is full: new messages cannot be stored; call support to free space on the card');
  if (status.queue.stuck) {
    hard('stuck', '发送停滞：有短信排队，但超过 10 分钟没有发出任何短信', 'Sending is stuck: messages are queued but none has been sent for over 10 minutes');
  }
  // The carrier's restriction is hard (nothing goes but an hourly try); low credit is a warning.
  for (const reason of simFaultReasons(status.sim)) reasons.push(reason);
  if (extras.storeFailure) hard('store', `数据库写入失败：${extras.storeFailure}`, `The database cannot be written: ${extras.storeFailure}`);

  // Worst first: the hard reasons above, then these.
  for (const reason of modemWarnings) reasons.push(reason);
  if (!status.clock.trusted) degraded('clock-not-set', '时间尚未校准，暂不发送', 'The clock is not set yet: messages are held');
  if (status.config_error) {
    degraded('config-error', '配置文件有误，本机暂用上次正确的配置或出厂设置运行：请改正配置文件', 'The config file has a mistake; the box runs on the last good config or the defaults meanwhile: fix the file');
  }
  if (extras.defaultAdminPassword) degraded('default-password', '管理密码仍为出厂默认值，请在设置页修改', 'The admin password is still the factory default: change it in Settings');
  if (status.queue.uncertain > 0) {
    degraded('uncertain', `${status.queue.uncertain} 条短信不确定是否已发出，请在管理页面处理`, `${status.queue.uncertain} message(s) may or may not have gone out: decide in the admin pages`);
  }
  if ((extras.consecutiveSendFailures ?? 0) >= SEND_FAILURES_DEGRADED) {
    degraded('send-failures', `连续 ${extras.consecutiveSendFailures} 条短信发送失败`, `${extras.consecutiveSendFailures} sends failed in a row`);
  }
  // (Without an SMS path the hard reason above already says why the queue waits.)
  if (!extras.starting && status.queue.waiting === 'modem-not-ready' && status.queue.queued > 0 && !status.modem.hard_fault && !withoutSmsPath) {
    degraded('queue-stuck', '有短信排队，但短信模块未就绪', 'Messages are queued but the modem is not ready');
  }
  return reasons;
}

// ------------------------------------------------------------------ timing

/** One step of a pattern: hold `level` for `ms`. */
export interface PatternStep {
  level: 0 | 1;
  ms: number;
}

export const TIMING = Object.freeze({
  /** blink-fast: 4 Hz. */
  fastHalfMs: 125,
  /** blink-slow: 1 Hz. */
  slowHalfMs: 500,
  /** blink-N: each count is on this long … */
  countOnMs: 200,
  /** … then off this long … */
  countOffMs: 400,
  /** … and the group ends with this much dark, so the counts can be told apart. */
  countPauseMs: 2000,
  /** flash: one short light per segment sent or received. */
  flashMs: 100,
});

/** The largest count a blink-N pattern shows (signal bars 0-5, shown as 1-5). */
export const MAX_COUNT = 5;

/** Whether `text` is a pattern the driver can show. */
export function isLedPattern(text: string): text is LedPattern {
  if (text === 'on' || text === 'off' || text === 'blink-fast' || text === 'blink-slow' || text === 'flash') return true;
  const m = /^blink-(\d)$/.exec(text);
  return m !== null && Number(m[1]) >= 1 && Number(m[1]) <= MAX_COUNT;
}

/**
 * One period of a repeating pattern, as steps; `null` for a steady one (`on`,
 * `off`) and for `flash`, which the driver plays once per event.
 */
export function patternCycle(pattern: LedPattern): PatternStep[] | null {
  switch (pattern) {
    case 'on':
    case 'off':
    case 'flash':
      return null;
    case 'blink-fast':
      return [{ level: 1, ms: TIMING.fastHalfMs }, { level: 0, ms: TIMING.fastHalfMs }];
    case 'blink-slow':
      return [{ level: 1, ms: TIMING.slowHalfMs }, { level: 0, ms: TIMING.slowHalfMs }];
    default: {
      const count = Number(/^blink-(\d+)$/.exec(pattern)?.[1]);
      if (!Number.isInteger(count) || count < 1 || count > MAX_COUNT) throw new RangeError(`unknown LED pattern "${pattern}"`);
      const steps: PatternStep[] = [];
      for (let i = 0; i < count; i++) {
        steps.push({ level: 1, ms: TIMING.countOnMs });
        steps.push({ level: 0, ms: i === count - 1 ? TIMING.countPauseMs : TIMING.countOffMs });
      }
      return steps;
    }
  }
}
