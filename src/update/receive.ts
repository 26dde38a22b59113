import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statfsSync } from 'node:fs';
import type http from 'node:http';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { done, refuse, type Outcome, type Refusal } from '../operations/outcome.js';
import { loadPublicKey, verifyBundle, type BundleExpectations, type Manifest } from './bundle.js';
import { ROOT_STATE_DIR, readJson, updatePaths, type UpdateRequest, type UpdateResult } from './files.js';
import { writeFileAtomic } from '../durable.js';
import { UPDATE_KEY_FILE } from './platform.js';
import { SLOTS_ROOT, slotOfPackage, type SlotName } from './slots.js';

/**
 * The web process's half of an update: receive the upload onto the data
 * partition (bounded), check it completely, take the pre-update backup, and
 * leave a request for the root side (smsbox-update.service). Everything it
 * refuses is refused before anything changes.
 */

/** The largest bundle accepted (a release is about 10–20 MB). */
export const MAX_BUNDLE_BYTES = 256 * 1024 * 1024;
/** Space left free on the data partition after the upload, for the database to keep growing. */
export const RESERVE_BYTES = 64 * 1024 * 1024;

export interface UpdateOptions {
  /** The slot this app runs from; detected from where the code lives (/opt/smsbox/a or b) unless given. */
  slot?: SlotName | null;
  /** The root side's folder, where the last result is (ROOT_STATE_DIR unless given). */
  stateDir?: string;
  /** The public half of the release key (default /usr/share/smsbox/update-key.pub, installed by the image). */
  publicKeyFile?: string;
  maxBundleBytes?: number;
  /** What the bundle must fit; defaults: this process's arch and Node ABI, the database's schema. */
  expect?: Partial<BundleExpectations>;
  /**
   * Takes the backup the owner can download, before the update is handed to
   * the root side; returns its file name. The backup feature (issue 15 item 2)
   * plugs in here; a failure refuses the update. The root side also saves the
   * database itself for a rollback, whether or not this is set.
   */
  backupBeforeUpdate?: () => Promise<string | null>;
}

export interface UpdateState {
  /** Whether this box can update itself (runs from a slot, with a key). */
  available: boolean;
  slot: SlotName | null;
  /** An update handed to the root side and not finished yet. */
  pending: UpdateRequest | null;
  last: UpdateResult | null;
}

export type UpdateRefusalCode = 'update-unavailable' | 'update-busy' | 'update-too-large' | 'update-disk-full' | 'update-backup-failed' | 'update-empty';

export class UpdateReceiver {
  readonly slot: SlotName | null;
  private readonly paths;
  private readonly keyFile: string;
  private readonly maxBytes: number;
  private receiving = false;

  constructor(
    private readonly dataDir: string,
    packageRoot: string,
    private readonly schema: () => number,
    private readonly options: UpdateOptions = {},
  ) {
    this.slot = options.slot !== undefined ? options.slot : slotOfPackage(packageRoot, SLOTS_ROOT);
    this.paths = updatePaths(dataDir, options.stateDir ?? ROOT_STATE_DIR);
    this.keyFile = options.publicKeyFile ?? UPDATE_KEY_FILE;
    this.maxBytes = options.maxBundleBytes ?? MAX_BUNDLE_BYTES;
  }

  state(): UpdateState {
    const pending = existsSync(this.paths.request) ? readJson<UpdateRequest>(this.paths.request) : null;
    return { available: this.unavailable() === null, slot: this.slot, pending, last: readJson<UpdateResult>(this.paths.result) };
  }

  /**
   * The outcome of the last update once, as an event for the overview (the
   * root side cannot write to the database): called at start, after the root
   * side restarted the app into the new version or back into the old one.
   */
  announceLastResult(addEvent: (level: 'info' | 'error', kind: string, zh: string, en: string, data: unknown) => void): UpdateResult | null {
    const last = readJson<UpdateResult>(this.paths.result);
    const marker = join(this.paths.incoming, 'announced');
    if (!last) return null;
    let announced = '';
    try {
      announced = readFileSync(marker, 'utf8').trim();
    } catch {
      // never announced
    }
    if (announced === last.id) return null;
    addEvent(last.outcome === 'updated' ? 'info' : 'error', `update-${last.outcome}`, last.message, last.message_en, last);
    writeFileAtomic(marker, last.id, 0o640);
    return last;
  }

  /** Why this box cannot take an update at all; null when it can. */
  unavailable(): Refusal<'update-unavailable'> | null {
    if (this.slot === null) {
      return refuse('update-unavailable',
        '这台机器上的 smsbox 不是从 SD 卡镜像的 A/B 槽（/opt/smsbox/a、/opt/smsbox/b）运行的，不能在线更新。开发机请用 git pull 和 npm run build 更新。',
        'smsbox on this machine does not run from the SD-card image\'s A/B slots (/opt/smsbox/a, /opt/smsbox/b), so it cannot update itself. On a development machine, update with git pull and npm run build.', 409);
    }
    if (!existsSync(this.keyFile)) {
      return refuse('update-unavailable', `本机没有更新公钥（${this.keyFile}），无法检查更新文件的签名；请刷写新的 SD 卡镜像。`,
        `The box has no update key (${this.keyFile}) to check an update's signature with; flash a new SD-card image.`, 409);
    }
    return null;
  }

