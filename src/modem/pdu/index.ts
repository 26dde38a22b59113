/**
 * SMS PDU codec (3GPP TS 23.040 / 23.038): pure functions, no I/O.
 * See README.md in this directory for the choices made where the standards leave room.
 */
export { PduError } from './errors.js';
export { planSegments, countSegments, planSegmentsWithHeader, gsm7Capacity, ucs2Capacity, type SegmentPlan } from './segments.js';
export {
  encodeSubmit,
  encodeDeliver,
  encodeStatusReport,
  defaultConcatRef,
  encodeRelativeValidity,
  decodeRelativeValidity,
  type SubmitOptions,
  type DeliverOptions,
  type StatusReportOptions,
} from './encode.js';
export { decodePdu, describeStatus, type DecodedPdu, type Concat, type SmsEncoding, type StatusClass } from './decode.js';
export { isGsm7Encodable, GSM7_DEFAULT_ALPHABET, GSM7_EXTENSION_CHARS } from './gsm7.js';
