import test from 'ava';
import fc from 'fast-check';
import { decodePdu, encodeSubmit } from '../../src/modem/pdu/index.js';
import { pduLines, quietSession, SEND_MS, session, type Session } from './harness.js';

const CTRL_Z = '\x1a';
const ESC = '\x1b';

/** Runs AT+CMGS for one PDU and returns the answer after the send time. */
function sendPdu(s: Session, pdu: { pdu: string; tpduLength: number }): string {
  const prompt = s.at(`AT+CMGS=${pdu.tpduLength}`);
  if (!prompt.endsWith('\r\n> ')) throw new Error(`no prompt: ${JSON.stringify(prompt)}`);
  s.modem.write(pdu.pdu + CTRL_Z);
  s.timers.advance(SEND_MS);
  return s.take();
}

// ------------------------------------------------------------ framing and echo

test('echoes the command line until ATE0, then answers with CR LF framing only', (t) => {
  const s = session();
  t.is(s.at('AT'), 'AT\r\r\nOK\r\n');
  t.is(s.at('ATE0'), 'ATE0\r\r\nOK\r\n');
  t.is(s.at('AT'), '\r\nOK\r\n');
  t.is(s.at('ATE1'), '\r\nOK\r\n');
  t.is(s.at('at'), 'at\r\r\nOK\r\n');
});

test('a LF after the CR is neither echoed nor taken as a new line; junk before AT is ignored', (t) => {
  const s = session();
  s.modem.write('AT\r\n');
  t.is(s.take(), 'AT\r\r\nOK\r\n');
  s.modem.write('\x00\xffAT+CSQ\r');
  t.true(s.take().endsWith('\r\n+CSQ: 20,99\r\n\r\nOK\r\n'));
});

test('identification answers as a SIM7600', (t) => {
  const s = quietSession();
  t.is(
    s.at('ATI'),
    '\r\nManufacturer: SIMCOM INCORPORATED\r\nModel: SIMCOM_SIM7600G-H\r\nRevision: LE20B04SIM7600G22\r\nIMEI: 862636050000001\r\n+GCAP: +CGSM\r\n\r\nOK\r\n',
  );
  t.is(s.at('AT+CGMI'), '\r\nSIMCOM INCORPORATED\r\n\r\nOK\r\n');
  t.is(s.at('AT+GMM'), '\r\nSIMCOM_SIM7600G-H\r\n\r\nOK\r\n');
  t.is(s.at('AT+CGMR'), '\r\n+CGMR: LE20B04SIM7600G22\r\n\r\nOK\r\n');
  t.is(s.at('AT+CGSN'), '\r\n862636050000001\r\n\r\nOK\r\n');
  t.is(s.at('AT+CIMI'), '\r\n460001234567890\r\n\r\nOK\r\n');
});

test('several commands on one line run in order under one final result', (t) => {
  const s = quietSession();
  t.is(s.at('AT+CMGF=0;+CNMI=2,1,0,1,0;+CMEE=2'), '\r\nOK\r\n');
  t.is(s.at('AT+CNMI?;+CMEE?'), '\r\n+CNMI: 2,1,0,1,0\r\n\r\n+CMEE: 2\r\n\r\nOK\r\n');
  t.is(s.at('ATE1V1'), '\r\nOK\r\n');
  t.is(s.at('ATE0'), 'ATE0\r\r\nOK\r\n');
});

test('an unknown command fails the line at that command; what ran before it stays done', (t) => {
  const s = quietSession();
  t.is(s.at('AT+FOO'), '\r\nERROR\r\n');
  t.is(s.at('AT+CMEE=1;+FOO;+CMEE=2'), '\r\nERROR\r\n');
  t.is(s.at('AT+CMEE?'), '\r\n+CMEE: 1\r\n\r\nOK\r\n');
  t.is(s.at('AT+CMEE=7'), '\r\n+CME ERROR: 3\r\n');
});

