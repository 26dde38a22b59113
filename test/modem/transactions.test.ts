import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PRIORITY, TransactionQueue } from '../../src/modem/transactions.js';
import { packageRoot } from '../../src/paths.js';
import { scriptedRig } from './scripted-rig.js';

const isSend = (c: string) => /^AT\+CMGS=/.test(c);

test('the queue: by priority, first come first served within one, and the running transaction is never interrupted', async (t) => {
  const queue = new TransactionQueue();
  const order: string[] = [];
  let releaseFirst!: () => void;
  const first = queue.enqueue('send', () => new Promise<void>((resolve) => (releaseFirst = () => (order.push('send 1'), resolve()))));
  t.is(queue.current, 'send');
  const rest = [
    queue.enqueue('poll', async () => void order.push('poll')),
    queue.enqueue('send', async () => void order.push('send 2')),
    queue.enqueue('inbound', async () => void order.push('inbound')),
    queue.enqueue('send', async () => void order.push('send 3')),
    queue.enqueue('hang-up', async () => void order.push('hang-up')),
  ];
  t.is(queue.pending(), 5);
  t.deepEqual(order, [], 'nothing overtakes the transaction holding the port');
  releaseFirst();
  await Promise.all([first, ...rest]);
  t.deepEqual(order, ['send 1', 'hang-up', 'inbound', 'send 2', 'send 3', 'poll']);
  t.true(PRIORITY.hangUp < PRIORITY.inbound && PRIORITY.inbound < PRIORITY.send && PRIORITY.send < PRIORITY.poll);
});

test('the queue: a failing transaction rejects its caller only; close() rejects the waiting ones', async (t) => {
  const queue = new TransactionQueue();
  let release!: () => void;
  const running = queue.enqueue('send', () => new Promise<string>((resolve) => (release = () => resolve('done'))));
  const failing = queue.enqueue('poll', async () => {
    throw new Error('no answer');
  });
  const after = queue.enqueue('poll', async () => 'after');
  release();
  t.is(await running, 'done');
  await t.throwsAsync(failing, { message: 'no answer' });
  t.is(await after, 'after');
  let hold!: () => void;
  const busy = queue.enqueue('send', () => new Promise<void>((resolve) => (hold = resolve)));
  const waiting = queue.enqueue('send', async () => 'never');
  queue.close();
  await t.throwsAsync(waiting, { message: /stopped/ });
  hold();
  await busy;
  await queue.idle();
});

test('driver: a message announced while a send is on the air is read and deleted before the next send', async (t) => {
  const r = await scriptedRig({ holdSends: true });
  t.teardown(() => r.stop());
  await r.run(r.modem.start(), 'the start');
  const from = r.peer.commands.length;
  const sends = [1, 2, 3].map((i) => r.modem.send({ to: '13800138000', text: `message ${i}` }));
  await r.until(() => r.heldSends() === 1, 'the first send on the air');
  r.deliver(1, '+8613900000001', '退订');
  await r.until(() => r.modem.transactions().waiting === 3, 'the inbound read queued behind the sends');
  for (let i = 0; i < 3; i++) {
    await r.until(() => r.heldSends() === 1, `send ${i + 1} on the air`);
    r.releaseSend();
  }
  await r.run(Promise.all(sends), 'the three sends');
  const commands = r.commandsSince(from).filter((c) => isSend(c) || /^AT\+CMG[RD]=/.test(c));
  t.deepEqual(commands.map((c) => (isSend(c) ? 'CMGS' : c)), ['CMGS', 'AT+CMGR=1', 'AT+CMGD=1', 'CMGS', 'CMGS']);
  t.is(r.inbound[0]?.text, '退订');
});

test('driver: a poll that comes due during a backlog waits behind the sends already queued', async (t) => {
  const r = await scriptedRig({ holdSends: true });
  t.teardown(() => r.stop());
  await r.run(r.modem.start(), 'the start');
  const from = r.peer.commands.length;
  const first = r.modem.send({ to: '13800138000', text: 'one' });
  await r.until(() => r.heldSends() === 1, 'the first send on the air');
  const more = [r.modem.send({ to: '13800138000', text: 'two' }), r.modem.send({ to: '13800138000', text: 'three' })];
  // The poll timer (100 ms) fires while the first send holds the port.
  await r.until(() => r.modem.transactions().waiting === 3, 'a poll queued behind two sends');
  for (let i = 0; i < 3; i++) {
    await r.until(() => r.heldSends() === 1, `send ${i + 1} on the air`);
    r.releaseSend();
  }
  await r.run(Promise.all([first, ...more]), 'the sends');
  await r.until(() => r.commandsSince(from).includes('AT+CREG?'), 'the poll');
  const commands = r.commandsSince(from);
  const lastSend = commands.findLastIndex(isSend);
  t.is(commands.filter(isSend).length, 3);
  t.true(commands.indexOf('AT+CREG?') > lastSend, commands.join(' '));
});

test('driver: AT+CMMS is written only when the module\'s mode must change; a multipart send under an open link adds none', async (t) => {
  const r = await scriptedRig();
  t.teardown(() => r.stop());
  await r.run(r.modem.start(), 'the start');
  const cmms = () => r.peer.commands.filter((c) => c.startsWith('AT+CMMS'));
  const long = '您好，您的订单已发货，'.repeat(10);

  // A multipart message on its own: the link is held for its segments, then released.
  await r.run(r.modem.send({ to: '13800138000', text: long }), 'a multipart send');
  t.deepEqual(cmms(), ['AT+CMMS=2', 'AT+CMMS=0']);

  // A backlog: the sender says "keep it open" before every message; the module hears it once.
  for (let i = 0; i < 3; i++) {
    await r.run(r.modem.setKeepLinkOpen(true), 'keep the link open');
    await r.run(r.modem.send({ to: '13800138000', text: long }), `backlog message ${i}`);
  }
  t.deepEqual(cmms(), ['AT+CMMS=2', 'AT+CMMS=0', 'AT+CMMS=2']);
  await r.run(r.modem.setKeepLinkOpen(false), 'release the link');
  await r.run(r.modem.setKeepLinkOpen(false), 'release the link again');
  t.deepEqual(cmms(), ['AT+CMMS=2', 'AT+CMMS=0', 'AT+CMMS=2', 'AT+CMMS=0']);
});

test('layering: nothing in the driver (src/modem) imports the simulator', (t) => {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name));
      else if (entry.name.endsWith('.ts')) files.push(join(dir, entry.name));
    }
  };
  walk(join(packageRoot, 'src', 'modem'));
  t.true(files.length > 10);
  const offenders = files.filter((f) => /from\s+['"][^'"]*hardware\/simulator|import\(\s*['"][^'"]*hardware\/simulator/.test(readFileSync(f, 'utf8')));
  t.deepEqual(offenders, []);
});
