/**
 * Issue 17's SIM work in the whole box against the virtual HAT: the self-test,
 * the SIM's credit and the carrier's restriction. The test plays the network
 * where today's virtual HAT does not (the echo of an SMS to its own number, a
 * carrier's replies): it listens for what the HAT transmits and delivers the
 * answer into it. Waits are on the box's events, never on a clock.
 */
import test from 'ava';
import { VirtualModem } from '../../hardware/simulator/virtual-modem.js';
import type { Config } from '../../src/config/config.js';
import { BLOCK_AFTER_DISTINCT_FAILURES, SELFTEST_TAG } from '../../src/sim/index.js';
import { boxUntil } from '../helpers/box-events.js';
import { basicAuth, startTestBox, type TestBox } from '../helpers/box.js';
import { channel } from '../helpers/notify.js';
import { fakeRobot } from '../helpers/robots.js';

const FAST = { pollIntervalMs: 100, commandTimeoutMs: 1000, bootMs: 3000, resyncQuietMs: 30 };
const OWN = '13800138000';
const CHINA_MOBILE_IMSI = '460001234567890';
const ADMIN = basicAuth('smsbox');

/** No quiet hours and no pacing: the balance query at registration must not hold the self-test's SMS for 20 s. */
function alwaysOpen(c: Config): void {
  c.schedule.quietHours = null;
  c.schedule.quietHoursText = '';
  c.schedule.maxPerHour = 0;
  c.schedule.maxPerDay = 0;
  // The test box helper turns the box's own balance checks off for other tests; these are about them.
  c.sim.checkBalance = true;
}

async function api(box: TestBox, method: 'GET' | 'POST', path: string): Promise<{ status: number; json: any }> {
  const res = await fetch(`${box.url}${path}`, { method, headers: ADMIN });
  return { status: res.status, json: await res.json() };
}

/**
 * A virtual HAT whose network the test plays: the HAT's own carrier answers
 * and its loopback of SMS to its own number are off, so each reply and echo
 * is the test's, exactly once.
 */
function hatPlayedByTest(): VirtualModem {
  return new VirtualModem({ sendMs: 20, bootMs: 20, initialPower: 'off', carrierServices: false, ownNumberLoopback: false });
}

async function modemReady(box: TestBox): Promise<void> {
  await boxUntil(box, 'the modem to be ready', () => box.modem.status().state === 'ready' && box.modem.status().registered);
}

async function startBox(opts: { simulator: VirtualModem; config?: (c: Config) => void; selftestTimeoutMs?: number; imsi?: string }) {
  return startTestBox({
    config: (c) => {
      alwaysOpen(c);
      c.modem.ownNumber = `+86${OWN}`;
      opts.config?.(c);
    },
    simulator: opts.simulator,
    modemTimings: FAST,
    modemIdentity: () => ({ imsi: opts.imsi ?? CHINA_MOBILE_IMSI, ownNumber: null }),
    ...(opts.selftestTimeoutMs !== undefined ? { selftestTimeoutMs: opts.selftestTimeoutMs } : {}),
  });
}