test('AT+CMEE chooses plain, numeric or verbose errors', (t) => {
  const s = quietSession();
  s.modem.inject({ kind: 'no-sim' });
  t.is(s.at('AT+CPIN?'), '\r\nERROR\r\n');
  s.at('AT+CMEE=1');
  t.is(s.at('AT+CPIN?'), '\r\n+CME ERROR: 10\r\n');
  t.is(s.at('AT+CPMS?'), '\r\n+CMS ERROR: 310\r\n');
  s.at('AT+CMEE=2');
  t.is(s.at('AT+CPIN?'), '\r\n+CME ERROR: SIM not inserted\r\n');
  t.is(s.at('AT+CMGR=0'), '\r\n+CMS ERROR: SIM not inserted\r\n');
  s.modem.clear();
  t.is(s.at('AT+CPIN?'), '\r\n+CPIN: READY\r\n\r\nOK\r\n');
});

test('text mode is refused: only PDU mode is emulated', (t) => {
  const s = quietSession();
  s.at('AT+CMEE=1');
  t.is(s.at('AT+CMGF=1'), '\r\n+CMS ERROR: 303\r\n');
  t.is(s.at('AT+CMGF=0'), '\r\nOK\r\n');
  t.is(s.at('AT+CMGF?'), '\r\n+CMGF: 0\r\n\r\nOK\r\n');
});

test('storage: +CPMS query, test and set with used/total counts, MT spanning SM and ME', (t) => {
  const s = quietSession({ storage: { SM: 10, ME: 5 } });
  t.is(s.at('AT+CPMS?'), '\r\n+CPMS: "SM",0,10,"SM",0,10,"SM",0,10\r\n\r\nOK\r\n');
  t.is(s.at('AT+CPMS=?'), '\r\n+CPMS: ("SM","ME","MT"),("SM","ME","MT"),("SM","ME","MT")\r\n\r\nOK\r\n');
  s.modem.deliver({ from: '+8613900000000', text: 'one' });
  t.is(s.at('AT+CPMS="ME","ME","MT"'), '\r\n+CPMS: 0,5,0,5,1,15\r\n\r\nOK\r\n');
  t.is(s.at('AT+CPMS?'), '\r\n+CPMS: "ME",0,5,"ME",0,5,"MT",1,15\r\n\r\nOK\r\n');
  s.at('AT+CMEE=1');
  t.is(s.at('AT+CPMS="XX"'), '\r\n+CMS ERROR: 302\r\n');
});

// ------------------------------------------------------------ sending

test('AT+CMGS prompts with exactly CR LF > space, then answers +CMGS with a rotating TP-MR', (t) => {
  const s = quietSession();
  const [pdu] = encodeSubmit({ to: '+8613800138000', text: 'Hello' });
  t.is(s.at(`AT+CMGS=${pdu!.tpduLength}`), '\r\n> ');
  s.modem.write(pdu!.pdu + CTRL_Z);
  t.is(s.take(), '', 'nothing before the send time has passed');
  s.timers.advance(SEND_MS - 1);
  t.is(s.take(), '');
  s.timers.advance(1);
  t.is(s.take(), '\r\n+CMGS: 0\r\n\r\nOK\r\n');
  t.is(sendPdu(s, pdu!), '\r\n+CMGS: 1\r\n\r\nOK\r\n');
  t.deepEqual(
    s.modem.transmitted.map(({ to, text, segments, messageRefs }) => ({ to, text, segments, messageRefs })),
    [
      { to: '+8613800138000', text: 'Hello', segments: 1, messageRefs: [0] },
      { to: '+8613800138000', text: 'Hello', segments: 1, messageRefs: [1] },
    ],
  );
  t.is(s.modem.transmitted[0]!.at, new Date(s.clock.now() - SEND_MS).toISOString());
});

test('with echo on the PDU is echoed as typed, like a real module', (t) => {
  const s = session();
  const [pdu] = encodeSubmit({ to: '10086', text: 'CXYE' });
  t.is(s.at(`AT+CMGS=${pdu!.tpduLength}`), `AT+CMGS=${pdu!.tpduLength}\r\r\n> `);
  s.modem.write(pdu!.pdu + CTRL_Z);
  t.is(s.take(), pdu!.pdu + CTRL_Z);
  s.timers.advance(SEND_MS);
  t.is(s.take(), '\r\n+CMGS: 0\r\n\r\nOK\r\n');
  t.is(s.modem.transmitted[0]!.to, '10086');
});

