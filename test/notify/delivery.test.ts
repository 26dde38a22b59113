/**
 * The notifier end to end over a real database file and local robots, on a
 * manual clock: backoff, a restart in the middle of retries, order per
 * channel, storms, filters, giving up, and the listing for GET /api/notify.
 * Nothing sleeps: each step awaits the delivery loop, which resolves once the
 * robot has answered and the outcome is committed.
 */
import test from 'ava';
import { ManualClock } from '../../src/clock.js';
import { notifyRetryDelay, NOTIFY_MAX_AGE_MS, NOTIFY_MAX_ATTEMPTS, channelId, maskedTarget } from '../../src/notify/notifier.js';
import { STORM_WINDOW_MS, REMINDER_MS } from '../../src/notify/storm.js';
import { T0, channel, notifyRig } from '../helpers/notify.js';
import { deadUrl, fakeRobot } from '../helpers/robots.js';

const OK = { body: { errcode: 0, errmsg: 'ok' } };

test('retry delays: 30 s doubling, at most an hour apart', (t) => {
  t.deepEqual([1, 2, 3, 4, 5, 6, 7, 8, 20].map(notifyRetryDelay), [30_000, 60_000, 120_000, 240_000, 480_000, 960_000, 1_920_000, 3_600_000, 3_600_000]);
});

test('a failing robot is retried after 30 s, then 60 s; nothing is posted before its time', async (t) => {
  const robot = await fakeRobot('/robot/send?access_token=T', OK);
  robot.answers.push({ status: 500, body: 'busy' }, { body: { errcode: 410100, errmsg: 'send too fast' } });
  const rig = notifyRig([channel({ kind: 'dingtalk', url: robot.url })]);
  try {
    rig.notifier.condition('fault', true, { zh: '故障: 没有 SIM 卡', en: 'no SIM' });
    await rig.notifier.deliverDue();
    t.is(robot.requests.length, 1);
    t.regex(rig.notifyStore.jobs()[0]!.lastError!, /^HTTP 500/);
    rig.clock.advance(29_999);
    await rig.notifier.tick();
    t.is(robot.requests.length, 1, 'not before 30 s');
    rig.clock.advance(1);
    await rig.notifier.tick();
    t.is(robot.requests.length, 2);
    t.like(rig.notifyStore.jobs()[0], { attempts: 2, status: 'pending', nextAttemptAt: T0 + 30_000 + 60_000, lastError: 'code 410100: send too fast' });
    rig.clock.advance(59_999);
    await rig.notifier.tick();
    t.is(robot.requests.length, 2);
    rig.clock.advance(1);
    await rig.notifier.tick();
    t.is(robot.requests.length, 3);
    t.like(rig.notifyStore.jobs()[0], { attempts: 3, status: 'done', lastError: null });
    t.like(rig.notifier.list()[0], { pending: 0, failed: 0 });
    t.like(rig.notifier.list()[0]!.last, { at: T0 + 90_000, ok: true, kind: 'fault' });
  } finally {
    rig.dispose();
    await robot.close();
  }
});

test('a restart in the middle of retries: the queue survives, the message goes once, with the same id', async (t) => {
  const robot = await fakeRobot('/hook', { status: 200, body: 'ok' });
  robot.answers.push({ status: 503, body: 'down' }, { status: 503, body: 'down' });
  const rig = notifyRig([channel({ kind: 'webhook', url: robot.url, events: ['reply'] })]);
  try {
    rig.notifier.event('reply', { zh: '13800138000 回复：好的', en: 'reply: ok' });
    await rig.notifier.deliverDue();
    rig.clock.advance(30_000);
    await rig.notifier.tick();
    t.is(robot.requests.length, 2);
    t.like(rig.notifyStore.jobs()[0], { attempts: 2, status: 'pending' });

    // Power cut: the database is closed and opened again from the file, a new notifier starts.
    rig.restart();
    t.like(rig.notifyStore.jobs()[0], { attempts: 2, status: 'pending', nextAttemptAt: T0 + 30_000 + 60_000 });
    rig.clock.advance(59_000);
    await rig.notifier.tick();
    t.is(robot.requests.length, 2, 'the backoff is remembered across the restart');
    rig.clock.advance(1_000);
    await rig.notifier.tick();
    t.is(robot.requests.length, 3);
    t.is(rig.notifyStore.jobs()[0]!.status, 'done');
    const ids = robot.requests.map((r) => r.json.id);
    t.true(ids.every((id) => id === ids[0]), 'one message, one id on every attempt');

    rig.restart();
    rig.clock.advance(3 * 3_600_000);
    await rig.notifier.tick();
    t.is(robot.requests.length, 3, 'delivered is delivered: never again after another restart');
    t.like(rig.notifier.list()[0]!.last, { ok: true, kind: 'reply', at: T0 + 90_000 });
  } finally {
    rig.dispose();
    await robot.close();
  }
});

