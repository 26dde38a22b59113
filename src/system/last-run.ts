import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import { writeFileAtomic } from '../durable.js';

/**
 * Whether the box's previous run ended cleanly, and what it logged last.
 *
 * Each run writes `run-state.json` in the data folder when it starts
 * (`running`) and again when it has stopped cleanly (`stopped`): a run that
 * finds `running` there knows the one before it ended without stopping (a
 * crash, a watchdog kill, a power cut). The end of that run's log comes from
 * the journal, which the image keeps on the data partition; where there is no
 * journalctl (a PC) or no access to it, there is no log, only the verdict.
 */

export const RUN_STATE_FILE = 'run-state.json';

/** The lines of the previous run's log that the status page shows. */
export const LOG_TAIL_LINES = 30;
/** One line at most this long (a stack trace's line can be huge). */
const LOG_LINE_CHARS = 400;
/** journalctl gets this long; a hung or slow one is killed. */
const JOURNALCTL_TIMEOUT_MS = 5_000;
/** More output than this is cut off (30 lines of 400 characters fit well). */
const JOURNALCTL_MAX_BYTES = 256 * 1024;

interface RunStateFile {
  state: 'running' | 'stopped';
  pid: number;
  started_at: string;
  stopped_at?: string;
  /** The kernel's boot id: a run of another boot died with the system (a power cut, a hang), one of this boot with the process. */
  boot_id: string | null;
}

export type RunEnd = 'clean' | 'crash' | 'unknown';

export interface PreviousRun {
  /** clean: stopped by a stop request; crash: ended without one; unknown: no record (the first start, or an unreadable file). */
  ended: RunEnd;
  started_at: string | null;
  /** When it stopped; null unless it stopped cleanly. */
  stopped_at: string | null;
  /** Whether it ran in this boot (the process died, the system did not); null when unknown. */
  same_boot: boolean | null;
  /** The kernel's boot id of that run (for journalctl -b). */
  boot_id: string | null;
}

/** The kernel's id of this boot; null off Linux. */
export function currentBootId(read: (path: string) => string = (path) => readFileSync(path, 'utf8')): string | null {
  try {
    const id = read('/proc/sys/kernel/random/boot_id').trim().replace(/-/g, '');
    return /^[0-9a-f]{32}$/.test(id) ? id : null;
  } catch {
    return null;
  }
}

/** What the file the previous run left says about its end. */
export function judgePreviousRun(text: string | null, bootId: string | null): PreviousRun {
  const unknown: PreviousRun = { ended: 'unknown', started_at: null, stopped_at: null, same_boot: null, boot_id: null };
  if (text === null) return unknown;
  let parsed: Partial<RunStateFile>;
  try {
    parsed = JSON.parse(text) as Partial<RunStateFile>;
  } catch {
    return unknown;
  }
  if (typeof parsed !== 'object' || parsed === null || (parsed.state !== 'running' && parsed.state !== 'stopped')) return unknown;
  const previousBoot = typeof parsed.boot_id === 'string' && /^[0-9a-f]{32}$/.test(parsed.boot_id) ? parsed.boot_id : null;
  return {
    ended: parsed.state === 'stopped' ? 'clean' : 'crash',
    started_at: typeof parsed.started_at === 'string' ? parsed.started_at : null,
    stopped_at: parsed.state === 'stopped' && typeof parsed.stopped_at === 'string' ? parsed.stopped_at : null,
    same_boot: previousBoot && bootId ? previousBoot === bootId : null,
    boot_id: previousBoot,
  };
}

