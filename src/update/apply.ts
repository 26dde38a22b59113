import { chownSync, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Outcome } from '../operations/outcome.js';
import { displayVersion, type VerifiedBundle } from './bundle.js';
import { DB_FILES, appendLog, readJson, updatePaths, type UpdatePaths, type UpdateResult } from './files.js';
import { fsyncPath, writeFileAtomic } from '../durable.js';
import { GOOD_LINK, currentSlot, otherSlot, switchTo, type SlotName } from './slots.js';

/**
 * The root side of an update (`smsbox update-apply`, run by
 * smsbox-update.service when the web process leaves a request): a state
 * machine whose every step is written to a journal on the data partition
 * before the next begins, so that a crash or power cut at any point is
 * resumed at the next start of the unit (the request file is removed only at
 * the end, and the path unit starts the unit again at boot while it exists).
 *
 *   verifying → unpacked → saved → switched → (healthy) done
 *                                          ↘ rolling-back → rolled back
 *
 * Before `switched` the running app is the old one: an interrupted update
 * starts again from the beginning (at most MAX_ATTEMPTS times). After it, the
 * new version is watched again; a rollback, once begun, is finished.
 */

export type Phase = 'verifying' | 'unpacked' | 'saved' | 'switched' | 'rolling-back';

export interface Journal {
  id: string;
  phase: Phase;
  /** Starts of this update (a crash and the restart of the unit add one). */
  attempts: number;
  started_at: number;
  from_slot: SlotName;
  to_slot: SlotName;
  from_version: string | null;
  to_version: string | null;
  /** Why a rollback began. */
  reason?: { zh: string; en: string };
  /** The failed version's database was set aside (a resumed rollback must not overwrite it with the restored one). */
  failed_db_kept?: boolean;
}

export interface ApplyPlatform {
  /** Checks the bundle with the box's own public key (the web process is not trusted). */
  verify(bundle: string): Promise<Outcome<VerifiedBundle>>;
  /** Unpacks the payload at `payloadOffset` of the bundle into the (empty, existing) folder `into`. */
  unpack(bundle: string, payloadOffset: number, into: string): Promise<void>;
  /** Stops smsbox.service and waits until it has stopped (the database is closed then). */
  stopApp(): Promise<void>;
  /** Starts smsbox.service (a no-op when it runs). */
  startApp(): Promise<void>;
  /**
   * Resolves true once the app of version `version` answers smsAU and has
   * started its modem driver; false when `timeoutMs` passed first, or earlier
   * when the app keeps dying at start.
   */
  waitHealthy(version: string | null, timeoutMs: number): Promise<boolean>;
  /** The version of the app in a slot folder ("0.1.0+abcdef1"), null when unreadable. */
  versionOf(slotDir: string): string | null;
  now(): number;
  log(line: string): void;
}

export interface ApplyOptions {
  /** The app's data folder (the database, and the incoming update the app left). */
  dataDir: string;
  /** The root side's own folder on the data partition (ROOT_STATE_DIR on the appliance). */
  stateDir: string;
  /** /opt/smsbox on the appliance. */
  slotsRoot: string;
  platform: ApplyPlatform;
  /** How long the new version has to answer smsAU and start its modem driver. */
  healthTimeoutMs?: number;
}

export const HEALTH_TIMEOUT_MS = 90_000;
export const MAX_ATTEMPTS = 3;

export class UpdateApplier {
  private readonly paths: UpdatePaths;
  private readonly platform: ApplyPlatform;
  private readonly healthTimeoutMs: number;

  constructor(private readonly options: ApplyOptions) {
    this.paths = updatePaths(options.dataDir, options.stateDir);
    this.platform = options.platform;
    this.healthTimeoutMs = options.healthTimeoutMs ?? HEALTH_TIMEOUT_MS;
  }

  /** Runs the update requested (or resumes the one interrupted); null when there was nothing to do. */
  async run(): Promise<UpdateResult | null> {
    mkdirSync(this.options.stateDir, { recursive: true, mode: 0o755 });
    const journal = readJson<Journal>(this.paths.state);
    if (journal) return this.resume(journal);
    if (!existsSync(this.paths.request)) return null;
    const from = currentSlot(this.options.slotsRoot);
    if (!from) {
      return this.finish(this.newJournal('a'), 'failed', `${this.options.slotsRoot}/current 不存在：这不是 smsbox 设备，无法更新`, `${this.options.slotsRoot}/current is missing: not an smsbox appliance, cannot update`);
    }
    return this.begin(this.newJournal(from));
  }

  private newJournal(from: SlotName): Journal {
    return {
      id: `${new Date(this.platform.now()).toISOString().replace(/[-:]/g, '').slice(0, 15)}-${randomBytes(3).toString('hex')}`,
      phase: 'verifying',
      attempts: 0,
      started_at: this.platform.now(),
      from_slot: from,
      to_slot: otherSlot(from),
      from_version: this.platform.versionOf(join(this.options.slotsRoot, from)),
      to_version: null,
    };
  }

