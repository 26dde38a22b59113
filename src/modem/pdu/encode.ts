/** Encoders for SMS-SUBMIT (what we send), SMS-DELIVER and SMS-STATUS-REPORT (what the virtual modem produces). */
import { writeAddress, writeSmsc } from './address.js';
import { ByteWriter } from './bytes.js';
import { PduError } from './errors.js';
import { packSeptetsInto, textToSeptets } from './gsm7.js';
import { CONCAT16_UDH_OCTETS, CONCAT8_UDH_OCTETS, planSegmentsWithHeader, type SegmentPlan } from './segments.js';
import { writeTimestamp } from './timestamp.js';

export interface SubmitOptions {
  to: string;
  text: string;
  statusReport?: boolean;
  /** 0-255, used when >1 part; defaults to a hash of recipient and text (see defaultConcatRef). */
  concatRef?: number;
  /** TP-MR, default 0 (modems in PDU mode replace it with their own counter). */
  messageRef?: number;
  /** Relative validity period; rounded up to the next value the format can express, capped at 63 weeks. */
  validityMinutes?: number;
}

export interface DeliverOptions {
  /** '+8613900000000', '10086', or alphanumeric like 'TAOBAO'. */
  from: string;
  text: string;
  timestamp: Date;
  /** Default +32 = UTC+8. */
  tzQuarterHours?: number;
  concatRef?: number;
  concatRef16?: boolean;
  smsc?: string;
  /** TP-SRI: the sender asked for a status report. */
  statusReportIndication?: boolean;
}

export interface StatusReportOptions {
  messageRef: number;
  recipient: string;
  /** TP-ST, 0 = delivered. */
  status: number;
  submittedAt: Date;
  dischargedAt: Date;
  smsc?: string;
  /** Zone of both timestamps, default +32 = UTC+8. */
  tzQuarterHours?: number;
}

const MAX_PARTS = 255;
const DEFAULT_TZ_QUARTERS = 32;

const DCS_GSM7 = 0x00;
const DCS_UCS2 = 0x08;

function checkInteger(value: number, name: string, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) throw new PduError(`${name} must be an integer ${min}-${max}, got ${value}`);
  return value;
}

/**
 * The concatenation reference used when the caller gives none: derived from the
 * message (FNV-1a of recipient and text), so a retried send keeps its reference and
 * two different messages to one phone are unlikely to share one. Callers that keep a
 * per-SIM counter should pass concatRef instead.
 */
export function defaultConcatRef(to: string, text: string): number {
  let hash = 0x811c9dc5;
  const input = `${to}\u0000${text}`;
  for (let i = 0; i < input.length; i++) {
    hash ^= input.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return (hash ^ (hash >>> 8) ^ (hash >>> 16) ^ (hash >>> 24)) & 0xff;
}

function concatHeader(ref: number, ref16: boolean, part: number, total: number): number[] {
  return ref16
    ? [CONCAT16_UDH_OCTETS - 1, 0x08, 0x04, (ref >> 8) & 0xff, ref & 0xff, total, part]
    : [CONCAT8_UDH_OCTETS - 1, 0x00, 0x03, ref & 0xff, total, part];
}

/** TP-UDL and TP-UD for one segment. */
function userData(encoding: SegmentPlan['encoding'], text: string, udh: number[] | null): { udl: number; ud: Uint8Array } {
  const header = udh ?? [];
  if (encoding === 'gsm7') {
    const septets = textToSeptets(text);
    // The header is padded with fill bits up to a septet boundary (TS 23.040 §9.2.3.24).
    const headerSeptets = Math.ceil((header.length * 8) / 7);
    const udl = headerSeptets + septets.length;
    const ud = new Uint8Array(Math.ceil((udl * 7) / 8));
    ud.set(header, 0);
    packSeptetsInto(ud, headerSeptets, septets);
    return { udl, ud };
  }
  const ud = new Uint8Array(header.length + text.length * 2);
  ud.set(header, 0);
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    ud[header.length + i * 2] = unit >> 8;
    ud[header.length + i * 2 + 1] = unit & 0xff;
  }
  return { udl: ud.length, ud };
}

function planOrThrow(text: string, udhOctets: number): SegmentPlan {
  if (typeof text !== 'string') throw new PduError('text must be a string');
  const plan = planSegmentsWithHeader(text, udhOctets);
  if (plan.parts.length > MAX_PARTS) throw new PduError(`text needs ${plan.parts.length} segments; at most ${MAX_PARTS} can be concatenated`);
  return plan;
}

/** TP-VP relative format (TS 23.040 §9.2.3.12.1), rounding up. */
export function encodeRelativeValidity(minutes: number): number {
  if (!Number.isFinite(minutes) || minutes < 0) throw new PduError(`validityMinutes must be a non-negative number, got ${minutes}`);
  if (minutes <= 12 * 60) return Math.max(0, Math.ceil(minutes / 5) - 1);
  if (minutes <= 24 * 60) return 143 + Math.ceil((minutes - 12 * 60) / 30);
  if (minutes <= 30 * 24 * 60) return 166 + Math.ceil(minutes / (24 * 60));
  return Math.min(255, 192 + Math.ceil(minutes / (7 * 24 * 60)));
}

