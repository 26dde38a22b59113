import { fsyncPath } from '../durable.js';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statfsSync, statSync } from 'node:fs';
import { EventEmitter } from 'node:events';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ConfigError, parseConfig } from '../config/config.js';
import { KEPT_SECTIONS, mergeRestoredConfig, RESTORED_SECTIONS } from '../config/restore.js';
import { version as softwareVersion } from '../paths.js';
import {
  commitRestore, DB_FILE, discardRestore, holdRestoredQueue, SimulatedCrash, inspectDatabase, restorePending, SCHEMA_VERSION, snapshotDatabaseFile, stageRestore,
  type RestoreSeams,
} from '../store/backup.js';
import type { Store } from '../store/store.js';
import { ArchiveError, extractTarGz, SourceFailedError, tarGzStream, type ArchiveMember } from './archive.js';
import { recordEvent, type OperationsContext } from './context.js';
import { done, refuse, type Outcome, type Refusal } from './outcome.js';

/**
 * Backup and restore of the shop's data (README, "Backup and restore").
 *
 * A backup is one file, `smsbox-backup-<host>-<YYYYMMDD-HHMM>.tar.gz`: a
 * ustar archive (archive.ts) holding `manifest.json` first, then `smsbox.db`
 * (a consistent snapshot taken with SQLite's online backup while the box
 * keeps sending) and `smsbox.toml` (the config file, when the box has one).
 * The manifest names the software and schema versions, the rows of every
 * table and the sha256 of each member.
 *
 * Kept backups live in `<data_dir>/backups/`, named
 * `smsbox-backup-<host>-<YYYYMMDD-HHMM>[-N]-<reason>.tar.gz`, and each
 * reason keeps its newest few (BACKUPS_KEPT). A backup is written to a
 * dot-file and renamed when complete, so a full disk or a crash never leaves a
 * partial backup under a backup's name.
 *
 * A restore validates everything before it changes anything, stages the
 * database (store/backup.ts), and asks the box to restart in this process;
 * while it is stopped the current data is saved as a pre-restore backup and
 * the restore committed, then the box starts on the restored data.
 */

export const BACKUP_REASONS = ['nightly', 'manual', 'pre-restore', 'pre-update'] as const;
export type BackupReason = (typeof BACKUP_REASONS)[number];

/** How many backups of each reason are kept (the newest); at most 16 files in all. */
export const BACKUPS_KEPT: Readonly<Record<BackupReason, number>> = { nightly: 7, manual: 3, 'pre-restore': 3, 'pre-update': 3 };

/** The largest backup file a restore takes (compressed): a backup of 100,000 messages is about 21 MiB. */
export const MAX_RESTORE_UPLOAD_BYTES = 256 * 1024 * 1024;
/** What it may unpack to. */
export const MAX_RESTORE_UNPACKED_BYTES = 2 * 1024 * 1024 * 1024;
/** Room a restore needs beyond the pre-restore backup (the database grows a little as it opens and migrates). */
const RESTORE_SPACE_MARGIN = 32 * 1024 * 1024;
/** Backups made or downloaded at the same time (each holds a database copy on disk while it runs). */
const MAX_CONCURRENT_BACKUPS = 2;

export const BACKUP_FORMAT = 'smsbox-backup';
export const BACKUP_FORMAT_VERSION = 1;
const MANIFEST = 'manifest.json';
const CONFIG_MEMBER = 'smsbox.toml';
const MEMBERS = new Set([MANIFEST, DB_FILE, CONFIG_MEMBER]);

export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  format_version: number;
  software_version: string;
  schema_version: number;
  created_at: string;
  /** The same moment in the box's time zone, as the file name has it. */
  created_at_local: string;
  timezone: string;
  hostname: string;
  reason: BackupReason | 'download';
  /** Rows of each table of the database in the backup. */
  tables: Record<string, number>;
  members: { name: string; size: number; sha256: string }[];
}

export interface BackupFileInfo {
  name: string;
  path: string;
  size: number;
  /** When the file was written (epoch ms). */
  createdAt: number;
  reason: BackupReason;
}

