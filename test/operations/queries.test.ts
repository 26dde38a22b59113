import test from 'ava';
import { withOps } from './helpers.js';

test('inbox: newest first, searchable, paged; a limit out of range is kept within 1–1000', async (t) => {
  await withOps(({ ops, store }) => {
    for (let i = 0; i < 3; i++) {
      store.addInboundPart({ from: `+861390000000${i}`, text: i === 1 ? '什么时候发货' : `reply ${i}`, timestamp: '2026-11-25T10:00:00+08:00', concat: null, pdu: `P${i}` }, 1_000 + i, 3_600_000);
    }
    t.deepEqual(ops.inbox.list({ limit: 50 }).map((m) => m.text), ['reply 2', '什么时候发货', 'reply 0']);
    t.deepEqual(ops.inbox.list({ limit: 50, q: '发货' }).map((m) => m.from), ['+8613900000001']);
    const [newest] = ops.inbox.list({ limit: 1 });
    t.deepEqual(ops.inbox.list({ limit: 50, beforeId: String(newest!.id) }).length, 2);
    t.is(ops.inbox.list({ limit: 0 }).length, 1);
    t.is(ops.inbox.list({ limit: Number.NaN }).length, 1);
    t.is(ops.inbox.list({ limit: 50, beforeId: 'x' }).length, 3, 'a bad before_id is ignored');
  });
});

test('events, charts and metrics totals read what the actions wrote', async (t) => {
  await withOps(async ({ ops, store, clock }) => {
    ops.optouts.add({ number: '13900139000' });
    t.deepEqual(ops.events.latest(10).map((e) => e.kind), ['optout-admin']);
    ops.charts.recordSignal(20);
    clock.advance(60_000);
    ops.charts.recordSignal(null);
    t.deepEqual(ops.charts.signalSamples(0).map((s) => s.csq), [20, null]);
    const sent = await ops.sending.submit(store.getLogin('aaaa')!, { tel: '13900139000', body: 'x', client: 'pc' });
    t.true(sent.ok);
    t.like(ops.charts.statusTotals(), { queued: 0, suppressed: 1 }, 'the opted-out number was suppressed');
    t.deepEqual(ops.charts.hourlyCounts(0), []);
  });
});
