import type { Clock } from '../clock.js';
import { formatYuan, parseYuan } from '../money.js';
import type { BalanceRow, SimStore } from '../store/sim.js';
import { parseBalanceReply } from './balance-reply.js';
import { balanceQuery, CARRIER_NAMES, type Carrier } from './carrier.js';

/**
 * The SIM's credit (issue 17 item 3): an SMS query to the carrier's service
 * number (src/sim/carrier.ts), its reply read for the amount
 * (src/sim/balance-reply.ts), the reading kept in `sim_balance`.
 *
 * A reply is the first message from a carrier service number after a query
 * still open (asked within ANSWER_WITHIN_MS, not answered yet) that names an
 * amount, or any message from the very number asked (then with no amount: the
 * carrier did not understand the query, which the events log says).
 */

/** How long after a query a service-number message is taken as its answer. */
export const ANSWER_WITHIN_MS = 10 * 60_000;
/**
 * Queries at most this often, whoever asks (a button pressed again and again,
 * a script looping on POST /api/sim/balance): each one is an SMS the carrier
 * counts against the SIM.
 */
export const MIN_ASK_INTERVAL_MS = 2 * 60_000;

export interface SimBalanceStatus {
  carrier: Carrier;
  balance_yuan: number | null;
  balance_at: string | null;
  low: boolean;
}

export interface SimBalanceDeps {
  store: SimStore;
  clock: Clock;
  carrier: () => Carrier;
  /** `[sim]`: the owner's query (each "" = the carrier's default) and the low mark in 厘. */
  settings: () => { queryTo: string; queryText: string; lowBalanceLi: number };
  /** Queues the query SMS (uncharged, kind `sim-query`); returns the outbox id. */
  queue: (to: string, text: string) => number;
  /** A reading was taken (status, the low-balance alert, the events log). */
  onReading?: (reading: BalanceRow, low: boolean) => void;
  /** A reply came that names no amount. */
  onUnreadable?: (reply: string) => void;
}

export type AskOutcome =
  | { ok: true; to: string; text: string; outboxId: number }
  | { ok: false; reason: 'no-query' | 'too-soon'; zh: string; en: string };

export class SimBalance {
  constructor(private readonly deps: SimBalanceDeps) {}

  /** Sends the balance query now. */
  ask(): AskOutcome {
    const carrier = this.deps.carrier();
    const settings = this.deps.settings();
    const query = balanceQuery(carrier, { to: settings.queryTo, text: settings.queryText });
    if (!query) {
      const name = CARRIER_NAMES[carrier];
      return {
        ok: false,
        reason: 'no-query',
        zh: `不知道如何向${name.zh}查询话费：请在设置中填写 [sim] balance_query_to（运营商号码）和 balance_query_text（查询指令）`,
        en: `the box does not know how to ask ${name.en} for the balance: set [sim] balance_query_to (the carrier's number) and balance_query_text (the query)`,
      };
    }
    const now = this.deps.clock.now();
    const last = this.deps.store.lastBalanceQuery();
    if (last && now - last.askedAt < MIN_ASK_INTERVAL_MS && now >= last.askedAt) {
      const wait = Math.ceil((last.askedAt + MIN_ASK_INTERVAL_MS - now) / 1000);
      return {
        ok: false,
        reason: 'too-soon',
        zh: `刚刚已查询过话费（每 2 分钟最多一次），请 ${wait} 秒后再试`,
        en: `the balance was asked just now (at most once in 2 minutes): try again in ${wait} s`,
      };
    }
    const outboxId = this.deps.store.transaction(() => {
      const id = this.deps.queue(query.to, query.text);
      this.deps.store.addBalanceQuery(carrier, query.to, query.text, id, now);
      return id;
    });
    return { ok: true, to: query.to, text: query.text, outboxId };
  }

  /** A message from a carrier service number: true when it answers an open query. */
  claim(from: string, text: string, inboxId: number): boolean {
    const now = this.deps.clock.now();
    const sender = from.replace(/^(?:\+86|0086|86)(?=100)/, '');
    const last = this.deps.store.lastBalanceQuery();
    if (!last || last.answeredAt !== null || now - last.askedAt > ANSWER_WITHIN_MS) return false;
    const reading = parseBalanceReply(text);
    if (!reading && sender !== last.queryTo) return false;
    const li = reading ? parseYuan(reading.yuan.toFixed(2)) : null;
    this.deps.store.answerBalance(last.id, li, text, inboxId, now);
    if (li === null) {
      this.deps.onUnreadable?.(text);
    } else {
      this.deps.onReading?.(this.deps.store.lastBalance()!, li < this.deps.settings().lowBalanceLi);
    }
    return true;
  }

  /** `/api/status` `sim` (exact names: issue 17). */
  status(): SimBalanceStatus {
    const last = this.deps.store.lastBalance();
    const li = last?.balanceLi ?? null;
    return {
      carrier: this.deps.carrier(),
      balance_yuan: li === null ? null : Number(formatYuan(li)),
      balance_at: last?.answeredAt ? new Date(last.answeredAt).toISOString() : null,
      low: li !== null && li < this.deps.settings().lowBalanceLi,
    };
  }
}