/** What the box was told to restore, answered before it restarts. */
export interface RestoreAccepted {
  manifest: BackupManifest;
  /** Sections of the config taken from the backup; [] when the box has no config file or the backup none. */
  configRestored: string[];
  /** Sections this box keeps (its network, modem, admin password…). */
  configKept: string[];
  /** Why the config was not restored, when it was not. */
  configNote: { zh: string; en: string } | null;
  /**
   * Messages queued (or being sent) in the backup, now `uncertain` for the
   * shop to resend or mark failed: the box the backup came from may have sent
   * them since. 0 with `[dispatch] resend_uncertain = true` (they stay queued).
   */
  held: number;
}

export type BackupRefusalCode =
  | 'backup-failed' | 'backup-busy' | 'no-backup' | 'not-a-backup' | 'backup-damaged' | 'backup-too-new' | 'backup-too-large'
  | 'backup-config-invalid' | 'restore-busy' | 'cannot-restart' | 'no-space' | 'upload-aborted';

// ---- names --------------------------------------------------------------

/** The host name as it may appear in a file name. */
export function hostLabel(name: string): string {
  const label = name.split('.')[0]!.replace(/[^A-Za-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40);
  return label || 'smsbox';
}

/** YYYYMMDD-HHMM in the box's time zone. */
export function backupStamp(ms: number, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(ms));
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${get('year')}${get('month')}${get('day')}-${get('hour')}${get('minute')}`;
}

function localIso(ms: number, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(ms));
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}:${get('second')}`;
}

/** The name a kept backup may have; anything else is not served or deleted. */
export const KEPT_BACKUP_NAME = /^smsbox-backup-([A-Za-z0-9-]{1,40})-(\d{8}-\d{4})(?:-(\d{1,3}))?-(nightly|manual|pre-restore|pre-update)\.tar\.gz$/;

export function parseBackupName(name: string): { host: string; stamp: string; seq: number; reason: BackupReason } | null {
  const m = KEPT_BACKUP_NAME.exec(name);
  if (!m || name.length > 120) return null;
  return { host: m[1]!, stamp: m[2]!, seq: m[3] ? Number(m[3]) : 0, reason: m[4] as BackupReason };
}

export function backupsDir(dataDir: string): string {
  return join(dataDir, 'backups');
}

// ---- writing ---------------------------------------------------------------

export interface BackupSource {
  dataDir: string;
  /** The open store of a running box; without it the database file is read (a stopped box). */
  store?: Store | null;
  /** The config file to include; null or missing: none. */
  configFile: string | null;
  now: number;
  timeZone: string;
  hostname?: string;
}

function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/** Snapshots the database into `workDir` and describes the members of the archive. */
async function prepareMembers(source: BackupSource, workDir: string, reason: BackupManifest['reason']): Promise<{ members: ArchiveMember[]; manifest: BackupManifest }> {
  const snapshot = join(workDir, DB_FILE);
  if (source.store) await source.store.snapshotTo(snapshot);
  else await snapshotDatabaseFile(join(source.dataDir, DB_FILE), snapshot);
  const inspection = inspectDatabase(snapshot, false);
  const dbSize = statSync(snapshot).size;
  const members: ArchiveMember[] = [{ name: DB_FILE, file: snapshot, size: dbSize, mtimeMs: source.now }];
  const described = [{ name: DB_FILE, size: dbSize, sha256: await sha256File(snapshot) }];
  if (source.configFile && existsSync(source.configFile)) {
    const config = readFileSync(source.configFile);
    members.push({ name: CONFIG_MEMBER, data: config, size: config.length, mtimeMs: source.now });
    described.push({ name: CONFIG_MEMBER, size: config.length, sha256: createHash('sha256').update(config).digest('hex') });
  }
  const manifest: BackupManifest = {
    format: BACKUP_FORMAT,
    format_version: BACKUP_FORMAT_VERSION,
    software_version: softwareVersion,
    schema_version: inspection.schemaVersion,
    created_at: new Date(source.now).toISOString(),
    created_at_local: localIso(source.now, source.timeZone),
    timezone: source.timeZone,
    hostname: source.hostname ?? osHostname(),
    reason,
    tables: inspection.tables,
    members: described,
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest, null, 2) + '\n', 'utf8');
  return { members: [{ name: MANIFEST, data: manifestBytes, size: manifestBytes.length, mtimeMs: source.now }, ...members], manifest };
}

