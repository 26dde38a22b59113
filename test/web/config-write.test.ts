import test from 'ava';
import fc from 'fast-check';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, parseConfig } from '../../src/config/config.js';
import { editConfigText, saveConfigEdits } from '../../src/config/write.js';

const OWNER_FILE = [
  '\uFEFF# 短信网关配置 / smsbox config',
  '[admin]',
  'password = "old-secret"   # 管理密码，请修改',
  '',
  '[schedule]',
  '# 免打扰时段',
  'quiet_hours = "21:00-09:00"',
  'max_per_hour = 180 # 每小时',
  '',
  '[optout]',
  'keywords = [',
  '  "T",   # 英文',
  '  "退订",',
  ']',
  'footer = ""',
  '',
  '[[account]]',
  'user = "aaaa"',
  'password = "bbbb"',
  'balance = 100',
  '',
  '[[account]]',
  'user = "shop2"',
  'password = "pw2" # 第二个账号',
  '',
].join('\r\n');

const commentLines = (text: string) => text.split(/\r\n/).filter((l) => /#/.test(l)).map((l) => l.slice(l.indexOf('#')));

test('editing values keeps the BOM, CRLF and every comment; only the edited values change', (t) => {
  const next = editConfigText(OWNER_FILE, [
    { section: 'schedule', key: 'quiet_hours', value: '22:00-08:00' },
    { section: 'schedule', key: 'max_per_hour', value: 60 },
    { section: 'admin', key: 'password', value: '新的"密码"\\' },
    { section: 'optout', key: 'keywords', value: ['T', '退订', 'TD'] },
    { section: 'account', key: 'password', value: 'new2', index: 1 },
  ]);
  t.true(next.startsWith('\uFEFF#'));
  t.false(/[^\r]\n/.test(next), 'no bare LF');
  const config = parseConfig(next, 'smsbox.toml');
  t.is(config.schedule.quietHoursText, '22:00-08:00');
  t.is(config.schedule.maxPerHour, 60);
  t.is(config.admin.password, '新的"密码"\\');
  t.deepEqual(config.optout.keywords, ['T', '退订', 'TD']);
  t.is(config.accounts[0]!.password, 'bbbb');
  t.is(config.accounts[1]!.password, 'new2');
  // Comments after replaced values stay; the multi-line array's inner comment goes with the array it annotated.
  for (const comment of commentLines(OWNER_FILE).filter((c) => c !== '# 英文')) t.true(next.includes(comment), comment);
  t.is(next.split('\r\n').length, OWNER_FILE.split('\r\n').length - 3, 'the 4-line array became one line; nothing else moved');
});

test('a key missing from its section is added there; a missing section is appended; accounts are appended', (t) => {
  const next = editConfigText(OWNER_FILE, [
    { section: 'schedule', key: 'max_per_day', value: 500 },
    { section: 'security', key: 'login_lock_minutes', value: 9 },
    { addAccount: { user: 'new', password: 'p w', balance: '12.5', ignoreQuietHours: true } },
  ]);
  const config = parseConfig(next, 'x.toml');
  t.is(config.schedule.maxPerDay, 500);
  t.is(config.schedule.maxPerHour, 180);
  t.is(config.security.loginLockMinutes, 9);
  t.like(config.accounts[2], { user: 'new', password: 'p w', balanceLi: 12_500, ignoreQuietHours: true });
  t.true(next.indexOf('max_per_day') < next.indexOf('[optout]'), 'inside [schedule]');
});

test('property: any text written as a value reads back exactly, and the rest of the file is unchanged', (t) => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 30 }), fc.string({ unit: 'binary', minLength: 1, maxLength: 60 }).filter((s) => s.trim() !== ''), (footer, password) => {
      const next = editConfigText(OWNER_FILE, [
        { section: 'optout', key: 'footer', value: footer.slice(0, 70) },
        { section: 'admin', key: 'password', value: password },
      ]);
      const config = parseConfig(next, 'x.toml');
      return config.optout.footer === footer.slice(0, 70) && config.admin.password === password
        && next.split('\r\n').length === OWNER_FILE.split('\r\n').length && next.includes('# 管理密码，请修改');
    }),
    { numRuns: 300 },
  );
  t.pass();
});

test('saveConfigEdits validates before writing: a bad value leaves the file untouched; a good one replaces it atomically', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'smsbox-write-'));
  try {
    const file = join(dir, 'smsbox.toml');
    writeFileSync(file, OWNER_FILE);
    const error = t.throws(() => saveConfigEdits(file, [{ section: 'schedule', key: 'quiet_hours', value: '25:00-9' }]), { instanceOf: ConfigError });
    t.regex(error!.zh, /quiet_hours/);
    t.is(readFileSync(file, 'utf8'), OWNER_FILE);
    const config = saveConfigEdits(file, [{ section: 'schedule', key: 'quiet_hours', value: '' }]);
    t.is(config.schedule.quietHours, null);
    t.is(config.file, file);
    t.regex(readFileSync(file, 'utf8'), /quiet_hours = ""/);
    t.deepEqual(readdirSync(dir), ['smsbox.toml'], 'no temp file left behind');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a save keeps the file mode: a config with passwords readable by its owner only stays that way', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'smsbox-mode-'));
  try {
    const file = join(dir, 'smsbox.toml');
    for (const mode of [0o600, 0o640]) {
      writeFileSync(file, OWNER_FILE);
      chmodSync(file, mode);
      saveConfigEdits(file, [{ section: 'schedule', key: 'max_per_hour', value: 100 }]);
      t.is(statSync(file).mode & 0o777, mode);
      t.regex(readFileSync(file, 'utf8'), /max_per_hour = 100/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
