import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { parseQuietHours, type QuietHours } from './quiet-hours.js';
import { parseYuan } from '../money.js';
import { DEFAULT_RULES } from '../inbound/keywords.js';
import { normalizeNumber } from '../protocol/numbers.js';
import {
  DEFAULT_NOTIFY_EVENTS, NOTIFY_CHANNEL_KINDS, NOTIFY_EVENT_KINDS, SIGNED_CHANNEL_KINDS,
  type NotifyChannelConfig, type NotifyChannelKind, type NotifyEventKind,
} from '../notify/kinds.js';

/**
 * The one config file (TOML). It is edited by shop owners, on the Pi from the
 * FAT boot partition with Windows Notepad, so it tolerates a UTF-8 BOM, CRLF
 * line ends and Chinese comments, and every error names the file and line.
 */

export interface AccountConfig {
  user: string;
  password: string;
  /** Opening balance in 厘 (1/1000 yuan); null = unlimited. */
  balanceLi: number | null;
  /** Urgent notices: send even inside quiet hours. */
  ignoreQuietHours: boolean;
}

export interface Config {
  /** Where the config came from, for messages; null = built-in defaults. */
  file: string | null;
  http: { port: number; host: string };
  admin: { password: string };
  accounts: AccountConfig[];
  billing: { pricePerSegmentLi: number; unlimitedBalanceReply: string };
  sms: {
    maxSegments: number;
    allowInternational: boolean;
    duplicateWindowMinutes: number;
  };
  schedule: {
    timezone: string;
    quietHours: QuietHours | null;
    quietHoursText: string;
    maxPerMinute: number;
    maxPerHour: number;
    maxPerDay: number;
    /** "auto": hold messages until the clock is known to be right; "system": always trust it. */
    clock: 'auto' | 'system';
  };
  dispatch: {
    maxAttempts: number;
    retryBaseSeconds: number;
    statusReports: boolean;
    /** At-least-once: after a crash, resend what may or may not have gone out. */
    resendUncertain: boolean;
  };
  optout: {
    keywords: string[];
    contains: string[];
    resubscribe: string[];
    /** Appended to every message, counted in segments and price; "" = none. */
    footer: string;
    /** Sent (inside the window) to a number that just opted out; "" = off. */
    confirmation: string;
  };
  inbound: {
    /** The owner's mobile: non-opt-out replies are forwarded to it by SMS; "" = off. */
    forwardTo: string;
    /** URL that gets every non-opt-out reply as a JSON POST; "" = off. */
    webhook: string;
    reassemblyTimeoutMinutes: number;
    /** SMS forwards to the owner per hour, their own budget beside the customers' (0 = no cap). */
    forwardMaxPerHour: number;
  };
  calls: {
    /** Sent back to a caller (once per number per day, inside the window, uncharged); "" = off. */
    replySms: string;
  };
  /** The first (or only) modem: a `[modem]` table, or the first `[[modem]]` block. */
  modem: ModemConfig;
  /** The `[[modem]]` blocks after the first (a pool of SIMs, issue 19); empty with one modem. */
  extraModems: ModemConfig[];
  /** The SIM's credit (issue 17): how to ask the carrier, and when to warn. */
  sim: {
    /** Ask the carrier by itself (at registration, daily); false: only when the owner asks (a postpaid SIM). */
    checkBalance: boolean;
    /** The carrier's number the balance query goes to; "" = the carrier's default (src/sim/carrier.ts). */
    balanceQueryTo: string;
    /** The query's text; "" = the carrier's default. */
    balanceQueryText: string;
    /** Below this balance (厘) the status warns and the low-balance alert fires. */
    lowBalanceLi: number;
  };
  /** BCM pins of the four LEDs; null = not fitted. */
  leds: { power: number | null; network: number | null; activity: number | null; fault: number | null; gpioChip: string };
  simulator: { sendMs: number };
  security: { loginFailuresAllowed: number; loginLockMinutes: number };
  storage: { dataDir: string };
  /**
   * The SD-card image's own settings, read by its root side, not by the app
   * (which only validates them, so a typo is shown like any other):
   * `unattended_upgrades` lets apt install Debian security updates by itself.
   */
  system: { unattendedUpgrades: boolean };
  /** Alert and forwarding channels (`[[notify]]` blocks); none by default. */
  notify: NotifyChannelConfig[];
}

/** One modem and its SIM (`[modem]`, or one `[[modem]]` block). */
export interface ModemConfig {
  /** Names the SIM on the pages, in events, metrics and the simulator's routes; sim1, sim2 … by default. */
  name: string;
  device: string;
  hat: string;
  /** BCM pin that presses PWRKEY, overriding the HAT profile; null = the profile's. */
  pwrkeyGpio: number | null;
  statusGpio: number | null;
  /** The box's own number (E.164) for the self-test when the SIM does not hold it (AT+CNUM); "" = the SIM's. */
  ownNumber: string;
  /** This SIM's limits, overriding `[schedule]`; null = `[schedule]`'s. */
  maxPerMinute: number | null;
  maxPerHour: number | null;
  maxPerDay: number | null;
}