function newWorkDir(dataDir: string, prefix: string): string {
  const dir = backupsDir(dataDir);
  mkdirSync(dir, { recursive: true });
  return mkdtempSync(join(dir, `.${prefix}-`));
}

function uniqueName(dir: string, host: string, stamp: string, reason: BackupReason): string {
  for (let seq = 0; seq < 1000; seq++) {
    const name = `smsbox-backup-${host}-${stamp}${seq === 0 ? '' : `-${seq}`}-${reason}.tar.gz`;
    if (!existsSync(join(dir, name))) return name;
  }
  throw new Error('too many backups in one minute');
}

/**
 * Writes a backup into `<dataDir>/backups/` and keeps the newest
 * BACKUPS_KEPT[reason] of that reason. The file appears under its name only
 * once complete and on disk; on any failure (a full disk) nothing is left.
 * This is the function an update calls before it switches (reason
 * 'pre-update'); with `store` it runs beside a live box, without it on a
 * stopped one.
 */
export async function backupToFile(source: BackupSource & { reason: BackupReason }): Promise<BackupFileInfo> {
  const dir = backupsDir(source.dataDir);
  const work = newWorkDir(source.dataDir, 'work');
  let temp: string | null = null;
  try {
    const { members } = await prepareMembers(source, work, source.reason);
    const name = uniqueName(dir, hostLabel(source.hostname ?? osHostname()), backupStamp(source.now, source.timeZone), source.reason);
    temp = join(dir, `.${name}.partial`);
    await pipeline(tarGzStream(members), createWriteStream(temp, { flags: 'wx', mode: 0o600 }));
    fsyncPath(temp);
    const path = join(dir, name);
    renameSync(temp, path);
    temp = null;
    fsyncPath(dir);
    rotateBackups(source.dataDir, source.reason);
    const stat = statSync(path);
    return { name, path, size: stat.size, createdAt: stat.mtimeMs, reason: source.reason };
  } finally {
    if (temp) rmSync(temp, { force: true });
    rmSync(work, { recursive: true, force: true });
  }
}

/** The kept backups, newest first. */
export function listBackups(dataDir: string): BackupFileInfo[] {
  const dir = backupsDir(dataDir);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const out: (BackupFileInfo & { order: string })[] = [];
  for (const name of names) {
    const parsed = parseBackupName(name);
    if (!parsed) continue;
    const path = join(dir, name);
    try {
      const stat = lstatSync(path);
      if (!stat.isFile()) continue;
      out.push({ name, path, size: stat.size, createdAt: stat.mtimeMs, reason: parsed.reason, order: `${parsed.stamp}-${String(parsed.seq).padStart(3, '0')}` });
    } catch {
      // deleted meanwhile
    }
  }
  out.sort((a, b) => (a.order === b.order ? b.createdAt - a.createdAt : a.order < b.order ? 1 : -1));
  return out.map(({ order: _o, ...info }) => info);
}

/** Deletes the oldest backups of `reason` beyond what is kept. */
export function rotateBackups(dataDir: string, reason: BackupReason): string[] {
  const removed: string[] = [];
  for (const old of listBackups(dataDir).filter((b) => b.reason === reason).slice(BACKUPS_KEPT[reason])) {
    rmSync(old.path, { force: true });
    removed.push(old.name);
  }
  return removed;
}

/** What a crash left in the backups folder (a half-written backup, a work copy): removed when the box starts. */
export function removeLeftovers(dataDir: string): void {
  const dir = backupsDir(dataDir);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) if (name.startsWith('.')) rmSync(join(dir, name), { recursive: true, force: true });
}

// ---- the operations --------------------------------------------------------

const tooLarge = (): Refusal<'backup-too-large'> =>
  refuse('backup-too-large',
    `文件太大：备份文件最大 ${MAX_RESTORE_UPLOAD_BYTES / 1024 / 1024} MiB。请确认选择的是本机“下载备份”得到的 .tar.gz 文件。`,
    `file too large: a backup file may be at most ${MAX_RESTORE_UPLOAD_BYTES / 1024 / 1024} MiB. Check that you chose the .tar.gz file from 下载备份 (download backup).`, 413);