test.serial('self-test ok: POST /api/selftest sends to the own number, the echo comes back, GET gives {state: "ok"}; a second POST meanwhile answers with the running one', async (t) => {
  t.timeout(60_000);
  const robot = await fakeRobot('/hook', { body: {} });
  const simulator = hatPlayedByTest();
  // The network: an SMS to the SIM's own number comes back to it, from that number,
  // once the test has made its second POST (the run must still be going then, however busy the machine).
  let echoes: (() => void)[] | null = [];
  simulator.on('transmitted', (sms: { to: string; text: string }) => {
    if (!sms.to.endsWith(OWN) || !sms.text.startsWith(SELFTEST_TAG)) return;
    const echo = () => simulator.deliver({ from: `+86${OWN}`, text: sms.text });
    if (echoes) echoes.push(echo);
    else echo();
  });
  const box = await startBox({ simulator, config: (c) => { c.notify = [channel({ kind: 'webhook', url: robot.url, events: ['selftest'] })]; } });
  try {
    await modemReady(box);
    const first = await api(box, 'POST', '/api/selftest');
    t.is(first.status, 202);
    t.like(first.json, { state: 'running', finished_at: null, to: OWN });
    const second = await api(box, 'POST', '/api/selftest');
    t.is(second.status, 200, 'not a new run');
    t.is(second.json.id, first.json.id);
    const held = echoes;
    echoes = null;
    for (const echo of held) echo();

    await boxUntil(box, 'the self-test to pass', () => box.store.sim.latestSelftest()?.state === 'ok');
    const latest = await api(box, 'GET', '/api/selftest');
    t.is(latest.status, 200);
    for (const key of ['state', 'step', 'started_at', 'finished_at', 'seconds', 'message', 'message_en']) t.true(key in latest.json, key);
    t.like(latest.json, { state: 'ok', step: 'done' });
    t.is(typeof latest.json.seconds, 'number');
    t.regex(latest.json.message, /自检成功/);
    t.is(simulator.transmitted.filter((s) => s.text.startsWith(SELFTEST_TAG)).length, 1, 'one SMS for both POSTs');

    // The echo is no customer's: marked, not forwarded, not in the customers' replies.
    const inbox = (await api(box, 'GET', '/api/inbox')).json.messages as { action: string; from: string }[];
    t.is(inbox[0]!.action, 'selftest');
    const told = await robot.waitFor((r) => r.json?.event === 'selftest');
    t.regex(JSON.stringify(told.json), /自检成功/);
    // Uncharged: the demo account's balance is untouched.
    t.is((await box.get('/sms?Msg=smsBalance&User=aaaa&PWD=bbbb')).body, '100.00');
  } finally {
    await box.dispose();
    await robot.close();
  }
});

test.serial('self-test failed: nothing comes back within its time limit; the run says the SMS went out but never returned', async (t) => {
  t.timeout(60_000);
  const simulator = hatPlayedByTest();
  const box = await startBox({ simulator, selftestTimeoutMs: 1_500 });
  try {
    await modemReady(box);
    t.is((await api(box, 'POST', '/api/selftest')).status, 202);
    await boxUntil(box, 'the self-test SMS to go out', () => simulator.transmitted.some((s) => s.text.startsWith(SELFTEST_TAG)));
    const failed = await boxUntil(box, 'the self-test to fail', () => (box.store.sim.latestSelftest()?.state === 'failed' ? box.store.sim.latestSelftest() : null));
    t.is(failed.step, 'waiting-reply');
    const latest = (await api(box, 'GET', '/api/selftest')).json;
    t.like(latest, { state: 'failed', step: 'waiting-reply' });
    t.regex(latest.message, /没有收到/);
    t.regex(latest.message_en, /did not come back/);
  } finally {
    await box.dispose();
  }
});

test.serial('a self-test under way when the box stops is failed when it starts again', async (t) => {
  t.timeout(60_000);
  const simulator = hatPlayedByTest();
  let box = await startBox({ simulator });
  const dataDir = box.dataDir;
  try {
    // The modem is still booting (3 s): the run is under way when the box stops.
    t.is((await api(box, 'POST', '/api/selftest')).status, 202);
    await box.close();
    box = await startTestBox({ dataDir, simulator, modemTimings: FAST, config: alwaysOpen });
    const latest = (await api(box, 'GET', '/api/selftest')).json;
    t.like(latest, { state: 'failed' });
    t.regex(latest.message, /重启/);
    t.not(latest.finished_at, null);
  } finally {
    await box.dispose();
  }
});

