/**
 * Is a customer's reply an opt-out, a resubscription, or neither? Pure.
 *
 * The balance we strike (README, "Opt-outs"): a missed opt-out means a
 * customer who asked to be left alone keeps getting messages — complaints,
 * and in China a complaint to the carrier (12321) can get the shop's SIM
 * blocked. A false opt-out costs a customer some shipping notices. So:
 * - a whole reply that is a keyword counts (after normalisation: full-width
 *   to half-width, case, white space and surrounding punctuation);
 * - a reply that *contains* an unambiguous phrase (退订, 拒收, 取消订阅 …)
 *   counts, whatever else it says ("不要退订" is taken as an opt-out too: we
 *   err on the customer's side);
 * - a short keyword inside a longer reply does not: "退货" (a return) or
 *   "取消订单" (cancel my order) are questions for the shop, not opt-outs,
 *   and "T" inside "Thanks" is nothing.
 */

export interface KeywordRules {
  /** A whole reply equal to one of these is an opt-out. */
  optOut: readonly string[];
  /** A reply containing one of these is an opt-out. */
  optOutPhrases: readonly string[];
  /** A whole reply equal to one of these takes the number off the list. */
  resubscribe: readonly string[];
}

export const DEFAULT_RULES: KeywordRules = {
  optOut: ['T', 'TD', '退订', '退', 'N', 'R', 'STOP', '取消', '拒收', '1', 'UNSUBSCRIBE', '0000'],
  optOutPhrases: ['退订', '拒收', '取消订阅', '不要再发', '别再发', '不要发了', '别发了'],
  resubscribe: ['订阅', 'START', '恢复订阅'],
};

export type ReplyKind = 'optout' | 'resubscribe' | null;

/** Full-width → half-width (NFKC), upper case, inner white space collapsed, surrounding punctuation, symbols and spaces removed. */
export function normalizeReply(text: string): string {
  return text
    .normalize('NFKC')
    .toUpperCase()
    .replace(/\s+/gu, ' ')
    .replace(/^[\s\p{P}\p{S}\p{Cf}]+|[\s\p{P}\p{S}\p{Cf}]+$/gu, '');
}

export function classifyReply(text: string, rules: KeywordRules = DEFAULT_RULES): ReplyKind {
  const reply = normalizeReply(text);
  if (reply === '') return null;
  const exact = (list: readonly string[]) => list.some((k) => normalizeReply(k) === reply);
  if (exact(rules.resubscribe)) return 'resubscribe';
  if (exact(rules.optOut)) return 'optout';
  const squeezed = reply.replace(/\s+/g, '');
  if (rules.optOutPhrases.some((p) => squeezed.includes(normalizeReply(p).replace(/\s+/g, '')))) return 'optout';
  return null;
}
