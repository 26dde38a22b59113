import { clockText, cutChars, KIND_TITLES, type BoxIdentity, type Outgoing } from '../message.js';

/**
 * An SMS to the owner's mobile: plain text, short (every 67 Chinese characters
 * is another segment on the shop's SIM), with the box's name and URL. It goes
 * through the box's own outbox, so it waits for the sending window like any
 * message.
 */

export const SMS_MAX_CHARS = 200;

export function smsText(message: Outgoing, box: BoxIdentity, timeZone: string): string {
  const title = KIND_TITLES[message.kind].zh;
  const count = message.events.length + message.more;
  const text = count > 1
    ? `${title} ${count} 条：${message.events.map((e) => e.zh).join('；')}${message.more ? `；另有 ${message.more} 条` : ''}`
    : message.zh.startsWith(title) ? message.zh : `${title}：${message.zh}`;
  const head = `【${box.name}】`;
  const tail = ` ${clockText(message.at, timeZone).slice(5)} ${box.url}`;
  return `${head}${cutChars(text, Math.max(20, SMS_MAX_CHARS - [...head].length - [...tail].length))}${tail}`;
}
