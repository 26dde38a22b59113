/**
 * Which carrier a SIM belongs to, read from its IMSI, and how each one is
 * asked for the SIM's balance. Pure.
 *
 * The IMSI starts with the MCC (460: mainland China) and a two-digit MNC
 * (ITU-T E.212 assignments as the issue lists them): China Mobile 00, 02, 04,
 * 07, 08; China Unicom 01, 06, 09; China Telecom 03, 05, 11; China Broadnet 15.
 *
 * Default balance queries, each an SMS to the carrier's service number (no
 * source is an operator page; they are consumer guides, which agree):
 * - China Mobile: `CXHF` to 10086. "发送指定指令至10086进行查询，如“CXHF”"
 *   (http://news.wx1990.com/yxwd/202507/299086.html, 2025-07).
 * - China Unicom: `YE` to 10010. Every guide found lists 余额 as `YE` (some add
 *   `CXYE`, "部分地区支持", or `102`): https://www.aliyunyouhui.com/267509.html,
 *   https://www.aliyunyouhui.com/270698.html, https://huishouka.cn/post/27249.html.
 * - China Telecom: `102` to 10001. "只需编辑"102"发送至10001，10秒内即可收到
 *   包含话费余额、套餐用量的详细回复" (https://www.chaxiaohao.com/read-1752309433l6856134.html, 2025-07).
 * - China Broadnet: no published SMS balance code was found; its service number
 *   is 10099. The box asks nothing until `[sim] balance_query_to` and
 *   `balance_query_text` say what to send.
 * The owner overrides any of these with `[sim] balance_query_to` / `balance_query_text`
 * (provinces differ, and codes change).
 */

export type Carrier = 'china-mobile' | 'china-unicom' | 'china-telecom' | 'china-broadnet' | 'unknown';

export const CARRIER_NAMES: Record<Carrier, { zh: string; en: string }> = {
  'china-mobile': { zh: '中国移动', en: 'China Mobile' },
  'china-unicom': { zh: '中国联通', en: 'China Unicom' },
  'china-telecom': { zh: '中国电信', en: 'China Telecom' },
  'china-broadnet': { zh: '中国广电', en: 'China Broadnet' },
  unknown: { zh: '未知运营商', en: 'unknown carrier' },
};

const MNC_460: Record<string, Carrier> = {
  '00': 'china-mobile',
  '02': 'china-mobile',
  '04': 'china-mobile',
  '07': 'china-mobile',
  '08': 'china-mobile',
  '01': 'china-unicom',
  '06': 'china-unicom',
  '09': 'china-unicom',
  '03': 'china-telecom',
  '05': 'china-telecom',
  '11': 'china-telecom',
  '15': 'china-broadnet',
};

/** The carrier of an IMSI (15 digits, as AT+CIMI gives it); `unknown` for anything else. */
export function carrierFromImsi(imsi: string | null | undefined): Carrier {
  const digits = (imsi ?? '').trim();
  if (!/^\d{14,15}$/.test(digits) || !digits.startsWith('460')) return 'unknown';
  return MNC_460[digits.slice(3, 5)] ?? 'unknown';
}

/** The SMS that asks a carrier for the balance; null where no code is known. */
export const DEFAULT_BALANCE_QUERY: Record<Carrier, { to: string; text: string } | null> = {
  'china-mobile': { to: '10086', text: 'CXHF' },
  'china-unicom': { to: '10010', text: 'YE' },
  'china-telecom': { to: '10001', text: '102' },
  'china-broadnet': null,
  unknown: null,
};

/** The number a carrier's notices and service replies come from (restriction notices among them). */
export const SERVICE_NUMBER: Record<Carrier, string | null> = {
  'china-mobile': '10086',
  'china-unicom': '10010',
  'china-telecom': '10000',
  'china-broadnet': '10099',
  unknown: null,
};

/**
 * The balance query in force: the owner's `[sim]` settings where given (each
 * key alone overrides its half), else the carrier's default.
 */
export function balanceQuery(carrier: Carrier, override: { to: string; text: string }): { to: string; text: string } | null {
  const base = DEFAULT_BALANCE_QUERY[carrier];
  const to = override.to || base?.to || '';
  const text = override.text || base?.text || '';
  return to && text ? { to, text } : null;
}

/**
 * Whether an SMS sender is a carrier's service number, never a customer.
 *
 * The rule: a number that, without a +86/0086/86 prefix, starts with 100 and
 * has 5 to 8 digits (10000, 10001, 10010, 10086, 10099, 1008611, 10086999 …).
 * Why: in the mainland numbering plan the 100xx block is the basic carriers'
 * customer-service block (10000 and 10001 China Telecom, 10010 Unicom, 10086
 * Mobile, 10099 Broadnet), and their service lines add digits to those
 * (1008611 for 10086's balance service, 10086999 for spam reports). No mobile
 * number starts with 100 (mobiles are 13x–19x and 11 digits), so no customer
 * is caught by it; an enterprise 106… sender is not a carrier and is left as it is.
 */
export function isCarrierServiceNumber(sender: string): boolean {
  const digits = sender.trim().replace(/^(?:\+86|0086|86)(?=100)/, '');
  return /^100\d{2,5}$/.test(digits);
}