/** Every modem of the box, the first one first. */
export function modemConfigs(config: Pick<Config, 'modem' | 'extraModems'>): ModemConfig[] {
  return [config.modem, ...config.extraModems];
}

/** A SIM's own limits, or `[schedule]`'s where it has none. */
export function modemLimits(config: Config, modem: ModemConfig): { maxPerMinute: number; maxPerHour: number; maxPerDay: number } {
  return {
    maxPerMinute: modem.maxPerMinute ?? config.schedule.maxPerMinute,
    maxPerHour: modem.maxPerHour ?? config.schedule.maxPerHour,
    maxPerDay: modem.maxPerDay ?? config.schedule.maxPerDay,
  };
}

/** The most modems one box drives: the Pi's UART plus USB modems on a powered hub. */
export const MAX_MODEMS = 8;

export function defaultModemConfig(index = 0): ModemConfig {
  return { name: `sim${index + 1}`, device: 'simulator', hat: 'sim7600', pwrkeyGpio: null, statusGpio: null, ownNumber: '', maxPerMinute: null, maxPerHour: null, maxPerDay: null };
}

export const DEFAULT_ADMIN_PASSWORD = 'smsbox';
export const DEMO_ACCOUNT = { user: 'aaaa', password: 'bbbb' } as const;

export function defaultConfig(): Config {
  return {
    file: null,
    http: { port: 8080, host: '0.0.0.0' },
    admin: { password: DEFAULT_ADMIN_PASSWORD },
    accounts: [
      {
        user: DEMO_ACCOUNT.user,
        password: DEMO_ACCOUNT.password,
        balanceLi: 100_000,
        ignoreQuietHours: false,
      },
    ],
    billing: { pricePerSegmentLi: 100, unlimitedBalanceReply: '9999' },
    sms: { maxSegments: 10, allowInternational: false, duplicateWindowMinutes: 10 },
    schedule: {
      timezone: 'Asia/Shanghai',
      quietHours: parseQuietHours('21:00-09:00'),
      quietHoursText: '21:00-09:00',
      maxPerMinute: 0,
      maxPerHour: 180,
      maxPerDay: 900,
      clock: 'auto',
    },
    dispatch: { maxAttempts: 5, retryBaseSeconds: 30, statusReports: true, resendUncertain: false },
    optout: {
      keywords: [...DEFAULT_RULES.optOut],
      contains: [...DEFAULT_RULES.optOutPhrases],
      resubscribe: [...DEFAULT_RULES.resubscribe],
      footer: '',
      confirmation: '',
    },
    inbound: { forwardTo: '', webhook: '', reassemblyTimeoutMinutes: 60, forwardMaxPerHour: 20 },
    calls: { replySms: '' },
    modem: defaultModemConfig(),
    extraModems: [],
    sim: { checkBalance: true, balanceQueryTo: '', balanceQueryText: '', lowBalanceLi: 10_000 },
    leds: { power: 17, network: 27, activity: 22, fault: 26, gpioChip: '' },
    simulator: { sendMs: 1500 },
    security: { loginFailuresAllowed: 10, loginLockMinutes: 5 },
    storage: { dataDir: './data' },
    // On: an unattended box on a shop's LAN is better patched (image/README.md, "Security updates").
    system: { unattendedUpgrades: true },
    notify: [],
  };
}

/** A config problem a person must fix; says where and what to do, in Chinese and English. */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | null,
    readonly zh: string,
    readonly en: string,
  ) {
    super(`${file}${line === null ? '' : `:${line}`}: ${zh}\n${' '.repeat(file.length)}  ${en}`);
    this.name = 'ConfigError';
  }
}

type Table = Record<string, unknown>;

interface KeySpec {
  /** Reads and validates a value; returns an error text pair or the value. */
  read: (value: unknown) => { ok: true; value: unknown } | { ok: false; zh: string; en: string };
}

const isTable = (v: unknown): v is Table => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);

function integer(min: number, max: number): KeySpec {
  return {
    read: (v) =>
      typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max
        ? { ok: true, value: v }
        : { ok: false, zh: `应为 ${min} 到 ${max} 之间的整数`, en: `must be a whole number from ${min} to ${max}` },
  };
}

