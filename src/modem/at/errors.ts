/**
 * The error numbers a modem reports in `+CMS ERROR: <err>` (3GPP TS 27.005
 * §3.2.5) and `+CME ERROR: <err>` (3GPP TS 27.007 §9.2), with their texts,
 * and the one policy question the dispatcher asks of a failed send: is this
 * message hopeless (`final`), or may the same message succeed later
 * (`retryable`)?
 *
 * Sources checked for the numbers and texts:
 * - 27.005 §3.2.5: 0…127 are the RP-cause values of TS 24.011 Annex E-2,
 *   128…255 the TP-FCS values of TS 23.040 §9.2.3.22, 300…500 defined in
 *   27.005 itself, 512 and up manufacturer specific.
 * - Gammu's libgammu/phone/at/atgen.c (CMSErrorCodes, CMEErrorCodes and
 *   ATGEN_HandleCMSError), read for the facts only.
 *
 * With AT+CMEE=2 SIMCom and Quectel modules print the text instead of the
 * number (`+CMS ERROR: SIM not inserted`); {@link lookupCmsText} and
 * {@link lookupCmeText} map such a text back to its number where the text
 * is one we know.
 */

export type ErrorClass = 'retryable' | 'final';

/** 27.005 §3.2.5 `<err>` values with the wording of the specs they come from. */
export const CMS_ERROR_TEXT: ReadonlyMap<number, string> = new Map([
  // 24.011 Annex E-2 (RP-cause)
  [1, 'Unassigned (unallocated) number'],
  [8, 'Operator determined barring'],
  [10, 'Call barred'],
  [21, 'Short message transfer rejected'],
  [22, 'Memory capacity exceeded'],
  [27, 'Destination out of order'],
  [28, 'Unidentified subscriber'],
  [29, 'Facility rejected'],
  [30, 'Unknown subscriber'],
  [38, 'Network out of order'],
  [41, 'Temporary failure'],
  [42, 'Congestion'],
  [47, 'Resources unavailable, unspecified'],
  [50, 'Requested facility not subscribed'],
  [69, 'Requested facility not implemented'],
  [81, 'Invalid short message transfer reference value'],
  [95, 'Invalid message, unspecified'],
  [96, 'Invalid mandatory information'],
  [97, 'Message type non-existent or not implemented'],
  [98, 'Message not compatible with short message protocol state'],
  [99, 'Information element non-existent or not implemented'],
  [111, 'Protocol error, unspecified'],
  [127, 'Interworking, unspecified'],
  // 23.040 §9.2.3.22 (TP-Failure-Cause)
  [0x80, 'Telematic interworking not supported'],
  [0x81, 'Short message Type 0 not supported'],
  [0x82, 'Cannot replace short message'],
  [0x8f, 'Unspecified TP-PID error'],
  [0x90, 'Data coding scheme (alphabet) not supported'],
  [0x91, 'Message class not supported'],
  [0x9f, 'Unspecified TP-DCS error'],
  [0xa0, 'Command cannot be actioned'],
  [0xa1, 'Command unsupported'],
  [0xaf, 'Unspecified TP-Command error'],
  [0xb0, 'TPDU not supported'],
  [0xc0, 'SC busy'],
  [0xc1, 'No SC subscription'],
  [0xc2, 'SC system failure'],
  [0xc3, 'Invalid SME address'],
  [0xc4, 'Destination SME barred'],
  [0xc5, 'SM Rejected-Duplicate SM'],
  [0xc6, 'TP-VPF not supported'],
  [0xc7, 'TP-VP not supported'],
  [0xd0, 'SIM SMS storage full'],
  [0xd1, 'No SMS storage capability in SIM'],
  [0xd2, 'Error in MS'],
  [0xd3, 'Memory Capacity Exceeded'],
  [0xd4, 'SIM Application Toolkit Busy'],
  [0xd5, 'SIM data download error'],
  [0xff, 'Unspecified error cause'],
  // 27.005 §3.2.5 itself
  [300, 'ME failure'],
  [301, 'SMS service of ME reserved'],
  [302, 'operation not allowed'],
  [303, 'operation not supported'],
  [304, 'invalid PDU mode parameter'],
  [305, 'invalid text mode parameter'],
  [310, 'SIM not inserted'],
  [311, 'SIM PIN required'],
  [312, 'PH-SIM PIN required'],
  [313, 'SIM failure'],
  [314, 'SIM busy'],
  [315, 'SIM wrong'],
  [316, 'SIM PUK required'],
  [317, 'SIM PIN2 required'],
  [318, 'SIM PUK2 required'],
  [320, 'memory failure'],
  [321, 'invalid memory index'],
  [322, 'memory full'],
  [330, 'SMSC address unknown'],
  [331, 'no network service'],
  [332, 'network timeout'],
  [340, 'no +CNMA acknowledgement expected'],
  [500, 'unknown error'],
]);