test('ESC cancels the message: OK, nothing transmitted', (t) => {
  const s = quietSession();
  const [pdu] = encodeSubmit({ to: '+8613800138000', text: 'never' });
  s.at(`AT+CMGS=${pdu!.tpduLength}`);
  s.modem.write(pdu!.pdu.slice(0, 10) + ESC);
  t.is(s.take(), '\r\nOK\r\n');
  s.timers.advance(SEND_MS * 10);
  t.deepEqual(s.modem.transmitted, []);
  t.is(s.at('AT'), '\r\nOK\r\n');
});

test('a PDU that does not match its declared length or is not a SUBMIT is refused with +CMS ERROR: 304', (t) => {
  const s = quietSession();
  s.at('AT+CMEE=1');
  const [pdu] = encodeSubmit({ to: '+8613800138000', text: 'Hello' });
  s.at(`AT+CMGS=${pdu!.tpduLength + 1}`);
  s.modem.write(pdu!.pdu + CTRL_Z);
  t.is(s.take(), '\r\n+CMS ERROR: 304\r\n');
  s.at('AT+CMGS=3');
  s.modem.write('00ZZ11' + CTRL_Z);
  t.is(s.take(), '\r\n+CMS ERROR: 304\r\n');
  t.deepEqual(s.modem.transmitted, []);
});

test('multipart submits are reassembled into one transmitted SMS, whatever the part order', (t) => {
  const s = quietSession();
  const text = '您好，您的订单已发货，快递单号SF1234567890。'.repeat(4);
  const parts = encodeSubmit({ to: '13800138000', text, concatRef: 42 });
  t.true(parts.length >= 2);
  const order = [...parts].reverse();
  for (const [i, part] of order.entries()) {
    t.is(sendPdu(s, part), `\r\n+CMGS: ${i}\r\n\r\nOK\r\n`);
    t.is(s.modem.transmitted.length, i === order.length - 1 ? 1 : 0);
  }
  const [sms] = s.modem.transmitted;
  t.is(sms!.text, text);
  t.is(sms!.segments, parts.length);
  t.is(sms!.to, '13800138000');
  t.is(sms!.encoding, 'ucs2');
  t.deepEqual(sms!.messageRefs, [...order.keys()].reverse());
  t.is(s.modem.transmittedSegments.length, parts.length);
});

test('property: any text the codec can send comes out of the modem whole', (t) => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 400 }), fc.integer({ min: 0, max: 255 }), (text, concatRef) => {
      const s = quietSession({ sendMs: 1 });
      const parts = encodeSubmit({ to: '+8613800138000', text, concatRef });
      for (const part of parts) {
        s.at(`AT+CMGS=${part.tpduLength}`);
        s.modem.write(part.pdu + CTRL_Z);
        s.timers.advance(1);
      }
      return s.modem.transmitted.length === 1 && s.modem.transmitted[0]!.text === text && s.modem.transmitted[0]!.segments === parts.length;
    }),
    { numRuns: 150 },
  );
  t.pass();
});

test('commands that arrive while a segment is on the air are answered after +CMGS', (t) => {
  const s = quietSession();
  const [pdu] = encodeSubmit({ to: '+8613800138000', text: 'Hello' });
  s.at(`AT+CMGS=${pdu!.tpduLength}`);
  s.modem.write(pdu!.pdu + CTRL_Z);
  s.modem.write('AT+CSQ\r');
  t.is(s.take(), '');
  s.timers.advance(SEND_MS);
  t.is(s.take(), '\r\n+CMGS: 0\r\n\r\nOK\r\n\r\n+CSQ: 20,99\r\n\r\nOK\r\n');
});

// ------------------------------------------------------------ receiving