test.serial('SIM credit: asked of 10086 once registered, the reply read into /api/status sim and /metrics; below the mark the verdict warns and low-balance is told', async (t) => {
  t.timeout(60_000);
  const robot = await fakeRobot('/hook', { body: {} });
  const simulator = hatPlayedByTest();
  let balance = '8.50';
  simulator.on('transmitted', (sms: { to: string; text: string }) => {
    if (sms.to.endsWith('10086') && sms.text === 'CXHF') {
      simulator.deliver({ from: '10086', text: `尊敬的客户，您好！截至12月02日10时，您的话费余额为${balance}元，本月已产生话费12.30元。【中国移动】` });
    }
  });
  const box = await startBox({ simulator, config: (c) => { c.notify = [channel({ kind: 'webhook', url: robot.url, events: ['low-balance'] })]; } });
  try {
    await boxUntil(box, 'the balance to be read', () => box.store.sim.lastBalance());
    const status = JSON.parse((await box.get('/api/status')).body);
    t.deepEqual(
      { carrier: status.sim.carrier, balance_yuan: status.sim.balance_yuan, low: status.sim.low },
      { carrier: 'china-mobile', balance_yuan: 8.5, low: true },
    );
    t.regex(status.sim.balance_at, /^\d{4}-\d\d-\d\dT/);
    t.true(status.faults.some((f: { kind: string; message: string }) => f.kind === 'low-balance' && /8\.50 元/.test(f.message)));
    const metrics = (await box.get('/metrics')).body;
    t.regex(metrics, /smsbox_sim_balance_yuan\{carrier="china-mobile"\} 8\.5/);
    const home = (await box.get('/')).body;
    t.regex(home, /需要处理.*SIM 卡话费余额 8\.50 元/s, 'the verdict warns, zh first');
    const told = await robot.waitFor((r) => r.json?.event === 'low-balance');
    t.regex(JSON.stringify(told.json), /8\.50/);

    // Asked again at once: refused, each query is an SMS.
    const again = await api(box, 'POST', '/api/sim/balance');
    t.is(again.status, 429);
    t.is(again.json.error, 'too-soon');
    // The carrier's replies are no customers' replies.
    const inbox = (await api(box, 'GET', '/api/inbox')).json.messages as { action: string }[];
    t.true(inbox.every((m) => m.action === 'carrier-balance'));
  } finally {
    await box.dispose();
    await robot.close();
  }
});

test.serial('SIM credit on demand: POST /api/sim/balance asks (202), not twice within 2 minutes (429); a top-up read above the mark ends the warning', async (t) => {
  t.timeout(60_000);
  const simulator = hatPlayedByTest();
  let balance = '3.00';
  simulator.on('transmitted', (sms: { to: string; text: string }) => {
    if (sms.to.endsWith('10010') && sms.text === 'YE') simulator.deliver({ from: '10010', text: `您当前账户余额${balance}元，其中可用余额${balance}元，赠送余额0.00元。【中国联通】` });
  });
  const box = await startBox({ simulator, imsi: '460011234567890' });
  try {
    // Asked at registration (China Unicom: YE to 10010).
    await boxUntil(box, 'the balance', () => box.store.sim.lastBalance());
    t.like(JSON.parse((await box.get('/api/status')).body).sim, { carrier: 'china-unicom', balance_yuan: 3, low: true });
    const again = await api(box, 'POST', '/api/sim/balance');
    t.is(again.status, 429, 'asked again at once: too soon, each query is an SMS');
    t.is(again.json.error, 'too-soon');

    // Topped up; the owner asks. The earlier query is moved back 3 minutes rather than waited for
    // (a re-registration does not ask again within 6 hours of it, so nothing else asks meanwhile).
    balance = '58.00';
    box.store.db.prepare('UPDATE sim_balance SET asked_at = asked_at - 180000').run();
    const asked = await api(box, 'POST', '/api/sim/balance');
    t.is(asked.status, 202);
    t.like(asked.json, { to: '10010', text: 'YE' });
    await boxUntil(box, 'the new balance', () => box.store.sim.lastBalance()?.balanceLi === 58_000);
    const after = JSON.parse((await box.get('/api/status')).body);
    t.like(after.sim, { balance_yuan: 58, low: false });
    t.false(after.faults.some((f: { kind: string }) => f.kind === 'low-balance'));
  } finally {
    await box.dispose();
  }
});

