/**
 * The notifier wired into the whole box (issue 18), against the virtual HAT
 * and local HTTP servers playing the robots. Every wait is on an event: the
 * robot's received requests, the modem's status, the HAT's transmissions.
 */
import test from 'ava';
import { createHmac } from 'node:crypto';
import { ManualClock } from '../../src/clock.js';
import { ConfigError, defaultConfig, type Config } from '../../src/config/config.js';
import { VirtualModem } from '../../hardware/simulator/virtual-modem.js';
import { boxUntil } from '../helpers/box-events.js';
import { basicAuth, startTestBox, type TestBox } from '../helpers/box.js';
import { channel } from '../helpers/notify.js';
import { fakeRobot, type ReceivedRequest } from '../helpers/robots.js';
import { waitFor } from '../helpers/wait.js';

const FAST = { pollIntervalMs: 100, commandTimeoutMs: 1000, bootMs: 3000, resyncQuietMs: 30 };
const OK = { body: { errcode: 0, errmsg: 'ok' } };
const SECRET = 'SEC0123456789abcdef';

function alwaysOpen(c: Config): void {
  c.schedule.quietHours = null;
  c.schedule.quietHoursText = '';
}

async function modemReady(box: TestBox): Promise<void> {
  await boxUntil(box, 'the modem to be ready', () => box.modem.status().state === 'ready' && box.modem.status().registered);
}

const title = (r: ReceivedRequest): string => r.json?.markdown?.title ?? '';

/** DingTalk's 加签 as its documentation states it: base64(HMAC-SHA256(secret, "timestamp\nsecret")), in the query. */
function assertSigned(t: import('ava').ExecutionContext, request: ReceivedRequest): void {
  const query = new URL(request.url, 'http://robot').searchParams;
  const timestamp = query.get('timestamp')!;
  t.regex(timestamp, /^\d{13}$/);
  t.is(query.get('sign'), createHmac('sha256', SECRET).update(`${timestamp}\n${SECRET}`).digest('base64'));
  t.is(query.get('access_token'), 'T');
}

test.serial('a box with a DingTalk channel: a fault (no SIM) is told when it starts and once more when it ends', async (t) => {
  t.timeout(60_000);
  const robot = await fakeRobot('/robot/send?access_token=T', OK);
  // The SIM is out from the start: the modem's first start ends in the no-SIM hard fault.
  const simulator = new VirtualModem({ sendMs: 20, bootMs: 20, initialPower: 'off' });
  simulator.inject({ kind: 'no-sim' });
  const box = await startTestBox({
    config: (c) => {
      alwaysOpen(c);
      c.notify = [channel({ kind: 'dingtalk', url: robot.url, secret: SECRET })];
    },
    simulator,
    modemTimings: FAST,
  });
  try {
    const fault = await robot.waitFor((r) => title(r).startsWith('【故障】'));
    t.is(fault.method, 'POST');
    t.like(fault.json, { msgtype: 'markdown' });
    t.regex(fault.json.markdown.text, /SIM/);
    t.regex(fault.json.markdown.text, /状态页/, 'the status page is linked');
    assertSigned(t, fault);
    const status = box.status.snapshot();
    t.is(status.leds['fault'], 'on', 'the LED says the same');
    t.is(status.faults[0]!.kind, 'modem-no-sim');

    simulator.clear('no-sim');
    const recovered = await robot.waitFor((r) => title(r).startsWith('【已恢复】'));
    t.regex(recovered.json.markdown.text, /已恢复（持续了/);
    t.regex(recovered.json.markdown.text, /SIM/, 'it says what ended');
    assertSigned(t, recovered);
    t.is(robot.requests.filter((r) => title(r).startsWith('【故障】')).length, 1, 'the fault was told once');

    const listing = JSON.parse((await box.get('/api/notify', basicAuth('smsbox'))).body);
    t.is(listing.channels.length, 1);
    t.like(listing.channels[0], { kind: 'dingtalk', signed: true, pending: 0, failed: 0, last: { ok: true, kind: 'recovered', error: null } });
    t.false(JSON.stringify(listing).includes(SECRET), 'no secret in the listing');
  } finally {
    await box.dispose();
    simulator.dispose();
    await robot.close();
  }
});

test.serial('a stuck queue on a box whose clock the test moves: told after 10 minutes without a send, recovered when messages go again', async (t) => {
  t.timeout(60_000);
  const robot = await fakeRobot('/hook', { status: 200, body: '' });
  const clock = new ManualClock(Date.parse('2026-12-01T10:00:00+08:00'));
  const box = await startTestBox({
    clock,
    config: (c) => {
      alwaysOpen(c);
      c.notify = [channel({ kind: 'webhook', url: robot.url, events: ['stuck', 'recovered'] })];
    },
    simulatorBootMs: 20,
    modemTimings: FAST,
  });
  try {
    await modemReady(box);
    // Every send meets network congestion (retryable): nothing leaves, the message waits for its retry.
    box.simulator!.inject({ kind: 'cms-error', code: 42, count: 1000 });
    t.is((await box.get('/sms?Msg=smsSnd&User=aaaa&PWD=bbbb&Tel=13800138000&Body=%E5%8F%91%E8%B4%A7')).body, '1');
    t.like(box.status.snapshot().queue, { stuck: false, progress: 'watching', last_sent_at: null });

    clock.advance(9 * 60_000);
    t.false(box.status.snapshot().queue.stuck, 'not before 10 minutes');
    clock.advance(60_000);
    const snapshot = box.status.snapshot();
    t.true(snapshot.queue.stuck);
    // The LEDs are derived every second: the alert follows from the same reasons.
    const stuck = await robot.waitFor((r) => r.json?.event === 'stuck');
    t.regex(stuck.json.text, /发送停滞/);
    t.is(box.status.snapshot().leds['fault'], 'on');
    t.is(box.status.snapshot().faults[0]!.kind, 'stuck');

    box.simulator!.clear('cms-error');
    const transmitted = waitFor(box.simulator!, 'transmitted', () => true, { what: 'the HAT to transmit' });
    box.dispatcher.kick();
    await transmitted;
    const recovered = await robot.waitFor((r) => r.json?.event === 'recovered');
    t.like(recovered.json, { about: 'stuck' });
    t.false(box.status.snapshot().queue.stuck);
  } finally {
    await box.dispose();
    await robot.close();
  }
});

