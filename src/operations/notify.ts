import { DEFAULT_NOTIFY_EVENTS, NOTIFY_CHANNEL_KINDS, NOTIFY_EVENT_KINDS, type NotifyChannelKind, type NotifyEventKind } from '../notify/kinds.js';
import { channelId, type ChannelListing, type TestResult } from '../notify/notifier.js';
import { recordEvent, type OperationsContext } from './context.js';
import { done, refuse, type Outcome } from './outcome.js';
import type { Settings, SettingsRefusalCode } from './settings.js';

/**
 * The owner's notification channels (issue 18 item 5), for the settings page
 * and the JSON API alike: list them with their last delivery, 发送测试, and
 * add or remove a `[[notify]]` block of the config file (written like every
 * setting: comments, BOM and CRLF kept, validated by the parser first).
 */

/** What the operations need of the running notifier (src/notify/notifier.ts). */
export interface NotifierPort {
  list(): ChannelListing[];
  apiJson(): { channels: unknown[] };
  test(id: string): Promise<TestResult | null>;
}

export type NotifyRefusalCode = 'no-channel' | 'invalid-value' | SettingsRefusalCode;

export interface NewChannel {
  kind: string;
  url?: string | null;
  to?: string | null;
  secret?: string | null;
  /** Event kinds (a form's checkboxes, or a list); absent = the default (all but reply and optout). */
  events?: readonly string[] | null;
}

const noChannel = () => refuse('no-channel', '没有这个通知渠道（可能已被删除），请刷新页面', 'no such notification channel (it may have been removed); reload the page', 404);

export class Notifications {
  constructor(
    private readonly ctx: OperationsContext,
    private readonly settings: Settings,
  ) {}

  /** The channels of the config, with where they deliver (masked), what they take and their last delivery. */
  list(): ChannelListing[] {
    return this.ctx.notifier?.list() ?? [];
  }

  /** `GET /api/notify`: `{channels: [{id, kind, target, signed, events, last: {at, ok, kind, error, answer} | null, pending, failed}]}`. */
  apiJson(): { channels: unknown[] } {
    return this.ctx.notifier?.apiJson() ?? { channels: [] };
  }

  /** 发送测试: posts a test message now and returns the platform's answer (DingTalk's errcode and errmsg …). */
  async test(id: string): Promise<Outcome<TestResult, 'no-channel'>> {
    const result = await this.ctx.notifier?.test(id);
    if (!result) return noChannel();
    recordEvent(this.ctx, result.ok ? 'info' : 'warn', 'notify-test',
      `通知渠道测试${result.ok ? '成功' : `失败：${result.message}`}`,
      `notification channel test ${result.ok ? 'succeeded' : `failed: ${result.message}`}`,
      { channel: id, status: result.status, code: result.code });
    return done(result);
  }

  /** Appends a `[[notify]]` block; the new channel's id. */
  add(input: NewChannel): Outcome<{ id: string }, NotifyRefusalCode> {
    const kind = input.kind.trim() as NotifyChannelKind;
    if (!(NOTIFY_CHANNEL_KINDS as readonly string[]).includes(kind)) {
      return refuse('invalid-value', `渠道类型应为 ${NOTIFY_CHANNEL_KINDS.join('、')} 之一`, `the kind must be one of ${NOTIFY_CHANNEL_KINDS.join(', ')}`, 400);
    }
    const events = input.events ? [...new Set(input.events.map((e) => e.trim()).filter(Boolean))] : [...DEFAULT_NOTIFY_EVENTS];
    const unknown = events.filter((e) => !(NOTIFY_EVENT_KINDS as readonly string[]).includes(e));
    if (unknown.length > 0) return refuse('invalid-value', `未知的事件：${unknown.join('、')}`, `unknown events: ${unknown.join(', ')}`, 400);
    if (events.length === 0) return refuse('invalid-value', '请至少选择一种要通知的事件', 'choose at least one event to be told about', 400);
    const url = (input.url ?? '').trim();
    const to = (input.to ?? '').trim();
    const secret = (input.secret ?? '').trim();
    // Order as in the list of kinds, so the file reads the same whichever way the boxes were ticked.
    const ordered = NOTIFY_EVENT_KINDS.filter((e) => events.includes(e));
    const saved = this.settings.save([{
      addNotify: { kind, ...(kind === 'sms' ? { to } : { url }), ...(secret ? { secret } : {}), events: ordered },
    }]);
    if (!saved.ok) return saved;
    const added = saved.value.notify[saved.value.notify.length - 1]!;
    recordEvent(this.ctx, 'info', 'notify-added', `已添加通知渠道（${kind}）`, `notification channel added (${kind})`, { channel: channelId(added) });
    return done({ id: channelId(added) });
  }

  /** Removes the channel's `[[notify]]` block; what waits for it is dropped (and says so). */
  remove(id: string): Outcome<{ id: string }, NotifyRefusalCode> {
    const index = this.ctx.config().notify.findIndex((c) => channelId(c) === id);
    if (index === -1) return noChannel();
    const kind = this.ctx.config().notify[index]!.kind;
    const saved = this.settings.save([{ removeNotify: index }]);
    if (!saved.ok) return saved;
    recordEvent(this.ctx, 'info', 'notify-removed', `已删除通知渠道（${kind}）`, `notification channel removed (${kind})`, { channel: id });
    return done({ id });
  }
}

/** The event kinds' names as the settings page shows them. */
export const EVENT_NAMES: Record<NotifyEventKind, [string, string]> = {
  fault: ['故障', 'fault'],
  recovered: ['恢复', 'recovered'],
  stuck: ['发送停滞', 'sending stuck'],
  'low-balance': ['话费不足', 'low SIM credit'],
  'carrier-blocked': ['运营商拦截', 'blocked by the carrier'],
  call: ['来电', 'call'],
  reply: ['顾客回复', 'customer reply'],
  optout: ['退订', 'opt-out'],
  daily: ['每日汇总', 'daily summary'],
  'config-error': ['配置文件有误', 'config error'],
  selftest: ['自检', 'self-test'],
};