/** Minutes a relative TP-VP octet stands for. */
export function decodeRelativeValidity(vp: number): number {
  if (vp <= 143) return (vp + 1) * 5;
  if (vp <= 167) return 12 * 60 + (vp - 143) * 30;
  if (vp <= 196) return (vp - 166) * 24 * 60;
  return (vp - 192) * 7 * 24 * 60;
}

/**
 * One hex PDU per segment, each starting with the SMSC octet "00" (use the SIM's
 * SMSC), as written after AT+CMGS=<tpduLength>. '+' numbers are international
 * (0x91, written without the '+'); other digit strings national (0x81).
 */
export function encodeSubmit(opts: SubmitOptions): { pdu: string; tpduLength: number }[] {
  const plan = planOrThrow(opts.text, CONCAT8_UDH_OCTETS);
  const messageRef = checkInteger(opts.messageRef ?? 0, 'messageRef', 0, 255);
  const concatRef = checkInteger(opts.concatRef ?? defaultConcatRef(opts.to, opts.text), 'concatRef', 0, 255);
  const vp = opts.validityMinutes === undefined ? null : encodeRelativeValidity(opts.validityMinutes);
  const multipart = plan.parts.length > 1;
  return plan.parts.map((part, index) => {
    const udh = multipart ? concatHeader(concatRef, false, index + 1, plan.parts.length) : null;
    const { udl, ud } = userData(plan.encoding, part, udh);
    const writer = new ByteWriter();
    writeSmsc(writer, undefined);
    const smscOctets = writer.length;
    const firstOctet =
      0x01 | // TP-MTI SMS-SUBMIT
      (vp === null ? 0 : 0x10) | // TP-VPF relative
      (opts.statusReport ? 0x20 : 0) | // TP-SRR
      (udh ? 0x40 : 0); // TP-UDHI
    writer.u8(firstOctet).u8(messageRef);
    writeAddress(writer, opts.to, false);
    writer.u8(0x00); // TP-PID: plain SME-to-SME
    writer.u8(plan.encoding === 'gsm7' ? DCS_GSM7 : DCS_UCS2);
    if (vp !== null) writer.u8(vp);
    writer.u8(udl).bytes(ud);
    return { pdu: writer.toHex(), tpduLength: writer.length - smscOctets };
  });
}

/** SMS-DELIVER PDUs (with the SMSC prefix, '00' when smsc is omitted), one per segment. */
export function encodeDeliver(opts: DeliverOptions): string[] {
  const ref16 = opts.concatRef16 === true;
  const plan = planOrThrow(opts.text, ref16 ? CONCAT16_UDH_OCTETS : CONCAT8_UDH_OCTETS);
  const concatRef = checkInteger(opts.concatRef ?? defaultConcatRef(opts.from, opts.text), 'concatRef', 0, ref16 ? 0xffff : 0xff);
  const tz = opts.tzQuarterHours ?? DEFAULT_TZ_QUARTERS;
  const multipart = plan.parts.length > 1;
  return plan.parts.map((part, index) => {
    const udh = multipart ? concatHeader(concatRef, ref16, index + 1, plan.parts.length) : null;
    const { udl, ud } = userData(plan.encoding, part, udh);
    const writer = new ByteWriter();
    writeSmsc(writer, opts.smsc);
    const firstOctet =
      0x00 | // TP-MTI SMS-DELIVER
      0x04 | // TP-MMS: no more messages waiting
      (opts.statusReportIndication ? 0x20 : 0) |
      (udh ? 0x40 : 0);
    writer.u8(firstOctet);
    writeAddress(writer, opts.from, true);
    writer.u8(0x00).u8(plan.encoding === 'gsm7' ? DCS_GSM7 : DCS_UCS2);
    writeTimestamp(writer, opts.timestamp, tz);
    writer.u8(udl).bytes(ud);
    return writer.toHex();
  });
}

/** SMS-STATUS-REPORT PDU (with the SMSC prefix), as a modem shows it in +CDS. */
export function encodeStatusReport(opts: StatusReportOptions): string {
  const messageRef = checkInteger(opts.messageRef, 'messageRef', 0, 255);
  const status = checkInteger(opts.status, 'status', 0, 255);
  const tz = opts.tzQuarterHours ?? DEFAULT_TZ_QUARTERS;
  const writer = new ByteWriter();
  writeSmsc(writer, opts.smsc);
  writer.u8(0x02 | 0x04); // TP-MTI SMS-STATUS-REPORT, TP-MMS no more messages; TP-SRQ 0 = result of a SUBMIT
  writer.u8(messageRef);
  writeAddress(writer, opts.recipient, false);
  writeTimestamp(writer, opts.submittedAt, tz);
  writeTimestamp(writer, opts.dischargedAt, tz);
  writer.u8(status);
  return writer.toHex();
}