const notABackup = (detail: string, detailEn = detail): Refusal<'not-a-backup'> =>
  refuse('not-a-backup',
    `这不是短信网关的备份文件（${detail}）。请选择“下载备份”得到的 smsbox-backup-….tar.gz 文件，不要解压或改名后再压缩。未做任何更改。`,
    `this is not an smsbox backup file (${detailEn}). Choose the smsbox-backup-….tar.gz file from 下载备份 (download backup), not unpacked or re-packed. Nothing was changed.`, 400);

const damaged = (detail: string, detailEn = detail): Refusal<'backup-damaged'> =>
  refuse('backup-damaged',
    `备份文件已损坏（${detail}）。请重新下载备份，或换一个备份文件（例如每晚的自动备份）。未做任何更改。`,
    `the backup file is damaged (${detailEn}). Download the backup again or use another one (e.g. a nightly backup). Nothing was changed.`, 400);

export class Backups extends EventEmitter {
  private running = 0;
  private restoring = false;
  /** Test seams: a crash between the steps of a restore; a pre-restore backup that fails (a disk full by then). */
  seams: (RestoreSeams & { preRestoreBackupFails?: boolean }) | undefined;

  constructor(private readonly ctx: OperationsContext) {
    super();
  }

  private get dataDir(): string | null {
    return this.ctx.dataDir ?? null;
  }

  private source(store: boolean): BackupSource {
    const config = this.ctx.config();
    return {
      dataDir: this.dataDir!,
      store: store ? this.ctx.store : null,
      configFile: config.file,
      now: this.ctx.clock.now(),
      timeZone: config.schedule.timezone,
      ...(this.ctx.hostname ? { hostname: this.ctx.hostname } : {}),
    };
  }

  private noDataDir(): Refusal<'backup-failed'> {
    return refuse('backup-failed', '本机没有数据目录，无法备份', 'the box has no data folder to back up', 500);
  }

  private busy(): Refusal<'backup-busy'> {
    return refuse('backup-busy', '正在进行其他备份或恢复，请稍后再试', 'another backup or restore is running; try again shortly', 409);
  }

  /**
   * Writes a kept backup (reason 'nightly' from the nightly job, 'manual',
   * 'pre-update' from an update) into `<data_dir>/backups/` beside the live
   * box, and rotates that reason's backups. A failure (a full disk) leaves no
   * file, writes an event and is answered as a refusal: the box runs on.
   */
  async create(input: { reason: BackupReason }): Promise<Outcome<BackupFileInfo, BackupRefusalCode>> {
    if (!this.dataDir) return this.noDataDir();
    if (this.restoring) return this.busy();
    if (this.running >= MAX_CONCURRENT_BACKUPS) return this.busy();
    this.running++;
    try {
      const made = await backupToFile({ ...this.source(true), reason: input.reason });
      recordEvent(this.ctx, 'info', 'backup', `已备份数据：${made.name}（${(made.size / 1024 / 1024).toFixed(1)} MiB）`, `data backed up: ${made.name} (${(made.size / 1024 / 1024).toFixed(1)} MiB)`, { reason: input.reason, name: made.name, size: made.size });
      return done(made);
    } catch (err) {
      this.ctx.log.error('backup failed', { reason: input.reason, error: String(err) });
      const full = /ENOSPC|SQLITE_FULL/.test(String((err as NodeJS.ErrnoException).code ?? err));
      recordEvent(this.ctx, 'error', 'backup-failed',
        full ? '备份失败：磁盘已满。短信照常收发；请清理空间或下载并删除旧备份。' : `备份失败：${String(err).slice(0, 200)}。短信照常收发。`,
        full ? 'backup failed: the disk is full. SMS carry on; free some space.' : `backup failed: ${String(err).slice(0, 200)}. SMS carry on.`);
      return refuse('backup-failed',
        full ? '备份失败：磁盘已满，没有留下不完整的文件。短信照常收发。' : `备份失败（${String(err).slice(0, 200)}），没有留下不完整的文件。短信照常收发。`,
        full ? 'backup failed: the disk is full; no partial file was left. SMS carry on.' : `backup failed (${String(err).slice(0, 200)}); no partial file was left. SMS carry on.`,
        full ? 507 : 500);
    } finally {
      this.running--;
    }
  }

