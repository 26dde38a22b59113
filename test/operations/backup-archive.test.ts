/**
 * The backup file's container (src/operations/archive.ts): what it writes is
 * a tar.gz that GNU tar reads, what it reads is refused unless it is exactly
 * what a backup is; and the config sections a restore brings over
 * (src/config/restore.ts).
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { gzipSync } from 'node:zlib';
import { ArchiveError, extractTarGz, SourceFailedError, tarGzStream, ustarHeader, type ArchiveMember } from '../../src/operations/archive.js';
import { parseConfig } from '../../src/config/config.js';
import { mergeRestoredConfig } from '../../src/config/restore.js';
import { tempDir } from '../helpers/box.js';
import { testWithTools, type Tool } from '../helpers/tools.js';

const TAR: Tool = { name: 'tar', apt: 'tar' };

const ALLOWED = new Set(['manifest.json', 'smsbox.db', 'smsbox.toml']);
const LIMITS = { allowed: ALLOWED, maxTotalBytes: 10 * 1024 * 1024, maxCompressedBytes: 10 * 1024 * 1024 };

function members(dir: string): ArchiveMember[] {
  const big = Buffer.alloc(70_000 + 17);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251;
  writeFileSync(join(dir, 'db'), big);
  const manifest = Buffer.from('{"format":"smsbox-backup"}\n');
  return [
    { name: 'manifest.json', data: manifest, size: manifest.length, mtimeMs: 0 },
    { name: 'smsbox.db', file: join(dir, 'db'), size: big.length, mtimeMs: 0 },
    { name: 'smsbox.toml', data: Buffer.alloc(0), size: 0, mtimeMs: 0 },
  ];
}

async function withDirs(run: (src: string, out: string) => Promise<void>): Promise<void> {
  const root = tempDir();
  const src = join(root, 'src');
  const out = join(root, 'out');
  mkdirSync(src);
  mkdirSync(out);
  try {
    await run(src, out);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

test('what is written is read back byte for byte, with each member hashed', async (t) => {
  await withDirs(async (src, out) => {
    const archive = await buffer(tarGzStream(members(src)));
    const got = await extractTarGz(Readable.from([archive]), out, LIMITS);
    t.deepEqual(got.map((m) => [m.name, m.size]), [['manifest.json', 27], ['smsbox.db', 70_017], ['smsbox.toml', 0]]);
    t.deepEqual(readFileSync(join(out, 'smsbox.db')), readFileSync(join(src, 'db')));
    t.regex(got[1]!.sha256, /^[0-9a-f]{64}$/);
  });
});

testWithTools([TAR])('GNU tar reads the archive (a technician can open a backup by hand)', async (t) => {
  await withDirs(async (src, out) => {
    writeFileSync(join(src, 'b.tar.gz'), await buffer(tarGzStream(members(src))));
    t.is(execFileSync('tar', ['-tzf', join(src, 'b.tar.gz')], { encoding: 'utf8' }), 'manifest.json\nsmsbox.db\nsmsbox.toml\n');
    execFileSync('tar', ['-xzf', join(src, 'b.tar.gz'), '-C', out]);
    t.deepEqual(readFileSync(join(out, 'smsbox.db')), readFileSync(join(src, 'db')));
  });
});

const refusals: [string, (archive: Buffer, src: string) => Buffer | Promise<Buffer>, ArchiveError['kind']][] = [
  ['not gzip at all', () => Buffer.from('PK\x03\x04 a zip file, not a backup'), 'not-gzip'],
  ['cut off half way', (a) => a.subarray(0, Math.floor(a.length / 2)), 'truncated'],
  ['one byte flipped in the compressed data', (a) => { const b = Buffer.from(a); b[Math.floor(b.length / 2)]! ^= 0x55; return b; }, 'corrupt'],
  ['gzip of something that is not tar', () => gzipSync(Buffer.alloc(2048, 'x')), 'not-tar'],
  ['a member with another name (a path)', () => gzipSync(Buffer.concat([ustarHeader('../../etc/passwd', 0, 0), Buffer.alloc(1024)])), 'unexpected-member'],
  ['a tar that stops inside a member', () => gzipSync(ustarHeader('smsbox.db', 4096, 0)), 'truncated'],
  ['more than the limit once unpacked', () => gzipSync(Buffer.concat([ustarHeader('smsbox.db', 20 * 1024 * 1024, 0), Buffer.alloc(20 * 1024 * 1024), Buffer.alloc(1024)])), 'too-large'],
];

for (const [what, damage, kind] of refusals) {
  test(`refused: ${what}`, async (t) => {
    await withDirs(async (src, out) => {
      const archive = await buffer(tarGzStream(members(src)));
      const error = await t.throwsAsync(extractTarGz(Readable.from([await damage(archive, src)]), out, LIMITS));
      t.true(error instanceof ArchiveError, String(error));
      t.is((error as ArchiveError).kind, kind);
    });
  });
}

test('a source that fails (an upload cut off) is told apart from a damaged archive', async (t) => {
  await withDirs(async (src, out) => {
    const archive = await buffer(tarGzStream(members(src)));
    const source = new Readable({ read() {} });
    source.push(archive.subarray(0, 1000));
    setImmediate(() => source.destroy(new Error('aborted')));
    await t.throwsAsync(extractTarGz(source, out, LIMITS), { instanceOf: SourceFailedError });
  });
});

test('a compressed stream over the limit is refused without reading it all', async (t) => {
  await withDirs(async (src, out) => {
    const archive = await buffer(tarGzStream(members(src)));
    const error = await t.throwsAsync(extractTarGz(Readable.from([archive]), out, { ...LIMITS, maxCompressedBytes: 100 }));
    t.is((error as ArchiveError).kind, 'too-large');
  });
});

const THIS_BOX = `\ufeff# 本机配置 / this box
[http]
port = 8081
host = "0.0.0.0"

[admin]
password = "this-box-secret"

[[account]]
user = "demo"
password = "demo-password"
balance = 1.00

[modem]
device = "/dev/ttyUSB2"
hat = "ec25"
`;

const OTHER_BOX = `[http]
port = 9999

[admin]
password = "other-box-secret"

[billing]
price_per_segment = 0.08

[[account]]
user = "shop1"
password = "shop1-password"
balance = 50

[[account]]
user = "shop2"
password = "shop2-password"

[schedule]
quiet_hours = "22:00-08:00"

[optout]
footer = "回T退订"

[modem]
device = "/dev/serial0"
`;

test('a restore takes the shop\'s sections from the backup and keeps this box\'s network, admin password and modem', (t) => {
  const merged = mergeRestoredConfig(THIS_BOX, OTHER_BOX);
  const config = parseConfig(merged, 'smsbox.toml');
  t.is(config.http.port, 8081);
  t.is(config.admin.password, 'this-box-secret');
  t.is(config.modem.device, '/dev/ttyUSB2');
  t.is(config.modem.hat, 'ec25');
  t.deepEqual(config.accounts.map((a) => a.user), ['shop1', 'shop2']);
  t.is(config.accounts[0]!.balanceLi, 50_000);
  t.is(config.billing.pricePerSegmentLi, 80);
  t.is(config.schedule.quietHoursText, '22:00-08:00');
  t.is(config.optout.footer, '回T退订');
  t.true(merged.startsWith('\ufeff# 本机配置'), 'the file keeps its BOM and its first comments');
  t.notRegex(merged, /other-box-secret|9999|serial0/);
});
