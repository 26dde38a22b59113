import test from 'ava';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { rmSync } from 'node:fs';
import { ManualClock } from '../src/clock.js';
import { defaultConfig, type Config } from '../src/config/config.js';
import { InboundProcessor, webhookRetryDelay, type ReceivedPart } from '../src/inbound/inbound.js';
import { classifyReply, normalizeReply } from '../src/inbound/keywords.js';
import { silentLogger } from '../src/log.js';
import { Store } from '../src/store/store.js';
import { tempDir } from './helpers/box.js';

// Opt-out edge cases. A missed opt-out costs the shop complaints (and a SIM
// blocked after carrier complaints); a false one costs a customer a
// shipping notice. The table below is the README's reasoning made executable.
const replies: [string, 'optout' | 'resubscribe' | null, string][] = [
  ['T', 'optout', 'the keyword itself'],
  ['t', 'optout', 'any case'],
  ['Ｔ', 'optout', 'full-width letter'],
  ['  TD。', 'optout', 'white space and Chinese full stop around it'],
  ['"TD"!!', 'optout', 'quotes and exclamation marks around it'],
  ['退订', 'optout', 'the Chinese keyword'],
  ['我要退订，谢谢', 'optout', 'contains 退订'],
  ['不要退订', 'optout', 'contains 退订: we err on the customer side'],
  ['拒收此类短信', 'optout', 'contains 拒收'],
  ['请取消订阅', 'optout', 'contains 取消订阅'],
  ['别再发了', 'optout', 'contains 别再发'],
  ['1', 'optout', '"reply 1 to stop"'],
  ['１', 'optout', 'full-width digit'],
  ['stop', 'optout', 'English keyword'],
  ['STOP.', 'optout', 'with a full stop'],
  ['取消', 'optout', 'whole reply 取消'],
  ['退', 'optout', 'whole reply 退'],
  ['0000', 'optout', 'the carriers\u2019 unsubscribe code'],
  ['T 👍', 'optout', 'an emoji around the keyword is punctuation-like'],
  ['取消订单', null, 'cancel my ORDER: a question for the shop, not an opt-out'],
  ['退货', null, 'a return, not 退订'],
  ['Thanks', null, 'T inside a word is nothing'],
  ['11', null, 'not the keyword 1'],
  ['收到，谢谢', null, 'a plain reply'],
  ['什么时候发货？', null, 'a question'],
  ['', null, 'empty'],
  ['。。。', null, 'only punctuation'],
  ['订阅', 'resubscribe', 'resubscribe keyword'],
  ['start', 'resubscribe', 'English resubscribe'],
  ['恢复订阅', 'resubscribe', 'resubscribe phrase'],
];
for (const [text, expected, why] of replies) {
  test(`reply ${JSON.stringify(text)} → ${expected} (${why})`, (t) => {
    t.is(classifyReply(text), expected);
  });
}

test('normalisation: NFKC, case, surrounding punctuation, inner spaces collapsed', (t) => {
  t.is(normalizeReply(' Ｓｔｏｐ！ '), 'STOP');
  t.is(normalizeReply('「退  订」'), '退 订');
  t.is(classifyReply('退  订'), 'optout');
});

const T0 = Date.parse('2026-11-25T10:00:00+08:00');

