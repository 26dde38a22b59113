import test from 'ava';
import { encodeDeliver } from '../../src/modem/pdu/index.js';
import { ModemSendError } from '../../src/modem/modem.js';
import { rig } from './rig.js';

test.serial('start on a modem that is already on: no PWRKEY pulse, init, registered, identity read', async (t) => {
  const r = rig();
  t.teardown(() => r.stop());
  const states: string[] = [];
  r.modem.on('status', (s) => states.push(s.state));
  await r.run(r.modem.start(), 'the start');
  const s = r.modem.status();
  t.is(s.state, 'ready');
  t.deepEqual(r.power.pulses, []);
  t.true(s.registered);
  t.false(s.roaming);
  t.is(s.operator, 'CHINA MOBILE');
  t.is(s.csq, 20);
  t.is(s.dbm, -73);
  t.is(s.bars, 4);
  t.is(s.model, 'SIMCOM_SIM7600G-H');
  t.is(s.firmware, 'LE20B04SIM7600G22');
  t.is(s.imei, '862636050000001');
  t.is(s.iccid, '89860012345678901234');
  t.is(s.smsc, '+8613800100500');
  t.is(s.hardFault, null);
  t.true(states.includes('starting'));
  t.is(states.at(-1), 'ready');
  t.truthy(r.events.find((e) => e.kind === 'registered' && e.en.includes('CHINA MOBILE')));
});

test.serial('start on a modem that is off: PWRKEY pulse of the profile, wait for boot, then ready', async (t) => {
  const r = rig({ virtual: { initialPower: 'off' } });
  t.teardown(() => r.stop());
  await r.run(r.modem.start(), 'the start');
  t.is(r.power.pulses.length, 1);
  t.is(r.power.pulses[0]!.ms, 5);
  t.true(r.virtual.isReady());
  t.is(r.modem.status().state, 'ready');
});

test.serial('no SIM: hard fault with zh+en text, sending refused as retryable and not uncertain; SIM back → ready', async (t) => {
  const r = rig();
  t.teardown(() => r.stop());
  r.virtual.inject({ kind: 'no-sim' });
  await r.run(r.modem.start(), 'the start');
  const s = r.modem.status();
  t.is(s.state, 'no-sim');
  t.regex(s.hardFault ?? '', /SIM 卡.*\/.*SIM card/);
  t.truthy(r.events.find((e) => e.kind === 'no-sim' && e.level === 'error'));
  const error = await t.throwsAsync(r.run(r.modem.send({ to: '13800138000', text: 'hi' }), 'the send'), { instanceOf: ModemSendError });
  t.true(error!.retryable);
  t.false(error!.uncertain);
  t.is(r.virtual.transmitted.length, 0);
  r.virtual.clear('no-sim');
  await r.until(() => r.modem.status().state === 'ready', 'ready after the SIM is back');
});

test.serial('no network: searching (not a hard fault); network back → ready with a "registered" event', async (t) => {
  const r = rig();
  t.teardown(() => r.stop());
  r.virtual.inject({ kind: 'no-network' });
  await r.run(r.modem.start(), 'the start');
  t.is(r.modem.status().state, 'searching');
  t.is(r.modem.status().hardFault, null);
  t.is(r.modem.status().csq, null);
  r.virtual.clear('no-network');
  await r.until(() => r.modem.status().state === 'ready', 'registration');
  t.truthy(r.events.find((e) => e.kind === 'registered'));
});

test.serial('registration denied and roaming are told apart', async (t) => {
  const r = rig({ virtual: { registration: 'denied' } });
  t.teardown(() => r.stop());
  await r.run(r.modem.start(), 'the start');
  t.is(r.modem.status().state, 'registration-denied');
  r.virtual.setRegistration('roaming');
  await r.until(() => r.modem.status().state === 'ready', 'roaming registration');
  t.true(r.modem.status().roaming);
});

test.serial('weak signal gives one warning event', async (t) => {
  const r = rig();
  t.teardown(() => r.stop());
  await r.run(r.modem.start(), 'the start');
  r.virtual.setSignal(6);
  await r.until(() => r.modem.status().csq === 6, 'signal update');
  await r.time.advance(300);
  t.is(r.events.filter((e) => e.kind === 'signal-weak').length, 1);
  t.is(r.modem.status().bars, 1);
});

