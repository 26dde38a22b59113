/**
 * Each platform played by a local HTTP server: the JSON it receives is
 * checked against the platform's documented shape, and the signatures are
 * recomputed here, independently of src/notify/sign.ts, as the documentation
 * describes them.
 */
import test from 'ava';
import { createHmac } from 'node:crypto';
import { dingtalkSign, dingtalkSignedUrl, feishuSign, webhookSignature } from '../../src/notify/sign.js';
import { wecomMarkdown, WECOM_MARKDOWN_MAX_BYTES } from '../../src/notify/platforms/wecom.js';
import { markdownSafe } from '../../src/notify/message.js';
import { BOX, T0, channel, notifyRig } from '../helpers/notify.js';
import { fakeRobot } from '../helpers/robots.js';

test('DingTalk 加签 matches the value of the documentation\'s own Python sample', (t) => {
  // Computed with the Python sample of the DingTalk page (hmac.new(secret, f"{timestamp}\n{secret}", sha256), b64encode, quote_plus).
  t.is(encodeURIComponent(dingtalkSign('SECtestsecret0123456789abcdef', 1733018400004)), '4Z0mtSQ70HE2fDPSoS1TPRer%2FIZiLghcLPTlh%2FZfh%2BI%3D');
  t.is(
    dingtalkSignedUrl('https://oapi.dingtalk.com/robot/send?access_token=abc', 'SECtestsecret0123456789abcdef', 1733018400004),
    'https://oapi.dingtalk.com/robot/send?access_token=abc&timestamp=1733018400004&sign=4Z0mtSQ70HE2fDPSoS1TPRer%2FIZiLghcLPTlh%2FZfh%2BI%3D',
  );
});

test('Feishu signature matches the value of the documentation\'s own Python sample', (t) => {
  // hmac.new(f"{timestamp}\n{secret}".encode(), b"", sha256), b64encode: the key is the string, the message empty.
  t.is(feishuSign('feishu-test-secret', 1733018400), 'S/fMHKfbZSE9bj7lTlFFE4JOcs4sI9kb4p9V5KpG0tM=');
  // Keyed the DingTalk way it would differ: the two must not be confused.
  t.not(feishuSign('feishu-test-secret', 1733018400), createHmac('sha256', 'feishu-test-secret').update('1733018400\nfeishu-test-secret').digest('base64'));
});

test('DingTalk: markdown with title and text, signed URL recomputed, errcode 0 is delivered', async (t) => {
  const robot = await fakeRobot('/robot/send?access_token=TOKEN123', { body: { errcode: 0, errmsg: 'ok' } });
  const secret = 'SECabc+/=中文';
  const rig = notifyRig([channel({ kind: 'dingtalk', url: robot.url, secret })]);
  try {
    rig.notifier.condition('fault', true, { zh: '故障: 没有 SIM 卡', en: 'Fault: no SIM' });
    await rig.notifier.deliverDue();
    t.is(robot.requests.length, 1);
    const req = robot.requests[0]!;
    t.is(req.method, 'POST');
    t.regex(String(req.headers['content-type']), /^application\/json/);
    // The query as DingTalk reads it: the owner's access_token untouched, then timestamp and sign.
    const query = new URL(req.url, 'http://x').searchParams;
    t.is(query.get('access_token'), 'TOKEN123');
    t.is(query.get('timestamp'), String(T0), 'milliseconds, the moment of sending');
    t.regex(req.url, /&sign=[A-Za-z0-9%]+$/, 'Base64 + / = arrive URL-encoded');
    const expected = createHmac('sha256', Buffer.from(secret, 'utf8')).update(Buffer.from(`${T0}\n${secret}`, 'utf8')).digest('base64');
    t.is(query.get('sign'), expected);
    // The message as documented: msgtype markdown, markdown.title and markdown.text.
    t.deepEqual(Object.keys(req.json).sort(), ['markdown', 'msgtype']);
    t.is(req.json.msgtype, 'markdown');
    t.is(req.json.markdown.title, `【故障】smsbox · ${BOX.name}`);
    t.regex(req.json.markdown.text, /故障: 没有 SIM 卡/);
    t.true(req.json.markdown.text.includes(`(${BOX.url})`), 'links to the box');
    t.regex(req.json.markdown.text, /时间：2026-12-01 10:00/);
    const [listed] = rig.notifier.list();
    t.like(listed!.last, { ok: true, kind: 'fault', error: null });
    t.like(listed!.last!.answer as object, { status: 200, code: 0, message: 'ok' });
  } finally {
    rig.dispose();
    await robot.close();
  }
});

