/**
 * The names the owner writes in `[[notify]]` blocks. They are part of the
 * config file's contract (issue 18): never rename one.
 */

/** Where a channel delivers: a group robot, our own JSON webhook, or an SMS to the owner. */
export const NOTIFY_CHANNEL_KINDS = ['wecom', 'dingtalk', 'feishu', 'webhook', 'sms'] as const;
export type NotifyChannelKind = (typeof NOTIFY_CHANNEL_KINDS)[number];

/** What a channel can be told about. */
export const NOTIFY_EVENT_KINDS = [
  'fault',
  'recovered',
  'stuck',
  'low-balance',
  'carrier-blocked',
  'call',
  'reply',
  'optout',
  'daily',
  'config-error',
  'selftest',
] as const;
export type NotifyEventKind = (typeof NOTIFY_EVENT_KINDS)[number];

/**
 * A channel without `events` takes everything but customers' replies and
 * opt-outs: those are about customers, not the box, and a shop may not want
 * them in a group chat.
 */
export const DEFAULT_NOTIFY_EVENTS: readonly NotifyEventKind[] = NOTIFY_EVENT_KINDS.filter((k) => k !== 'reply' && k !== 'optout');

/** The platforms whose robots check a signature made with a secret; `webhook` signs its own way. */
export const SIGNED_CHANNEL_KINDS: readonly NotifyChannelKind[] = ['dingtalk', 'feishu', 'webhook'];

export interface NotifyChannelConfig {
  kind: NotifyChannelKind;
  /** The robot's or the server's URL; "" for `sms`. */
  url: string;
  /** The owner's mobile (E.164) for `sms`; "" otherwise. */
  to: string;
  /** DingTalk 加签 secret (SEC…), Feishu signature secret, or our webhook's HMAC key; "" = none. */
  secret: string;
  events: NotifyEventKind[];
}
