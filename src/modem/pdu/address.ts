/**
 * Address fields (TS 23.040 §9.1.2.5) and the SMSC information that precedes a
 * TPDU in AT+CMGS/CMGL/CMGR/+CMT/+CDS (TS 24.011 RP address, as used by 27.005).
 */
import { ByteReader, ByteWriter } from './bytes.js';
import { PduError } from './errors.js';
import { packSeptets, septetsToText, textToSeptets, unpackSeptets } from './gsm7.js';

export const TON_NPI_INTERNATIONAL = 0x91;
export const TON_NPI_NATIONAL = 0x81;
export const TON_NPI_ALPHANUMERIC = 0xd0;

const BCD_DIGITS = '0123456789*#abc';
const MAX_ADDRESS_DIGITS = 20;
const MAX_ALPHANUMERIC_SEPTETS = 11;

/**
 * Normalizes a dialled number: separators that people type (space, '-', '.', parentheses)
 * are dropped; what is left must be an optional '+' and BCD-representable digits.
 */
function parseDialString(number: string): { international: boolean; digits: string } {
  const compact = number.replace(/[\s\-.()]/g, '');
  const international = compact.startsWith('+');
  const digits = international ? compact.slice(1) : compact;
  if (digits.length === 0) throw new PduError(`phone number "${number}" has no digits`);
  if (!/^[0-9*#]+$/.test(digits)) throw new PduError(`phone number "${number}" may contain only digits, * and # after an optional +`);
  if (digits.length > MAX_ADDRESS_DIGITS) throw new PduError(`phone number "${number}" is longer than ${MAX_ADDRESS_DIGITS} digits`);
  return { international, digits };
}

function digitsToSemiOctets(digits: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < digits.length; i += 2) {
    const low = BCD_DIGITS.indexOf(digits[i]!);
    const high = i + 1 < digits.length ? BCD_DIGITS.indexOf(digits[i + 1]!) : 0x0f;
    out.push((high << 4) | low);
  }
  return out;
}

function semiOctetsToDigits(bytes: Uint8Array, digitCount: number, field: string): string {
  let digits = '';
  for (let i = 0; i < digitCount; i++) {
    const byte = bytes[i >> 1]!;
    const nibble = i % 2 === 0 ? byte & 0x0f : byte >> 4;
    if (nibble === 0x0f) {
      // A filler inside the declared length: some networks count the filler; stop here.
      break;
    }
    digits += BCD_DIGITS[nibble]!;
  }
  if (digits.length === 0 && digitCount > 0) throw new PduError(`${field} has no digits`);
  return digits;
}

/**
 * Writes a TP-DA / TP-OA / TP-RA address. Numbers starting with '+' are international
 * (0x91); other digit strings are written as national (0x81: TON "unknown", ISDN plan —
 * the network then treats them as dialled, e.g. 13800138000 or 10086); anything else
 * (e.g. "TAOBAO") is alphanumeric (0xD0, 7-bit packed, at most 11 characters).
 */
export function writeAddress(writer: ByteWriter, address: string, allowAlphanumeric: boolean): void {
  const compact = address.replace(/[\s\-.()]/g, '');
  if (allowAlphanumeric && !/^\+?[0-9*#]+$/.test(compact)) {
    const septets = textToSeptets(address);
    if (septets.length === 0) throw new PduError('alphanumeric address is empty');
    if (septets.length > MAX_ALPHANUMERIC_SEPTETS) {
      throw new PduError(`alphanumeric address "${address}" is longer than ${MAX_ALPHANUMERIC_SEPTETS} GSM characters`);
    }
    writer.u8(Math.ceil((septets.length * 7) / 4)).u8(TON_NPI_ALPHANUMERIC).bytes(packSeptets(septets));
    return;
  }
  const { international, digits } = parseDialString(address);
  writer
    .u8(digits.length)
    .u8(international ? TON_NPI_INTERNATIONAL : TON_NPI_NATIONAL)
    .bytes(digitsToSemiOctets(digits));
}

/** Reads a TP-OA / TP-DA / TP-RA address (length = useful semi-octets). */
export function readAddress(reader: ByteReader, field: string): string {
  const semiOctets = reader.u8(`${field} length`);
  if (semiOctets > MAX_ADDRESS_DIGITS) throw new PduError(`${field} length ${semiOctets} exceeds ${MAX_ADDRESS_DIGITS} semi-octets`);
  const type = reader.u8(`${field} type`);
  const body = reader.take(Math.ceil(semiOctets / 2), field);
  const typeOfNumber = (type >> 4) & 0x07;
  if (typeOfNumber === 0x05) {
    const septetCount = Math.floor((semiOctets * 4) / 7);
    return septetsToText(unpackSeptets(body, 0, septetCount));
  }
  if (semiOctets === 0) return '';
  const digits = semiOctetsToDigits(body, semiOctets, field);
  return typeOfNumber === 0x01 ? `+${digits}` : digits;
}

/** SMSC information: length in octets (type + digits), '00' when the SIM's SMSC is meant. */
export function writeSmsc(writer: ByteWriter, smsc: string | undefined): void {
  if (smsc === undefined || smsc === '') {
    writer.u8(0);
    return;
  }
  const { international, digits } = parseDialString(smsc);
  const body = digitsToSemiOctets(digits);
  writer.u8(body.length + 1).u8(international ? TON_NPI_INTERNATIONAL : TON_NPI_NATIONAL).bytes(body);
}

export function readSmsc(reader: ByteReader): string | null {
  const octets = reader.u8('SMSC length');
  if (octets === 0) return null;
  if (octets > 11) throw new PduError(`SMSC length ${octets} exceeds 11 octets (is the SMSC prefix missing?)`);
  const type = reader.u8('SMSC type');
  const body = reader.take(octets - 1, 'SMSC address');
  if (body.length === 0) return '';
  let digits = '';
  for (let i = 0; i < body.length * 2; i++) {
    const nibble = i % 2 === 0 ? body[i >> 1]! & 0x0f : body[i >> 1]! >> 4;
    if (nibble === 0x0f) break;
    digits += BCD_DIGITS[nibble]!;
  }
  return ((type >> 4) & 0x07) === 0x01 ? `+${digits}` : digits;
}
