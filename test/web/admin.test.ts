/**
 * The status page and admin over HTTP: login, sessions, CSRF, escaping,
 * metrics and settings written back to the config file.
 */
import test from 'ava';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/config.js';
import { scriptNonce } from '../../src/web/http.js';
import { basicAuth, startTestBox, tempDir, withBox, type TestBox } from '../helpers/box.js';

const AUTH = 'User=aaaa&PWD=bbbb';

interface Browser {
  cookie: string;
  csrf: string;
}

async function post(box: TestBox, path: string, form: Record<string, string>, cookie = '', headers: Record<string, string> = {}) {
  return fetch(`${box.url}${path}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}), ...headers },
    body: new URLSearchParams(form).toString(),
  });
}

async function login(box: TestBox, password = 'smsbox'): Promise<Browser> {
  const res = await post(box, '/login', { password, next: '/messages' });
  if (res.status !== 303) throw new Error(`login answered ${res.status}`);
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  const page = await (await fetch(`${box.url}/messages`, { headers: { cookie } })).text();
  const csrf = /name="csrf-token" content="([^"]+)"/.exec(page)![1]!;
  return { cookie, csrf };
}

test('login: the session cookie is HttpOnly, SameSite=Strict and random; admin pages need it; logout ends it', async (t) => {
  await withBox(async (box) => {
    const anonymous = await fetch(`${box.url}/messages`, { redirect: 'manual' });
    t.is(anonymous.status, 303);
    t.is(anonymous.headers.get('location'), '/login?next=%2Fmessages');

    const wrong = await post(box, '/login', { password: 'nope' });
    t.is(wrong.status, 401);
    t.is(wrong.headers.get('set-cookie'), null);

    const ok = await post(box, '/login', { password: 'smsbox', next: '/inbox' });
    t.is(ok.status, 303);
    t.is(ok.headers.get('location'), '/inbox');
    const cookie = ok.headers.get('set-cookie')!;
    t.regex(cookie, /^smsbox_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
    const other = (await post(box, '/login', { password: 'smsbox' })).headers.get('set-cookie')!;
    t.not(cookie.split(';')[0], other.split(';')[0]);

    const session = cookie.split(';')[0]!;
    t.is((await fetch(`${box.url}/messages`, { headers: { cookie: session } })).status, 200);
    // An open redirect through ?next= is refused.
    t.is((await post(box, '/login', { password: 'smsbox', next: '//evil.example/' })).headers.get('location'), '/');

    const page = await (await fetch(`${box.url}/messages`, { headers: { cookie: session } })).text();
    const csrf = /name="csrf-token" content="([^"]+)"/.exec(page)![1]!;
    t.is((await post(box, '/logout', { _csrf: csrf }, session)).status, 303);
    t.is((await fetch(`${box.url}/messages`, { headers: { cookie: session }, redirect: 'manual' })).status, 303);
  });
});

test('login is rate-limited per client, shared with HTTP Basic; a cross-site login form is refused', async (t) => {
  await withBox(async (box) => {
    for (let i = 0; i < 3; i++) t.is((await post(box, '/login', { password: `guess${i}` })).status, 401);
    const locked = await post(box, '/login', { password: 'smsbox' });
    t.is(locked.status, 429, 'the right password does not help during the lock');
    t.regex(await locked.text(), /密码错误次数过多/);
    t.is((await fetch(`${box.url}/api/messages`, { headers: basicAuth('smsbox') })).status, 429);
  }, (c) => {
    c.security.loginFailuresAllowed = 3;
  });
  await withBox(async (box) => {
    t.is((await post(box, '/login', { password: 'smsbox' }, '', { origin: 'http://evil.example' })).status, 403);
  });
});

test('CSRF: forms and JSON changes without the session token are refused; with it they work; Basic auth keeps working', async (t) => {
  await withBox(async (box) => {
    const browser = await login(box);
    const add = (form: Record<string, string>) => post(box, '/optouts/add', form, browser.cookie);
    t.is((await add({ number: '13900000001' })).status, 403);
    t.is((await add({ number: '13900000001', _csrf: 'x'.repeat(32) })).status, 403);
    t.false(box.store.isOptedOut('+8613900000001'));
    t.is((await add({ number: '13900000001', _csrf: browser.csrf })).status, 303);
    t.true(box.store.isOptedOut('+8613900000001'));

    // The session authorises the JSON API: reads freely, changes with X-CSRF-Token.
    const api = (method: string, path: string, headers: Record<string, string> = {}) =>
      fetch(`${box.url}${path}`, { method, headers: { cookie: browser.cookie, 'content-type': 'application/json', ...headers }, body: method === 'GET' ? null : JSON.stringify({ number: '13900000002' }) });
    t.is((await api('GET', '/api/optouts')).status, 200);
    t.is((await api('POST', '/api/optouts')).status, 403);
    t.is((await api('POST', '/api/optouts', { 'x-csrf-token': browser.csrf })).status, 201);
    // Scripts keep using HTTP Basic without any token.
    t.is((await fetch(`${box.url}/api/optouts/13900000002`, { method: 'DELETE', headers: basicAuth('smsbox') })).status, 200);
    // No session, no Basic: 401 as before.
    t.is((await fetch(`${box.url}/api/optouts`)).status, 401);
  });
});

test('customer text is escaped on every page: inbox, messages, opt-outs', async (t) => {
  await withBox(async (box) => {
    const payload = '<script>window.pwned=1</script>"><img src=x onerror=alert(1)>';
    box.store.addInboundPart({ from: '+8613900000003', text: payload, timestamp: new Date().toISOString(), concat: null, pdu: 'AA' }, Date.now(), 60_000);
    t.is((await box.get(`/sms?Msg=smsSnd&${AUTH}&Tel=13800138000&Body=${encodeURIComponent(payload)}`)).body, '1');
    box.store.addOptOut('+8613900000004', 'admin', payload, Date.now());
    const browser = await login(box);
    for (const path of ['/inbox', '/messages', '/messages/1', '/optouts', `/inbox?q=${encodeURIComponent(payload)}`]) {
      const res = await fetch(`${box.url}${path}`, { headers: { cookie: browser.cookie } });
      const html = await res.text();
      // Defence in depth: only the page's own script may run.
      const nonce = scriptNonce(html);
      t.regex(res.headers.get('content-security-policy') ?? '', nonce ? new RegExp(`script-src 'nonce-${nonce.replace(/[+/=]/g, '\\$&')}';`) : /script-src 'none';/, path);
      t.false(html.includes('<script>window.pwned'), path);
      t.false(html.includes('<img src=x'), path);
      t.true(html.includes('&lt;script&gt;window.pwned=1&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(1)&gt;'), path);
    }
  });
});

test('/metrics: Prometheus text with queue depth, counters, signal, modem state and HTTP counts', async (t) => {
  await withBox(async (box) => {
    await box.get(`/sms?Msg=smsSnd&${AUTH}&Tel=13800138000&Body=hi`);
    await box.get('/nothing');
    const res = await box.get('/metrics');
    t.is(res.status, 200);
    t.regex(res.type!, /^text\/plain; version=0\.0\.4/);
    const metrics = res.body;
    t.regex(metrics, /^smsbox_queue_depth\{status="queued"\} 1$/m);
    t.regex(metrics, /^smsbox_messages_total\{status="failed"\} 0$/m);
    t.regex(metrics, /^smsbox_signal_csq\{modem="[^"]+"\} -?\d+$/m);
    t.regex(metrics, /^smsbox_modem_state\{modem="[^"]+",state="starting"\} 1$/m);
    // Not registered yet: no SMS path to speak of.
    t.regex(metrics, /^smsbox_modem_sms_path\{modem="[^"]+",path="unknown"\} 1$/m);
    t.regex(metrics, /^smsbox_modem_sms_path\{modem="[^"]+",path="none"\} 0$/m);
    t.regex(metrics, /^smsbox_modem_rat\{modem="[^"]+",rat="unknown"\} 1$/m);
    t.regex(metrics, /^smsbox_http_requests_total\{method="GET",route="wdgj",code="200"\} 1$/m);
    t.regex(metrics, /^smsbox_http_requests_total\{method="GET",route="other",code="404"\} 1$/m);
    t.regex(metrics, /^smsbox_http_request_duration_seconds_count\{route="wdgj"\} 1$/m);
    // Every sample line is "name{labels} number".
    for (const line of metrics.trim().split('\n').filter((l) => !l.startsWith('#'))) t.regex(line, /^[a-z_]+(\{[^}]*\})? -?[\d.]+$/, line);
  });
});

test('/api/status/stream pushes the snapshot and verdict as Server-Sent Events, without login', async (t) => {
  await withBox(async (box) => {
    const controller = new AbortController();
    const res = await fetch(`${box.url}/api/status/stream`, { signal: controller.signal });
    t.regex(res.headers.get('content-type')!, /^text\/event-stream/);
    const reader = res.body!.getReader();
    let text = '';
    while (!/\n\n(event: status\ndata: .+\n\n)/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    controller.abort();
    const data = JSON.parse(/data: (.+)\n\n/.exec(text)![1]!);
    t.is(data.status.modem.simulated, true);
    t.like(data.verdict, { level: 'wait', text: '短信模块启动中，短信先排队' });
  });
});

test('settings are written back to the config file (comments kept) and applied without a restart; defaults say they need a file', async (t) => {
  const dir = tempDir();
  const file = join(dir, 'smsbox.toml');
  const source = '\uFEFF# 配置\r\n[schedule]\r\nquiet_hours = "21:00-09:00" # 免打扰\r\n\r\n[[account]]\r\nuser = "aaaa"\r\npassword = "bbbb"\r\nbalance = 100\r\n';
  writeFileSync(file, source);
  const box = await startTestBox({ config: (c) => Object.assign(c, parseConfig(source, file)) });
  try {
    const browser = await login(box);
    const save = (path: string, form: Record<string, string>) => post(box, path, { ...form, _csrf: browser.csrf }, browser.cookie);
    t.is((await save('/settings/schedule', { quiet_hours: '22:30-08:00', max_per_minute: '0', max_per_hour: '60', max_per_day: '600' })).status, 303);
    const written = readFileSync(file, 'utf8');
    t.true(written.startsWith('\uFEFF# 配置\r\n'));
    t.regex(written, /quiet_hours = "22:30-08:00" # 免打扰\r\n/);
    t.is(box.status.snapshot().window.quiet_hours, '22:30-08:00', 'applied at once');

    // An invalid value is refused with the validator's message and changes nothing.
    await save('/settings/schedule', { quiet_hours: '25:00', max_per_minute: '0', max_per_hour: '60', max_per_day: '600' });
    t.is(readFileSync(file, 'utf8'), written);
    t.regex(await (await fetch(`${box.url}/settings`, { headers: { cookie: browser.cookie } })).text(), /未保存：\[schedule\] quiet_hours/);

    await save('/settings/account/add', { user: 'shop2', password: 'pw2', balance: '20' });
    t.like(box.store.getAccount('shop2'), { balanceLi: 20_000 });
    t.is((await box.get('/sms?Msg=smsBalance&User=shop2&PWD=pw2')).body, '20.00');
    await save('/settings/topup', { user: 'shop2', amount: '5' });
    t.is((await box.get('/sms?Msg=smsBalance&User=shop2&PWD=pw2')).body, '25.00');

    // A new admin password logs every other browser out and works at once.
    const otherBrowser = await login(box);
    await save('/settings/admin', { password: 'new-admin-pw', confirm: 'new-admin-pw' });
    t.is((await fetch(`${box.url}/settings`, { headers: { cookie: otherBrowser.cookie }, redirect: 'manual' })).status, 303);
    t.is((await fetch(`${box.url}/settings`, { headers: { cookie: browser.cookie }, redirect: 'manual' })).status, 200, 'the browser that changed it stays');
    t.is((await post(box, '/login', { password: 'smsbox' })).status, 401);
    t.is((await fetch(`${box.url}/api/accounts`, { headers: basicAuth('new-admin-pw') })).status, 200);
    t.is(parseConfig(readFileSync(file, 'utf8'), file).admin.password, 'new-admin-pw');
  } finally {
    await box.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
  await withBox(async (box) => {
    const browser = await login(box);
    t.regex(await (await fetch(`${box.url}/settings`, { headers: { cookie: browser.cookie } })).text(), /内置默认设置/);
    const res = await post(box, '/settings/schedule', { quiet_hours: '', max_per_minute: '0', max_per_hour: '0', max_per_day: '0', _csrf: browser.csrf }, browser.cookie);
    t.is(res.status, 303);
    t.is(box.status.snapshot().window.quiet_hours, '21:00-09:00', 'unchanged');
  });
});

test('English switch: ?lang=en renders English and is remembered in a cookie', async (t) => {
  await withBox(async (box) => {
    const res = await fetch(`${box.url}/?lang=en`);
    t.regex(await res.text(), /Overview/);
    const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
    t.is(cookie, 'smsbox_lang=en');
    t.regex(await (await fetch(`${box.url}/setup`, { headers: { cookie } })).text(), /Interface URL/);
    t.regex(await (await fetch(`${box.url}/setup`)).text(), /接口地址/);
  });
});

test('the CSP nonce is the page script: one injected before it is never chosen', (t) => {
  const own = 'QUJDREVGR0hJSktMTU5PUA==';
  t.is(scriptNonce(`<p><script nonce="AAAAAAAAAAAAAAAAAAAAAA==">x</script></p><script nonce="${own}">ok</script></body>`), own);
  t.is(scriptNonce('<p>no script</p>'), null);
});

test('messages page: resend or mark failed an uncertain message; send a failed one again as a new message', async (t) => {
  await withBox(async (box) => {
    for (const body of ['first', 'second', 'third']) t.is((await box.get(`/sms?Msg=smsSnd&${AUTH}&Tel=13800138000&Body=${body}`)).body, '1');
    const [third, second, first] = box.store.listMessages({ limit: 3 }).map((m) => m.id) as [number, number, number];
    const now = Date.now();
    for (const id of [first, second]) box.store.beginAttempt(id, 'hat', now);
    box.store.recoverInterrupted(now, false); // first and second: uncertain
    box.store.finishFailed(third, box.store.beginAttempt(third, 'hat', now)!, now, '+CMS ERROR: 1', 0);
    const browser = await login(box);
    const page = await (await fetch(`${box.url}/messages`, { headers: { cookie: browser.cookie } })).text();
    t.true(page.includes(`action="/messages/${first}/resend"`) && page.includes(`action="/messages/${first}/fail"`));
    t.true(page.includes(`action="/messages/${third}/again"`));
    t.false(page.includes(`action="/messages/${third}/resend"`), 'a failed message is not "resent" in place');

    const act = (id: number, action: string) => post(box, `/messages/${id}/${action}`, { _csrf: browser.csrf }, browser.cookie);
    await act(first, 'resend');
    t.is(box.store.getMessage(first)!.status, 'queued');
    await act(second, 'fail');
    t.is(box.store.getMessage(second)!.status, 'failed');
    t.is((await box.get(`/sms?Msg=smsBalance&${AUTH}`)).body, '99.90', 'both failed messages were refunded');
    await act(second, 'resend');
    t.is(box.store.getMessage(second)!.status, 'failed', 'only uncertain messages are resent in place');

    const again = await act(third, 'again');
    const newest = box.store.listMessages({ limit: 1 })[0]!;
    t.is(again.headers.get('location'), `/messages/${newest.id}`);
    t.like(newest, { to: '+8613800138000', body: 'third', status: 'queued', account: 'aaaa' });
    t.is(box.store.getMessage(third)!.status, 'failed');
    t.is((await box.get(`/sms?Msg=smsBalance&${AUTH}`)).body, '99.80', 'charged like a new send');
  }, (c) => {
    c.sms.duplicateWindowMinutes = 0;
  });
});

test('the opt-out page shows the newest 500 and says how many there are and how to find the rest', async (t) => {
  await withBox(async (box) => {
    const browser = await login(box);
    box.store.transaction(() => {
      for (let i = 0; i < 501; i++) box.store.addOptOut(`+86139${String(i).padStart(8, '0')}`, 'import', '', 1_000_000 + i);
    });
    const page = await (await fetch(`${box.url}/optouts`, { headers: { cookie: browser.cookie } })).text();
    t.is(page.match(/action="\/optouts\/remove"/g)?.length, 500);
    t.regex(page, /共 501 个号码，这里显示最新的 500 个/);
    t.false(page.includes('139 0000 0000') || page.includes('13900000000'), 'the oldest is the one left out');
    // Search still reaches it.
    const found = await (await fetch(`${box.url}/optouts?q=13900000000`, { headers: { cookie: browser.cookie } })).text();
    t.is(found.match(/action="\/optouts\/remove"/g)?.length, 1);
    const english = await (await fetch(`${box.url}/optouts?lang=en`, { headers: { cookie: browser.cookie } })).text();
    t.regex(english, /501 numbers; the newest 500 are shown/);
  });
});
