/** Segment planning: where the box cuts a text, which decides both the price and what the modem sends. */
import test from 'ava';
import { countSegments, decodePdu, encodeDeliver, encodeSubmit, planSegments, GSM7_EXTENSION_CHARS } from '../../src/modem/pdu/index.js';

const septetsOf = (text: string): number => [...text].reduce((sum, ch) => sum + (GSM7_EXTENSION_CHARS.includes(ch) ? 2 : 1), 0);

function hasLoneSurrogate(text: string): boolean {
  return /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
}

test('the empty text is one empty gsm7 segment', (t) => {
  t.deepEqual(planSegments(''), { encoding: 'gsm7', parts: [''] });
  t.is(countSegments(''), 1);
  const [only, ...rest] = encodeSubmit({ to: '10086', text: '' });
  t.is(rest.length, 0);
  const decoded = decodePdu(only!.pdu);
  t.is(decoded.type === 'submit' && decoded.text, '');
});

const boundaryTable: { name: string; text: string; encoding: 'gsm7' | 'ucs2'; partLengths: number[] }[] = [
  { name: '160 gsm7 chars', text: 'a'.repeat(160), encoding: 'gsm7', partLengths: [160] },
  { name: '161 gsm7 chars', text: 'a'.repeat(161), encoding: 'gsm7', partLengths: [153, 8] },
  { name: '153×2 gsm7 chars', text: 'b'.repeat(306), encoding: 'gsm7', partLengths: [153, 153] },
  { name: '153×2+1 gsm7 chars', text: 'b'.repeat(307), encoding: 'gsm7', partLengths: [153, 153, 1] },
  { name: '70 UCS-2 units', text: 'Ж'.repeat(70), encoding: 'ucs2', partLengths: [70] },
  { name: '71 UCS-2 units', text: 'Ж'.repeat(71), encoding: 'ucs2', partLengths: [67, 4] },
  { name: '67×2 UCS-2 units', text: 'Ж'.repeat(134), encoding: 'ucs2', partLengths: [67, 67] },
  { name: '67×2+1 UCS-2 units', text: 'Ж'.repeat(135), encoding: 'ucs2', partLengths: [67, 67, 1] },
  { name: '70 Chinese characters', text: '您的订单已发货'.repeat(10), encoding: 'ucs2', partLengths: [70] },
  { name: '71 Chinese characters', text: '您的订单已发货'.repeat(10) + '。', encoding: 'ucs2', partLengths: [67, 4] },
  { name: '80 extension chars (160 septets)', text: '€'.repeat(80), encoding: 'gsm7', partLengths: [80] },
  { name: '81 extension chars (162 septets)', text: '€'.repeat(81), encoding: 'gsm7', partLengths: [76, 5] },
  { name: '158 plain + one extension char (160 septets)', text: 'a'.repeat(158) + '^', encoding: 'gsm7', partLengths: [159] },
  { name: '159 plain + one extension char (161 septets)', text: 'a'.repeat(159) + '^', encoding: 'gsm7', partLengths: [153, 7] },
  { name: 'one CJK char makes the whole text UCS-2', text: 'a'.repeat(100) + '好', encoding: 'ucs2', partLengths: [67, 34] },
];

for (const row of boundaryTable) {
  test(`segments: ${row.name}`, (t) => {
    const plan = planSegments(row.text);
    t.is(plan.encoding, row.encoding);
    t.deepEqual(
      plan.parts.map((p) => p.length),
      row.partLengths,
    );
    t.is(plan.parts.join(''), row.text);
    t.is(countSegments(row.text), row.partLengths.length);
    const encoded = encodeSubmit({ to: '+8613800138000', text: row.text });
    t.is(encoded.length, row.partLengths.length);
  });
}

test('every extension-table character (€ [ ] { } ~ \\ ^ | form feed) costs two septets', (t) => {
  const extension = '€[]{}~\\^|\f';
  t.is(GSM7_EXTENSION_CHARS.length, extension.length);
  for (const ch of extension) {
    t.true(GSM7_EXTENSION_CHARS.includes(ch), JSON.stringify(ch));
    t.is(countSegments(ch.repeat(80)), 1, `80 × ${JSON.stringify(ch)}`);
    t.is(countSegments(ch.repeat(81)), 2, `81 × ${JSON.stringify(ch)}`);
    t.is(planSegments(ch).encoding, 'gsm7');
  }
});

test('an escape sequence is never split: the extension char moves whole to the next segment', (t) => {
  for (const ch of '€[]{}~\\^|\f') {
    // 152 plain septets + a 2-septet char would need 154 in a 153-septet segment.
    const text = 'x'.repeat(152) + ch + 'y'.repeat(20);
    const plan = planSegments(text);
    t.deepEqual(plan.parts, ['x'.repeat(152), ch + 'y'.repeat(20)], JSON.stringify(ch));
    for (const part of encodeSubmit({ to: '+8613800138000', text })) {
      const decoded = decodePdu(part.pdu);
      if (decoded.type !== 'submit') return t.fail();
      t.true(septetsOf(decoded.text) <= 153);
    }
  }
});

test('a surrogate pair (emoji) is never split across UCS-2 segments', (t) => {
  const text = '你'.repeat(66) + '😀' + '好'.repeat(10);
  const plan = planSegments(text);
  t.is(plan.encoding, 'ucs2');
  t.deepEqual(plan.parts, ['你'.repeat(66), '😀' + '好'.repeat(10)]);
  const decodedParts = encodeDeliver({ from: '+8613900000000', text, timestamp: new Date(0) }).map((hex) => {
    const decoded = decodePdu(hex);
    return decoded.type === 'deliver' ? decoded.text : '';
  });
  t.deepEqual(decodedParts, plan.parts);
  t.false(decodedParts.some(hasLoneSurrogate));
});

test('emoji-only texts: 35 emoji (70 units) fit one SMS, 36 take two of 33 + 3', (t) => {
  t.deepEqual(planSegments('😀'.repeat(35)).parts, ['😀'.repeat(35)]);
  t.deepEqual(planSegments('😀'.repeat(36)).parts, ['😀'.repeat(33), '😀'.repeat(3)]);
});

test('a 16-bit reference leaves 152 septets / 66 UCS-2 units per part', (t) => {
  const gsm = encodeDeliver({ from: 'TAOBAO', text: 'z'.repeat(305), timestamp: new Date(0), concatRef16: true, concatRef: 0x1234 });
  const gsmTexts = gsm.map((hex) => decodePdu(hex)).map((d) => (d.type === 'deliver' ? d.text.length : -1));
  t.deepEqual(gsmTexts, [152, 152, 1]);
  const ucs = encodeDeliver({ from: 'TAOBAO', text: '货'.repeat(133), timestamp: new Date(0), concatRef16: true, concatRef: 0x1234 });
  const decoded = ucs.map((hex) => decodePdu(hex));
  t.deepEqual(
    decoded.map((d) => (d.type === 'deliver' ? d.text.length : -1)),
    [66, 66, 1],
  );
  t.deepEqual(
    decoded.map((d) => (d.type === 'deliver' ? d.concat : null)),
    [1, 2, 3].map((part) => ({ ref: 0x1234, part, total: 3, ref16: true })),
  );
});

test('more than 255 segments cannot be concatenated and is refused with PduError', async (t) => {
  const { PduError } = await import('../../src/modem/pdu/index.js');
  t.throws(() => encodeSubmit({ to: '10086', text: 'a'.repeat(153 * 255 + 1) }), { instanceOf: PduError });
  t.is(encodeSubmit({ to: '10086', text: 'a'.repeat(153 * 255) }).length, 255);
});
