import test from 'ava';
import http from 'node:http';
import net from 'node:net';
import iconv from 'iconv-lite';
import { VirtualModem } from '../hardware/simulator/virtual-modem.js';
import { boxUntil } from './helpers/box-events.js';
import { basicAuth, startTestBox, tempDir, withBox } from './helpers/box.js';

const AUTH = 'User=aaaa&PWD=bbbb';

/** Sends raw bytes as one HTTP request and returns the whole response text. */
function rawRequest(port: number, bytes: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    const chunks: Buffer[] = [];
    socket.on('data', (c) => chunks.push(c));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    socket.on('error', reject);
  });
}

/** GET from a chosen loopback source address, to act as different clients. */
function getFrom(localAddress: string, port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, localAddress, agent: false }, (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

test("the spec's own example URLs", async (t) => {
  await withBox(async (box) => {
    t.is((await box.get('/yyyy?Msg=smsAU&User=aaaa&PWD=bbbb')).body, '1');
    t.is((await box.get('/yyyy?Msg=smsSnd&User=aaaa&PWD=bbbb&Tel=13800138000,13900139000&Body=%E4%BD%A0%E5%A5%BD')).body, '1');
    t.is((await box.get('/yyyy?Msg=smsBalance&User=aaaa&PWD=bbbb')).body, '99.80');
    const rows = box.store.listMessages({ limit: 10 });
    t.deepEqual(rows.map((r) => [r.to, r.body, r.status]).sort(), [
      ['+8613800138000', '你好', 'queued'],
      ['+8613900139000', '你好', 'queued'],
    ]);
  });
});

test('the reply is the bare code: text/plain, UTF-8, no newline, no BOM', async (t) => {
  await withBox(async (box) => {
    const res = await fetch(`${box.url}/sms?Msg=smsAU&${AUTH}`);
    t.is(res.status, 200);
    t.is(res.headers.get('content-type'), 'text/plain; charset=utf-8');
    t.deepEqual(Buffer.from(await res.arrayBuffer()), Buffer.from('1'));
  });
});

test('bad accounts get 0 for every message and queue nothing', async (t) => {
  await withBox(async (box) => {
    t.is((await box.get('/sms?Msg=smsAU&User=aaaa&PWD=wrong')).body, '0');
    t.is((await box.get('/sms?Msg=smsAU&User=nobody&PWD=bbbb')).body, '0');
    t.is((await box.get('/sms?Msg=smsAU')).body, '0');
    t.is((await box.get('/sms?Msg=smsBalance&User=aaaa&PWD=x')).body, '0');
    t.is((await box.get('/sms?Msg=smsSnd&User=aaaa&PWD=x&Tel=13800138000&Body=hi')).body, '0');
    t.is(box.store.listMessages({ limit: 10 }).length, 0);
  });
});

test('any path, any case, a configured URL with its own query, and form POST', async (t) => {
  await withBox(async (box) => {
    t.is((await box.get('/?MSG=SMSAU&user=aaaa&pwd=bbbb')).body, '1');
    t.is((await box.get('/any/where/at/all?msg=smsau&USER=aaaa&Pwd=bbbb')).body, '1');
    t.is((await box.get('/sms?key=x?Msg=smsAU&User=aaaa&PWD=bbbb')).body, '1');
    const res = await fetch(`${box.url}/sms`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'Msg=smsSnd&User=aaaa&PWD=bbbb&Tel=13800138000&Body=%E5%8F%91%E8%B4%A7+%E9%80%9A%E7%9F%A5',
    });
    t.is(await res.text(), '1');
    t.is(box.store.listMessages({ limit: 1 })[0]!.body, '发货 通知');
    t.is((await box.get('/sms?Msg=smsWhat&User=aaaa&PWD=bbbb')).body, '3');
  });
});