test('an inbound SMS is stored with +CMTI, listed, read, marked read and deleted', (t) => {
  const s = quietSession();
  s.at('AT+CMEE=1');
  s.modem.deliver({ from: '+8613900000000', text: 'TD' });
  t.is(s.take(), '\r\n+CMTI: "SM",0\r\n');
  s.modem.deliver({ from: '10086', text: '您的话费余额为10元' });
  t.is(s.take(), '\r\n+CMTI: "SM",1\r\n');

  const unread = s.at('AT+CMGL=0');
  t.regex(unread, /^\r\n\+CMGL: 0,0,,\d+\r\n[0-9A-F]+\r\n\+CMGL: 1,0,,\d+\r\n[0-9A-F]+\r\n\r\nOK\r\n$/);
  const decoded = pduLines(unread).map((pdu) => decodePdu(pdu));
  t.deepEqual(
    decoded.map((d) => (d.type === 'deliver' ? [d.number, d.text, d.smsc, d.timestamp] : null)),
    [
      ['+8613900000000', 'TD', '+8613800100500', '2026-11-25T09:30:00+08:00'],
      ['10086', '您的话费余额为10元', '+8613800100500', '2026-11-25T09:30:00+08:00'],
    ],
  );
  const length = Number(/\+CMGL: 0,0,,(\d+)/.exec(unread)![1]);
  t.is(length, pduLines(unread)[0]!.length / 2 - 9, '<length> counts the TPDU without the 9 SMSC octets');

  t.is(s.at('AT+CMGL=0'), '\r\nOK\r\n', 'listing unread marked them read');
  t.regex(s.at('AT+CMGR=1'), /^\r\n\+CMGR: 1,,\d+\r\n[0-9A-F]+\r\n\r\nOK\r\n$/);
  t.is(s.at('AT+CMGD=0'), '\r\nOK\r\n');
  t.is(s.at('AT+CMGR=0'), '\r\nOK\r\n', 'an empty location answers a bare OK');
  t.is(s.at('AT+CMGR=30'), '\r\n+CMS ERROR: 321\r\n');
  t.is(s.at('AT+CMGD=99'), '\r\n+CMS ERROR: 321\r\n');
  t.is(s.at('AT+CPMS?'), '\r\n+CPMS: "SM",1,30,"SM",1,30,"SM",1,30\r\n\r\nOK\r\n');
  t.is(s.at('AT+CMGD=0,4'), '\r\nOK\r\n');
  t.is(s.at('AT+CMGL=4'), '\r\nOK\r\n');
});

test('AT+CMGD delete flags remove by status', (t) => {
  const s = quietSession();
  for (const text of ['a', 'b', 'c']) s.modem.deliver({ from: '10086', text });
  s.at('AT+CMGR=1'); // read: b
  t.is(s.at('AT+CMGD=0,1'), '\r\nOK\r\n');
  t.deepEqual(
    s.modem.stored('SM').map((m) => m.index),
    [0, 2],
  );
});

test('a long inbound SMS arrives as concatenated parts, each with its +CMTI', (t) => {
  const s = quietSession();
  const text = '亲，您的包裹已到驿站，请凭取件码取件。'.repeat(5);
  const pdus = s.modem.deliver({ from: '+8613900000000', text });
  t.true(pdus.length >= 2);
  t.is(s.take(), pdus.map((_, i) => `\r\n+CMTI: "SM",${i}\r\n`).join(''));
  const decoded = pduLines(s.at('AT+CMGL=4')).map((pdu) => decodePdu(pdu));
  const texts = decoded.map((d) => (d.type === 'deliver' ? d.text : ''));
  t.is(texts.join(''), text);
  t.deepEqual(
    decoded.map((d) => (d.type === 'deliver' ? [d.concat?.part, d.concat?.total] : null)),
    pdus.map((_, i) => [i + 1, pdus.length]),
  );
});

test('AT+CNMI mt=2 routes an SMS directly with +CMT and does not store it', (t) => {
  const s = quietSession();
  s.at('AT+CNMI=2,2,0,0,0');
  const [pdu] = s.modem.deliver({ from: '+8613900000000', text: 'T' });
  t.is(s.take(), `\r\n+CMT: ,${pdu!.length / 2 - 9}\r\n${pdu}\r\n`);
  t.deepEqual(s.modem.stored(), []);
});

