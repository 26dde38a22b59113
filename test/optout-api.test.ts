import test from 'ava';
import iconv from 'iconv-lite';
import { basicAuth, withBox, type TestBox } from './helpers/box.js';

const AUTH = 'User=aaaa&PWD=bbbb';
const ADMIN = basicAuth('smsbox');

const call = async (box: TestBox, method: string, path: string, body?: string, type = 'application/json') => {
  const res = await fetch(`${box.url}${path}`, { method, headers: { ...ADMIN, 'content-type': type }, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type'), text, json: /json/.test(res.headers.get('content-type') ?? '') ? JSON.parse(text) : null };
};

test('opt-outs: add, list, search, remove; bad numbers explained; admin only', async (t) => {
  await withBox(async (box) => {
    t.is((await call(box, 'POST', '/api/optouts', '{"number": "+86 138-0013-8000", "reason": "phoned the shop"}')).status, 201);
    t.is((await call(box, 'POST', '/api/optouts', '{"number": "13800138000"}')).status, 200, 'already listed');
    t.is((await call(box, 'POST', '/api/optouts', '{"number": "12345"}')).status, 400);
    t.is((await call(box, 'POST', '/api/optouts', 'nonsense')).status, 400);
    const list = await call(box, 'GET', '/api/optouts?q=0013');
    t.like(list.json.optouts[0], { number: '13800138000', number_e164: '+8613800138000', source: 'admin', reason: 'phoned the shop' });
    t.is((await call(box, 'GET', '/api/optouts?q=139')).json.optouts.length, 0);
    t.is((await fetch(`${box.url}/api/optouts`)).status, 401);
    t.is((await call(box, 'DELETE', '/api/optouts/13800138000')).status, 200);
    t.is((await call(box, 'DELETE', '/api/optouts/13800138000')).status, 404);
  });
});

test('opt-outs: CSV import (with a header, GBK from Excel, bad lines reported) and export with a BOM', async (t) => {
  await withBox(async (box) => {
    // Excel on a Chinese Windows saves CSV in GBK.
    const csv = iconv.encode('号码,原因\r\n13800138000,电话退订\r\n+8613900139000\r\n13800138000\r\nnot-a-number,x\r\n', 'gbk');
    const res = await fetch(`${box.url}/api/optouts/import`, { method: 'POST', headers: { ...ADMIN, 'content-type': 'text/csv' }, body: csv });
    const imported = { json: await res.json() };
    t.deepEqual(imported.json, { added: 2, already: 1, invalid: ['not-a-number'] });
    const exported = await call(box, 'GET', '/api/optouts.csv');
    t.is(exported.type, 'text/csv; charset=utf-8');
    const bytes = Buffer.from(await (await fetch(`${box.url}/api/optouts.csv`, { headers: ADMIN })).arrayBuffer());
    t.deepEqual([...bytes.subarray(0, 3)], [0xef, 0xbb, 0xbf], 'a UTF-8 BOM, so Excel reads the Chinese');
    t.true(exported.text.startsWith('number,created_at,source,reason\r\n'));
    t.regex(exported.text, /13900139000,[^,]+,import,CSV import/);
    t.is(exported.text.trim().split('\r\n').length, 3);
  });
});

test('an opted-out recipient is suppressed at acceptance: a row, not charged, the reply still 1', async (t) => {
  await withBox(async (box) => {
    await call(box, 'POST', '/api/optouts', '{"number": "13900139000"}');
    t.is((await box.get(`/sms?Msg=smsSnd&${AUTH}&Tel=13900139000&Body=hi`)).body, '1');
    t.is((await box.get(`/sms?Msg=smsBalance&${AUTH}`)).body, '100.00');
    const [message] = (await call(box, 'GET', '/api/messages')).json.messages;
    t.like(message, { to: '13900139000', status: 'suppressed', charge: '0.00', error: 'opted out' });
  });
});

test('the footer is appended once and counted in segments and price', async (t) => {
  await withBox(
    async (box) => {
      // 69 Chinese characters + the 4-character footer = 73: two UCS-2 segments.
      const body = '好'.repeat(69);
      t.is((await box.get(`/sms?Msg=smsSnd&${AUTH}&Tel=13800138000&Body=${encodeURIComponent(body)}`)).body, '1');
      t.is((await box.get(`/sms?Msg=smsSnd&${AUTH}&Tel=13800138001&Body=${encodeURIComponent('已发货回T退订')}`)).body, '1');
      const messages = (await call(box, 'GET', '/api/messages')).json.messages as { to: string; body: string; segments: number; charge: string }[];
      const byTo = Object.fromEntries(messages.map((m) => [m.to, m]));
      t.like(byTo['13800138000'], { body: `${body}回T退订`, segments: 2, charge: '0.20' });
      t.like(byTo['13800138001'], { body: '已发货回T退订', segments: 1 });
      t.is((await box.get(`/sms?Msg=smsBalance&${AUTH}`)).body, '99.70');
    },
    (c) => (c.optout.footer = '回T退订'),
  );
});

test('/api/inbox is admin only and searchable', async (t) => {
  await withBox(async (box) => {
    box.store.addInboundPart({ from: '+8613900000000', text: '什么时候发货', timestamp: '2026-11-25T10:00:00+08:00', concat: null, pdu: 'A' }, Date.now(), 3_600_000);
    box.store.addInboundPart({ from: '10086', text: '余额提醒', timestamp: '2026-11-25T10:00:00+08:00', concat: null, pdu: 'B' }, Date.now(), 3_600_000);
    t.is((await fetch(`${box.url}/api/inbox`)).status, 401);
    const all = (await call(box, 'GET', '/api/inbox')).json.messages;
    t.deepEqual(all.map((m: { from: string }) => m.from), ['10086', '13900000000']);
    const found = (await call(box, 'GET', '/api/inbox?q=发货')).json.messages;
    t.like(found[0], { from: '13900000000', text: '什么时候发货', complete: true, parts: { received: 1, total: 1 } });
    t.is(found.length, 1);
  });
});
