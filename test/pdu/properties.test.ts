/**
 * Property tests: whatever text the shop sends survives encode → decode → reassembly,
 * and no byte string makes the decoder do anything but return or throw PduError.
 */
import test from 'ava';
import fc from 'fast-check';
import {
  decodePdu,
  encodeDeliver,
  encodeStatusReport,
  encodeSubmit,
  GSM7_DEFAULT_ALPHABET,
  GSM7_EXTENSION_CHARS,
  planSegments,
  PduError,
  type DecodedPdu,
} from '../../src/modem/pdu/index.js';
import { decodePduUnguarded } from '../../src/modem/pdu/decode.js';

const gsmChars = [...GSM7_DEFAULT_ALPHABET].filter((ch) => ch !== '\u001b').concat([...GSM7_EXTENSION_CHARS]);
const gsmChar = fc.constantFrom(...gsmChars);
const cjkChar = fc.integer({ min: 0x4e00, max: 0x9fff }).map((code) => String.fromCharCode(code));
const emoji = fc.integer({ min: 0x1f300, max: 0x1faff }).map((code) => String.fromCodePoint(code));
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code));

/** Texts of every kind, with lengths pulled toward the segment boundaries. */
const boundaryLengths = [0, 1, 66, 67, 68, 69, 70, 71, 72, 133, 134, 135, 152, 153, 154, 159, 160, 161, 305, 306, 307];
const textOf = (char: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.oneof(
    fc.array(char, { maxLength: 400 }).map((chars) => chars.join('')),
    fc.constantFrom(...boundaryLengths).chain((length) => fc.array(char, { minLength: length, maxLength: length }).map((chars) => chars.join(''))),
  );
const anyText = fc.oneof(
  textOf(gsmChar),
  textOf(fc.oneof(gsmChar, cjkChar)),
  textOf(fc.oneof(cjkChar, emoji)),
  textOf(fc.oneof({ weight: 5, arbitrary: gsmChar }, { weight: 1, arbitrary: emoji })),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.string({ unit: 'grapheme', maxLength: 200 }),
  textOf(fc.oneof({ weight: 10, arbitrary: gsmChar }, { weight: 1, arbitrary: loneSurrogate })),
);

const number = fc.oneof(
  fc.stringMatching(/^\+[1-9][0-9]{6,14}$/),
  fc.stringMatching(/^1[3-9][0-9]{9}$/),
  fc.constantFrom('10086', '95588', '106575', '+8613900000000'),
);
const alphanumeric = fc.stringMatching(/^[A-Za-z][A-Za-z0-9 ]{0,10}$/);

function checkParts(decoded: DecodedPdu[], text: string, expectRef16: boolean): string {
  const plan = planSegments(text);
  const texts: string[] = [];
  decoded.forEach((d, index) => {
    if (d.type === 'status-report') throw new Error('unexpected status report');
    if (d.encoding !== plan.encoding) throw new Error(`part ${index + 1} encoding ${d.encoding}, planned ${plan.encoding}`);
    if (decoded.length > 1) {
      if (!d.concat || d.concat.part !== index + 1 || d.concat.total !== decoded.length || d.concat.ref16 !== expectRef16) {
        throw new Error(`part ${index + 1} has concat ${JSON.stringify(d.concat)}`);
      }
      if (d.concat.ref !== (decoded[0] as { concat: { ref: number } }).concat.ref) throw new Error('references differ between parts');
    } else if (d.concat !== null) {
      throw new Error('a single-part message carries a UDH');
    }
    texts.push(d.text);
  });
  return texts.join('');
}

test('round trip: random text → encodeSubmit → decodePdu of each part → the same text', (t) => {
  fc.assert(
    fc.property(anyText, number, fc.boolean(), fc.integer({ min: 0, max: 255 }), (text, to, statusReport, concatRef) => {
      const parts = encodeSubmit({ to, text, statusReport, concatRef });
      const decoded = parts.map((part) => {
        // What follows AT+CMGS= is the TPDU length: the PDU without its one SMSC octet.
        if (part.tpduLength !== part.pdu.length / 2 - 1) throw new Error('tpduLength does not match the PDU');
        return decodePdu(part.pdu);
      });
      if (decoded.length !== planSegments(text).parts.length) return false;
      for (const d of decoded) {
        if (d.type !== 'submit' || d.number !== to || d.statusReportRequest !== statusReport) return false;
        if (decoded.length > 1 && d.concat?.ref !== concatRef) return false;
      }
      return checkParts(decoded, text, false) === text;
    }),
    { numRuns: 400 },
  );
  t.pass();
});

test('round trip: random text → encodeDeliver (8- and 16-bit refs, numeric and alphanumeric senders) → the same text, sender and time', (t) => {
  fc.assert(
    fc.property(
      anyText,
      fc.oneof(number, alphanumeric),
      fc.date({ min: new Date('2000-01-02T00:00:00Z'), max: new Date('2089-06-30T00:00:00Z'), noInvalidDate: true }),
      fc.integer({ min: -48, max: 56 }),
      fc.boolean(),
      fc.integer({ min: 0, max: 0xffff }),
      (text, from, timestamp, tzQuarterHours, concatRef16, ref) => {
        const concatRef = concatRef16 ? ref : ref & 0xff;
        const pdus = encodeDeliver({ from, text, timestamp, tzQuarterHours, concatRef16, concatRef, smsc: '+8613800100500' });
        const decoded = pdus.map((hex) => decodePdu(hex));
        const wholeSecond = Math.floor(timestamp.getTime() / 1000) * 1000;
        for (const d of decoded) {
          if (d.type !== 'deliver' || d.number !== from || d.smsc !== '+8613800100500') return false;
          if (Date.parse(d.timestamp) !== wholeSecond) return false;
          if (decoded.length > 1 && d.concat?.ref !== concatRef) return false;
        }
        return checkParts(decoded, text, concatRef16) === text;
      },
    ),
    { numRuns: 400 },
  );
  t.pass();
});

test('round trip: encodeStatusReport → decodePdu keeps reference, recipient, status and both times', (t) => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 255 }),
      number,
      fc.integer({ min: 0, max: 255 }),
      fc.date({ min: new Date('2000-01-02T00:00:00Z'), max: new Date('2089-06-30T00:00:00Z'), noInvalidDate: true }),
      fc.integer({ min: 0, max: 7 * 24 * 3600 }),
      (messageRef, recipient, status, submittedAt, delaySeconds) => {
        const dischargedAt = new Date(submittedAt.getTime() + delaySeconds * 1000);
        const decoded = decodePdu(encodeStatusReport({ messageRef, recipient, status, submittedAt, dischargedAt }));
        if (decoded.type !== 'status-report') return false;
        return (
          decoded.messageRef === messageRef &&
          decoded.number === recipient &&
          decoded.status === status &&
          Date.parse(decoded.timestamp) === Math.floor(submittedAt.getTime() / 1000) * 1000 &&
          Date.parse(decoded.dischargeTime) === Math.floor(dischargedAt.getTime() / 1000) * 1000 &&
          decoded.delivered === (status <= 0x1f) &&
          decoded.final === !(status >= 0x20 && status <= 0x3f)
        );
      },
    ),
    { numRuns: 300 },
  );
  t.pass();
});

