import { ConfigError, type Config } from '../config/config.js';
import { saveConfigEdits, type ConfigEdit } from '../config/write.js';
import { parseYuan } from '../money.js';
import type { OperationsContext } from './context.js';
import { refuseFactoryPassword } from './credentials.js';
import { done, refuse, type Outcome, type Refusal } from './outcome.js';

/**
 * Settings changes: each one edits the config file the box was started with
 * (only the edited values change; comments, BOM and CRLF stay), is validated
 * by the same parser as at start, written atomically and applied without a
 * restart. An invalid value is refused with the parser's message and the file
 * is left as it was.
 */

export type SettingsRefusalCode = 'no-config-file' | 'invalid-value' | 'invalid-config' | 'write-failed' | 'factory-password';

/** An admin password shorter than this is refused. */
export const MIN_ADMIN_PASSWORD_LENGTH = 6;

const invalid = (zh: string, en: string): Refusal<'invalid-value'> => refuse('invalid-value', zh, en, 400);

/** A whole number given as text (a form field) or a number; NaN otherwise. */
function wholeNumber(value: string | number): number {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? value : Number.NaN;
  const text = value.trim();
  return /^\d{1,9}$/.test(text) ? Number(text) : Number.NaN;
}

/** A list typed as text: separated by commas (ASCII or full-width) or lines. */
function listOf(value: string | readonly string[]): string[] {
  const items = typeof value === 'string' ? value.split(/[,，\n\r]+/) : value;
  return items.map((s) => s.trim()).filter(Boolean);
}

export class Settings {
  constructor(private readonly ctx: OperationsContext) {}

  /** Whether settings can be saved at all: a box on the built-in defaults has no file to write. */
  get writable(): boolean {
    return this.ctx.config().file !== null;
  }

  /** Quiet hours ("21:00-09:00", "" = none) and the sending limits (0 = no limit). */
  changeSchedule(input: { quietHours: string; maxPerMinute: string | number; maxPerHour: string | number; maxPerDay: string | number }): Outcome<Config, SettingsRefusalCode> {
    const limits = ([['max_per_minute', input.maxPerMinute], ['max_per_hour', input.maxPerHour], ['max_per_day', input.maxPerDay]] as const)
      .map(([key, value]) => [key, wholeNumber(value)] as const);
    const bad = limits.find(([, value]) => Number.isNaN(value));
    if (bad) return invalid(`${bad[0]} 应为整数（0 表示不限）`, `${bad[0]} must be a whole number (0 = no limit)`);
    return this.save([
      { section: 'schedule', key: 'quiet_hours', value: input.quietHours.trim() },
      ...limits.map(([key, value]) => ({ section: 'schedule', key, value })),
    ]);
  }

  /** Opt-out keywords, the footer added to every message, and the confirmation SMS ("" = none). */
  changeOptOutRules(input: { keywords: string | readonly string[]; footer: string; confirmation: string }): Outcome<Config, SettingsRefusalCode> {
    return this.save([
      { section: 'optout', key: 'keywords', value: listOf(input.keywords) },
      { section: 'optout', key: 'footer', value: input.footer },
      { section: 'optout', key: 'confirmation', value: input.confirmation },
    ]);
  }

  /** The admin password, typed twice. Every other browser session ends (the caller's web layer does that). */
  changeAdminPassword(input: { password: string; confirm: string }): Outcome<Config, SettingsRefusalCode> {
    const { password } = input;
    if (password.length < MIN_ADMIN_PASSWORD_LENGTH) {
      return invalid(`新密码至少 ${MIN_ADMIN_PASSWORD_LENGTH} 个字符`, `the new password needs at least ${MIN_ADMIN_PASSWORD_LENGTH} characters`);
    }
    if (password !== input.confirm) return invalid('两次输入的密码不一致', 'the two passwords differ');
    const factory = refuseFactoryPassword(this.ctx.config(), password, 'admin');
    if (factory) return factory;
    return this.save([{ section: 'admin', key: 'password', value: password }]);
  }

  /** A new [[account]]; `balance` in yuan, empty = unlimited. */
  addAccount(input: { user: string; password: string; balance?: string | null; ignoreQuietHours?: boolean }): Outcome<Config, SettingsRefusalCode> {
    const config = this.ctx.config();
    const user = input.user.trim();
    const { password } = input;
    if (!user || !password) return invalid('请填写用户名和密码', 'enter a user name and a password');
    if (config.accounts.some((a) => a.user === user)) return invalid(`账号 ${user} 已存在`, `account ${user} exists already`);
    const balance = (input.balance ?? '').trim();
    if (balance !== '' && parseYuan(balance) === null) return invalid('余额应为金额（元），留空表示不限', 'the balance must be an amount in yuan; empty = unlimited');
    const factory = refuseFactoryPassword(config, password, 'account');
    if (factory) return factory;
    return this.save([{ addAccount: { user, password, ...(balance ? { balance } : {}), ignoreQuietHours: input.ignoreQuietHours === true } }]);
  }

  /** A new password for an account of the config (管家助理 must then use it too). */
  changeAccountPassword(input: { user: string; password: string }): Outcome<Config, SettingsRefusalCode> {
    const config = this.ctx.config();
    const index = config.accounts.findIndex((a) => a.user === input.user);
    if (index === -1) return invalid('没有这个账号', 'no such account');
    if (!input.password) return invalid('请填写新密码', 'enter the new password');
    const factory = refuseFactoryPassword(config, input.password, 'account');
    if (factory) return factory;
    return this.save([{ section: 'account', key: 'password', value: input.password, index }]);
  }

  /** edits → file → parseConfig → applyConfig, or the reason nothing changed. */
  private save(edits: readonly ConfigEdit[]): Outcome<Config, SettingsRefusalCode> {
    const { ctx } = this;
    const file = ctx.config().file;
    if (!file) {
      return refuse('no-config-file',
        '本机正在使用内置默认设置，没有配置文件可写：请用 smsbox serve --config 文件 启动。',
        'the box runs on built-in defaults and has no config file to write: start it with smsbox serve --config FILE.', 409);
    }
    let next: Config;
    try {
      next = saveConfigEdits(file, edits);
    } catch (err) {
      if (err instanceof ConfigError) return refuse('invalid-config', `未保存：${err.zh}`, `not saved: ${err.en}`, 400);
      ctx.log.error('cannot write the config file', { file, error: String(err) });
      return refuse('write-failed', `未保存：配置文件无法写入（${String(err)}）`, `not saved: the config file cannot be written (${String(err)})`, 500);
    }
    ctx.applyConfig?.(next);
    return done(next);
  }
}