test('DingTalk: HTTP 200 with an errcode is a failure carrying it, retried later', async (t) => {
  const robot = await fakeRobot('/robot/send?access_token=T', { body: { errcode: 310000, errmsg: 'sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]' } });
  const rig = notifyRig([channel({ kind: 'dingtalk', url: robot.url, secret: 'SECwrong' })]);
  try {
    rig.notifier.event('call', { zh: '13800138000 来电', en: 'call from 13800138000' });
    await rig.notifier.deliverDue();
    const [job] = rig.notifyStore.jobs();
    t.is(job!.status, 'pending');
    t.is(job!.attempts, 1);
    t.is(job!.nextAttemptAt, T0 + 30_000);
    t.regex(job!.lastError!, /^code 310000: sign not match/);
    const [listed] = rig.notifier.list();
    t.like(listed, { pending: 1, failed: 0 });
    t.like(listed!.last, { ok: false, kind: 'call' });
    t.regex(listed!.last!.error!, /310000/);

    // 发送测试 shows the platform's own answer.
    const result = await rig.notifier.test(listed!.id);
    t.like(result, { ok: false, status: 200, code: 310000 });
    t.regex(result!.message, /sign not match/);
    t.like(rig.notifier.list()[0]!.last, { ok: false, kind: 'test' });
    t.is(robot.requests[1]!.json.markdown.title, `【测试消息】smsbox · ${BOX.name}`);
  } finally {
    rig.dispose();
    await robot.close();
  }
});