test('AT+CNMI mt=0 stores without an indication; mode 0 keeps indications back', (t) => {
  const s = quietSession();
  s.at('AT+CNMI=2,0');
  s.modem.deliver({ from: '10086', text: 'x' });
  t.is(s.take(), '');
  s.at('AT+CNMI=0,1');
  s.modem.deliver({ from: '10086', text: 'y' });
  t.is(s.take(), '');
  t.is(s.modem.stored().length, 2);
});

test('a full memory leaves further SMS waiting at the network until there is room', (t) => {
  const s = quietSession({ storage: { SM: 1, ME: 0 } });
  s.modem.deliver({ from: '10086', text: 'first' });
  s.modem.deliver({ from: '10086', text: 'second' });
  t.is(s.take(), '\r\n+CMTI: "SM",0\r\n');
  t.is(s.modem.pendingNetworkDeliveries(), 1);
  s.at('AT+CMGD=0');
  s.modem.setSignal(21); // any later network event; deleting alone does not pull from the network
  s.modem.clear();
  t.is(s.take(), '\r\n+CMTI: "SM",0\r\n');
  t.is(s.modem.pendingNetworkDeliveries(), 0);
});

// ------------------------------------------------------------ status reports

test('a requested status report comes back as +CDS with the TP-MR of the send', (t) => {
  const s = quietSession({ statusReportDelayMs: 2000 });
  s.at('AT+CNMI=2,1,0,1,0');
  sendPdu(s, encodeSubmit({ to: '+8613800138000', text: 'x' })[0]!);
  const [withReport] = encodeSubmit({ to: '+8613800138001', text: 'y', statusReport: true });
  t.is(sendPdu(s, withReport!), '\r\n+CMGS: 1\r\n\r\nOK\r\n');
  s.timers.advance(1999);
  t.is(s.take(), '');
  s.timers.advance(1);
  const urc = s.take();
  const m = /^\r\n\+CDS: (\d+)\r\n([0-9A-F]+)\r\n$/.exec(urc);
  t.truthy(m, urc);
  const report = decodePdu(m![2]!);
  t.is(report.type, 'status-report');
  if (report.type !== 'status-report') return;
  t.is(report.messageRef, 1);
  t.is(report.number, '+8613800138001');
  t.is(report.status, 0);
  t.true(report.delivered);
  t.is(Number(m![1]), m![2]!.length / 2 - 9);
});

test('with ds=2 the status report is stored and announced with +CDSI', (t) => {
  const s = quietSession({ statusReportDelayMs: 10, statusReportStatus: 0x41 });
  s.at('AT+CNMI=2,1,0,2,0');
  sendPdu(s, encodeSubmit({ to: '+8613800138000', text: 'x', statusReport: true })[0]!);
  s.timers.advance(10);
  t.is(s.take(), '\r\n+CDSI: "SM",0\r\n');
  const [pdu] = pduLines(s.at('AT+CMGR=0'));
  const report = decodePdu(pdu!);
  t.true(report.type === 'status-report' && report.status === 0x41 && !report.delivered && report.final);
});

// ------------------------------------------------------------ network state

test('registration: +CREG/+CEREG queries and URCs follow setRegistration', (t) => {
  const s = quietSession();
  t.is(s.at('AT+CREG?'), '\r\n+CREG: 0,1\r\n\r\nOK\r\n');
  s.at('AT+CREG=1;+CEREG=2');
  t.is(s.at('AT+CEREG?'), '\r\n+CEREG: 2,1,"5A1F","0B3C4D51",7\r\n\r\nOK\r\n');
  s.modem.setRegistration('searching');
  t.is(s.take(), '\r\n+CREG: 2\r\n\r\n+CEREG: 2\r\n');
  s.modem.setRegistration('searching');
  t.is(s.take(), '', 'no URC without a change');
  s.modem.setRegistration('roaming');
  t.is(s.take(), '\r\n+CREG: 5\r\n\r\n+CEREG: 5,"5A1F","0B3C4D51",7\r\n');
  s.modem.setRegistration('denied');
  t.is(s.at('AT+CREG?;+CGREG?'), '\r\n+CREG: 1,3\r\n\r\n+CGREG: 0,3\r\n\r\nOK\r\n');
  s.at('AT+CMEE=1');
  const [pdu] = encodeSubmit({ to: '+8613800138000', text: 'x' });
  s.at(`AT+CMGS=${pdu!.tpduLength}`);
  s.modem.write(pdu!.pdu + CTRL_Z);
  t.is(s.take(), '\r\n+CMS ERROR: 331\r\n');
});