  private save(journal: Journal): void {
    writeFileAtomic(this.paths.state, JSON.stringify(journal, null, 1), 0o644);
  }

  private note(journal: Journal, line: string): void {
    const text = `[${journal.id}] ${line}`;
    this.platform.log(text);
    appendLog(this.paths.log, this.platform.now(), text);
  }

  private async resume(journal: Journal): Promise<UpdateResult> {
    this.note(journal, `resuming after an interruption in phase ${journal.phase} (attempt ${journal.attempts + 1})`);
    switch (journal.phase) {
      case 'verifying':
      case 'unpacked':
      case 'saved':
        // The old version is still `current` (and ran since the reboot): begin again.
        if (journal.attempts >= MAX_ATTEMPTS) {
          await this.platform.startApp();
          return this.finish(journal, 'failed', '更新多次被中断（断电或重启），已放弃，仍在运行原来的版本', 'the update was interrupted too often (power cut or restart) and was abandoned; the previous version keeps running');
        }
        return this.begin({ ...journal, phase: 'verifying' });
      case 'switched':
        if (journal.attempts >= MAX_ATTEMPTS) {
          return this.rollBack({ ...journal, reason: { zh: '新版本启动时多次被中断', en: 'the new version was interrupted too often while starting' } });
        }
        journal.attempts++;
        this.save(journal);
        await this.platform.startApp();
        return this.watch(journal);
      case 'rolling-back':
        return this.rollBack(journal);
    }
  }

  private async begin(journal: Journal): Promise<UpdateResult> {
    const { paths, platform } = this;
    journal.attempts++;
    journal.phase = 'verifying';
    this.save(journal);
    this.note(journal, `update requested: slot ${journal.from_slot} (${journal.from_version ?? '?'}) → slot ${journal.to_slot}`);

    // Checked and unpacked from root's own copy: the app could change its file
    // between the check and the unpacking.
    if (existsSync(paths.bundle)) {
      copyFileSync(paths.bundle, paths.ownBundle);
      fsyncPath(paths.ownBundle);
    } else rmSync(paths.ownBundle, { force: true });
    const verified = existsSync(paths.ownBundle)
      ? await platform.verify(paths.ownBundle)
      : { ok: false as const, code: 'update-missing', message: '找不到上传的更新文件，请重新上传', message_en: 'the uploaded update file is missing; upload it again' };
    if (!verified.ok) {
      this.note(journal, `refused: ${verified.message_en}`);
      return this.finish(journal, 'refused', verified.message, verified.message_en);
    }
    const { manifest, payloadOffset } = verified.value;
    journal.to_version = displayVersion(manifest.version, manifest.commit);

    // Into a fresh folder beside the slot, moved into place when complete:
    // a slot folder is either a whole app or absent.
    const slotDir = join(this.options.slotsRoot, journal.to_slot);
    const staging = `${slotDir}.unpacking`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    try {
      await platform.unpack(paths.ownBundle, payloadOffset, staging);
      if (!existsSync(join(staging, 'package.json')) || !existsSync(join(staging, 'dist', 'src', 'cli.js'))) {
        throw new Error('the payload has no package.json or dist/src/cli.js');
      }
    } catch (err) {
      rmSync(staging, { recursive: true, force: true });
      this.note(journal, `unpacking failed: ${String(err)}`);
      return this.finish(journal, 'failed', `解包更新失败（${String(err)}），仍在运行原来的版本`, `unpacking the update failed (${String(err)}); the previous version keeps running`);
    }
    rmSync(slotDir, { recursive: true, force: true });
    renameSync(staging, slotDir);
    journal.phase = 'unpacked';
    this.save(journal);
    this.note(journal, `unpacked ${journal.to_version} into slot ${journal.to_slot}`);

    // The database as the old version leaves it, closed: what a rollback restores.
    await platform.stopApp();
    this.copyDatabase(this.options.dataDir, paths.preUpdate);
    journal.phase = 'saved';
    this.save(journal);
    this.note(journal, 'old version stopped, database saved for a rollback');

    switchTo(this.options.slotsRoot, journal.to_slot);
    journal.phase = 'switched';
    this.save(journal);
    this.note(journal, `switched to slot ${journal.to_slot}`);
    await platform.startApp();
    return this.watch(journal);
  }

  private async watch(journal: Journal): Promise<UpdateResult> {
    const healthy = await this.platform.waitHealthy(journal.to_version, this.healthTimeoutMs);
    if (healthy) {
      switchTo(this.options.slotsRoot, journal.to_slot, GOOD_LINK);
      this.note(journal, `${journal.to_version} answers smsAU and its modem driver started: update done`);
      return this.finish(journal, 'updated', `已更新到 ${journal.to_version}`, `updated to ${journal.to_version}`);
    }
    const seconds = Math.round(this.healthTimeoutMs / 1000);
    return this.rollBack({
      ...journal,
      reason: {
        zh: `新版本 ${journal.to_version} 在 ${seconds} 秒内没有应答 smsAU 或没有启动短信模块驱动（或启动时反复崩溃）`,
        en: `the new version ${journal.to_version} did not answer smsAU or start its modem driver within ${seconds} s (or kept crashing at start)`,
      },
    });
  }