test.serial('silence: not-responding after repeated unanswered commands, hard fault; recovers when the modem answers again', async (t) => {
  const r = rig();
  t.teardown(() => r.stop());
  await r.run(r.modem.start(), 'the start');
  r.virtual.inject({ kind: 'silence' });
  await r.until(() => r.modem.status().state === 'not-responding', 'not-responding');
  t.regex(r.modem.status().hardFault ?? '', /无响应/);
  t.true(r.modem.consecutiveFailures >= 3);
  const error = await t.throwsAsync(r.run(r.modem.send({ to: '13800138000', text: 'x' }), 'the send'), { instanceOf: ModemSendError });
  t.false(error!.uncertain);
  r.virtual.clear('silence');
  await r.until(() => r.modem.status().state === 'ready', 'recovery');
  await r.run(r.modem.send({ to: '13800138000', text: 'after' }), 'the send');
  t.is(r.virtual.transmitted.at(-1)!.text, 'after');
});

test.serial('garbage on the line: sends and polls still work', async (t) => {
  const r = rig();
  t.teardown(() => r.stop());
  await r.run(r.modem.start(), 'the start');
  r.virtual.inject({ kind: 'garbage', probability: 0.5 });
  for (let i = 0; i < 5; i++) await r.run(r.modem.send({ to: '13800138000', text: `noise ${i}` }), `send ${i}`);
  t.deepEqual(
    r.virtual.transmitted.map((m) => m.text),
    [0, 1, 2, 3, 4].map((i) => `noise ${i}`),
  );
  await r.time.advance(300);
  t.is(r.modem.status().state, 'ready');
});

test.serial('a reboot during AT+CMGS: the send is uncertain and retryable; the modem is set up again', async (t) => {
  const r = rig({ virtual: { sendMs: 300 } });
  t.teardown(() => r.stop());
  await r.run(r.modem.start(), 'the start');
  const sending = r.modem.send({ to: '13800138000', text: 'lost in the reboot' });
  // The module takes 300 ms per segment: 100 ms in, the PDU has been written and the network has not answered.
  await r.time.advance(100);
  r.virtual.inject({ kind: 'reboot' });
  const error = await t.throwsAsync(r.run(sending, 'the send'), { instanceOf: ModemSendError });
  t.true(error!.uncertain);
  t.true(error!.retryable);
  t.is(error!.segmentsSent, 0);
  t.is(r.virtual.transmitted.length, 0);
  await r.until(() => r.events.find((e) => e.kind === 'modem-restarted'), 'restart event');
  await r.until(() => r.modem.status().state === 'ready', 'ready after the restart');
  await r.run(r.modem.send({ to: '13800138000', text: 'again' }), 'the send');
  t.is(r.virtual.transmitted.at(-1)!.text, 'again');
});

test.serial('+CMS ERROR: a retryable code and a final code', async (t) => {
  const r = rig();
  t.teardown(() => r.stop());
  await r.run(r.modem.start(), 'the start');
  r.virtual.inject({ kind: 'cms-error', code: 500 });
  const retryable = await t.throwsAsync(r.run(r.modem.send({ to: '13800138000', text: 'a' }), 'the send'), { instanceOf: ModemSendError });
  t.true(retryable!.retryable);
  t.false(retryable!.uncertain);
  t.is(retryable!.code, 500);
  r.virtual.inject({ kind: 'cms-error', code: 1 });
  const final = await t.throwsAsync(r.run(r.modem.send({ to: '13800138000', text: 'b' }), 'the send'), { instanceOf: ModemSendError });
  t.false(final!.retryable);
  t.is(final!.code, 1);
  t.is(r.virtual.transmitted.length, 0);
});

test.serial('a failure on the second segment of a multipart message is uncertain (part of it went out)', async (t) => {
  const r = rig();
  t.teardown(() => r.stop());
  await r.run(r.modem.start(), 'the start');
  r.virtual.on('segment', () => {
    if (r.virtual.transmittedSegments.length === 1) r.virtual.inject({ kind: 'cms-error', code: 42 });
  });
  const error = await t.throwsAsync(r.run(r.modem.send({ to: '13800138000', text: '长'.repeat(150) }), 'the send'), { instanceOf: ModemSendError });
  t.true(error!.uncertain);
  t.true(error!.retryable);
  t.is(error!.segmentsSent, 1);
  t.is(error!.messageRefs.length, 1);
});

