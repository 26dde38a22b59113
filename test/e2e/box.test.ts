/**
 * The whole box in process, on the virtual HAT through a real
 * SerialPortStream: HTTP in, AT commands out, customers' replies back. Each
 * wait ends on the box's own events (test/helpers/box-events.ts): a store
 * call, a modem status, a byte from the virtual HAT; never on a sleep.
 */
import test from 'ava';
import { rmSync } from 'node:fs';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { VirtualModem } from '../../hardware/simulator/virtual-modem.js';
import type { Config } from '../../src/config/config.js';
import { encodeDeliver } from '../../src/modem/pdu/index.js';
import { SHUTDOWN_GRACE_MS } from '../../src/main.js';
import { basicAuth, startTestBox, tempDir, type TestBox, type TestBoxOptions } from '../helpers/box.js';
import { boxUntil } from '../helpers/box-events.js';

const AUTH = 'User=aaaa&PWD=bbbb';
const ADMIN = basicAuth('smsbox');

/** Fast timings, and a window that is always open whatever time the suite runs. */
function fast(c: Config): void {
  c.schedule.quietHours = null;
  c.schedule.quietHoursText = '';
  c.schedule.maxPerHour = 0;
  c.schedule.maxPerDay = 0;
  c.simulator.sendMs = 20;
  c.dispatch.retryBaseSeconds = 1;
}

const FAST_BOX: TestBoxOptions = {
  config: fast,
  simulatorBootMs: 50,
  modemTimings: { pollIntervalMs: 100, commandTimeoutMs: 1000, bootMs: 3000, resyncQuietMs: 30 },
};