test('GBK-encoded text, + as space and raw bytes in the request line', async (t) => {
  await withBox(async (box) => {
    const gbk = [...iconv.encode('您的订单已发货', 'gbk')].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
    t.is((await box.get(`/sms?Msg=smsSnd&${AUTH}&Tel=13800138000&Body=${gbk}`)).body, '1');
    t.is((await box.get(`/sms?Msg=smsSnd&${AUTH}&Tel=13800138001&Body=hello+world`)).body, '1');
    const raw = Buffer.concat([
      Buffer.from(`GET /sms?Msg=smsSnd&${AUTH}&Tel=13800138002&Body=`),
      Buffer.from('你好 世界', 'utf8'),
      Buffer.from(' HTTP/1.1\r\nHost: box\r\n\r\n'),
    ]);
    const response = await rawRequest(box.port, raw);
    t.regex(response, /^HTTP\/1\.1 200 OK\r\n/);
    t.true(response.endsWith('\r\n\r\n1'));
    const rawGbk = Buffer.concat([Buffer.from(`GET /sms?Msg=smsSnd&${AUTH}&Tel=13800138003&Body=`), iconv.encode('退订回T', 'gbk'), Buffer.from(' HTTP/1.1\r\n\r\n')]);
    t.true((await rawRequest(box.port, rawGbk)).endsWith('\r\n\r\n1'));
    const bodies = Object.fromEntries(box.store.listMessages({ limit: 10 }).map((m) => [m.to, m.body]));
    t.deepEqual(bodies, {
      '+8613800138000': '您的订单已发货',
      '+8613800138001': 'hello world',
      '+8613800138002': '你好 世界',
      '+8613800138003': '退订回T',
    });
    t.regex(await rawRequest(box.port, Buffer.from('GARBAGE\r\n\r\n')), /^HTTP\/1\.1 400/);
  });
});

test('numbers: separators, prefixes, duplicates; invalid ones logged and skipped', async (t) => {
  await withBox(async (box) => {
    const tel = encodeURIComponent('+8613800138000，0086 13900139000;13800138000；12345,13700137000');
    t.is((await box.get(`/sms?Msg=smsSnd&${AUTH}&Tel=${tel}&Body=hi`)).body, '1');
    t.deepEqual(box.store.listMessages({ limit: 10 }).map((m) => m.to).sort(), ['+8613700137000', '+8613800138000', '+8613900139000']);
    const event = box.store.listEvents(10).find((e) => e.kind === 'invalid-numbers');
    t.deepEqual((event?.data as { invalid: string[] }).invalid, ['0086', '12345']);
  });
});

test('3 when nothing can be accepted: empty body, no valid number, too long, store failing', async (t) => {
  await withBox(
    async (box) => {
      t.is((await box.get(`/sms?Msg=smsSnd&${AUTH}&Tel=13800138000&Body=`)).body, '3');
      t.is((await box.get(`/sms?Msg=smsSnd&${AUTH}&Tel=13800138000&Body=+++`)).body, '3');
      t.is((await box.get(`/sms?Msg=smsSnd&${AUTH}&Tel=12345&Body=hi`)).body, '3');
      t.is((await box.get(`/sms?Msg=smsSnd&${AUTH}&Body=hi`)).body, '3');
      // max_segments = 2: 134 UCS-2 characters are 2 segments, 135 are 3.
      t.is((await box.get(`/sms?Msg=smsSnd&${AUTH}&Tel=13800138000&Body=${encodeURIComponent('好'.repeat(135))}`)).body, '3');
      t.is((await box.get(`/sms?Msg=smsSnd&${AUTH}&Tel=13800138000&Body=${encodeURIComponent('好'.repeat(134))}`)).body, '1');
      t.is(box.store.listMessages({ limit: 10 }).length, 1);
      const kinds = box.store.listEvents(50).map((e) => e.kind);
      for (const kind of ['send-rejected-empty-body', 'send-rejected-no-valid-number', 'send-rejected-too-long']) {
        t.true(kinds.includes(kind), kind);
      }
      box.store.db.close();
      t.is((await box.get(`/sms?Msg=smsSnd&${AUTH}&Tel=13800138001&Body=hi`)).body, '3');
    },
    (c) => (c.sms.maxSegments = 2),
  );
});

