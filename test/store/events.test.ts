/**
 * The events log is the one table a client without a password can make the box
 * write to; its bound is what README states as the most such a client can grow
 * the database by.
 */
import test from 'ava';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../../src/store/store.js';
import {
  EVENT_COALESCE_MS, EVENT_LOG_MAX_BYTES, EVENT_LOG_MAX_ROWS, EVENT_VALUE_MAX_CHARS, UNAUTHENTICATED_GROWTH_BOUND_BYTES, boundData, cut,
} from '../../src/store/events.js';
import { tempDir } from '../helpers/box.js';
import { withStore } from '../helpers/store.js';

const T0 = Date.parse('2026-12-01T10:00:00+08:00');

/** The database's size on disk with its WAL folded in. */
function dbBytes(store: Store, dir: string): number {
  store.db.pragma('wal_checkpoint(TRUNCATE)');
  return statSync(join(dir, 'smsbox.db')).size;
}

test('values are cut, surrogate pairs kept whole; data stays small however it is shaped', (t) => {
  t.is(cut('abc', 5), 'abc');
  t.is(cut('a'.repeat(300), EVENT_VALUE_MAX_CHARS).length, EVENT_VALUE_MAX_CHARS);
  const emoji = cut(`${'a'.repeat(198)}😀😀`, 200);
  t.notRegex(emoji, /[\ud800-\udbff](?![\udc00-\udfff])/);
  const nested = boundData({ client: 'x'.repeat(1000), list: Array.from({ length: 500 }, (_, i) => i), deep: { a: { b: { c: { d: 1 } } } } }) as Record<string, unknown>;
  t.is((nested['client'] as string).length, EVENT_VALUE_MAX_CHARS);
  t.is((nested['list'] as unknown[]).length, 21);
  t.true(JSON.stringify(nested).length < 2000);
});

test('repeats of one kind from one client within 10 minutes are one row with a count; other clients and later repeats are rows of their own', (t) => {
  withStore((store) => {
    for (let i = 0; i < 30; i++) store.addEvent(T0 + i, 'warn', 'wdgj-unknown-msg', 'zh', 'en', { client: '192.168.1.7', msg: `v${i}` });
    store.addEvent(T0 + 40, 'warn', 'wdgj-unknown-msg', 'zh', 'en', { client: '192.168.1.8' });
    store.flushEvents();
    for (let i = 0; i < 5; i++) store.addEvent(T0 + 100 + i, 'warn', 'wdgj-unknown-msg', 'zh', 'en', { client: '192.168.1.7' });
    store.addEvent(T0 + EVENT_COALESCE_MS + 1, 'warn', 'wdgj-unknown-msg', 'zh', 'en', { client: '192.168.1.7' });
    store.addEvent(T0 + 50, 'info', 'start', 'zh', 'en');
    store.addEvent(T0 + 51, 'info', 'start', 'zh', 'en');
    const events = store.listEvents(100);
    const from7 = events.filter((e) => e.kind === 'wdgj-unknown-msg' && (e.data as { client: string }).client === '192.168.1.7');
    t.deepEqual(from7.map((e) => e.repeats).sort((a, b) => a - b), [1, 35]);
    t.is(from7.find((e) => e.repeats === 35)!.lastAt, T0 + 104);
    t.is(events.filter((e) => e.kind === 'start').length, 2, "the box's own events are never merged");
  });
});

test('a flood from thousands of clients keeps the table under its row and byte bounds, and the database under the stated growth bound', (t) => {
  withStore((store, dir) => {
    const before = dbBytes(store, dir);
    const huge = 'Z'.repeat(60_000);
    const zh = `收到未知的 Msg 参数 "${huge}"`;
    const en = `unknown Msg "${huge}"`;
    let at = T0;
    for (let batch = 0; batch < 150; batch++) {
      for (let i = 0; i < 1000; i++) {
        const client = `10.${batch % 250}.${Math.floor(i / 250)}.${i % 250}`;
        store.addEvent(at++, 'warn', ['wdgj-unknown-msg', 'login-locked', 'wdgj-internal'][i % 3]!, zh, en, { client, msg: huge, user: huge });
      }
      store.flushEvents();
      const { rows, bytes } = store.eventTotals();
      if (rows > EVENT_LOG_MAX_ROWS || bytes > EVENT_LOG_MAX_BYTES) return t.fail(`batch ${batch}: ${rows} rows, ${bytes} bytes`);
    }
    const counted = store.db.prepare('SELECT COUNT(*) AS n, SUM(bytes) AS b, MAX(length(message_zh)) AS zh, MAX(length(data)) AS data FROM events').get() as { n: number; b: number; zh: number; data: number };
    t.deepEqual({ rows: counted.n, bytes: counted.b }, store.eventTotals(), 'the running totals agree with the table');
    t.true(counted.n <= EVENT_LOG_MAX_ROWS);
    t.true(counted.b <= EVENT_LOG_MAX_BYTES);
    t.true(counted.zh <= 400);
    const growth = dbBytes(store, dir) - before;
    t.true(growth <= UNAUTHENTICATED_GROWTH_BOUND_BYTES, `grew by ${growth} bytes`);
    t.log(`150,000 events of 60 KB from 37,500 clients: ${counted.n} rows, ${(counted.b / 1048576).toFixed(2)} MiB of text, database +${(growth / 1048576).toFixed(2)} MiB`);
  });
});

test('the totals survive a restart, and daily housekeeping keeps them right', (t) => {
  const dir = tempDir();
  try {
    let store = Store.open(dir);
    for (let i = 0; i < 20; i++) store.addEvent(T0 + i * 86_400_000, 'info', 'k', 'zh', 'en');
    store.close();
    store = Store.open(dir);
    t.is(store.eventTotals().rows, 20);
    store.housekeeping(T0 + 190 * 86_400_000);
    const left = store.db.prepare('SELECT COUNT(*) AS n, SUM(bytes) AS b FROM events').get() as { n: number; b: number };
    t.deepEqual(store.eventTotals(), { rows: left.n, bytes: left.b });
    t.is(left.n, 10);
    store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