async function json(box: TestBox, path: string, init: RequestInit = {}) {
  const res = await fetch(`${box.url}${path}`, { ...init, headers: { 'content-type': 'application/json', ...ADMIN, ...(init.headers as Record<string, string>) } });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

const ready = (box: TestBox) => boxUntil(box, 'the modem to be ready', () => box.modem.status().state === 'ready');

test('smsSnd leaves through the virtual HAT and is delivered; a long Chinese text arrives whole', async (t) => {
  const box = await startTestBox(FAST_BOX);
  await ready(box);
  const long = '您好！您在本店购买的商品已经发货，快递单号 SF1234567890，预计两天内送达。如有问题请联系客服，感谢您的惠顾，祝您生活愉快！本店新品上架，欢迎再次光临。';
  t.true(long.length > 70 && long.length <= 134, 'two UCS-2 segments');
  t.is((await box.get(`/sms?Msg=smsSnd&${AUTH}&Tel=13800138000&Body=${encodeURIComponent(long)}`)).body, '1');
  await boxUntil(box, 'the simulator to transmit', () => box.simulator!.transmitted.length === 1);
  const sent = (await json(box, '/api/simulator/sent')).body['sent'];
  t.is(sent.length, 1);
  t.like(sent[0], { to: '+8613800138000', text: long, segments: 2 });
  const message = await boxUntil(box, 'the status report', () => {
    const m = box.store.listMessages({ limit: 1 })[0]!;
    return m.status === 'delivered' ? m : null;
  });
  t.is(message.segments, 2);
  t.truthy(message.sentAt);
  const status = JSON.parse((await box.get('/api/status')).body);
  // The virtual HAT (today's default network) is on LTE with the CS domain registered too: SMS over SGs.
  t.like(status.modem, { state: 'ready', simulated: true, registered: true, rat: 'lte', sms_path: 'sgs' });
  t.is(status.queue.sent_today, 1);
  await box.dispose();
});

test('opt-out round trip: a reply "T" → the next send to that number is suppressed, the balance untouched', async (t) => {
  const box = await startTestBox(FAST_BOX);
  await ready(box);
  t.like((await json(box, '/api/simulator/inbound', { method: 'POST', body: JSON.stringify({ from: '+8613900000000', text: 'Ｔ' }) })).body, { ok: true });
  await boxUntil(box, 'the opt-out', () => box.store.countOptOuts() > 0);
  const optouts = (await json(box, '/api/optouts')).body['optouts'];
  t.is(optouts.length, 1);
  t.like(optouts[0], { number: '13900000000', source: 'sms' });
  const inbox = (await json(box, '/api/inbox')).body['messages'];
  t.like(inbox[0], { from: '13900000000', text: 'Ｔ', action: 'optout', complete: true });

  t.is((await box.get(`/sms?Msg=smsSnd&${AUTH}&Tel=13900000000,13800138000&Body=hello`)).body, '1');
  await boxUntil(box, 'the other message to be sent', () => box.store.listMessages({ limit: 10, status: 'sent' }).length === 1);
  const byNumber = Object.fromEntries(box.store.listMessages({ limit: 10 }).map((m) => [m.to, m.status]));
  t.deepEqual(byNumber, { '+8613900000000': 'suppressed', '+8613800138000': 'sent' });
  t.is((await box.get(`/sms?Msg=smsBalance&${AUTH}`)).body, '99.90', 'charged for one recipient only');
  t.deepEqual((await json(box, '/api/simulator/sent')).body['sent'].map((m: { to: string }) => m.to), ['+8613800138000']);
  await box.dispose();
});

test('a long reply arriving out of order across a restart of the box is put together', async (t) => {
  const dataDir = tempDir();
  const simulator = new VirtualModem({ sendMs: 20, bootMs: 50 });
  const text = '你好，我想问一下我的订单什么时候能发货？我已经等了三天了，麻烦尽快帮我查一下物流信息，谢谢！另外能不能改一下收货地址？新地址是北京市朝阳区某某路一号。';
  const [first, second] = encodeDeliver({ from: '+8613900000000', text, timestamp: new Date(), concatRef: 77 });
  t.truthy(first && second);

  let box = await startTestBox({ ...FAST_BOX, dataDir, simulator });
  await ready(box);
  simulator.storeMessage(second!); // the second part arrives first
  await boxUntil(box, 'part 2 in the inbox', () => box.store.listInbox({ limit: 1 })[0]?.partsReceived === 1);
  t.false(box.store.listInbox({ limit: 1 })[0]!.complete);
  await box.close();

  simulator.storeMessage(first!); // arrives while the box is down
  box = await startTestBox({ ...FAST_BOX, dataDir, simulator });
  const row = await boxUntil(box, 'the message to be complete', () => {
    const r = box.store.listInbox({ limit: 1 })[0];
    return r?.complete ? r : null;
  });
  t.is(row.text, text);
  t.is(box.store.listInbox({ limit: 10 }).length, 1);
  await boxUntil(box, 'the SIM to be emptied', () => simulator.stored().length === 0);
  await box.dispose();
  simulator.dispose();
  rmSync(dataDir, { recursive: true, force: true });
});

test('modem errors: a final +CMS error fails and refunds, a retryable one is retried, the queue keeps going', async (t) => {
  const box = await startTestBox(FAST_BOX);
  await ready(box);
  box.simulator!.inject({ kind: 'cms-error', code: 1, count: 1 }); // unassigned number
  t.is((await box.get(`/sms?Msg=smsSnd&${AUTH}&Tel=13800000001&Body=first`)).body, '1');
  await boxUntil(box, 'the first to fail', () => box.store.listMessages({ limit: 1, status: 'failed' }).length === 1);
  t.is((await box.get(`/sms?Msg=smsBalance&${AUTH}`)).body, '100.00', 'refunded');

  box.simulator!.inject({ kind: 'cms-error', code: 42, count: 1 }); // congestion
  t.is((await box.get(`/sms?Msg=smsSnd&${AUTH}&Tel=13800000002&Body=second`)).body, '1');
  const retried = await boxUntil(box, 'the second to be sent after a retry', () => box.store.listMessages({ limit: 1, status: 'sent' })[0]);
  t.is(retried.attempts, 2);
  const history = (await json(box, `/api/messages/${retried.id}`)).body;
  t.deepEqual(history['attempts'].map((a: { outcome: string }) => a.outcome), ['retry', 'sent']);
  await box.dispose();
});

test('/api/status says why the queue waits: modem not ready', async (t) => {
  const box = await startTestBox({ config: fast }); // the virtual HAT takes a minute to boot
  t.is((await box.get(`/sms?Msg=smsSnd&${AUTH}&Tel=13800138000&Body=hi`)).body, '1');
  await boxUntil(box, 'the waiting reason', () => box.dispatcher.state().waiting === 'modem-not-ready');
  const status = JSON.parse((await box.get('/api/status')).body);
  t.is(status.queue.waiting, 'modem-not-ready');
  t.is(status.queue.queued, 1);
  t.is(status.queue.waiting_text, '短信模块未就绪');
  await box.dispose();
});

test('a Pi without NTP holds messages until the modem\'s clock (AT+CCLK?, set by the network) sets its own, then sends', async (t) => {
  // A Pi has no clock battery; this shop's LAN has no NTP, and the network sends no time-zone URC.
  const box = await startTestBox({ ...FAST_BOX, clockProbe: { isRaspberryPi: () => true, ntpSynchronized: () => false } });
  try {
    t.is((await box.get(`/sms?Msg=smsSnd&${AUTH}&Tel=13800138000&Body=${encodeURIComponent('时钟校准后发送')}`)).body, '1');
    const adopted = await boxUntil(box, 'the clock to be set from the modem', () => box.store.listEvents(50).find((e) => e.kind === 'clock-from-network'));
    const sent = await boxUntil(box, 'the message to be sent', () => box.store.listMessages({ limit: 1 }).find((m) => m.sentAt !== null));
    t.true(sent.sentAt! >= adopted.at, 'not sent before the clock was trusted');
    const kinds = box.store.listEvents(50).map((e) => e.kind).reverse();
    t.true(kinds.indexOf('dispatch-clock-not-set') !== -1 && kinds.indexOf('dispatch-clock-not-set') < kinds.indexOf('clock-from-network'));
    const status = JSON.parse((await box.get('/api/status')).body);
    t.deepEqual(status.clock, { source: 'modem', trusted: true });
    // The modem's clock is the network's: within a few seconds of this machine's.
    t.true(Math.abs(box.store.listEvents(1)[0]!.at - Date.now()) < 5_000);
  } finally {
    await box.dispose();
  }
});

test('a stop answers the request still arriving and keeps its message; an open status page does not hold the stop up', async (t) => {
  const dataDir = tempDir();
  try {
    const box = await startTestBox({ dataDir });
    // The live stream an open status page holds.
    const stream = await new Promise<http.IncomingMessage>((resolve) => http.get(`${box.url}/api/status/stream`, resolve));
    stream.resume();
    const streamClosed = once(stream, 'close');
    // A form POST from 管家助理 whose body is still on its way when the stop begins.
    const body = `Msg=smsSnd&${AUTH}&Tel=13800138000&Body=${encodeURIComponent('您的订单已发货')}`;
    const socket = net.connect(box.port, '127.0.0.1');
    await once(socket, 'connect');
    let answer = '';
    socket.setEncoding('utf8').on('data', (chunk: string) => (answer += chunk));
    const socketClosed = once(socket, 'close');
    // The server has the request (its headers parsed) while its body is still on the way.
    const requestArrived = once(box.server, 'request');
    socket.write(`POST /sms HTTP/1.1\r\nHost: smsbox\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 20)}`);
    await requestArrived;

    const started = Date.now();
    const closing = box.close();
    // The stop is under way (it ends the status streams once it has stopped listening); then the rest of the body comes.
    await streamClosed;
    socket.write(body.slice(20));
    await closing;
    const stopMs = Date.now() - started;
    await socketClosed;

    t.regex(answer, /^HTTP\/1\.1 200 [^]*\r\n\r\n1$/, 'the request got its "1"');
    t.true(stopMs < SHUTDOWN_GRACE_MS, `stopped in ${stopMs} ms, without waiting for the status page to go away`);
    const again = await startTestBox({ dataDir });
    try {
      t.like(again.store.listMessages({ limit: 10 }), [{ to: '+8613800138000', body: '您的订单已发货', status: 'queued' }], 'accepted once, kept');
    } finally {
      await again.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
