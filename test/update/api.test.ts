/**
 * POST /api/update and the settings page's 上传更新 (src/web/update.ts over
 * src/update/receive.ts): what the web process accepts, what it refuses, and
 * that a refusal changes nothing.
 */
import test from 'ava';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import { DEFAULT_ADMIN_PASSWORD } from '../../src/config/config.js';
import { updatePaths } from '../../src/update/files.js';
import { basicAuth, startTestBox, tempDir, type TestBox } from '../helpers/box.js';
import { makeBundle, testKeys } from '../helpers/update.js';

const admin = basicAuth(DEFAULT_ADMIN_PASSWORD);

async function applianceBox(over: Parameters<typeof startTestBox>[0] = {}, update: NonNullable<Parameters<typeof startTestBox>[0]>['update'] = {}) {
  const dir = tempDir();
  const keys = testKeys();
  const keyFile = join(dir, 'update-key.pub');
  writeFileSync(keyFile, keys.publicPem);
  const backups: string[] = [];
  const box = await startTestBox({
    ...over,
    update: {
      slot: 'a',
      publicKeyFile: keyFile,
      stateDir: join(dir, 'root-state'),
      backupBeforeUpdate: async () => {
        backups.push('taken');
        return 'smsbox-backup-test.tar.gz';
      },
      ...update,
    },
  });
  return { box, dir, keys, backups, paths: updatePaths(box.dataDir, join(dir, 'root-state')) };
}

