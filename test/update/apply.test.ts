/**
 * The root side's state machine (src/update/apply.ts) on real files: slots
 * with a `current` link, a database file, the journal, GNU tar unpacking a
 * real bundle checked with a throwaway key. Only systemd and the HTTP health
 * check are stood in for: the fake service "runs" whatever slot `current`
 * names, and a version's health is what the test says it is. A crash is an
 * exception thrown out of run() at a chosen step, after which a new applier
 * (the unit started again at boot) must finish the job.
 */
import test from 'ava';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyObject } from 'node:crypto';
import { UpdateApplier, versionOfSlot, MAX_ATTEMPTS, type ApplyPlatform, type Journal } from '../../src/update/apply.js';
import { verifyBundle, writeBundle } from '../../src/update/bundle.js';
import { execFileSync } from 'node:child_process';
import { updatePaths, readJson, type UpdateResult } from '../../src/update/files.js';
import { unpackPayload } from '../../src/update/platform.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { tempDir } from '../helpers/box.js';
import { makeBundle, testKeys } from '../helpers/update.js';

class Crash extends Error {}

interface Fixture {
  root: string;
  slots: string;
  data: string;
  state: string;
  keys: { privateKey: KeyObject; publicKey: KeyObject };
  calls: string[];
  paths: ReturnType<typeof updatePaths>;
  /** Versions that pass the health check. */
  healthy: Set<string>;
  /** Throws Crash when it returns true for a step. */
  crashAt: ((step: string) => boolean) | null;
  /** What the "running" app does to the database when it starts (a new version migrates it). */
  onStart: (version: string | null) => void;
  applier(): UpdateApplier;
  running: string | null;
}

const OLD = '1.0.0+aaaaaaa';
const NEW = '2.0.0+c0ffee1';

