/**
 * Issue 18 over HTTP: the settings page's notification channels (add, 发送测试
 * with the platform's answer, remove; CSRF-protected forms), GET /api/notify
 * and POST /api/notify/:id/test, the inbox as conversations with the notice
 * each reply answers, and the owner's answer from the conversation page.
 */
import test from 'ava';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/config.js';
import { routeLabel } from '../../src/web/metrics.js';
import { basicAuth, startTestBox, tempDir, type TestBox } from '../helpers/box.js';
import { fakeRobot } from '../helpers/robots.js';

interface Browser {
  cookie: string;
  csrf: string;
}

function post(box: TestBox, path: string, form: [string, string][], browser?: Browser) {
  return fetch(`${box.url}${path}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(browser ? { cookie: browser.cookie } : {}) },
    body: new URLSearchParams(browser ? [...form, ['_csrf', browser.csrf]] : form).toString(),
  });
}

async function login(box: TestBox): Promise<Browser> {
  const res = await post(box, '/login', [['password', 'smsbox'], ['next', '/settings']]);
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  const page = await (await fetch(`${box.url}/settings`, { headers: { cookie } })).text();
  return { cookie, csrf: /name="csrf-token" content="([^"]+)"/.exec(page)![1]! };
}

const page = async (box: TestBox, path: string, browser: Browser) => (await fetch(`${box.url}${path}`, { headers: { cookie: browser.cookie } })).text();

const SOURCE = '\uFEFF# 配置\r\n[schedule]\r\nquiet_hours = "" # 不限时段\r\n';

async function boxWithFile(): Promise<{ box: TestBox; file: string; dir: string }> {
  const dir = tempDir();
  const file = join(dir, 'smsbox.toml');
  writeFileSync(file, SOURCE);
  const box = await startTestBox({ config: (c) => Object.assign(c, parseConfig(SOURCE, file)) });
  return { box, file, dir };
}

test('settings: add a DingTalk channel, 发送测试 shows the platform\'s errcode and errmsg, remove it; the forms need the CSRF token', async (t) => {
  const robot = await fakeRobot('/robot/send?access_token=T', { body: { errcode: 310000, errmsg: 'sign not match' } });
  const { box, file, dir } = await boxWithFile();
  try {
    const browser = await login(box);
    const add: [string, string][] = [['kind', 'dingtalk'], ['url', robot.url], ['to', ''], ['secret', 'SECabc'], ['events', 'fault'], ['events', 'recovered'], ['events', 'daily']];
    t.is((await post(box, '/settings/notify/add', add, { ...browser, csrf: 'wrong' })).status, 403, 'no token, no change');
    t.is(parseConfig(readFileSync(file, 'utf8'), file).notify.length, 0);

    const added = await post(box, '/settings/notify/add', add, browser);
    t.is(added.status, 303);
    t.is(added.headers.get('location'), '/settings#notify');
    const written = readFileSync(file, 'utf8');
    t.true(written.startsWith(SOURCE));
    t.true(written.endsWith(`\r\n[[notify]]\r\nkind = "dingtalk"\r\nurl = "${robot.url}"\r\nsecret = "SECabc"\r\nevents = ["fault", "recovered", "daily"]\r\n`));
    let html = await page(box, '/settings', browser);
    t.regex(html, /通知渠道已添加并生效/);
    t.regex(html, /钉钉群机器人 <small>（签名）<\/small>/);
    t.regex(html, /故障、恢复、每日汇总/);
    t.false(html.includes('SECabc'), 'the secret is not shown');
    const id = /<tr data-channel="([0-9a-f]{16})">/.exec(html)![1]!;

    t.is((await post(box, `/settings/notify/${id}/test`, [], browser)).status, 303);
    t.is(robot.requests.length, 1);
    html = await page(box, '/settings', browser);
    t.regex(html, /class="flash-error"[^>]*>发送测试失败，平台应答：HTTP 200 · errcode 310000 · errmsg sign not match</);
    t.regex(html, /<span class="status failed">失败<\/span>/, 'the channel\'s last delivery');

    robot.answers.push({ body: { errcode: 0, errmsg: 'ok' } });
    await post(box, `/settings/notify/${id}/test`, [], browser);
    t.regex(await page(box, '/settings', browser), /class="flash-ok"[^>]*>发送测试成功，平台应答：HTTP 200 · errcode 0 · errmsg ok</);

    t.is((await post(box, `/settings/notify/${id}/remove`, [], browser)).status, 303);
    t.regex(await page(box, '/settings', browser), /通知渠道已删除/);
    t.is(readFileSync(file, 'utf8'), `${SOURCE}\r\n`, 'the block is gone (the blank line before it stays)');
    t.deepEqual(box.notifier.list(), []);
  } finally {
    await box.dispose();
    rmSync(dir, { recursive: true, force: true });
    await robot.close();
  }
});

test('GET /api/notify and POST /api/notify/:id/test: admin only; the last delivery\'s time, result and error', async (t) => {
  const robot = await fakeRobot('/cgi-bin/webhook/send?key=abcdefghijklmnop', { body: { errcode: 93000, errmsg: 'invalid webhook url' } });
  const box = await startTestBox({ config: (c) => (c.notify = [{ kind: 'wecom', url: robot.url, to: '', secret: '', events: ['fault'] }]) });
  try {
    t.is((await box.get('/api/notify')).status, 401);
    let listing = JSON.parse((await box.get('/api/notify', basicAuth('smsbox'))).body);
    t.is(listing.channels.length, 1);
    const channel = listing.channels[0];
    t.like(channel, { kind: 'wecom', signed: false, events: ['fault'], last: null, pending: 0, failed: 0 });
    t.false(channel.target.includes('abcdefghijklmnop'), 'the robot\'s key is hidden');

    const unauthorised = await fetch(`${box.url}/api/notify/${channel.id}/test`, { method: 'POST' });
    t.is(unauthorised.status, 401);
    const tested = await fetch(`${box.url}/api/notify/${channel.id}/test`, { method: 'POST', headers: basicAuth('smsbox') });
    t.is(tested.status, 200);
    t.like(await tested.json(), { channel: channel.id, ok: false, status: 200, code: 93000, message: 'invalid webhook url' });
    listing = JSON.parse((await box.get('/api/notify', basicAuth('smsbox'))).body);
    t.like(listing.channels[0].last, { ok: false, kind: 'test', error: 'code 93000: invalid webhook url', answer: { status: 200, code: 93000 } });
    t.regex(listing.channels[0].last.at, /\+08:00$/);

    const unknown = await fetch(`${box.url}/api/notify/ffffffffffffffff/test`, { method: 'POST', headers: basicAuth('smsbox') });
    t.is(unknown.status, 404);
    t.like(await unknown.json(), { error: 'no-channel' });
  } finally {
    await box.dispose();
    await robot.close();
  }
});

test('the inbox: one conversation per number, each reply under the notice it answers; answering from the conversation page', async (t) => {
  const box = await startTestBox({ config: (c) => (c.optout.footer = '') });
  try {
    const browser = await login(box);
    const now = Date.now();
    // A notice of account aaaa to one customer, sent an hour ago, and three replies (two from that customer).
    const account = box.store.getLogin('aaaa')!;
    const accepted = box.store.acceptSend({ accountId: account.id, recipients: ['+8613900000001'], invalidNumbers: [], body: '您的订单 <b>8812</b> 已发货', segments: 1, encoding: 'ucs2', priceLiPerSegment: 0, client: 't', now: now - 3600_000, duplicateWindowMs: 0 });
    const notice = accepted.kind === 'accepted' ? accepted.messageIds[0]! : -1;
    box.store.finishSent(notice, box.store.beginAttempt(notice, 'hat', now - 3600_000)!, now - 3600_000, '+8613900000001', [1]);
    for (const [from, text, pdu] of [['+8613900000001', '什么时候到', 'a'], ['+8613900000002', '在吗', 'b'], ['+8613900000001', '快点<script>', 'c']] as const) {
      const { inboxId } = box.store.addInboundPart({ from, text, timestamp: '', concat: null, pdu }, now, 60_000);
      // What the inbound processor does first with each reply (tested in test/inbound/context.test.ts).
      box.store.linkReply(inboxId, from, now);
    }
    const [latest] = box.store.listInbox({ limit: 1 });

    const inbox = await page(box, '/inbox', browser);
    const groups = [...inbox.matchAll(/<tbody class="conversation" data-number="([^"]+)">([\s\S]*?)<\/tbody>/g)];
    t.deepEqual(groups.map((g) => g[1]), ['13900000001', '13900000002'], 'the number with the newest reply first');
    const first = groups[0]![2]!;
    t.is(first.match(/<td class="notice">/g)!.length, 1, 'the notice once, above the first reply that answers it');
    t.true(first.indexOf('您的订单 &lt;b&gt;8812&lt;/b&gt; 已发货') < first.indexOf('什么时候到'));
    t.true(first.indexOf('什么时候到') < first.indexOf('快点&lt;script&gt;'), 'oldest first inside a conversation');
    t.regex(first, /href="\/inbox\/13900000001">查看对话并回复/);
    t.regex(groups[1]![2]!, /（7 天内未发过短信）/);

    const conversation = await page(box, '/inbox/13900000001', browser);
    t.regex(conversation, /<table id="conversation"/);
    t.regex(conversation, new RegExp(`<form method="post" action="/inbox/${latest!.id}/answer" id="answer">`));
    t.regex(conversation, /按账号 aaaa 计费：顾客回复的是该账号发出的短信。/);
    t.is((await fetch(`${box.url}/inbox/13600000000`, { headers: { cookie: browser.cookie } })).status, 404);

    const form: [string, string][] = [['text', '明天到'], ['number', '13900000001']];
    t.is((await post(box, `/inbox/${latest!.id}/answer`, form, { ...browser, csrf: 'wrong' })).status, 403);
    const answered = await post(box, `/inbox/${latest!.id}/answer`, form, browser);
    t.is(answered.status, 303);
    t.is(answered.headers.get('location'), '/inbox/13900000001');
    const after = await page(box, '/inbox/13900000001', browser);
    const queued = box.store.listMessages({ limit: 1 })[0]!;
    t.like(queued, { to: '+8613900000001', body: '明天到', account: 'aaaa', status: 'queued' });
    t.true(after.includes(`回复已排队（第 ${queued.id} 号短信，计入账号 aaaa）`));

    // The same through the JSON API.
    const api = await fetch(`${box.url}/api/inbox/${latest!.id}/answer`, { method: 'POST', headers: { 'content-type': 'application/json', ...basicAuth('smsbox') }, body: JSON.stringify({ text: '已发出' }) });
    t.is(api.status, 201);
    t.like(await api.json(), { charged_to: 'aaaa', message: { to: '13900000001', body: '已发出', status: 'queued' } });
    const none = await fetch(`${box.url}/api/inbox/${groups.length + 100}/answer`, { method: 'POST', headers: { 'content-type': 'application/json', ...basicAuth('smsbox') }, body: '{"text":"x"}' });
    t.like(await none.json(), { error: 'no-message' });

    const json = JSON.parse((await box.get('/api/inbox', basicAuth('smsbox'))).body);
    t.like(json.messages[0], { text: '快点<script>', reply_to: { id: notice, text: '您的订单 <b>8812</b> 已发货', sent_at: new Date(now - 3600_000).toISOString() } });
    t.is(json.messages[1].reply_to, null);
  } finally {
    await box.dispose();
  }
});

test('route labels: the new pages and endpoints have their own, ids collapsed', (t) => {
  t.is(routeLabel('/api/notify', false), '/api/notify');
  t.is(routeLabel('/api/notify/0123456789abcdef/test', false), '/api/notify/:id/test');
  t.is(routeLabel('/settings/notify/add', false), '/settings/notify/add');
  t.is(routeLabel('/settings/notify/0123456789abcdef/remove', false), '/settings/notify/:id/remove');
  t.is(routeLabel('/inbox/13900000001', false), '/inbox/:param');
  t.is(routeLabel('/inbox/12/answer', false), '/inbox/:id/answer');
  t.is(routeLabel('/api/inbox/12/answer', false), '/api/inbox/:id/answer');
});
