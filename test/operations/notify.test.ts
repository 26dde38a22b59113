/**
 * The notification channels as the settings page and the JSON API use them
 * (issue 18 item 5): added to and removed from the owner's config file (its
 * comments, BOM and CRLF kept; validated before writing), tested against a
 * local server playing the platform, listed with their last delivery.
 */
import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/config.js';
import { editConfigText } from '../../src/config/write.js';
import { DEFAULT_NOTIFY_EVENTS } from '../../src/notify/kinds.js';
import { channelId } from '../../src/notify/notifier.js';
import { fakeRobot } from '../helpers/robots.js';
import { withOps, type OpsRig } from './helpers.js';

const SOURCE = [
  '\uFEFF# 短信网关配置',
  '[schedule]',
  'quiet_hours = "21:00-09:00" # 免打扰',
  '',
  '# 钉钉群',
  '[[notify]]',
  'kind = "dingtalk"',
  '# 群机器人地址',
  'url = "https://oapi.dingtalk.com/robot/send?access_token=AAA"',
  'events = [',
  '  "fault",   # 故障',
  '  "daily",',
  ']',
  '',
  '# 店主手机',
  '[[notify]]',
  'kind = "sms"',
  'to = "13800138000"',
  '',
  '# 以下是示例 / examples:',
  '# [[notify]]',
  '# kind = "wecom"',
  '',
].join('\r\n');

async function withFile(run: (rig: OpsRig, file: string) => Promise<void> | void, source = SOURCE): Promise<void> {
  await withOps((rig) => {
    const file = join(rig.dir, 'smsbox.toml');
    writeFileSync(file, source);
    rig.setConfig(parseConfig(source, file));
    return run(rig, file);
  });
}

test('editConfigText: removing a [[notify]] block takes its header, keys, values over lines and comments between them; the rest stays', (t) => {
  const first = editConfigText(SOURCE, [{ removeNotify: 0 }]);
  t.is(first, SOURCE.replace('[[notify]]\r\nkind = "dingtalk"\r\n# 群机器人地址\r\nurl = "https://oapi.dingtalk.com/robot/send?access_token=AAA"\r\nevents = [\r\n  "fault",   # 故障\r\n  "daily",\r\n]\r\n', ''));
  t.deepEqual(parseConfig(first, 'x.toml').notify.map((c) => c.kind), ['sms']);
  const second = editConfigText(SOURCE, [{ removeNotify: 1 }]);
  t.true(second.includes('# 店主手机\r\n\r\n# 以下是示例 / examples:\r\n# [[notify]]\r\n# kind = "wecom"\r\n'), 'the commented example after the block stays');
  t.deepEqual(parseConfig(second, 'x.toml').notify.map((c) => c.kind), ['dingtalk']);
  t.throws(() => editConfigText(SOURCE, [{ removeNotify: 2 }]), { message: /no \[\[notify\]\] number 3/ });
  // A block that opens the file keeps the file's BOM.
  const bomFirst = '\uFEFF[[notify]]\nkind = "webhook"\nurl = "http://a/"\n\n[schedule]\nquiet_hours = ""\n';
  t.is(editConfigText(bomFirst, [{ removeNotify: 0 }]), '\uFEFF\n[schedule]\nquiet_hours = ""\n');
});

test('editConfigText: adding a [[notify]] block appends it with the file\'s line ends, values as TOML strings', (t) => {
  const next = editConfigText(SOURCE, [{ addNotify: { kind: 'feishu', url: 'https://open.feishu.cn/open-apis/bot/v2/hook/x"y', secret: 'S\\1', events: ['fault', 'recovered'] } }]);
  t.true(next.startsWith(SOURCE));
  t.true(next.endsWith('\r\n[[notify]]\r\nkind = "feishu"\r\nurl = "https://open.feishu.cn/open-apis/bot/v2/hook/x\\"y"\r\nsecret = "S\\\\1"\r\nevents = ["fault", "recovered"]\r\n'));
  const added = parseConfig(next, 'x.toml').notify[2]!;
  t.like(added, { kind: 'feishu', url: 'https://open.feishu.cn/open-apis/bot/v2/hook/x"y', secret: 'S\\1', events: ['fault', 'recovered'] });
});