function setup(configure?: (c: Config) => void) {
  const dir = tempDir();
  const store = Store.open(dir);
  const clock = new ManualClock(T0);
  const config = defaultConfig();
  configure?.(config);
  store.syncAccounts(config.accounts, T0);
  let queued = 0;
  const make = (s: Store) => new InboundProcessor({ store: s, clock, config: () => config, log: silentLogger, onQueued: () => queued++ });
  return {
    dir,
    store,
    clock,
    config,
    processor: make(store),
    get queued() {
      return queued;
    },
    reopen() {
      this.store.close();
      this.store = Store.open(dir);
      this.processor = make(this.store);
    },
    dispose() {
      this.store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const part = (from: string, text: string, n: number | null, total = 3, ref = 42): ReceivedPart => ({
  from,
  text,
  timestamp: '2026-11-25T10:00:00+08:00',
  concat: n === null ? null : { ref, part: n, total, ref16: false },
  pdu: `PDU-${from}-${ref}-${n}-${text}`,
});

test('multipart: parts in any order make one message; duplicates are ignored', async (t) => {
  const s = setup();
  await s.processor.receive(part('+8613900000000', 'world', 3));
  await s.processor.receive(part('+8613900000000', 'hello ', 1));
  await s.processor.receive(part('+8613900000000', 'hello ', 1)); // the modem offered it twice
  t.is(s.store.listInbox({ limit: 10 })[0]!.complete, false);
  await s.processor.receive(part('+8613900000000', 'big ', 2));
  const [row] = s.store.listInbox({ limit: 10 });
  t.like(row, { text: 'hello big world', complete: true, partsReceived: 3, partsTotal: 3, processed: true });
  t.is(s.store.listInbox({ limit: 10 }).length, 1);
  s.dispose();
});

test('16-bit references and the same reference from two senders stay apart', async (t) => {
  const s = setup();
  await s.processor.receive({ ...part('+8613900000001', 'a', 1, 2), concat: { ref: 4242, part: 1, total: 2, ref16: true } });
  await s.processor.receive({ ...part('+8613900000002', 'x', 1, 2), concat: { ref: 4242, part: 1, total: 2, ref16: true } });
  await s.processor.receive({ ...part('+8613900000001', 'b', 2, 2), concat: { ref: 4242, part: 2, total: 2, ref16: true } });
  const rows = s.store.listInbox({ limit: 10 });
  t.is(rows.length, 2);
  t.like(rows.find((r) => r.from === '+8613900000001'), { text: 'ab', complete: true });
  t.like(rows.find((r) => r.from === '+8613900000002'), { text: 'x', complete: false });
  s.dispose();
});

test('an incomplete set is kept and shown as incomplete after the timeout, not lost', async (t) => {
  const s = setup((c) => (c.inbound.reassemblyTimeoutMinutes = 60));
  await s.processor.receive(part('+8613900000000', 'first half ', 1, 2));
  s.processor.processPending();
  t.false(s.store.listInbox({ limit: 1 })[0]!.processed);
  s.clock.advance(61 * 60_000);
  s.processor.processPending();
  t.like(s.store.listInbox({ limit: 1 })[0], { text: 'first half ', complete: false, processed: true, action: 'incomplete' });
  t.truthy(s.store.listEvents(10).find((e) => e.kind === 'inbound-incomplete'));
  s.dispose();
});

test('a restart in the middle of receiving a multipart message completes it', async (t) => {
  const s = setup();
  await s.processor.receive(part('+8613900000000', 'before ', 1, 2));
  s.reopen();
  await s.processor.receive(part('+8613900000000', 'after', 2, 2));
  t.like(s.store.listInbox({ limit: 1 })[0], { text: 'before after', complete: true, processed: true });
  s.dispose();
});

test('opt-out, confirmation, and resubscribe', async (t) => {
  const s = setup((c) => (c.optout.confirmation = '您已退订'));
  await s.processor.receive(part('+8613900000000', 'TD', null));
  t.true(s.store.isOptedOut('+8613900000000'));
  const [confirmation] = s.store.listMessages({ limit: 1 });
  t.like(confirmation, { to: '+8613900000000', body: '您已退订', kind: 'optout-confirmation', chargeLi: 0, status: 'queued' });
  t.is(s.queued, 1);
  await s.processor.receive(part('+8613900000000', 'T', null, 1, 7));
  t.is(s.store.listMessages({ limit: 10 }).length, 1, 'a second opt-out sends no second confirmation');
  await s.processor.receive(part('+8613900000000', '订阅', null, 1, 8));
  t.false(s.store.isOptedOut('+8613900000000'));
  t.deepEqual(s.store.listInbox({ limit: 10 }).map((r) => r.action), ['resubscribe', 'optout', 'optout']);
  s.dispose();
});

test('service numbers and alphanumeric senders are kept as they are and never opt out', async (t) => {
  const s = setup();
  await s.processor.receive(part('10086', 'T', null));
  await s.processor.receive(part('TAOBAO', '1', null));
  t.deepEqual(s.store.listInbox({ limit: 10 }).map((r) => r.from).sort(), ['10086', 'TAOBAO']);
  t.deepEqual(s.store.listOptOuts({ limit: 10 }), []);
  s.dispose();
});

test('other replies are forwarded to the owner by SMS, uncharged', async (t) => {
  const s = setup((c) => (c.inbound.forwardTo = '+8613800000000'));
  await s.processor.receive(part('+8613900000000', '什么时候发货？', null));
  const [forward] = s.store.listMessages({ limit: 1 });
  t.like(forward, { to: '+8613800000000', kind: 'forward', chargeLi: 0, status: 'queued' });
  t.is(forward!.body, '[短信网关] 13900000000: 什么时候发货？');
  await s.processor.receive(part('+8613900000000', 'T', null, 1, 9));
  t.is(s.store.listMessages({ limit: 10 }).length, 1, 'opt-outs are not forwarded');
  s.dispose();
});

test('webhook forwarding retries with backoff, across a restart, until it is accepted', async (t) => {
  const received: unknown[] = [];
  let failuresLeft = 2;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (failuresLeft-- > 0) {
        res.writeHead(503).end();
        return;
      }
      received.push(JSON.parse(body));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  const s = setup((c) => (c.inbound.webhook = url));
  await s.processor.receive(part('+8613900000000', '你好', null));
  await s.processor.deliverDue();
  t.is(received.length, 0);
  t.deepEqual([1, 2, 3, 10].map(webhookRetryDelay), [30_000, 60_000, 120_000, 3_600_000]);
  await s.processor.deliverDue();
  t.is(received.length, 0, 'not due yet: waits 30 s');
  s.reopen(); // the retry state is in the database
  s.clock.advance(30_000);
  await s.processor.deliverDue();
  t.is(received.length, 0, 'second failure');
  s.clock.advance(60_000);
  await s.processor.deliverDue();
  t.is(received.length, 1);
  t.like(received[0], { from: '+8613900000000', text: '你好', complete: true, parts: { received: 1, total: 1 } });
  s.clock.advance(3_600_000);
  await s.processor.deliverDue();
  t.is(received.length, 1, 'delivered once');
  server.close();
  s.dispose();
});

test('webhook: one delivery loop at a time, so a hanging server never gets concurrent copies of a reply', async (t) => {
  const s = setup((c) => (c.inbound.webhook = 'http://127.0.0.1:9/hook'));
  const posted: number[] = [];
  let release!: () => void;
  let firstCall!: () => void;
  const firstCalled = new Promise<void>((resolve) => (firstCall = resolve));
  const hanging = new Promise<void>((resolve) => (release = resolve));
  const processor = new InboundProcessor({
    store: s.store, clock: s.clock, config: () => s.config, log: silentLogger,
    fetch: (async (_url: string, init: { body: string }) => {
      posted.push((JSON.parse(init.body) as { id: number }).id);
      if (posted.length === 1) {
        firstCall();
        await hanging;
      }
      return new Response(null, { status: 204 });
    }) as unknown as typeof fetch,
  });
  await processor.receive(part('+8613900000000', '第一条', null));
  const loop = processor.deliverDue();
  await firstCalled;
  await processor.receive(part('+8613900000001', '第二条', null));
  // The timer or a new reply asking for deliveries while the server hangs: it joins the running loop.
  const joined = processor.deliverDue();
  t.is(joined, loop);
  t.deepEqual(posted, [posted[0]], 'no second copy while the first is in flight');
  release();
  await loop;
  t.is(posted.length, 2);
  t.not(posted[0], posted[1], 'each reply posted once; the second after the first ended');
  await processor.deliverDue();
  t.is(posted.length, 2);
  s.dispose();
});