test('a channel\'s messages arrive in order: recovered never overtakes the fault waiting for its retry', async (t) => {
  const robot = await fakeRobot('/hook', { status: 200, body: '' });
  robot.answers.push({ status: 500, body: '' });
  const rig = notifyRig([channel({ kind: 'webhook', url: robot.url })]);
  try {
    rig.notifier.condition('fault', true, { zh: '故障', en: 'fault' });
    await rig.notifier.deliverDue();
    rig.clock.advance(5_000);
    rig.notifier.condition('fault', false);
    await rig.notifier.deliverDue();
    t.deepEqual(robot.requests.map((r) => r.json.event), ['fault'], 'recovered waits behind the fault');
    rig.clock.advance(25_000);
    await rig.notifier.tick();
    t.deepEqual(robot.requests.map((r) => r.json.event), ['fault', 'fault', 'recovered']);

    // A new episode while the end of the last one still waits: it is not merged into the waiting fault.
    robot.answers.push({ status: 500, body: '' });
    rig.clock.set(T0 + 11 * 60_000);
    rig.notifier.condition('fault', true, { zh: '又故障', en: 'again' });
    await rig.notifier.deliverDue();
    rig.clock.advance(1_000);
    rig.notifier.condition('fault', false);
    rig.clock.set(T0 + 22 * 60_000);
    rig.notifier.condition('fault', true, { zh: '第三次', en: 'third' });
    t.deepEqual(rig.notifyStore.jobs().filter((j) => j.status === 'pending').map((j) => j.kind), ['fault', 'recovered', 'fault']);
    rig.clock.advance(30_000);
    await rig.notifier.tick();
    t.deepEqual(robot.requests.slice(3).map((r) => [r.json.event, r.json.text]), [['fault', '又故障'], ['fault', '又故障'], ['recovered', robot.requests[5]!.json.text], ['fault', '第三次']]);
    t.regex(robot.requests[5]!.json.text, /^已恢复.*又故障/);
  } finally {
    rig.dispose();
    await robot.close();
  }
});

test('one robot down does not hold up another channel', async (t) => {
  const robot = await fakeRobot('/hook', { status: 200, body: '' });
  const rig = notifyRig([channel({ kind: 'webhook', url: await deadUrl('/hook?key=SECRETKEY123') }), channel({ kind: 'webhook', url: robot.url })]);
  try {
    rig.notifier.event('call', { zh: '来电', en: 'call' });
    await rig.notifier.deliverDue();
    t.is(robot.requests.length, 1);
    const [down, up] = rig.notifier.list();
    t.like(down, { pending: 1 });
    t.like(down!.last, { ok: false });
    t.regex(down!.last!.error!, /fetch failed|ECONNREFUSED/);
    t.false(JSON.stringify(down).includes('SECRETKEY123'), 'the key in the URL is not repeated in the error or the listing');
    t.like(up!.last, { ok: true });
  } finally {
    rig.dispose();
    await robot.close();
  }
});

