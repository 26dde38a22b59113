/** Decoder for SMS-DELIVER, SMS-SUBMIT and SMS-STATUS-REPORT PDUs that start with the SMSC information. */
import { readAddress, readSmsc } from './address.js';
import { ByteReader, bytesToHex, hexToBytes } from './bytes.js';
import { decodeRelativeValidity } from './encode.js';
import { PduError } from './errors.js';
import { septetsToText, unpackSeptets } from './gsm7.js';
import { readTimestamp } from './timestamp.js';

export type SmsEncoding = 'gsm7' | '8bit' | 'ucs2';

export interface Concat {
  ref: number;
  part: number;
  total: number;
  ref16: boolean;
}

export type StatusClass = 'completed' | 'temporary-trying' | 'permanent' | 'temporary-final';

export type DecodedPdu =
  | {
      type: 'deliver';
      smsc: string | null;
      number: string;
      /** For 8-bit data: the octets as upper-case hex (8-bit SMS are binary: WAP push, OTA, ports). */
      text: string;
      encoding: SmsEncoding;
      concat: Concat | null;
      /** ISO 8601 with offset, e.g. 2026-11-25T09:30:00+08:00. */
      timestamp: string;
      statusReportIndication?: boolean;
    }
  | {
      type: 'submit';
      smsc: string | null;
      number: string;
      text: string;
      encoding: SmsEncoding;
      concat: Concat | null;
      messageRef: number;
      statusReportRequest: boolean;
      /** Present when TP-VP is in the relative format. */
      validityMinutes?: number;
    }
  | {
      type: 'status-report';
      smsc: string | null;
      number: string;
      messageRef: number;
      status: number;
      statusText: string;
      statusClass: StatusClass;
      timestamp: string;
      dischargeTime: string;
      delivered: boolean;
      final: boolean;
    };

const MAX_SEPTETS = 160;
const MAX_OCTETS = 140;

interface DataCoding {
  encoding: SmsEncoding;
  compressed: boolean;
}

/** TP-DCS (TS 23.038 §4). Reserved codings are read as the GSM 7-bit alphabet, as the spec asks. */
function parseDataCoding(dcs: number): DataCoding {
  const group = dcs >> 4;
  if (group <= 0x07) {
    // General data coding (00xx) and automatic-deletion group (01xx).
    const alphabet = (dcs >> 2) & 0x03;
    const encoding: SmsEncoding = alphabet === 1 ? '8bit' : alphabet === 2 ? 'ucs2' : 'gsm7';
    return { encoding, compressed: (dcs & 0x20) !== 0 };
  }
  if (group === 0x0e) return { encoding: 'ucs2', compressed: false }; // message waiting, store, UCS-2
  if (group === 0x0f) return { encoding: dcs & 0x04 ? '8bit' : 'gsm7', compressed: false }; // data coding / message class
  return { encoding: 'gsm7', compressed: false }; // 0xC/0xD message waiting (GSM 7-bit); 0x8-0xB reserved
}

/** Reads the concatenation IE out of a UDH, ignoring every other IE. */
function parseUserDataHeader(udh: Uint8Array): Concat | null {
  let concat: Concat | null = null;
  let pos = 0;
  while (pos < udh.length) {
    if (pos + 2 > udh.length) throw new PduError('user data header ends inside an information element');
    const iei = udh[pos]!;
    const length = udh[pos + 1]!;
    const data = udh.subarray(pos + 2, pos + 2 + length);
    if (data.length !== length) throw new PduError(`user data header IE 0x${iei.toString(16).padStart(2, '0')} is longer than the header`);
    let candidate: Concat | null = null;
    if (iei === 0x00 && length === 3) candidate = { ref: data[0]!, total: data[1]!, part: data[2]!, ref16: false };
    if (iei === 0x08 && length === 4) candidate = { ref: (data[0]! << 8) | data[1]!, total: data[2]!, part: data[3]!, ref16: true };
    // TS 23.040 §9.2.3.24.1: a zero total, or a part number of zero or above the total, voids the IE.
    if (candidate && candidate.total > 0 && candidate.part > 0 && candidate.part <= candidate.total) concat = candidate;
    pos += 2 + length;
  }
  return concat;
}