function text(opts: { nonEmpty?: boolean; maxLength?: number } = {}): KeySpec {
  return {
    read: (v) => {
      if (typeof v !== 'string') return { ok: false, zh: '应为带引号的文字，例如 "abc"', en: 'must be text in quotes, e.g. "abc"' };
      if (opts.nonEmpty && v.trim() === '') return { ok: false, zh: '不能为空', en: 'must not be empty' };
      if (opts.maxLength && v.length > opts.maxLength)
        return { ok: false, zh: `不能超过 ${opts.maxLength} 个字符`, en: `must be at most ${opts.maxLength} characters` };
      return { ok: true, value: v };
    },
  };
}

function oneOf(values: readonly string[]): KeySpec {
  return {
    read: (v) =>
      typeof v === 'string' && values.includes(v)
        ? { ok: true, value: v }
        : { ok: false, zh: `应为 ${values.map((x) => `"${x}"`).join('、')} 之一`, en: `must be one of ${values.map((x) => `"${x}"`).join(', ')}` },
  };
}

/**
 * A BCM GPIO number on the 40-pin header; -1 = none. Taken: 14 and 15 by the
 * HAT's UART, 3 by the power button (image/overlays/gpio-shutdown.dts).
 */
const RESERVED_PINS = new Set([3, 14, 15]);
const gpioPin: KeySpec = {
  read: (v) =>
    typeof v === 'number' && Number.isInteger(v) && (v === -1 || (v >= 0 && v <= 27 && !RESERVED_PINS.has(v)))
      ? { ok: true, value: v === -1 ? null : v }
      : { ok: false, zh: '应为 BCM 编号 0-27（3 是电源按钮，14、15 是串口），或 -1 表示没有', en: 'must be a BCM number 0-27 (3 is the power button, 14 and 15 the UART), or -1 for none' },
};

const textList: KeySpec = {
  read: (v) =>
    Array.isArray(v) && v.every((x) => typeof x === 'string' && x.trim() !== '')
      ? { ok: true, value: v }
      : { ok: false, zh: '应为文字列表，例如 ["T", "退订"]', en: 'must be a list of texts, e.g. ["T", "退订"]' },
};

const mobileOrEmpty: KeySpec = {
  read: (v) => {
    if (v === '') return { ok: true, value: '' };
    const number = typeof v === 'string' ? normalizeNumber(v, true) : null;
    return number ? { ok: true, value: number } : { ok: false, zh: '应为手机号码，例如 "13800138000"，或 "" 表示不转发', en: 'must be a mobile number, e.g. "13800138000", or "" for none' };
  },
};

/** A carrier's service number (digits only, e.g. "10086"), or "" for the carrier's default. */
function serviceNumberOrEmpty(): KeySpec {
  return {
    read: (v) =>
      v === '' || (typeof v === 'string' && /^\d{3,20}$/.test(v.trim()))
        ? { ok: true, value: typeof v === 'string' ? v.trim() : '' }
        : { ok: false, zh: '应为运营商的号码（只含数字），例如 "10086"，或 "" 表示按运营商默认', en: 'must be the carrier\'s number (digits only), e.g. "10086", or "" for the carrier\'s default' },
  };
}

const urlOrEmpty: KeySpec = {
  read: (v) => {
    if (v === '') return { ok: true, value: '' };
    try {
      const url = new URL(String(v));
      if (url.protocol === 'http:' || url.protocol === 'https:') return { ok: true, value: String(v) };
    } catch {
      // fall through
    }
    return { ok: false, zh: '应为 http:// 或 https:// 开头的网址，或 "" 表示不转发', en: 'must be an http:// or https:// URL, or "" for none' };
  },
};

const boolean: KeySpec = {
  read: (v) => (typeof v === 'boolean' ? { ok: true, value: v } : { ok: false, zh: '应为 true 或 false', en: 'must be true or false' }),
};

const yuan: KeySpec = {
  read: (v) => {
    const li = typeof v === 'number' || typeof v === 'string' ? parseYuan(v) : null;
    return li === null || li < 0
      ? { ok: false, zh: '应为不小于 0 的金额（元），最多三位小数，例如 10.00', en: 'must be an amount in yuan ≥ 0 with at most 3 decimals, e.g. 10.00' }
      : { ok: true, value: li };
  },
};

const timezone: KeySpec = {
  read: (v) => {
    if (typeof v !== 'string') return text().read(v);
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: v });
      return { ok: true, value: v };
    } catch {
      return { ok: false, zh: '不是有效的时区名称，例如 "Asia/Shanghai"', en: 'is not a known time zone, e.g. "Asia/Shanghai"' };
    }
  },
};

const quietHours: KeySpec = {
  read: (v) => {
    if (typeof v !== 'string') return text().read(v);
    if (v.trim() === '') return { ok: true, value: null };
    const parsed = parseQuietHours(v);
    return parsed
      ? { ok: true, value: parsed }
      : { ok: false, zh: '格式应为 "21:00-09:00"（开始-结束），或 "" 表示不限时段', en: 'must look like "21:00-09:00" (start-end), or "" for none' };
  },
};

