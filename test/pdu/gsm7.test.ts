/** The GSM 7-bit alphabet, septet packing and fill bits as they appear on the wire. */
import test from 'ava';
import { decodePdu, encodeSubmit, GSM7_DEFAULT_ALPHABET, isGsm7Encodable, PduError } from '../../src/modem/pdu/index.js';
import { packSeptets, packSeptetsInto, textToSeptets, unpackSeptets, septetsToText } from '../../src/modem/pdu/gsm7.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex').toUpperCase();

test('the default alphabet has 128 positions and maps the landmarks of TS 23.038 §6.2.1', (t) => {
  t.is(GSM7_DEFAULT_ALPHABET.length, 128);
  const landmarks: [number, string][] = [
    [0x00, '@'],
    [0x01, '£'],
    [0x02, '$'],
    [0x0a, '\n'],
    [0x0d, '\r'],
    [0x10, 'Δ'],
    [0x11, '_'],
    [0x24, '¤'],
    [0x40, '¡'],
    [0x41, 'A'],
    [0x5f, '§'],
    [0x60, '¿'],
    [0x7f, 'à'],
  ];
  for (const [code, ch] of landmarks) t.is(GSM7_DEFAULT_ALPHABET[code], ch, `0x${code.toString(16)}`);
});

test('septet packing [PGM TestGsm7]: published packed octets', (t) => {
  // faucamp/python-gsmmodem test/test_pdu.py, TestGsm7: (text, packed septets as decimal bytes).
  const table: [string, number[]][] = [
    ['123', [49, 217, 12]],
    ['12345678', [49, 217, 140, 86, 179, 221, 112]],
    ['Hello World!', [200, 50, 155, 253, 6, 93, 223, 114, 54, 57, 4]],
    ['[{abc}]~', [27, 222, 6, 21, 22, 143, 55, 169, 141, 111, 211, 3]],
    ['{åΦΓΛΩΠΨΣΘ€}', [27, 212, 67, 50, 161, 84, 44, 23, 76, 102, 83, 222, 164, 0]],
    ['a[]{}€', [225, 13, 111, 227, 219, 160, 54, 169, 77, 25]],
  ];
  for (const [text, packed] of table) {
    const septets = textToSeptets(text);
    t.deepEqual([...packSeptets(septets)], packed, text);
    t.is(septetsToText(unpackSeptets(Uint8Array.from(packed), 0, septets.length)), text);
  }
});

test('hellohello packs to E8329BFD4697D9EC37 (dreamfabric "SMS messages and the PDU format")', (t) => {
  t.is(hex(packSeptets(textToSeptets('hellohello'))), 'E8329BFD4697D9EC37');
});

test('fill bits: after a 6-octet UDH the first septet starts at bit 1 of the seventh octet', (t) => {
  const text = 'A'.repeat(200);
  const [first] = encodeSubmit({ to: '+8613800138000', text, concatRef: 0x42 });
  const tpdu = first!.pdu.slice(2);
  // first octet, MR, DA (0D 91 + 7 octets), PID, DCS, then UDL.
  const udlOffset = 2 * (1 + 1 + 2 + 7 + 1 + 1);
  t.is(tpdu.slice(udlOffset, udlOffset + 2), 'A0', 'UDL = 160 septets: 7 of header + 153 of text');
  const userData = tpdu.slice(udlOffset + 2);
  t.is(userData.slice(0, 12), '050003420201');
  // 'A' = 0x41: shifted left past the one fill bit → 0x82 in the seventh octet.
  t.is(userData.slice(12, 14), '82');
  const decoded = decodePdu(first!.pdu);
  t.is(decoded.type === 'submit' && decoded.text, 'A'.repeat(153));
});

test('fill bits: every alignment 0-6 round-trips through the decoder', (t) => {
  // SMS-DELIVER PDUs built by hand: a concatenation IE (8- or 16-bit reference) plus an
  // SME-specific IE (0x80, which the decoder ignores) of growing size, so the UDH takes every
  // length from 6 to 12 octets and the text starts after 1, 0, 6, 5, 4, 3 and 2 fill bits.
  const layouts: number[][] = [
    [0x05, 0x00, 0x03, 0x07, 0x01, 0x01], // 6 octets → 1 fill bit
    [0x06, 0x08, 0x04, 0x00, 0x07, 0x01, 0x01], // 7 octets → 0 fill bits
  ];
  for (let extra = 0; extra <= 4; extra++) {
    layouts.push([0x05 + 2 + extra, 0x00, 0x03, 0x07, 0x01, 0x01, 0x80, extra, ...new Array<number>(extra).fill(0xab)]);
  }
  const fills = new Set<number>();
  for (const udh of layouts) {
    const headerSeptets = Math.ceil((udh.length * 8) / 7);
    fills.add(headerSeptets * 7 - udh.length * 8);
    const textSeptets = textToSeptets('fill bits ok');
    const ud = new Uint8Array(Math.ceil(((headerSeptets + textSeptets.length) * 7) / 8));
    ud.set(udh);
    packSeptetsInto(ud, headerSeptets, textSeptets);
    // SMSC 00, first octet 0x44 (UDHI, MMS), OA +18612345678, PID, DCS, SCTS 2026-11-25 09:30:00 +08:00.
    const udl = (headerSeptets + textSeptets.length).toString(16).padStart(2, '0');
    const decoded = decodePdu('00' + '44' + '0B918116325476F8' + '00' + '00' + '62115290030023' + udl + hex(ud));
    t.is(decoded.type === 'deliver' && decoded.text, 'fill bits ok', `UDH ${udh.length} octets`);
    t.is(decoded.type === 'deliver' && decoded.concat?.ref, 7);
    t.is(decoded.type === 'deliver' && decoded.timestamp, '2026-11-25T09:30:00+08:00');
  }
  t.deepEqual([...fills].sort(), [0, 1, 2, 3, 4, 5, 6]);
});

test('a character outside both tables is not GSM 7-bit; textToSeptets refuses it with PduError', (t) => {
  t.false(isGsm7Encodable('好'));
  t.false(isGsm7Encodable('`')); // the backtick is not in the GSM alphabet
  t.true(isGsm7Encodable('@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà€[]{}~\\^|\f'));
  t.throws(() => textToSeptets('好'), { instanceOf: PduError });
});

test('an escape followed by an undefined extension code shows the default character; ESC at the end is dropped', (t) => {
  t.is(septetsToText([0x1b, 0x41]), 'A');
  t.is(septetsToText([0x41, 0x1b]), 'A');
  t.is(septetsToText([0x1b, 0x65]), '€');
});
