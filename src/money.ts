/**
 * Money is kept as integer 厘 (li, 1/1000 yuan) so that charges and refunds
 * add up exactly; prices such as 0.045 yuan per segment stay representable.
 */

const AMOUNT = /^\s*(-)?(\d{1,9})(?:\.(\d{1,3}))?\s*$/;

/** "10.00", 10, "0.045" → li; null for anything else (NaN, more than 3 decimals, exponent). */
export function parseYuan(value: number | string): number | null {
  const textValue = typeof value === 'number' ? (Number.isFinite(value) ? String(value) : '') : value;
  const match = AMOUNT.exec(textValue);
  if (!match) {
    // Numbers like 0.1 + 0.2 print as 0.30000000000000004: round those to 厘 if they are that close.
    if (typeof value === 'number' && Number.isFinite(value) && Math.abs(value) < 1e9) {
      const li = Math.round(value * 1000);
      if (Math.abs(li - value * 1000) < 1e-6) return li;
    }
    return null;
  }
  const li = Number(match[2]) * 1000 + Number((match[3] ?? '').padEnd(3, '0'));
  return match[1] ? -li : li;
}

/** li → "9.80" (two decimals unless a 厘 digit is needed: "9.955"). */
export function formatYuan(li: number): string {
  const sign = li < 0 ? '-' : '';
  const abs = Math.abs(li);
  const whole = Math.floor(abs / 1000);
  const frac = String(abs % 1000).padStart(3, '0');
  return `${sign}${whole}.${frac.endsWith('0') ? frac.slice(0, 2) : frac}`;
}