test.serial('a multipart message arrives whole, with one message reference per segment, under AT+CMMS', async (t) => {
  const r = rig();
  t.teardown(() => r.stop());
  await r.run(r.modem.start(), 'the start');
  const text = '您好，您的订单已发货，'.repeat(20);
  const { messageRefs } = await r.run(r.modem.send({ to: '+8613800138000', text }), 'the send');
  const sms = r.virtual.transmitted.at(-1)!;
  t.is(sms.text, text);
  t.is(sms.to, '+8613800138000');
  t.is(sms.segments, messageRefs.length);
  t.true(messageRefs.length > 1);
  t.deepEqual(sms.messageRefs, messageRefs);
});

test.serial('two multipart sends at once never interleave their segments', async (t) => {
  const r = rig();
  t.teardown(() => r.stop());
  await r.run(r.modem.start(), 'the start');
  await r.run(Promise.all([r.modem.send({ to: '13800000001', text: 'A'.repeat(400) }), r.modem.send({ to: '13800000002', text: 'B'.repeat(400) })]), 'both sends');
  const order = r.virtual.transmittedSegments.map((s) => s.to);
  t.deepEqual(order, ['13800000001', '13800000001', '13800000001', '13800000002', '13800000002', '13800000002']);
  t.deepEqual(r.virtual.transmitted.map((m) => m.text), ['A'.repeat(400), 'B'.repeat(400)]);
});

test.serial('an invalid number is a final, certain failure', async (t) => {
  const r = rig();
  t.teardown(() => r.stop());
  await r.run(r.modem.start(), 'the start');
  const error = await t.throwsAsync(r.run(r.modem.send({ to: 'not a number', text: 'x' }), 'the send'), { instanceOf: ModemSendError });
  t.false(error!.retryable);
  t.false(error!.uncertain);
});

test.serial('a status report becomes a status-report event for the segment\'s message reference', async (t) => {
  const r = rig();
  t.teardown(() => r.stop());
  await r.run(r.modem.start(), 'the start');
  const { messageRefs } = await r.run(r.modem.send({ to: '13800138000', text: 'report me', statusReport: true }), 'the send');
  const report = await r.until(() => r.reports[0], 'status report');
  t.is(report.messageRef, messageRefs[0]!);
  t.is(report.recipient, '13800138000');
  t.true(report.delivered);
  t.true(report.final);
});

test.serial('inbound via +CMTI: handed over, then deleted only after the handler resolved', async (t) => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const r = rig({ onInbound: () => gate });
  t.teardown(() => r.stop());
  await r.run(r.modem.start(), 'the start');
  r.virtual.deliver({ from: '+8613900000000', text: 'TD' });
  await r.until(() => r.virtual.stored('SM')[0]?.stat === 1, 'message read by the box');
  await r.time.advance(100);
  t.is(r.virtual.stored('SM').length, 1, 'still on the SIM while the handler has not resolved');
  release();
  await r.until(() => r.virtual.stored('SM').length === 0, 'deleted');
  t.is(r.inbound.length, 1);
  t.is(r.inbound[0]!.from, '+8613900000000');
  t.is(r.inbound[0]!.text, 'TD');
  t.regex(r.inbound[0]!.timestamp, /\+08:00$/);
});

test.serial('inbound: a handler that rejects leaves the message on the SIM; it is offered again later', async (t) => {
  let failures = 1;
  const offered: string[] = [];
  const r = rig({
    onInbound: async (part) => {
      offered.push(part.text);
      if (failures-- > 0) throw new Error('store is busy');
    },
  });
  t.teardown(() => r.stop());
  await r.run(r.modem.start(), 'the start');
  r.virtual.deliver({ from: '+8613900000000', text: '退订' });
  await r.until(() => offered.length === 1, 'first offer');
  await r.time.advance(50);
  t.is(r.virtual.stored('SM').length, 1);
  await r.until(() => r.virtual.stored('SM').length === 0, 'retried and deleted');
  t.deepEqual(offered, ['退订', '退订']);
  t.is(r.inbound.length, 1);
});