test('storms through the notifier: three calls in five minutes are one message now and one digest at the window\'s end', async (t) => {
  const robot = await fakeRobot('/hook', { status: 200, body: '' });
  const rig = notifyRig([channel({ kind: 'webhook', url: robot.url })]);
  try {
    for (const minute of [0, 2, 5]) {
      rig.clock.set(T0 + minute * 60_000);
      rig.notifier.event('call', { zh: `1380013800${minute} 来电`, en: 'call' });
      await rig.notifier.deliverDue();
    }
    t.is(robot.requests.length, 1);
    rig.clock.set(T0 + STORM_WINDOW_MS - 1);
    await rig.notifier.tick();
    t.is(robot.requests.length, 1);
    rig.clock.set(T0 + STORM_WINDOW_MS);
    await rig.notifier.tick();
    t.is(robot.requests.length, 2);
    t.like(robot.requests[1]!.json, { event: 'call', count: 2 });
    t.deepEqual(robot.requests[1]!.json.events.map((e: { text: string }) => e.text), ['13800138002 来电', '13800138005 来电']);
  } finally {
    rig.dispose();
    await robot.close();
  }
});

test('a lasting fault across a restart: not announced twice, reminded on the hour, recovered once', async (t) => {
  const robot = await fakeRobot('/hook', { status: 200, body: '' });
  const rig = notifyRig([channel({ kind: 'webhook', url: robot.url })]);
  try {
    rig.notifier.condition('fault', true, { zh: '故障: 没有 SIM 卡', en: 'no SIM' });
    await rig.notifier.deliverDue();
    rig.restart();
    // After the restart the status model says what it sees again.
    rig.clock.advance(60_000);
    rig.notifier.condition('fault', true, { zh: '故障: 没有 SIM 卡', en: 'no SIM' });
    await rig.notifier.tick();
    t.deepEqual(robot.requests.map((r) => r.json.event), ['fault']);
    rig.clock.set(T0 + REMINDER_MS);
    await rig.notifier.tick();
    t.deepEqual(robot.requests.map((r) => [r.json.event, r.json.reminder]), [['fault', false], ['fault', true]]);
    rig.restart();
    rig.clock.advance(60_000);
    rig.notifier.condition('fault', false);
    rig.notifier.condition('fault', false);
    await rig.notifier.deliverDue();
    t.deepEqual(robot.requests.map((r) => r.json.event), ['fault', 'fault', 'recovered']);
    t.like(robot.requests[2]!.json, { about: 'fault', since: '2026-12-01T10:00:00+08:00' });
  } finally {
    rig.dispose();
    await robot.close();
  }
});

test('a robot back after five hours gets one message per kind, not the backlog', async (t) => {
  const robot = await fakeRobot('/hook', { status: 200, body: '' });
  const down = { status: 502, body: 'bad gateway' };
  const rig = notifyRig([channel({ kind: 'webhook', url: robot.url })]);
  try {
    robot.answers.push(down);
    rig.notifier.condition('fault', true, { zh: '故障: 没有 SIM 卡', en: 'no SIM' });
    await rig.notifier.deliverDue();
    for (let minute = 1; minute <= 5 * 60; minute++) {
      rig.clock.set(T0 + minute * 60_000);
      if (minute % 7 === 0) rig.notifier.event('call', { zh: `来电 ${minute}`, en: 'call' });
      if (robot.answers.length === 0) robot.answers.push(down);
      await rig.notifier.tick();
    }
    const failedAttempts = robot.requests.length;
    t.true(failedAttempts < 20, `${failedAttempts} attempts in five hours`);
    robot.answers.length = 0;
    rig.clock.advance(3_600_000);
    await rig.notifier.tick();
    const delivered = robot.requests.slice(failedAttempts).map((r) => r.json);
    t.deepEqual(delivered.map((m) => [m.event, m.reminder]), [['fault', true], ['call', false]]);
    t.regex(delivered[0].text, /仍未恢复（已持续 6 小时）/);
    t.is(delivered[1].count, 42, 'every call, in one digest');
    t.true(rig.notifyStore.jobs().every((j) => j.status === 'done'));
  } finally {
    rig.dispose();
    await robot.close();
  }
});