  /**
   * A backup to download now, as a stream (nothing whole in memory; the
   * database copy it reads is deleted when the stream closes, also when the
   * download is cut off). Not kept.
   */
  async download(): Promise<Outcome<{ filename: string; stream: Readable; manifest: BackupManifest }, BackupRefusalCode>> {
    if (!this.dataDir) return this.noDataDir();
    if (this.restoring || this.running >= MAX_CONCURRENT_BACKUPS) return this.busy();
    this.running++;
    const source = this.source(true);
    let work: string | null = null;
    let handedOver = false;
    try {
      work = newWorkDir(source.dataDir, 'download');
      const { members, manifest } = await prepareMembers(source, work, 'download');
      const stream = tarGzStream(members);
      const copy = work;
      const cleanup = () => {
        rmSync(copy, { recursive: true, force: true });
        this.running--;
      };
      stream.once('close', cleanup);
      handedOver = true;
      return done({ filename: `smsbox-backup-${hostLabel(manifest.hostname)}-${backupStamp(source.now, source.timeZone)}.tar.gz`, stream, manifest });
    } catch (err) {
      this.ctx.log.error('backup for download failed', { error: String(err) });
      const full = /ENOSPC|SQLITE_FULL/.test(String((err as NodeJS.ErrnoException).code ?? err));
      return refuse('backup-failed',
        full ? '无法生成备份：磁盘已满。短信照常收发；请清理空间后再试。' : `无法生成备份（${String(err).slice(0, 200)}）。短信照常收发。`,
        full ? 'cannot make a backup: the disk is full. SMS carry on; free some space and try again.' : `cannot make a backup (${String(err).slice(0, 200)}). SMS carry on.`,
        full ? 507 : 500);
    } finally {
      if (!handedOver) {
        if (work) rmSync(work, { recursive: true, force: true });
        this.running--;
      }
    }
  }

  /** The kept backups, newest first. */
  list(): BackupFileInfo[] {
    return this.dataDir ? listBackups(this.dataDir) : [];
  }

  /** One kept backup by its exact name (only names the box gives its backups; no path can be named). */
  open(name: string): Outcome<BackupFileInfo & { stream: Readable }, BackupRefusalCode> {
    const missing = refuse('no-backup', '没有这个备份文件', 'no such backup file', 404);
    if (!this.dataDir || !parseBackupName(name)) return missing;
    const found = listBackups(this.dataDir).find((b) => b.name === name);
    if (!found) return missing;
    return done({ ...found, stream: createReadStream(found.path) });
  }

  /**
   * Restores a backup file (as downloaded) read from `body`. Everything is
   * checked before anything changes: gzip and tar, the manifest, every
   * sha256, the database's integrity and schema version (a backup from newer
   * software is refused), the config merged with this box's. Then the
   * database is staged and the box asked to restart; while it is stopped the
   * current data becomes a pre-restore backup and the restore is committed.
   * Answered before the restart.
   */
  async restore(body: Readable): Promise<Outcome<RestoreAccepted, BackupRefusalCode>> {
    const outcome = await this.restoreChecked(body);
    // Tests wait on this, not on time: the attempt is over, whatever its outcome.
    this.emit('restore-outcome', outcome);
    return outcome;
  }

