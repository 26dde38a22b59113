import { clockText } from '../notify/message.js';
import type { DayCounts } from '../store/store.js';
import type { OperationsContext } from './context.js';

/**
 * The daily summary (issue 18 item 4), sent to the channels that take
 * `daily` when the sending window closes: the 24 hours before that moment, so
 * every message is counted in exactly one summary whatever its hour (an
 * account that ignores quiet hours sends at night too).
 */

export const SUMMARY_PERIOD_MS = 24 * 3600_000;

export interface DailySummary extends DayCounts {
  from: number;
  to: number;
  /** The SIM's credit in yuan as the carrier last replied (src/sim); null while never read. */
  credit: number | null;
  /** Delivery reports are asked for ([dispatch] status_reports); without them nothing is ever "delivered". */
  statusReports: boolean;
}

export class Summary {
  constructor(private readonly ctx: OperationsContext) {}

  daily(now: number): DailySummary {
    const from = now - SUMMARY_PERIOD_MS;
    return {
      from,
      to: now,
      ...this.ctx.store.dayCounts(from, now),
      credit: this.credit(),
      statusReports: this.ctx.config().dispatch.statusReports,
    };
  }

  private credit(): number | null {
    const li = this.ctx.store.sim.lastBalance()?.balanceLi ?? null;
    return li === null ? null : li / 1000;
  }

  /** The summary in the owner's words (zh, en), with the figures as data for our webhook's JSON. */
  dailyReport(now: number): { zh: string; en: string; data: Record<string, unknown> } {
    const s = this.daily(now);
    const tz = this.ctx.config().schedule.timezone;
    const when = (ms: number) => clockText(ms, tz).slice(5);
    const delivered = s.statusReports ? `，已送达 ${s.delivered} 条` : '（未开启送达回执）';
    const deliveredEn = s.statusReports ? `, ${s.delivered} delivered` : ' (delivery reports are off)';
    const uncertain = s.uncertain > 0
      ? `；待确认 ${s.uncertain} 条（${s.uncertainIds.map((id) => `#${id}`).join('、')}${s.uncertain > s.uncertainIds.length ? '…' : ''}），不确定是否已发出，请在“短信”页面选择重发或标记失败`
      : '';
    const uncertainEn = s.uncertain > 0
      ? `; ${s.uncertain} uncertain (${s.uncertainIds.map((id) => `#${id}`).join(', ')}${s.uncertain > s.uncertainIds.length ? '…' : ''}): may or may not have gone out, decide on the Messages page`
      : '';
    const zh = `${when(s.from)} 至 ${when(s.to)}：已发送 ${s.sent} 条${delivered}，失败 ${s.failed} 条，退订 ${s.optedOut} 个，顾客回复 ${s.replies} 条，`
      + `来电 ${s.calls} 次（已自动挂断），SIM 卡话费余额：${s.credit === null ? '未知（尚未查到）' : `${s.credit.toFixed(2)} 元`}${uncertain}；仍在排队 ${s.queued} 条。`;
    const en = `${when(s.from)} to ${when(s.to)}: ${s.sent} sent${deliveredEn}, ${s.failed} failed, ${s.optedOut} opted out, ${s.replies} replies, `
      + `${s.calls} calls (hung up), SIM credit: ${s.credit === null ? 'unknown (not read yet)' : `${s.credit.toFixed(2)} yuan`}${uncertainEn}; ${s.queued} still queued.`;
    return {
      zh,
      en,
      data: {
        from: new Date(s.from).toISOString(),
        to: new Date(s.to).toISOString(),
        sent: s.sent,
        delivered: s.statusReports ? s.delivered : null,
        failed: s.failed,
        opted_out: s.optedOut,
        replies: s.replies,
        calls: s.calls,
        credit: s.credit,
        uncertain: s.uncertain,
        uncertain_ids: s.uncertainIds,
        queued: s.queued,
      },
    };
  }
}
