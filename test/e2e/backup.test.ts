/**
 * Backup and restore of a whole box over HTTP (README, "Backup and restore"):
 * a box full of the shop's data is backed up with GET /api/backup, a second,
 * fresh box restores it with POST /api/restore and carries on with it in the
 * same process; damaged files, a backup from newer software and a cut-off
 * upload change nothing; a restart in the middle leaves old or new; a backup
 * taken while sends go on is consistent; the nightly backups keep 7. Every
 * wait ends on an event of the box (its restart, its store, a restore's
 * outcome), never on a timer.
 */
import test from 'ava';
import Database from 'better-sqlite3';
import { existsSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { loadConfig, type Config } from '../../src/config/config.js';
import { createLogger } from '../../src/log.js';
import { runBox, type Box, type BoxHost } from '../../src/main.js';
import { extractTarGz, tarGzStream, type ArchiveMember } from '../../src/operations/archive.js';
import { BACKUPS_KEPT, type BackupManifest } from '../../src/operations/backup.js';
import { SCHEMA_VERSION } from '../../src/store/backup.js';
import { basicAuth, tempDir } from '../helpers/box.js';
import { boxUntil } from '../helpers/box-events.js';
import { waitFor } from '../helpers/wait.js';

const WDGJ = 'User=shop1&PWD=shop1-pass';

function configText(opts: { admin: string; accounts: string; extra?: string }): string {
  return `# smsbox test config
[http]
port = 8080

[admin]
password = "${opts.admin}"

${opts.accounts}

[schedule]
quiet_hours = ""
max_per_hour = 0
max_per_day = 0

[simulator]
send_ms = 20

[dispatch]
retry_base_seconds = 1

# The box's own balance query (and the carrier's reply in the inbox 3 s later) stays out of these tests.
[sim]
check_balance = false
${opts.extra ?? ''}`;
}

const SHOP_ACCOUNTS = `[[account]]
user = "shop1"
password = "shop1-pass"
balance = 50

[[account]]
user = "shop2"
password = "shop2-pass"
`;

interface TestHost {
  host: BoxHost;
  dir: string;
  configFile: string;
  admin: Record<string, string>;
  logLines: string[];
  api(path: string, init?: RequestInit): Promise<{ status: number; body: any }>;
  dispose(): Promise<void>;
}

/** A box that can restart itself (runBox), with its own config file and data folder. */
async function startHost(opts: { admin: string; accounts?: string; fastModem?: boolean; dir?: string; clock?: { now(): number } }): Promise<TestHost> {
  const dir = opts.dir ?? tempDir();
  const configFile = join(dir, 'smsbox.toml');
  if (!existsSync(configFile)) writeFileSync(configFile, configText({ admin: opts.admin, accounts: opts.accounts ?? '[[account]]\nuser = "aaaa"\npassword = "bbbb"\n' }));
  const config: Config = loadConfig(configFile);
  const logLines: string[] = [];
  const host = await runBox({
    config,
    dataDir: join(dir, 'data'),
    port: 0,
    host: '127.0.0.1',
    hostname: 'shop-box',
    log: createLogger({ level: 'debug', write: (line) => logLines.push(line) }),
    ...(opts.clock ? { clock: opts.clock } : {}),
    simulatorBootMs: opts.fastModem ? 50 : 60_000,
    ...(opts.fastModem ? { modemTimings: { pollIntervalMs: 100, commandTimeoutMs: 1000, bootMs: 3000, resyncQuietMs: 30 } } : {}),
  });
  const admin = basicAuth(opts.admin);
  return {
    host,
    dir,
    configFile,
    admin,
    logLines,
    async api(path, init = {}) {
      const res = await fetch(`${host.url}${path}`, { ...init, headers: { ...admin, ...(init.headers as Record<string, string>) } });
      const text = await res.text();
      let body: any = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON
      }
      return { status: res.status, body };
    },
    async dispose() {
      await host.close();
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function download(h: TestHost): Promise<{ file: Buffer; disposition: string | null }> {
  const res = await fetch(`${h.host.url}/api/backup`, { headers: h.admin });
  if (res.status !== 200) throw new Error(`GET /api/backup answered ${res.status}: ${await res.text()}`);
  return { file: Buffer.from(await res.arrayBuffer()), disposition: res.headers.get('content-disposition') };
}

function upload(h: TestHost, file: Buffer) {
  return h.api('/api/restore', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: file });
}

/** Everything of the shop's a person can see through the API: opt-outs, accounts and balances, each ledger, outbox, inbox. */
async function shopData(h: TestHost) {
  const accounts = (await h.api('/api/accounts')).body.accounts as { user: string }[];
  const ledgers: Record<string, unknown> = {};
  for (const a of accounts) ledgers[a.user] = (await h.api(`/api/accounts/${encodeURIComponent(a.user)}/ledger`)).body;
  return {
    optouts: (await h.api('/api/optouts')).body,
    accounts,
    ledgers,
    outbox: (await h.api('/api/messages?limit=1000')).body,
    inbox: (await h.api('/api/inbox?limit=1000')).body,
  };
}

/** What must not change when a restore is refused: the shop's data, the files of the data folder, the config file, the running box. */
async function everything(h: TestHost) {
  return {
    data: await shopData(h),
    files: readdirSync(join(h.dir, 'data')).filter((f) => !/^smsbox\.db-(wal|shm)$|^backups$/.test(f)).sort(),
    backups: existsSync(join(h.dir, 'data', 'backups')) ? readdirSync(join(h.dir, 'data', 'backups')).sort() : [],
    config: readFileSync(h.configFile, 'utf8'),
  };
}

/** Unpacks a backup, lets `change` alter its members, packs it again (with manifest checksums recomputed unless told not to). */
async function repack(file: Buffer, change: (dir: string, manifest: BackupManifest) => void, rehash = true): Promise<Buffer> {
  const dir = tempDir();
  try {
    const members = await extractTarGz(Readable.from([file]), dir, { allowed: new Set(['manifest.json', 'smsbox.db', 'smsbox.toml']), maxTotalBytes: 1 << 30, maxCompressedBytes: 1 << 30 });
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as BackupManifest;
    change(dir, manifest);
    if (rehash) {
      const { createHash } = await import('node:crypto');
      for (const m of manifest.members) {
        const bytes = readFileSync(join(dir, m.name));
        m.size = bytes.length;
        m.sha256 = createHash('sha256').update(bytes).digest('hex');
      }
    }
    const manifestBytes = Buffer.from(JSON.stringify(manifest));
    const out: ArchiveMember[] = [{ name: 'manifest.json', data: manifestBytes, size: manifestBytes.length, mtimeMs: 0 }];
    for (const m of members) if (m.name !== 'manifest.json') out.push({ name: m.name, data: readFileSync(join(dir, m.name)), size: readFileSync(join(dir, m.name)).length, mtimeMs: 0 });
    return await buffer(tarGzStream(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const restarted = (h: TestHost) => waitFor<[Box]>(h.host, 'restarted', () => true, { what: 'the box to restart on the restored data' });

/** Box A: a shop's data made through the real interfaces, and every send finished. */
async function shopBox(): Promise<TestHost> {
  const a = await startHost({ admin: 'box-a-admin', accounts: SHOP_ACCOUNTS, fastModem: true });
  await boxUntil(a.host.box, 'the modem to be ready', () => a.host.box.modem.status().state === 'ready');
  // A customer opts out by SMS, another by the admin; a reply that is not an opt-out.
  await fetch(`${a.host.url}/api/simulator/inbound`, { method: 'POST', body: JSON.stringify({ from: '+8613900000001', text: 'T' }) });
  await fetch(`${a.host.url}/api/simulator/inbound`, { method: 'POST', body: JSON.stringify({ from: '+8613900000002', text: '请问什么时候发货？' }) });
  await boxUntil(a.host.box, 'the replies processed', () => a.host.box.store.listInbox({ limit: 10 }).length === 2 && a.host.box.store.pendingInbound(Date.now(), 0).length === 0);
  await a.api('/api/optouts', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ number: '13700137000', reason: '电话要求' }) });
  // Sends through the WDGJ interface: charged, one suppressed, and a top-up.
  for (const [tel, body] of [['13800138000', '您的订单已发货'], ['13900000001,13800138001', '双十二优惠'], ['13800138002', 'Your parcel is on its way']]) {
    const reply = await (await fetch(`${a.host.url}/sms?Msg=smsSnd&${WDGJ}&Tel=${tel}&Body=${encodeURIComponent(body!)}`)).text();
    if (reply !== '1') throw new Error(`smsSnd answered ${reply}`);
  }
  await a.api('/api/accounts/shop1/topup', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ amount: 20 }) });
  await boxUntil(a.host.box, 'every send finished', () => {
    const counts = a.host.box.store.queueCounts(0);
    return counts.queued === 0 && counts.sending === 0;
  });
  return a;
}

