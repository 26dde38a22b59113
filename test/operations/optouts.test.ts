import test from 'ava';
import iconv from 'iconv-lite';
import { csvNumber, neutraliseCell } from '../../src/operations/optouts.js';
import { withOps } from './helpers.js';

test('add and remove: numbers in any form, bad ones refused, one event per change', async (t) => {
  await withOps(({ ops, store }) => {
    t.like(ops.optouts.add({ number: '+86 138-0013-8000', reason: 'phoned the shop' }), { ok: true, value: { added: true, optout: { number: '+8613800138000', source: 'admin', reason: 'phoned the shop' } } });
    t.like(ops.optouts.add({ number: '13800138000', reason: 'again' }), { ok: true, value: { added: false, optout: { reason: 'phoned the shop' } } }, 'the first reason stays');
    t.like(ops.optouts.add({ number: '12345' }), { ok: false, code: 'bad-number', httpStatus: 400 });
    t.like(ops.optouts.remove({ number: '0086 13800138000' }), { ok: true, value: { number: '+8613800138000' } });
    t.like(ops.optouts.remove({ number: '13800138000' }), { ok: false, code: 'not-opted-out', httpStatus: 404 });
    t.deepEqual(store.listEvents(10).map((e) => e.kind).reverse(), ['optout-admin', 'optout-removed']);
    t.is(ops.optouts.add({ number: '13800138000', reason: 'x'.repeat(500) }).ok && store.listOptOuts({ limit: 1 })[0]!.reason.length, 200);
  });
});

test('import: the same rules for a file (UTF-8 or GBK bytes) and for pasted text; a header is skipped, bad lines reported', async (t) => {
  const csv = '号码,原因\r\n13800138000,电话退订\r\n+8613900139000\r\n13800138000\r\nnot-a-number,x\r\n\r\n"13700137000","quoted"\n';
  const results: unknown[] = [];
  for (const input of [Buffer.from(csv, 'utf8'), iconv.encode(csv, 'gbk'), csv]) {
    await withOps(({ ops, store }) => {
      const imported = ops.optouts.importCsv(input);
      results.push(imported);
      t.deepEqual(imported, { ok: true, value: { added: 3, already: 1, invalid: ['not-a-number'] } });
      t.deepEqual(store.listOptOuts({ limit: 10 }).map((o) => [o.number, o.source, o.reason]).sort(), [
        ['+8613700137000', 'import', 'CSV import'],
        ['+8613800138000', 'import', 'CSV import'],
        ['+8613900139000', 'import', 'CSV import'],
      ]);
      t.deepEqual(store.listEvents(10).map((e) => [e.kind, e.zh]), [['optout-import', '导入退订名单：新增 3 个，已存在 1 个，无效 1 个']]);
    });
  }
  t.is(results.length, 3);
});

test('import: over 64 KB (or a body cut at the limit) is refused with 413 and adds nothing', async (t) => {
  await withOps(({ ops, store }) => {
    t.like(ops.optouts.importCsv(null), { ok: false, code: 'too-large', httpStatus: 413 });
    t.like(ops.optouts.importCsv('13800138000\n'.repeat(6000)), { ok: false, code: 'too-large' });
    t.is(store.countOptOuts(), 0);
  });
});

test('export: a BOM, a header, CRLF; no cell begins with a formula sign; numbers stay usable and import back the same', async (t) => {
  await withOps(({ ops, store }) => {
    store.addOptOut('+8613800138000', 'admin', '=HYPERLINK("http://evil.example","点我")', 1_000);
    store.addOptOut('+447911123456', 'admin', '+1 call me', 2_000);
    store.addOptOut('+8613900139000', 'sms', '-T', 3_000);
    store.addOptOut('+8613700137000', 'admin', '@SUM(A1)', 4_000);
    store.addOptOut('+8613600136000', 'admin', 'plain, with a comma', 5_000);
    const csv = ops.optouts.exportCsv();
    t.true(csv.startsWith('\uFEFFnumber,created_at,source,reason\r\n'));
    t.true(csv.endsWith('\r\n'));
    const rows = csv.slice(1).trim().split('\r\n').slice(1);
    t.deepEqual(rows, [
      '13600136000,1970-01-01T00:00:05.000Z,admin,"plain, with a comma"',
      "13700137000,1970-01-01T00:00:04.000Z,admin,'@SUM(A1)",
      "13900139000,1970-01-01T00:00:03.000Z,sms,'-T",
      "00447911123456,1970-01-01T00:00:02.000Z,admin,'+1 call me",
      `13800138000,1970-01-01T00:00:01.000Z,admin,"'=HYPERLINK(""http://evil.example"",""点我"")"`,
    ]);
    // Every cell of every line, unquoted, begins with something a spreadsheet shows as text.
    for (const row of rows) {
      for (const cell of row.match(/("([^"]|"")*"|[^,]*)(,|$)/g)!.map((c) => c.replace(/,$/, '').replace(/^"|"$/g, ''))) {
        t.notRegex(cell, /^[=+\-@\t\r]/, row);
      }
    }
    const numbers = store.listOptOuts({ limit: 10 }).map((o) => o.number).sort();
    for (const number of numbers) store.removeOptOut(number);
    t.like(ops.optouts.importCsv(csv), { ok: true, value: { added: 5, already: 0, invalid: [] } });
    t.deepEqual(store.listOptOuts({ limit: 10 }).map((o) => o.number).sort(), numbers);
  });
});

test('cell neutralising and CSV numbers', (t) => {
  for (const [value, expected] of [['=1+1', "'=1+1"], ['+86', "'+86"], ['-1', "'-1"], ['@x', "'@x"], ['\tx', "'\tx"], ['退订', '退订'], ['', ''], ['a=b', 'a=b']]) {
    t.is(neutraliseCell(value!), expected!, value);
  }
  t.is(csvNumber('+8613800138000'), '13800138000');
  t.is(csvNumber('+447911123456'), '00447911123456');
});
