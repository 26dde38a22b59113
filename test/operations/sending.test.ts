import test from 'ava';
import { withFooter } from '../../src/operations/sending.js';
import { withOps } from './helpers.js';

const login = { user: 'aaaa', password: 'bbbb', client: '192.168.1.20' };

test('authenticate: the right password logs in, a wrong one or an unknown user is refused', async (t) => {
  await withOps(async ({ ops }) => {
    const ok = await ops.sending.authenticate(login);
    t.true(ok.ok);
    if (ok.ok) t.is(ok.value.user, 'aaaa');
    t.like(await ops.sending.authenticate({ ...login, password: 'wrong' }), { ok: false, code: 'account-invalid' });
    t.like(await ops.sending.authenticate({ ...login, user: 'nobody' }), { ok: false, code: 'account-invalid' });
    t.like(await ops.sending.authenticate({ ...login, user: '' }), { ok: false, code: 'account-invalid' });
    t.true(ops.sending.isAccount('aaaa'));
    t.false(ops.sending.isAccount('bbbb'));
  });
});

test('authenticate: after the allowed failures an address is locked, even with the right password; others are not; one event', async (t) => {
  await withOps(async ({ ops, clock, store }) => {
    for (let i = 0; i < 3; i++) t.like(await ops.sending.authenticate({ ...login, password: `guess${i}` }), { code: 'account-invalid' });
    t.like(await ops.sending.authenticate(login), { ok: false, code: 'login-locked' });
    t.true((await ops.sending.authenticate({ ...login, client: '192.168.1.21' })).ok, 'another address is unaffected');
    const locks = store.listEvents(100).filter((e) => e.kind === 'login-locked');
    t.is(locks.length, 1);
    t.deepEqual(locks[0]!.data, { client: '192.168.1.20', user: 'aaaa' });
    clock.advance(5 * 60_000 + 1);
    t.true((await ops.sending.authenticate(login)).ok, 'the lock ends');
  }, (c) => {
    c.security.loginFailuresAllowed = 3;
    c.security.loginLockMinutes = 5;
  });
});

test('authenticate: parallel guesses from one address are counted when they start: the right password sent last gains nothing', async (t) => {
  await withOps(async ({ ops }) => {
    const guesses = Array.from({ length: 30 }, (_, i) => ops.sending.authenticate({ ...login, password: `guess-${i}` }));
    const right = ops.sending.authenticate(login);
    const outcomes = await Promise.all([...guesses, right]);
    t.is(outcomes.filter((o) => !o.ok && o.code === 'account-invalid').length, 5, 'only login_failures_allowed passwords were evaluated');
    t.like(outcomes.at(-1), { ok: false, code: 'login-locked' });
  }, (c) => {
    c.security.loginFailuresAllowed = 5;
  });
});

test('authenticate: a User that is not an account never reaches the events log (it may be a password typed in the wrong field)', async (t) => {
  await withOps(async ({ ops, store }) => {
    await ops.sending.authenticate({ user: 'bbbb', password: 'aaaa', client: '10.0.0.9' });
    await ops.sending.authenticate({ user: 'bbbb', password: 'aaaa', client: '10.0.0.9' });
    const all = JSON.stringify(store.listEvents(100));
    t.true(all.includes('login-locked'));
    t.false(all.includes('bbbb'));
  }, (c) => {
    c.security.loginFailuresAllowed = 2;
  });
});

test('the factory password opens nothing with a real modem, and keeps working on the simulator', async (t) => {
  await withOps(async ({ ops }) => {
    t.true((await ops.sending.authenticate(login)).ok, 'simulator');
  });
  await withOps(async ({ ops }) => {
    const refused = await ops.sending.authenticate(login);
    t.like(refused, { ok: false, code: 'factory-password' });
    if (!refused.ok) {
      t.regex(refused.message, /出厂密码不能用于真实短信模块，请在配置文件中修改/);
      t.regex(refused.message_en, /factory password cannot be used with a real modem/);
    }
    t.like(await ops.sending.authenticate({ ...login, password: 'wrong' }), { code: 'account-invalid' }, 'a wrong password is still just wrong');
  }, (c) => {
    c.modem.device = '/dev/serial0';
  });
  await withOps(async ({ ops }) => {
    t.true((await ops.sending.authenticate({ ...login, password: 'shop-secret' })).ok, 'a changed password works with a real modem');
  }, (c) => {
    c.modem.device = '/dev/serial0';
    c.accounts[0]!.password = 'shop-secret';
  });
});

test('submit: one row per valid number, charged, footer once, invalid numbers logged; the dispatcher is told', async (t) => {
  await withOps(async (rig) => {
    const { ops, store } = rig;
    const account = store.getLogin('aaaa')!;
    const sent = await ops.sending.submit(account, { tel: '13800138000,12345，+86139-0013-9000', body: '已发货', client: 'pc' });
    t.true(sent.ok);
    if (!sent.ok || sent.value.kind !== 'queued') return;
    t.is(sent.value.messageIds.length, 2);
    t.is(sent.value.chargeLi, 200);
    const rows = sent.value.messageIds.map((id) => store.getMessage(id)!);
    t.deepEqual(rows.map((m) => [m.to, m.body, m.status, m.segments]), [
      ['+8613800138000', '已发货回T退订', 'queued', 1],
      ['+8613900139000', '已发货回T退订', 'queued', 1],
    ]);
    t.is(rig.kicks, 1);
    t.is(store.getAccount('aaaa')!.balanceLi, 100_000 - 200);
    t.deepEqual(store.listEvents(10).find((e) => e.kind === 'invalid-numbers')?.data, { invalid: ['12345'], account: 'aaaa' });
    t.is(withFooter('已发货回T退订', '回T退订'), '已发货回T退订');
  }, (c) => (c.optout.footer = '回T退订'));
});

