import { displayNumber, normalizeNumber } from '../protocol/numbers.js';
import { decodeText } from '../protocol/request.js';
import type { OptOutRow } from '../store/store.js';
import { recordEvent, type OperationsContext } from './context.js';
import { done, refuse, type Outcome } from './outcome.js';

/** The opt-out list: numbers that asked to be left alone, whoever put them there. */

/** The largest CSV an import takes (the HTTP body limit too). */
export const MAX_IMPORT_BYTES = 64 * 1024;
/** A reason is a note for people; longer text is cut. */
export const MAX_REASON_LENGTH = 200;

export interface ImportResult {
  added: number;
  already: number;
  /** The first cells that are not numbers, as given. */
  invalid: string[];
}

/** A header line of a CSV ("number", "号码", "手机…"): skipped, not reported as invalid. */
const HEADER_CELL = /^number$|^号码$|^手机/i;

/**
 * Spreadsheet programs run a cell that begins with `=`, `+`, `-` or `@` (or a
 * tab or carriage return, which they strip first) as a formula. A quote in
 * front makes it text; Excel and LibreOffice hide that quote.
 */
export function neutraliseCell(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

function quoteCell(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

/**
 * A number as the CSV shows it: mainland mobiles as their 11 digits, others
 * with the international prefix 00 instead of "+" (so no cell begins with a
 * formula sign, and the import reads both back as the same number).
 */
export function csvNumber(e164: string): string {
  const shown = displayNumber(e164);
  return shown.startsWith('+') ? `00${shown.slice(1)}` : shown;
}

export class OptOuts {
  constructor(private readonly ctx: OperationsContext) {}

  /** Newest first; `q` matches the number or the reason. */
  list(opts: { limit: number; q?: string }): OptOutRow[] {
    return this.ctx.store.listOptOuts(opts);
  }

  count(): number {
    return this.ctx.store.countOptOuts();
  }

  /** Puts a number on the list by hand; `added` is false when it was there already (its first reason is kept). */
  add(input: { number: string; reason?: string | null }): Outcome<{ added: boolean; optout: OptOutRow }, 'bad-number'> {
    const { ctx } = this;
    const number = normalizeNumber(input.number, true);
    if (!number) return refuse('bad-number', '号码无效，例如 13800138000', 'invalid number, e.g. 13800138000', 400);
    const now = ctx.clock.now();
    const added = ctx.store.addOptOut(number, 'admin', (input.reason ?? '').slice(0, MAX_REASON_LENGTH), now);
    if (added) recordEvent(ctx, 'info', 'optout-admin', `管理员把 ${displayNumber(number)} 加入退订名单`, `admin added ${displayNumber(number)} to the opt-out list`);
    return done({ added, optout: ctx.store.listOptOuts({ limit: 1, q: number })[0]! });
  }

  /** Takes a number off the list: it will get the shop's messages again. */
  remove(input: { number: string }): Outcome<{ number: string }, 'not-opted-out'> {
    const { ctx } = this;
    const number = normalizeNumber(input.number, true);
    if (!number || !ctx.store.removeOptOut(number)) return refuse('not-opted-out', '该号码不在退订名单中', 'that number is not on the opt-out list', 404);
    recordEvent(ctx, 'info', 'optout-removed', `管理员把 ${displayNumber(number)} 移出退订名单`, `admin removed ${displayNumber(number)} from the opt-out list`);
    return done({ number });
  }

  /**
   * Adds every number of a CSV (the first cell of each line; a header line is
   * skipped) in one transaction. Bytes are UTF-8, or GBK as Excel on a Chinese
   * Windows saves them; text (a pasted list) is taken as it is. `null` is a
   * body over the size limit.
   */
  importCsv(csv: Buffer | string | null): Outcome<ImportResult, 'too-large'> {
    const { ctx } = this;
    const size = csv === null ? Infinity : typeof csv === 'string' ? Buffer.byteLength(csv, 'utf8') : csv.length;
    if (size > MAX_IMPORT_BYTES) return refuse('too-large', '文件太大（最多 64 KB），请分批导入', 'file too large (64 KB at most); import in parts', 413);
    const text = typeof csv === 'string' ? csv : decodeText(csv!);
    const now = ctx.clock.now();
    const result: ImportResult = { added: 0, already: 0, invalid: [] };
    ctx.store.transaction(() => {
      for (const line of text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/)) {
        // A quote in front is how a spreadsheet (and our export) marks a cell as text.
        const first = line.split(/[,，;\t]/)[0]!.replace(/^"|"$/g, '').replace(/^'/, '').trim();
        if (first === '' || HEADER_CELL.test(first)) continue;
        const number = normalizeNumber(first, true);
        if (!number) result.invalid.push(first);
        else if (ctx.store.addOptOut(number, 'import', 'CSV import', now)) result.added++;
        else result.already++;
      }
    });
    recordEvent(ctx, 'info', 'optout-import',
      `导入退订名单：新增 ${result.added} 个，已存在 ${result.already} 个，无效 ${result.invalid.length} 个`,
      `opt-out import: ${result.added} added, ${result.already} already listed, ${result.invalid.length} invalid`);
    return done(result);
  }

  /**
   * The whole list as CSV for Excel: UTF-8 with a BOM (so the Chinese reasons
   * show), CRLF line ends, no cell a spreadsheet would run as a formula.
   */
  exportCsv(): string {
    const lines = ['number,created_at,source,reason'];
    for (const o of this.ctx.store.listOptOuts({ limit: Number.MAX_SAFE_INTEGER })) {
      lines.push([csvNumber(o.number), new Date(o.createdAt).toISOString(), o.source, o.reason].map((cell) => quoteCell(neutraliseCell(cell))).join(','));
    }
    return `\uFEFF${lines.join('\r\n')}\r\n`;
  }
}