async function upload(box: TestBox, body: Buffer, headers: Record<string, string> = admin, type = 'application/octet-stream') {
  const res = await fetch(`${box.url}/api/update`, { method: 'POST', headers: { 'content-type': type, ...headers }, body });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** Nothing in the app's update folder but what was there: no partial upload, no bundle, no request. */
function untouched(t: import('ava').ExecutionContext, paths: ReturnType<typeof updatePaths>) {
  const left = existsSync(paths.incoming) ? readdirSync(paths.incoming) : [];
  t.deepEqual(left, [], 'nothing left in the update folder');
}

test('a signed bundle is received, backed up first, and handed to the root side (202)', async (t) => {
  const { box, dir, keys, backups, paths } = await applianceBox();
  try {
    const { file } = await makeBundle(dir, keys.privateKey, { version: '2.0.0' });
    const { status, json } = await upload(box, readFileSync(file));
    t.is(status, 202);
    t.like(json, { accepted: true, version: '2.0.0', backup: 'smsbox-backup-test.tar.gz' });
    t.regex(String(json['message']), /自动恢复/);
    t.deepEqual(backups, ['taken']);
    t.deepEqual(readFileSync(paths.bundle), readFileSync(file));
    t.like(JSON.parse(readFileSync(paths.request, 'utf8')), { version: '2.0.0', backup: 'smsbox-backup-test.tar.gz' });
    t.false(existsSync(paths.partial));
    // One update at a time: a second upload waits for the first.
    const again = await upload(box, readFileSync(file));
    t.is(again.status, 409);
    t.is(again.json['error'], 'update-busy');
    const state = await box.get('/api/update', admin);
    t.like(JSON.parse(state.body), { available: true, slot: 'a', pending: { version: '2.0.0' } });
  } finally {
    await box.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const [name, make, code, status] of [
  ['signed with another key', async (dir: string) => (await makeBundle(dir, testKeys().privateKey)).file, 'update-bad-signature', 400],
  ['for another architecture', async (dir: string, key: import('node:crypto').KeyObject) => (await makeBundle(dir, key, { arch: process.arch === 'arm64' ? 'x64' : 'arm64' })).file, 'update-wrong-arch', 400],
  ['damaged', async (dir: string, key: import('node:crypto').KeyObject) => {
    const { file } = await makeBundle(dir, key);
    const bytes = readFileSync(file);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 1;
    writeFileSync(file, bytes);
    return file;
  }, 'update-damaged', 400],
  ['not a bundle (a photo)', async (dir: string) => {
    writeFileSync(join(dir, 'photo.jpg'), Buffer.alloc(5000, 0xff));
    return join(dir, 'photo.jpg');
  }, 'update-not-a-bundle', 400],
] as const) {
  test(`a bundle ${name} is refused with ${status} and a message, and nothing changes`, async (t) => {
    const { box, dir, keys, backups, paths } = await applianceBox();
    try {
      const file = await make(dir, keys.privateKey);
      const { status: got, json } = await upload(box, readFileSync(file));
      t.is(got, status);
      t.is(json['error'], code);
      t.regex(String(json['message']), /[\u4e00-\u9fff]/, 'a Chinese message');
      t.regex(String(json['message_en']), /nothing on the box was changed/i);
      t.deepEqual(backups, [], 'no backup taken for a refused file');
      untouched(t, paths);
    } finally {
      await box.dispose();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('the upload is bounded: a declared size over the limit is refused before the body is read, a longer body is cut off', async (t) => {
  const { box, dir, paths } = await applianceBox({}, { maxBundleBytes: 4096 });
  try {
    const declared = await upload(box, Buffer.alloc(5000, 1));
    t.is(declared.status, 413);
    t.is(declared.json['error'], 'update-too-large');
    // Chunked, no Content-Length: counted while it arrives.
    const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${box.url}/api/update`, { method: 'POST', headers: { ...admin, 'content-type': 'application/octet-stream', 'transfer-encoding': 'chunked' } }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      for (let i = 0; i < 10; i++) req.write(Buffer.alloc(1024, i));
      req.end();
    });
    t.is(chunked.status, 413);
    untouched(t, paths);
    // The box runs on.
    t.is((await box.get('/sms?Msg=smsAU&User=aaaa&PWD=bbbb')).body, '1');
  } finally {
    await box.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failed pre-update backup refuses the update and changes nothing', async (t) => {
  const { box, dir, keys, paths } = await applianceBox({}, { backupBeforeUpdate: async () => { throw new Error('disk full'); } });
  try {
    const { file } = await makeBundle(dir, keys.privateKey);
    const { status, json } = await upload(box, readFileSync(file));
    t.is(status, 503);
    t.is(json['error'], 'update-backup-failed');
    untouched(t, paths);
  } finally {
    await box.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('updates need the admin, and the upload itself as application/octet-stream', async (t) => {
  const { box, dir, keys, paths } = await applianceBox();
  try {
    const { file } = await makeBundle(dir, keys.privateKey);
    t.is((await upload(box, readFileSync(file), {})).status, 401);
    t.is((await upload(box, readFileSync(file), basicAuth('wrong'))).status, 401);
    const form = await upload(box, readFileSync(file), admin, 'multipart/form-data; boundary=x');
    t.is(form.status, 415);
    untouched(t, paths);
  } finally {
    await box.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('outside the appliance (npm start: no slots) /api/update refuses with what to do instead', async (t) => {
  const box = await startTestBox();
  try {
    const res = await fetch(`${box.url}/api/update`, { method: 'POST', headers: { ...admin, 'content-type': 'application/octet-stream' }, body: Buffer.from('SMSBUPD1') });
    t.is(res.status, 409);
    const json = (await res.json()) as Record<string, string>;
    t.is(json['error'], 'update-unavailable');
    t.regex(json['message_en']!, /git pull/);
    const status = JSON.parse((await box.get('/api/status')).body) as { version: string; slot: string | null };
    t.is(status.slot, null);
    t.regex(status.version, /^\d+\.\d+\.\d+/);
  } finally {
    await box.dispose();
  }
});

test('/api/status, the overview and the settings page show the version and the slot', async (t) => {
  const { box, dir } = await applianceBox();
  try {
    const status = JSON.parse((await box.get('/api/status')).body) as { version: string; slot: string | null };
    t.is(status.slot, 'a');
    const pkg = JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8')) as { version: string };
    t.true(status.version.startsWith(pkg.version));
    const home = await box.get('/');
    t.regex(home.body, new RegExp(`<span id="version">${status.version.replace(/[.+]/g, '\\$&')}</span>`));
    t.regex(home.body, /<span id="slot">a<\/span>/);
    const login = await fetch(`${box.url}/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: box.url }, body: `password=${DEFAULT_ADMIN_PASSWORD}&next=/settings` });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const settings = await box.get('/settings', { cookie });
    t.is(settings.status, 200);
    t.regex(settings.body, /id="update-upload"/);
    t.regex(settings.body, /<script nonce="/);
  } finally {
    await box.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an upload cut off half-way leaves nothing behind, and the next upload is taken', async (t) => {
  const { UpdateReceiver } = await import('../../src/update/receive.js');
  const { PassThrough } = await import('node:stream');
  const dir = tempDir();
  const keys = testKeys();
  writeFileSync(join(dir, 'key.pub'), keys.publicPem);
  const data = join(dir, 'data');
  const receiver = new UpdateReceiver(data, dir, () => 0, { slot: 'a', publicKeyFile: join(dir, 'key.pub'), stateDir: join(dir, 'state') });
  const { file } = await makeBundle(dir, keys.privateKey);
  const bytes = readFileSync(file);
  // The client goes away after half the file: the request stream errors.
  const cut = Object.assign(new PassThrough(), { headers: { 'content-length': String(bytes.length) } });
  const receiving = receiver.receive(cut as never);
  cut.write(bytes.subarray(0, bytes.length >> 1));
  cut.destroy(new Error('aborted'));
  await t.throwsAsync(receiving, { message: /aborted/ });
  const paths = updatePaths(data, join(dir, 'state'));
  untouched(t, paths);
  t.is(receiver.admit(bytes.length), null, 'not left busy');
  const whole = Object.assign(new PassThrough(), { headers: { 'content-length': String(bytes.length) } });
  const again = receiver.receive(whole as never);
  whole.end(bytes);
  t.like(await again, { ok: true });
  t.true(existsSync(paths.request));
  rmSync(dir, { recursive: true, force: true });
});

test('the outcome of the last update is an event on the overview, once', async (t) => {
  const dir = tempDir();
  const data = join(dir, 'data');
  const state = join(dir, 'root-state');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(state, { recursive: true });
  writeFileSync(join(state, 'result.json'), JSON.stringify({
    id: '20261202T0930-abc123', outcome: 'rolled-back', from_version: '0.1.0+aaaaaaa', to_version: '0.2.0+bbbbbbb', from_slot: 'a', to_slot: 'b',
    started_at: '2026-12-02T09:30:00Z', finished_at: '2026-12-02T09:32:00Z', seconds: 120,
    message: '新版本 0.2.0+bbbbbbb 在 90 秒内没有应答 smsAU，已自动恢复到原来的版本', message_en: 'the new version did not answer smsAU within 90 s; went back to the previous version',
  }));
  const events = async (box: TestBox) => (JSON.parse((await box.get('/api/events', admin)).body) as { events: Array<{ kind: string; level: string; message: string }> }).events.filter((e) => e.kind.startsWith('update-'));
  for (const round of [1, 2]) {
    const box = await startTestBox({ dataDir: data, update: { slot: 'a', stateDir: state, publicKeyFile: join(dir, 'none.pub') } });
    try {
      const seen = await events(box);
      t.is(seen.length, 1, `round ${round}: announced once, not at every start`);
      t.like(seen[0], { kind: 'update-rolled-back', level: 'error' });
      t.regex(seen[0]!.message, /自动恢复/);
    } finally {
      await box.close();
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

test('the box backs up its own data before an update: the pre-update backup is kept and listed', async (t) => {
  const dir = tempDir();
  const keys = testKeys();
  const keyFile = join(dir, 'update-key.pub');
  writeFileSync(keyFile, keys.publicPem);
  const box = await startTestBox({ update: { slot: 'a', publicKeyFile: keyFile, stateDir: join(dir, 'root-state') } });
  try {
    const { file } = await makeBundle(dir, keys.privateKey, { version: '2.0.0' });
    const { status, json } = await upload(box, readFileSync(file));
    t.is(status, 202);
    t.regex(String(json['backup']), /^smsbox-backup-.+\.tar\.gz$/);
    const listed = JSON.parse((await box.get('/api/backups', admin)).body) as { backups: { name: string; reason: string }[] };
    t.deepEqual(listed.backups.map((b) => [b.name, b.reason]), [[json['backup'], 'pre-update']]);
    const paths = updatePaths(box.dataDir, join(dir, 'root-state'));
    t.like(JSON.parse(readFileSync(paths.request, 'utf8')), { version: '2.0.0', backup: json['backup'] });
  } finally {
    await box.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