const SECTIONS: Record<string, Record<string, KeySpec>> = {
  http: { port: integer(1, 65535), host: text({ nonEmpty: true }) },
  admin: { password: text({ nonEmpty: true, maxLength: 200 }) },
  billing: { price_per_segment: yuan, unlimited_balance_reply: text({ nonEmpty: true, maxLength: 20 }) },
  sms: { max_segments: integer(1, 50), allow_international: boolean, duplicate_window_minutes: integer(0, 1440) },
  schedule: {
    timezone,
    quiet_hours: quietHours,
    max_per_minute: integer(0, 100_000),
    max_per_hour: integer(0, 1_000_000),
    max_per_day: integer(0, 10_000_000),
    clock: oneOf(['auto', 'system']),
  },
  dispatch: {
    max_attempts: integer(1, 100),
    retry_base_seconds: integer(1, 86_400),
    status_reports: boolean,
    resend_uncertain: boolean,
  },
  optout: {
    keywords: textList,
    contains: textList,
    resubscribe: textList,
    footer: text({ maxLength: 70 }),
    confirmation: text({ maxLength: 300 }),
  },
  inbound: {
    forward_to: mobileOrEmpty,
    webhook: urlOrEmpty,
    reassembly_timeout_minutes: integer(1, 10_080),
    forward_max_per_hour: integer(0, 10_000),
  },
  calls: { reply_sms: text({ maxLength: 300 }) },
  sim: { check_balance: boolean, balance_query_to: serviceNumberOrEmpty(), balance_query_text: text({ maxLength: 70 }), low_balance_yuan: yuan },
  leds: { power: gpioPin, network: gpioPin, activity: gpioPin, fault: gpioPin, gpio_chip: text() },
  simulator: { send_ms: integer(0, 600_000) },
  security: { login_failures_allowed: integer(1, 1000), login_lock_minutes: integer(1, 1440) },
  storage: { data_dir: text({ nonEmpty: true }) },
  system: { unattended_upgrades: boolean },
};

const ACCOUNT_KEYS: Record<string, KeySpec> = {
  user: {
    read: (v) =>
      typeof v === 'string' && v.startsWith('#')
        ? { ok: false, zh: '用户名不能以 # 开头（保留给本机自己的短信）', en: 'must not start with # (reserved for the box itself)' }
        : text({ nonEmpty: true, maxLength: 64 }).read(v),
  },
  password: text({ nonEmpty: true, maxLength: 200 }),
  balance: yuan,
  ignore_quiet_hours: boolean,
};

const MODEM_NAME = /^[a-z0-9][a-z0-9_-]{0,15}$/;

const MODEM_KEYS: Record<string, KeySpec> = {
  name: {
    read: (v) =>
      typeof v === 'string' && MODEM_NAME.test(v)
        ? { ok: true, value: v }
        : { ok: false, zh: '应为 1-16 个小写字母、数字、- 或 _，例如 "sim2"', en: 'must be 1-16 lowercase letters, digits, - or _, e.g. "sim2"' },
  },
  device: text({ nonEmpty: true }),
  hat: text({ nonEmpty: true }),
  pwrkey_gpio: gpioPin,
  status_gpio: gpioPin,
  own_number: mobileOrEmpty,
  max_per_minute: integer(0, 100_000),
  max_per_hour: integer(0, 1_000_000),
  max_per_day: integer(0, 10_000_000),
};

const NOTIFY_KEYS: Record<string, KeySpec> = {
  kind: oneOf(NOTIFY_CHANNEL_KINDS),
  url: {
    read: (v) => {
      const result = urlOrEmpty.read(v);
      return result.ok && result.value === ''
        ? { ok: false, zh: '不能为空，请填写机器人或服务器的网址', en: 'must not be empty: the robot\'s or the server\'s URL' }
        : result.ok ? result : { ok: false, zh: '应为 http:// 或 https:// 开头的网址', en: 'must be an http:// or https:// URL' };
    },
  },
  to: {
    read: (v) => {
      const number = typeof v === 'string' ? normalizeNumber(v, true) : null;
      return number ? { ok: true, value: number } : { ok: false, zh: '应为手机号码，例如 "13800138000"', en: 'must be a mobile number, e.g. "13800138000"' };
    },
  },
  secret: text({ nonEmpty: true, maxLength: 200 }),
  events: {
    read: (v) => {
      const known = NOTIFY_EVENT_KINDS as readonly string[];
      const list = `${NOTIFY_EVENT_KINDS.map((k) => `"${k}"`).join('、')}`;
      if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'string')) {
        return { ok: false, zh: `应为事件列表，例如 ["fault", "recovered"]，可用的有：${list}`, en: `must be a list of events, e.g. ["fault", "recovered"]; known: ${NOTIFY_EVENT_KINDS.join(', ')}` };
      }
      const unknown = (v as string[]).find((x) => !known.includes(x));
      if (unknown !== undefined) {
        return { ok: false, zh: `中没有 "${unknown}" 这个事件，可用的有：${list}`, en: `has no event "${unknown}"; known: ${NOTIFY_EVENT_KINDS.join(', ')}` };
      }
      return { ok: true, value: [...new Set(v as string[])] };
    },
  },
};