test('3 during a modem fault (the virtual HAT has no SIM), while smsAU still answers 1', async (t) => {
  // The SIM is out from the start: the modem's first start ends in the no-SIM hard fault.
  const simulator = new VirtualModem({ sendMs: 20, bootMs: 20, initialPower: 'off' });
  simulator.inject({ kind: 'no-sim' });
  const box = await startTestBox({ simulator, modemTimings: { pollIntervalMs: 100, commandTimeoutMs: 1000, bootMs: 3000, resyncQuietMs: 30 } });
  try {
    await boxUntil(box, 'the no-SIM fault', () => box.status.modemStatus.hardFault);
    t.is((await box.get(`/sms?Msg=smsSnd&${AUTH}&Tel=13800138001&Body=hi`)).body, '3');
    t.is((await box.get(`/sms?Msg=smsAU&${AUTH}`)).body, '1', 'smsAU still answers during a modem fault');
    t.is(box.store.listMessages({ limit: 10 }).length, 0);
    t.true(box.store.listEvents(50).some((e) => e.kind === 'send-rejected-modem-fault'));
  } finally {
    await box.dispose();
    simulator.dispose();
  }
});

test('2 when the balance does not cover recipients × segments × price; nothing queued', async (t) => {
  await withBox(
    async (box) => {
      t.is((await box.get(`/sms?Msg=smsBalance&${AUTH}`)).body, '0.25');
      t.is((await box.get(`/sms?Msg=smsSnd&${AUTH}&Tel=13800138000,13900139000,13700137000&Body=hi`)).body, '2');
      t.is(box.store.listMessages({ limit: 10 }).length, 0);
      t.is((await box.get(`/sms?Msg=smsSnd&${AUTH}&Tel=13800138000,13900139000&Body=hi`)).body, '1');
      t.is((await box.get(`/sms?Msg=smsBalance&${AUTH}`)).body, '0.05');
    },
    (c) => {
      c.accounts[0]!.balanceLi = 250;
    },
  );
});

test('unlimited accounts answer the configured balance reply', async (t) => {
  await withBox(
    async (box) => {
      t.is((await box.get(`/sms?Msg=smsBalance&${AUTH}`)).body, '8888');
    },
    (c) => {
      c.accounts[0]!.balanceLi = null;
      c.billing.unlimitedBalanceReply = '8888';
    },
  );
});

test('a retried request answers 1 again and queues nothing new', async (t) => {
  await withBox(async (box) => {
    const url = `/sms?Msg=smsSnd&${AUTH}&Tel=13800138000,13900139000&Body=${encodeURIComponent('订单 123 已发货')}`;
    t.is((await box.get(url)).body, '1');
    t.is((await box.get(url)).body, '1');
    t.is((await box.get(`/sms?Msg=smsSnd&${AUTH}&Tel=13900139000,13800138000&Body=${encodeURIComponent('订单 123 已发货')}`)).body, '1');
    t.is(box.store.listMessages({ limit: 10 }).length, 2);
    t.is((await box.get(`/sms?Msg=smsBalance&${AUTH}`)).body, '99.80');
  });
});

test('concurrent identical requests are queued once', async (t) => {
  await withBox(async (box) => {
    const url = `/sms?Msg=smsSnd&${AUTH}&Tel=13800138000&Body=same`;
    const replies = await Promise.all(Array.from({ length: 20 }, () => box.get(url)));
    t.true(replies.every((r) => r.body === '1'));
    t.is(box.store.listMessages({ limit: 50 }).length, 1);
  });
});

test('failed logins are rate-limited per client address', async (t) => {
  await withBox(
    async (box) => {
      for (let i = 0; i < 3; i++) t.is(await getFrom('127.0.0.2', box.port, '/sms?Msg=smsAU&User=aaaa&PWD=guess'), '0');
      t.is(await getFrom('127.0.0.2', box.port, `/sms?Msg=smsAU&${AUTH}`), '0', 'locked even with the right password');
      t.is(await getFrom('127.0.0.3', box.port, `/sms?Msg=smsAU&${AUTH}`), '1', 'other clients unaffected');
      t.truthy(box.store.listEvents(10).find((e) => e.kind === 'login-locked' && (e.data as { client: string }).client === '127.0.0.2'));
    },
    (c) => (c.security.loginFailuresAllowed = 3),
  );
});

