/**
 * The virtual SIM's own number and its carrier's services (issue 17,
 * /work/coord/at-contract.md §5 and §7): AT+CNUM, an SMS to itself comes back
 * (self-test), service numbers answer with a balance, a restriction notice,
 * and the carrier-blocked fault.
 */
import test from 'ava';
import { quietSession, sendText, storedTexts } from './harness.js';

const REPLY_MS = 3000;

test('AT+CNUM answers the SIM own number; a SIM that does not store it answers only OK', (t) => {
  const s = quietSession();
  t.is(s.at('AT+CNUM'), '\r\n+CNUM: "","+8613912345678",145\r\n\r\nOK\r\n');
  const other = quietSession({ ownNumber: '+8613800000001' });
  t.is(other.at('AT+CNUM'), '\r\n+CNUM: "","+8613800000001",145\r\n\r\nOK\r\n');
  const unknown = quietSession({ ownNumberKnown: false });
  t.is(unknown.at('AT+CNUM'), '\r\nOK\r\n');
  unknown.modem.setOwnNumber('13700000002');
  t.is(unknown.at('AT+CNUM'), '\r\n+CNUM: "","13700000002",129\r\n\r\nOK\r\n');
  s.modem.inject({ kind: 'no-sim' });
  s.at('AT+CMEE=1');
  t.is(s.at('AT+CNUM'), '\r\n+CME ERROR: 10\r\n');
});

test('self-test: an SMS to the own number comes back from it a few seconds later, also when the SIM does not know its number', (t) => {
  for (const ownNumberKnown of [true, false]) {
    const s = quietSession({ ownNumberKnown });
    t.deepEqual(sendText(s, '13912345678', '自检 selftest 42'), ['\r\n+CMGS: 0\r\n\r\nOK\r\n']);
    s.timers.advance(REPLY_MS - 1);
    t.is(s.take(), '', 'not before the network has carried it');
    s.timers.advance(1);
    t.is(s.take(), '\r\n+CMTI: "SM",0\r\n');
    t.deepEqual(storedTexts(s), [{ from: '+8613912345678', text: '自检 selftest 42' }]);
  }
});

test('self-test of a long text: the whole text comes back', (t) => {
  const s = quietSession();
  const text = '自检'.repeat(60);
  t.is(sendText(s, '+8613912345678', text).length, 2);
  s.timers.advance(REPLY_MS);
  t.is(s.modem.stored().length, 2, 'two parts, as a network delivers a long SMS');
  t.deepEqual(storedTexts(s), [{ from: '+8613912345678', text }]);
});

test('an SMS to another number does not come back', (t) => {
  const s = quietSession();
  sendText(s, '+8613800138000', 'hello');
  s.timers.advance(60_000);
  t.is(s.take(), '');
  t.deepEqual(s.modem.stored(), []);
});

test('carrier services answer a balance query with their own balance text', (t) => {
  const s = quietSession({ balanceYuan: 8.5 });
  sendText(s, '10086', 'CXHF');
  sendText(s, '10010', 'YE');
  sendText(s, '10001', '102');
  s.timers.advance(REPLY_MS);
  const replies = storedTexts(s);
  t.deepEqual(
    replies.map((r) => r.from),
    ['10086', '10010', '10001'],
  );
  // The virtual clock is 2026-11-25 09:30 in Shanghai.
  t.is(replies[0]!.text, '尊敬的客户，您好！截至11月25日09时，您的话费余额为8.50元，本月已产生话费12.30元（仅供参考，以月结账单为准）。查询详单请登录中国移动APP。【中国移动】');
  t.is(replies[1]!.text, '您当前账户余额8.50元，其中可用余额8.50元，赠送余额0.00元。【中国联通】');
  t.is(
    replies[2]!.text,
    '截止到2026年11月25日09时，您的可用余额为8.50元。本月已使用通用流量2.35GB，剩余通用流量27.65GB；已使用国内通话12分钟，剩余188分钟。【中国电信】',
  );
});

test('a SIM in arrears gets the arrears wording', (t) => {
  const s = quietSession({ balanceYuan: -3.2 });
  t.regex(s.modem.carrierReply('10086')!, /话费余额为-3\.20元，您已欠费/);
  t.regex(s.modem.carrierReply('10001')!, /已欠费3\.20元/);
});

test('a configured carrier text replaces the default reply, and the balance can change', (t) => {
  const s = quietSession({ carrierReplies: { '10086': '您的余额为-3.20元，已欠费。【中国移动】' } });
  sendText(s, '10086', 'YE');
  s.timers.advance(REPLY_MS);
  t.deepEqual(storedTexts(s), [{ from: '10086', text: '您的余额为-3.20元，已欠费。【中国移动】' }]);
  s.modem.setCarrierReply('10086', null);
  s.modem.setBalance(100);
  t.regex(s.modem.carrierReply('10086')!, /余额为100\.00元/);
  t.is(s.modem.carrierReply('13800138000'), null);
});

test('a restriction notice arrives from the service number of the SIM carrier', (t) => {
  const s = quietSession();
  const notice = s.modem.sendCarrierNotice();
  t.is(notice.from, '10086');
  t.is(s.take(), '\r\n+CMTI: "SM",0\r\n');
  t.deepEqual(storedTexts(s), [{ from: '10086', text: notice.text }]);
  t.regex(notice.text, /暂停/);
  const telecom = quietSession({ imsi: '460030000000001' });
  t.is(telecom.modem.sendCarrierNotice().from, '10001');
  t.is(telecom.modem.sendCarrierNotice({ from: '10000', text: '限制' }).text, '限制');
});

test('carrier-blocked: sends fail with +CMS ERROR: 21 (or the given code) after the send time; service numbers still answer', (t) => {
  const s = quietSession();
  s.at('AT+CMEE=1');
  s.modem.inject({ kind: 'carrier-blocked' });
  t.deepEqual(sendText(s, '+8613800138000', 'a'), ['\r\n+CMS ERROR: 21\r\n']);
  t.deepEqual(sendText(s, '+8613912345678', 'self'), ['\r\n+CMS ERROR: 21\r\n'], 'the self-test fails too');
  t.deepEqual(sendText(s, '10086', 'CXHF'), ['\r\n+CMGS: 0\r\n\r\nOK\r\n']);
  t.deepEqual(s.modem.activeFaults(), [{ kind: 'carrier-blocked', code: 21 }]);
  s.modem.inject({ kind: 'carrier-blocked', code: 10 });
  s.at('AT+CMEE=2');
  t.deepEqual(sendText(s, '+8613800138000', 'b'), ['\r\n+CMS ERROR: Call barred\r\n']);
  s.modem.clear('carrier-blocked');
  t.deepEqual(sendText(s, '+8613800138000', 'c'), ['\r\n+CMGS: 1\r\n\r\nOK\r\n']);
  t.deepEqual(
    s.modem.transmitted.map((m) => m.to),
    ['10086', '+8613800138000'],
  );
});

test('a test that plays the network itself can turn the carrier services and the loopback off', (t) => {
  const s = quietSession({ carrierServices: false, ownNumberLoopback: false });
  sendText(s, '10086', 'CXHF');
  sendText(s, '+8613912345678', 'self');
  s.timers.advance(60_000);
  t.deepEqual(s.modem.stored(), []);
  t.is(s.modem.transmitted.length, 2);
});