function readUserData(reader: ByteReader, hasHeader: boolean, coding: DataCoding): { text: string; concat: Concat | null } {
  if (coding.compressed) throw new PduError('compressed user data (TS 23.042) is not supported');
  const udl = reader.u8('TP-UDL');
  const isSeptets = coding.encoding === 'gsm7';
  if (udl > (isSeptets ? MAX_SEPTETS : MAX_OCTETS)) {
    throw new PduError(`TP-UDL ${udl} exceeds the maximum of ${isSeptets ? `${MAX_SEPTETS} septets` : `${MAX_OCTETS} octets`}`);
  }
  const octetCount = isSeptets ? Math.ceil((udl * 7) / 8) : udl;
  // Trailing octets beyond TP-UDL are ignored: some modems pad the PDU they report.
  const ud = reader.take(octetCount, 'user data');

  let headerOctets = 0;
  let concat: Concat | null = null;
  if (hasHeader) {
    if (ud.length === 0) throw new PduError('TP-UDHI is set but the user data is empty');
    headerOctets = ud[0]! + 1;
    if (headerOctets > ud.length) throw new PduError(`user data header length ${ud[0]} exceeds the user data`);
    concat = parseUserDataHeader(ud.subarray(1, headerOctets));
  }

  if (isSeptets) {
    const headerSeptets = Math.ceil((headerOctets * 8) / 7);
    if (headerSeptets > udl) throw new PduError(`user data header (${headerSeptets} septets) is longer than TP-UDL ${udl}`);
    return { text: septetsToText(unpackSeptets(ud, headerSeptets, udl - headerSeptets)), concat };
  }
  const body = ud.subarray(headerOctets);
  if (coding.encoding === '8bit') return { text: bytesToHex(body), concat };
  if (body.length % 2 !== 0) throw new PduError(`UCS-2 user data has an odd number of octets (${body.length})`);
  let text = '';
  for (let i = 0; i < body.length; i += 2) text += String.fromCharCode((body[i]! << 8) | body[i + 1]!);
  return { text, concat };
}

/** TP-ST (TS 23.040 §9.2.3.15). */
export function describeStatus(status: number): { text: string; statusClass: StatusClass; delivered: boolean; final: boolean } {
  const named: Record<number, string> = {
    0x00: 'delivered: short message received by the SME',
    0x01: 'forwarded by the SC to the SME, delivery not confirmed',
    0x02: 'replaced by the SC',
    0x20: 'congestion (SC still trying)',
    0x21: 'SME busy (SC still trying)',
    0x22: 'no response from SME (SC still trying)',
    0x23: 'service rejected (SC still trying)',
    0x24: 'quality of service not available (SC still trying)',
    0x25: 'error in SME (SC still trying)',
    0x40: 'remote procedure error',
    0x41: 'incompatible destination',
    0x42: 'connection rejected by SME',
    0x43: 'not obtainable',
    0x44: 'quality of service not available',
    0x45: 'no interworking available',
    0x46: 'validity period expired',
    0x47: 'deleted by originating SME',
    0x48: 'deleted by SC administration',
    0x49: 'short message does not exist',
    0x60: 'congestion (SC gave up)',
    0x61: 'SME busy (SC gave up)',
    0x62: 'no response from SME (SC gave up)',
    0x63: 'service rejected (SC gave up)',
    0x64: 'quality of service not available (SC gave up)',
    0x65: 'error in SME (SC gave up)',
  };
  const hex = `0x${status.toString(16).padStart(2, '0')}`;
  if (status <= 0x1f) {
    return { text: named[status] ?? `transaction completed (${status >= 0x10 ? 'SC-specific' : 'reserved'} status ${hex})`, statusClass: 'completed', delivered: true, final: true };
  }
  if (status <= 0x3f) {
    return { text: named[status] ?? `temporary error, SC still trying (${status >= 0x30 ? 'SC-specific' : 'reserved'} status ${hex})`, statusClass: 'temporary-trying', delivered: false, final: false };
  }
  if (status <= 0x5f) {
    return { text: named[status] ?? `permanent error (${status >= 0x50 ? 'SC-specific' : 'reserved'} status ${hex})`, statusClass: 'permanent', delivered: false, final: true };
  }
  if (status <= 0x7f) {
    return { text: named[status] ?? `temporary error, SC gave up (${status >= 0x70 ? 'SC-specific' : 'reserved'} status ${hex})`, statusClass: 'temporary-final', delivered: false, final: true };
  }
  // Bit 7 set is reserved. Claiming delivery would be wrong and waiting forever for a final
  // report would stall the message, so it counts as a final failure.
  return { text: `reserved status ${hex} (bit 7 set; treated as a final failure)`, statusClass: 'permanent', delivered: false, final: true };
}

