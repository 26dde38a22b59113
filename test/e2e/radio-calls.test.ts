/**
 * Issue 17 items 1 and 5 end to end: the whole box on the virtual HAT's LTE
 * without IMS, and with a customer calling (the simulator's networks, the
 * `no-ims` fault, POST /api/simulator/call, GET /api/simulator/calls).
 */
import test from 'ava';
import type { Config } from '../../src/config/config.js';
import { basicAuth, startTestBox, type TestBox, type TestBoxOptions } from '../helpers/box.js';
import { boxUntil } from '../helpers/box-events.js';

const AUTH = 'User=aaaa&PWD=bbbb';
const ADMIN = basicAuth('smsbox');
const e2e = test.serial;

function fast(c: Config): void {
  c.schedule.quietHours = null;
  c.schedule.quietHoursText = '';
  c.schedule.maxPerHour = 0;
  c.schedule.maxPerDay = 0;
  c.simulator.sendMs = 20;
}

const FAST_BOX: TestBoxOptions = {
  config: fast,
  simulatorBootMs: 50,
  modemTimings: { pollIntervalMs: 100, commandTimeoutMs: 1000, bootMs: 3000, resyncQuietMs: 30 },
};

async function api(box: TestBox, path: string, body?: unknown) {
  const res = await fetch(`${box.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json', ...ADMIN },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

const ready = (box: TestBox) => boxUntil(box, 'the modem to be ready', () => box.modem.status().state === 'ready');

e2e('a customer calls: the box hangs up at once, the call is in the inbox, and [calls] reply_sms goes back once a day', async (t) => {
  const reply = '本号码不接听电话，有事请回复短信，谢谢';
  const box = await startTestBox({ ...FAST_BOX, config: (c) => { fast(c); c.calls.replySms = reply; } });
  try {
    await ready(box);
    t.is((await api(box, '/api/simulator/call', { from: '+8613800138000' })).status, 200);
    const call = await boxUntil(box, 'the call in the inbox', () => box.store.listInbox({ limit: 5 }).find((m) => m.kind === 'call'));
    t.like(call, { from: '+8613800138000', action: 'hung-up' });
    const calls = (await api(box, '/api/simulator/calls')).body['calls'] as Array<Record<string, unknown>>;
    t.is(calls.length, 1);
    t.not(calls[0]!['hung_up_at'], null, 'the virtual HAT saw the hang-up');
    await boxUntil(box, 'the reply SMS on the air', () => box.simulator!.transmitted.find((m) => m.text === reply && m.to === '+8613800138000'));
    const inbox = (await api(box, '/api/inbox')).body['messages'] as Array<Record<string, unknown>>;
    t.like(inbox[0], { kind: 'call', from: '13800138000' });

    // The same caller again the same day: recorded, no second reply.
    await api(box, '/api/simulator/call', { from: '+8613800138000' });
    await boxUntil(box, 'the second call in the inbox', () => box.store.listInbox({ limit: 5 }).filter((m) => m.kind === 'call').length === 2);
    t.is(box.store.listMessages({ limit: 20 }).filter((m) => m.kind === 'call-reply').length, 1);
  } finally {
    await box.dispose();
  }
});

e2e('registered on LTE without IMS or SGs, the carrier not providing VoLTE: sms_path none, a fault that says what to do, nothing sent', async (t) => {
  const box = await startTestBox(FAST_BOX);
  try {
    await ready(box);
    t.is((await api(box, '/api/simulator/scenario', { network: 'lte-no-ims', ims_provisioned: false })).status, 200);
    await boxUntil(box, 'the no-SMS-path fault', () => {
      const s = box.status.snapshot();
      return s.modem.sms_path === 'none' && s.faults.some((f) => f.kind === 'no-sms-path');
    });
    const status = (await api(box, '/api/status')).body;
    t.like(status['modem'], { registered: true, rat: 'lte', sms_path: 'none' });
    const fault = (status['faults'] as Array<Record<string, string>>).find((f) => f['kind'] === 'no-sms-path')!;
    t.regex(fault['message']!, /VoLTE/);
    t.regex(fault['message_en']!, /enable VoLTE/);
    t.is(status['leds']['fault'], 'on');
    t.is((await box.get(`/sms?Msg=smsSnd&${AUTH}&Tel=13800138000&Body=${encodeURIComponent('您的订单已发货')}`)).body, '1');
    await boxUntil(box, 'the message held', () => box.status.snapshot().queue.waiting === 'modem-not-ready');
    const held = (await api(box, '/api/status')).body;
    t.regex(held['queue']['waiting_detail'], /VoLTE/);
    t.is(box.simulator!.transmitted.length, 0);
    // The module's IMS switch was tried once (the carrier still says no).
    t.true(box.store.listEvents(50).some((e) => e.kind === 'modem-ims-enable'));
  } finally {
    await box.dispose();
  }
});

e2e('the no-ims fault (the module\'s IMS setting off) is cleared by the profile\'s switch and a radio restart; the held message goes', async (t) => {
  const box = await startTestBox(FAST_BOX);
  try {
    await ready(box);
    t.is((await api(box, '/api/simulator/fault', { kind: 'no-ims' })).status, 200);
    t.is((await box.get(`/sms?Msg=smsSnd&${AUTH}&Tel=13800138000&Body=${encodeURIComponent('您的订单已发货')}`)).body, '1');
    await boxUntil(box, 'the message on the air', () => box.simulator!.transmitted.find((m) => m.text === '您的订单已发货'));
    const kinds = box.store.listEvents(100).map((e) => e.kind).reverse();
    t.true(kinds.includes('modem-no-sms-path'));
    t.true(kinds.indexOf('modem-ims-enable') > kinds.indexOf('modem-no-sms-path'));
    t.not(box.modem.status().smsPath, 'none');
  } finally {
    await box.dispose();
  }
});
