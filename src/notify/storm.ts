import type { NotifyEventKind } from './kinds.js';

/**
 * No alert storms: what one channel is told about one kind of event, as a
 * pure state machine (state in, state and messages out; time is a number the
 * caller passes), so every rule is table-tested without a clock or a server.
 *
 * The rules (issue 18):
 * - at most one message per kind per STORM_WINDOW_MS (10 minutes) per channel;
 *   events inside the window are not dropped but held and sent as one digest
 *   when it ends (a customer's third reply in five minutes still arrives);
 * - a condition (a fault, a stuck queue …) is announced once when it starts,
 *   reminded every hour while it lasts (REMINDER_MS, for the kinds that are
 *   faults), and gets one `recovered` message when it is over;
 * - a condition that comes and goes inside the window is not announced on its
 *   own: the next message of that kind says how many times it did (`flaps`),
 *   and nothing announced means no `recovered` either.
 *
 * Conditions are level-triggered: the caller says "active" or "not active"
 * whenever it knows (at start, on every change, repeatedly is fine); only the
 * edges and the timers produce messages. So after a restart the caller feeds
 * the current state again and the persisted machine answers correctly: a fault
 * that ended while the box was off gets its `recovered`, one still there is not
 * announced twice.
 */

export const STORM_WINDOW_MS = 10 * 60_000;
export const REMINDER_MS = 60 * 60_000;
/** Events listed in one digest; beyond that they are counted. */
export const DIGEST_MAX_LISTED = 20;

/** Conditions have a start and an end; the value is how often to remind while one lasts (null = never). */
export const CONDITION_REMINDERS = {
  fault: REMINDER_MS,
  stuck: REMINDER_MS,
  'carrier-blocked': REMINDER_MS,
  // Not a fault: sending still works; the daily summary states the credit every day.
  'low-balance': null,
  // Not a fault either: the box runs on the last good file, and every page says so.
  'config-error': null,
} as const satisfies Partial<Record<NotifyEventKind, number | null>>;

export type ConditionKind = keyof typeof CONDITION_REMINDERS;
export type OneShotKind = Exclude<NotifyEventKind, ConditionKind | 'recovered'>;

export function isConditionKind(kind: string): kind is ConditionKind {
  return Object.hasOwn(CONDITION_REMINDERS, kind);
}

/** Something that happened, as a person should read it. */
export interface NotifyEvent<K extends NotifyEventKind = NotifyEventKind> {
  kind: K;
  at: number;
  zh: string;
  en: string;
  data?: Record<string, unknown>;
}

/** A message decided on, platform-neutral; each platform module renders it. */
export interface Alert {
  /** What the message is: the event's kind, `recovered` when a condition ended. */
  kind: NotifyEventKind;
  /** For `recovered` and reminders: the condition it is about. */
  about: ConditionKind | null;
  reminder: boolean;
  at: number;
  /** When the condition started (conditions only). */
  since: number | null;
  zh: string;
  en: string;
  /** The events this message carries, oldest first (one, or a digest). */
  events: NotifyEvent[];
  /** Events folded in beyond those listed. */
  more: number;
  /** Times the condition came and went without a message of its own since the last one. */
  flaps: number;
}

export interface KindState {
  lastSentAt: number | null;
  held: NotifyEvent[];
  heldMore: number;
  // Conditions only:
  active: boolean;
  /** The condition's current description (its latest report). */
  current: NotifyEvent | null;
  since: number | null;
  notified: boolean;
  lastNotifiedAt: number | null;
  flaps: number;
}

export function initialState(): KindState {
  return { lastSentAt: null, held: [], heldMore: 0, active: false, current: null, since: null, notified: false, lastNotifiedAt: null, flaps: 0 };
}

export type StormInput =
  | { type: 'event'; event: NotifyEvent }
  | { type: 'condition'; active: boolean; event: NotifyEvent<ConditionKind> }
  | { type: 'tick' };

export interface StormPolicy {
  /** The channel takes `recovered` messages. */
  recovered: boolean;
}

export interface StormStep {
  state: KindState;
  send: Alert[];
}

const windowOpen = (s: KindState, now: number) => s.lastSentAt === null || now - s.lastSentAt >= STORM_WINDOW_MS;

function digest(kind: NotifyEventKind, events: NotifyEvent[], more: number, now: number): Alert {
  const total = events.length + more;
  const last = events[events.length - 1]!;
  const single = total === 1;
  return {
    kind,
    about: null,
    reminder: false,
    at: now,
    since: null,
    zh: single ? last.zh : `${Math.round(STORM_WINDOW_MS / 60_000)} 分钟内共 ${total} 条：${events.map((e) => e.zh).join('；')}${more ? `；另有 ${more} 条` : ''}`,
    en: single ? last.en : `${total} in ${Math.round(STORM_WINDOW_MS / 60_000)} minutes: ${events.map((e) => e.en).join('; ')}${more ? `; ${more} more` : ''}`,
    events,
    more,
    flaps: 0,
  };
}

function hold(s: KindState, event: NotifyEvent): void {
  if (s.held.length < DIGEST_MAX_LISTED) s.held.push(event);
  else s.heldMore++;
}

