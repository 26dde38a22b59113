/**
 * The stdin control lines of `smsbox simulate-modem` (hardware/simulator/cli.ts),
 * applied to a modem on virtual time: networks, the SIM, carrier services, calls.
 */
import test from 'ava';
import { applyControlLine } from '../../hardware/simulator/cli.js';
import { quietSession, sendText, storedTexts } from './harness.js';

test('network, own number, IMSI, balance and carrier replies from control lines', (t) => {
  const s = quietSession();
  const apply = (line: unknown) => applyControlLine(s.modem, JSON.stringify(line));
  t.is(apply({ network: 'lte-no-ims' }), null);
  t.is(s.modem.smsPath(), 'none');
  t.is(apply({ own_number: '+8613700000001', known: false }), null);
  t.is(s.at('AT+CNUM'), '\r\nOK\r\n');
  t.is(apply({ imsi: '460010000000001' }), null);
  t.is(s.at('AT+CIMI'), '\r\n460010000000001\r\n\r\nOK\r\n');
  t.is(apply({ network: 'lte-sgs' }), null);
  t.is(apply({ balance_yuan: 1.5 }), null);
  t.is(apply({ carrier_reply: { number: '10086', text: '余额1.50元' } }), null);
  sendText(s, '10086', 'CXHF');
  sendText(s, '+8613700000001', 'me');
  s.timers.advance(3000);
  t.deepEqual(storedTexts(s), [
    { from: '10086', text: '余额1.50元' },
    { from: '+8613700000001', text: 'me' },
  ]);
});

test('faults no-ims and carrier-blocked, a carrier notice, and calls from control lines', (t) => {
  const s = quietSession();
  const said: string[] = [];
  const apply = (line: unknown) => applyControlLine(s.modem, JSON.stringify(line), (text) => said.push(text));
  t.is(apply({ fault: { kind: 'carrier-blocked', code: 10 } }), null);
  t.is(apply({ fault: { kind: 'no-ims' } }), null);
  t.deepEqual(s.modem.activeFaults(), [{ kind: 'no-ims' }, { kind: 'carrier-blocked', code: 10 }]);
  t.is(apply({ clear: true }), null);
  t.is(apply({ carrier_notice: {} }), null);
  t.deepEqual(storedTexts(s).map((m) => m.from), ['10086']);
  t.is(apply({ call: { from: '+8613800138000' } }), null);
  t.is(s.take(), '\r\n+CMTI: "SM",0\r\n\r\nRING\r\n');
  t.is(apply({ call: 'end' }), null);
  t.is(apply({ call: 'end' }), 'no call to end');
  t.is(apply({ calls: true }), null);
  t.is(said.length, 1);
  t.regex(said[0]!, /^calls \[\{"from":"\+8613800138000","started_at":"[^"]+","hung_up_at":"[^"]+","hung_up_by":"caller","rings":1\}\]$/);
});

test('bad control lines say what is expected', (t) => {
  const s = quietSession();
  const apply = (line: unknown) => applyControlLine(s.modem, JSON.stringify(line));
  t.regex(apply({ network: '5g' })!, /network must be one of gsm, umts, lte-sgs, lte-ims, lte-no-ims/);
  t.regex(apply({ call: { from: 5 } })!, /call needs/);
  t.regex(apply({ own_number: 'me' })!, /own_number must be a phone number/);
  t.regex(apply({ imsi: 'abc' })!, /IMSI is 6-15 digits/);
  t.regex(apply({ fault: { kind: 'meltdown' } })!, /carrier-blocked/);
  t.is(s.modem.getNetwork(), 'lte-sgs');
});