  private async restoreChecked(body: Readable): Promise<Outcome<RestoreAccepted, BackupRefusalCode>> {
    const { ctx } = this;
    const dataDir = this.dataDir;
    if (!dataDir || !ctx.restartBox) {
      return refuse('cannot-restart', '这台网关不能在运行中恢复备份（没有以 smsbox serve 启动）', 'this box cannot restore while running (not started with smsbox serve)', 409);
    }
    if (this.restoring || restorePending(dataDir)) {
      return refuse('restore-busy', '正在恢复另一个备份，请等网关重新启动后再试', 'another restore is under way; wait for the box to restart and try again', 409);
    }
    this.restoring = true;
    let keepRestoring = false;
    let work: string;
    try {
      work = newWorkDir(dataDir, 'restore');
    } catch (err) {
      this.restoring = false;
      ctx.log.error('cannot receive a restore', { error: String(err) });
      return refuse('no-space', `无法接收备份文件（${String((err as NodeJS.ErrnoException).code ?? err)}），可能是磁盘已满。未做任何更改。`, `cannot receive the backup file (${String((err as NodeJS.ErrnoException).code ?? err)}); the disk may be full. Nothing was changed.`, 507);
    }
    try {
      this.emit('restore-receiving');
      const received = await receiveBackup(body, work);
      if (!received.ok) return received;
      const checked = validateBackup(received.value, work, ctx.config().file);
      if (!checked.ok) return checked;
      const { manifest, config } = checked.value;

      // Room for the pre-restore backup of what is here now (it compresses; its raw size is the bound).
      let current = 0;
      for (const suffix of ['', '-wal']) {
        try {
          current += statSync(join(dataDir, DB_FILE + suffix)).size;
        } catch {
          // none
        }
      }
      const free = freeBytes(dataDir);
      if (free !== null && free < current + RESTORE_SPACE_MARGIN) {
        return refuse('no-space',
          `磁盘空间不足，无法先保存当前数据再恢复（需要约 ${Math.ceil((current + RESTORE_SPACE_MARGIN) / 1024 / 1024)} MiB，剩余 ${Math.floor(free / 1024 / 1024)} MiB）。请先清理空间。未做任何更改。`,
          `not enough disk space to save the current data before restoring (about ${Math.ceil((current + RESTORE_SPACE_MARGIN) / 1024 / 1024)} MiB needed, ${Math.floor(free / 1024 / 1024)} MiB free). Free some space first. Nothing was changed.`, 507);
      }

      const configFile = ctx.config().file;
      // The shop's policy for such messages is the one it will run on: the backup's, when its settings are restored.
      const resend = config.text !== null ? parseConfig(config.text, configFile ?? 'smsbox.toml').dispatch.resendUncertain : ctx.config().dispatch.resendUncertain;
      const held = resend ? 0 : holdRestoredQueue(join(work, DB_FILE), ctx.clock.now());
      stageRestore(dataDir, join(work, DB_FILE), config.text, this.seams);
      const seams = this.seams;
      const label = `${manifest.hostname} ${manifest.created_at_local}`;
      const source = this.source(false);
      ctx.restartBox(async () => {
        // The box is stopped: nothing is accepted any more, so this copy holds every message it took.
        let preRestore: BackupFileInfo;
        try {
          if (seams?.preRestoreBackupFails) throw Object.assign(new Error('ENOSPC: no space left on device (test seam)'), { code: 'ENOSPC' });
          preRestore = await backupToFile({ ...source, now: ctx.clock.now(), reason: 'pre-restore' });
        } catch (err) {
          discardRestore(dataDir);
          throw Object.assign(new Error(`pre-restore backup failed: ${String(err)}`), {
            zh: `没有恢复备份：无法先保存当前数据（${String(err).slice(0, 200)}）。数据保持原样。`,
            en: `the backup was not restored: the current data could not be saved first (${String(err).slice(0, 200)}). The data is as it was.`,
          });
        }
        commitRestore(dataDir, { backup: label, configTarget: config.text !== null ? configFile : null, preRestoreBackup: preRestore.name, committedAt: ctx.clock.now(), held }, seams);
      });
      keepRestoring = true;
      recordEvent(ctx, 'warn', 'restore-started',
        `正在恢复备份（${label}，软件 ${manifest.software_version}）：网关将重新启动，约半分钟后恢复服务`,
        `restoring a backup (${label}, software ${manifest.software_version}): the box restarts and answers again within about half a minute`);
      return done({ manifest, configRestored: config.restored, configKept: config.kept, configNote: config.note, held });
    } catch (err) {
      // A simulated crash (tests) runs no clean-up, as a real one would not.
      if (err instanceof SimulatedCrash) {
        keepRestoring = true;
        throw err;
      }
      ctx.log.error('restore failed before anything changed', { error: String(err) });
      try {
        discardRestore(dataDir);
      } catch {
        // committed meanwhile: it finishes at the next start
      }
      throw err;
    } finally {
      rmSync(work, { recursive: true, force: true });
      if (!keepRestoring) this.restoring = false;
    }
  }
}