/** One step of the machine for one channel and one kind. Pure: `state` is not modified. */
export function step(previous: KindState, kind: NotifyEventKind, input: StormInput, now: number, policy: StormPolicy): StormStep {
  const s: KindState = { ...previous, held: [...previous.held] };
  const send: Alert[] = [];

  const flushHeld = () => {
    if (s.held.length === 0 || !windowOpen(s, now)) return;
    send.push(digest(kind, s.held, s.heldMore, now));
    s.held = [];
    s.heldMore = 0;
    s.lastSentAt = now;
  };

  const announce = () => {
    if (!s.active || s.notified || !windowOpen(s, now) || !s.current) return;
    const flaps = s.flaps;
    send.push({
      kind,
      about: null,
      reminder: false,
      at: now,
      since: s.since,
      zh: `${s.current.zh}${flaps ? `（此前 ${flaps} 次出现后很快恢复）` : ''}`,
      en: `${s.current.en}${flaps ? ` (before this it came and went ${flaps} times)` : ''}`,
      events: [s.current],
      more: 0,
      flaps,
    });
    s.flaps = 0;
    s.notified = true;
    s.lastNotifiedAt = now;
    s.lastSentAt = now;
  };

  const remind = () => {
    const every = isConditionKind(kind) ? CONDITION_REMINDERS[kind] : null;
    if (every === null || !s.active || !s.notified || !s.current || s.lastNotifiedAt === null || now - s.lastNotifiedAt < every) return;
    const lasted = describeDuration(now - (s.since ?? now));
    send.push({
      kind,
      about: kind as ConditionKind,
      reminder: true,
      at: now,
      since: s.since,
      zh: `仍未恢复（已持续 ${lasted.zh}）：${s.current.zh}`,
      en: `Still not resolved (for ${lasted.en}): ${s.current.en}`,
      events: [s.current],
      more: 0,
      flaps: 0,
    });
    s.lastNotifiedAt = now;
    s.lastSentAt = now;
  };

  switch (input.type) {
    case 'event':
      hold(s, input.event);
      flushHeld();
      break;
    case 'condition':
      if (input.active) {
        if (!s.active) {
          s.active = true;
          s.since = input.event.at;
          s.notified = false;
        }
        // The same report again (said on every status change) changes nothing, not even a timestamp.
        if (!s.current || !sameReport(s.current, input.event)) s.current = input.event;
        announce();
        remind();
      } else if (s.active) {
        s.active = false;
        if (s.notified && policy.recovered) {
          const lasted = describeDuration(now - (s.since ?? now));
          const was = s.current;
          send.push({
            kind: 'recovered',
            about: kind as ConditionKind,
            reminder: false,
            at: now,
            since: s.since,
            zh: `已恢复（持续了 ${lasted.zh}）：${was?.zh ?? ''}${input.event.zh ? `。${input.event.zh}` : ''}`,
            en: `Resolved (after ${lasted.en}): ${was?.en ?? ''}${input.event.en ? `. ${input.event.en}` : ''}`,
            events: was ? [was] : [],
            more: 0,
            flaps: 0,
          });
        } else if (!s.notified) {
          s.flaps++;
        }
        s.notified = false;
        s.current = null;
        s.since = null;
        s.lastNotifiedAt = null;
      }
      break;
    case 'tick':
      flushHeld();
      announce();
      remind();
      break;
  }
  return { state: s, send };
}

/**
 * Two messages of one kind to one channel that both wait in the queue (the
 * robot is down) become one, so a robot that comes back after hours gets one
 * message per kind, not a backlog of hourly reminders: a condition's newer
 * message supersedes the older one (it says how long it has lasted by now),
 * one-shot events are put together in one digest. `recovered` messages are
 * not merged (each ends its own episode); null when the two do not merge.
 */
export function mergeAlerts(older: Alert, newer: Alert): Alert | null {
  if (older.kind !== newer.kind || newer.kind === 'recovered') return null;
  if (isConditionKind(newer.kind)) return { ...newer, flaps: older.flaps + newer.flaps };
  const events = [...older.events, ...newer.events];
  const listed = events.slice(0, DIGEST_MAX_LISTED);
  return digest(newer.kind, listed, older.more + newer.more + (events.length - listed.length), newer.at);
}

function sameReport(a: NotifyEvent, b: NotifyEvent): boolean {
  return a.zh === b.zh && a.en === b.en && JSON.stringify(a.data ?? null) === JSON.stringify(b.data ?? null);
}

/** When this state next needs a tick, or null when only new input can change it. */
export function nextWake(s: KindState, kind: NotifyEventKind): number | null {
  const times: number[] = [];
  if ((s.held.length > 0 || (s.active && !s.notified)) && s.lastSentAt !== null) times.push(s.lastSentAt + STORM_WINDOW_MS);
  const every = isConditionKind(kind) ? CONDITION_REMINDERS[kind] : null;
  if (every !== null && s.active && s.notified && s.lastNotifiedAt !== null) times.push(s.lastNotifiedAt + every);
  return times.length ? Math.min(...times) : null;
}

export function describeDuration(ms: number): { zh: string; en: string } {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  if (minutes < 60) return { zh: `${minutes} 分钟`, en: `${minutes} min` };
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  if (hours < 48) return { zh: `${hours} 小时${rest ? ` ${rest} 分钟` : ''}`, en: `${hours} h${rest ? ` ${rest} min` : ''}` };
  return { zh: `${Math.floor(hours / 24)} 天 ${hours % 24} 小时`, en: `${Math.floor(hours / 24)} d ${hours % 24} h` };
}