test('a restart keeps every accepted message', async (t) => {
  const dataDir = tempDir();
  let box = await startTestBox({ dataDir });
  const replies = await Promise.all(
    Array.from({ length: 30 }, (_, i) => box.get(`/sms?Msg=smsSnd&${AUTH}&Tel=138001380${String(i).padStart(2, '0')}&Body=n${i}`)),
  );
  t.true(replies.every((r) => r.body === '1'));
  await box.close();
  box = await startTestBox({ dataDir });
  const rows = box.store.listMessages({ limit: 100 });
  t.is(rows.length, 30);
  t.deepEqual(rows.map((r) => r.body).sort(), Array.from({ length: 30 }, (_, i) => `n${i}`).sort());
  t.is((await box.get(`/sms?Msg=smsBalance&${AUTH}`)).body, '97.00');
  await box.dispose();
});

test('/api/status is public and has the documented shape', async (t) => {
  await withBox(async (box) => {
    await box.get(`/sms?Msg=smsSnd&${AUTH}&Tel=13800138000&Body=hi`);
    const res = await box.get('/api/status');
    t.is(res.status, 200);
    const s = JSON.parse(res.body);
    t.is(typeof s.version, 'string');
    t.is(typeof s.uptime_s, 'number');
    t.is(s.modem.simulated, true);
    t.is(typeof s.modem.state, 'string');
    t.is(s.queue.queued, 1);
    t.is(s.queue.sending, 0);
    t.is(s.queue.sent_today, 0);
    t.is(s.queue.failed_today, 0);
    t.is(typeof s.window.open, 'boolean');
    t.true('next_open' in s.window);
    t.deepEqual(Object.keys(s.leds).sort(), ['activity', 'fault', 'network', 'power']);
    t.is(s.leds.power, 'blink-slow', 'the box is starting: the modem is still booting');
    t.is(s.leds.network, 'off');
    t.is(s.wdgj.last_request.msg, 'smsSnd');
    t.is(s.wdgj.last_request.reply, '1');
    t.is(s.wdgj.last_request.user, 'a***', 'anyone on the LAN reads /api/status: the account name is masked');
    // A client that swapped User and PWD: the "user" is a password, and never shown.
    await box.get('/sms?Msg=smsAU&User=bbbb&PWD=aaaa');
    const swapped = JSON.parse((await box.get('/api/status')).body);
    t.is(swapped.wdgj.last_request.user, null);
    t.false(JSON.stringify(swapped).includes('bbbb'));
  });
});

test('admin API: refused without the admin password, lists messages and accounts with it', async (t) => {
  await withBox(async (box) => {
    await box.get(`/sms?Msg=smsSnd&${AUTH}&Tel=13800138000,13900139000&Body=hi`);
    t.is((await box.get('/api/messages')).status, 401);
    t.is((await box.get('/api/messages', basicAuth('wrong'))).status, 401);
    t.is((await box.get('/api/messages', basicAuth('smsbox', 'root'))).status, 401);
    const res = await box.get('/api/messages?limit=1&status=queued', basicAuth('smsbox'));
    t.is(res.status, 200);
    const { messages } = JSON.parse(res.body);
    t.is(messages.length, 1);
    t.like(messages[0], { account: 'aaaa', to: '13900139000', body: 'hi', status: 'queued', segments: 1, sent_at: null, error: null });
    t.is((await box.get('/api/messages?status=gone', basicAuth('smsbox'))).status, 400);
    t.is((await box.get('/api/messages?limit=0', basicAuth('smsbox'))).status, 400);
    t.is(JSON.parse((await box.get('/api/messages?status=sent', basicAuth('smsbox'))).body).messages.length, 0);
    const accounts = JSON.parse((await box.get('/api/accounts', basicAuth('smsbox'))).body);
    t.deepEqual(accounts, { accounts: [{ user: 'aaaa', balance: '99.80', unlimited: false, ignore_quiet_hours: false }] });
    t.is((await box.get('/api/accounts')).status, 401);
  });
});

