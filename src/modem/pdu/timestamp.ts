/** TP-SCTS / TP-DT (TS 23.040 §9.2.3.11): seven swapped-BCD octets, the last a signed quarter-hour zone. */
import { ByteReader, ByteWriter } from './bytes.js';
import { PduError } from './errors.js';

const MAX_ZONE_QUARTERS = 79; // two BCD digits with the sign taking the top bit

function swappedBcd(value: number): number {
  return ((value % 10) << 4) | Math.floor(value / 10);
}

/**
 * Writes `date` as the local time of the zone `tzQuarterHours` (e.g. +32 = UTC+8).
 * Years are written modulo 100, as the format demands.
 */
export function writeTimestamp(writer: ByteWriter, date: Date, tzQuarterHours: number): void {
  if (!(date instanceof Date) || Number.isNaN(date.getTime())) throw new PduError('timestamp is not a valid Date');
  if (!Number.isInteger(tzQuarterHours) || Math.abs(tzQuarterHours) > MAX_ZONE_QUARTERS) {
    throw new PduError(`time zone ${tzQuarterHours} quarter hours is out of range ±${MAX_ZONE_QUARTERS}`);
  }
  const local = new Date(date.getTime() + tzQuarterHours * 15 * 60_000);
  writer
    .u8(swappedBcd(local.getUTCFullYear() % 100))
    .u8(swappedBcd(local.getUTCMonth() + 1))
    .u8(swappedBcd(local.getUTCDate()))
    .u8(swappedBcd(local.getUTCHours()))
    .u8(swappedBcd(local.getUTCMinutes()))
    .u8(swappedBcd(local.getUTCSeconds()));
  const quarters = Math.abs(tzQuarterHours);
  writer.u8(swappedBcd(quarters) | (tzQuarterHours < 0 ? 0x08 : 0));
}

function readBcd(reader: ByteReader, field: string, min: number, max: number): number {
  const octet = reader.u8(field);
  const tens = octet & 0x0f;
  const units = octet >> 4;
  if (tens > 9 || units > 9) throw new PduError(`${field} octet ${octet.toString(16).padStart(2, '0')} is not BCD`);
  const value = tens * 10 + units;
  if (value < min || value > max) throw new PduError(`${field} ${value} is out of range ${min}-${max}`);
  return value;
}

const pad2 = (n: number): string => String(n).padStart(2, '0');

/** A decoded service-centre time: the local wall-clock fields plus their zone. */
export interface SmsTimestamp {
  /** ISO 8601 with the offset, e.g. 2026-11-25T09:30:00+08:00. */
  iso: string;
  tzQuarterHours: number;
}

/**
 * Reads a timestamp. Two-digit years 00-89 are 20xx and 90-99 are 19xx (the
 * classic 1999 vectors keep their meaning; no SMS is stamped 2090 or later yet).
 */
export function readTimestamp(reader: ByteReader, field: string): SmsTimestamp {
  const yy = readBcd(reader, `${field} year`, 0, 99);
  const month = readBcd(reader, `${field} month`, 1, 12);
  const day = readBcd(reader, `${field} day`, 1, 31);
  const hour = readBcd(reader, `${field} hour`, 0, 23);
  const minute = readBcd(reader, `${field} minute`, 0, 59);
  const second = readBcd(reader, `${field} second`, 0, 59);
  const zoneOctet = reader.u8(`${field} time zone`);
  const zoneTens = zoneOctet & 0x07;
  const zoneUnits = zoneOctet >> 4;
  // Some networks send a zone octet that is not BCD (a Kenyan SMSC's status reports carry
  // 0xE1, see test/pdu); the wall-clock fields are still right, so read the zone as UTC
  // rather than lose the message.
  const quarters = zoneUnits > 9 ? 0 : (zoneTens * 10 + zoneUnits) * (zoneOctet & 0x08 ? -1 : 1);
  const year = yy < 90 ? 2000 + yy : 1900 + yy;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day > daysInMonth) throw new PduError(`${field} day ${day} does not exist in ${year}-${pad2(month)}`);
  const offsetMinutes = Math.abs(quarters) * 15;
  const offset = `${quarters < 0 ? '-' : '+'}${pad2(Math.floor(offsetMinutes / 60))}:${pad2(offsetMinutes % 60)}`;
  return {
    iso: `${year}-${pad2(month)}-${pad2(day)}T${pad2(hour)}:${pad2(minute)}:${pad2(second)}${offset}`,
    tzQuarterHours: quarters,
  };
}