  private busy(): Refusal<'update-busy'> | null {
    if (this.receiving || existsSync(this.paths.request) || existsSync(this.paths.state)) {
      return refuse('update-busy', '已有一个更新正在进行，请等它完成（约几分钟）后再试', 'an update is already under way; wait for it to finish (a few minutes) and try again', 409);
    }
    return null;
  }

  /**
   * Whether an upload of `declaredBytes` (Content-Length, when sent) may start.
   * Checked before the body is read, so a refused upload costs nothing.
   */
  admit(declaredBytes: number | null): Refusal | null {
    const refusal = this.unavailable() ?? this.busy();
    if (refusal) return refusal;
    if (declaredBytes !== null && declaredBytes > this.maxBytes) return this.tooLarge();
    if (declaredBytes !== null && declaredBytes > this.freeBytes() - RESERVE_BYTES) return this.diskFull(declaredBytes);
    return null;
  }

  private tooLarge(): Refusal<'update-too-large'> {
    const mb = Math.round(this.maxBytes / 1024 / 1024);
    return refuse('update-too-large', `文件太大（最大 ${mb} MB），这不是 smsbox 更新文件；本机没有任何改动。`, `The file is too large (${mb} MB at most) to be an smsbox update; nothing on the box was changed.`, 413);
  }

  private diskFull(bytes: number): Refusal<'update-disk-full'> {
    const mb = Math.ceil((bytes + RESERVE_BYTES) / 1024 / 1024);
    return refuse('update-disk-full', `数据分区空间不足（需要约 ${mb} MB），请先在“消息”页面清理旧记录；本机没有任何改动。`, `Not enough room on the data partition (about ${mb} MB needed); free some space first. Nothing on the box was changed.`, 507);
  }

  private freeBytes(): number {
    mkdirSync(this.paths.incoming, { recursive: true });
    const s = statfsSync(this.paths.incoming);
    return s.bavail * s.bsize;
  }

  /**
   * Receives the bundle from `body`, checks it, backs up, and hands it to the
   * root side. The app is stopped and the new version started by the root
   * side a moment after this resolves.
   */
  async receive(body: http.IncomingMessage): Promise<Outcome<{ manifest: Manifest; backup: string | null }, string>> {
    const declared = body.headers['content-length'] !== undefined ? Number(body.headers['content-length']) : null;
    const refusal = this.admit(Number.isFinite(declared) ? declared : null);
    if (refusal) return refusal;
    this.receiving = true;
    try {
      mkdirSync(this.paths.incoming, { recursive: true });
      rmSync(this.paths.partial, { force: true });
      let size = 0;
      let over = false;
      const limit = Math.min(this.maxBytes, this.freeBytes() - RESERVE_BYTES);
      const counter = new Transform({
        transform: (chunk: Buffer, _encoding, callback) => {
          size += chunk.length;
          if (size > limit) {
            over = true;
            callback(new Error('upload over the limit'));
          } else callback(null, chunk);
        },
      });
      const out = createWriteStream(this.paths.partial);
      try {
        await pipeline(body, counter, out);
      } catch (err) {
        // A client gone before the file was even opened: the open still completes (and creates
        // the file) after pipeline gave up; remove it only once the stream has closed.
        if (!out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve()));
        rmSync(this.paths.partial, { force: true });
        if (over) return size > this.maxBytes ? this.tooLarge() : this.diskFull(size);
        throw err;
      }
      if (size === 0) {
        rmSync(this.paths.partial, { force: true });
        return refuse('update-empty', '没有收到文件：请选择 .smsbox-update 更新文件后再上传', 'no file received: choose the .smsbox-update file and upload it', 400);
      }
      const key = loadPublicKey(readFileSync(this.keyFile));
      const verified = await verifyBundle(this.paths.partial, key, {
        arch: this.options.expect?.arch ?? process.arch,
        nodeAbi: this.options.expect?.nodeAbi ?? process.versions.modules,
        schema: this.options.expect?.schema ?? this.schema(),
      });
      if (!verified.ok) {
        rmSync(this.paths.partial, { force: true });
        return verified;
      }
      let backup: string | null = null;
      if (this.options.backupBeforeUpdate) {
        try {
          backup = await this.options.backupBeforeUpdate();
        } catch (err) {
          rmSync(this.paths.partial, { force: true });
          return refuse('update-backup-failed', `更新前的备份失败（${String(err)}），没有更新；本机没有任何改动。`, `The backup before the update failed (${String(err)}); the update was not started and nothing was changed.`, 503);
        }
      }
      const { manifest } = verified.value;
      renameSync(this.paths.partial, this.paths.bundle);
      const request: UpdateRequest = { requested_at: new Date().toISOString(), version: manifest.version, commit: manifest.commit, backup };
      // Written last: its appearance is what starts the root side.
      writeFileAtomic(this.paths.request, JSON.stringify(request, null, 1), 0o640);
      return done({ manifest, backup });
    } finally {
      this.receiving = false;
    }
  }
}
