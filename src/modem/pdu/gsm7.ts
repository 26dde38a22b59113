/**
 * GSM 7-bit default alphabet and its extension table (3GPP TS 23.038 §6.2.1 and
 * §6.2.1.1), and the septet packing of TS 23.038 §6.1.2.1.
 */
import { PduError } from './errors.js';

/** Index = septet value. Position 0x1B is the escape to the extension table, not a character. */
const DEFAULT_ALPHABET =
  '@£$¥èéùìòÇ\nØø\rÅå' +
  'Δ_ΦΓΛΩΠΨΣΘΞ\u001bÆæßÉ' +
  ' !"#¤%&\'()*+,-./' +
  '0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNO' +
  'PQRSTUVWXYZÄÖÑÜ§' +
  '¿abcdefghijklmno' +
  'pqrstuvwxyzäöñüà';

export const ESCAPE = 0x1b;

/** Extension table: septet after ESC → character. */
const EXTENSION: ReadonlyArray<readonly [number, string]> = [
  [0x0a, '\f'],
  [0x14, '^'],
  [0x28, '{'],
  [0x29, '}'],
  [0x2f, '\\'],
  [0x3c, '['],
  [0x3d, '~'],
  [0x3e, ']'],
  [0x40, '|'],
  [0x65, '€'],
];

const defaultByChar = new Map<string, number>();
for (let code = 0; code < DEFAULT_ALPHABET.length; code++) {
  if (code !== ESCAPE) defaultByChar.set(DEFAULT_ALPHABET[code]!, code);
}
const extensionByChar = new Map<string, number>(EXTENSION.map(([code, ch]) => [ch, code]));
const extensionByCode = new Map<number, string>(EXTENSION);

export const GSM7_DEFAULT_ALPHABET = DEFAULT_ALPHABET;
export const GSM7_EXTENSION_CHARS = EXTENSION.map(([, ch]) => ch).join('');

/** Septets one UTF-16 code unit costs in GSM 7-bit: 1, 2 (extension table), or 0 when not representable. */
export function gsm7Cost(ch: string): 0 | 1 | 2 {
  if (defaultByChar.has(ch)) return 1;
  if (extensionByChar.has(ch)) return 2;
  return 0;
}

export function isGsm7Encodable(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (gsm7Cost(text[i]!) === 0) return false;
  return true;
}

/** Text → septet values (ESC pairs for the extension table). Throws PduError on a character outside both tables. */
export function textToSeptets(text: string): number[] {
  const septets: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    const code = defaultByChar.get(ch);
    if (code !== undefined) {
      septets.push(code);
      continue;
    }
    const ext = extensionByChar.get(ch);
    if (ext === undefined) {
      throw new PduError(`character U+${ch.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')} is not in the GSM 7-bit alphabet`);
    }
    septets.push(ESCAPE, ext);
  }
  return septets;
}

/**
 * Septet values → text. An escape followed by a code the extension table does not
 * define shows the default-alphabet character of that code (TS 23.038 §6.2.1.1);
 * a dangling escape at the very end is dropped.
 */
export function septetsToText(septets: ArrayLike<number>): string {
  let text = '';
  for (let i = 0; i < septets.length; i++) {
    const code = septets[i]! & 0x7f;
    if (code !== ESCAPE) {
      text += DEFAULT_ALPHABET[code]!;
      continue;
    }
    if (i + 1 >= septets.length) break;
    const next = septets[++i]! & 0x7f;
    if (next === ESCAPE) {
      // ESC ESC is reserved for a further extension table; show a space as phones do.
      text += ' ';
      continue;
    }
    text += extensionByCode.get(next) ?? DEFAULT_ALPHABET[next]!;
  }
  return text;
}

/**
 * Writes septets into `target` starting `startSeptet` septets into it (bit
 * position startSeptet × 7). Starting at a septet boundary after a UDH is what
 * produces the fill bits of TS 23.040 §9.2.3.24.
 */
export function packSeptetsInto(target: Uint8Array, startSeptet: number, septets: ArrayLike<number>): void {
  let bit = startSeptet * 7;
  for (let i = 0; i < septets.length; i++) {
    const value = septets[i]! & 0x7f;
    const byteIndex = bit >> 3;
    const shift = bit & 7;
    target[byteIndex] = (target[byteIndex]! | (value << shift)) & 0xff;
    if (shift > 1) target[byteIndex + 1] = (target[byteIndex + 1]! | (value >> (8 - shift))) & 0xff;
    bit += 7;
  }
}

/** Packs septets on their own (no header): ceil(7n / 8) octets. */
export function packSeptets(septets: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(Math.ceil((septets.length * 7) / 8));
  packSeptetsInto(out, 0, septets);
  return out;
}

/** Reads `count` septets starting `startSeptet` septets into `source`. The caller checks the length. */
export function unpackSeptets(source: Uint8Array, startSeptet: number, count: number): number[] {
  const septets: number[] = [];
  let bit = startSeptet * 7;
  for (let i = 0; i < count; i++) {
    const byteIndex = bit >> 3;
    const shift = bit & 7;
    let value = (source[byteIndex] ?? 0) >> shift;
    if (shift > 1) value |= (source[byteIndex + 1] ?? 0) << (8 - shift);
    septets.push(value & 0x7f);
    bit += 7;
  }
  return septets;
}
