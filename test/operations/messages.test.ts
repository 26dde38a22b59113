import test from 'ava';
import { withOps, type OpsRig } from './helpers.js';

async function queue(rig: OpsRig, body: string, tel = '13800138000'): Promise<number> {
  const sent = await rig.ops.sending.submit(rig.store.getLogin('aaaa')!, { tel, body, client: 'pc' });
  if (!sent.ok || sent.value.kind !== 'queued') throw new Error(`not queued: ${JSON.stringify(sent)}`);
  return sent.value.messageIds[0]!;
}

test('the list query of the JSON API: bad limits and statuses are refused with a reason, good ones typed', async (t) => {
  await withOps(({ ops }) => {
    t.like(ops.messages.parseQuery({}), { ok: true, value: { limit: 50 } });
    t.like(ops.messages.parseQuery({ limit: '0' }), { ok: false, code: 'bad-limit', httpStatus: 400 });
    t.like(ops.messages.parseQuery({ limit: '1001' }), { ok: false, code: 'bad-limit' });
    t.like(ops.messages.parseQuery({ limit: '5x' }), { ok: false, code: 'bad-limit' });
    t.like(ops.messages.parseQuery({ status: 'gone' }), { ok: false, code: 'bad-status' });
    t.deepEqual(ops.messages.parseQuery({ limit: '10', status: 'queued', beforeId: '7' }), { ok: true, value: { limit: 10, status: 'queued', beforeId: 7 } });
  });
});

test('search and details: newest first, by number or text; an unknown id is refused with 404', async (t) => {
  await withOps(async (rig) => {
    const first = await queue(rig, '订单已发货');
    const second = await queue(rig, 'other', '13900139000');
    t.deepEqual(rig.ops.messages.search({ limit: 10 }).map((m) => m.id), [second, first]);
    t.deepEqual(rig.ops.messages.search({ limit: 10, q: '139 0013' }).map((m) => m.id), [second]);
    t.deepEqual(rig.ops.messages.search({ limit: 10, q: '发货' }).map((m) => m.id), [first]);
    const details = rig.ops.messages.details(String(first));
    t.true(details.ok);
    if (details.ok) {
      t.is(details.value.message.body, '订单已发货');
      t.deepEqual(details.value.attempts, []);
    }
    for (const id of ['999', 'abc', '1e3', '-1']) t.like(rig.ops.messages.details(id), { ok: false, code: 'no-message', httpStatus: 404 }, id);
  });
});

test('resolving an uncertain message: resend queues it again and tells the dispatcher; fail refunds; anything else is a 409', async (t) => {
  await withOps(async (rig) => {
    const { ops, store, clock } = rig;
    const a = await queue(rig, 'a');
    const b = await queue(rig, 'b');
    for (const id of [a, b]) store.beginAttempt(id, 'hat', clock.now());
    store.recoverInterrupted(clock.now(), false);
    const kicks = rig.kicks;
    t.like(ops.messages.resolveUncertain(a, 'resend'), { ok: true, value: { id: a, status: 'queued' } });
    t.is(rig.kicks, kicks + 1);
    t.like(ops.messages.resolveUncertain(b, 'fail'), { ok: true, value: { id: b, status: 'failed', chargeLi: 0 } });
    t.is(store.getAccount('aaaa')!.balanceLi, 100_000 - 100, 'b was refunded');
    const again = ops.messages.resolveUncertain(b, 'resend');
    t.like(again, { ok: false, code: 'not-uncertain', httpStatus: 409 });
    if (!again.ok) t.regex(again.message, /failed/);
    t.like(ops.messages.resolveUncertain(12345, 'fail'), { ok: false, code: 'no-message' });
    t.deepEqual(rig.eventKinds().filter((k) => k.startsWith('message-')), ['message-resend', 'message-fail']);
  });
});

test('send again: a failed message is queued as a new one, charged; the failed one stays; not twice inside the retry window', async (t) => {
  await withOps(async (rig) => {
    const { ops, store, clock } = rig;
    const id = await queue(rig, 'third');
    store.finishFailed(id, store.beginAttempt(id, 'hat', clock.now())!, clock.now(), '+CMS ERROR: 1', 0);
    t.like(await ops.messages.sendAgain(id), { ok: false, code: 'retry-window' }, 'the same text a moment ago counts as a retry');
    clock.advance(11 * 60_000);
    const again = await ops.messages.sendAgain(String(id));
    t.true(again.ok);
    if (!again.ok) return;
    t.true(again.value.id > id);
    t.like(again.value, { to: '+8613800138000', body: 'third', status: 'queued', account: 'aaaa', chargeLi: 100 });
    t.is(store.getMessage(id)!.status, 'failed');
    t.is(store.getAccount('aaaa')!.balanceLi, 100_000 - 100, 'the refund of the first and the charge of the second');
    t.like(await ops.messages.sendAgain(again.value.id), { ok: false, code: 'not-failed', httpStatus: 409 }, 'only failed ones');
  });
});

test('test send: charged to the chosen account, or the first one; refused without any account', async (t) => {
  await withOps(async (rig) => {
    const { ops, store } = rig;
    const sent = await ops.messages.testSend({ user: 'shop2', to: '13800138000', text: '测试短信' });
    t.true(sent.ok);
    if (sent.ok) t.like(sent.value[0], { account: 'shop2', body: '测试短信', status: 'queued' });
    const fallback = await ops.messages.testSend({ user: 'nobody', to: '13800138001', text: '测试短信' });
    t.true(fallback.ok);
    if (fallback.ok) t.is(fallback.value[0]!.account, 'aaaa');
    t.like(await ops.messages.testSend({ user: 'aaaa', to: '12345', text: 'x' }), { ok: false, code: 'no-valid-number' });
    t.is(store.getAccount('shop2')!.balanceLi, 900);
  }, (c) => c.accounts.push({ user: 'shop2', password: 'pw2', balanceLi: 1000, ignoreQuietHours: false }));
  await withOps(async ({ ops }) => {
    t.like(await ops.messages.testSend({ to: '13800138000', text: 'x' }), { ok: false, code: 'no-account' });
  }, (c) => (c.accounts = []));
});

test('send again and test send use the account without its password: they work with a real modem and a factory password too', async (t) => {
  await withOps(async ({ ops }) => {
    t.true((await ops.messages.testSend({ user: 'aaaa', to: '13800138000', text: 'x' })).ok);
  }, (c) => (c.modem.device = '/dev/serial0'));
});
