/**
 * A pool of SIMs end to end (issue 19): three virtual HATs behind one box,
 * driven over HTTP. Waits end on the box's own events, never on a sleep.
 */
import test from 'ava';
import type { Config } from '../../src/config/config.js';
import { defaultModemConfig } from '../../src/config/config.js';
import { basicAuth, startTestBox, type TestBox } from '../helpers/box.js';
import { boxUntil } from '../helpers/box-events.js';

const AUTH = 'User=aaaa&PWD=bbbb';
const ADMIN = basicAuth('smsbox');

function threeSims(c: Config): void {
  c.schedule.quietHours = null;
  c.schedule.quietHoursText = '';
  c.schedule.maxPerHour = 0;
  c.schedule.maxPerDay = 0;
  c.simulator.sendMs = 20;
  c.modem = defaultModemConfig(0);
  c.extraModems = [defaultModemConfig(1), { ...defaultModemConfig(2), name: 'spare', maxPerDay: 500 }];
}

async function startPool(): Promise<TestBox> {
  const box = await startTestBox({
    config: threeSims,
    simulatorBootMs: 50,
    modemTimings: { pollIntervalMs: 100, commandTimeoutMs: 1000, bootMs: 3000, resyncQuietMs: 30 },
  });
  await boxUntil(box, 'every modem ready', () => box.modems.every((u) => u.modem.status().state === 'ready'));
  return box;
}

const smsSnd = async (box: TestBox, tel: string, body: string) => (await fetch(`${box.url}/sms?Msg=smsSnd&${AUTH}&Tel=${tel}&Body=${encodeURIComponent(body)}`)).text();
const sentBy = (box: TestBox) => Object.fromEntries(box.modems.map((u) => [u.name, u.simulator!.transmitted.map((s) => s.to)]));

test('three SIMs share the queue; /api/status has a card per SIM; each virtual SIM has its own number', async (t) => {
  const box = await startPool();
  try {
    t.deepEqual(box.modems.map((u) => u.name), ['sim1', 'sim2', 'spare']);
    const numbers = new Set(box.modems.map((u) => u.simulator!.getOwnNumber().number));
    t.is(numbers.size, 3, 'three different own numbers');
    for (let i = 0; i < 12; i++) t.is(await smsSnd(box, `138000003${String(i).padStart(2, '0')}`, `订单 ${i} 已发货`), '1');
    await boxUntil(box, 'all twelve sent', () => box.modems.reduce((n, u) => n + u.simulator!.transmitted.length, 0) === 12);
    const counts = box.modems.map((u) => u.simulator!.transmitted.length);
    t.true(counts.every((n) => n > 0), `every SIM sent some: ${counts.join(', ')}`);
    await boxUntil(box, 'every send committed', () => box.store.queueCounts(0).sending === 0 && box.store.queueCounts(0).queued === 0);

    const status = (await (await fetch(`${box.url}/api/status`)).json()) as Record<string, any>;
    t.is(status['modems'].length, 3);
    t.deepEqual(status['modems'].map((m: any) => m.name), ['sim1', 'sim2', 'spare']);
    t.like(status['modems'][2], { device: 'simulator', state: 'ready', power_control: true, limits: { max_per_day: 500 } });
    t.is(status['modems'].reduce((n: number, m: any) => n + m.sent_today, 0), 12);
    t.is(status['modems'][2].day_budget_left, 500 - counts[2]!);
    t.is(status['modems'][0].day_budget_left, null, 'no day cap: no budget');
    t.like(status['modem'], { state: status['modems'][0].state, operator: status['modems'][0].operator }, '`modem` is still the first one');
  } finally {
    await box.dispose();
  }
});

test('replies come in on every SIM: an opt-out to one SIM holds for all, and an answer goes from the SIM the customer wrote to', async (t) => {
  const box = await startPool();
  try {
    const [, sim2, spare] = box.modems;
    sim2!.simulator!.deliver({ from: '+8613900000001', text: 'T' });
    spare!.simulator!.deliver({ from: '+8613900000002', text: '请问几号发货？' });
    await boxUntil(box, 'both replies processed', () => box.store.countOptOuts() === 1 && box.store.listInbox({ limit: 10 }).length === 2 && box.store.pendingInbound(Date.now(), 0).length === 0);
    const inbox = box.store.listInbox({ limit: 10 });
    t.deepEqual(inbox.map((m) => [m.from, m.modem]).sort(), [['+8613900000001', 'sim2'], ['+8613900000002', 'spare']]);
    const api = (await (await fetch(`${box.url}/api/inbox`, { headers: ADMIN })).json()) as Record<string, any>;
    t.deepEqual(api['messages'].map((m: any) => m.modem).sort(), ['sim2', 'spare'], '/api/inbox names the SIM');

    // Opted out at sim2: a send to that number from any SIM is suppressed.
    t.is(await smsSnd(box, '13900000001', '双十二优惠'), '1');
    // The customer who wrote to "spare" hears back from it, whichever SIM is free.
    for (let i = 0; i < 3; i++) t.is(await smsSnd(box, '13900000002', `您的订单 ${i} 明天发货`), '1');
    await boxUntil(box, 'every send finished', () => box.store.queueCounts(0).queued === 0 && box.store.queueCounts(0).sending === 0);
    const sent = sentBy(box);
    t.deepEqual(sent['spare'], ['+8613900000002', '+8613900000002', '+8613900000002']);
    t.deepEqual([...sent['sim1']!, ...sent['sim2']!], [], 'nothing to the opted-out number, nothing of the sticky customer elsewhere');
    t.is(box.store.listMessages({ limit: 10 }).filter((m) => m.status === 'suppressed').length, 1);
  } finally {
    await box.dispose();
  }
});

test('one SIM losing its network moves its customers to the others; smsSnd still answers 1', async (t) => {
  const box = await startPool();
  try {
    const [sim1] = box.modems;
    // A customer who knows sim1.
    sim1!.simulator!.deliver({ from: '+8613900000003', text: '收到了，谢谢' });
    await boxUntil(box, 'the reply processed', () => box.store.stickyModem('+8613900000003') === 'sim1');
    sim1!.simulator!.inject({ kind: 'no-network' });
    await boxUntil(box, 'sim1 not registered', () => box.status.modemNotReadyReason('sim1') !== null);
    t.is(await smsSnd(box, '13900000003', '您的包裹已到驿站'), '1');
    await boxUntil(box, 'it went out', () => box.store.queueCounts(0).queued === 0 && box.store.queueCounts(0).sending === 0);
    const sent = sentBy(box);
    t.deepEqual(sent['sim1'], []);
    t.deepEqual([...sent['sim2']!, ...sent['spare']!], ['+8613900000003']);
    const status = (await (await fetch(`${box.url}/api/status`, { headers: ADMIN })).json()) as Record<string, any>;
    t.not(status['modems'][0].waiting, null);
    t.is(status['queue'].waiting === 'modem-not-ready', false, 'the box as a whole is not "modem not ready"');
  } finally {
    await box.dispose();
  }
});
