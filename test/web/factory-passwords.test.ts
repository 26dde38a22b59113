/**
 * Factory credentials never guard a real SIM (issue 14, item 5): with a real
 * modem the account password `bbbb` answers 0 and the admin password
 * `smsbox` opens only the page that replaces it; on the simulator both keep
 * working for trying the box out.
 */
import test from 'ava';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/config.js';
import { routeLabel } from '../../src/web/metrics.js';
import { basicAuth, startTestBox, tempDir, withBox, type TestBox } from '../helpers/box.js';

/** A device path that is not the simulator: the box counts it as a real modem (it need not open). */
const REAL_DEVICE = '/nonexistent/ttySMSBOX-TEST';

const CONFIG = `[[account]]\nuser = "aaaa"\npassword = "bbbb"\n\n[[account]]\nuser = "shop"\npassword = "shop-secret-1"\n\n[modem]\ndevice = "${REAL_DEVICE}"\n`;

/** A box started from a config file with a real modem, as `smsbox serve --config FILE` runs it. */
async function withRealModemBox(run: (box: TestBox, file: string) => Promise<void>, source = CONFIG): Promise<void> {
  const dir = tempDir();
  const file = join(dir, 'smsbox.toml');
  writeFileSync(file, source);
  const box = await startTestBox({ config: (c) => Object.assign(c, parseConfig(source, file)) });
  try {
    await run(box, file);
  } finally {
    await box.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function post(box: TestBox, path: string, form: Record<string, string>, cookie = '') {
  return fetch(`${box.url}${path}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) },
    body: new URLSearchParams(form).toString(),
  });
}

test('with a real modem the factory account password answers 0 to every message; the pages say why', async (t) => {
  await withRealModemBox(async (box) => {
    t.is((await box.get('/sms?Msg=smsAU&User=aaaa&PWD=bbbb')).body, '0');
    t.is((await box.get('/sms?Msg=smsBalance&User=aaaa&PWD=bbbb')).body, '0');
    t.is((await box.get('/sms?Msg=smsSnd&User=aaaa&PWD=bbbb&Tel=13800138000&Body=hi')).body, '0');
    t.is(box.store.listMessages({ limit: 10 }).length, 0, 'nothing queued');
    // An account whose password was changed works as usual.
    t.is((await box.get('/sms?Msg=smsAU&User=shop&PWD=shop-secret-1')).body, '1');
    t.not((await box.get('/sms?Msg=smsBalance&User=shop&PWD=shop-secret-1')).body, '0');

    for (const path of ['/', '/setup', '/setup/requests']) {
      t.regex((await box.get(path)).body, /出厂密码不能用于真实短信模块，请在配置文件中修改/, `${path}: the request log says why`);
      t.regex((await box.get(`${path}?lang=en`)).body, /the factory password cannot be used with a real modem; change it in the config file/, `${path} in English`);
    }
    const home = (await box.get('/')).body;
    t.regex(home, /id="factory-accounts">账号 a\*\*\* 仍在使用出厂密码/, 'the overview names the account, masked');
    t.regex(home, /id="factory-admin"/, 'and the admin password');
    t.false(home.includes('shop-secret-1'));
  });
});

test('on the simulator the factory passwords keep working, for trying the box out', async (t) => {
  await withBox(async (box) => {
    t.is((await box.get('/sms?Msg=smsAU&User=aaaa&PWD=bbbb')).body, '1');
    t.is((await box.get('/api/accounts', basicAuth('smsbox'))).status, 200);
    const login = await post(box, '/login', { password: 'smsbox', next: '/messages' });
    t.is(login.headers.get('location'), '/messages');
    t.notRegex((await box.get('/')).body, /出厂密码不能用于真实短信模块/);
  });
});

test('with a real modem the factory admin password opens only the page that replaces it; the JSON API refuses it', async (t) => {
  await withRealModemBox(async (box, file) => {
    const basic = await fetch(`${box.url}/api/messages`, { headers: basicAuth('smsbox') });
    t.is(basic.status, 403);
    const refusal = (await basic.json()) as { error: string; message: string; message_en: string };
    t.is(refusal.error, 'factory-password');
    t.regex(refusal.message, /出厂密码/);
    t.regex(refusal.message_en, /factory one/);
    t.is((await fetch(`${box.url}/api/messages`, { headers: basicAuth('wrong') })).status, 401, 'a wrong password is still just wrong');

    const login = await post(box, '/login', { password: 'smsbox', next: '/messages' });
    t.is(login.status, 303);
    t.is(login.headers.get('location'), '/settings/password');
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    for (const path of ['/messages', '/settings', '/inbox', '/optouts', '/charts', '/messages/1']) {
      const page = await fetch(`${box.url}${path}`, { headers: { cookie }, redirect: 'manual' });
      t.is(page.status, 303, path);
      t.is(page.headers.get('location'), '/settings/password', path);
    }
    t.is((await fetch(`${box.url}/api/optouts`, { headers: { cookie } })).status, 403, 'the session does not open the JSON API either');
    const setup = await (await fetch(`${box.url}/setup`, { headers: { cookie } })).text();
    t.false(setup.includes('<code>shop</code>'), 'account names stay hidden as before login');

    const page = await (await fetch(`${box.url}/settings/password`, { headers: { cookie } })).text();
    t.is(routeLabel('/settings/password', false), '/settings/password', 'the page has its own metrics label');
    t.regex(page, /出厂管理密码 smsbox 不能使用/);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page)![1]!;
    t.is((await post(box, '/optouts/add', { number: '13900000001', _csrf: csrf }, cookie)).headers.get('location'), '/settings/password');
    t.false(box.store.isOptedOut('+8613900000001'), 'no other form works');

    // The same settings operation as the settings page: refused again as the factory one, then a new one.
    await post(box, '/settings/admin', { password: 'smsbox', confirm: 'smsbox', _csrf: csrf }, cookie);
    t.regex(await (await fetch(`${box.url}/settings/password`, { headers: { cookie } })).text(), /新密码不能是出厂密码/);
    const saved = await post(box, '/settings/admin', { password: 'shop-admin-2', confirm: 'shop-admin-2', _csrf: csrf }, cookie);
    t.is(saved.status, 303);
    t.is(parseConfig(readFileSync(file, 'utf8'), file).admin.password, 'shop-admin-2', 'written back to the config file');
    t.is((await fetch(`${box.url}/messages`, { headers: { cookie }, redirect: 'manual' })).status, 200, 'now everything opens');
    t.is((await fetch(`${box.url}/api/messages`, { headers: basicAuth('shop-admin-2') })).status, 200);
    t.is((await fetch(`${box.url}/api/messages`, { headers: basicAuth('smsbox') })).status, 401);
  });
});