test('submit: each refusal says why, writes its event, queues nothing and charges nothing', async (t) => {
  await withOps(async (rig) => {
    const { ops, store } = rig;
    const account = store.getLogin('aaaa')!;
    const submit = (tel: string, body: string) => ops.sending.submit(account, { tel, body, client: 'pc' });
    t.like(await submit('13800138000', '   '), { ok: false, code: 'empty-body' });
    t.like(await submit('12345', 'hi'), { ok: false, code: 'no-valid-number' });
    t.like(await submit('13800138000', '好'.repeat(135)), { ok: false, code: 'too-long' });
    rig.modemFault = 'no SIM';
    const fault = await submit('13800138000', 'hi');
    t.like(fault, { ok: false, code: 'modem-fault' });
    if (!fault.ok) t.regex(fault.message, /no SIM/);
    rig.modemFault = null;
    t.like(await submit('13800138000,13900139000', '好'.repeat(134)), { ok: false, code: 'balance-too-low' });
    t.is(store.listMessages({ limit: 10 }).length, 0);
    t.is(store.getAccount('aaaa')!.balanceLi, 300);
    t.is(rig.kicks, 0);
    t.deepEqual(rig.eventKinds(), ['send-rejected-empty-body', 'invalid-numbers', 'send-rejected-no-valid-number', 'send-rejected-too-long', 'send-rejected-modem-fault', 'balance-too-low']);
  }, (c) => {
    c.sms.maxSegments = 2;
    c.accounts[0]!.balanceLi = 300;
  });
});

test('submit: a client retry inside the window is merged into the first request, with an event naming it and the client', async (t) => {
  await withOps(async ({ ops, store, clock }) => {
    const account = store.getLogin('aaaa')!;
    const first = await ops.sending.submit(account, { tel: '13800138000,13900139000', body: 'hi', client: '10.0.0.5' });
    clock.advance(30_000);
    const again = await ops.sending.submit(account, { tel: '13900139000 13800138000', body: 'hi', client: '10.0.0.5' });
    t.true(first.ok && first.value.kind === 'queued');
    t.true(again.ok);
    if (!first.ok || !again.ok) return;
    t.deepEqual(again.value, { kind: 'duplicate', requestId: first.value.requestId });
    t.is(store.listMessages({ limit: 10 }).length, 2);
    const event = store.listEvents(10).find((e) => e.kind === 'duplicate-request');
    t.like(event?.data, { requestId: first.value.requestId, retried_by: '10.0.0.5' });
  });
});

test('submit: opted-out numbers get a suppressed row, uncharged; the reply is still an acceptance', async (t) => {
  await withOps(async ({ ops, store }) => {
    store.addOptOut('+8613900139000', 'sms', 'T', Date.now());
    const sent = await ops.sending.submit(store.getLogin('aaaa')!, { tel: '13800138000,13900139000', body: 'hi', client: 'pc' });
    t.true(sent.ok);
    if (!sent.ok || sent.value.kind !== 'queued') return;
    t.deepEqual(sent.value.suppressed, ['+8613900139000']);
    t.is(sent.value.chargeLi, 100);
    t.deepEqual(store.listMessages({ limit: 10 }).map((m) => m.status).sort(), ['queued', 'suppressed']);
    t.deepEqual(store.listEvents(10).find((e) => e.kind === 'suppressed-at-accept')?.data, { numbers: ['13900139000'] });
  });
});

test('submit: a database that refuses the write is a refusal (store-failure), never an acceptance', async (t) => {
  await withOps(async ({ ops, store }) => {
    const account = store.getLogin('aaaa')!;
    store.db.exec('CREATE TRIGGER refuse BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, \'disk I/O error\'); END');
    const refused = await ops.sending.submit(account, { tel: '13800138000', body: 'hi', client: 'pc' });
    t.like(refused, { ok: false, code: 'store-failure' });
    store.db.exec('DROP TRIGGER refuse');
    t.is(store.listMessages({ limit: 10 }).length, 0);
    t.is(store.getAccount('aaaa')!.balanceLi, 100_000, 'the charge was rolled back with the rows');
  });
});

test('balance: the fresh balance of the account, null when unlimited', async (t) => {
  await withOps(async ({ ops, store }) => {
    await ops.sending.submit(store.getLogin('aaaa')!, { tel: '13800138000', body: 'hi', client: 'pc' });
    t.deepEqual(ops.sending.balance(store.getLogin('aaaa')!), { ok: true, value: { balanceLi: 99_900 } });
    t.deepEqual(ops.sending.balance(store.getLogin('vip')!), { ok: true, value: { balanceLi: null } });
  }, (c) => c.accounts.push({ user: 'vip', password: 'vip-pw', balanceLi: null, ignoreQuietHours: true }));
});

test('an unknown Msg is refused and logged once for the shop', async (t) => {
  await withOps(async ({ ops, store }) => {
    t.like(ops.sending.unknownMessage('smsFoo', '10.0.0.7'), { ok: false, code: 'unknown-message' });
    t.deepEqual(store.listEvents(10).map((e) => e.kind), ['wdgj-unknown-msg']);
  });
});