test('signal and operator', (t) => {
  const s = quietSession();
  s.modem.setSignal(12);
  t.is(s.at('AT+CSQ'), '\r\n+CSQ: 12,99\r\n\r\nOK\r\n');
  t.is(s.at('AT+COPS?'), '\r\n+COPS: 0,0,"CHINA MOBILE",7\r\n\r\nOK\r\n');
  t.is(s.at('AT+COPS=3,2;+COPS?'), '\r\n+COPS: 0,2,"46000",7\r\n\r\nOK\r\n');
  t.is(s.at('AT+CSCA?'), '\r\n+CSCA: "+8613800100500",145\r\n\r\nOK\r\n');
  t.is(s.at('AT+CSCS="UCS2";+CSCA?'), '\r\n+CSCA: "002B0038003600310033003800300030003100300030003500300030",145\r\n\r\nOK\r\n');
  t.throws(() => s.modem.setSignal(40));
});

test('network time: 1980 on the RTC until registration, then NITZ time in quarter hours of UTC+8', (t) => {
  const s = session({ initialPower: 'booting', bootMs: 1000, registerMs: 3000 });
  s.timers.advance(1000);
  s.take();
  s.at('ATE0');
  t.is(s.at('AT+CCLK?'), '\r\n+CCLK: "80/01/06,00:00:01+00"\r\n\r\nOK\r\n', 'the RTC has run since power-on');
  s.timers.advance(3000);
  t.is(s.at('AT+CCLK?'), '\r\n+CCLK: "26/11/25,09:30:04+32"\r\n\r\nOK\r\n');
});

test('AT+CFUN=0 takes the radio off the network and =1 brings it back', async (t) => {
  const s = quietSession();
  s.at('AT+CREG=1');
  t.is(s.at('AT+CFUN=0'), '\r\nOK\r\n');
  await s.settle(); // the registration changes after the final result code
  t.is(s.take(), '\r\n+CREG: 0\r\n');
  t.is(s.at('AT+CSQ'), '\r\n+CSQ: 99,99\r\n\r\nOK\r\n');
  s.at('AT+CFUN=1');
  await s.settle();
  t.is(s.take(), '\r\n+CREG: 1\r\n');
});

// ------------------------------------------------------------ power and boot

test('power on prints the SIM7600 boot URCs after the boot time; nothing is answered before', (t) => {
  const s = session({ initialPower: 'off', bootMs: 5000, smsReadyMs: 2000 });
  t.false(s.modem.isPoweredOn());
  s.modem.write('AT\r');
  t.is(s.take(), '');
  s.modem.powerOn();
  t.true(s.modem.isPoweredOn());
  t.false(s.modem.isReady());
  s.timers.advance(4999);
  s.modem.write('AT\r');
  t.is(s.take(), '');
  s.timers.advance(1);
  t.is(s.take(), '\r\nRDY\r\n\r\n+CPIN: READY\r\n');
  s.timers.advance(2000);
  t.is(s.take(), '\r\nSMS DONE\r\n\r\nPB DONE\r\n');
  t.is(s.at('AT'), 'AT\r\r\nOK\r\n');
  s.modem.powerOff();
  t.is(s.at('AT'), '');
});

test('AT+CFUN=1,1 reboots: OK, then the boot URCs, with settings back to defaults', async (t) => {
  const s = quietSession();
  t.is(s.at('AT+CFUN=1,1'), '\r\nOK\r\n');
  await s.settle();
  t.false(s.modem.isReady());
  s.timers.advance(5000);
  t.is(s.take(), '\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\nPB DONE\r\n');
  t.is(s.at('AT'), 'AT\r\r\nOK\r\n', 'echo is on again');
});

