/**
 * The owner answers a customer's reply (issue 18 item 3), and reads a
 * number's messages as one conversation. Who pays: the account of the
 * message the customer answered; nobody (the box's own message) when no
 * account's message is being answered.
 */
import test from 'ava';
import { InboundProcessor } from '../../src/inbound/inbound.js';
import { silentLogger } from '../../src/log.js';
import { withOps, type OpsRig } from './helpers.js';

const CUSTOMER = '+8613900000000';
let pdu = 0;

/** A message of `user` to `to`, sent now. */
async function sentBy(rig: OpsRig, user: string, to: string, body: string): Promise<number> {
  const sent = await rig.ops.sending.submitAs(user, { tel: to, body, client: 'test' });
  if (!sent.ok || sent.value.kind !== 'queued') throw new Error('not queued');
  const id = sent.value.messageIds[0]!;
  rig.store.finishSent(id, rig.store.beginAttempt(id, 'hat', rig.clock.now())!, rig.clock.now(), to, [1]);
  return id;
}

async function received(rig: OpsRig, from: string, text: string): Promise<number> {
  const processor = new InboundProcessor({ store: rig.store, clock: rig.clock, config: rig.config, log: silentLogger });
  await processor.receive({ from, text, timestamp: '', concat: null, pdu: `P${pdu++}` });
  return rig.store.listInbox({ limit: 1 })[0]!.id;
}

function withShop(run: (rig: OpsRig) => Promise<void>): Promise<void> {
  return withOps(run, (c) => {
    c.accounts = [
      { user: 'shop', password: 'shop-pw', balanceLi: 10_000, ignoreQuietHours: false },
      { user: 'other', password: 'other-pw', balanceLi: 10_000, ignoreQuietHours: false },
    ];
    c.billing.pricePerSegmentLi = 100;
    c.optout.footer = '回T退订';
  });
}

test('an answer to a reply to a shop\'s notice is charged to that shop\'s account, like its messages', async (t) => {
  await withShop(async (rig) => {
    const notice = await sentBy(rig, 'shop', CUSTOMER, '您的订单已发货');
    const balance = rig.store.getAccount('shop')!.balanceLi!;
    const reply = await received(rig, CUSTOMER, '能改地址吗？');
    const kicks = rig.kicks;
    const answered = await rig.ops.inbox.answer({ inboxId: String(reply), text: '可以，请发新地址' });
    t.true(answered.ok);
    if (!answered.ok) return;
    t.is(answered.value.chargedTo, 'shop');
    t.like(answered.value.message, { to: CUSTOMER, body: '可以，请发新地址回T退订', account: 'shop', kind: 'wdgj', status: 'queued', chargeLi: 100 });
    t.is(rig.store.getAccount('shop')!.balanceLi, balance - 100);
    t.is(rig.store.getAccount('other')!.balanceLi, 10_000);
    t.is(rig.kicks, kicks + 1, 'the dispatcher is told');
    t.true(rig.eventKinds().includes('inbox-answer'));
    t.not(answered.value.message.id, notice);

    // The customer answers the answer: that is now the notice in context, and it is the shop's again.
    rig.store.finishSent(answered.value.message.id, rig.store.beginAttempt(answered.value.message.id, 'hat', rig.clock.now())!, rig.clock.now(), CUSTOMER, [2]);
    rig.clock.advance(60_000);
    const again = await received(rig, CUSTOMER, '新地址：杭州市…');
    t.is(rig.store.getInbox(again)!.replyTo?.id, answered.value.message.id);
    const second = await rig.ops.inbox.answer({ inboxId: again, text: '已改好' });
    t.like(second, { ok: true, value: { chargedTo: 'shop' } });
  });
});

test('with no account\'s message to answer, the answer is the box\'s own message, uncharged', async (t) => {
  await withShop(async (rig) => {
    const reply = await received(rig, CUSTOMER, '你们店在哪？');
    const answered = await rig.ops.inbox.answer({ inboxId: reply, text: '杭州市西湖区' });
    t.true(answered.ok);
    if (!answered.ok) return;
    t.is(answered.value.chargedTo, null);
    t.like(answered.value.message, { to: CUSTOMER, body: '杭州市西湖区回T退订', kind: 'answer', chargeLi: 0, status: 'queued' });
    t.is(rig.store.getAccount('shop')!.balanceLi, 10_000);
  });
});