  private async rollBack(journal: Journal): Promise<UpdateResult> {
    const { paths, platform } = this;
    if (journal.phase !== 'rolling-back') {
      journal.phase = 'rolling-back';
      this.save(journal);
      this.note(journal, `rolling back: ${journal.reason?.en ?? 'unknown reason'}`);
    }
    await platform.stopApp();
    if (!journal.failed_db_kept) {
      // Messages the new version accepted before it was judged failed are in
      // its database: kept, never deleted, and named in the result.
      rmSync(paths.failed, { recursive: true, force: true });
      this.copyDatabase(this.options.dataDir, paths.failed);
      journal.failed_db_kept = true;
      this.save(journal);
    }
    this.restoreDatabase(paths.preUpdate, this.options.dataDir);
    switchTo(this.options.slotsRoot, journal.from_slot);
    this.note(journal, `database restored, switched back to slot ${journal.from_slot}`);
    await platform.startApp();
    const back = await platform.waitHealthy(journal.from_version, this.healthTimeoutMs);
    this.note(journal, back ? `${journal.from_version ?? 'previous version'} answers again` : `${journal.from_version ?? 'previous version'} did not answer within the timeout either`);
    const why = journal.reason ?? { zh: '更新中断', en: 'the update was interrupted' };
    return this.finish(journal, 'rolled-back',
      `${why.zh}，已自动恢复到原来的版本 ${journal.from_version ?? ''} 和更新前的数据。新版本运行期间的数据库保存在 ${paths.failed}。`,
      `${why.en}; the box went back to the previous version ${journal.from_version ?? ''} and the data from before the update. The database of the failed version is kept in ${paths.failed}.`);
  }

  private finish(journal: Journal, outcome: UpdateResult['outcome'], message: string, message_en: string): UpdateResult {
    const { paths, platform } = this;
    const result: UpdateResult = {
      id: journal.id,
      outcome,
      from_version: journal.from_version,
      to_version: journal.to_version,
      from_slot: journal.from_slot,
      to_slot: journal.to_slot,
      started_at: new Date(journal.started_at).toISOString(),
      finished_at: new Date(platform.now()).toISOString(),
      seconds: Math.round((platform.now() - journal.started_at) / 1000),
      message,
      message_en,
    };
    writeFileAtomic(paths.result, JSON.stringify(result, null, 1), 0o644);
    // The journal goes last: a crash before it is removed is resumed at the
    // next boot (the unit also runs at every boot) and finishes again, where
    // removing it first could leave a request without its bundle.
    rmSync(paths.ownBundle, { force: true });
    rmSync(paths.bundle, { force: true });
    rmSync(paths.request, { force: true });
    rmSync(paths.state, { force: true });
    this.note(journal, `finished: ${outcome} (${result.seconds} s): ${message_en}`);
    return result;
  }

  /** Copies the closed database's files into `to` (replacing what was there), owned like the data folder. */
  private copyDatabase(from: string, to: string): void {
    const tmp = `${to}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    for (const name of DB_FILES) {
      if (existsSync(join(from, name))) {
        copyFileSync(join(from, name), join(tmp, name));
        fsyncPath(join(tmp, name));
      }
    }
    rmSync(to, { recursive: true, force: true });
    renameSync(tmp, to);
    fsyncPath(join(to, '..'));
  }

  /** Puts the saved database back in the data folder (the app is stopped). */
  private restoreDatabase(saved: string, dataDir: string): void {
    if (!existsSync(join(saved, 'smsbox.db'))) throw new Error(`no saved database in ${saved}`);
    const owner = statSync(dataDir);
    for (const suffix of ['-wal', '-shm']) rmSync(join(dataDir, `smsbox.db${suffix}`), { force: true });
    for (const name of DB_FILES) {
      if (!existsSync(join(saved, name))) continue;
      const tmp = join(dataDir, `${name}.restoring`);
      copyFileSync(join(saved, name), tmp);
      fsyncPath(tmp);
      chownIfRoot(tmp, owner.uid, owner.gid);
      renameSync(tmp, join(dataDir, name));
    }
    fsyncPath(dataDir);
  }
}

function chownIfRoot(file: string, uid: number, gid: number): void {
  if (process.getuid?.() === 0) chownSync(file, uid, gid);
}


/** The version of the app installed in a folder, as displayVersion writes it. */
export function versionOfSlot(slotDir: string): string | null {
  try {
    const pkg = JSON.parse(readFileSync(join(slotDir, 'package.json'), 'utf8')) as { version?: string };
    let commit: string | null = null;
    try {
      commit = readFileSync(join(slotDir, '.commit'), 'utf8').trim();
    } catch {
      commit = null;
    }
    return typeof pkg.version === 'string' ? displayVersion(pkg.version, commit ?? '') : null;
  } catch {
    return null;
  }
}
