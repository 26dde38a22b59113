/**
 * The virtual HAT's HTTP controls (simulator mode): calls, the network and SIM
 * scenario, carrier notices and the new faults, each checked through the AT
 * answers the modem then gives. The modem runs on time the test drives.
 */
import test from 'ava';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import polka from 'polka';
import { simulatorRoutes } from '../../src/web/simulator-routes.js';
import { quietSession, sendText, storedTexts, type Session } from '../simulator/harness.js';

interface Client {
  s: Session;
  get(path: string): Promise<{ status: number; body: Record<string, unknown> }>;
  post(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }>;
}

type Call = (path: string, body?: unknown) => Promise<{ status: number; body: Record<string, unknown> }>;

/** The routes over these virtual HATs on a port of their own, for one test. */
async function serveRoutes(hats: { name: string; session: Session }[], run: (get: Call, post: Call) => Promise<void>): Promise<void> {
  const app = polka();
  simulatorRoutes(hats.map((h) => ({ name: h.name, modem: h.session.modem })))(app);
  const server = http.createServer(app.handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const call = (method: string) => async (path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, { method, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  try {
    await run(call('GET'), call('POST'));
  } finally {
    server.close();
    for (const h of hats) h.session.modem.dispose();
  }
}

async function withRoutes(run: (c: Client) => Promise<void>, options: Parameters<typeof quietSession>[0] = {}): Promise<void> {
  const s = quietSession(options);
  await serveRoutes([{ name: 'sim1', session: s }], (get, post) => run({ s, get, post }));
}

test('POST /api/simulator/call rings the modem until AT+CHUP; GET /api/simulator/calls shows hung_up_at', async (t) => {
  await withRoutes(async ({ s, get, post }) => {
    s.at('AT+CLIP=1');
    const started = await post('/api/simulator/call', { from: '+8613800138000' });
    t.is(started.status, 200);
    t.is(s.take(), '\r\nRING\r\n\r\n+CLIP: "+8613800138000",145,"",0,"",0\r\n');
    let calls = (await get('/api/simulator/calls')).body['calls'] as Record<string, unknown>[];
    t.is(calls.length, 1);
    t.is(calls[0]!['from'], '+8613800138000');
    t.is(calls[0]!['started_at'], new Date(s.clock.now()).toISOString());
    t.is(calls[0]!['hung_up_at'], null, 'null while ringing');

    s.timers.advance(5000);
    t.is(s.take(), '\r\nRING\r\n\r\n+CLIP: "+8613800138000",145,"",0,"",0\r\n', 'still ringing 5 s later');
    t.is(s.at('AT+CHUP'), '\r\nOK\r\n');
    calls = (await get('/api/simulator/calls')).body['calls'] as Record<string, unknown>[];
    t.is(calls[0]!['hung_up_at'], new Date(s.clock.now()).toISOString());
    t.is(calls[0]!['hung_up_by'], 'modem');
    t.is(calls[0]!['rings'], 2);
  });
});

test('POST /api/simulator/call/end: the caller gives up, NO CARRIER', async (t) => {
  await withRoutes(async ({ s, post }) => {
    await post('/api/simulator/call', { from: '13800138000' });
    s.take();
    const ended = await post('/api/simulator/call/end', {});
    t.is((ended.body['call'] as Record<string, unknown>)['hung_up_by'], 'caller');
    t.regex(s.take(), /^\r\nNO CARRIER\r\n/);
    t.is((await post('/api/simulator/call/end', {})).body['call'], null, 'no call to end');
  });
});

test('a call request that is not a phone number is a 400 with a message in both languages', async (t) => {
  await withRoutes(async ({ s, post }) => {
    for (const body of [{}, { from: 'Mum' }, { from: 12345 }, 'not json', []]) {
      const res = await post('/api/simulator/call', body);
      t.is(res.status, 400);
      t.regex(String(res.body['message']), /from/);
      t.regex(String(res.body['message_en']), /body must be/);
    }
    t.deepEqual(s.modem.calls, []);
  });
});

test('POST /api/simulator/scenario switches the network; the AT answers follow', async (t) => {
  await withRoutes(async ({ s, get, post }) => {
    t.is((await get('/api/simulator/scenario')).body['network'], 'lte-sgs');
    const res = await post('/api/simulator/scenario', { network: 'lte-no-ims' });
    t.is(res.status, 200);
    t.like(res.body, { network: 'lte-no-ims', sms_path: 'none', ims_registered: false, faults: [{ kind: 'no-ims' }] });
    s.at('AT+CMEE=1');
    t.deepEqual(sendText(s, '+8613800138000', 'x'), ['\r\n+CMS ERROR: 500\r\n']);
    t.like((await post('/api/simulator/scenario', { network: 'lte-ims' })).body, { sms_path: 'ims', ims_registered: true });
    t.is(s.at('AT+CIREG?'), '\r\n+CIREG: 0,1\r\n\r\nOK\r\n');
  });
});

test('POST /api/simulator/scenario sets own number, IMSI, balance and carrier replies', async (t) => {
  await withRoutes(async ({ s, post }) => {
    const res = await post('/api/simulator/scenario', {
      own_number: '+8613300000001',
      own_number_known: false,
      imsi: '460110000000001',
      balance_yuan: 3.2,
      carrier_replies: { '10001': '您的余额为3.20元【中国电信】' },
    });
    t.like(res.body, { own_number: '+8613300000001', own_number_known: false, imsi: '460110000000001', carrier: 'china-telecom', balance_yuan: 3.2 });
    t.is(s.at('AT+CNUM'), '\r\nOK\r\n');
    t.is(s.at('AT+CIMI'), '\r\n460110000000001\r\n\r\nOK\r\n');
    sendText(s, '10001', '102');
    sendText(s, '+8613300000001', 'self');
    s.timers.advance(3000);
    t.deepEqual(storedTexts(s), [
      { from: '10001', text: '您的余额为3.20元【中国电信】' },
      { from: '+8613300000001', text: 'self' },
    ]);
  });
});

test('a bad scenario body changes nothing and says what is wrong', async (t) => {
  await withRoutes(async ({ s, post }) => {
    for (const body of [
      { network: '5g' },
      { network: 'lte-ims', imsi: 'abc' },
      { own_number: 'me' },
      { balance_yuan: '10' },
      { carrier_replies: { '10086': 5 } },
      { ims_provisioned: 'yes' },
    ]) {
      const res = await post('/api/simulator/scenario', body);
      t.is(res.status, 400, JSON.stringify(body));
      t.truthy(res.body['message']);
      t.truthy(res.body['message_en']);
    }
    t.is(s.modem.getNetwork(), 'lte-sgs');
    t.is(s.modem.getImsi(), '460001234567890');
  });
});

test('a SIM868 refuses an LTE scenario and the no-ims fault', async (t) => {
  await withRoutes(
    async ({ post }) => {
      const res = await post('/api/simulator/scenario', { network: 'lte-ims' });
      t.is(res.status, 400);
      t.regex(String(res.body['message_en']), /2G only/);
      const fault = await post('/api/simulator/fault', { kind: 'no-ims' });
      t.is(fault.status, 400);
      t.regex(String(fault.body['message_en']), /cannot have fault no-ims/);
    },
    { profile: 'sim868' },
  );
});

test('POST /api/simulator/carrier-notice delivers a restriction notice from the service number', async (t) => {
  await withRoutes(async ({ s, post }) => {
    const res = await post('/api/simulator/carrier-notice', {});
    t.is(res.body['from'], '10086');
    t.is(s.take(), '\r\n+CMTI: "SM",0\r\n');
    t.deepEqual(storedTexts(s), [{ from: '10086', text: res.body['text'] }]);
    t.is((await post('/api/simulator/carrier-notice', { from: 'x' })).status, 400);
  });
});

test('faults no-ims and carrier-blocked through POST /api/simulator/fault', async (t) => {
  await withRoutes(async ({ s, post }) => {
    s.at('AT+CMEE=1');
    t.deepEqual((await post('/api/simulator/fault', { kind: 'carrier-blocked', code: 8 })).body['faults'], [{ kind: 'carrier-blocked', code: 8 }]);
    t.deepEqual(sendText(s, '+8613800138000', 'x'), ['\r\n+CMS ERROR: 8\r\n']);
    t.is((await post('/api/simulator/fault', { kind: 'carrier-blocked', code: 'x' })).status, 400);
    await post('/api/simulator/fault', { kind: 'clear' });
    t.deepEqual((await post('/api/simulator/fault', { kind: 'no-ims' })).body['faults'], [{ kind: 'no-ims' }]);
    t.deepEqual(sendText(s, '+8613800138000', 'y'), ['\r\n+CMS ERROR: 500\r\n']);
    await post('/api/simulator/fault', { kind: 'clear' });
    t.deepEqual(sendText(s, '+8613800138000', 'z'), ['\r\n+CMGS: 0\r\n\r\nOK\r\n']);
  });
});

/** Two virtual HATs behind one set of routes, as a box with two `device = "simulator"` blocks has. */
async function withTwoHats(run: (c: { a: Session; b: Session; get: Client['get']; post: Client['post'] }) => Promise<void>): Promise<void> {
  const a = quietSession();
  const b = quietSession({ profile: 'ec25' });
  a.modem.setOwnNumber('+8613900000001', true);
  b.modem.setOwnNumber('+8613900000002', true);
  await serveRoutes([{ name: 'shop-a', session: a }, { name: 'shop-b', session: b }], (get, post) => run({ a, b, get, post }));
}

test('two virtual HATs: GET /api/simulator/modems lists names and own numbers; /sent takes ?modem= and its entries carry the name; without it, the first', async (t) => {
  await withTwoHats(async ({ a, b, get }) => {
    t.deepEqual((await get('/api/simulator/modems')).body['modems'], [
      { name: 'shop-a', profile: 'sim7600', own_number: '+8613900000001', own_number_known: true },
      { name: 'shop-b', profile: 'ec25', own_number: '+8613900000002', own_number_known: true },
    ]);
    sendText(a, '+8613800000001', 'from a');
    sendText(b, '+8613800000002', 'from b');
    sendText(b, '+8613800000003', 'from b again');
    const sentB = (await get('/api/simulator/sent?modem=shop-b')).body;
    t.is(sentB['modem'], 'shop-b');
    t.deepEqual((sentB['sent'] as Record<string, unknown>[]).map((m) => [m['modem'], m['to'], m['text']]), [
      ['shop-b', '+8613800000002', 'from b'],
      ['shop-b', '+8613800000003', 'from b again'],
    ]);
    const byDefault = (await get('/api/simulator/sent')).body;
    t.is(byDefault['modem'], 'shop-a', 'no modem: the first');
    t.deepEqual((byDefault['sent'] as Record<string, unknown>[]).map((m) => [m['modem'], m['text']]), [['shop-a', 'from a']]);
    t.is((await get('/api/simulator/scenario?modem=shop-b')).body['profile'], 'ec25');
  });
});

test('two virtual HATs: POST inbound, fault, call and call/end reach the modem the body names, and only that one', async (t) => {
  await withTwoHats(async ({ a, b, post, get }) => {
    t.like((await post('/api/simulator/inbound', { modem: 'shop-b', from: '+8613800138000', text: 'T' })).body, { ok: true, modem: 'shop-b' });
    t.deepEqual(storedTexts(b), [{ from: '+8613800138000', text: 'T' }]);
    t.deepEqual(storedTexts(a), [], 'the other SIM received nothing');

    t.like((await post('/api/simulator/fault', { modem: 'shop-b', kind: 'carrier-blocked', code: 8 })).body, { modem: 'shop-b', faults: [{ kind: 'carrier-blocked', code: 8 }] });
    t.deepEqual(a.modem.activeFaults(), []);
    t.deepEqual(b.modem.activeFaults(), [{ kind: 'carrier-blocked', code: 8 }]);

    await post('/api/simulator/call', { modem: 'shop-b', from: '+8613800138000' });
    t.is(a.modem.calls.length, 0);
    t.is(b.modem.calls.length, 1);
    t.is((await post('/api/simulator/call/end', { modem: 'shop-a' })).body['call'], null, 'no call on the first SIM');
    t.is(((await post('/api/simulator/call/end', { modem: 'shop-b' })).body['call'] as Record<string, unknown>)['hung_up_by'], 'caller');
    const calls = (await get('/api/simulator/calls?modem=shop-b')).body['calls'] as Record<string, unknown>[];
    t.like(calls[0], { modem: 'shop-b', from: '+8613800138000', hung_up_by: 'caller' });

    t.like((await post('/api/simulator/scenario', { modem: 'shop-b', own_number: '+8613900000009' })).body, { modem: 'shop-b', own_number: '+8613900000009' });
    t.is(a.modem.getOwnNumber().number, '+8613900000001');
    t.like((await post('/api/simulator/carrier-notice', { modem: 'shop-b' })).body, { modem: 'shop-b', from: '10086' });
    t.is(storedTexts(a).length, 0);
  });
});

test('an unknown modem name is a 404 listing the names, in both languages; a modem that is not a name is a 400; nothing changes', async (t) => {
  await withTwoHats(async ({ a, b, get, post }) => {
    for (const res of [
      await get('/api/simulator/sent?modem=shop-c'),
      await get('/api/simulator/calls?modem=shop-c'),
      await get('/api/simulator/scenario?modem='),
      await post('/api/simulator/inbound', { modem: 'shop-c', from: '+8613800138000', text: 'T' }),
      await post('/api/simulator/fault', { modem: 'shop-c', kind: 'silence' }),
      await post('/api/simulator/call', { modem: 'shop-c', from: '+8613800138000' }),
      await post('/api/simulator/call/end', { modem: 'shop-c' }),
      await post('/api/simulator/scenario', { modem: 'shop-c', network: 'gsm' }),
      await post('/api/simulator/carrier-notice', { modem: 'shop-c' }),
    ]) {
      t.is(res.status, 404);
      t.is(res.body['error'], 'unknown-modem');
      t.deepEqual(res.body['modems'], ['shop-a', 'shop-b']);
      t.regex(String(res.body['message']), /没有名为 ".*" 的虚拟模块，可选：shop-a、shop-b/);
      t.regex(String(res.body['message_en']), /the names are: shop-a, shop-b/);
    }
    for (const res of [
      await get('/api/simulator/sent?modem=shop-a&modem=shop-b'),
      await post('/api/simulator/inbound', { modem: 2, from: '+8613800138000', text: 'T' }),
      await post('/api/simulator/fault', { modem: ['shop-b'], kind: 'silence' }),
      await post('/api/simulator/call', { modem: null, from: '+8613800138000' }),
      await post('/api/simulator/call/end', 'not json'),
    ]) {
      t.is(res.status, 400);
      t.is(res.body['error'], 'bad-request');
      t.truthy(res.body['message_en']);
    }
    t.deepEqual([storedTexts(a), storedTexts(b)], [[], []]);
    t.deepEqual([a.modem.activeFaults(), b.modem.activeFaults()], [[], []]);
    t.deepEqual([a.modem.calls.length, b.modem.calls.length], [0, 0]);
    t.is(a.modem.getNetwork(), 'lte-sgs');
  });
});

test('simulatorRoutes refuses no virtual modem and two with one name', (t) => {
  t.throws(() => simulatorRoutes([]), { instanceOf: RangeError });
  const s = quietSession();
  try {
    t.throws(() => simulatorRoutes([{ name: 'x', modem: s.modem }, { name: 'x', modem: s.modem }]), { message: /must differ/ });
  } finally {
    s.modem.dispose();
  }
});

test('in a whole box in simulator mode the controls are wired: a call to a modem still booting is ended by the network', async (t) => {
  const { startTestBox } = await import('../helpers/box.js');
  const box = await startTestBox();
  try {
    const started = await fetch(`${box.url}/api/simulator/call`, { method: 'POST', body: JSON.stringify({ from: '+8613800138000' }) });
    t.is(started.status, 200);
    const calls = (await (await fetch(`${box.url}/api/simulator/calls`)).json()) as { calls: Record<string, unknown>[] };
    t.like(calls.calls[0], { from: '+8613800138000', hung_up_by: 'network' });
    t.is(calls.calls[0]!['hung_up_at'], calls.calls[0]!['started_at']);
    const scenario = (await (await fetch(`${box.url}/api/simulator/scenario`)).json()) as Record<string, unknown>;
    t.like(scenario, { profile: 'sim7600', network: 'lte-sgs', carrier: 'china-mobile' });
    const bad = await fetch(`${box.url}/api/simulator/scenario`, { method: 'POST', body: '{"network": "6g"}' });
    t.is(bad.status, 400);
  } finally {
    await box.dispose();
  }
});