test.serial('a reply to a notice reaches the owner\'s webhook channel with the notice it answers, and /api/inbox says it too', async (t) => {
  t.timeout(60_000);
  const robot = await fakeRobot('/hook', { status: 200, body: '' });
  const box = await startTestBox({
    config: (c) => {
      alwaysOpen(c);
      c.notify = [channel({ kind: 'webhook', url: robot.url, events: ['reply', 'optout'] })];
    },
    simulatorBootMs: 20,
    modemTimings: FAST,
  });
  try {
    await modemReady(box);
    const transmitted = waitFor(box.simulator!, 'transmitted', () => true, { what: 'the HAT to transmit' });
    t.is((await box.get(`/sms?Msg=smsSnd&User=aaaa&PWD=bbbb&Tel=13900000001&Body=${encodeURIComponent('您的订单 8812 已发货')}`)).body, '1');
    await transmitted;
    // The HAT has sent it; the box commits "sent" when it reads the answer.
    await boxUntil(box, 'the notice to be sent', () => box.store.listMessages({ limit: 1 })[0]!.status === 'sent');
    const notice = box.store.listMessages({ limit: 1 })[0]!;

    box.simulator!.deliver({ from: '+8613900000001', text: '什么时候到？' });
    const reply = await robot.waitFor((r) => r.json?.event === 'reply');
    t.like(reply.json.events[0].data, { from: '13900000001', text: '什么时候到？', reply_to: { id: notice.id, text: notice.body } });
    t.regex(reply.json.text, /回复的是第 \d+ 号短信：“您的订单 8812 已发货/);

    const inbox = JSON.parse((await box.get('/api/inbox', basicAuth('smsbox'))).body);
    t.like(inbox.messages[0], { text: '什么时候到？', reply_to: { id: notice.id, text: notice.body, sent_at: new Date(notice.sentAt!).toISOString() } });
  } finally {
    await box.dispose();
    await robot.close();
  }
});

test.serial('the daily summary goes to the channels that take daily, with the day\'s figures', async (t) => {
  const daily = await fakeRobot('/daily', { status: 200, body: '' });
  const faults = await fakeRobot('/faults', { status: 200, body: '' });
  const box = await startTestBox({
    config: (c) => {
      c.notify = [channel({ kind: 'webhook', url: daily.url, events: ['daily'] }), channel({ kind: 'webhook', url: faults.url, events: ['fault'] })];
    },
  });
  try {
    t.is((await box.get('/sms?Msg=smsSnd&User=aaaa&PWD=bbbb&Tel=13800138000&Body=hi')).body, '1');
    box.sendDailySummary();
    const summary = await daily.waitFor((r) => r.json?.event === 'daily');
    t.regex(summary.json.text, /已发送 0 条.*来电 0 次（已自动挂断），SIM 卡话费余额：未知（尚未查到）；仍在排队 1 条。$/);
    t.like(summary.json.events[0].data, { sent: 0, queued: 1, calls: 0, credit: null });
    t.is(faults.requests.length, 0, 'a channel without daily hears nothing of it');
  } finally {
    await box.dispose();
    await daily.close();
    await faults.close();
  }
});

test.serial('a config error is told with its file and line, and its end when a settings save fixes the file', async (t) => {
  const robot = await fakeRobot('/hook', { status: 200, body: '' });
  const box = await startTestBox({
    config: (c) => (c.notify = [channel({ kind: 'webhook', url: robot.url, events: ['config-error', 'recovered'] })]),
    configProblem: { error: new ConfigError('/boot/smsbox.toml', 7, '[http] port 应为整数', '[http] port must be a whole number'), using: 'last-good' },
  });
  try {
    const told = await robot.waitFor((r) => r.json?.event === 'config-error');
    t.is(told.json.text, '配置文件有误（/boot/smsbox.toml 第 7 行）：[http] port 应为整数。本机暂用上次正确的配置运行，请改正配置文件。');
    // What a settings save does once the parser accepted the file: the same channel, the file now good.
    const fixed = defaultConfig();
    fixed.notify = [channel({ kind: 'webhook', url: robot.url, events: ['config-error', 'recovered'] })];
    box.applyConfig(fixed);
    t.is(box.status.snapshot().config_error, null);
    const recovered = await robot.waitFor((r) => r.json?.event === 'recovered');
    t.like(recovered.json, { about: 'config-error' });
  } finally {
    await box.dispose();
    await robot.close();
  }
});