/** 27.007 §9.2.1 and §9.2.2 `<err>` values (the ones a modem that only sends SMS meets). */
export const CME_ERROR_TEXT: ReadonlyMap<number, string> = new Map([
  [0, 'phone failure'],
  [1, 'no connection to phone'],
  [2, 'phone-adaptor link reserved'],
  [3, 'operation not allowed'],
  [4, 'operation not supported'],
  [5, 'PH-SIM PIN required'],
  [6, 'PH-FSIM PIN required'],
  [7, 'PH-FSIM PUK required'],
  [10, 'SIM not inserted'],
  [11, 'SIM PIN required'],
  [12, 'SIM PUK required'],
  [13, 'SIM failure'],
  [14, 'SIM busy'],
  [15, 'SIM wrong'],
  [16, 'incorrect password'],
  [17, 'SIM PIN2 required'],
  [18, 'SIM PUK2 required'],
  [20, 'memory full'],
  [21, 'invalid index'],
  [22, 'not found'],
  [23, 'memory failure'],
  [24, 'text string too long'],
  [25, 'invalid characters in text string'],
  [26, 'dial string too long'],
  [27, 'invalid characters in dial string'],
  [30, 'no network service'],
  [31, 'network timeout'],
  [32, 'network not allowed - emergency calls only'],
  [40, 'network personalization PIN required'],
  [41, 'network personalization PUK required'],
  [42, 'network subset personalization PIN required'],
  [43, 'network subset personalization PUK required'],
  [44, 'service provider personalization PIN required'],
  [45, 'service provider personalization PUK required'],
  [46, 'corporate personalization PIN required'],
  [47, 'corporate personalization PUK required'],
  [100, 'unknown'],
]);

/**
 * Spellings seen from modules that differ from the spec's wording, mapped to
 * the spec number. SIMCom and Quectel write "(U)SIM" where 27.005 says "SIM".
 */
const CMS_TEXT_ALIASES: ReadonlyMap<string, number> = new Map([
  ['usim not inserted', 310],
  ['usim pin required', 311],
  ['ph usim pin required', 312],
  ['usim failure', 313],
  ['usim busy', 314],
  ['usim wrong', 315],
  ['usim puk required', 316],
  ['usim pin2 required', 317],
  ['usim puk2 required', 318],
  ['sim not ready', 314],
]);

function normalizeErrorText(text: string): string {
  return text
    .toLowerCase()
    .replace(/\(u\)/g, 'u')
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}

function reverseIndex(table: ReadonlyMap<number, string>, aliases: ReadonlyMap<string, number>): Map<string, number> {
  const index = new Map<string, number>();
  // Later entries win, so that for a text defined twice (e.g. "memory
  // full"-like wording) the 300-series meaning, which is what a module's
  // own error print means, is the one we return.
  for (const [code, text] of table) index.set(normalizeErrorText(text), code);
  for (const [text, code] of aliases) index.set(normalizeErrorText(text), code);
  return index;
}

const CMS_BY_TEXT = reverseIndex(CMS_ERROR_TEXT, CMS_TEXT_ALIASES);
const CME_BY_TEXT = reverseIndex(CME_ERROR_TEXT, new Map([['usim not inserted', 10], ['sim not ready', 14]]));

/** The number a verbose `+CMS ERROR: <text>` stands for, or null when we do not know the text. */
export function lookupCmsText(text: string): number | null {
  return CMS_BY_TEXT.get(normalizeErrorText(text)) ?? null;
}

/** The number a verbose `+CME ERROR: <text>` stands for, or null when we do not know the text. */
export function lookupCmeText(text: string): number | null {
  return CME_BY_TEXT.get(normalizeErrorText(text)) ?? null;
}

