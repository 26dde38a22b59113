import { existsSync, mkdirSync, readFileSync, renameSync, statSync, appendFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Where an update lives on the data partition. Two folders, because the web
 * process is not trusted with the root side's state:
 *
 * - `<data dir>/update/` (the app's, writable by it): the upload, the
 *   checked bundle and the request that starts smsbox-update.service;
 * - the root side's folder (`/var/lib/smsbox-data/update` on the appliance,
 *   root's, readable by the app): its own copy of the bundle, the journal, the
 *   database saved for a rollback, the last result and the update log.
 *
 * Both survive a reboot and neither is on the root file system.
 */
export const ROOT_STATE_DIR = '/var/lib/smsbox-data/update';

export function updatePaths(dataDir: string, stateDir: string) {
  const incoming = join(dataDir, 'update');
  return {
    incoming,
    /** The upload being received. */
    partial: join(incoming, 'upload.partial'),
    /** A received, checked bundle waiting for the root side. */
    bundle: join(incoming, 'bundle.smsbox-update'),
    /** Written last by the web process: its existence starts smsbox-update.service (a systemd path unit). */
    request: join(incoming, 'request.json'),
    stateDir,
    /** The root side's copy of the bundle: checked and unpacked from a file the app cannot change. */
    ownBundle: join(stateDir, 'bundle.smsbox-update'),
    /** The root side's journal of the update under way (absent when none is). */
    state: join(stateDir, 'state.json'),
    /** The outcome of the last update, for the settings page. */
    result: join(stateDir, 'result.json'),
    /** The database as it was before the switch: what a rollback puts back. */
    preUpdate: join(stateDir, 'pre-update'),
    /** After a rollback, the database the failed version left (messages it accepted are in it). */
    failed: join(stateDir, 'failed'),
    /** One line per step of every update, kept across reboots (the journal is in RAM). */
    log: join(stateDir, 'update.log'),
  };
}
export type UpdatePaths = ReturnType<typeof updatePaths>;

/** The database files a copy must carry (the WAL holds commits not yet checkpointed). */
export const DB_FILES = ['smsbox.db', 'smsbox.db-wal'] as const;

export function readJson<T>(file: string): T | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return null;
  }
}

/** The update log grows by a few lines per update; past this size it starts again. */
const MAX_LOG_BYTES = 256 * 1024;

export function appendLog(file: string, at: number, line: string): void {
  try {
    mkdirSync(dirname(file), { recursive: true });
    if (existsSync(file) && statSync(file).size > MAX_LOG_BYTES) renameSync(file, `${file}.1`);
    appendFileSync(file, `${new Date(at).toISOString()} ${line}\n`);
  } catch {
    // A full data partition must not stop an update or a rollback.
  }
}

/** What the web process asks the root side to do (informative: the root side trusts only the bundle's signature). */
export interface UpdateRequest {
  requested_at: string;
  version: string;
  commit: string;
  /** The backup taken before the update, when one was (see UpdateOptions.backupBeforeUpdate). */
  backup: string | null;
}

/** The outcome of the last update attempt, written by the root side, read by the settings page. */
export interface UpdateResult {
  id: string;
  outcome: 'updated' | 'rolled-back' | 'refused' | 'failed';
  from_version: string | null;
  to_version: string | null;
  from_slot: string | null;
  to_slot: string | null;
  started_at: string;
  finished_at: string;
  /** Seconds from the request to the new version answering (updated) or to the old one back (rolled-back). */
  seconds: number;
  message: string;
  message_en: string;
}
