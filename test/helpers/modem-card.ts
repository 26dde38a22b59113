import type { ModemCard } from '../../src/status/modem-cards.js';

/** A ready SIM's card as /api/status gives it, with the fields a test changes. */
export function card(name: string, patch: Partial<ModemCard> = {}): ModemCard {
  return {
    name, device: 'simulator', hat: 'sim7600', state: 'ready', simulated: true, hard_fault: null, registered: true,
    operator: 'CHINA MOBILE', signal_csq: 20, signal_bars: 4, rat: 'lte', sms_path: 'sgs', power_control: true,
    sent_today: 0, sent_last_hour: 0, day_budget_left: 900, limits: { max_per_minute: 0, max_per_hour: 180, max_per_day: 900 },
    sending_message_id: null, waiting: null, waiting_text: null, waiting_text_en: null, ...patch,
  };
}
