/**
 * Recipient numbers from the `Tel` parameter. Pure.
 *
 * Mainland mobiles (1[3-9] + 9 digits) are accepted with or without +86,
 * 0086 or 86, and stored in E.164 (`+8613800138000`) so that outbox rows,
 * opt-outs and inbound senders compare equal. Other numbers are rejected
 * unless international sending is allowed in the config.
 */

export interface Recipients {
  /** Distinct valid numbers in E.164, in the order given. */
  valid: string[];
  /** The tokens that are not numbers we can send to, as given. */
  invalid: string[];
  /** How many tokens repeated an earlier valid number. */
  duplicates: number;
}

/** ASCII and full-width commas and semicolons, the ideographic comma, and any white space. */
const SEPARATORS = /[,，;；、\s\u3000]+/u;

function toHalfWidth(s: string): string {
  return s.replace(/[\uFF01-\uFF5E]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0));
}

/** One token → E.164, or null. */
export function normalizeNumber(token: string, allowInternational: boolean): string | null {
  const cleaned = toHalfWidth(token).replace(/[-().\s]/g, '');
  const mainland = /^(?:\+86|0086|86)?(1[3-9]\d{9})$/.exec(cleaned);
  if (mainland) return `+86${mainland[1]}`;
  if (!allowInternational) return null;
  const international = /^(?:\+|00)([1-9]\d{6,14})$/.exec(cleaned);
  // +86 numbers that are not mobiles are landlines: they cannot receive SMS.
  if (!international || international[1]!.startsWith('86')) return null;
  return `+${international[1]}`;
}

export function parseRecipients(tel: string, allowInternational: boolean): Recipients {
  const valid: string[] = [];
  const invalid: string[] = [];
  const seen = new Set<string>();
  let duplicates = 0;
  for (const token of tel.split(SEPARATORS)) {
    if (token === '') continue;
    const number = normalizeNumber(token, allowInternational);
    if (number === null) invalid.push(token);
    else if (seen.has(number)) duplicates++;
    else {
      seen.add(number);
      valid.push(number);
    }
  }
  return { valid, invalid, duplicates };
}

/** `+8613800138000` → `13800138000` for people; other numbers unchanged. */
export function displayNumber(e164: string): string {
  return e164.startsWith('+86') && e164.length === 14 ? e164.slice(3) : e164;
}
