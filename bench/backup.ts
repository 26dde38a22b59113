/**
 * Backup and restore at scale: a box holding 100,000 messages (realistic
 * shop notices, most sent with their attempts, some delivered, an inbox and
 * opt-outs) is backed up to a file as the nightly job does, downloaded over
 * HTTP, and restored into a fresh box over HTTP until that box answers again.
 * Prints the size and the times; exits 1 when a target is missed.
 *
 * Targets (this 2-core machine; a Pi 3 is several times slower):
 *   backup of 100,000 messages to a file   < 20 s
 *   the backup file                         < 25 MiB
 *   RSS growth while backing up              < 96 MB: streamed, never the database in memory. What
 *     it does take is bounded, not proportional to the database: SQLite's page cache of the
 *     copy's connection (better-sqlite3's default, 16 MiB; the live connection has its own
 *     16 MiB already), zlib's state and the 64 KiB read buffers awaiting collection
 *     (12 MiB database: +41 MB; 60 MiB database: +64 to +84 MB)
 *   restore: upload to the box answering again on the restored data  < 30 s
 *
 *   npm run bench:backup      # or: node dist/bench/backup.js [--messages 100000]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultConfig } from '../src/config/config.js';
import { createLogger } from '../src/log.js';
import { runBox } from '../src/main.js';
import { backupToFile } from '../src/operations/backup.js';
import { Store } from '../src/store/store.js';
import { load } from './lib.js';

const { values } = parseArgs({ options: { messages: { type: 'string', default: '100000' } } });
const MESSAGES = Number(values.messages);
const TARGET_BACKUP_S = 20;
const TARGET_SIZE_MIB = 25;
const TARGET_RSS_GROWTH_MB = 96;
const TARGET_RESTORE_S = 30;

const SURNAMES = ['王', '李', '张', '刘', '陈', '杨', '黄', '赵', '吴', '周'];
const CARRIERS = ['顺丰速运', '中通快递', '圆通速递', '韵达快递', '申通快递', '京东物流', 'EMS'];
const SHOPS = ['【小米数码旗舰店】', '【良品铺子】', '【优衣库官方店】', '【三只松鼠】'];

/** A notice as 网店管家 sends them: a shop, a name, an order number, a carrier and a tracking number. */
function notice(i: number): string {
  const shop = SHOPS[i % SHOPS.length]!;
  const name = `${SURNAMES[i % SURNAMES.length]}${i % 3 === 0 ? '先生' : '女士'}`;
  const order = `${2026120100000000 + i * 7919}`;
  switch (i % 4) {
    case 0:
      return `${shop}亲爱的${name}，您的订单${order}已由${CARRIERS[i % CARRIERS.length]}发出，运单号${(7_000_000_000_000 + i * 104_729).toString()}，请注意查收。回T退订`;
    case 1:
      return `${shop}${name}您好，您购买的宝贝已签收，如有问题请联系在线客服，满意请给五星好评哦～回T退订`;
    case 2:
      return `${shop}双十二返场：全场满199减30，会员再享95折，仅限12月12日至14日，点击 https://s.example.cn/${(i * 2654435761 >>> 0).toString(36)} 回T退订`;
    default:
      return `${shop}${name}，您的订单${order}已付款成功，我们将在48小时内为您发货。`;
  }
}

function rssMb(): number {
  return process.memoryUsage().rss / 1024 / 1024;
}

async function fill(dataDir: string): Promise<void> {
  const store = Store.open(dataDir);
  store.syncAccounts([{ user: 'aaaa', password: 'bench-pw-5d2c', balanceLi: null, ignoreQuietHours: false }], Date.now());
  const account = store.getAccount('aaaa')!.id;
  const t0 = Date.parse('2026-09-01T09:00:00+08:00');
  const BATCH = 2000;
  for (let from = 0; from < MESSAGES; from += BATCH) {
    store.transaction(() => {
      for (let i = from; i < Math.min(MESSAGES, from + BATCH); i++) {
        const now = t0 + i * 60_000;
        const outcome = store.acceptSend({
          accountId: account, recipients: [`+86${[138, 139, 186, 158][i % 4]}${String((i * 7_654_321) % 100_000_000).padStart(8, '0')}`],
          invalidNumbers: [], body: notice(i), segments: notice(i).length > 70 ? 2 : 1, encoding: 'ucs2', priceLiPerSegment: 0, client: '192.168.1.20', now, duplicateWindowMs: 0,
        });
        if (outcome.kind !== 'accepted') continue;
        // Most were sent long ago (and many delivered); the newest are still queued.
        if (i < MESSAGES * 0.97) {
          const id = outcome.messageIds[0]!;
          const attempt = store.beginAttempt(id, 'hat', now + 5_000);
          if (attempt !== null) store.finishSent(id, attempt, now + 9_000, `+86${[138, 139, 186, 158][i % 4]}`, [i % 256]);
        }
      }
    });
  }
  store.transaction(() => {
    for (let i = 0; i < MESSAGES / 20; i++) store.addOptOut(`+86139${String(i).padStart(8, '0')}`, 'sms', '回复 T', t0 + i * 1000);
  });
  store.db.pragma('wal_checkpoint(TRUNCATE)');
  store.close();
}