test('an account removed from the config pays for nothing: the answer goes uncharged', async (t) => {
  await withShop(async (rig) => {
    await sentBy(rig, 'other', CUSTOMER, '通知');
    const reply = await received(rig, CUSTOMER, '好');
    const config = structuredClone(rig.config());
    config.accounts = config.accounts.filter((a) => a.user !== 'other');
    rig.setConfig(config);
    t.like(await rig.ops.inbox.answer({ inboxId: reply, text: '谢谢' }), { ok: true, value: { chargedTo: null } });
  });
});

test('refusals: a balance too low, a number that opted out, a sender no SMS goes to, an empty text, no such reply', async (t) => {
  await withShop(async (rig) => {
    await sentBy(rig, 'shop', CUSTOMER, '通知');
    const reply = await received(rig, CUSTOMER, '嗯');
    rig.store.topUp('shop', -rig.store.getAccount('shop')!.balanceLi!, rig.clock.now());
    const before = rig.store.listMessages({ limit: 100 }).length;
    t.like(await rig.ops.inbox.answer({ inboxId: reply, text: '好的' }), { ok: false, code: 'balance-too-low', httpStatus: 402 });
    t.is(rig.store.listMessages({ limit: 100 }).length, before, 'nothing queued, and not sent for free instead');

    const optedOut = await received(rig, '+8613700000000', 'T');
    t.like(await rig.ops.inbox.answer({ inboxId: optedOut, text: '为什么退订？' }), { ok: false, code: 'opted-out', httpStatus: 409 });
    const service = await received(rig, '10086', '您的话费余额为 5 元');
    t.like(await rig.ops.inbox.answer({ inboxId: service, text: '好' }), { ok: false, code: 'cannot-answer' });
    t.like(await rig.ops.inbox.answer({ inboxId: reply, text: '   ' }), { ok: false, code: 'empty-body' });
    t.like(await rig.ops.inbox.answer({ inboxId: '999', text: '好' }), { ok: false, code: 'no-message', httpStatus: 404 });
    t.like(await rig.ops.inbox.answer({ inboxId: 'x', text: '好' }), { ok: false, code: 'no-message' });
  });
});

test('a conversation: one number\'s messages both ways, oldest first, in any of the forms the number arrives in', async (t) => {
  await withShop(async (rig) => {
    await sentBy(rig, 'shop', CUSTOMER, '订单已发货');
    rig.clock.advance(60_000);
    await received(rig, CUSTOMER, '什么时候到');
    rig.clock.advance(60_000);
    await received(rig, '13900000000', '快一点');
    await sentBy(rig, 'shop', '+8613700000000', '别人的');
    rig.clock.advance(60_000);
    const reply = rig.store.listInbox({ limit: 1 })[0]!;
    await rig.ops.inbox.answer({ inboxId: reply.id, text: '明天到' });

    const found = rig.ops.inbox.conversation('13900000000');
    t.true(found.ok);
    if (!found.ok) return;
    const c = found.value;
    t.is(c.number, CUSTOMER);
    t.deepEqual(c.entries.map((e) => (e.direction === 'out' ? `→ ${e.message.body}` : `← ${e.reply.text}`)), ['→ 订单已发货回T退订', '← 什么时候到', '← 快一点', '→ 明天到回T退订']);
    t.like(c, { optedOut: false, answerable: true, payer: 'shop' });
    t.is(c.latestReply!.text, '快一点');
    t.is(rig.ops.inbox.conversation('+86 139-0000-0000').ok, true, 'any way of writing the number');
    t.like(rig.ops.inbox.conversation('13600000000'), { ok: false, code: 'no-message' });
    const service = await received(rig, 'TAOBAO', '优惠');
    t.like(rig.ops.inbox.conversation('TAOBAO'), { ok: true, value: { answerable: false, number: 'TAOBAO' } });
    t.truthy(service);
  });
});