test.serial('a fresh box that restores a backup has the same opt-outs, accounts, balances, ledger, outbox and inbox, and the shop\'s settings but its own network and admin password', async (t) => {
  const a = await shopBox();
  const b = await startHost({ admin: 'box-b-admin' });
  try {
    const before = await shopData(a);
    t.true(before.outbox.messages.length >= 4 && before.inbox.messages.length === 2 && before.optouts.optouts.length === 2);
    t.true(before.outbox.messages.some((m: { status: string }) => m.status === 'suppressed'));
    const { file, disposition } = await download(a);
    t.regex(disposition ?? '', /^attachment; filename="smsbox-backup-shop-box-\d{8}-\d{4}\.tar\.gz"$/);

    t.deepEqual((await shopData(b)).outbox.messages, []);
    const restart = restarted(b);
    const answer = await upload(b, file);
    t.is(answer.status, 202, JSON.stringify(answer.body));
    t.like(answer.body, { restoring: true, backup: { hostname: 'shop-box', schema_version: SCHEMA_VERSION } });
    t.deepEqual(answer.body.config.restored, ['account', 'billing', 'sms', 'schedule', 'dispatch', 'optout', 'inbound', 'notify']);
    const port = b.host.port;
    await restart;
    t.is(b.host.port, port, 'the same HTTP port');

    // The admin password is still this box's; the data is the shop's.
    t.deepEqual(await shopData(b), before);
    t.is(await (await fetch(`${b.host.url}/sms?Msg=smsBalance&${WDGJ}`)).text(), (await (await fetch(`${a.host.url}/sms?Msg=smsBalance&${WDGJ}`)).text()));
    const config = readFileSync(b.configFile, 'utf8');
    t.regex(config, /box-b-admin/);
    t.notRegex(config, /box-a-admin/);
    t.regex(config, /user = "shop1"/);
    t.is(readFileSync(join(b.dir, 'data', 'config.last-good.toml'), 'utf8'), config, 'a later mistake in the file falls back to the restored settings');
    // The data from before is kept as a pre-restore backup, and the events say what happened.
    const kept = (await b.api('/api/backups')).body.backups as { name: string; reason: string }[];
    t.deepEqual(kept.map((k) => k.reason), ['pre-restore']);
    const events = (await b.api('/api/events')).body.events as { kind: string; message: string }[];
    t.true(events.some((e) => e.kind === 'restored' && e.message.includes(kept[0]!.name)));
  } finally {
    await a.dispose();
    await b.dispose();
  }
});

