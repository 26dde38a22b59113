import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../src/paths.js';
import { parseBalanceReply } from '../../src/sim/balance-reply.js';
import { balanceQuery, carrierFromImsi, isCarrierServiceNumber, type Carrier } from '../../src/sim/carrier.js';

// The IMSI table of issue 17: MCC 460 and the MNCs each carrier holds.
const imsis: [string, Carrier][] = [
  ['460001234567890', 'china-mobile'],
  ['460021234567890', 'china-mobile'],
  ['460041234567890', 'china-mobile'],
  ['460071234567890', 'china-mobile'],
  ['460081234567890', 'china-mobile'],
  ['460011234567890', 'china-unicom'],
  ['460061234567890', 'china-unicom'],
  ['460091234567890', 'china-unicom'],
  ['460031234567890', 'china-telecom'],
  ['460051234567890', 'china-telecom'],
  ['460111234567890', 'china-telecom'],
  ['460151234567890', 'china-broadnet'],
  ['460201234567890', 'unknown'],
  ['454001234567890', 'unknown'],
  ['310260123456789', 'unknown'],
  ['46000', 'unknown'],
  ['ERROR', 'unknown'],
  ['', 'unknown'],
];
for (const [imsi, carrier] of imsis) {
  test(`IMSI ${JSON.stringify(imsi)} is ${carrier}`, (t) => {
    t.is(carrierFromImsi(imsi), carrier);
  });
}
test('an IMSI with white space around it (as AT+CIMI lines come) is read; null is unknown', (t) => {
  t.is(carrierFromImsi(' 460011234567890\r'), 'china-unicom');
  t.is(carrierFromImsi(null), 'unknown');
});

test('default balance queries per carrier, each half overridable by [sim]', (t) => {
  t.deepEqual(balanceQuery('china-mobile', { to: '', text: '' }), { to: '10086', text: 'CXHF' });
  t.deepEqual(balanceQuery('china-unicom', { to: '', text: '' }), { to: '10010', text: 'YE' });
  t.deepEqual(balanceQuery('china-telecom', { to: '', text: '' }), { to: '10001', text: '102' });
  t.is(balanceQuery('china-broadnet', { to: '', text: '' }), null, 'no published code: only with [sim] set');
  t.is(balanceQuery('unknown', { to: '', text: '' }), null);
  t.deepEqual(balanceQuery('china-mobile', { to: '', text: 'YE' }), { to: '10086', text: 'YE' });
  t.deepEqual(balanceQuery('unknown', { to: '10099', text: 'YE' }), { to: '10099', text: 'YE' });
  t.is(balanceQuery('unknown', { to: '10099', text: '' }), null, 'half a query is none');
});

const senders: [string, boolean][] = [
  ['10086', true], ['10010', true], ['10000', true], ['10001', true], ['10099', true],
  ['1008611', true], ['10086999', true], ['+8610086', true], ['8610010', true],
  ['+8613800138000', false], ['13800138000', false], ['1065795555', false], ['106550101', false],
  ['95588', false], ['12321', false], ['100', false], ['1008', false], ['100860000000', false], ['TAOBAO', false],
];
for (const [sender, service] of senders) {
  test(`sender ${sender} is ${service ? '' : 'not '}a carrier service number`, (t) => {
    t.is(isCarrierServiceNumber(sender), service);
  });
}

interface BalanceCase { file: string; carrier: Carrier; yuan: number | null; format: string }
const fixtures = join(packageRoot, 'test', 'fixtures', 'sim-balance');
const cases = JSON.parse(readFileSync(join(fixtures, 'cases.json'), 'utf8')) as BalanceCase[];
test('the balance fixtures are all there', (t) => {
  t.true(cases.length >= 9);
  t.true(cases.some((c) => c.yuan !== null && c.yuan < 0), 'a negative balance');
  t.true(cases.some((c) => c.yuan === null), 'a reply with no balance');
});
for (const c of cases) {
  test(`balance reply ${c.file} (${c.carrier}) reads ${c.yuan}`, (t) => {
    const text = readFileSync(join(fixtures, c.file), 'utf8').trim();
    const reading = parseBalanceReply(text);
    if (c.yuan === null) t.is(reading, null);
    else t.is(reading?.yuan, c.yuan, reading?.label);
  });
}

test('several amounts in one reply: the balance, not what was used, frozen, given or the data left', (t) => {
  t.is(parseBalanceReply('本月已产生话费12.30元，您的话费余额为23.45元')?.yuan, 23.45, 'the balance comes second');
  t.is(parseBalanceReply('冻结余额2.00元，赠送余额5.00元，账户余额30.00元')?.yuan, 30);
  t.is(parseBalanceReply('账户余额30.00元，可用余额28.00元')?.yuan, 28, 'what can be spent now wins');
  t.is(parseBalanceReply('剩余通用流量27.65GB，本月已使用100元'), null, 'no balance named');
  t.is(parseBalanceReply('余额：12元')?.yuan, 12, 'after a colon, no decimals');
  t.is(parseBalanceReply('您的余额为－5.50元')?.yuan, -5.5, 'a full-width minus');
  t.is(parseBalanceReply('您已欠费3.2元')?.yuan, -3.2, 'owed is negative');
});
