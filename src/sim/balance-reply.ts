/**
 * Reads the balance out of a carrier's reply to a balance query. Pure.
 *
 * Replies name several amounts ("话费余额23.45元，本月已产生话费12.30元",
 * "账户余额…，其中可用余额…，赠送余额…", the data left "剩余通用流量27.65GB"),
 * so each amount in 元 is read with the words just before it (back to the
 * previous punctuation) and kept only when those words say it is a balance:
 * - 可用余额 (what can be spent now) is preferred;
 * - then any other 余额 (话费余额, 账户余额, 当前余额, 余额) that is not a
 *   frozen, bonus, last-month or data figure;
 * - then an amount owed (欠费…元, 欠费金额…元), read as negative.
 * Amounts not in 元 (GB, MB, 分钟, 条) are never balances. A sign written
 * before the number (-3.20, －3.20, 负3.20) is kept.
 */

export interface BalanceReading {
  yuan: number;
  /** The words the amount was read from, for the events log. */
  label: string;
}

const AMOUNT = /([-－负])?\s*(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,3}))?\s*元/g;
/** Punctuation that ends the label of the amount after it. */
const BREAK = /[，。；！？,;!?\n：:]/;
const NOT_A_BALANCE = /冻结|赠送|赠款|流量|上月|结余|已用|已使用|已产生|消费|套餐|积分|通话|话费支出/;

export function parseBalanceReply(text: string): BalanceReading | null {
  const candidates: { rank: number; index: number; reading: BalanceReading }[] = [];
  for (const match of text.matchAll(AMOUNT)) {
    const index = match.index ?? 0;
    const label = labelBefore(text, index);
    const value = Number(`${match[2]!.replace(/,/g, '')}.${match[3] ?? '0'}`);
    const negative = match[1] !== undefined;
    let rank: number | null = null;
    let yuan = negative ? -value : value;
    if (/余额/.test(label) && !NOT_A_BALANCE.test(label.replace(/可用余额|话费余额|账户余额|当前余额/g, ''))) {
      rank = /可用余额/.test(label) ? 0 : 1;
    } else if (/欠费|欠款/.test(label) && !NOT_A_BALANCE.test(label)) {
      rank = 2;
      yuan = -Math.abs(value);
    }
    if (rank !== null) candidates.push({ rank, index, reading: { yuan: Math.round(yuan * 100) / 100, label } });
  }
  if (candidates.length === 0) return null;
  candidates.sort((a, b) => a.rank - b.rank || a.index - b.index);
  return candidates[0]!.reading;
}

/** The words before an amount, back to the previous punctuation (a label is short: at most 16 characters). */
function labelBefore(text: string, index: number): string {
  let start = index;
  while (start > 0 && index - start < 16 && !BREAK.test(text[start - 1]!)) start--;
  // "余额：12.00元" and "余额为-3.20元": a colon right before the amount belongs to its label.
  if (start > 0 && /[：:]/.test(text[start - 1]!) && index - start < 2) {
    let s = start - 1;
    while (s > 0 && start - s < 16 && !BREAK.test(text[s - 1]!)) s--;
    return text.slice(s, index).trim();
  }
  return text.slice(start, index).trim();
}