test('each channel takes only its events; by default no replies or opt-outs', async (t) => {
  const group = await fakeRobot('/group', { status: 200, body: '' });
  const shop = await fakeRobot('/shop', { status: 200, body: '' });
  const rig = notifyRig([channel({ kind: 'webhook', url: group.url }), channel({ kind: 'webhook', url: shop.url, events: ['reply', 'optout'] })]);
  try {
    rig.notifier.event('reply', { zh: '回复', en: 'reply' });
    rig.notifier.event('optout', { zh: '退订', en: 'opt-out' });
    rig.notifier.condition('fault', true, { zh: '故障', en: 'fault' });
    rig.notifier.event('daily', { zh: '汇总', en: 'summary' });
    await rig.notifier.deliverDue();
    t.deepEqual(group.requests.map((r) => r.json.event).sort(), ['daily', 'fault']);
    t.deepEqual(shop.requests.map((r) => r.json.event).sort(), ['optout', 'reply']);
  } finally {
    rig.dispose();
    await Promise.all([group.close(), shop.close()]);
  }
});

test('a message is given up after 50 attempts (about two days), said in the events log; the next one goes, and is given up by age', async (t) => {
  const robot = await fakeRobot('/hook', { status: 500, body: 'no' });
  const rig = notifyRig([channel({ kind: 'webhook', url: robot.url })]);
  try {
    rig.notifier.event('call', { zh: '来电', en: 'call' });
    rig.clock.advance(60_000);
    rig.notifier.condition('fault', true, { zh: '故障', en: 'fault' });
    await rig.notifier.deliverDue();
    const drive = async (index: number) => {
      while (rig.notifyStore.jobs()[index]!.status === 'pending') {
        rig.clock.set(rig.notifyStore.jobs()[index]!.nextAttemptAt);
        await rig.notifier.tick();
      }
    };
    await drive(0);
    const [first, waiting] = rig.notifyStore.jobs();
    t.like(first, { status: 'failed', attempts: NOTIFY_MAX_ATTEMPTS, lastError: 'HTTP 500' });
    const age = first!.updatedAt - first!.createdAt;
    t.true(age > 40 * 3_600_000 && age < NOTIFY_MAX_AGE_MS, `${age / 3_600_000} h`);
    t.is(robot.requests.filter((r) => r.json.event === 'call').length, NOTIFY_MAX_ATTEMPTS);
    t.is(rig.events.length, 1);
    t.like(rig.events[0], { kind: 'notify-failed' });
    t.regex(rig.events[0]!.zh, /通知（来电）发到 webhook 渠道失败 50 次，已放弃：HTTP 500/);
    t.is(waiting!.kind, 'fault');
    t.is(waiting!.attempts, 1, 'the fault was tried as soon as the call was given up');
    t.like(rig.notifier.list()[0], { failed: 1, pending: 1 }, 'the hourly reminders meanwhile were merged into the waiting fault message');
    t.true(waiting!.message.includes('仍未恢复'));

    // It waited behind the call for most of two days: its own retries end at two days of age.
    await drive(1);
    const second = rig.notifyStore.jobs()[1]!;
    t.is(second.status, 'failed');
    t.true(second.attempts < NOTIFY_MAX_ATTEMPTS / 2, `${second.attempts} attempts`);
    t.true(second.updatedAt - second.createdAt >= NOTIFY_MAX_AGE_MS);
    t.is(rig.events.length, 2);
  } finally {
    rig.dispose();
    await robot.close();
  }
});

test('a channel removed from the config: its waiting messages are dropped, not retried for two days', async (t) => {
  const rig = notifyRig([channel({ kind: 'webhook', url: await deadUrl() })]);
  try {
    rig.notifier.event('call', { zh: '来电', en: 'call' });
    await rig.notifier.deliverDue();
    t.is(rig.notifyStore.jobs()[0]!.status, 'pending');
    rig.config.notify = [];
    rig.clock.advance(30_000);
    await rig.notifier.tick();
    t.like(rig.notifyStore.jobs()[0], { status: 'dropped', lastError: 'channel removed from the config' });
    t.deepEqual(rig.notifier.list(), []);
  } finally {
    rig.dispose();
  }
});

