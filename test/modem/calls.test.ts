import test from 'ava';
import type { IncomingCall } from '../../src/modem/modem.js';
import { parseClip, parseMissedCall } from '../../src/modem/parse.js';
import { scriptedRig } from './scripted-rig.js';

const isSend = (c: string) => /^AT\+CMGS=/.test(c);

test('+CLIP and MISSED_CALL answers (27.007 §7.6, SIMCom)', (t) => {
  t.deepEqual(parseClip('+CLIP: "+8613800138000",145,"",0,"",0'), { number: '+8613800138000' });
  t.deepEqual(parseClip('+CLIP: "13800138000",129'), { number: '13800138000' });
  t.deepEqual(parseClip('+CLIP: "",128,"",0,"",1'), { number: null }, 'withheld');
  t.is(parseClip('RING'), null);
  t.is(parseMissedCall('MISSED_CALL: 11:53AM +8613800138000'), '+8613800138000');
  t.is(parseMissedCall('MISSED_CALL: 11:53AM'), null);
});

test('a call is hung up before the sends already waiting, right after the one on the air, and reported with its number', async (t) => {
  const r = await scriptedRig({ holdSends: true });
  t.teardown(() => r.stop());
  await r.run(r.modem.start(), 'the start');
  t.true(r.peer.commands.includes('AT+CLIP=1'), 'the caller\'s number is asked for at init');
  const calls: IncomingCall[] = [];
  r.modem.on('call', (call) => calls.push(call));
  const from = r.peer.commands.length;
  const sends = [1, 2, 3].map((i) => r.modem.send({ to: '13800138000', text: `message ${i}` }));
  await r.until(() => r.heldSends() === 1, 'the first send on the air');
  r.peer.send('\r\nRING\r\n\r\n+CLIP: "+8613700000001",145,"",0,"",0\r\n');
  // It rings again while it waits: still one hang-up.
  r.peer.send('\r\nRING\r\n\r\n+CLIP: "+8613700000001",145,"",0,"",0\r\n');
  await r.until(() => r.modem.transactions().waiting === 3, 'the hang-up queued with the two sends');
  for (let i = 0; i < 3; i++) {
    await r.until(() => r.heldSends() === 1, `send ${i + 1} on the air`);
    r.releaseSend();
  }
  await r.run(Promise.all(sends), 'the sends');
  const order = r.commandsSince(from).filter((c) => isSend(c) || c === 'AT+CHUP').map((c) => (isSend(c) ? 'CMGS' : c));
  t.deepEqual(order, ['CMGS', 'AT+CHUP', 'CMGS', 'CMGS']);
  await r.until(() => calls.length === 1, 'the call reported');
  t.like(calls[0], { from: '+8613700000001', hungUp: true });
});

test('a RING that follows the hang-up belongs to the same call; a later call is a new one; a withheld number is null', async (t) => {
  const r = await scriptedRig();
  t.teardown(() => r.stop());
  await r.run(r.modem.start(), 'the start');
  const calls: IncomingCall[] = [];
  r.modem.on('call', (call) => calls.push(call));
  r.peer.send('\r\nRING\r\n\r\n+CLIP: "",128,"",0,"",1\r\n');
  await r.until(() => calls.length === 1, 'the first call');
  t.is(calls[0]!.from, null);
  r.peer.send('\r\nRING\r\n');
  await r.time.advance(100);
  t.is(r.peer.commands.filter((c) => c === 'AT+CHUP').length, 1, 'a late RING of the same call is not hung up again');
  await r.time.advance(5000);
  r.peer.send('\r\nRING\r\n\r\n+CLIP: "13800000002",129\r\n');
  await r.until(() => calls.length === 2, 'the second call');
  t.is(calls[1]!.from, '13800000002');
  t.is(r.peer.commands.filter((c) => c === 'AT+CHUP').length, 2);
});

test('the caller giving up (NO CARRIER) in the middle of a command does not fail that command', async (t) => {
  const r = await scriptedRig({ answers: { 'AT+CSQ': ['+CSQ: 21,99'] } });
  t.teardown(() => r.stop());
  await r.run(r.modem.start(), 'the start');
  // The module prints NO CARRIER while the next poll's AT+CSQ waits for its answer.
  r.peer.on('AT+CSQ', (m) => m.send('\r\nNO CARRIER\r\n\r\n+CSQ: 9,99\r\n\r\nOK\r\n'));
  await r.until(() => r.modem.status().csq === 9, 'the poll read through the NO CARRIER');
  t.is(r.modem.status().state, 'ready');
});

test('the SIM868 profile hangs up with ATH', async (t) => {
  const r = await scriptedRig({ hat: 'sim868', answers: { 'AT+COPS?': ['+COPS: 0,0,"CHINA MOBILE",0'] } });
  t.teardown(() => r.stop());
  await r.run(r.modem.start(), 'the start');
  const calls: IncomingCall[] = [];
  r.modem.on('call', (call) => calls.push(call));
  r.peer.send('\r\nRING\r\n\r\n+CLIP: "+8613700000003",145,"",0,"",0\r\n');
  await r.until(() => calls.length === 1, 'the call');
  t.true(r.peer.commands.includes('ATH'));
  t.false(r.peer.commands.includes('AT+CHUP'));
});
