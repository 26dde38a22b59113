/**
 * What the public pages show (issue 14, item 6): account names masked until
 * login, never a User value that is not an account, client retries visible,
 * the verdict in step with the fault LED, the live clock in the box's zone.
 */
import test from 'ava';
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import { ManualClock } from '../../src/clock.js';
import { ConfigError, defaultConfig, type Config } from '../../src/config/config.js';
import { silentLogger } from '../../src/log.js';
import { startBox, type Box } from '../../src/main.js';
import type { StatusSnapshot } from '../../src/status/status.js';
import { verdictOf } from '../../src/web/pages.js';
import { basicAuth, startTestBox, tempDir, withBox, type TestBox } from '../helpers/box.js';

const SECRET = 'Secret-Pw-4471';

function shopAccount(c: Config): void {
  c.accounts = [{ user: 'shop', password: SECRET, balanceLi: 100_000, ignoreQuietHours: false }];
}

async function login(box: TestBox): Promise<string> {
  const res = await fetch(`${box.url}/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'password=smsbox' });
  return res.headers.get('set-cookie')!.split(';')[0]!;
}

test('public pages mask account names; after login they show', async (t) => {
  await withBox(async (box) => {
    t.is((await box.get(`/sms?Msg=smsAU&User=shop&PWD=${SECRET}`)).body, '1');
    for (const path of ['/', '/setup', '/setup/requests']) {
      const html = (await box.get(path)).body;
      t.regex(html, /<td>s\*\*\*<\/td>/, path);
      t.false(/<td>shop<\/td>/.test(html), `${path} shows the name without login`);
    }
    t.is(JSON.parse((await box.get('/api/status')).body).wdgj.last_request.user, 's***', '/api/status is public too');
    const cookie = await login(box);
    for (const path of ['/', '/setup', '/setup/requests']) t.regex((await box.get(path, { cookie })).body, /<td>shop<\/td>/, `${path} after login`);
  }, shopAccount);
});

test('a client that swapped User and PWD never gets the password shown or logged, before or after login', async (t) => {
  await withBox(async (box) => {
    t.is((await box.get(`/sms?Msg=smsAU&User=${SECRET}&PWD=shop`)).body, '0');
    t.is((await box.get(`/sms?Msg=smsSnd&User=${SECRET}&PWD=shop&Tel=13800138000&Body=x`)).body, '0');
    const cookie = await login(box);
    for (const [path, headers] of [['/', {}], ['/setup', {}], ['/setup/requests', {}], ['/', { cookie }], ['/setup', { cookie }], ['/api/status', {}], ['/api/events', basicAuth('smsbox')]] as const) {
      const body = (await box.get(path, headers)).body;
      t.false(body.includes(SECRET), `${path} ${JSON.stringify(headers)}`);
    }
    t.regex((await box.get('/setup')).body, /（不是账号）/, 'the panel says the User was no account');
    t.false(box.logLines.some((line) => line.includes(SECRET)), 'nor the log');
  }, shopAccount);
});

test('a request merged as a client retry is visible on the overview and in the message history', async (t) => {
  await withBox(async (box) => {
    const send = () => box.get(`/sms?Msg=smsSnd&User=shop&PWD=${SECRET}&Tel=13800138000&Body=${encodeURIComponent('已发货')}`);
    t.is((await send()).body, '1');
    t.is((await send()).body, '1');
    t.is((await send()).body, '1');
    const [message] = box.store.listMessages({ limit: 10 });
    t.is(box.store.listMessages({ limit: 10 }).length, 1, 'queued once');
    const home = (await box.get('/')).body;
    t.is(home.match(new RegExp(`客户端重试：已并入第 ${message!.requestId} 号请求，没有重复排队`, 'g'))?.length, 2);
    t.regex((await box.get('/?lang=en')).body, new RegExp(`client retry: merged into request #${message!.requestId}, not queued twice`));
    const details = JSON.parse((await box.get(`/api/messages/${message!.id}`, basicAuth('smsbox'))).body) as { retries: { at: string; client: string }[] };
    t.is(details.retries.length, 2);
    t.like(details.retries[0], { client: '127.0.0.1' });
    const cookie = await login(box);
    const history = (await box.get(`/messages/${message!.id}`, { cookie })).body;
    t.regex(history, /<section id="retries">/);
    t.regex(history, new RegExp(`管家助理又提交了 2 次同样的请求（第 ${message!.requestId} 号请求）`));
  }, shopAccount);
});

