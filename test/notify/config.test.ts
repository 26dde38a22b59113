import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../src/paths.js';
import { ConfigError, defaultConfig, parseConfig } from '../../src/config/config.js';
import { DEFAULT_NOTIFY_EVENTS, NOTIFY_EVENT_KINDS } from '../../src/notify/kinds.js';

const parseError = (source: string): ConfigError => {
  try {
    parseConfig(source, 'smsbox.toml');
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
};

test('no [[notify]] block: no channels', (t) => {
  t.deepEqual(defaultConfig().notify, []);
  t.deepEqual(parseConfig('[http]\nport = 8080\n', 'x.toml').notify, []);
});

test('the event names of issue 18, and the default: everything but reply and optout', (t) => {
  t.deepEqual([...NOTIFY_EVENT_KINDS], ['fault', 'recovered', 'stuck', 'low-balance', 'carrier-blocked', 'call', 'reply', 'optout', 'daily', 'config-error', 'selftest']);
  t.deepEqual([...DEFAULT_NOTIFY_EVENTS], ['fault', 'recovered', 'stuck', 'low-balance', 'carrier-blocked', 'call', 'daily', 'config-error', 'selftest']);
});

test('several channels of every kind, with url, to, secret and events', (t) => {
  const c = parseConfig(
    [
      '[[notify]]', 'kind = "wecom"', 'url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc"', '',
      '[[notify]]', 'kind = "dingtalk"', 'url = "https://oapi.dingtalk.com/robot/send?access_token=t"', 'secret = "SECxyz"', 'events = ["fault", "recovered", "fault"]', '',
      '[[notify]]', 'kind = "feishu"', 'url = "https://open.feishu.cn/open-apis/bot/v2/hook/h"', 'secret = "s"', '',
      '[[notify]]', 'kind = "webhook"', 'url = "http://192.168.1.9:9000/hook"', 'events = ["reply", "optout"]', '',
      '[[notify]]', 'kind = "sms"', 'to = "138 0013 8000"', 'events = ["daily"]', '',
    ].join('\n'),
    'x.toml',
  );
  t.is(c.notify.length, 5);
  t.deepEqual(c.notify[0], { kind: 'wecom', url: 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc', to: '', secret: '', events: [...DEFAULT_NOTIFY_EVENTS] });
  t.deepEqual(c.notify[1]!.events, ['fault', 'recovered']);
  t.is(c.notify[1]!.secret, 'SECxyz');
  t.deepEqual(c.notify[3]!.events, ['reply', 'optout']);
  t.like(c.notify[4], { kind: 'sms', url: '', to: '+8613800138000', events: ['daily'] });
});

test('mistakes point at the line of the right [[notify]] block, in Chinese and English', (t) => {
  const base = '[[notify]]\nkind = "wecom"\nurl = "https://a/"\n\n';
  const badEvent = parseError(`${base}[[notify]]\nkind = "dingtalk"\nurl = "https://b/"\nevents = ["fault", "falut"]\n`);
  t.is(badEvent.line, 8);
  t.regex(badEvent.zh, /\[notify\] events 中没有 "falut" 这个事件/);
  t.regex(badEvent.en, /has no event "falut"; known: fault, recovered/);

  const badKind = parseError(`${base}[[notify]]\nkind = "slack"\nurl = "https://b/"\n`);
  t.is(badKind.line, 6);
  t.regex(badKind.en, /kind must be one of "wecom", "dingtalk", "feishu", "webhook", "sms"/);

  const noKind = parseError(`${base}[[notify]]\nurl = "https://b/"\n`);
  t.is(noKind.line, 5);
  t.regex(noKind.zh, /第 2 个 \[\[notify\]\] 缺少 kind/);

  const noUrl = parseError('[[notify]]\nkind = "feishu"\nsecret = "s"\n');
  t.is(noUrl.line, 1);
  t.regex(noUrl.en, /\(feishu\) has no url/);

  t.regex(parseError('[[notify]]\nkind = "webhook"\nurl = "ftp://x/"\n').en, /url must be an http:\/\/ or https:\/\/ URL/);
  t.regex(parseError('[[notify]]\nkind = "webhook"\nurl = ""\n').zh, /url 不能为空/);
  t.is(parseError('[[notify]]\nkind = "wecom"\nurl = "https://a/"\nevents = []\n').line, 4);
});

test('sms takes to and nothing else; a mobile is required', (t) => {
  const noTo = parseError('[[notify]]\nkind = "sms"\n');
  t.regex(noTo.zh, /缺少 to，请填写店主手机号/);
  const withUrl = parseError('[[notify]]\nkind = "sms"\nto = "13800138000"\nurl = "https://a/"\n');
  t.is(withUrl.line, 4);
  t.regex(withUrl.en, /takes the owner's mobile in to, not a url/);
  t.regex(parseError('[[notify]]\nkind = "sms"\nto = "10086"\n').en, /to must be a mobile number/);
  t.is(parseError('[[notify]]\nkind = "dingtalk"\nurl = "https://a/"\nto = "13800138000"\n').line, 4);
});

test('a secret only where the platform checks one; the same channel twice is refused', (t) => {
  const wecom = parseError('[[notify]]\nkind = "wecom"\nurl = "https://a/"\nsecret = "x"\n');
  t.is(wecom.line, 4);
  t.regex(wecom.zh, /企业微信群机器人没有签名/);
  t.regex(parseError('[[notify]]\nkind = "sms"\nto = "13800138000"\nsecret = "x"\n').en, /sms channels take no secret/);
  t.notThrows(() => parseConfig('[[notify]]\nkind = "webhook"\nurl = "https://a/"\nsecret = "x"\n', 'x.toml'));

  const twice = parseError('[[notify]]\nkind = "wecom"\nurl = "https://a/"\n[[notify]]\nkind = "wecom"\nurl = "https://a/"\n');
  t.is(twice.line, 6);
  t.regex(twice.en, /listed twice/);
  // The same URL under two kinds is two channels (two different JSON shapes).
  t.notThrows(() => parseConfig('[[notify]]\nkind = "wecom"\nurl = "https://a/"\n[[notify]]\nkind = "webhook"\nurl = "https://a/"\n', 'x.toml'));
  t.regex(parseError('[[notify]]\nkind = "wecom"\nurl = "https://a/"\ncolour = "red"\n').en, /\[notify\] has no key "colour"; known: kind, url, to, secret, events/);
  t.regex(parseError('[notify]\nkind = "wecom"\n').zh, /\[\[notify\]\]/);
});

test('the [[notify]] examples of the shipped config file and of the README are valid when used', (t) => {
  const shipped = readFileSync(join(packageRoot, 'image', 'smsbox.toml'), 'utf8');
  const commented = shipped.slice(shipped.indexOf('# [[notify]]'));
  const uncommented = commented.split('\n').map((line) => (line.startsWith('# ') ? line.slice(2) : '')).join('\n');
  const fromImage = parseConfig(uncommented, 'smsbox.toml').notify;
  t.deepEqual(fromImage.map((c) => c.kind), ['dingtalk', 'wecom', 'feishu', 'sms']);
  t.deepEqual(parseConfig(shipped, 'smsbox.toml').notify, [], 'commented out, the shipped file has no channel');

  const readme = readFileSync(join(packageRoot, 'README.md'), 'utf8');
  const example = /```toml\n(\[\[notify\]\][\s\S]*?)```/.exec(readme)?.[1];
  t.truthy(example);
  const fromReadme = parseConfig(example!, 'README.md').notify;
  t.deepEqual(fromReadme.map((c) => c.kind), ['dingtalk', 'wecom', 'feishu', 'webhook', 'sms']);
  for (const kind of NOTIFY_EVENT_KINDS) t.true(readme.includes(`\`${kind}\``), `README names ${kind}`);
});
