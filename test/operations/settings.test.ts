import test from 'ava';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig, type Config } from '../../src/config/config.js';
import { withOps, type OpsRig } from './helpers.js';

const SOURCE = '\uFEFF# 配置\r\n[schedule]\r\nquiet_hours = "21:00-09:00" # 免打扰\r\n\r\n[[account]]\r\nuser = "aaaa"\r\npassword = "shop-pw"\r\nbalance = 100\r\n';

/** Operations over a config read from a real file, as `smsbox serve --config FILE` runs. */
async function withConfigFile(run: (rig: OpsRig, file: string) => Promise<void> | void, source = SOURCE, change?: (c: Config) => void): Promise<void> {
  await withOps((rig) => {
    const file = join(rig.dir, 'smsbox.toml');
    writeFileSync(file, source);
    const config = parseConfig(source, file);
    change?.(config);
    rig.setConfig(config);
    return run(rig, file);
  });
}

test('a schedule change is written into the file (comments, BOM and CRLF kept) and applied', async (t) => {
  await withConfigFile((rig, file) => {
    const saved = rig.ops.settings.changeSchedule({ quietHours: ' 22:30-08:00 ', maxPerMinute: '0', maxPerHour: '60', maxPerDay: 600 });
    t.true(saved.ok);
    const written = readFileSync(file, 'utf8');
    t.true(written.startsWith('\uFEFF# 配置\r\n'));
    t.regex(written, /quiet_hours = "22:30-08:00" # 免打扰\r\n/);
    t.is(rig.applied.length, 1);
    t.is(rig.config().schedule.maxPerHour, 60);
  });
});

test('an invalid value is refused with the validator\'s words and the file is not touched', async (t) => {
  await withConfigFile((rig, file) => {
    const refused = rig.ops.settings.changeSchedule({ quietHours: '25:00', maxPerMinute: '0', maxPerHour: '60', maxPerDay: '600' });
    t.like(refused, { ok: false, code: 'invalid-config', httpStatus: 400 });
    if (!refused.ok) {
      t.regex(refused.message, /^未保存：\[schedule\] quiet_hours/);
      t.regex(refused.message_en, /^not saved: /);
    }
    t.like(rig.ops.settings.changeSchedule({ quietHours: '', maxPerMinute: 'many', maxPerHour: '60', maxPerDay: '600' }), { ok: false, code: 'invalid-value' });
    t.is(readFileSync(file, 'utf8'), SOURCE);
    t.is(rig.applied.length, 0);
  });
});

test('opt-out rules: keywords as typed (commas of either width, lines), footer and confirmation', async (t) => {
  await withConfigFile((rig) => {
    t.true(rig.ops.settings.changeOptOutRules({ keywords: 'T, TD，退订\n取消', footer: '回T退订', confirmation: '' }).ok);
    t.deepEqual(rig.config().optout.keywords, ['T', 'TD', '退订', '取消']);
    t.is(rig.config().optout.footer, '回T退订');
  });
});

test('the admin password: at least 6 characters, typed twice the same; never the factory one with a real modem', async (t) => {
  await withConfigFile((rig) => {
    t.like(rig.ops.settings.changeAdminPassword({ password: 'short', confirm: 'short' }), { ok: false, code: 'invalid-value' });
    t.like(rig.ops.settings.changeAdminPassword({ password: 'long-enough', confirm: 'long-enougH' }), { ok: false, code: 'invalid-value' });
    t.true(rig.ops.settings.changeAdminPassword({ password: 'smsbox', confirm: 'smsbox' }).ok, 'the simulator may keep the factory password');
    t.true(rig.ops.settings.changeAdminPassword({ password: 'long-enough', confirm: 'long-enough' }).ok);
    t.is(rig.config().admin.password, 'long-enough');
  });
  await withConfigFile((rig, file) => {
    const before = readFileSync(file, 'utf8');
    t.like(rig.ops.settings.changeAdminPassword({ password: 'smsbox', confirm: 'smsbox' }), { ok: false, code: 'factory-password' });
    t.like(rig.ops.settings.changeAccountPassword({ user: 'aaaa', password: 'bbbb' }), { ok: false, code: 'factory-password' });
    t.like(rig.ops.settings.addAccount({ user: 'new', password: 'bbbb' }), { ok: false, code: 'factory-password' });
    t.is(readFileSync(file, 'utf8'), before);
    t.true(rig.ops.settings.changeAdminPassword({ password: 'shop-admin-pw', confirm: 'shop-admin-pw' }).ok);
    t.is(parseConfig(readFileSync(file, 'utf8'), file).admin.password, 'shop-admin-pw');
  }, `${SOURCE}[modem]\r\ndevice = "/dev/serial0"\r\n`);
});

test('accounts: added with a balance and logging in at once; passwords changed; mistakes explained', async (t) => {
  await withConfigFile(async (rig) => {
    t.true(rig.ops.settings.addAccount({ user: ' shop2 ', password: 'pw2', balance: '20', ignoreQuietHours: true }).ok);
    t.like(rig.store.getAccount('shop2'), { balanceLi: 20_000, ignoreQuietHours: true });
    t.like(rig.ops.settings.addAccount({ user: 'shop2', password: 'x' }), { ok: false, code: 'invalid-value' });
    t.like(rig.ops.settings.addAccount({ user: 'shop3', password: '' }), { ok: false, code: 'invalid-value' });
    t.like(rig.ops.settings.addAccount({ user: 'shop3', password: 'x', balance: 'lots' }), { ok: false, code: 'invalid-value' });
    t.true(rig.ops.settings.changeAccountPassword({ user: 'shop2', password: 'pw3' }).ok);
    t.is(rig.config().accounts.find((a) => a.user === 'shop2')!.password, 'pw3');
    t.like(rig.ops.settings.changeAccountPassword({ user: 'ghost', password: 'x' }), { ok: false, code: 'invalid-value' });
  });
});

test('a box on the built-in defaults has no file to write: every change is refused, nothing applied', async (t) => {
  await withOps(({ ops, applied }) => {
    t.false(ops.settings.writable);
    const refused = ops.settings.changeSchedule({ quietHours: '', maxPerMinute: '0', maxPerHour: '0', maxPerDay: '0' });
    t.like(refused, { ok: false, code: 'no-config-file' });
    if (!refused.ok) t.regex(refused.message, /smsbox serve --config/);
    t.is(applied.length, 0);
  });
});