test('the CSV export over HTTP neutralises formula cells and keeps numbers usable', async (t) => {
  await withBox(async (box) => {
    const add = (number: string, reason: string) =>
      fetch(`${box.url}/api/optouts`, { method: 'POST', headers: { 'content-type': 'application/json', ...basicAuth('smsbox') }, body: JSON.stringify({ number, reason }) });
    t.is((await add('13800138000', '=HYPERLINK("http://x","y")')).status, 201);
    t.is((await add('13900139000', '@SUM(1)')).status, 201);
    const csv = (await box.get('/api/optouts.csv', basicAuth('smsbox'))).body;
    t.regex(csv, /\r\n13800138000,[^,]+,admin,"'=HYPERLINK\(""http:\/\/x"",""y""\)"\r\n/);
    t.regex(csv, /\r\n13900139000,[^,]+,admin,'@SUM\(1\)\r\n/);
  });
});

/** A sending box's snapshot with the given LED faults. */
function withFaults(base: StatusSnapshot, faults: StatusSnapshot['faults']): StatusSnapshot {
  const s = structuredClone(base);
  Object.assign(s.modem, { state: 'ready', hard_fault: null, registered: true });
  Object.assign(s.queue, { waiting: null, waiting_text: null, waiting_text_en: null, waiting_detail: null });
  s.faults = faults;
  return s;
}

test('the verdict never says "sending normally" while the fault LED is lit', async (t) => {
  await withBox(async (box) => {
    const base = box.status.snapshot();
    t.like(verdictOf(withFaults(base, []), 'zh'), { level: 'ok', text: '正常发送中' });
    const degraded = verdictOf(withFaults(base, [{ level: 'degraded', kind: 'config-error', message: '配置文件有误', message_en: 'config error' }, { level: 'degraded', kind: 'uncertain', message: '1 条短信不确定', message_en: '1 uncertain' }]), 'zh');
    t.like(degraded, { level: 'wait', text: '需要处理: 配置文件有误', detail: '1 条短信不确定' });
    t.like(verdictOf(withFaults(base, [{ level: 'hard', kind: 'store', message: '数据库写入失败', message_en: 'the database cannot be written' }]), 'en'), { level: 'fault', text: 'Fault: the database cannot be written' });
  });
});

async function startReadyBox(configProblem: boolean): Promise<{ box: Box; dir: string }> {
  const config = defaultConfig();
  config.schedule.quietHours = null;
  config.schedule.quietHoursText = '';
  const dir = tempDir();
  const box = await startBox({
    config,
    dataDir: dir,
    port: 0,
    host: '127.0.0.1',
    log: silentLogger,
    clock: new ManualClock(Date.parse('2026-11-25T10:00:00+08:00')),
    simulatorBootMs: 20,
    modemTimings: { pollIntervalMs: 100, commandTimeoutMs: 1000, bootMs: 3000, resyncQuietMs: 30 },
    ...(configProblem ? { configProblem: { error: new ConfigError('smsbox.toml', 4, '[http] port 应为整数', '[http] port must be a whole number'), using: 'defaults' as const } } : {}),
  });
  // The LEDs are derived on every modem status change, before this waiter sees it.
  while (!(box.modem.status().state === 'ready' && box.modem.status().registered)) await once(box.modem, 'status');
  return { box, dir };
}

test('with a config error the fault LED blinks and the overview does not say 正常 under it', async (t) => {
  for (const problem of [false, true]) {
    const { box, dir } = await startReadyBox(problem);
    try {
      const status = box.status.snapshot();
      const page = await (await fetch(`${box.url}/`)).text();
      const shown = /<div class="verdict (\w+)" id="verdict"><span data-v="text">([^<]*)</.exec(page)!;
      if (problem) {
        t.is(status.leds['fault'], 'blink-slow');
        t.deepEqual(status.faults.map((f) => f.kind), ['config-error']);
        t.is(shown[1], 'wait');
        t.notRegex(shown[2]!, /正常/);
        t.regex(shown[2]!, /配置文件有误/);
      } else {
        t.is(status.leds['fault'], 'off', 'the control: no fault');
        t.is(shown[2], '正常发送中');
      }
    } finally {
      await box.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('the live clock shows the box\'s time zone, formatted by the box, not the browser', async (t) => {
  const clock = new ManualClock(Date.parse('2026-11-25T04:57:44Z'));
  const box = await startTestBox({ clock, config: (c) => (c.schedule.timezone = 'Asia/Shanghai') });
  try {
    const controller = new AbortController();
    const res = await fetch(`${box.url}/api/status/stream?lang=en`, { signal: controller.signal });
    const reader = res.body!.getReader();
    let text = '';
    while (!/data: .+\n\n/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    const data = JSON.parse(/data: (.+)\n\n/.exec(text)![1]!) as { time_text: string };
    t.is(data.time_text, '12:57:44', 'UTC+8, 24-hour, like the tables');
    const page = (await box.get('/')).body;
    t.regex(page, /'live'\)\.textContent="实时更新"\+' '\+d\.time_text/);
    t.false(page.includes('toLocaleTimeString'), 'the browser\'s clock and zone are not used');
  } finally {
    await box.dispose();
  }
});