/**
 * decodePdu may return or throw PduError; anything else fails the property. The unguarded
 * decoder is held to the same rule, so a TypeError hidden by decodePdu's safety net still fails.
 */
function onlyReturnsOrThrowsPduError(hex: string): boolean {
  for (const decode of [decodePdu, decodePduUnguarded]) {
    try {
      decode(hex);
    } catch (error) {
      if (!(error instanceof PduError)) return false;
    }
  }
  return true;
}

const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex').toUpperCase();

test('fuzz: random bytes only ever decode or throw PduError', (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => onlyReturnsOrThrowsPduError(toHex(bytes))), { numRuns: 3000 });
  fc.assert(fc.property(fc.string({ maxLength: 100 }), onlyReturnsOrThrowsPduError), { numRuns: 500 });
  t.pass();
});

test('fuzz: mutated valid PDUs (flipped, inserted, deleted, truncated octets) only ever decode or throw PduError', (t) => {
  const validPdu = fc
    .tuple(anyText, fc.oneof(number, alphanumeric), fc.boolean())
    .map(([text, party, deliver]) =>
      deliver
        ? encodeDeliver({ from: party, text, timestamp: new Date('2026-11-25T01:30:00Z'), concatRef16: text.length % 2 === 0 })[0]!
        : encodeSubmit({ to: /^[+0-9]+$/.test(party) ? party : '10086', text, validityMinutes: 60 })[0]!.pdu,
    );
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), value: fc.constant(0) }),
    fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(), value: fc.constant(0) }),
  );
  fc.assert(
    fc.property(validPdu, fc.array(mutation, { minLength: 1, maxLength: 4 }), (hex, mutations) => {
      const bytes = [...Buffer.from(hex, 'hex')];
      for (const m of mutations) {
        const at = bytes.length === 0 ? 0 : m.at % bytes.length;
        if (m.kind === 'set') bytes[at] = m.value;
        else if (m.kind === 'insert') bytes.splice(at, 0, m.value);
        else if (m.kind === 'delete') bytes.splice(at, 1);
        else bytes.length = at;
      }
      return onlyReturnsOrThrowsPduError(toHex(Uint8Array.from(bytes)));
    }),
    { numRuns: 3000 },
  );
  t.pass();
});

test('malformed input gets a PduError that says what is wrong', (t) => {
  const cases: [string, RegExp][] = [
    ['', /empty/],
    ['0', /odd number/],
    ['00zz', /not hex/],
    ['00', /ends before first octet/],
    ['0003', /TP-MTI 3 is reserved/],
    ['07917283010010F5040BC87238880900F10000993092516195800AE8329BFD46', /too short for user data/],
    ['0004', /ends before TP-OA length/],
    ['0C', /SMSC length 12/],
  ];
  for (const [hex, message] of cases) {
    const error = t.throws(() => decodePdu(hex), { instanceOf: PduError }, hex);
    t.regex(error!.message, message, hex);
  }
});