test('AT+CPOF answers OK and powers the module down', async (t) => {
  const s = quietSession();
  t.is(s.at('AT+CPOF'), '\r\nOK\r\n');
  await s.settle();
  t.false(s.modem.isPoweredOn());
  t.is(s.at('AT'), '');
});

// ------------------------------------------------------------ faults

test('fault no-sim: +CPIN fails, the network drops, sends fail with 310, boot says SIM REMOVED', (t) => {
  const s = quietSession();
  s.at('AT+CMEE=2;+CREG=1');
  s.modem.inject({ kind: 'no-sim' });
  t.is(s.take(), '\r\n+CREG: 0\r\n');
  t.is(s.at('AT+CPIN?'), '\r\n+CME ERROR: SIM not inserted\r\n');
  t.is(s.at('AT+CIMI'), '\r\n+CME ERROR: SIM not inserted\r\n');
  t.is(s.at('AT+CMGS=20'), '\r\n+CMS ERROR: SIM not inserted\r\n');
  s.modem.inject({ kind: 'reboot' });
  s.timers.advance(5000);
  t.is(s.take(), '\r\nRDY\r\n\r\n+CPIN: SIM REMOVED\r\n');
  s.modem.clear('no-sim');
  t.is(s.at('AT+CPIN?'), 'AT+CPIN?\r\r\n+CPIN: READY\r\n\r\nOK\r\n');
});

test('fault no-network: searching, no signal, sends fail with 331, inbound SMS wait for the network', (t) => {
  const s = quietSession();
  s.at('AT+CMEE=1;+CREG=1');
  s.modem.inject({ kind: 'no-network' });
  t.is(s.take(), '\r\n+CREG: 2\r\n');
  t.is(s.at('AT+CREG?'), '\r\n+CREG: 1,2\r\n\r\nOK\r\n');
  t.is(s.at('AT+CSQ'), '\r\n+CSQ: 99,99\r\n\r\nOK\r\n');
  t.is(s.at('AT+COPS?'), '\r\n+COPS: 0\r\n\r\nOK\r\n');
  const [pdu] = encodeSubmit({ to: '+8613800138000', text: 'x' });
  s.at(`AT+CMGS=${pdu!.tpduLength}`);
  s.modem.write(pdu!.pdu + CTRL_Z);
  t.is(s.take(), '\r\n+CMS ERROR: 331\r\n');
  s.modem.deliver({ from: '10086', text: 'held' });
  t.is(s.take(), '');
  s.modem.clear('no-network');
  t.is(s.take(), '\r\n+CREG: 1\r\n\r\n+CMTI: "SM",0\r\n');
  t.deepEqual(s.modem.transmitted, []);
});

test('fault cms-error: the next N sends fail with the code after the send time, then sending works', (t) => {
  const s = quietSession();
  s.at('AT+CMEE=1');
  s.modem.inject({ kind: 'cms-error', code: 42, count: 2 });
  const [pdu] = encodeSubmit({ to: '+8613800138000', text: 'x' });
  t.is(sendPdu(s, pdu!), '\r\n+CMS ERROR: 42\r\n');
  t.is(sendPdu(s, pdu!), '\r\n+CMS ERROR: 42\r\n');
  t.is(sendPdu(s, pdu!), '\r\n+CMGS: 0\r\n\r\nOK\r\n');
  t.is(s.modem.transmitted.length, 1);
  s.at('AT+CMEE=2');
  s.modem.inject({ kind: 'cms-error', code: 38 });
  t.is(sendPdu(s, pdu!), '\r\n+CMS ERROR: Network out of order\r\n');
  t.deepEqual(s.modem.activeFaults(), []);
});

test('fault silence: no echo, no answer, no URC until cleared; the radio still sends what was on the air', (t) => {
  const s = session();
  const [pdu] = encodeSubmit({ to: '+8613800138000', text: 'x' });
  s.at('ATE0');
  s.at(`AT+CMGS=${pdu!.tpduLength}`);
  s.modem.write(pdu!.pdu + CTRL_Z);
  s.modem.inject({ kind: 'silence' });
  s.timers.advance(SEND_MS);
  t.is(s.take(), '', 'the +CMGS answer is lost');
  t.is(s.modem.transmitted.length, 1, 'but the SMS left');
  t.is(s.at('AT'), '');
  s.modem.deliver({ from: '10086', text: 'x' });
  t.is(s.take(), '');
  s.modem.clear('silence');
  t.is(s.take(), '\r\n+CMTI: "SM",0\r\n', 'the network delivers once the module listens again');
  t.is(s.at('AT'), '\r\nOK\r\n');
});

