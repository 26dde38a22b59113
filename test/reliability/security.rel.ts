/**
 * Security: admin endpoints refuse without the admin password, guessing is
 * slowed by the per-address lock-out (admin and WDGJ alike), and no password
 * or PWD value reaches the process log or the events table, whatever the
 * request looked like.
 */
import test from 'ava';
import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { startTestBox } from '../helpers/box.js';
import { basicAuth, freePort, linesLeaking, processLogs, spawnBox, tempDir, writeBoxConfig } from './lib.js';

const ACCOUNT_PASSWORD = 'Pw7f3k2sekrit';
const ADMIN_PASSWORD = 'Adm1nQx9zz';
const SECRETS = [ACCOUNT_PASSWORD, ADMIN_PASSWORD];

/** Every admin route, one request each (ids and numbers that exist or not: auth comes first). */
const ADMIN_ROUTES: [string, string][] = [
  ['GET', '/api/messages'],
  ['GET', '/api/messages/1'],
  ['POST', '/api/messages/1/resend'],
  ['POST', '/api/messages/1/fail'],
  ['GET', '/api/accounts'],
  ['GET', '/api/accounts/aaaa/ledger'],
  ['POST', '/api/accounts/aaaa/topup'],
  ['GET', '/api/events'],
  ['GET', '/api/inbox'],
  ['GET', '/api/optouts'],
  ['POST', '/api/optouts'],
  ['DELETE', '/api/optouts/13800138000'],
  ['GET', '/api/optouts.csv'],
  ['POST', '/api/optouts/import'],
  ['POST', '/api/inbox/1/answer'],
  ['GET', '/api/notify'],
  ['POST', '/api/notify/0123456789abcdef/test'],
];