/** Finds the line of `key` inside `[section]` (or the n-th `[[section]]`), for error messages. */
export function locateKey(source: string, section: string | null, key: string | null, arrayIndex = 0): number | null {
  const lines = source.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  const keyPattern = key === null ? null : new RegExp(`^\\s*("${escapeRe(key)}"|${escapeRe(key)})\\s*=`);
  let inTarget = section === null; // top-level keys come before the first header
  let arrayCount = -1;
  let sectionLine: number | null = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const header = /^\s*\[(\[)?\s*([^\]]+?)\s*\]/.exec(line);
    if (header) {
      const isArray = header[1] !== undefined;
      if (header[2] === section) {
        if (isArray) arrayCount++;
        inTarget = !isArray || arrayCount === arrayIndex;
        if (inTarget) sectionLine = i + 1;
      } else {
        inTarget = false;
      }
      continue;
    }
    if (inTarget && keyPattern?.test(line)) return i + 1;
  }
  return sectionLine;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Parses config text; `file` is used in messages only. Throws ConfigError. */
export function parseConfig(source: string, file: string): Config {
  let doc: Table;
  try {
    doc = parse(source) as Table;
  } catch (err) {
    if (err instanceof TomlError) {
      const reason = err.message.split('\n')[0]!.replace(/^Invalid TOML document: /, '');
      throw new ConfigError(
        file,
        err.line,
        `第 ${err.line} 行第 ${err.column} 列格式错误（${reason}）。请检查引号、等号和方括号，文字要用英文双引号 "..." 括起来。`,
        `line ${err.line}, column ${err.column}: ${reason}. Check quotes, "=" and brackets; text must be in straight double quotes "...".`,
      );
    }
    throw err;
  }

  const config = defaultConfig();
  config.file = file;
  const fail = (section: string | null, key: string | null, zh: string, en: string, index = 0): never => {
    throw new ConfigError(file, locateKey(source, section, key, index), zh, en);
  };

  for (const [name, value] of Object.entries(doc)) {
    if (name === 'account' || name === 'notify' || name === 'modem') continue;
    const spec = SECTIONS[name];
    if (!spec) {
      fail(name, null, `未知的配置段 [${name}]，可用的有：${[...Object.keys(SECTIONS), 'modem', 'account', 'notify'].join('、')}`, `unknown section [${name}]; known: ${[...Object.keys(SECTIONS), 'modem', 'account', 'notify'].join(', ')}`);
    }
    if (!isTable(value)) fail(null, name, `${name} 应为配置段 [${name}]`, `${name} must be a section [${name}]`);
    const values = readSection(value as Table, spec!, name, fail);
    applySection(config, name, values);
  }

  if ('account' in doc) {
    const list = doc['account'];
    if (!Array.isArray(list)) {
      fail(null, 'account', '账号要写成 [[account]]（两层方括号），每个账号一段', 'accounts are written as [[account]] (double brackets), one block each');
    }
    const seen = new Set<string>();
    config.accounts = (list as unknown[]).map((entry, index) => {
      if (!isTable(entry)) return fail('account', null, '[[account]] 格式错误', 'malformed [[account]]', index);
      const values = readSection(entry, ACCOUNT_KEYS, 'account', (s, k, zh, en) => fail(s, k, zh, en, index));
      for (const required of ['user', 'password'] as const) {
        if (values[required] === undefined) {
          fail('account', null, `第 ${index + 1} 个 [[account]] 缺少 ${required}`, `[[account]] number ${index + 1} has no ${required}`, index);
        }
      }
      const user = values['user'] as string;
      if (seen.has(user)) fail('account', 'user', `账号 "${user}" 重复`, `account "${user}" is listed twice`, index);
      seen.add(user);
      return {
        user,
        password: values['password'] as string,
        balanceLi: values['balance'] === undefined ? null : (values['balance'] as number),
        ignoreQuietHours: (values['ignore_quiet_hours'] as boolean | undefined) ?? false,
      };
    });
  }
  if ('notify' in doc) config.notify = readNotifyBlocks(doc['notify'], fail);
  if ('modem' in doc) {
    const [first, ...rest] = readModemBlocks(doc['modem'], fail);
    config.modem = first!;
    config.extraModems = rest;
  }
  const pins = new Map<number, string>();
  const modemPins = modemConfigs(config).flatMap((m, index) => {
    const where = config.extraModems.length === 0 ? '[modem]' : `[[modem]] ${m.name}`;
    return [[`${where} pwrkey_gpio`, m.pwrkeyGpio, index], [`${where} status_gpio`, m.statusGpio, index]] as const;
  });
  for (const [name, pin, index] of [
    ['[leds] power', config.leds.power, 0], ['[leds] network', config.leds.network, 0], ['[leds] activity', config.leds.activity, 0],
    ['[leds] fault', config.leds.fault, 0], ...modemPins,
  ] as const) {
    if (pin === null) continue;
    const other = pins.get(pin);
    if (other) {
      const section = name.startsWith('[leds]') ? 'leds' : 'modem';
      const key = name.slice(name.lastIndexOf(' ') + 1);
      fail(section, key, `${name} 与 ${other} 用了同一个引脚 GPIO ${pin}`, `${name} uses GPIO ${pin}, already used by ${other}`, index);
    }
    pins.set(pin, name);
  }
  return config;
}