test('add: a channel written to the file and in force at once; the default events when none are given', async (t) => {
  await withFile(async (rig, file) => {
    const added = rig.ops.notify.add({ kind: 'wecom', url: ' https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K1 ', events: null });
    t.true(added.ok);
    const written = readFileSync(file, 'utf8');
    t.true(written.startsWith(SOURCE), 'the owner\'s text, comments and examples untouched');
    t.regex(written, /\r\n\[\[notify\]\]\r\nkind = "wecom"\r\nurl = "https:\/\/qyapi\.weixin\.qq\.com\/cgi-bin\/webhook\/send\?key=K1"\r\nevents = \[/);
    const channels = rig.config().notify;
    t.is(channels.length, 3);
    t.deepEqual(channels[2]!.events, [...DEFAULT_NOTIFY_EVENTS]);
    if (added.ok) t.is(added.value.id, channelId(channels[2]!));
    t.is(rig.ops.notify.list().length, 3, 'listed at once');
    t.true(rig.eventKinds().includes('notify-added'));

    const sms = rig.ops.notify.add({ kind: 'sms', to: '139 0013 9000', url: 'ignored for sms', events: ['reply', 'optout'] });
    t.true(sms.ok);
    t.like(rig.config().notify[3], { kind: 'sms', to: '+8613900139000', url: '', events: ['reply', 'optout'] });
  });
});

test('add: mistakes are refused with the parser\'s words and the file is not touched', async (t) => {
  await withFile(async (rig, file) => {
    t.like(rig.ops.notify.add({ kind: 'telegram', url: 'https://x/' }), { ok: false, code: 'invalid-value', httpStatus: 400 });
    t.like(rig.ops.notify.add({ kind: 'webhook', url: 'https://x/', events: ['fault', 'lunch'] }), { ok: false, code: 'invalid-value' });
    t.like(rig.ops.notify.add({ kind: 'webhook', url: 'https://x/', events: [] }), { ok: false, code: 'invalid-value' });
    const noUrl = rig.ops.notify.add({ kind: 'dingtalk', url: '' });
    t.like(noUrl, { ok: false, code: 'invalid-config' });
    if (!noUrl.ok) t.regex(noUrl.message, /^未保存：.*缺少 url/);
    t.like(rig.ops.notify.add({ kind: 'wecom', url: 'https://qyapi.weixin.qq.com/x', secret: 'no-signing' }), { ok: false, code: 'invalid-config' });
    t.like(rig.ops.notify.add({ kind: 'dingtalk', url: 'https://oapi.dingtalk.com/robot/send?access_token=AAA' }), { ok: false, code: 'invalid-config' }, 'the same channel twice');
    t.like(rig.ops.notify.add({ kind: 'sms', to: '12345' }), { ok: false, code: 'invalid-config' });
    t.is(readFileSync(file, 'utf8'), SOURCE);
    t.is(rig.applied.length, 0);
  });
});

test('remove: by the id the listing gives; its block leaves the file; an unknown id is 404', async (t) => {
  await withFile(async (rig, file) => {
    const [dingtalk] = rig.ops.notify.list();
    const removed = rig.ops.notify.remove(dingtalk!.id);
    t.true(removed.ok);
    t.deepEqual(rig.config().notify.map((c) => c.kind), ['sms']);
    const written = readFileSync(file, 'utf8');
    t.false(written.includes('dingtalk'));
    t.true(written.includes('# 以下是示例 / examples:'));
    t.like(rig.ops.notify.remove(dingtalk!.id), { ok: false, code: 'no-channel', httpStatus: 404 });
    t.true(rig.eventKinds().includes('notify-removed'));
  });
});

test('a box on the built-in defaults has no file: channels cannot be added there', async (t) => {
  await withOps((rig) => {
    t.like(rig.ops.notify.add({ kind: 'webhook', url: 'https://x/' }), { ok: false, code: 'no-config-file', httpStatus: 409 });
  });
});

test('发送测试: the platform\'s own answer comes back (DingTalk\'s errcode and errmsg), and is the channel\'s last delivery', async (t) => {
  const robot = await fakeRobot('/robot/send?access_token=T', { body: { errcode: 310000, errmsg: 'sign not match' } });
  try {
    await withFile(async (rig) => {
      t.true(rig.ops.notify.add({ kind: 'dingtalk', url: robot.url, secret: 'SECxyz', events: ['fault'] }).ok);
      const id = rig.ops.notify.list()[2]!.id;
      const failed = await rig.ops.notify.test(id);
      t.like(failed, { ok: true, value: { ok: false, status: 200, code: 310000, message: 'sign not match' } });
      t.is(robot.requests.length, 1);
      t.regex(robot.requests[0]!.json.markdown.title, /测试消息/);

      robot.answers.push({ body: { errcode: 0, errmsg: 'ok' } });
      t.like(await rig.ops.notify.test(id), { ok: true, value: { ok: true, code: 0, message: 'ok' } });
      t.like(rig.ops.notify.list()[2]!.last, { ok: true, kind: 'test', error: null });
      const json = rig.ops.notify.apiJson().channels[2] as { last: { at: string } };
      t.regex(json.last.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+08:00$/, 'times in the box\'s zone');
      t.like(await rig.ops.notify.test('0000000000000000'), { ok: false, code: 'no-channel', httpStatus: 404 });
      t.deepEqual(rig.eventKinds().filter((k) => k === 'notify-test').length, 2);
    });
  } finally {
    await robot.close();
  }
});
