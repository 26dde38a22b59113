/** Calls in the inbox (issue 17 item 5) as the owner sees them: /api/inbox `kind`, the inbox page, the overview. */
import test from 'ava';
import { basicAuth, withBox, type TestBox } from '../helpers/box.js';

/** A logged-in browser's cookie (the pages take a session, the JSON API basic auth). */
async function session(box: TestBox): Promise<Record<string, string>> {
  const res = await fetch(`${box.url}/login`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ password: 'smsbox', next: '/inbox' }).toString(),
  });
  return { cookie: res.headers.get('set-cookie')!.split(';')[0]! };
}

test('calls the box hung up: /api/inbox says kind "call", the inbox page and the overview show them (zh and en)', async (t) => {
  await withBox(async (box) => {
    const now = Date.now();
    box.store.addCall('+8613900000000', now - 60_000, true);
    box.store.addCall('', now - 30_000, true);
    box.store.addInboundPart({ from: '+8613900000000', text: '什么时候发货？', timestamp: '', concat: null, pdu: 'P-1' }, now, 60_000);

    const api = (await (await fetch(`${box.url}/api/inbox`, { headers: basicAuth('smsbox') })).json()) as { messages: Array<Record<string, unknown>> };
    t.deepEqual(api.messages.map((m) => m['kind']), ['sms', 'call', 'call']);
    t.like(api.messages[1], { kind: 'call', from: '', text: '', action: 'hung-up' });
    t.like(api.messages[2], { kind: 'call', from: '13900000000', from_raw: '+8613900000000' });

    const browser = await session(box);
    const zh = await (await fetch(`${box.url}/inbox`, { headers: browser })).text();
    t.regex(zh, /data-kind="call"/);
    t.regex(zh, /来电/);
    t.regex(zh, /已自动挂断/);
    t.regex(zh, /未显示号码/);
    t.regex(zh, /1 条回复 · 1 次来电/);
    const en = await (await fetch(`${box.url}/inbox?lang=en`, { headers: browser })).text();
    t.regex(en, /1 reply · 1 call/);
    t.regex(en, /number withheld/);

    const status = JSON.parse((await box.get('/api/status')).body);
    t.deepEqual(status.calls, { today: 2 });
    const overview = (await box.get('/')).body;
    t.regex(overview, /今日来电（已挂断）<\/a><\/dt><dd data-k="calls.today">2</);
    const conversation = await (await fetch(`${box.url}/inbox/13900000000`, { headers: browser })).text();
    t.regex(conversation, /data-kind="call"/);
  });
});