/**
 * `[modem]` (one modem) or `[[modem]]` blocks (a pool of SIMs). Names and
 * devices must differ: they name the SIM everywhere, and two drivers on one
 * serial port would corrupt each other's commands. Several `simulator`
 * devices are several virtual HATs.
 */
function readModemBlocks(value: unknown, fail: Fail): ModemConfig[] {
  const blocks = Array.isArray(value) ? (value as unknown[]) : [value];
  if (blocks.length === 0) fail(null, 'modem', '[[modem]] 至少要有一段', 'at least one [[modem]] block is needed');
  if (blocks.length > MAX_MODEMS) {
    fail('modem', null, `最多 ${MAX_MODEMS} 个 [[modem]]`, `at most ${MAX_MODEMS} [[modem]] blocks`, MAX_MODEMS);
  }
  const names = new Set<string>();
  const devices = new Set<string>();
  return blocks.map((entry, index) => {
    if (!isTable(entry)) return fail('modem', null, '[[modem]] 格式错误', 'malformed [[modem]]', index);
    const v = readSection(entry, MODEM_KEYS, 'modem', (s, k, zh, en) => fail(s, k, zh, en, index));
    const modem = defaultModemConfig(index);
    if (v['name'] !== undefined) modem.name = v['name'] as string;
    if (v['device'] !== undefined) modem.device = v['device'] as string;
    if (v['hat'] !== undefined) modem.hat = v['hat'] as string;
    if (v['pwrkey_gpio'] !== undefined) modem.pwrkeyGpio = v['pwrkey_gpio'] as number | null;
    if (v['status_gpio'] !== undefined) modem.statusGpio = v['status_gpio'] as number | null;
    if (v['own_number'] !== undefined) modem.ownNumber = v['own_number'] as string;
    if (v['max_per_minute'] !== undefined) modem.maxPerMinute = v['max_per_minute'] as number;
    if (v['max_per_hour'] !== undefined) modem.maxPerHour = v['max_per_hour'] as number;
    if (v['max_per_day'] !== undefined) modem.maxPerDay = v['max_per_day'] as number;
    if (names.has(modem.name)) fail('modem', 'name', `[[modem]] 名称 "${modem.name}" 重复`, `[[modem]] name "${modem.name}" is used twice`, index);
    names.add(modem.name);
    if (modem.device !== 'simulator') {
      if (devices.has(modem.device)) {
        fail('modem', 'device', `[[modem]] 设备 ${modem.device} 重复：一个串口只能接一个短信模块`, `[[modem]] device ${modem.device} is listed twice: one serial port drives one modem`, index);
      }
      devices.add(modem.device);
    }
    return modem;
  });
}

type Fail = (section: string | null, key: string | null, zh: string, en: string, index?: number) => never;