test('fault silence ends with a power cycle', (t) => {
  const s = quietSession();
  s.modem.inject({ kind: 'silence' });
  t.is(s.at('AT'), '');
  s.modem.powerOff();
  s.modem.powerOn();
  s.timers.advance(5000);
  t.is(s.take(), '\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\nPB DONE\r\n');
  t.is(s.at('AT'), 'AT\r\r\nOK\r\n');
});

test('fault garbage: noise between answers, the answers themselves intact, gone after clear', (t) => {
  let seed = 7;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  const s = quietSession({ random });
  s.modem.inject({ kind: 'garbage', probability: 1 });
  const noisy = s.at('AT+CSQ');
  t.not(noisy, '\r\n+CSQ: 20,99\r\n\r\nOK\r\n');
  t.true(noisy.endsWith('\r\n+CSQ: 20,99\r\n\r\nOK\r\n'));
  t.false(/[\r\n]/.test(noisy.slice(0, noisy.length - '\r\n+CSQ: 20,99\r\n\r\nOK\r\n'.length)));
  s.modem.clear('garbage');
  t.is(s.at('AT+CSQ'), '\r\n+CSQ: 20,99\r\n\r\nOK\r\n');
});

test('fault reboot mid-send: no +CMGS, the SMS was not transmitted, boot URCs follow', (t) => {
  const s = quietSession();
  const [pdu] = encodeSubmit({ to: '+8613800138000', text: 'x' });
  s.at(`AT+CMGS=${pdu!.tpduLength}`);
  s.modem.write(pdu!.pdu + CTRL_Z);
  s.timers.advance(SEND_MS / 2);
  s.modem.inject({ kind: 'reboot' });
  s.timers.advance(SEND_MS);
  t.is(s.take(), '');
  s.timers.advance(5000);
  t.is(s.take(), '\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n\r\nPB DONE\r\n');
  t.deepEqual(s.modem.transmitted, []);
  t.is(s.at('AT'), 'AT\r\r\nOK\r\n');
});

test('stored messages survive a reboot and a power cycle (they live on the SIM)', (t) => {
  const s = quietSession();
  s.modem.deliver({ from: '10086', text: 'kept' });
  s.modem.powerOff();
  s.modem.powerOn();
  s.timers.advance(5000);
  s.at('ATE0');
  t.is(pduLines(s.at('AT+CMGL=4')).length, 1);
});

test('PWRKEY: a 500 ms pulse switches an off module on, 2.5 s switches it off, shorter ones do nothing', (t) => {
  const s = session({ initialPower: 'off', bootMs: 1000 });
  t.is(s.modem.pwrkeyPulse(100), 'ignored');
  t.false(s.modem.isPoweredOn());
  t.is(s.modem.pwrkeyPulse(500), 'powered-on');
  s.timers.advance(1000);
  t.true(s.modem.isReady());
  t.is(s.modem.pwrkeyPulse(1000), 'ignored');
  t.is(s.modem.pwrkeyPulse(2500), 'powered-off');
  t.false(s.modem.isPoweredOn());
});

test('snapshot reports power, registration, signal, faults and counts', (t) => {
  const s = quietSession();
  s.modem.inject({ kind: 'no-network' });
  s.modem.deliver({ from: '10086', text: 'x' });
  t.deepEqual(s.modem.snapshot(), {
    power: 'ready',
    registration: 'home',
    creg: 2,
    signal: 99,
    faults: [{ kind: 'no-network' }],
    stored: 0,
    waitingAtNetwork: 1,
    transmitted: 0,
    profile: 'sim7600',
    network: 'lte-sgs',
    smsPath: 'none',
    ims: false,
    ringing: false,
  });
});
