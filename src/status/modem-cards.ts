import type { ModemJson } from './status.js';

/**
 * One card per SIM (issue 19): the element of `/api/status` `modems`, as the
 * overview, /metrics and the LEDs read it. `modems[0]` is the modem that
 * `modem` describes. A snapshot without `modems` (one modem, before issue 19)
 * still gives one card, built from `modem` and `queue`.
 */

export interface ModemCard extends ModemJson {
  /** The [[modem]] block's name. */
  name: string;
  /** `simulator`, `/dev/serial0`, a `/dev/serial/by-id/…` path. */
  device: string;
  /** The HAT profile (`sim7600`, `ec25-usb` …). */
  hat: string;
  /** False when the box cannot press this modem's PWRKEY (a USB modem, an unwired key). */
  power_control: boolean;
  sent_today: number;
  sent_last_hour: number;
  /** Segments in the last 24 h (what max_per_day counts), where the snapshot gives it. */
  sent_last_day?: number;
  /** When this SIM's lane sends next (ISO), where the snapshot gives it. */
  next_send_at?: string | null;
  /** Messages this SIM may still send today; null when it has no day cap. */
  day_budget_left: number | null;
  limits: { max_per_minute: number; max_per_hour: number; max_per_day: number };
  sending_message_id: number | null;
  waiting: string | null;
  waiting_text: string | null;
  waiting_text_en: string | null;
}

/** The part of a status snapshot the cards are read from. */
export interface ModemCardsSource {
  modem: ModemJson;
  /** Absent in a snapshot of a box with the one modem of old. */
  modems?: readonly ModemCard[];
  queue: {
    sent_today: number;
    sending_message_id: number | null;
    waiting: string | null;
    waiting_text: string | null;
    waiting_text_en: string | null;
  };
}

/** What a snapshot without `modems` does not say about its one modem. */
export interface SingleModemFacts {
  name?: string;
  device?: string;
  hat?: string;
  powerControl?: boolean;
  /** `[schedule]` limits (0 = none); absent: unknown, shown as no cap. */
  limits?: { maxPerMinute: number; maxPerHour: number; maxPerDay: number };
}

/** The name the one modem of a config without names goes by. */
export const DEFAULT_MODEM_NAME = 'sim1';

/** The cards of a snapshot: its `modems`, or one card built from `modem` when it has none. */
export function modemCards(status: ModemCardsSource, single: SingleModemFacts = {}): readonly ModemCard[] {
  if (status.modems && status.modems.length > 0) return status.modems;
  const limits = single.limits ?? { maxPerMinute: 0, maxPerHour: 0, maxPerDay: 0 };
  const { modem, queue } = status;
  return [{
    name: single.name ?? DEFAULT_MODEM_NAME,
    device: single.device ?? '',
    hat: single.hat ?? '',
    state: modem.state,
    simulated: modem.simulated,
    hard_fault: modem.hard_fault,
    registered: modem.registered,
    operator: modem.operator,
    signal_csq: modem.signal_csq,
    signal_bars: modem.signal_bars,
    rat: modem.rat,
    sms_path: modem.sms_path,
    power_control: single.powerControl ?? true,
    sent_today: queue.sent_today,
    // Not counted per hour before issue 19; the card does not show it.
    sent_last_hour: 0,
    day_budget_left: limits.maxPerDay > 0 ? Math.max(0, limits.maxPerDay - queue.sent_today) : null,
    limits: { max_per_minute: limits.maxPerMinute, max_per_hour: limits.maxPerHour, max_per_day: limits.maxPerDay },
    sending_message_id: queue.sending_message_id,
    waiting: queue.waiting,
    waiting_text: queue.waiting_text,
    waiting_text_en: queue.waiting_text_en,
  }];
}