test('WeCom: msgtype markdown with content, errcode 0 delivered, another errcode a failure', async (t) => {
  const robot = await fakeRobot('/cgi-bin/webhook/send?key=693a91f6-7xxx', { body: { errcode: 0, errmsg: 'ok' } });
  robot.answers.push({ body: { errcode: 93000, errmsg: 'invalid webhook url' } });
  const rig = notifyRig([channel({ kind: 'wecom', url: robot.url })]);
  try {
    rig.notifier.condition('stuck', true, { zh: '已 10 分钟没有发出短信', en: 'nothing sent for 10 minutes' });
    await rig.notifier.deliverDue();
    const req = robot.requests[0]!;
    t.is(req.url, '/cgi-bin/webhook/send?key=693a91f6-7xxx', 'the URL as the owner pasted it: WeCom has no signature');
    t.deepEqual(Object.keys(req.json).sort(), ['markdown', 'msgtype']);
    t.is(req.json.msgtype, 'markdown');
    t.deepEqual(Object.keys(req.json.markdown), ['content']);
    t.regex(req.json.markdown.content, /^### 【发送停滞】smsbox · 小店短信盒\n> <font color="warning">已 10 分钟没有发出短信<\/font>/);
    t.true(req.json.markdown.content.includes(`[打开 ${BOX.name} 状态页](${BOX.url})`));
    t.is(rig.notifyStore.jobs()[0]!.status, 'pending', 'errcode 93000 with HTTP 200 is not delivered');
    t.regex(rig.notifyStore.jobs()[0]!.lastError!, /code 93000: invalid webhook url/);
    rig.clock.advance(30_000);
    await rig.notifier.deliverDue();
    t.is(robot.requests.length, 2);
    t.is(rig.notifyStore.jobs()[0]!.status, 'done');
  } finally {
    rig.dispose();
    await robot.close();
  }
});

test('WeCom: a digest of long replies stays inside the 4096-byte markdown limit and says how many were left out', (t) => {
  const events = Array.from({ length: 20 }, (_, i) => ({ kind: 'reply' as const, at: T0 + i * 1000, zh: `1380013800${i % 10} 回复：${'很长的回复'.repeat(60)}`, en: 'x' }));
  const content = wecomMarkdown(
    { kind: 'reply', about: null, reminder: false, at: T0, since: null, zh: '', en: '', events, more: 480, flaps: 0 },
    { box: BOX, timeZone: 'Asia/Shanghai', now: T0, url: 'http://x/', secret: '', jobId: 1 },
  );
  t.true(Buffer.byteLength(content) <= WECOM_MARKDOWN_MAX_BYTES, `${Buffer.byteLength(content)} bytes`);
  t.regex(content, /顾客回复：500 条/);
  const listed = content.split('\n').filter((l) => l.startsWith('- 10:00')).length;
  t.true(listed >= 1 && listed < 20);
  t.true(content.includes(`…另有 ${500 - listed} 条`));
});

test('Feishu: post message with timestamp and sign in the body, recomputed; code 0 and StatusCode 0 delivered, 19021 a failure', async (t) => {
  const robot = await fakeRobot('/open-apis/bot/v2/hook/5e3d587e-d78e', { body: { code: 0, msg: 'success', data: {}, StatusCode: 0, StatusMessage: 'success' } });
  robot.answers.push({ body: { code: 0, msg: 'success', data: {}, StatusCode: 0, StatusMessage: 'success' } });
  robot.answers.push({ body: { code: 19021, data: {}, msg: 'sign match fail or timestamp is not within one hour from current time' } });
  robot.answers.push({ body: { Extra: null, StatusCode: 0, StatusMessage: 'success' } });
  const secret = 'nIMtb7r3N9pkXyXdtAbx6e';
  const rig = notifyRig([channel({ kind: 'feishu', url: robot.url, secret, events: ['reply', 'daily'] })]);
  try {
    rig.notifier.event('reply', { zh: '13800138000 回复：什么时候发货？', en: 'reply' });
    await rig.notifier.deliverDue();
    const req = robot.requests[0]!;
    const seconds = Math.floor(T0 / 1000);
    t.is(req.json.timestamp, String(seconds), 'seconds, as a string');
    const expected = createHmac('sha256', Buffer.from(`${seconds}\n${secret}`, 'utf8')).update(Buffer.alloc(0)).digest('base64');
    t.is(req.json.sign, expected);
    t.is(req.json.msg_type, 'post');
    const post = req.json.content.post.zh_cn;
    t.is(post.title, `【顾客回复】smsbox · ${BOX.name}`);
    t.true(Array.isArray(post.content) && post.content.every((line: unknown) => Array.isArray(line)));
    t.deepEqual(post.content[0], [{ tag: 'text', text: '13800138000 回复：什么时候发货？' }]);
    t.deepEqual(post.content[post.content.length - 1], [{ tag: 'a', text: `打开 ${BOX.name} 状态页`, href: BOX.url }]);
    t.is(rig.notifyStore.jobs()[0]!.status, 'done');

    rig.notifier.event('daily', { zh: '今日发送 12 条', en: 'sent 12 today' });
    await rig.notifier.deliverDue();
    t.is(rig.notifyStore.jobs()[1]!.status, 'pending');
    t.regex(rig.notifyStore.jobs()[1]!.lastError!, /^code 19021: sign match fail/);
    rig.clock.advance(30_000);
    await rig.notifier.deliverDue();
    t.is(rig.notifyStore.jobs()[1]!.status, 'done', 'an older robot\'s {StatusCode: 0} is success');
    t.is(robot.requests[2]!.json.timestamp, String(seconds + 30), 'a retry is signed afresh');
  } finally {
    rig.dispose();
    await robot.close();
  }
});

test('a robot that answers 200 with something that is not its JSON has not delivered', async (t) => {
  const robot = await fakeRobot('/robot/send?access_token=T', { body: '<html>portal login</html>' });
  const rig = notifyRig([channel({ kind: 'dingtalk', url: robot.url })]);
  try {
    const [listed] = rig.notifier.list();
    const result = await rig.notifier.test(listed!.id);
    t.like(result, { ok: false, status: 200, code: null });
    t.regex(result!.message, /not JSON/);
    t.is(result!.body, '<html>portal login</html>');
    robot.answers.push({ body: { errmsg: 'ok' } });
    t.like(await rig.notifier.test(listed!.id), { ok: false, code: null });
    robot.answers.push({ status: 502, body: { errcode: 0 } });
    t.like(await rig.notifier.test(listed!.id), { ok: false, status: 502 });
  } finally {
    rig.dispose();
    await robot.close();
  }
});

test('our webhook: the documented JSON, the HMAC header recomputed, any 2xx delivered', async (t) => {
  const robot = await fakeRobot('/hooks/smsbox', { status: 204, body: '' });
  const secret = 'shop-secret';
  const rig = notifyRig([channel({ kind: 'webhook', url: robot.url, secret, events: ['fault', 'recovered'] })]);
  try {
    rig.notifier.condition('fault', true, { zh: '故障: 磁盘已满', en: 'Fault: disk full', data: { free_bytes: 1024 } });
    await rig.notifier.deliverDue();
    rig.clock.advance(5 * 60_000);
    rig.notifier.condition('fault', false);
    await rig.notifier.deliverDue();
    t.is(robot.requests.length, 2);
    const [fault, recovered] = robot.requests.map((r) => r.json);
    const req = robot.requests[0]!;
    const ts = String(req.headers['x-smsbox-timestamp']);
    t.is(ts, String(Math.floor(T0 / 1000)));
    t.is(req.headers['x-smsbox-signature'], `sha256=${createHmac('sha256', secret).update(`${ts}\n${req.body}`).digest('hex')}`);
    t.is(webhookSignature(secret, Number(ts), req.body), String(req.headers['x-smsbox-signature']));
    t.like(fault, {
      source: 'smsbox', version: 1, event: 'fault', about: null, reminder: false,
      title: `【故障】smsbox · ${BOX.name}`, text: '故障: 磁盘已满', text_en: 'Fault: disk full',
      at: '2026-12-01T10:00:00+08:00', since: '2026-12-01T10:00:00+08:00', count: 1, flaps: 0, box: BOX,
    });
    t.is(typeof fault.id, 'number');
    t.deepEqual(fault.events, [{ event: 'fault', at: '2026-12-01T10:00:00+08:00', text: '故障: 磁盘已满', text_en: 'Fault: disk full', data: { free_bytes: 1024 } }]);
    t.like(recovered, { event: 'recovered', about: 'fault', since: '2026-12-01T10:00:00+08:00', at: '2026-12-01T10:05:00+08:00' });
    t.regex(recovered.text, /已恢复（持续了 5 分钟）：故障: 磁盘已满/);
    t.true(rig.notifyStore.jobs().every((j) => j.status === 'done'));
  } finally {
    rig.dispose();
    await robot.close();
  }
});

test('a customer\'s text cannot add links, images or mentions to a group robot\'s markdown', async (t) => {
  const wecomRobot = await fakeRobot('/cgi-bin/webhook/send?key=k', { body: { errcode: 0, errmsg: 'ok' } });
  const dingRobot = await fakeRobot('/robot/send?access_token=t', { body: { errcode: 0, errmsg: 'ok' } });
  const feishuRobot = await fakeRobot('/open-apis/bot/v2/hook/h', { body: { code: 0, msg: 'success' } });
  const hostile = '点这里 [领奖](http://evil.example/) ![x](http://evil.example/p.png) <@all> **急**\n# 标题';
  const rig = notifyRig([
    channel({ kind: 'wecom', url: wecomRobot.url, events: ['reply'] }),
    channel({ kind: 'dingtalk', url: dingRobot.url, events: ['reply'] }),
    channel({ kind: 'feishu', url: feishuRobot.url, events: ['reply'] }),
  ]);
  try {
    rig.notifier.event('reply', { zh: `13800138000 回复：${hostile}`, en: 'reply' });
    await rig.notifier.deliverDue();
    for (const markdown of [wecomRobot.requests[0]!.json.markdown.content as string, dingRobot.requests[0]!.json.markdown.text as string]) {
      t.false(markdown.includes('](http://evil'), 'no link or image');
      t.false(markdown.includes('<@all>'), 'no mention');
      t.false(markdown.includes('**急**'));
      t.false(/^# 标题/m.test(markdown), 'no heading');
      t.true(markdown.includes(markdownSafe(hostile)), 'the text is there, in full-width characters');
      t.true(markdown.includes(`](${BOX.url})`), 'our own link stays a link');
    }
    t.is(feishuRobot.requests[0]!.json.content.post.zh_cn.content[0][0].text, `13800138000 回复：${hostile}`, 'Feishu post text is plain: shown as written');
  } finally {
    rig.dispose();
    await Promise.all([wecomRobot.close(), dingRobot.close(), feishuRobot.close()]);
  }
});

test('sms: queued in the box\'s own outbox with the box\'s name and URL, once', async (t) => {
  const rig = notifyRig([channel({ kind: 'sms', to: '+8613800138000' })]);
  try {
    rig.notifier.condition('carrier-blocked', true, { zh: '运营商拒绝发送（可能被判为群发）', en: 'the carrier refuses to send' });
    await rig.notifier.deliverDue();
    const outbox = rig.store.db.prepare(`SELECT to_number, body, status, charge_li FROM outbox`).all() as { to_number: string; body: string; status: string; charge_li: number }[];
    t.is(outbox.length, 1);
    t.like(outbox[0], { to_number: '+8613800138000', status: 'queued', charge_li: 0 });
    t.regex(outbox[0]!.body, /^【小店短信盒】运营商拦截：运营商拒绝发送（可能被判为群发） 12-01 10:00 http:\/\/192\.168\.1\.50:8080\/$/);
    const [job] = rig.notifyStore.jobs();
    t.is(job!.status, 'done');
    rig.restart();
    await rig.notifier.tick();
    t.is((rig.store.db.prepare('SELECT COUNT(*) AS n FROM outbox').get() as { n: number }).n, 1, 'a restart does not queue it again');
    const test = await rig.notifier.test(rig.notifier.list()[0]!.id);
    t.like(test, { ok: true, status: null });
    t.is(typeof test!.messageId, 'number');
    t.regex((rig.store.db.prepare('SELECT body FROM outbox WHERE id = ?').get(test!.messageId) as { body: string }).body, /^【小店短信盒】测试消息：这是一条测试消息/);
  } finally {
    rig.dispose();
  }
});
