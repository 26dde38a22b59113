import test from 'ava';
import { readFileSync, rmSync, writeFileSync, truncateSync, statSync } from 'node:fs';
import { HEADER_BYTES, verifyBundle, type BundleExpectations } from '../../src/update/bundle.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { tempDir } from '../helpers/box.js';
import { makeBundle, testKeys } from '../helpers/update.js';

const box: BundleExpectations = { arch: process.arch, nodeAbi: process.versions.modules, schema: MIGRATIONS.length };

test('a bundle signed with the release key passes, and its manifest names the payload', async (t) => {
  const dir = tempDir();
  const keys = testKeys();
  const { file, manifest } = await makeBundle(dir, keys.privateKey, { version: '1.2.3' });
  const verified = await verifyBundle(file, keys.publicKey, box);
  t.true(verified.ok);
  if (verified.ok) {
    t.deepEqual(verified.value.manifest, manifest);
    t.is(verified.value.manifest.version, '1.2.3');
    t.is(statSync(file).size - verified.value.payloadOffset, manifest.payload_size);
  }
  rmSync(dir, { recursive: true, force: true });
});

test('a bundle signed with another key, or not signed, is refused as wrongly signed', async (t) => {
  const dir = tempDir();
  const { file } = await makeBundle(dir, testKeys().privateKey);
  const refused = await verifyBundle(file, testKeys().publicKey, box);
  t.like(refused, { ok: false, code: 'update-bad-signature', httpStatus: 400 });
  if (!refused.ok) t.regex(refused.message, /签名/);

  const unsigned = Buffer.from(readFileSync(file));
  unsigned.fill(0, 12, HEADER_BYTES);
  writeFileSync(file, unsigned);
  t.like(await verifyBundle(file, testKeys().publicKey, box), { ok: false, code: 'update-bad-signature' });
  rmSync(dir, { recursive: true, force: true });
});

test('a changed manifest (a version edited by hand) breaks the signature', async (t) => {
  const dir = tempDir();
  const keys = testKeys();
  const { file } = await makeBundle(dir, keys.privateKey, { version: '1.2.3' });
  const bytes = readFileSync(file);
  const at = bytes.indexOf(Buffer.from('1.2.3'));
  bytes.write('1.2.4', at);
  writeFileSync(file, bytes);
  t.like(await verifyBundle(file, keys.publicKey, box), { ok: false, code: 'update-bad-signature' });
  rmSync(dir, { recursive: true, force: true });
});

test('a damaged payload (one byte changed) or a truncated download is refused as damaged', async (t) => {
  const dir = tempDir();
  const keys = testKeys();
  const { file } = await makeBundle(dir, keys.privateKey);
  const bytes = readFileSync(file);
  bytes[bytes.length - 10] = bytes[bytes.length - 10]! ^ 0xff;
  writeFileSync(file, bytes);
  const flipped = await verifyBundle(file, keys.publicKey, box);
  t.like(flipped, { ok: false, code: 'update-damaged', httpStatus: 400 });
  if (!flipped.ok) t.regex(flipped.message_en, /damaged/);

  const second = await makeBundle(dir, keys.privateKey);
  truncateSync(second.file, statSync(second.file).size - 100);
  t.like(await verifyBundle(second.file, keys.publicKey, box), { ok: false, code: 'update-damaged' });
  truncateSync(second.file, 40);
  t.like(await verifyBundle(second.file, keys.publicKey, box), { ok: false, code: 'update-not-a-bundle' });
  rmSync(dir, { recursive: true, force: true });
});

test('a file that is no bundle at all is refused as such', async (t) => {
  const dir = tempDir();
  const file = `${dir}/backup.tar.gz`;
  writeFileSync(file, Buffer.alloc(4096, 7));
  const refused = await verifyBundle(file, testKeys().publicKey, box);
  t.like(refused, { ok: false, code: 'update-not-a-bundle', httpStatus: 400 });
  rmSync(dir, { recursive: true, force: true });
});

test('a bundle for another architecture or another Node.js is refused before anything is unpacked', async (t) => {
  const dir = tempDir();
  const keys = testKeys();
  const other = process.arch === 'arm64' ? 'x64' : 'arm64';
  const wrongArch = await makeBundle(dir, keys.privateKey, { arch: other });
  const refused = await verifyBundle(wrongArch.file, keys.publicKey, box);
  t.like(refused, { ok: false, code: 'update-wrong-arch' });
  if (!refused.ok) t.true(refused.message_en.includes(other));
  const wrongAbi = await makeBundle(dir, keys.privateKey, { node_abi: '1' });
  t.like(await verifyBundle(wrongAbi.file, keys.publicKey, box), { ok: false, code: 'update-wrong-arch' });
  rmSync(dir, { recursive: true, force: true });
});

test('a bundle whose code is older than the database (it would refuse the data) is refused', async (t) => {
  const dir = tempDir();
  const keys = testKeys();
  const { file } = await makeBundle(dir, keys.privateKey, { schema: MIGRATIONS.length - 1 });
  t.like(await verifyBundle(file, keys.publicKey, box), { ok: false, code: 'update-older-than-data', httpStatus: 409 });
  t.true((await verifyBundle(file, keys.publicKey, { ...box, schema: MIGRATIONS.length - 1 })).ok);
  rmSync(dir, { recursive: true, force: true });
});