test.serial('SIM credit with no known query (China Broadnet, [sim] unset): POST /api/sim/balance says what to set (409)', async (t) => {
  t.timeout(60_000);
  const simulator = hatPlayedByTest();
  const box = await startBox({ simulator, imsi: '460151234567890' });
  try {
    const refused = await api(box, 'POST', '/api/sim/balance');
    t.is(refused.status, 409);
    t.is(refused.json.error, 'no-balance-query');
    t.regex(refused.json.message, /中国广电.*balance_query_to/);
    t.regex(refused.json.message_en, /balance_query_text/);
    t.like(JSON.parse((await box.get('/api/status')).body).sim, { carrier: 'china-broadnet', balance_yuan: null, low: false });
  } finally {
    await box.dispose();
  }
});

test.serial('carrier block: refusals to different numbers stop sending ("carrier-blocked"), the status says what to do and carrier-blocked is told', async (t) => {
  t.timeout(60_000);
  const robot = await fakeRobot('/hook', { body: {} });
  const simulator = hatPlayedByTest();
  const box = await startBox({ simulator, config: (c) => {
    c.notify = [channel({ kind: 'webhook', url: robot.url, events: ['carrier-blocked'] })];
  } });
  try {
    await modemReady(box);
    simulator.inject({ kind: 'cms-error', code: 500, count: 1000 });
    const numbers = Array.from({ length: BLOCK_AFTER_DISTINCT_FAILURES + 3 }, (_, i) => `1390000000${i}`).join(',');
    t.is((await box.get(`/sms?Msg=smsSnd&User=aaaa&PWD=bbbb&Tel=${numbers}&Body=${encodeURIComponent('您的包裹已发出')}`)).body, '1');
    await boxUntil(box, 'the block', () => box.dispatcher.state().waiting === 'carrier-blocked');
    const status = JSON.parse((await box.get('/api/status')).body);
    t.is(status.queue.waiting, 'carrier-blocked');
    t.like(status.sim, { blocked: true, block_cause: 'failures' });
    const fault = status.faults.find((f: { kind: string }) => f.kind === 'carrier-blocked');
    t.regex(fault.message, /致电运营商 10086/);
    t.regex(fault.message_en, /call the carrier/);
    const told = await robot.waitFor((r) => r.json?.event === 'carrier-blocked');
    t.regex(JSON.stringify(told.json), /运营商/);
    t.is(JSON.parse((await box.get('/api/status')).body).queue.stuck, false, 'a known block is not "stuck"');
  } finally {
    await box.dispose();
    await robot.close();
  }
});

// The whole chain with nothing played by the test: the driver reads the own number (AT+CNUM),
// the virtual HAT delivers an SMS sent to its own number back to itself.
test.serial('self-test against the virtual HAT alone: the own number from AT+CNUM, the SMS back through the HAT\'s loopback', async (t) => {
  t.timeout(30_000);
  const simulator = new VirtualModem({ sendMs: 20, bootMs: 20, initialPower: 'off' });
  // No own number from the test: the box's own wiring (the driver's AT+CNUM, wip-driver) must find it.
  const box = await startTestBox({ simulator, modemTimings: FAST, config: alwaysOpen, selftestTimeoutMs: 5_000 });
  try {
    await modemReady(box);
    t.is((await api(box, 'POST', '/api/selftest')).status, 202);
    await boxUntil(box, 'the self-test to end', () => (box.store.sim.latestSelftest()?.state !== 'running' ? true : null));
    t.is(box.store.sim.latestSelftest()!.state, 'ok');
  } finally {
    await box.dispose();
  }
});
