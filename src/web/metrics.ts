import { modemCards, type ModemCardsSource } from '../status/modem-cards.js';
import type { StatusSnapshot } from '../status/status.js';

/** Prometheus text exposition (format 0.0.4) of the box's state and its HTTP traffic. */

export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * Route labels come from this fixed list, so a client cannot grow /metrics
 * (or the box's memory) by asking for new paths: anything else is `other`.
 * Ids, numbers and names in a path are collapsed to `:id` / `:param`.
 */
const ROUTES: [RegExp, string][] = [
  [/^\/$/, '/'],
  [/^\/metrics$/, '/metrics'],
  [/^\/(login|logout|setup|setup\/requests|messages|messages\/test|inbox|optouts|optouts\/add|optouts\/remove|optouts\/import|settings|charts)$/, '/$1'],
  [/^\/messages\/\d+$/, '/messages/:id'],
  [/^\/messages\/\d+\/(resend|fail|again)$/, '/messages/:id/$1'],
  [/^\/settings\/(schedule|optout|admin|password|topup|account\/add|account\/password)$/, '/settings/$1'],
  [/^\/settings\/ledger\/[^/]+$/, '/settings/ledger/:param'],
  [/^\/settings\/notify\/add$/, '/settings/notify/add'],
  [/^\/settings\/notify\/[0-9a-f]{1,64}\/(test|remove)$/, '/settings/notify/:id/$1'],
  [/^\/inbox\/\d+\/answer$/, '/inbox/:id/answer'],
  [/^\/inbox\/[^/]+$/, '/inbox/:param'],
  [/^\/api\/(status|status\/stream|messages|accounts|events|inbox|optouts|optouts\.csv|optouts\/import|notify|selftest|sim\/balance)$/, '/api/$1'],
  [/^\/(selftest|sim\/balance)$/, '/$1'],
  [/^\/api\/inbox\/\d+\/answer$/, '/api/inbox/:id/answer'],
  [/^\/api\/notify\/[0-9a-f]{1,64}\/test$/, '/api/notify/:id/test'],
  [/^\/api\/messages\/\d+$/, '/api/messages/:id'],
  [/^\/api\/messages\/\d+\/(resend|fail)$/, '/api/messages/:id/$1'],
  [/^\/api\/accounts\/[^/]+\/(ledger|topup)$/, '/api/accounts/:param/$1'],
  [/^\/api\/optouts\/[^/]+$/, '/api/optouts/:id'],
  [/^\/api\/simulator\/(sent|inbound|fault|scenario|carrier-notice|call|call\/end|calls|modems)$/, '/api/simulator/$1'],
];

export function routeLabel(path: string, wdgj: boolean): string {
  if (wdgj) return 'wdgj';
  for (const [pattern, label] of ROUTES) {
    const match = pattern.exec(path);
    if (match) return label.replace('$1', match[1] ?? '');
  }
  return 'other';
}

export class HttpMetrics {
  private readonly counts = new Map<string, number>();
  private internalErrors = 0;

  /** A request the error boundary answered: a bug to look at, counted apart from client errors. */
  internalError(): void {
    this.internalErrors++;
  }
  private readonly histograms = new Map<string, { buckets: number[]; sum: number; count: number }>();

  observe(method: string, route: string, status: number, seconds: number): void {
    const m = /^(GET|POST|PUT|DELETE|HEAD|OPTIONS)$/.test(method) ? method : 'OTHER';
    // Status codes are the box's own (a few dozen at most), never a client's value.
    const key = `method="${m}",route="${route}",code="${status}"`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    const hkey = `route="${route}"`;
    let hist = this.histograms.get(hkey);
    if (!hist) {
      hist = { buckets: LATENCY_BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.histograms.set(hkey, hist);
    }
    LATENCY_BUCKETS.forEach((le, i) => {
      if (seconds <= le) hist!.buckets[i]!++;
    });
    hist.sum += seconds;
    hist.count++;
  }

  render(): string[] {
    const lines = ['# HELP smsbox_http_requests_total HTTP requests answered, by method, route and status code.', '# TYPE smsbox_http_requests_total counter'];
    for (const [key, n] of this.counts) lines.push(`smsbox_http_requests_total{${key}} ${n}`);
    lines.push('# HELP smsbox_http_request_duration_seconds Time to answer HTTP requests.', '# TYPE smsbox_http_request_duration_seconds histogram');
    for (const [key, hist] of this.histograms) {
      LATENCY_BUCKETS.forEach((le, i) => lines.push(`smsbox_http_request_duration_seconds_bucket{${key},le="${le}"} ${hist.buckets[i]}`));
      lines.push(`smsbox_http_request_duration_seconds_bucket{${key},le="+Inf"} ${hist.count}`);
      lines.push(`smsbox_http_request_duration_seconds_sum{${key}} ${hist.sum.toFixed(6)}`);
      lines.push(`smsbox_http_request_duration_seconds_count{${key}} ${hist.count}`);
    }
    lines.push('# HELP smsbox_internal_errors_total Requests that failed inside the box (answered by the error boundary; see the log by request id).', '# TYPE smsbox_internal_errors_total counter');
    lines.push(`smsbox_internal_errors_total ${this.internalErrors}`);
    return lines;
  }
}

const MODEM_STATES = ['queue-only', 'off', 'starting', 'ready', 'no-sim', 'pin-required', 'searching', 'registration-denied', 'not-responding', 'no-smsc', 'error'];

function labelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export function renderMetrics(status: StatusSnapshot, totals: Record<string, number>, http: HttpMetrics): string {
  const lines: string[] = [];
  const gauge = (name: string, help: string, samples: [string, number][]) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
  };
  gauge('smsbox_queue_depth', 'Messages waiting in the outbox, by status.', [
    ['{status="queued"}', status.queue.queued],
    ['{status="sending"}', status.queue.sending],
    ['{status="uncertain"}', status.queue.uncertain],
  ]);
  lines.push('# HELP smsbox_messages_total Messages in the outbox by final or current status (sent includes delivered).', '# TYPE smsbox_messages_total counter');
  lines.push(`smsbox_messages_total{status="sent"} ${(totals['sent'] ?? 0) + (totals['delivered'] ?? 0)}`);
  for (const s of ['delivered', 'failed', 'suppressed']) lines.push(`smsbox_messages_total{status="${s}"} ${totals[s] ?? 0}`);
  // One series per modem (issue 19), each labelled with its [[modem]] name; a box with one SIM has one.
  const cards = modemCards(status as StatusSnapshot & ModemCardsSource);
  const perModem = (sample: (card: (typeof cards)[number], modem: string) => [string, number][]): [string, number][] =>
    cards.flatMap((card) => sample(card, `modem="${labelValue(card.name)}"`));
  gauge('smsbox_signal_csq', 'Signal quality reported by AT+CSQ (0-31, 99 unknown); absent reading = -1.', perModem((c, m) => [[`{${m}}`, c.signal_csq ?? -1]]));
  gauge('smsbox_signal_bars', 'Signal bars 0-5 as shown on the page.', perModem((c, m) => [[`{${m}}`, c.signal_bars ?? 0]]));
  gauge('smsbox_modem_state', 'The modem driver state: 1 for the current one.', perModem((c, m) => {
    const states = MODEM_STATES.includes(c.state) ? MODEM_STATES : [...MODEM_STATES, c.state];
    return states.map((s) => [`{${m},state="${labelValue(s)}"}`, s === c.state ? 1 : 0]);
  }));
  gauge('smsbox_modem_fault', '1 when a fault makes sending impossible.', perModem((c, m) => [[`{${m}}`, c.hard_fault ? 1 : 0]]));
  // Fixed label sets: the driver's values are these and nothing else, so the series stay bounded.
  gauge('smsbox_modem_sms_path', 'How an SMS leaves the module (cs, sgs, ims, none, unknown): 1 for the current one.',
    perModem((c, m) => ['cs', 'sgs', 'ims', 'none', 'unknown'].map((p) => [`{${m},path="${p}"}`, p === c.sms_path ? 1 : 0])));
  gauge('smsbox_modem_rat', 'Access technology (gsm, umts, lte, unknown): 1 for the current one.',
    perModem((c, m) => ['gsm', 'umts', 'lte', 'unknown'].map((r) => [`{${m},rat="${r}"}`, r === c.rat ? 1 : 0])));
  gauge('smsbox_modem_simulated', '1 in simulator mode (no SMS leaves the box).', perModem((c, m) => [[`{${m}}`, c.simulated ? 1 : 0]]));
  gauge('smsbox_modem_sent_today', 'Messages this SIM sent since local midnight.', perModem((c, m) => [[`{${m}}`, c.sent_today]]));
  // Absent for a SIM without a day cap: no number would be honest there.
  gauge('smsbox_modem_day_budget_left', 'Messages this SIM may still send today under its max_per_day (absent: no day cap).',
    perModem((c, m) => (c.day_budget_left === null ? [] : [[`{${m}}`, c.day_budget_left]])));
  gauge('smsbox_window_open', '1 inside the sending window.', [['', status.window.open ? 1 : 0]]);
  // Absent while no balance was ever read: a 0 would look like an empty SIM.
  if (status.sim.balance_yuan !== null) gauge('smsbox_sim_balance_yuan', 'The SIM\'s credit as the carrier last replied (yuan, negative when owing).', [[`{carrier="${labelValue(status.sim.carrier)}"}`, status.sim.balance_yuan]]);
  gauge('smsbox_sim_balance_low', '1 when the SIM\'s credit is below [sim] low_balance_yuan.', [['', status.sim.low ? 1 : 0]]);
  gauge('smsbox_carrier_blocked', '1 while the carrier restricts the SIM (one message an hour is tried).', [['', status.sim.blocked ? 1 : 0]]);
  gauge('smsbox_uptime_seconds', 'Seconds since the box started.', [['', status.uptime_s]]);
  // A loop, not push(...): spreading a long array into arguments overflows the stack.
  for (const line of http.render()) lines.push(line);
  return `${lines.join('\n')}\n`;
}