/**
 * Restores a backup file into the data folder of a stopped box (an update's
 * rollback, a technician's script): the same checks as POST /api/restore,
 * then the database (and the merged config, with `configFile`) staged and
 * committed. The restore is finished when the store next opens (the box's
 * start). No pre-restore backup is made here: call backupToFile first to
 * keep what is there.
 */
export async function restoreBackupFile(input: { dataDir: string; file: string; configFile: string | null; now: number; resendQueued?: boolean }): Promise<Outcome<RestoreAccepted, BackupRefusalCode>> {
  const { dataDir } = input;
  if (restorePending(dataDir)) {
    return refuse('restore-busy', '已有一个恢复在等待完成，请先启动网关', 'a restore is already waiting to be finished; start the box first', 409);
  }
  const work = newWorkDir(dataDir, 'restore');
  try {
    const received = await receiveBackup(createReadStream(input.file), work);
    if (!received.ok) return received;
    const checked = validateBackup(received.value, work, input.configFile);
    if (!checked.ok) return checked;
    const { manifest, config } = checked.value;
    const held = input.resendQueued ? 0 : holdRestoredQueue(join(work, DB_FILE), input.now);
    stageRestore(dataDir, join(work, DB_FILE), config.text);
    commitRestore(dataDir, {
      backup: `${manifest.hostname} ${manifest.created_at_local}`,
      configTarget: config.text !== null ? input.configFile : null,
      preRestoreBackup: null,
      committedAt: input.now,
      held,
    });
    return done({ manifest, configRestored: config.restored, configKept: config.kept, configNote: config.note, held });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Unpacks an uploaded backup into `work`, hashing each member. */
async function receiveBackup(body: Readable, work: string): Promise<Outcome<Map<string, { path: string; size: number; sha256: string }>, BackupRefusalCode>> {
  try {
    const members = await extractTarGz(body, work, { allowed: MEMBERS, maxTotalBytes: MAX_RESTORE_UNPACKED_BYTES, maxCompressedBytes: MAX_RESTORE_UPLOAD_BYTES });
    return done(new Map(members.map((m) => [m.name, m])));
  } catch (err) {
    if (err instanceof SourceFailedError) {
      return refuse('upload-aborted', '上传中断，未做任何更改，请重新上传', 'the upload was cut off; nothing was changed. Upload again.', 400);
    }
    if (err instanceof ArchiveError) {
        switch (err.kind) {
        case 'too-large':
          return tooLarge();
        case 'not-gzip':
          return notABackup('不是 gzip 文件', 'not gzip');
        case 'not-tar':
        case 'unexpected-member':
          return notABackup('文件结构不对', err.message);
        case 'truncated':
          return damaged('文件不完整', 'the file is incomplete');
        case 'corrupt':
          return damaged('压缩数据有错', 'the compressed data is corrupt');
      }
    }
    if (/ENOSPC/.test(String((err as NodeJS.ErrnoException).code))) {
        return refuse('no-space', '磁盘空间不足，无法接收备份文件。未做任何更改。', 'not enough disk space to receive the backup. Nothing was changed.', 507);
    }
    throw err;
  }
}

/** Checks an unpacked backup: manifest, checksums, schema version, integrity, row counts; merges its config with this box's file. */
function validateBackup(members: Map<string, { path: string; size: number; sha256: string }>, work: string, configFile: string | null): Outcome<{
  manifest: BackupManifest;
  config: { text: string | null; restored: string[]; kept: string[]; note: { zh: string; en: string } | null };
}, BackupRefusalCode> {
  const manifestMember = members.get(MANIFEST);
  if (!manifestMember) return notABackup('没有 manifest.json', 'no manifest.json');
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(readFileSync(manifestMember.path, 'utf8')) as BackupManifest;
  } catch {
    return damaged('manifest.json 无法读取', 'manifest.json unreadable');
  }
  if (manifest?.format !== BACKUP_FORMAT || !Array.isArray(manifest.members) || typeof manifest.schema_version !== 'number') {
    return notABackup('manifest.json 不是本机的格式', 'not an smsbox manifest');
  }
  if (typeof manifest.format_version !== 'number' || manifest.format_version > BACKUP_FORMAT_VERSION || manifest.schema_version > SCHEMA_VERSION) {
    return refuse('backup-too-new',
      `这个备份来自更新版本的短信网关（软件 ${String(manifest.software_version)}，数据版本 ${manifest.schema_version}；本机软件 ${softwareVersion}，数据版本 ${SCHEMA_VERSION}）。请先把本机更新到 ${String(manifest.software_version)} 或更新的版本，再恢复这个备份。未做任何更改。`,
      `this backup comes from newer smsbox software (${String(manifest.software_version)}, schema ${manifest.schema_version}; this box runs ${softwareVersion}, schema ${SCHEMA_VERSION}). Update this box to ${String(manifest.software_version)} or later first, then restore it. Nothing was changed.`, 409);
  }
  const listed = new Set<string>();
  for (const entry of manifest.members) {
    const member = members.get(entry.name);
    if (!member) return damaged(`缺少 ${entry.name}`, `${entry.name} missing`);
    if (member.size !== entry.size || member.sha256 !== entry.sha256) return damaged(`${entry.name} 的校验和不符`, `${entry.name} checksum mismatch`);
    listed.add(entry.name);
  }
  for (const name of members.keys()) if (name !== MANIFEST && !listed.has(name)) return damaged(`${name} 不在清单中`, `${name} not in the manifest`);
  if (!listed.has(DB_FILE)) return notABackup('没有数据库', 'no database');

  let inspection;
  try {
    inspection = inspectDatabase(join(work, DB_FILE));
  } catch (err) {
    return damaged(`数据库无法打开`, `the database cannot be opened: ${String(err).slice(0, 120)}`);
  }
  if (inspection.integrity !== 'ok') return damaged(`数据库完整性检查失败`, `integrity check failed: ${inspection.integrity.slice(0, 160)}`);
  if (inspection.schemaVersion !== manifest.schema_version) return damaged('数据库版本与清单不符', 'schema version differs from the manifest');
  for (const [table, rows] of Object.entries(manifest.tables ?? {})) {
    if (inspection.tables[table] !== rows) return damaged(`${table} 的行数与清单不符`, `row count of ${table} differs from the manifest`);
  }

  // The config: this box's own file with the shop's sections from the backup.
  const kept = [...KEPT_SECTIONS] as string[];
  const configMember = members.get(CONFIG_MEMBER);
  if (!configMember) {
    return done({ manifest, config: { text: null, restored: [], kept, note: { zh: '备份中没有配置文件，本机设置保持不变', en: 'the backup has no config file; this box keeps its settings' } } });
  }
  if (!configFile || !existsSync(configFile)) {
    return done({ manifest, config: { text: null, restored: [], kept, note: { zh: '本机没有配置文件（使用内置默认设置），备份中的设置没有恢复', en: 'this box has no config file (built-in defaults), so the settings in the backup were not restored' } } });
  }
  let merged: string;
  try {
    merged = mergeRestoredConfig(readFileSync(configFile, 'utf8'), readFileSync(configMember.path, 'utf8'));
    parseConfig(merged, configFile);
  } catch (err) {
    if (err instanceof ConfigError) {
      return refuse('backup-config-invalid',
        `备份中的设置与本机不兼容：${err.zh}。未做任何更改。请把备份中的 smsbox.toml 手工改正，或联系技术支持。`,
        `the settings in the backup do not fit this box: ${err.en} Nothing was changed. Fix smsbox.toml from the backup by hand, or contact support.`, 400);
    }
    throw err;
  }
  return done({ manifest, config: { text: merged, restored: [...RESTORED_SECTIONS], kept, note: null } });
}

function freeBytes(dir: string): number | null {
  try {
    const fs = statfsSync(dir);
    return Number(fs.bavail) * Number(fs.bsize);
  } catch {
    return null;
  }
}
