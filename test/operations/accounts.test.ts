import test from 'ava';
import { withOps } from './helpers.js';

test('top-up: adds to the balance with a ledger row noting the way in, and one event', async (t) => {
  await withOps(({ ops, store }) => {
    t.like(ops.accounts.topUp({ user: 'aaaa', amount: 50, via: 'api' }), { ok: true, value: { account: { user: 'aaaa', balanceLi: 150_000 }, amountLi: 50_000 } });
    t.like(ops.accounts.topUp({ user: 'aaaa', amount: '0.045', via: 'page' }), { ok: true, value: { account: { balanceLi: 150_045 }, amountLi: 45 } });
    const ledger = ops.accounts.ledger('aaaa');
    t.true(ledger.ok);
    if (ledger.ok) t.like(ledger.value.slice(0, 2), [{ kind: 'topup', amountLi: 45, note: 'admin page top-up' }, { kind: 'topup', amountLi: 50_000, balanceAfterLi: 150_000, note: 'api top-up' }]);
    t.is(store.listEvents(10).filter((e) => e.kind === 'topup').length, 2);
  });
});

test('top-up refusals: bad amounts (400), unknown accounts (404), unlimited accounts (409); nothing changes', async (t) => {
  await withOps(({ ops, store }) => {
    for (const amount of [-5, 0, 'abc', '1.2345', 2_000_000, null, {}]) {
      t.like(ops.accounts.topUp({ user: 'aaaa', amount, via: 'api' }), { ok: false, code: 'bad-amount', httpStatus: 400 }, JSON.stringify(amount));
    }
    t.like(ops.accounts.topUp({ user: 'nobody', amount: 5, via: 'api' }), { ok: false, code: 'no-account', httpStatus: 404 });
    t.like(ops.accounts.topUp({ user: 'vip', amount: 5, via: 'page' }), { ok: false, code: 'unlimited', httpStatus: 409 });
    t.is(store.getAccount('aaaa')!.balanceLi, 100_000);
    t.is(store.listEvents(10).length, 0);
    t.like(ops.accounts.ledger('nobody'), { ok: false, code: 'no-account' });
  }, (c) => c.accounts.push({ user: 'vip', password: 'vip-pw', balanceLi: null, ignoreQuietHours: false }));
});

test('the settings page lists only accounts still in the config', async (t) => {
  await withOps(({ ops, config, setConfig }) => {
    const next = structuredClone(config());
    next.accounts = next.accounts.filter((a) => a.user !== 'old');
    t.deepEqual(ops.accounts.list().map((a) => a.user), ['aaaa', 'old']);
    setConfig(next);
    t.deepEqual(ops.accounts.listConfigured().map((a) => a.user), ['aaaa']);
  }, (c) => c.accounts.push({ user: 'old', password: 'old-pw', balanceLi: 0, ignoreQuietHours: false }));
});