test.serial('a damaged file or a backup from newer software is refused with a message, and nothing changes', async (t) => {
  const a = await shopBox();
  const b = await startHost({ admin: 'box-b-admin' });
  try {
    const { file } = await download(a);
    // B has data of its own that must survive every refusal.
    t.is(await (await fetch(`${b.host.url}/sms?Msg=smsSnd&User=aaaa&PWD=bbbb&Tel=13800138000&Body=b-own`)).text(), '1');
    const before = await everything(b);
    const box = b.host.box;
    const cases: [string, Buffer | Promise<Buffer>, number, string, RegExp][] = [
      ['newer software', repack(file, (dir, m) => {
        const db = new Database(join(dir, 'smsbox.db'));
        db.pragma(`user_version = ${SCHEMA_VERSION + 3}`);
        db.close();
        m.schema_version = SCHEMA_VERSION + 3;
        m.software_version = '9.9.9';
      }), 409, 'backup-too-new', /9\.9\.9 或更新的版本/],
      ['a flipped byte', (() => { const x = Buffer.from(file); x[Math.floor(x.length / 2)]! ^= 0xff; return x; })(), 400, 'backup-damaged', /已损坏/],
      ['truncated', file.subarray(0, file.length - 200), 400, 'backup-damaged', /不完整/],
      ['not gzip', Buffer.from('smsbox.db,manifest.json\n1,2,3\n'), 400, 'not-a-backup', /不是短信网关的备份文件/],
      ['a wrong sha256', repack(file, (_dir, m) => {
        m.members[0]!.sha256 = '0'.repeat(64);
      }, false), 400, 'backup-damaged', /校验和不符/],
      ['a damaged database with matching checksums', repack(file, (dir) => {
        const path = join(dir, 'smsbox.db');
        const db = new Database(path, { readonly: true });
        const pageSize = db.pragma('page_size', { simple: true }) as number;
        const root = (db.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'outbox'").get() as { rootpage: number }).rootpage;
        db.close();
        // Scribble over the outbox table's root page, past its header: the file opens, its b-tree is wrong.
        const bytes = readFileSync(path);
        bytes.fill(0x41, (root - 1) * pageSize + 8, root * pageSize - 8);
        writeFileSync(path, bytes);
      }), 400, 'backup-damaged', /完整性|无法打开|行数/],
      ['no manifest', (async () => buffer(tarGzStream([{ name: 'smsbox.db', data: Buffer.from('x'), size: 1, mtimeMs: 0 }])))(), 400, 'not-a-backup', /manifest/],
    ];
    for (const [what, body, status, code, message] of cases) {
      const answer = await upload(b, await body);
      t.is(answer.status, status, `${what}: ${JSON.stringify(answer.body)}`);
      t.is(answer.body.error, code, what);
      t.regex(answer.body.message, message, what);
      t.regex(answer.body.message_en, /\w/, what);
    }
    t.deepEqual(await everything(b), before, 'nothing changed');
    t.is(b.host.box, box, 'the box never restarted');
    // And the real file is still accepted afterwards.
    const restart = restarted(b);
    t.is((await upload(b, file)).status, 202);
    await restart;
    t.is((await shopData(b)).outbox.messages.length, (await shopData(a)).outbox.messages.length);
  } finally {
    await a.dispose();
    await b.dispose();
  }
});

test.serial('an upload cut off half way leaves the box running on its data, and the next restore works', async (t) => {
  const a = await startHost({ admin: 'box-a-admin' });
  const b = await startHost({ admin: 'box-b-admin' });
  try {
    t.is(await (await fetch(`${a.host.url}/sms?Msg=smsSnd&User=aaaa&PWD=bbbb&Tel=13800138000&Body=from-a`)).text(), '1');
    t.is(await (await fetch(`${b.host.url}/sms?Msg=smsSnd&User=aaaa&PWD=bbbb&Tel=13800138000&Body=from-b`)).text(), '1');
    const { file } = await download(a);
    const before = await everything(b);
    const box = b.host.box;
    const reading = waitFor(box.ops.backup, 'restore-receiving', () => true, { what: 'the box to start reading the upload' });
    const outcome = waitFor<[{ ok: boolean; code?: string }]>(box.ops.backup, 'restore-outcome', () => true, { what: 'the cut-off restore to end' });
    const req = http.request(`${b.host.url}/api/restore`, { method: 'POST', headers: { ...b.admin, 'content-type': 'application/octet-stream', 'content-length': String(file.length) } });
    req.on('error', () => {});
    req.write(file.subarray(0, Math.floor(file.length / 2)));
    await reading;
    req.destroy();
    const [ended] = await outcome;
    t.like(ended, { ok: false, code: 'upload-aborted' });
    t.is(await (await fetch(`${b.host.url}/sms?Msg=smsAU&User=aaaa&PWD=bbbb`)).text(), '1');
    t.deepEqual(await everything(b), before);
    t.is(b.host.box, box, 'the box never restarted');
    const restart = restarted(b);
    t.is((await upload(b, file)).status, 202);
    await restart;
    t.deepEqual((await shopData(b)).outbox.messages.map((m: { body: string }) => m.body), ['from-a']);
  } finally {
    await a.dispose();
    await b.dispose();
  }
});

test.serial('a crash after the commit point still restores at the restart; a crash before it leaves the old data at the next start', async (t) => {
  const a = await startHost({ admin: 'box-a-admin' });
  const dir = tempDir();
  let b = await startHost({ admin: 'box-b-admin', dir });
  try {
    t.is(await (await fetch(`${a.host.url}/sms?Msg=smsSnd&User=aaaa&PWD=bbbb&Tel=13800138000&Body=from-a`)).text(), '1');
    t.is(await (await fetch(`${b.host.url}/sms?Msg=smsSnd&User=aaaa&PWD=bbbb&Tel=13800138000&Body=from-b`)).text(), '1');
    const { file } = await download(a);

    // Before the commit: the process dies with the restore staged (the seam throws where a crash would stop it).
    b.host.box.ops.backup.seams = { crashAfter: 'staged' };
    t.is((await upload(b, file)).status, 500);
    t.true(existsSync(join(dir, 'data', 'restore')), 'a staged restore was left behind');
    await b.host.close();
    b = await startHost({ admin: 'box-b-admin', dir });
    t.deepEqual((await shopData(b)).outbox.messages.map((m: { body: string }) => m.body), ['from-b']);
    t.false(existsSync(join(dir, 'data', 'restore')));
    t.true(((await b.api('/api/events')).body.events as { kind: string }[]).some((e) => e.kind === 'restore-discarded'));

    // After the commit: the restart's work stops half way, and the store finishes the restore as it opens.
    b.host.box.ops.backup.seams = { crashAfter: 'committed' };
    const failed = waitFor(b.host, 'restart-failed');
    const restart = restarted(b);
    t.is((await upload(b, file)).status, 202);
    await failed;
    await restart;
    t.deepEqual((await shopData(b)).outbox.messages.map((m: { body: string }) => m.body), ['from-a']);
    const kinds = ((await b.api('/api/events')).body.events as { kind: string }[]).map((e) => e.kind);
    t.true(kinds.includes('restored'));
    t.false(kinds.includes('restore-failed'));
  } finally {
    await a.dispose();
    await b.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.serial('a pre-restore backup that fails stops the restore: the box starts again on its own data and says why', async (t) => {
  const a = await startHost({ admin: 'box-a-admin' });
  const b = await startHost({ admin: 'box-b-admin' });
  try {
    t.is(await (await fetch(`${a.host.url}/sms?Msg=smsSnd&User=aaaa&PWD=bbbb&Tel=13800138000&Body=from-a`)).text(), '1');
    t.is(await (await fetch(`${b.host.url}/sms?Msg=smsSnd&User=aaaa&PWD=bbbb&Tel=13800138000&Body=from-b`)).text(), '1');
    const { file } = await download(a);
    const configBefore = readFileSync(b.configFile, 'utf8');
    b.host.box.ops.backup.seams = { preRestoreBackupFails: true };
    const failed = waitFor(b.host, 'restart-failed');
    const restart = restarted(b);
    t.is((await upload(b, file)).status, 202);
    await failed;
    await restart;
    t.deepEqual((await shopData(b)).outbox.messages.map((m: { body: string }) => m.body), ['from-b']);
    t.is(readFileSync(b.configFile, 'utf8'), configBefore);
    t.false(existsSync(join(b.dir, 'data', 'restore')));
    const events = (await b.api('/api/events')).body.events as { kind: string; message: string }[];
    t.true(events.some((e) => e.kind === 'restore-failed' && /数据保持原样/.test(e.message)));
    // And the next attempt works.
    const again = restarted(b);
    t.is((await upload(b, file)).status, 202);
    await again;
    t.deepEqual((await shopData(b)).outbox.messages.map((m: { body: string }) => m.body), ['from-a']);
  } finally {
    await a.dispose();
    await b.dispose();
  }
});

test.serial('messages still queued in a backup come back uncertain, for the shop to resend or mark failed; with the backup\'s resend_uncertain they stay queued', async (t) => {
  // A's modem is still starting (60 s): what it accepts stays queued, as in quiet hours.
  const a = await startHost({ admin: 'box-a-admin' });
  const b = await startHost({ admin: 'box-b-admin' });
  const c = await startHost({ admin: 'box-c-admin' });
  try {
    for (const n of [1, 2]) t.is(await (await fetch(`${a.host.url}/sms?Msg=smsSnd&User=aaaa&PWD=bbbb&Tel=1380013800${n}&Body=queued-${n}`)).text(), '1');
    const { file } = await download(a);

    const restartB = restarted(b);
    const answer = await upload(b, file);
    t.is(answer.status, 202);
    t.is(answer.body.held, 2);
    await restartB;
    const messages = (await shopData(b)).outbox.messages as { status: string; error: string }[];
    t.deepEqual(messages.map((m) => m.status), ['uncertain', 'uncertain']);
    t.regex(messages[0]!.error, /restored from a backup/);
    t.true(((await b.api('/api/events')).body.events as { kind: string }[]).some((e) => e.kind === 'restored-queue-held'));
    // The shop's decision works on them as on any uncertain message.
    const id = (await b.api('/api/messages?limit=1')).body.messages[0].id;
    t.is((await b.api(`/api/messages/${id}/resend`, { method: 'POST' })).body.message.status, 'queued');

    // The shop's policy is the backup's (its [dispatch] is restored): at-least-once keeps them queued.
    const atLeastOnce = await repack(file, (dir) => {
      const toml = join(dir, 'smsbox.toml');
      writeFileSync(toml, readFileSync(toml, 'utf8').replace('[dispatch]\n', '[dispatch]\nresend_uncertain = true\n'));
    });
    const restartC = restarted(c);
    const answerC = await upload(c, atLeastOnce);
    t.is(answerC.body.held, 0);
    await restartC;
    t.deepEqual(((await shopData(c)).outbox.messages as { status: string }[]).map((m) => m.status), ['queued', 'queued']);
  } finally {
    await a.dispose();
    await b.dispose();
    await c.dispose();
  }
});

test.serial('a backup taken while messages are accepted and sent is the data of one moment', async (t) => {
  const a = await startHost({ admin: 'box-a-admin', accounts: SHOP_ACCOUNTS, fastModem: true });
  try {
    const box = a.host.box;
    await boxUntil(box, 'the modem to be ready', () => box.modem.status().state === 'ready');
    // A queue large enough that the copy takes many steps, while the modem works through it.
    const shop1 = box.store.getAccount('shop2')!.id;
    for (let i = 0; i < 3000; i++) {
      box.store.acceptSend({ accountId: shop1, recipients: [`+86138${String(i).padStart(8, '0')}`], invalidNumbers: [], body: `您的订单 #${i} 已发货，快递单号 SF${1000000 + i}`, segments: 1, encoding: 'ucs2', priceLiPerSegment: 100, client: 'test', now: Date.now(), duplicateWindowMs: 0 });
    }
    box.dispatcher.kick();
    let accepted = 0;
    let stop = false;
    const client = (async () => {
      while (!stop) {
        if ((await (await fetch(`${a.host.url}/sms?Msg=smsSnd&${WDGJ}&Tel=13900139${String(accepted % 1000).padStart(3, '0')}&Body=during-${accepted}`)).text()) === '1') accepted++;
      }
    })();
    const sentBefore = box.store.queueCounts(0).sentToday;
    const { file } = await download(a);
    stop = true;
    await client;
    t.true(accepted > 0, 'sends were accepted while the backup was taken');
    t.true(box.store.queueCounts(0).sentToday > sentBefore, 'messages were sent while the backup was taken');

    const dir = tempDir();
    try {
      await extractTarGz(Readable.from([file]), dir, { allowed: new Set(['manifest.json', 'smsbox.db', 'smsbox.toml']), maxTotalBytes: 1 << 30, maxCompressedBytes: 1 << 30 });
      const db = new Database(join(dir, 'smsbox.db'), { readonly: true });
      try {
        t.is(db.pragma('integrity_check', { simple: true }), 'ok');
        for (const acc of db.prepare('SELECT id, balance_li FROM accounts WHERE balance_li IS NOT NULL').all() as { id: number; balance_li: number }[]) {
          const sum = (db.prepare('SELECT COALESCE(SUM(amount_li), 0) AS s FROM ledger WHERE account_id = ?').get(acc.id) as { s: number }).s;
          t.is(sum, acc.balance_li, 'each balance is explained by its ledger');
        }
        const counted = new Map((db.prepare('SELECT status, COUNT(*) AS n FROM outbox GROUP BY status').all() as { status: string; n: number }[]).map((r) => [r.status, r.n]));
        const kept = new Map((db.prepare('SELECT status, n FROM outbox_counts WHERE n > 0').all() as { status: string; n: number }[]).map((r) => [r.status, r.n]));
        t.deepEqual(kept, counted, 'the per-status counts agree with the rows');
        const sentWithoutAttempt = (db.prepare("SELECT COUNT(*) AS n FROM outbox o WHERE status IN ('sent', 'delivered') AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.message_id = o.id AND a.outcome = 'sent')").get() as { n: number }).n;
        t.is(sentWithoutAttempt, 0, 'every sent message has its attempt');
        const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as BackupManifest;
        t.is(manifest.tables['outbox'], [...counted.values()].reduce((x, y) => x + y, 0));
      } finally {
        db.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    await a.dispose();
  }
});

test.serial('the nightly backup keeps the newest 7; kept backups are listed and downloaded by their exact name only', async (t) => {
  let now = Date.parse('2026-12-01T03:27:00+08:00');
  const a = await startHost({ admin: 'box-a-admin', clock: { now: () => now } });
  try {
    for (let night = 0; night < 9; night++) {
      await a.host.box.nightlyBackup();
      now += 86_400_000;
    }
    t.true((await a.host.box.ops.backup.create({ reason: 'pre-update' })).ok);
    const manual = await a.api('/api/backups', { method: 'POST' });
    t.is(manual.status, 201);
    t.like(manual.body.backup, { reason: 'manual' });
    const kept = (await a.api('/api/backups')).body.backups as { name: string; reason: string; size: number; url: string }[];
    t.is(kept.filter((k) => k.reason === 'nightly').length, BACKUPS_KEPT.nightly);
    t.deepEqual(kept.filter((k) => k.reason === 'nightly').map((k) => /-(\d{8})-0327-nightly/.exec(k.name)?.[1]), ['20261209', '20261208', '20261207', '20261206', '20261205', '20261204', '20261203']);
    t.is(kept.filter((k) => k.reason === 'pre-update').length, 1);
    t.is(kept.filter((k) => k.reason === 'manual').length, 1);
    t.deepEqual(readdirSync(join(a.dir, 'data', 'backups')).filter((f) => f.startsWith('.')), [], 'no partial or work files');

    const one = await fetch(`${a.host.url}${kept[0]!.url}`, { headers: a.admin });
    t.is(one.status, 200);
    t.is(Buffer.from(await one.arrayBuffer()).length, kept[0]!.size);
    t.is((await fetch(`${a.host.url}${kept[0]!.url}`)).status, 401, 'admin only');
    // Names that are not a kept backup's, a path, or a link out of the folder are not served.
    symlinkSync('/etc/passwd', join(a.dir, 'data', 'backups', 'smsbox-backup-evil-20261201-0327-nightly.tar.gz'));
    for (const name of ['..%2Fsmsbox.db', '..%2F..%2Fsmsbox.toml', 'smsbox.db', '%2Fetc%2Fpasswd', 'smsbox-backup-evil-20261201-0327-nightly.tar.gz', `${kept[0]!.name}%00`]) {
      t.is((await fetch(`${a.host.url}/api/backups/${name}`, { headers: a.admin })).status, 404, name);
    }
  } finally {
    await a.dispose();
  }
});

test.serial('the backup routes need the admin; too large an upload is answered 413 without being read', async (t) => {
  const a = await startHost({ admin: 'box-a-admin' });
  try {
    t.is((await fetch(`${a.host.url}/api/backup`)).status, 401);
    t.is((await fetch(`${a.host.url}/api/backups`)).status, 401);
    t.is((await fetch(`${a.host.url}/api/restore`, { method: 'POST', body: 'x' })).status, 401);
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(`${a.host.url}/api/restore`, { method: 'POST', headers: { ...a.admin, 'content-type': 'application/octet-stream', 'content-length': String(1024 ** 3) } }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c) => (body += c)).on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      req.write(Buffer.alloc(1024));
    });
    t.is(answer.status, 413);
    t.regex(JSON.parse(answer.body).message, /文件太大/);
    // curl --data-binary without -H sends a form's type: told what to send, not read as a form.
    const { file } = await download(a);
    const asForm = await a.api('/api/restore', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: file });
    t.is(asForm.status, 415);
    t.is(asForm.body.error, 'unsupported-body');
    t.regex(asForm.body.message, /application\/octet-stream/);
    t.is(await (await fetch(`${a.host.url}/sms?Msg=smsAU&User=aaaa&PWD=bbbb`)).text(), '1');
  } finally {
    await a.dispose();
  }
});

/** A browser logged in to the box: its session cookie and the page's CSRF token. */
async function browserLogin(h: TestHost, password: string): Promise<{ cookie: string; csrf: string }> {
  const res = await fetch(`${h.host.url}/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ password, next: '/settings' }).toString() });
  if (res.status !== 303) throw new Error(`login answered ${res.status}`);
  const cookie = res.headers.get('set-cookie')!.split(';')[0]!;
  const page = await (await fetch(`${h.host.url}/settings`, { headers: { cookie } })).text();
  return { cookie, csrf: /name="csrf-token" content="([^"]+)"/.exec(page)![1]! };
}

test.serial('the 设置 page offers 下载备份, the kept backups and 恢复备份; its upload needs the page\'s CSRF token and restores', async (t) => {
  const a = await startHost({ admin: 'box-a-admin' });
  const b = await startHost({ admin: 'box-b-admin' });
  try {
    t.is(await (await fetch(`${a.host.url}/sms?Msg=smsSnd&User=aaaa&PWD=bbbb&Tel=13800138000&Body=from-a`)).text(), '1');
    await a.host.box.nightlyBackup();
    const [kept] = a.host.box.ops.backup.list();
    const browserA = await browserLogin(a, 'box-a-admin');
    const page = await (await fetch(`${a.host.url}/settings`, { headers: { cookie: browserA.cookie } })).text();
    for (const text of ['备份与恢复', '下载备份', '恢复备份', 'href="/api/backup"', 'id="restore-form"', '每晚自动', `/api/backups/${kept!.name}`]) t.true(page.includes(text), text);
    t.regex(page, /<script nonce="[^"]+">[\s\S]*fetch\('\/api\/restore'/);
    const english = await (await fetch(`${a.host.url}/settings?lang=en`, { headers: { cookie: browserA.cookie } })).text();
    t.true(english.includes('Download a backup') && english.includes('Backups kept on the box') && english.includes('nightly'));
    // The page's download links work with the browser's session.
    const download = await fetch(`${a.host.url}/api/backup`, { headers: { cookie: browserA.cookie } });
    t.is(download.status, 200);
    const file = Buffer.from(await download.arrayBuffer());

    const browserB = await browserLogin(b, 'box-b-admin');
    const noToken = await fetch(`${b.host.url}/api/restore`, { method: 'POST', headers: { cookie: browserB.cookie, 'content-type': 'application/octet-stream' }, body: file });
    t.is(noToken.status, 403);
    const restart = restarted(b);
    const withToken = await fetch(`${b.host.url}/api/restore`, { method: 'POST', headers: { cookie: browserB.cookie, 'x-csrf-token': browserB.csrf, 'content-type': 'application/octet-stream' }, body: file });
    t.is(withToken.status, 202);
    await restart;
    t.deepEqual((await shopData(b)).outbox.messages.map((m: { body: string }) => m.body), ['from-a']);
    // Sessions live in memory: after the restart the page asks for a login again.
    t.is((await fetch(`${b.host.url}/settings`, { headers: { cookie: browserB.cookie }, redirect: 'manual' })).status, 303);
  } finally {
    await a.dispose();
    await b.dispose();
  }
});