test('admin endpoints refuse without auth; guessing locks the address out; no secret in any log', async (t) => {
  const dir = tempDir('smsbox-security-');
  const port = await freePort();
  const configFile = writeBoxConfig({ port, dir, password: ACCOUNT_PASSWORD, adminPassword: ADMIN_PASSWORD, extra: ['[security]\nlogin_failures_allowed = 5\nlogin_lock_minutes = 5'] });
  const auth = `User=aaaa&PWD=${ACCOUNT_PASSWORD}`;
  const box = await spawnBox(configFile, port, auth);
  const base = box.base;
  const call = async (method: string, path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}${path}`, { method, headers: { 'content-type': 'application/json', ...headers }, ...(method === 'POST' ? { body: '{}' } : {}) });
    await res.arrayBuffer();
    return res.status;
  };
  try {
    // The secrets go in every way a client may send them: query, form body, Basic header, wrong and right.
    t.is(await (await fetch(`${base}/sms?Msg=smsSnd&${auth}&Tel=13800138000&Body=hello`)).text(), '1');
    const balance = await (await fetch(`${base}/sms?Msg=smsBalance&${auth}`)).text();
    t.not(balance, '0');
    t.is(await (await fetch(`${base}/sms`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `Msg=smsBalance&User=aaaa&PWD=${ACCOUNT_PASSWORD}` })).text(), balance, 'form POST login');
    t.is(await (await fetch(`${base}/sms?Msg=smsAU&User=aaaa&PWD=${ACCOUNT_PASSWORD}x`)).text(), '0', 'a wrong password (containing the right one) is refused');
    t.is(await (await fetch(`${base}/sms?Msg=smsAU&User=bbbb&PWD=${ADMIN_PASSWORD}`)).text(), '0', 'the admin password is no account password');

    for (const [method, path] of ADMIN_ROUTES) t.is(await call(method, path), 401, `${method} ${path} without auth`);
    // Wrong passwords count towards the lock-out (5 here), so only a few routes with one.
    for (const [method, path] of ADMIN_ROUTES.slice(0, 3)) t.is(await call(method, path, basicAuth(ACCOUNT_PASSWORD)), 401, `${method} ${path} with the account password`);
    t.is(await call('GET', '/api/messages', basicAuth(ADMIN_PASSWORD, 'root')), 401, 'the user name must be admin');
    t.is(await call('GET', '/api/messages', basicAuth(ADMIN_PASSWORD)), 200, 'the admin password opens them');
    t.is(await call('GET', '/api/events', basicAuth(ADMIN_PASSWORD)), 200);

    // Brute force on the admin login (5 allowed here): 401 until the lock, then 429 even for the right password.
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push(await call('GET', '/api/accounts', basicAuth(`guess${i}${ADMIN_PASSWORD}`)));
    t.deepEqual(statuses, [401, 401, 401, 401, 401]);
    t.is(await call('GET', '/api/accounts', basicAuth(ADMIN_PASSWORD)), 429, 'locked out: the right password gains nothing now');
    t.is(await call('GET', '/api/accounts', basicAuth(`guess${ADMIN_PASSWORD}`)), 429);

    // Brute force on the WDGJ login: after 5 failures, even the right password answers 0 from this address.
    for (let i = 0; i < 5; i++) t.is(await (await fetch(`${base}/sms?Msg=smsAU&User=aaaa&PWD=guess${i}`)).text(), '0');
    t.is(await (await fetch(`${base}/sms?Msg=smsAU&${auth}`)).text(), '0', 'WDGJ login locked for this address');
    t.is(await (await fetch(`${base}/sms?Msg=smsSnd&${auth}&Tel=13800138000&Body=locked`)).text(), '0', 'no send while locked');
  } finally {
    await box.kill('SIGTERM');
  }
  const logLines = processLogs.slice();
  t.true(logLines.length > 0, 'the box did log');
  t.deepEqual(linesLeaking(logLines, SECRETS), [], 'no password in the process log');
  const db = new Database(join(dir, 'data', 'smsbox.db'), { readonly: true });
  const events = db.prepare('SELECT kind, message_zh, message_en, data FROM events').all() as Record<string, string | null>[];
  db.close();
  t.true(events.some((e) => e['kind'] === 'login-locked'), 'the WDGJ lock-out is told to the shop');
  t.true(events.some((e) => e['kind'] === 'admin-login-locked'), 'the admin lock-out is told to the shop');
  t.deepEqual(linesLeaking(events.map((e) => JSON.stringify(e)), SECRETS), [], 'no password in the events table');
  rmSync(dir, { recursive: true, force: true });
});

test('debug-level log of the box in process: no PWD value, even in malformed and refused requests', async (t) => {
  const box = await startTestBox({ config: (c) => (c.accounts = [{ ...c.accounts[0]!, user: 'aaaa', password: ACCOUNT_PASSWORD }]) });
  try {
    const requests = [
      `/sms?Msg=smsAU&User=aaaa&PWD=${ACCOUNT_PASSWORD}`,
      `/sms?Msg=smsAU&User=aaaa&pwd=${ACCOUNT_PASSWORD}`,
      `/sms?Msg=smsAU&User=aaaa&Pwd=${encodeURIComponent(ACCOUNT_PASSWORD)}&PWD=again`,
      `/sms?Msg=smsNope&User=aaaa&PWD=${ACCOUNT_PASSWORD}`,
      `/sms?Msg=smsSnd&User=aaaa&PWD=${ACCOUNT_PASSWORD}&Tel=123&Body=x`,
      `/sms?Msg=smsSnd&User=aaaa&PWD=${ACCOUNT_PASSWORD}&Tel=13800138000&Body=`,
      `/nowhere?PWD=${ACCOUNT_PASSWORD}`,
    ];
    for (const path of requests) await box.get(path);
    await box.get('/api/messages', basicAuth(ACCOUNT_PASSWORD));
    t.true(box.logLines.length >= requests.length - 1, 'the requests were logged');
    t.deepEqual(linesLeaking(box.logLines, [ACCOUNT_PASSWORD]), [], 'no PWD value in the debug log');
  } finally {
    await box.dispose();
  }
});
