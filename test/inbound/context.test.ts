/**
 * Issue 18 item 3: replies in context. Each reply is linked to the last
 * message sent to its number within 7 days, and every way it reaches the
 * owner (SMS forward, the reply webhook, the notifier's channels) carries
 * the notice it answers.
 */
import test from 'ava';
import { rmSync } from 'node:fs';
import { ManualClock } from '../../src/clock.js';
import { defaultConfig, type Config } from '../../src/config/config.js';
import { InboundProcessor, type ReceivedPart } from '../../src/inbound/inbound.js';
import { silentLogger } from '../../src/log.js';
import type { EventReport } from '../../src/notify/notifier.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { REPLY_CONTEXT_MS, Store } from '../../src/store/store.js';
import { tempDir } from '../helpers/box.js';
import { fakeRobot } from '../helpers/robots.js';
import { rollBackSchema } from '../helpers/schema.js';

const T0 = Date.parse('2026-12-01T10:00:00+08:00');
const CUSTOMER = '+8613900000000';
let pdu = 0;

function setup(configure?: (c: Config) => void) {
  const dir = tempDir('smsbox-context-');
  const store = Store.open(dir);
  const clock = new ManualClock(T0);
  const config = defaultConfig();
  configure?.(config);
  store.syncAccounts(config.accounts, T0);
  const told: { kind: string; report: EventReport }[] = [];
  const processor = new InboundProcessor({ store, clock, config: () => config, log: silentLogger, notify: (kind, report) => told.push({ kind, report }) });
  return {
    store,
    clock,
    config,
    processor,
    told,
    /** A message of account aaaa to `to`, sent at `at`. */
    sent(to: string, body: string, at: number): number {
      const account = store.getLogin('aaaa')!;
      const outcome = store.acceptSend({ accountId: account.id, recipients: [to], invalidNumbers: [], body, segments: 1, encoding: 'ucs2', priceLiPerSegment: 0, client: 'test', now: at, duplicateWindowMs: 0 });
      if (outcome.kind !== 'accepted') throw new Error(outcome.kind);
      const id = outcome.messageIds[0]!;
      store.finishSent(id, store.beginAttempt(id, 'hat', at)!, at, to, [1]);
      return id;
    },
    receive(from: string, text: string): Promise<void> {
      const part: ReceivedPart = { from, text, timestamp: '2026-12-01T10:00:00+08:00', concat: null, pdu: `PDU-${pdu++}` };
      return processor.receive(part);
    },
    dispose() {
      this.store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test('a reply is linked to the last message sent to its number within 7 days before it arrived', async (t) => {
  const s = setup();
  try {
    s.sent(CUSTOMER, '订单 1 已发货', T0 - 2 * 86_400_000);
    const last = s.sent(CUSTOMER, '订单 2 已发货', T0 - 3600_000);
    s.sent('+8613900000009', '别人的短信', T0 - 60_000);
    // Not sent yet: the customer cannot be answering it.
    s.store.queueSystemMessage('answer', CUSTOMER, '还在排队', 1, 'ucs2', T0 - 1000);
    // The owner's forwards are not notices a customer answers.
    s.store.queueSystemMessage('forward', CUSTOMER, '[短信网关] 转发', 1, 'ucs2', T0 - 500);
    await s.receive(CUSTOMER, '收到，谢谢');
    const [reply] = s.store.listInbox({ limit: 1 });
    t.deepEqual(reply!.replyTo, { id: last, text: '订单 2 已发货', sentAt: T0 - 3600_000 });

    // The same number written without +86, as some networks deliver it.
    await s.receive('13900000000', '还有一个问题');
    t.is(s.store.listInbox({ limit: 1 })[0]!.replyTo?.id, last);
  } finally {
    s.dispose();
  }
});

test('a reply more than 7 days after the last message, or from a number never messaged, answers nothing', async (t) => {
  const s = setup();
  try {
    s.sent(CUSTOMER, '一周前的通知', T0 - REPLY_CONTEXT_MS);
    await s.receive(CUSTOMER, '你好');
    await s.receive('+8613700000000', '你是谁');
    await s.receive('TAOBAO', '广告');
    t.deepEqual(s.store.listInbox({ limit: 10 }).map((r) => r.replyTo), [null, null, null]);
  } finally {
    s.dispose();
  }
});

test('the SMS forward to the owner quotes the notice the customer answers', async (t) => {
  const s = setup((c) => (c.inbound.forwardTo = '+8613800000000'));
  try {
    s.sent(CUSTOMER, '您的订单 8812 已发货，顺丰 SF1234567890', T0 - 60_000);
    await s.receive(CUSTOMER, '什么时候到？');
    const forward = s.store.listMessages({ limit: 1 })[0]!;
    t.like(forward, { kind: 'forward', to: '+8613800000000' });
    t.is(forward.body, '[短信网关] 13900000000（回复“您的订单 8812 已发货，顺丰 SF…”）: 什么时候到？');
    // Without a notice to quote, the forward is as before.
    await s.receive('+8613700000000', '在吗');
    t.is(s.store.listMessages({ limit: 1 })[0]!.body, '[短信网关] 13700000000: 在吗');
  } finally {
    s.dispose();
  }
});

test('the reply webhook carries reply_to: {id, text, sent_at}, null when there is none', async (t) => {
  const server = await fakeRobot('/hook', { status: 204, body: '' });
  const s = setup((c) => (c.inbound.webhook = server.url));
  try {
    const notice = s.sent(CUSTOMER, '您的订单已发货', T0 - 60_000);
    await s.receive(CUSTOMER, '好的');
    await s.receive('+8613700000000', '在吗');
    await s.processor.deliverDue();
    t.is(server.requests.length, 2);
    t.like(server.requests[0]!.json, { from: CUSTOMER, text: '好的', reply_to: { id: notice, text: '您的订单已发货', sent_at: new Date(T0 - 60_000).toISOString() } });
    t.is(server.requests[1]!.json.reply_to, null);
  } finally {
    s.dispose();
    await server.close();
  }
});

test('the notifier is told of each reply and each new opt-out, with the notice it answers', async (t) => {
  const s = setup();
  try {
    const notice = s.sent(CUSTOMER, '双十二大促，全场五折', T0 - 60_000);
    await s.receive(CUSTOMER, '发票怎么开？');
    await s.receive(CUSTOMER, 'T');
    await s.receive(CUSTOMER, 'TD');
    t.deepEqual(s.told.map((x) => x.kind), ['reply', 'optout'], 'a second opt-out of the same number tells nothing');
    const [reply, optout] = s.told;
    t.is(reply!.report.zh, `13900000000 回复：发票怎么开？；回复的是第 ${notice} 号短信：“双十二大促，全场五折”`);
    t.like(reply!.report.data, { from: '13900000000', text: '发票怎么开？', reply_to: { id: notice, text: '双十二大促，全场五折' } });
    t.regex(optout!.report.zh, /^13900000000 回复“T”，已退订；回复的是第 \d+ 号短信/);
    t.is(reply!.report.at, T0);
  } finally {
    s.dispose();
  }
});

test('migration 9 links the replies of an older database to the messages they answer', (t) => {
  const s = setup();
  try {
    const notice = s.sent(CUSTOMER, '旧的通知', T0 - 60_000);
    s.store.addInboundPart({ from: CUSTOMER, text: '旧的回复', timestamp: '', concat: null, pdu: 'OLD-1' }, T0, 60_000);
    s.store.addInboundPart({ from: '13900000000', text: '号码没有 +86', timestamp: '', concat: null, pdu: 'OLD-2' }, T0, 60_000);
    // Back to version 8: no reply_to column.
    rollBackSchema(s.store, 8);
    const dir = s.store.db.name.replace(/\/smsbox\.db$/, '');
    s.store.close();
    s.store = Store.open(dir);
    t.is(s.store.schemaVersion, MIGRATIONS.length);
    const rows = s.store.listInbox({ limit: 10 });
    t.is(rows.find((r) => r.text === '旧的回复')!.replyTo?.id, notice);
    t.is(rows.find((r) => r.text === '号码没有 +86')!.replyTo, null, 'only senders written as E.164 are linked by the migration');
  } finally {
    s.dispose();
  }
});

test('the owner\'s own messages to the box (answering a forward or an alert SMS) are not told back as customers\' replies', async (t) => {
  const s = setup((c) => {
    c.inbound.forwardTo = '+8613800000000';
    c.notify = [{ kind: 'sms', to: '+8613700000000', url: '', secret: '', events: ['reply'] }];
  });
  try {
    await s.receive('+8613800000000', '收到');
    await s.receive('+8613700000000', '知道了');
    await s.receive(CUSTOMER, '在吗');
    t.deepEqual(s.told.map((x) => x.report.data?.['from']), ['13900000000']);
  } finally {
    s.dispose();
  }
});
