import test from 'ava';
import fc from 'fast-check';
import iconv from 'iconv-lite';
import { formatYuan, parseYuan } from '../src/money.js';
import { normalizeNumber, parseRecipients } from '../src/protocol/numbers.js';
import { decodeText, escapeRawTarget, parseQueryString, parseRequestTarget } from '../src/protocol/request.js';
import { parseMessageName } from '../src/protocol/wdgj.js';

const latin1 = (bytes: Buffer) => bytes.toString('latin1');

test('the spec example URL parses into its parameters', (t) => {
  const { path, params } = parseRequestTarget('/yyyy?Msg=smsSnd&User=aaaa&PWD=bbbb&Tel=13800138000,13900139000&Body=%E4%BD%A0%E5%A5%BD');
  t.is(path, '/yyyy');
  t.deepEqual(Object.fromEntries(params), { msg: 'smsSnd', user: 'aaaa', pwd: 'bbbb', tel: '13800138000,13900139000', body: '你好' });
});

test('parameter names and Msg values match without regard to case', (t) => {
  const { params } = parseRequestTarget('/?msg=SMSAU&USER=aaaa&pwd=bbbb');
  t.is(params.get('user'), 'aaaa');
  t.is(params.get('pwd'), 'bbbb');
  t.is(parseMessageName(params.get('msg')), 'smsAU');
  t.is(parseMessageName('smsbalance'), 'smsBalance');
  t.is(parseMessageName('SmsSnd'), 'smsSnd');
  t.is(parseMessageName('smsSend'), null);
  t.is(parseMessageName(undefined), null);
});

test('a configured URL that already had a query still works', (t) => {
  const { path, params } = parseRequestTarget('/sms?key=x?Msg=smsAU&User=aaaa&PWD=bbbb');
  t.is(path, '/sms');
  t.is(params.get('key'), 'x');
  t.is(params.get('msg'), 'smsAU');
  t.is(parseRequestTarget('/sms??Msg=smsAU').params.get('msg'), 'smsAU');
});

test('+ is a space, %2B a plus, and the first occurrence of a name wins', (t) => {
  const params = parseQueryString('Body=hello+world+%2B1&body=second&Tel=%2B8613800138000');
  t.is(params.get('body'), 'hello world +1');
  t.is(params.get('tel'), '+8613800138000');
});

test('GBK and GB18030 percent-encoded text is recognised when it is not UTF-8', (t) => {
  const text = '您的订单已发货，回T退订';
  const gbk = [...iconv.encode(text, 'gbk')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
  t.is(parseQueryString(`Body=${gbk}`).get('body'), text);
  const rare = '𠀀鿿'; // outside GBK: only GB18030 has it
  const gb18030 = [...iconv.encode(rare, 'gb18030')].map((b) => `%${b.toString(16)}`).join('');
  t.is(parseQueryString(`Body=${gb18030}`).get('body'), rare);
});

test('raw unencoded UTF-8 and GBK bytes in the target are decoded', (t) => {
  t.is(parseRequestTarget(latin1(Buffer.from('/sms?Msg=smsSnd&Body=你好', 'utf8'))).params.get('body'), '你好');
  const gbk = Buffer.concat([Buffer.from('/sms?Body='), iconv.encode('发货通知', 'gbk')]);
  t.is(parseRequestTarget(latin1(gbk)).params.get('body'), '发货通知');
  // A raw request line (with a raw space) re-escaped for parsing keeps its text.
  const raw = Buffer.from('/sms?Msg=smsSnd&Body=你好 world', 'utf8');
  t.is(parseRequestTarget(escapeRawTarget(raw)).params.get('body'), '你好 world');
});

test('decodeText never throws, whatever the bytes', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      t.is(typeof decodeText(bytes), 'string');
    }),
  );
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (target) => {
      const { params } = parseRequestTarget(target);
      for (const [name, value] of params) t.true(typeof name === 'string' && typeof value === 'string');
    }),
  );
});

test('UTF-8 text round-trips through percent-encoding', (t) => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 80 }), (text) => {
      t.is(parseQueryString(`Body=${encodeURIComponent(text)}`).get('body') ?? '', text);
    }),
  );
});

const numbers: [string, string | null][] = [
  ['13800138000', '+8613800138000'],
  ['+8613800138000', '+8613800138000'],
  ['008613800138000', '+8613800138000'],
  ['8613800138000', '+8613800138000'],
  ['１３８００１３８０００', '+8613800138000'],
  ['138-0013-8000', '+8613800138000'],
  ['19912345678', '+8619912345678'],
  ['12800138000', null], // 12x is not a mobile range
  ['1380013800', null], // 10 digits
  ['138001380001', null], // 12 digits
  ['02088888888', null], // landline
  ['+14155550123', null], // international, not allowed by default
  ['abc', null],
];
for (const [input, expected] of numbers) {
  test(`number ${input} → ${expected}`, (t) => {
    t.is(normalizeNumber(input, false), expected);
  });
}

test('international numbers only when allowed, never +86 landlines', (t) => {
  t.is(normalizeNumber('+14155550123', true), '+14155550123');
  t.is(normalizeNumber('0014155550123', true), '+14155550123');
  t.is(normalizeNumber('+862088888888', true), null);
  t.is(normalizeNumber('13800138000', true), '+8613800138000');
});

test('Tel lists: every separator, duplicates once, invalid ones reported', (t) => {
  const r = parseRecipients('13800138000,13900139000，13700137000;+8613800138000；bad 13600136000\u300013500135000、13400134000\n', false);
  t.deepEqual(r.valid, ['+8613800138000', '+8613900139000', '+8613700137000', '+8613600136000', '+8613500135000', '+8613400134000']);
  t.deepEqual(r.invalid, ['bad']);
  t.is(r.duplicates, 1);
  t.deepEqual(parseRecipients('', false), { valid: [], invalid: [], duplicates: 0 });
});

test('money: yuan text and numbers to 厘 and back', (t) => {
  t.is(parseYuan('10.00'), 10_000);
  t.is(parseYuan(10), 10_000);
  t.is(parseYuan(0.1), 100);
  t.is(parseYuan(0.045), 45);
  t.is(parseYuan(0.1 + 0.2), 300);
  t.is(parseYuan('1e3'), null);
  t.is(parseYuan('0.0001'), null);
  t.is(parseYuan(Number.NaN), null);
  t.is(formatYuan(9_800), '9.80');
  t.is(formatYuan(9_955), '9.955');
  t.is(formatYuan(0), '0.00');
  t.is(formatYuan(-100), '-0.10');
});