/** The `[[notify]]` blocks: each key checked alone, then what depends on `kind`. */
function readNotifyBlocks(list: unknown, fail: Fail): NotifyChannelConfig[] {
  if (!Array.isArray(list)) {
    fail(null, 'notify', '通知渠道要写成 [[notify]]（两层方括号），每个渠道一段', 'notification channels are written as [[notify]] (double brackets), one block each');
  }
  const seen = new Set<string>();
  return (list as unknown[]).map((entry, index) => {
    const at = (key: string | null, zh: string, en: string): never => fail('notify', key, zh, en, index);
    if (!isTable(entry)) return at(null, '[[notify]] 格式错误', 'malformed [[notify]]');
    const values = readSection(entry, NOTIFY_KEYS, 'notify', (s, k, zh, en) => fail(s, k, zh, en, index));
    const n = index + 1;
    const kind = values['kind'] as NotifyChannelKind | undefined;
    if (kind === undefined) {
      return at(null, `第 ${n} 个 [[notify]] 缺少 kind（${NOTIFY_CHANNEL_KINDS.map((k) => `"${k}"`).join('、')} 之一）`, `[[notify]] number ${n} has no kind (one of ${NOTIFY_CHANNEL_KINDS.map((k) => `"${k}"`).join(', ')})`);
    }
    const url = (values['url'] as string | undefined) ?? '';
    const to = (values['to'] as string | undefined) ?? '';
    const secret = (values['secret'] as string | undefined) ?? '';
    if (kind === 'sms') {
      if (url !== '') at('url', '[[notify]] kind = "sms" 用 to 填写店主手机号，不用 url', '[[notify]] kind = "sms" takes the owner\'s mobile in to, not a url');
      if (to === '') at(null, `第 ${n} 个 [[notify]]（短信）缺少 to，请填写店主手机号，例如 to = "13800138000"`, `[[notify]] number ${n} (sms) has no to: the owner's mobile, e.g. to = "13800138000"`);
    } else {
      if (to !== '') at('to', `[[notify]] to 只用于 kind = "sms"；${kind} 请填写 url`, `[[notify]] to is only for kind = "sms"; ${kind} takes a url`);
      if (url === '') at(null, `第 ${n} 个 [[notify]]（${kind}）缺少 url，请填写机器人的 Webhook 地址`, `[[notify]] number ${n} (${kind}) has no url: the robot's webhook address`);
    }
    if (secret !== '' && !SIGNED_CHANNEL_KINDS.includes(kind)) {
      at('secret', kind === 'wecom'
        ? '[[notify]] 企业微信群机器人没有签名，密钥就是 url 里的 key；请删除 secret'
        : '[[notify]] 短信通知不需要 secret，请删除',
      kind === 'wecom'
        ? '[[notify]] WeCom group robots have no signature (the key in the url is the secret); remove secret'
        : '[[notify]] sms channels take no secret; remove it');
    }
    const identity = `${kind}\n${kind === 'sms' ? to : url}`;
    if (seen.has(identity)) {
      at(kind === 'sms' ? 'to' : 'url', `[[notify]] 这个渠道重复了（${kind}，${kind === 'sms' ? to : '同一网址'}）`, `[[notify]] this channel is listed twice (${kind}, ${kind === 'sms' ? to : 'the same url'})`);
    }
    seen.add(identity);
    return {
      kind,
      url,
      to,
      secret,
      events: (values['events'] as NotifyEventKind[] | undefined) ?? [...DEFAULT_NOTIFY_EVENTS],
    };
  });
}

function readSection(
  table: Table,
  spec: Record<string, KeySpec>,
  section: string,
  fail: (section: string | null, key: string | null, zh: string, en: string) => never,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(table)) {
    const keySpec = spec[key];
    if (!keySpec) {
      fail(section, key, `[${section}] 中没有 ${key} 这一项，可用的有：${Object.keys(spec).join('、')}`, `[${section}] has no key "${key}"; known: ${Object.keys(spec).join(', ')}`);
    }
    const result = keySpec!.read(value);
    if (!result.ok) fail(section, key, `[${section}] ${key} ${result.zh}`, `[${section}] ${key} ${result.en}`);
    else out[key] = result.value;
  }
  return out;
}

