/**
 * How a text is cut into SMS segments (TS 23.040 §9.2.3.24.1 concatenation).
 * The same arithmetic prices a message at the HTTP endpoint and sends it at the
 * modem, so the two can never disagree.
 */
import { gsm7Cost, isGsm7Encodable } from './gsm7.js';

export interface SegmentPlan {
  encoding: 'gsm7' | 'ucs2';
  /** Text of each segment, in order. */
  parts: string[];
}

/** Octets of user data in one SMS. */
const USER_DATA_OCTETS = 140;
/** UDH with one 8-bit-reference concatenation IE: UDHL + IEI + IEDL + ref + total + seq. */
export const CONCAT8_UDH_OCTETS = 6;
/** UDH with one 16-bit-reference concatenation IE. */
export const CONCAT16_UDH_OCTETS = 7;

/** Septets available for text after a UDH of `udhOctets` octets (the UDH is padded to a septet boundary). */
export function gsm7Capacity(udhOctets: number): number {
  const totalSeptets = Math.floor((USER_DATA_OCTETS * 8) / 7); // 160
  return totalSeptets - Math.ceil((udhOctets * 8) / 7);
}

/** UCS-2 code units available after a UDH of `udhOctets` octets. */
export function ucs2Capacity(udhOctets: number): number {
  return Math.floor((USER_DATA_OCTETS - udhOctets) / 2);
}

/** Splits `units` (indivisible pieces with a cost) greedily; greedy is optimal for ordered pieces. */
function split(pieces: { text: string; cost: number }[], capacity: number): string[] {
  const parts: string[] = [];
  let current = '';
  let used = 0;
  for (const piece of pieces) {
    if (used + piece.cost > capacity) {
      parts.push(current);
      current = '';
      used = 0;
    }
    current += piece.text;
    used += piece.cost;
  }
  parts.push(current);
  return parts;
}

function gsm7Pieces(text: string): { text: string; cost: number }[] {
  const pieces: { text: string; cost: number }[] = [];
  for (let i = 0; i < text.length; i++) pieces.push({ text: text[i]!, cost: gsm7Cost(text[i]!) });
  return pieces;
}

/** UTF-16 code units, keeping a well-formed surrogate pair as one piece (a lone surrogate is one unit). */
function ucs2Pieces(text: string): { text: string; cost: number }[] {
  const pieces: { text: string; cost: number }[] = [];
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        pieces.push({ text: text.slice(i, i + 2), cost: 2 });
        i++;
        continue;
      }
    }
    pieces.push({ text: text[i]!, cost: 1 });
  }
  return pieces;
}

/**
 * Plans segments for a given concatenation header size (6 octets for an 8-bit
 * reference, 7 for a 16-bit one). A text that fits one SMS gets no header.
 */
export function planSegmentsWithHeader(text: string, concatUdhOctets: number): SegmentPlan {
  if (isGsm7Encodable(text)) {
    const pieces = gsm7Pieces(text);
    const septets = pieces.reduce((sum, p) => sum + p.cost, 0);
    if (septets <= gsm7Capacity(0)) return { encoding: 'gsm7', parts: [text] };
    return { encoding: 'gsm7', parts: split(pieces, gsm7Capacity(concatUdhOctets)) };
  }
  if (text.length <= ucs2Capacity(0)) return { encoding: 'ucs2', parts: [text] };
  return { encoding: 'ucs2', parts: split(ucs2Pieces(text), ucs2Capacity(concatUdhOctets)) };
}

/**
 * How the text will be split: fewest segments; gsm7 when every char is in the
 * default alphabet + extension table, else ucs2; 160/153 septets (extension chars
 * count 2), 70/67 UCS-2 code units; never splits an escape sequence or a surrogate pair.
 */
export function planSegments(text: string): SegmentPlan {
  return planSegmentsWithHeader(text, CONCAT8_UDH_OCTETS);
}

/** planSegments(text).parts.length; the empty text is one (empty) segment. */
export function countSegments(text: string): number {
  return planSegments(text).parts.length;
}