async function main(): Promise<number> {
  const root = mkdtempSync(join(tmpdir(), 'smsbox-bench-backup-'));
  const failures: string[] = [];
  try {
    const source = join(root, 'source');
    let started = Date.now();
    await fill(source);
    console.log(`filled ${MESSAGES} messages in ${((Date.now() - started) / 1000).toFixed(1)} s`);

    // 1. The nightly backup's path: the live store, to a kept file.
    const store = Store.open(source);
    const dbBytes = (store.db.prepare('SELECT page_count * page_size AS n FROM pragma_page_count(), pragma_page_size()').get() as { n: number }).n;
    const rss0 = rssMb();
    let peak = rss0;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMb())), 20);
    started = Date.now();
    const made = await backupToFile({ dataDir: source, store, configFile: null, now: Date.now(), timeZone: 'Asia/Shanghai', reason: 'manual' });
    const backupS = (Date.now() - started) / 1000;
    clearInterval(sampler);
    store.close();
    const sizeMiB = made.size / 1024 / 1024;
    console.log(`database ${(dbBytes / 1024 / 1024).toFixed(1)} MiB → backup ${sizeMiB.toFixed(2)} MiB (${(made.size / MESSAGES).toFixed(0)} bytes a message) in ${backupS.toFixed(2)} s (${load()})`);
    console.log(`RSS ${rss0.toFixed(0)} MB before, peak ${peak.toFixed(0)} MB (+${(peak - rss0).toFixed(0)} MB)`);
    if (backupS > TARGET_BACKUP_S) failures.push(`backup took ${backupS.toFixed(1)} s (target < ${TARGET_BACKUP_S} s)`);
    if (sizeMiB > TARGET_SIZE_MIB) failures.push(`backup is ${sizeMiB.toFixed(1)} MiB (target < ${TARGET_SIZE_MIB} MiB)`);
    if (peak - rss0 > TARGET_RSS_GROWTH_MB) failures.push(`RSS grew ${(peak - rss0).toFixed(0)} MB (target < ${TARGET_RSS_GROWTH_MB} MB)`);

    // 2. Restore over HTTP into a fresh box, until it answers again on the restored data.
    const log = createLogger({ level: 'error', write: () => {} });
    const config = defaultConfig();
    config.modem.device = 'simulator';
    const box = await runBox({ config, dataDir: join(root, 'target'), port: 0, host: '127.0.0.1', log, simulatorBootMs: 60_000 });
    try {
      const auth = { authorization: `Basic ${Buffer.from('admin:smsbox').toString('base64')}` };
      const file = readFileSync(made.path);
      const back = new Promise<void>((resolve) => box.once('restarted', () => resolve()));
      started = Date.now();
      const answer = await fetch(`${box.url}/api/restore`, { method: 'POST', headers: { ...auth, 'content-type': 'application/octet-stream' }, body: file });
      const acceptedS = (Date.now() - started) / 1000;
      if (answer.status !== 202) throw new Error(`restore answered ${answer.status}: ${await answer.text()}`);
      await back;
      const status = await fetch(`${box.url}/api/status`);
      const restoreS = (Date.now() - started) / 1000;
      const queue = ((await status.json()) as { queue: { queued: number } }).queue;
      console.log(`restore: checked and accepted in ${acceptedS.toFixed(2)} s, answering again on the restored data after ${restoreS.toFixed(2)} s (${queue.queued} queued) (${load()})`);
      if (restoreS > TARGET_RESTORE_S) failures.push(`restore took ${restoreS.toFixed(1)} s to answer again (target < ${TARGET_RESTORE_S} s)`);
    } finally {
      await box.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  for (const f of failures) console.log(`TARGET MISSED: ${f}`);
  if (failures.length === 0) console.log('all targets met');
  return failures.length === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(2);
  },
);