test('the listing hides robot keys and the middle of numbers; unknown channels cannot be tested', async (t) => {
  const wecom = channel({ kind: 'wecom', url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa' });
  const feishu = channel({ kind: 'feishu', url: 'https://open.feishu.cn/open-apis/bot/v2/hook/5e3d587e-d78e-4a07-bd07-265f269f86fd', secret: 's' });
  const sms = channel({ kind: 'sms', to: '+8613800138000', events: ['fault'] });
  const rig = notifyRig([wecom, feishu, sms]);
  try {
    const list = rig.notifier.list();
    t.deepEqual(list.map((c) => c.target), [
      'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a…',
      'https://open.feishu.cn/open-apis/bot/v2/hook/5e3d…',
      '+86138****8000',
    ]);
    t.deepEqual(list.map((c) => c.signed), [false, true, false]);
    t.deepEqual(list[2]!.events, ['fault']);
    t.true(list.every((c) => c.last === null && c.pending === 0));
    t.is(list[0]!.id, channelId(wecom));
    t.not(channelId(wecom), channelId({ ...wecom, kind: 'webhook' }));
    t.is(maskedTarget({ kind: 'webhook', url: 'not a url', to: '' }), '…');
    t.is(JSON.stringify(list).includes('0ec2sifa5aaa'), false);
    t.is(await rig.notifier.test('0000000000000000'), null);

    const robot = await fakeRobot('/hook', { body: { errcode: 40035, errmsg: 'invalid key' } });
    try {
      rig.config.notify = [channel({ kind: 'wecom', url: robot.url })];
      const id = rig.notifier.list()[0]!.id;
      await rig.notifier.test(id);
      t.deepEqual(rig.notifier.apiJson(), {
        channels: [{
          id, kind: 'wecom', target: maskedTarget(rig.config.notify[0]!), signed: false, events: rig.config.notify[0]!.events, pending: 0, failed: 0,
          last: { at: '2026-12-01T10:00:00+08:00', ok: false, kind: 'test', error: 'code 40035: invalid key', answer: { status: 200, code: 40035, message: 'invalid key', body: '{"errcode":40035,"errmsg":"invalid key"}' } },
        }],
      });
    } finally {
      await robot.close();
    }
  } finally {
    rig.dispose();
  }
});

test('started, the notifier wakes itself: at a retry\'s time, at a digest\'s window end, and at least every minute', async (t) => {
  const robot = await fakeRobot('/hook', { status: 200, body: '' });
  robot.answers.push({ status: 500, body: '' });
  const scheduled: { callback: () => void; ms: number; cleared: boolean }[] = [];
  const timers = {
    setTimeout(callback: () => void, ms: number) {
      const entry = { callback, ms, cleared: false };
      scheduled.push(entry);
      return entry;
    },
    clearTimeout(handle: unknown) {
      (handle as { cleared: boolean }).cleared = true;
    },
  };
  const rig = notifyRig([channel({ kind: 'webhook', url: robot.url })], { timers });
  const armed = () => scheduled.filter((s) => !s.cleared);
  const fire = async () => {
    const [timer] = armed();
    timer!.cleared = true;
    rig.clock.advance(timer!.ms);
    timer!.callback();
    await rig.notifier.deliverDue();
  };
  try {
    rig.notifier.start();
    await rig.notifier.deliverDue();
    t.is(armed().length, 1);
    t.is(armed()[0]!.ms, 60_000, 'nothing to do: it looks again in a minute');

    rig.notifier.event('call', { zh: 'a', en: 'a' });
    await rig.notifier.deliverDue();
    t.is(robot.requests.length, 1);
    t.is(armed().length, 1, 'one timer at a time');
    t.is(armed()[0]!.ms, 30_000, 'the retry');
    rig.clock.advance(10_000);
    rig.notifier.event('call', { zh: 'b', en: 'b' });
    await rig.notifier.deliverDue();
    t.is(armed()[0]!.ms, 20_000, 'still the retry, from now');
    await fire();
    t.deepEqual(robot.requests.map((r) => r.json.text), ['a', 'a']);
    t.is(armed()[0]!.ms, 60_000, 'the held call waits for the window (9.5 minutes away), waking at least every minute');
    while (robot.requests.length < 3) await fire();
    t.is(robot.requests[2]!.json.text, 'b');
    t.is(rig.clock.now(), T0 + STORM_WINDOW_MS, 'sent exactly at the window\'s end');
    await rig.notifier.stop();
    t.is(armed().length, 0, 'stop clears the timer');
  } finally {
    rig.dispose();
    await robot.close();
  }
});

test('sms in quiet hours: the night waits in the notify queue and the owner wakes to one SMS per kind and episode', async (t) => {
  const night = Date.parse('2026-12-01T22:00:00+08:00');
  const rig = notifyRig([channel({ kind: 'sms', to: '+8613800138000' })], { clock: new ManualClock(night) });
  const at = (hhmm: string, nextDay = true) => Date.parse(`2026-12-0${nextDay ? 2 : 1}T${hhmm}:00+08:00`);
  const outbox = () => rig.store.db.prepare('SELECT body FROM outbox ORDER BY id').all() as { body: string }[];
  try {
    t.is(rig.config.schedule.quietHoursText, '21:00-09:00');
    rig.notifier.condition('fault', true, { zh: '故障: 没有 SIM 卡', en: 'no SIM' });
    await rig.notifier.deliverDue();
    t.like(rig.notifyStore.jobs()[0], { status: 'pending', attempts: 0, nextAttemptAt: at('09:00') });
    for (let minute = 1; minute <= 11 * 60; minute++) {
      rig.clock.set(night + minute * 60_000);
      const now = rig.clock.now();
      if (now === at('23:30', false) || now === at('01:00')) rig.notifier.event('call', { zh: `来电 ${minute}`, en: 'call' });
      if (now === at('03:00')) rig.notifier.condition('fault', false);
      if (now === at('04:00')) rig.notifier.condition('fault', true, { zh: '故障: 模块无响应', en: 'modem silent' });
      await rig.notifier.tick();
      if (now < at('09:00')) t.is(outbox().length, 0);
    }
    const bodies = outbox().map((r) => r.body);
    t.is(bodies.length, 4, bodies.join('\n'));
    t.is(bodies[0], '【小店短信盒】故障：仍未恢复（已持续 4 小时）：故障: 没有 SIM 卡 12-02 02:00 http://192.168.1.50:8080/');
    t.is(bodies[1], '【小店短信盒】来电 2 条：来电 90；来电 180 12-02 01:00 http://192.168.1.50:8080/');
    t.is(bodies[2], '【小店短信盒】已恢复（持续了 5 小时）：故障: 没有 SIM 卡 12-02 03:00 http://192.168.1.50:8080/');
    t.is(bodies[3], '【小店短信盒】故障：仍未恢复（已持续 5 小时）：故障: 模块无响应 12-02 09:00 http://192.168.1.50:8080/');
  } finally {
    rig.dispose();
  }
});

test('a condition said on every status change writes nothing until it changes', async (t) => {
  const robot = await fakeRobot('/hook', { status: 200, body: '' });
  const rig = notifyRig([channel({ kind: 'webhook', url: robot.url })]);
  try {
    rig.notifier.condition('fault', true, { zh: '故障', en: 'fault' });
    await rig.notifier.deliverDue();
    const changes = () => (rig.store.db.prepare('SELECT total_changes() AS n').get() as { n: number }).n;
    const before = changes();
    for (let i = 0; i < 100; i++) {
      rig.clock.advance(250);
      rig.notifier.condition('fault', true, { zh: '故障', en: 'fault' });
      rig.notifier.condition('stuck', false);
    }
    t.is(changes(), before);
    t.is(robot.requests.length, 1);
  } finally {
    rig.dispose();
    await robot.close();
  }
});

test('a robot that takes the request and never answers: the attempt ends at the time limit and is retried', async (t) => {
  const { createServer } = await import('node:http');
  const arrived: string[] = [];
  const server = createServer((req) => {
    arrived.push(req.url ?? '');
    // Never answers.
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const rig = notifyRig([channel({ kind: 'wecom', url: `http://127.0.0.1:${port}/cgi-bin/webhook/send?key=k` })], { httpTimeoutMs: 200 });
  try {
    rig.notifier.event('call', { zh: '来电', en: 'call' });
    await rig.notifier.deliverDue();
    t.like(rig.notifyStore.jobs()[0], { status: 'pending', attempts: 1, nextAttemptAt: T0 + 30_000 });
    t.regex(rig.notifyStore.jobs()[0]!.lastError!, /TimeoutError|aborted/i);
  } finally {
    rig.dispose();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