/**
 * The decoder without decodePdu's safety net; exported for the fuzz tests, which check that
 * every rejection comes from an explicit check here rather than from a stray TypeError.
 */
export function decodePduUnguarded(hex: string): DecodedPdu {
  const reader = new ByteReader(hexToBytes(hex));
  const smsc = readSmsc(reader);
  const firstOctet = reader.u8('first octet');
  const messageType = firstOctet & 0x03;
  const hasHeader = (firstOctet & 0x40) !== 0;

  if (messageType === 0x00) {
    const number = readAddress(reader, 'TP-OA');
    reader.u8('TP-PID');
    const coding = parseDataCoding(reader.u8('TP-DCS'));
    const timestamp = readTimestamp(reader, 'TP-SCTS');
    const { text, concat } = readUserData(reader, hasHeader, coding);
    const result: DecodedPdu = { type: 'deliver', smsc, number, text, encoding: coding.encoding, concat, timestamp: timestamp.iso };
    if (firstOctet & 0x20) result.statusReportIndication = true;
    return result;
  }

  if (messageType === 0x01) {
    const messageRef = reader.u8('TP-MR');
    const number = readAddress(reader, 'TP-DA');
    reader.u8('TP-PID');
    const coding = parseDataCoding(reader.u8('TP-DCS'));
    const validityFormat = (firstOctet >> 3) & 0x03;
    let validityMinutes: number | undefined;
    if (validityFormat === 0x02) validityMinutes = decodeRelativeValidity(reader.u8('TP-VP'));
    else if (validityFormat !== 0x00) reader.take(7, validityFormat === 0x03 ? 'TP-VP (absolute)' : 'TP-VP (enhanced)');
    const { text, concat } = readUserData(reader, hasHeader, coding);
    const result: DecodedPdu = {
      type: 'submit',
      smsc,
      number,
      text,
      encoding: coding.encoding,
      concat,
      messageRef,
      statusReportRequest: (firstOctet & 0x20) !== 0,
    };
    if (validityMinutes !== undefined) result.validityMinutes = validityMinutes;
    return result;
  }

  if (messageType === 0x02) {
    const messageRef = reader.u8('TP-MR');
    const number = readAddress(reader, 'TP-RA');
    const timestamp = readTimestamp(reader, 'TP-SCTS');
    const dischargeTime = readTimestamp(reader, 'TP-DT');
    const status = reader.u8('TP-ST');
    // Optional TP-PI / PID / DCS / UD after TP-ST carry nothing we act on.
    const described = describeStatus(status);
    return {
      type: 'status-report',
      smsc,
      number,
      messageRef,
      status,
      statusText: described.text,
      statusClass: described.statusClass,
      timestamp: timestamp.iso,
      dischargeTime: dischargeTime.iso,
      delivered: described.delivered,
      final: described.final,
    };
  }

  throw new PduError('TP-MTI 3 is reserved: not a DELIVER, SUBMIT or STATUS-REPORT PDU');
}

/**
 * Decodes a hex PDU that starts with the SMSC info (as in AT+CMGL/CMGR/+CMT/+CDS
 * output and as given to AT+CMGS). Throws PduError on malformed input, never
 * anything else.
 */
export function decodePdu(hex: string): DecodedPdu {
  try {
    return decodePduUnguarded(hex);
  } catch (error) {
    if (error instanceof PduError) throw error;
    // A bug of ours must still surface as the one documented error type.
    throw new PduError(`PDU could not be decoded: ${error instanceof Error ? error.message : String(error)}`);
  }
}
