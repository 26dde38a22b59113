import { isoInZone, localTime } from '../scheduler/tz.js';
import type { NotifyEventKind } from './kinds.js';
import type { Alert, NotifyEvent } from './storm.js';

/**
 * What every platform's message says, before it is put in that platform's
 * JSON: a title naming the box, the text, when, and the status page's URL.
 * The texts are Chinese (the owner's group chat); our own webhook JSON also
 * carries the English ones.
 */

/** The box as the owner knows it: its name and the URL of its status page. */
export interface BoxIdentity {
  name: string;
  url: string;
}

/** A message to deliver: an alert the storm machine decided on, or a test (发送测试). */
export type Outgoing = Omit<Alert, 'kind'> & { kind: NotifyEventKind | 'test' };

export const KIND_TITLES: Record<NotifyEventKind | 'test', { zh: string; en: string }> = {
  fault: { zh: '故障', en: 'Fault' },
  recovered: { zh: '已恢复', en: 'Resolved' },
  stuck: { zh: '发送停滞', en: 'Sending stuck' },
  'low-balance': { zh: '话费不足', en: 'Low SIM credit' },
  'carrier-blocked': { zh: '运营商拦截', en: 'Blocked by the carrier' },
  call: { zh: '来电', en: 'Call' },
  reply: { zh: '顾客回复', en: 'Customer reply' },
  optout: { zh: '退订', en: 'Opt-out' },
  daily: { zh: '每日汇总', en: 'Daily summary' },
  'config-error': { zh: '配置文件有误', en: 'Config error' },
  selftest: { zh: '自检', en: 'Self-test' },
  test: { zh: '测试消息', en: 'Test message' },
};

/** The product name is in every title: a robot set to 自定义关键词 can take `smsbox` as its keyword. */
export const PRODUCT = 'smsbox';

export function titleOf(message: Outgoing, box: BoxIdentity): { zh: string; en: string } {
  const kind = KIND_TITLES[message.kind];
  const zh = message.reminder ? `${kind.zh}仍未恢复` : kind.zh;
  const en = message.reminder ? `${kind.en}, still` : kind.en;
  return { zh: `【${zh}】${PRODUCT} · ${box.name}`, en: `[${en}] ${PRODUCT} · ${box.name}` };
}

/** `2026-12-01 10:02` in the box's time zone. */
export function clockText(ms: number, timeZone: string): string {
  const t = localTime(ms, timeZone);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${t.year}-${pad(t.month)}-${pad(t.day)} ${pad(t.hour)}:${pad(t.minute)}`;
}

export function isoText(ms: number, timeZone: string): string {
  return isoInZone(ms, timeZone);
}

/**
 * Text from outside (a customer's reply, a caller's number) inside markdown:
 * the characters markdown or the robots give meaning to become their
 * full-width forms, so a reply cannot add links, images, headings or
 * `<@userid>` mentions to the owner's group, on any of the platforms (not all
 * of them honour backslash escapes). Line breaks become " / ".
 */
export function markdownSafe(text: string): string {
  return text
    .replace(/\r\n|\r|\n/g, ' / ')
    .replace(/[\\`*_[\]()<>#!|~{}]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));
}

/** The lines of the message body, plain text, newest information first. */
export interface MessageBody {
  /** The main sentence. */
  text: string;
  /** One line per event for a digest ("10:02 …"); empty for a single event. */
  items: string[];
  /** Events not listed. */
  more: number;
  /** "时间：…", "开始于：…". */
  facts: string[];
}

export function bodyOf(message: Outgoing, timeZone: string): MessageBody {
  const facts = [`时间：${clockText(message.at, timeZone)}`];
  if (message.since !== null && message.kind !== 'test') facts.push(`开始于：${clockText(message.since, timeZone)}`);
  const digest = message.events.length > 1 || message.more > 0;
  if (!digest) return { text: message.zh, items: [], more: 0, facts };
  return {
    text: `${KIND_TITLES[message.kind].zh}：${message.events.length + message.more} 条（10 分钟内合并发送）`,
    items: message.events.map((e: NotifyEvent) => `${clockText(e.at, timeZone).slice(11)} ${e.zh}`),
    more: message.more,
    facts,
  };
}

export function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Cuts text to at most `max` characters, marking the cut, never splitting a surrogate pair. */
export function cutChars(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

/**
 * Builds "head, items…, tail" within `maxBytes` of UTF-8: items that do not fit
 * are left out and counted in a last line, so a long digest stays inside a
 * platform's limit and still says how much there was.
 */
export function fitItems(head: string, items: string[], more: number, tail: string, maxBytes: number, renderItem: (item: string) => string, renderMore: (n: number) => string, join = '\n'): string {
  let used = utf8Length(head) + utf8Length(tail) + utf8Length(renderMore(items.length + more)) + 3 * utf8Length(join);
  const kept: string[] = [];
  for (const item of items) {
    const line = renderItem(item);
    const size = utf8Length(line) + utf8Length(join);
    if (used + size > maxBytes) break;
    kept.push(line);
    used += size;
  }
  const left = items.length - kept.length + more;
  return [head, ...kept, ...(left > 0 ? [renderMore(left)] : []), tail].filter((part) => part !== '').join(join);
}