async function fixture(): Promise<Fixture> {
  const root = tempDir('smsbox-update-');
  const slots = join(root, 'opt');
  const data = join(root, 'data');
  const state = join(root, 'state');
  mkdirSync(join(slots, 'a', 'dist', 'src'), { recursive: true });
  writeFileSync(join(slots, 'a', 'package.json'), JSON.stringify({ version: '1.0.0' }));
  writeFileSync(join(slots, 'a', '.commit'), 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n');
  writeFileSync(join(slots, 'a', 'dist', 'src', 'cli.js'), '');
  symlinkSync('a', join(slots, 'current'));
  symlinkSync('a', join(slots, 'good'));
  mkdirSync(data, { recursive: true });
  writeFileSync(join(data, 'smsbox.db'), 'old database');
  writeFileSync(join(data, 'smsbox.db-wal'), 'old wal');
  const keys = testKeys();
  const f: Fixture = {
    root, slots, data, state, keys, calls: [], paths: updatePaths(data, state),
    healthy: new Set([OLD, NEW]),
    crashAt: null,
    running: null,
    onStart: (version) => {
      if (version === NEW) writeFileSync(join(data, 'smsbox.db'), 'migrated by the new version');
    },
    applier: () => new UpdateApplier({ dataDir: data, stateDir: state, slotsRoot: slots, platform, healthTimeoutMs: 90_000 }),
  };
  const step = (name: string) => {
    f.calls.push(name);
    if (f.crashAt?.(name)) throw new Crash(`crash at ${name}`);
  };
  const platform: ApplyPlatform = {
    async verify(bundle) {
      step('verify');
      return verifyBundle(bundle, keys.publicKey, { arch: process.arch, nodeAbi: process.versions.modules, schema: MIGRATIONS.length });
    },
    async unpack(bundle, offset, into) {
      step('unpack');
      await unpackPayload(bundle, offset, into);
    },
    async stopApp() {
      step('stop');
      f.running = null;
    },
    async startApp() {
      step('start');
      f.running = versionOfSlot(join(slots, 'current'));
      f.onStart(f.running);
    },
    async waitHealthy(version) {
      step(`health ${version}`);
      return f.running === version && version !== null && f.healthy.has(version);
    },
    versionOf: versionOfSlot,
    now: () => Date.parse('2026-12-02T09:00:00Z'),
    log: (line) => step(`log ${line.replace(/^\[[^\]]+\] /, '')}`),
  };
  return f;
}

/** What the web process leaves for the root side: the checked bundle and the request. */
async function request(f: Fixture, over: Parameters<typeof makeBundle>[2] = { version: '2.0.0' }, key = f.keys.privateKey): Promise<void> {
  const { file } = await makeBundle(f.root, key, over);
  mkdirSync(f.paths.incoming, { recursive: true });
  copyFileSync(file, f.paths.bundle);
  writeFileSync(f.paths.request, JSON.stringify({ requested_at: 'now', version: '2.0.0', commit: 'c0ffee1', backup: null }));
}

const current = (f: Fixture) => readlinkSync(join(f.slots, 'current'));
const db = (f: Fixture) => readFileSync(join(f.data, 'smsbox.db'), 'utf8');
const result = (f: Fixture) => readJson<UpdateResult>(f.paths.result);
const journal = (f: Fixture) => readJson<Journal>(f.paths.state);
const finishedCleanly = (f: Fixture) => !existsSync(f.paths.request) && !existsSync(f.paths.bundle) && !existsSync(f.paths.state) && !existsSync(f.paths.ownBundle);

test('nothing requested: nothing done', async (t) => {
  const f = await fixture();
  t.is(await f.applier().run(), null);
  t.deepEqual(f.calls, []);
  t.is(current(f), 'a');
  rmSync(f.root, { recursive: true, force: true });
});

test('verify → unpack → save → switch → healthy: the new version runs from the other slot, the old database is kept for a rollback', async (t) => {
  const f = await fixture();
  await request(f);
  const done = await f.applier().run();
  t.like(done, { outcome: 'updated', from_version: OLD, to_version: NEW, from_slot: 'a', to_slot: 'b' });
  t.is(current(f), 'b');
  t.is(readlinkSync(join(f.slots, 'good')), 'b', 'the next update is driven by the version now proven');
  t.is(versionOfSlot(join(f.slots, 'b')), NEW);
  t.is(f.running, NEW);
  t.deepEqual(f.calls.filter((c) => !c.startsWith('log')), ['verify', 'unpack', 'stop', 'start', `health ${NEW}`]);
  // The database as the old version left it, WAL included, for a rollback.
  t.is(readFileSync(join(f.paths.preUpdate, 'smsbox.db'), 'utf8'), 'old database');
  t.is(readFileSync(join(f.paths.preUpdate, 'smsbox.db-wal'), 'utf8'), 'old wal');
  t.like(result(f), { outcome: 'updated' });
  t.true(finishedCleanly(f));
  t.regex(readFileSync(f.paths.log, 'utf8'), /update done/);
  t.false(existsSync(join(f.slots, 'b.unpacking')));
  rmSync(f.root, { recursive: true, force: true });
});

test('a wrongly signed bundle is refused by the root side itself: the app is never stopped, nothing switched', async (t) => {
  const f = await fixture();
  await request(f, { version: '2.0.0' }, testKeys().privateKey);
  t.like(await f.applier().run(), { outcome: 'refused' });
  t.deepEqual(f.calls.filter((c) => !c.startsWith('log')), ['verify']);
  t.is(current(f), 'a');
  t.false(existsSync(join(f.slots, 'b')));
  t.is(db(f), 'old database');
  t.true(finishedCleanly(f));
  rmSync(f.root, { recursive: true, force: true });
});

test('a bundle whose payload is not an app fails at unpacking, before the old version is stopped', async (t) => {
  const f = await fixture();
  // Signed, but without dist/src/cli.js: a release built wrong.
  const empty = join(f.root, 'empty.tar.gz');
  mkdirSync(join(f.root, 'nothing'));
  execFileSync('tar', ['-czf', empty, '-C', join(f.root, 'nothing'), '.']);
  mkdirSync(f.paths.incoming, { recursive: true });
  await writeBundle(f.paths.bundle, empty, { version: '2.0.0', commit: 'c0ffee1', created_at: 'now', platform: 'linux', arch: process.arch, node_abi: process.versions.modules, schema: MIGRATIONS.length }, f.keys.privateKey);
  writeFileSync(f.paths.request, '{}');
  t.like(await f.applier().run(), { outcome: 'failed' });
  t.false(f.calls.includes('stop'));
  t.is(current(f), 'a');
  t.false(existsSync(join(f.slots, 'b')));
  t.false(existsSync(join(f.slots, 'b.unpacking')));
  t.true(finishedCleanly(f));
  rmSync(f.root, { recursive: true, force: true });
});

test('a new version that does not become healthy is rolled back: old slot, the pre-update database, the failed one kept aside', async (t) => {
  const f = await fixture();
  f.healthy.delete(NEW);
  await request(f);
  const done = await f.applier().run();
  t.like(done, { outcome: 'rolled-back', from_slot: 'a', to_slot: 'b' });
  t.regex(done!.message_en, /did not answer smsAU or start its modem driver within 90 s/);
  t.is(current(f), 'a');
  t.is(readlinkSync(join(f.slots, 'good')), 'a');
  t.is(f.running, OLD);
  t.is(db(f), 'old database');
  t.is(readFileSync(join(f.data, 'smsbox.db-wal'), 'utf8'), 'old wal');
  t.is(readFileSync(join(f.paths.failed, 'smsbox.db'), 'utf8'), 'migrated by the new version');
  t.deepEqual(f.calls.filter((c) => !c.startsWith('log')), ['verify', 'unpack', 'stop', 'start', `health ${NEW}`, 'stop', 'start', `health ${OLD}`]);
  t.true(finishedCleanly(f));
  rmSync(f.root, { recursive: true, force: true });
});

/** A crash at `step`, then the unit starts again (at boot) with nothing crashing: where does the box end up? */
async function crashThenResume(t: import('ava').ExecutionContext, step: (s: string) => boolean, expectPhase: Journal['phase'], expect: { outcome: UpdateResult['outcome']; slot: 'a' | 'b'; db: string }, setup?: (f: Fixture) => void) {
  const f = await fixture();
  setup?.(f);
  await request(f);
  f.crashAt = step;
  await t.throwsAsync(f.applier().run(), { instanceOf: Crash });
  t.is(journal(f)?.phase, expectPhase, 'the journal names the phase the crash interrupted');
  t.true(existsSync(f.paths.request), 'the request stays, so the path unit runs the update again');
  // The reboot: systemd starts whatever `current` names.
  f.crashAt = null;
  f.running = versionOfSlot(join(f.slots, 'current'));
  const done = await f.applier().run();
  t.is(done?.outcome, expect.outcome);
  t.is(current(f), expect.slot);
  t.is(db(f), expect.db);
  t.true(finishedCleanly(f));
  rmSync(f.root, { recursive: true, force: true });
  return f;
}

test('crash while verifying: the update starts again and completes', async (t) => {
  await crashThenResume(t, (s) => s === 'verify', 'verifying', { outcome: 'updated', slot: 'b', db: 'migrated by the new version' });
});

test('crash after unpacking (stopping the old version): starts again and completes', async (t) => {
  await crashThenResume(t, (s) => s === 'stop', 'unpacked', { outcome: 'updated', slot: 'b', db: 'migrated by the new version' });
});

test('crash after the database was saved, before the switch: the old version kept running; starts again and completes', async (t) => {
  await crashThenResume(t, (s) => s.startsWith('log old version stopped'), 'saved', { outcome: 'updated', slot: 'b', db: 'migrated by the new version' });
});

test('crash after the switch, while watching: the new version is watched again and kept when healthy', async (t) => {
  await crashThenResume(t, (s) => s === `health ${NEW}`, 'switched', { outcome: 'updated', slot: 'b', db: 'migrated by the new version' });
});

test('crash after the switch with a new version that stays unhealthy: rolled back at the next start', async (t) => {
  await crashThenResume(t, (s) => s === `health ${NEW}`, 'switched', { outcome: 'rolled-back', slot: 'a', db: 'old database' }, (f) => f.healthy.delete(NEW));
});

test('crash in the middle of a rollback (database not yet restored): the rollback is finished, the failed database is not overwritten', async (t) => {
  let stops = 0;
  const f = await crashThenResume(t, (s) => s === 'stop' && ++stops === 2, 'rolling-back', { outcome: 'rolled-back', slot: 'a', db: 'old database' }, (fx) => fx.healthy.delete(NEW));
  t.is(f.running, OLD);
});

test('crash in a rollback after the failed database was set aside: the kept copy stays the failed version\'s', async (t) => {
  const f = await fixture();
  f.healthy.delete(NEW);
  await request(f);
  f.crashAt = (s) => s === `health ${OLD}`;
  await t.throwsAsync(f.applier().run(), { instanceOf: Crash });
  t.like(journal(f), { phase: 'rolling-back', failed_db_kept: true });
  f.crashAt = null;
  t.like(await f.applier().run(), { outcome: 'rolled-back' });
  t.is(readFileSync(join(f.paths.failed, 'smsbox.db'), 'utf8'), 'migrated by the new version');
  t.is(db(f), 'old database');
  rmSync(f.root, { recursive: true, force: true });
});

test(`an update interrupted ${MAX_ATTEMPTS} times before the switch is abandoned with the old version running`, async (t) => {
  const f = await fixture();
  await request(f);
  f.crashAt = (s) => s === 'stop';
  for (let i = 0; i < MAX_ATTEMPTS; i++) await t.throwsAsync(f.applier().run(), { instanceOf: Crash });
  f.crashAt = null;
  t.like(await f.applier().run(), { outcome: 'failed' });
  t.is(current(f), 'a');
  t.is(f.running, OLD);
  t.is(db(f), 'old database');
  t.true(finishedCleanly(f));
  rmSync(f.root, { recursive: true, force: true });
});

test('a box that is not an appliance (no current link) refuses to apply', async (t) => {
  const f = await fixture();
  rmSync(join(f.slots, 'current'));
  await request(f);
  t.like(await f.applier().run(), { outcome: 'failed' });
  t.deepEqual(f.calls.filter((c) => !c.startsWith('log')), []);
  rmSync(f.root, { recursive: true, force: true });
});