function applySection(config: Config, name: string, v: Record<string, unknown>): void {
  const set = <T>(value: unknown, apply: (x: T) => void) => {
    if (value !== undefined) apply(value as T);
  };
  switch (name) {
    case 'http':
      set<number>(v['port'], (x) => (config.http.port = x));
      set<string>(v['host'], (x) => (config.http.host = x));
      break;
    case 'admin':
      set<string>(v['password'], (x) => (config.admin.password = x));
      break;
    case 'billing':
      set<number>(v['price_per_segment'], (x) => (config.billing.pricePerSegmentLi = x));
      set<string>(v['unlimited_balance_reply'], (x) => (config.billing.unlimitedBalanceReply = x));
      break;
    case 'sms':
      set<number>(v['max_segments'], (x) => (config.sms.maxSegments = x));
      set<boolean>(v['allow_international'], (x) => (config.sms.allowInternational = x));
      set<number>(v['duplicate_window_minutes'], (x) => (config.sms.duplicateWindowMinutes = x));
      break;
    case 'schedule':
      set<string>(v['timezone'], (x) => (config.schedule.timezone = x));
      if (v['quiet_hours'] !== undefined) {
        config.schedule.quietHours = v['quiet_hours'] as QuietHours | null;
        config.schedule.quietHoursText = config.schedule.quietHours ? config.schedule.quietHours.text : '';
      }
      set<number>(v['max_per_minute'], (x) => (config.schedule.maxPerMinute = x));
      set<number>(v['max_per_hour'], (x) => (config.schedule.maxPerHour = x));
      set<number>(v['max_per_day'], (x) => (config.schedule.maxPerDay = x));
      set<'auto' | 'system'>(v['clock'], (x) => (config.schedule.clock = x));
      break;
    case 'dispatch':
      set<number>(v['max_attempts'], (x) => (config.dispatch.maxAttempts = x));
      set<number>(v['retry_base_seconds'], (x) => (config.dispatch.retryBaseSeconds = x));
      set<boolean>(v['status_reports'], (x) => (config.dispatch.statusReports = x));
      set<boolean>(v['resend_uncertain'], (x) => (config.dispatch.resendUncertain = x));
      break;
    case 'optout':
      set<string[]>(v['keywords'], (x) => (config.optout.keywords = x));
      set<string[]>(v['contains'], (x) => (config.optout.contains = x));
      set<string[]>(v['resubscribe'], (x) => (config.optout.resubscribe = x));
      set<string>(v['footer'], (x) => (config.optout.footer = x));
      set<string>(v['confirmation'], (x) => (config.optout.confirmation = x));
      break;
    case 'inbound':
      set<string>(v['forward_to'], (x) => (config.inbound.forwardTo = x));
      set<string>(v['webhook'], (x) => (config.inbound.webhook = x));
      set<number>(v['reassembly_timeout_minutes'], (x) => (config.inbound.reassemblyTimeoutMinutes = x));
      set<number>(v['forward_max_per_hour'], (x) => (config.inbound.forwardMaxPerHour = x));
      break;
    case 'calls':
      set<string>(v['reply_sms'], (x) => (config.calls.replySms = x));
      break;
    case 'sim':
      set<boolean>(v['check_balance'], (x) => (config.sim.checkBalance = x));
      set<string>(v['balance_query_to'], (x) => (config.sim.balanceQueryTo = x));
      set<string>(v['balance_query_text'], (x) => (config.sim.balanceQueryText = x));
      set<number>(v['low_balance_yuan'], (x) => (config.sim.lowBalanceLi = x));
      break;
    case 'leds':
      for (const led of ['power', 'network', 'activity', 'fault'] as const) {
        if (v[led] !== undefined) config.leds[led] = v[led] as number | null;
      }
      set<string>(v['gpio_chip'], (x) => (config.leds.gpioChip = x));
      break;
    case 'simulator':
      set<number>(v['send_ms'], (x) => (config.simulator.sendMs = x));
      break;
    case 'security':
      set<number>(v['login_failures_allowed'], (x) => (config.security.loginFailuresAllowed = x));
      set<number>(v['login_lock_minutes'], (x) => (config.security.loginLockMinutes = x));
      break;
    case 'storage':
      set<string>(v['data_dir'], (x) => (config.storage.dataDir = x));
      break;
    case 'system':
      set<boolean>(v['unattended_upgrades'], (x) => (config.system.unattendedUpgrades = x));
      break;
  }
}

/** Reads and parses a config file; a missing or unreadable file is a ConfigError too. */
export function loadConfig(file: string): Config {
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(
      file,
      null,
      code === 'ENOENT' ? '找不到配置文件，请检查路径。' : `无法读取配置文件（${code ?? String(err)}）。`,
      code === 'ENOENT' ? 'config file not found; check the path.' : `cannot read the config file (${code ?? String(err)}).`,
    );
  }
  return parseConfig(source, file);
}

/** What the box runs on when the config file has a mistake. */
export interface ConfigFallback {
  config: Config;
  /** The mistake, or null when the file was fine. */
  error: ConfigError | null;
  /** 'file': the file itself; 'last-good': the last copy that loaded; 'defaults': built-in defaults. */
  source: 'file' | 'last-good' | 'defaults';
}

/**
 * Loads the owner's file; a mistake in it must not leave the shop without
 * SMS (on the Pi nobody sees the console), so the box then runs on the last
 * copy that loaded (kept at `lastGoodFile`), else on the built-in defaults,
 * and shows the mistake on the status page until it is fixed. A file that
 * loads is copied to `lastGoodFile`.
 */
export function loadConfigWithFallback(file: string, lastGoodFile: (config: Config | null) => string): ConfigFallback {
  try {
    const config = loadConfig(file);
    try {
      const target = lastGoodFile(config);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, readFileSync(file));
    } catch {
      // A read-only data folder must not stop the box; the fallback is only a convenience.
    }
    return { config, error: null, source: 'file' };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const lastGood = lastGoodFile(null);
    try {
      const config = parseConfig(readFileSync(lastGood, 'utf8'), lastGood);
      // Edits from the settings page still go to the owner's file.
      config.file = file;
      return { config, error: err, source: 'last-good' };
    } catch {
      const config = defaultConfig();
      config.file = file;
      return { config, error: err, source: 'defaults' };
    }
  }
}