test.serial('messages stored while the box was down are picked up at start (multipart parts too)', async (t) => {
  const r = rig();
  t.teardown(() => r.stop());
  const pdus = encodeDeliver({ from: '+8613900000001', text: '很长的回复'.repeat(20), timestamp: new Date(), concatRef: 9 });
  for (const pdu of pdus) r.virtual.storeMessage(pdu);
  const single = encodeDeliver({ from: '10086', text: 'balance', timestamp: new Date() });
  r.virtual.storeMessage(single[0]!);
  await r.run(r.modem.start(), 'the start');
  await r.until(() => r.inbound.length === pdus.length + 1, 'all stored messages');
  t.is(r.virtual.stored('SM').length, 0);
  t.deepEqual(
    r.inbound.filter((p) => p.concat).map((p) => p.concat!.part).sort(),
    pdus.map((_, i) => i + 1),
  );
  t.truthy(r.inbound.find((p) => p.from === '10086' && p.text === 'balance'));
});

test.serial('a modem restart in the middle of receiving: the message is offered again and finally deleted, never lost', async (t) => {
  let first = true;
  const r = rig({
    onInbound: async () => {
      if (first) {
        first = false;
        r.virtual.inject({ kind: 'reboot' });
        await r.time.sleep(30);
      }
    },
  });
  t.teardown(() => r.stop());
  await r.run(r.modem.start(), 'the start');
  r.virtual.deliver({ from: '+8613900000002', text: 'during reboot' });
  await r.until(() => r.virtual.stored('SM').length === 0 && r.inbound.length >= 1, 'delivered and deleted');
  t.true(r.inbound.every((p) => p.text === 'during reboot'));
  t.is(new Set(r.inbound.map((p) => p.pdu)).size, 1, 'a repeat carries the same PDU, so the inbox can deduplicate');
});

test.serial('URCs arriving during a multipart send: the send completes and the inbound message is handled', async (t) => {
  const r = rig({ virtual: { sendMs: 60 } });
  t.teardown(() => r.stop());
  await r.run(r.modem.start(), 'the start');
  const sending = r.modem.send({ to: '13800138000', text: 'x'.repeat(600) });
  await r.until(() => r.virtual.transmittedSegments.length === 1, 'first segment');
  r.virtual.deliver({ from: '+8613900000003', text: 'while you send' });
  r.virtual.setRegistration('roaming');
  const { messageRefs } = await r.run(sending, 'the multipart send');
  t.is(messageRefs.length, 4);
  t.is(r.virtual.transmitted.at(-1)!.text, 'x'.repeat(600));
  await r.until(() => r.inbound.find((p) => p.text === 'while you send'), 'inbound handled');
});

test.serial('network time: AT+CCLK? once the network set the clock; null while the RTC was never set', async (t) => {
  const r = rig();
  t.teardown(() => r.stop());
  await r.run(r.modem.start(), 'the start');
  const time = await r.run(r.modem.networkTime(), 'AT+CCLK?');
  t.truthy(time);
  t.true(Math.abs(time!.getTime() - r.time.now()) < 2000);

  const unsynced = rig({ virtual: { initialPower: 'off', registration: 'none' } });
  t.teardown(() => unsynced.stop());
  await unsynced.run(unsynced.modem.start(), 'the start');
  t.is(await unsynced.run(unsynced.modem.networkTime(), 'AT+CCLK?'), null);
});

test.serial('stop() sends the profile\'s power-down command and closes the port', async (t) => {
  const r = rig();
  t.teardown(() => r.virtual.dispose());
  await r.run(r.modem.start(), 'the start');
  await r.run(r.modem.stop(), 'the stop');
  t.false(r.virtual.isPoweredOn());
  t.is(r.modem.status().state, 'off');
  t.truthy(r.events.find((e) => e.kind === 'power-down'));
});

test.serial('powerCycle() presses PWRKEY off and on and brings the modem back', async (t) => {
  const r = rig();
  t.teardown(() => r.stop());
  await r.run(r.modem.start(), 'the start');
  await r.run(r.modem.powerCycle(), 'the power cycle');
  t.deepEqual(r.power.pulses.map((p) => p.ms), [30, 5]);
  t.is(r.modem.status().state, 'ready');
});
