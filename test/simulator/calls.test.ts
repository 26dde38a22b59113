/**
 * Incoming calls on the virtual HAT (issue 17, /work/coord/at-contract.md §6):
 * RING and +CLIP repeated until the box hangs up or the caller gives up.
 */
import test from 'ava';
import type { VirtualCall } from '../../hardware/simulator/virtual-modem.js';
import { quietSession } from './harness.js';

const RING_MS = 5000;

test('a call rings at once, with +CLIP after AT+CLIP=1, and again every 5 s of virtual time', (t) => {
  const s = quietSession();
  t.is(s.at('AT+CLIP=1'), '\r\nOK\r\n');
  const call = s.modem.call({ from: '+8613800138000' });
  t.is(s.take(), '\r\nRING\r\n\r\n+CLIP: "+8613800138000",145,"",0,"",0\r\n');
  t.is(call.hung_up_at, null);
  s.timers.advance(RING_MS - 1);
  t.is(s.take(), '');
  s.timers.advance(1);
  t.is(s.take(), '\r\nRING\r\n\r\n+CLIP: "+8613800138000",145,"",0,"",0\r\n');
  t.is(s.modem.calls[0]!.rings, 2);
  t.is(s.at('AT+CLCC'), '\r\n+CLCC: 1,1,4,0,0,"+8613800138000",145\r\n\r\nOK\r\n');
});

test('without AT+CLIP=1 only RING; a national number has type 129', (t) => {
  const s = quietSession();
  s.modem.call({ from: '13800138000' });
  t.is(s.take(), '\r\nRING\r\n');
  s.at('AT+CLIP=1');
  s.timers.advance(RING_MS);
  t.is(s.take(), '\r\nRING\r\n\r\n+CLIP: "13800138000",129,"",0,"",0\r\n');
});

for (const command of ['AT+CHUP', 'ATH']) {
  test(`${command} hangs up: OK, no more RING, the call records hung_up_at`, (t) => {
    const s = quietSession();
    const events: VirtualCall[] = [];
    s.modem.on('call', (c) => events.push(c));
    s.modem.call({ from: '+8613800138000' });
    s.timers.advance(2000);
    t.is(s.at(command), '\r\nOK\r\n');
    s.timers.advance(10 * RING_MS);
    t.is(s.take(), '');
    const [call] = s.modem.calls;
    t.is(call!.hung_up_by, 'modem');
    t.is(call!.hung_up_at, new Date(Date.parse(call!.started_at) + 2000).toISOString());
    t.is(s.modem.currentCall(), null);
    t.is(s.at('AT+CLCC'), '\r\nOK\r\n');
    t.deepEqual(
      events.map((e) => [e.rings, e.hung_up_by]),
      [
        [1, null],
        [1, 'modem'],
      ],
    );
  });
}

test('AT+CHUP with no call is harmless', (t) => {
  const s = quietSession();
  t.is(s.at('AT+CHUP'), '\r\nOK\r\n');
  t.is(s.at('AT+CHUP=?'), '\r\nOK\r\n');
});

test('a caller who gives up: NO CARRIER, and on a SIMCom module MISSED_CALL with the time', (t) => {
  const s = quietSession();
  s.modem.call({ from: '+8613800138000' });
  s.take();
  t.is(s.modem.callerHangsUp()!.hung_up_by, 'caller');
  // 2026-11-25 09:30 in Shanghai.
  t.is(s.take(), '\r\nNO CARRIER\r\n\r\nMISSED_CALL: 09:30AM +8613800138000\r\n');
  const ec25 = quietSession({ profile: 'ec25' });
  ec25.modem.call({ from: '+8613800138000' });
  ec25.take();
  ec25.modem.callerHangsUp();
  t.is(ec25.take(), '\r\nNO CARRIER\r\n');
});

test('an unanswered call ends after a minute: the network gives up for the caller', (t) => {
  const s = quietSession();
  s.modem.call({ from: '+8613800138000' });
  s.timers.advance(60_000);
  const [call] = s.modem.calls;
  t.is(call!.hung_up_by, 'caller');
  t.is(call!.rings, 12);
});

test('a modem that is off or not registered cannot ring: the network ends the call at once', (t) => {
  const s = quietSession();
  s.modem.inject({ kind: 'no-network' });
  const call = s.modem.call({ from: '+8613800138000' });
  t.is(call.hung_up_by, 'network');
  t.is(call.hung_up_at, call.started_at);
  t.is(s.take(), '');
});

test('on LTE without IMS or SGs the SIM cannot be called either; with IMS it rings', (t) => {
  const s = quietSession({ network: 'lte-no-ims' });
  t.is(s.modem.call({ from: '+8613800138000' }).hung_up_by, 'network');
  t.is(s.take(), '');
  s.modem.setNetwork('lte-ims');
  s.take();
  s.modem.call({ from: '+8613800138000' });
  t.is(s.take(), '\r\nRING\r\n');
});

test('power lost while ringing: the call ends, a second call while one rings is turned away', (t) => {
  const s = quietSession();
  s.modem.call({ from: '+8613800138000' });
  t.is(s.modem.call({ from: '+8613900000000' }).hung_up_by, 'network');
  s.modem.powerOff();
  t.is(s.modem.calls[0]!.hung_up_by, 'network');
});

test('ATA answers a ringing call: the ringing stops; ATA without a call is an error', (t) => {
  const s = quietSession();
  t.is(s.at('ATA'), '\r\nERROR\r\n');
  s.modem.call({ from: '+8613800138000' });
  s.take();
  t.is(s.at('ATA'), '\r\nOK\r\n');
  s.timers.advance(3 * RING_MS);
  t.is(s.take(), '');
  t.is(s.at('AT+CLCC'), '\r\n+CLCC: 1,1,0,0,0,"+8613800138000",145\r\n\r\nOK\r\n');
  s.modem.callerHangsUp();
  t.is(s.take(), '\r\nNO CARRIER\r\n', 'no MISSED_CALL for an answered call');
  t.not(s.modem.calls[0]!.answered_at, null);
});