test('admin API: top-up with a ledger, bad amounts explained', async (t) => {
  await withBox(async (box) => {
    const topup = (body: string, user = 'aaaa', auth = basicAuth('smsbox')) =>
      fetch(`${box.url}/api/accounts/${user}/topup`, { method: 'POST', headers: { 'content-type': 'application/json', ...auth }, body });
    const ok = await topup('{"amount": 50}');
    t.is(ok.status, 200);
    t.like(await ok.json(), { user: 'aaaa', balance: '150.00' });
    t.is((await box.get(`/sms?Msg=smsBalance&${AUTH}`)).body, '150.00');
    t.is((await topup('{"amount": -5}')).status, 400);
    t.is((await topup('{"amount": "abc"}')).status, 400);
    t.is((await topup('not json')).status, 400);
    t.is((await topup('{"amount": 5}', 'nobody')).status, 404);
    t.is((await topup('{"amount": 5}', 'aaaa', {})).status, 401);
    const ledger = JSON.parse((await box.get('/api/accounts/aaaa/ledger', basicAuth('smsbox'))).body).ledger;
    t.like(ledger[0], { kind: 'topup', amount: '50.00', balance_after: '150.00' });
  });
});

test('no password or PWD value ever reaches the log', async (t) => {
  await withBox(async (box) => {
    await box.get('/sms?Msg=smsAU&User=aaaa&PWD=bbbb');
    await box.get('/sms?Msg=smsAU&User=aaaa&PWD=topsecret-guess');
    await box.get(`/sms?Msg=smsSnd&User=aaaa&PWD=bbbb&Tel=13800138000&Body=x`);
    await box.get('/api/messages', basicAuth('admin-guess-pw'));
    const all = [...box.logLines, ...box.store.listEvents(100).map((e) => JSON.stringify(e))].join('\n');
    t.true(box.logLines.length > 0);
    for (const secret of ['bbbb', 'topsecret-guess', 'admin-guess-pw', 'smsbox:']) t.false(all.includes(secret), secret);
  });
});

test('unknown paths without Msg get a 404 that says so; the home page renders', async (t) => {
  await withBox(async (box) => {
    const missing = await box.get('/nothing-here');
    t.is(missing.status, 404);
    t.regex(missing.body, /没有这个地址/);
    const home = await box.get('/');
    t.is(home.status, 200);
    t.regex(home.body, /模拟模式/);
    t.regex((await box.get('/?lang=en')).body, /Simulator mode/);
    t.regex(home.body, /短信模块启动中/, 'the modem is still booting');
    // A message interrupted mid-send is shown to the shop for a decision.
    await box.get(`/sms?Msg=smsSnd&${AUTH}&Tel=13800138000&Body=x`);
    const [message] = box.store.listMessages({ limit: 1 });
    box.store.beginAttempt(message!.id, 'hat', Date.now());
    box.store.recoverInterrupted(Date.now(), false);
    t.regex((await box.get('/')).body, /有 1 条短信在断电或模块重启时正在发送/);
  });
});

test('a form POST over the 64 KB body limit is answered 413 "3", not reset', async (t) => {
  await withBox(async (box) => {
    const body = `Msg=smsSnd&${AUTH}&Tel=13800138000&Body=${'a'.repeat(100_000)}`;
    const head = `POST /sms HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n`;
    for (let i = 0; i < 10; i++) {
      const response = await rawRequest(box.port, Buffer.from(head + body));
      t.regex(response, /^HTTP\/1\.1 413 /);
      t.true(response.endsWith('\r\n\r\n3'), JSON.stringify(response.slice(-40)));
    }
    t.is(box.store.listMessages({ limit: 1 }).length, 0);
  });
});