/** Values that look like a secret are blanked in log lines shown on a page (the app logs none; a crash's stack might). */
export function redactLogLine(line: string): string {
  return line
    .replace(/\b(authorization|cookie)(["']?\s*[:=]\s*).*$/i, '$1$2[redacted]')
    .replace(/\b(pwd|password|passwd|pass|secret|token)(["']?\s*[:=]\s*["']?)[^\s"'&,;]+/gi, '$1$2[redacted]')
    .slice(0, LOG_LINE_CHARS);
}

/** journalctl's lines, without its own remarks ("-- No entries --", "-- Boot …", hints). */
export function parseJournalTail(output: string, max = LOG_TAIL_LINES): string[] {
  return output
    .split('\n')
    .map((line) => line.replace(/\r$/, ''))
    .filter((line) => line.trim() !== '' && !line.startsWith('-- ') && !/^Hint: /.test(line))
    .slice(-max)
    .map(redactLogLine);
}

/** The arguments of the journalctl that reads the end of a run's log: smsbox's unit, in that run's boot, before `before`. */
export function journalTailArgs(previous: Pick<PreviousRun, 'boot_id'>, before: number, unit = 'smsbox.service', lines = LOG_TAIL_LINES): string[] {
  return [
    '--no-pager', '--quiet', '--output=short-iso', `--lines=${lines}`, `--unit=${unit}`,
    // That run's boot; without a recorded one, the boot before this (a power cut took the record's boot id with it only if it was never written).
    `--boot=${previous.boot_id ?? '-1'}`,
    // In the same boot, this run's own lines are not the previous run's.
    `--until=@${Math.floor(before / 1000)}`,
  ];
}

export type JournalReader = (args: string[]) => Promise<string>;

/** Runs journalctl (no shell), bounded in time and output; rejects when it is missing or fails. */
export function journalctlReader(binary = 'journalctl', timeoutMs = JOURNALCTL_TIMEOUT_MS): JournalReader {
  return (args) =>
    new Promise((resolve, reject) => {
      execFile(binary, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: JOURNALCTL_MAX_BYTES, encoding: 'utf8', windowsHide: true }, (error, stdout) => {
        // Too much output (the limit is far above 30 lines): the lines kept would not be the last ones, so none are shown.
        if (error) reject(error);
        else resolve(stdout);
      });
    });
}

/** `/api/status` `last_run` as anyone on the LAN sees it. */
export type LastRunSummary = Pick<PreviousRun, 'ended' | 'started_at' | 'stopped_at' | 'same_boot'>;

export interface LastRunView extends LastRunSummary {
  /** The end of the previous run's log; null when not read (no journalctl, no access, a clean end). */
  log_tail: string[] | null;
}

/**
 * The run record of one process: `begin()` at the start (reads what the
 * previous run left, then marks this one running), `stopped()` after a clean
 * stop. Every write is atomic and failure-proof: on a full disk the box runs on
 * and the next start says `unknown` or `crash`.
 */
export class RunRecord {
  private previousRun: PreviousRun = { ended: 'unknown', started_at: null, stopped_at: null, same_boot: null, boot_id: null };
  private tail: string[] | null = null;
  private readonly file: string;
  private readonly bootId: string | null;
  private startedAt = 0;

  constructor(
    private readonly options: {
      dataDir: string;
      log: Logger;
      now?: () => number;
      pid?: number;
      bootId?: string | null;
      journal?: JournalReader | null;
    },
  ) {
    this.file = join(options.dataDir, RUN_STATE_FILE);
    this.bootId = options.bootId === undefined ? currentBootId() : options.bootId;
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** Reads the previous run's record and marks this run as running. */
  begin(): PreviousRun {
    let text: string | null = null;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      text = null;
    }
    this.previousRun = judgePreviousRun(text, this.bootId);
    this.startedAt = this.now();
    this.write({ state: 'running', pid: this.options.pid ?? process.pid, started_at: new Date(this.startedAt).toISOString(), boot_id: this.bootId });
    return this.previousRun;
  }

  /** This run stopped cleanly (after the database closed). */
  stopped(): void {
    this.write({
      state: 'stopped',
      pid: this.options.pid ?? process.pid,
      started_at: new Date(this.startedAt).toISOString(),
      stopped_at: new Date(this.now()).toISOString(),
      boot_id: this.bootId,
    });
  }

  /**
   * Reads the end of the previous run's log, once, when it did not end
   * cleanly; never rejects. Resolves with the lines kept (null when none).
   */
  async readLogTail(): Promise<string[] | null> {
    const journal = this.options.journal === undefined ? journalctlReader() : this.options.journal;
    if (this.previousRun.ended !== 'crash' || !journal) return null;
    try {
      const lines = parseJournalTail(await journal(journalTailArgs(this.previousRun, this.startedAt)));
      this.tail = lines.length > 0 ? lines : null;
    } catch (err) {
      this.options.log.info('no log of the previous run (journalctl missing or not readable)', { error: String(err).slice(0, 300) });
      this.tail = null;
    }
    return this.tail;
  }

  get previous(): PreviousRun {
    return this.previousRun;
  }

  /** `/api/status` `last_run` (public: no log). */
  summary(): LastRunSummary {
    const { ended, started_at, stopped_at, same_boot } = this.previousRun;
    return { ended, started_at, stopped_at, same_boot };
  }

  /** The end of the previous run's log once read (for a logged-in admin only). */
  logTail(): string[] | null {
    return this.tail;
  }

  private write(state: RunStateFile): void {
    try {
      writeFileAtomic(this.file, `${JSON.stringify(state)}\n`, 0o640);
    } catch (err) {
      this.options.log.warn('cannot record the run state (a full disk?)', { error: String(err) });
    }
  }
}
