import { bodyOf, clockText, cutChars, KIND_TITLES, type BoxIdentity, type Outgoing } from '../message.js';

/**
 * An SMS to the owner's mobile: plain text, short (every 67 Chinese characters
 * is another segment on the shop's SIM), with the box's name and URL. It goes
 * through the box's own outbox, so it waits for the sending window like any
 * message.
 */

export const SMS_MAX_CHARS = 200;

export function smsText(message: Outgoing, box: BoxIdentity, timeZone: string): string {
  const body = bodyOf(message, timeZone);
  const title = KIND_TITLES[message.kind].zh + (message.reminder ? '仍未恢复' : '');
  const time = clockText(message.at, timeZone).slice(5);
  const items = body.items.length ? ` ${body.items.join('；')}${body.more ? `；另有 ${body.more} 条` : ''}` : '';
  const tail = ` ${time} ${box.url}`;
  const head = `【${box.name}】${title}：`;
  return `${head}${cutChars(`${body.text}${items}`, Math.max(20, SMS_MAX_CHARS - [...head].length - [...tail].length))}${tail}`;
}