/**
 * Retryable means: nothing is wrong with this message itself, the same PDU
 * to the same number may go through later. Final means: sending it again
 * will fail the same way (or the network already has it), so the message is
 * failed and the customer's balance refunded.
 *
 * Faults of the box itself (no SIM, PIN, no network, SMSC unknown) are
 * retryable on purpose: the message must wait for the box to be repaired,
 * not be thrown away; the modem's health, not this table, turns them into a
 * hard fault. An unknown code is retryable too: the dispatcher caps the
 * attempts, so a wrong "retryable" costs a few tries while a wrong "final"
 * loses a message.
 */
export function classifyCmsError(code: number | null): ErrorClass {
  if (code === null) return 'retryable';
  if (CMS_FINAL.has(code)) return 'final';
  // 0x80…0xBF are TP-PID, TP-DCS and TP-Command errors: the SC rejects how
  // the TPDU is built, which does not change by sending it again.
  if (code >= 0x80 && code <= 0xbf) return 'final';
  return 'retryable';
}

const CMS_FINAL: ReadonlySet<number> = new Set([
  // RP-causes that speak about the recipient or the subscription, not about
  // the moment: 1 unassigned number, 8 operator determined barring, 10 call
  // barred, 21 short message transfer rejected, 27 destination out of
  // order/service, 28 unidentified subscriber, 29 facility rejected, 30
  // unknown subscriber, 50 requested facility not subscribed, 69 requested
  // facility not implemented. Gammu lumps none of these with its network
  // errors either.
  1, 8, 10, 21, 27, 28, 29, 30, 50, 69,
  // Protocol errors (24.011 E-2 "invalid message" and "protocol error"
  // classes): 95…99, 111, 127. The network could not make sense of what we
  // sent; the same bytes get the same answer.
  95, 96, 97, 98, 99, 111, 127,
  // TP-FCS about the destination: 0xC3 invalid SME address, 0xC4 destination
  // SME barred. 0xC5 "duplicate SM" means the SC already holds this very
  // message: sending again would be the duplicate, so the message is final
  // (the dispatcher should treat it as most likely sent). 0xC6/0xC7 the
  // validity period format we put in the PDU is not supported.
  0xc3, 0xc4, 0xc5, 0xc6, 0xc7,
  // 27.005's own: 303 operation not supported, 304 invalid PDU mode
  // parameter, 305 invalid text mode parameter. These say our command or
  // PDU is malformed (Gammu: ERR_NOTSUPPORTED / ERR_BUG); repeating it
  // verbatim cannot help.
  303, 304, 305,
]);

// Retryable groups, for the reader (everything not listed above):
// - 38 "Network out of order". Checked against 24.011 Annex E-2: yes, 38 is
//   Network out of order, "likely to last a relatively long period of time;
//   immediately reattempting ... is not likely to be successful". So it is
//   retryable, but only after a long back-off. Gammu maps 38 together with
//   41, 42, 47, 111, 331, 332, 615, 616 to ERR_NETWORK_ERROR, i.e. a
//   transient network problem, not a bad message.
// - 41 temporary failure, 42 congestion, 47 resources unavailable, 81
//   invalid transfer reference (a new attempt gets a new reference).
// - 0xC0 SC busy, 0xC2 SC system failure, 0xD0…0xD5 and 0xFF: the SC or the
//   SIM had a moment.
// - 300 ME failure, 301 SMS service reserved, 302 operation not allowed
//   (SIMCom answers it while the SIM is still initialising), 314 SIM busy,
//   320 memory failure, 331 no network service, 332 network timeout, 340,
//   500 unknown error, 512 and up manufacturer specific.
// - 310…318 SIM missing/PIN/PUK and 330 SMSC unknown: faults of the box, see
//   the doc comment above.

/** Same question for `+CME ERROR` (seen on AT+CMGS by some modules instead of +CMS). */
export function classifyCmeError(code: number | null): ErrorClass {
  if (code === null) return 'retryable';
  // 4 operation not supported, 24…27 text/dial string too long or with
  // invalid characters: the command itself is wrong.
  if (code === 4 || (code >= 24 && code <= 27)) return 'final';
  return 'retryable';
}
