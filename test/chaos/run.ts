/**
 * The chaos suite's run: the box process under supervision (planned SIGKILLs and
 * restarts; any other exit is recorded with the box's last log lines and what the
 * clients were doing just before), the actions every client starts (for that
 * record), and per-client tallies of the answers.
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { GiveUp, processLogs, seededRandom, spawnBox, type BoxProcess } from '../reliability/lib.js';

/** A seeded PRNG per client, so each client's choices replay from the seed whatever the interleaving. */
export function clientRandom(seed: number, client: string): () => number {
  let h = seed >>> 0;
  for (const ch of client) h = Math.imul(h ^ ch.charCodeAt(0), 0x9e3779b1) >>> 0;
  return seededRandom(h);
}

export const pick = <T>(random: () => number, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;

export const letters = (random: () => number, min: number, max: number): string =>
  Array.from({ length: min + Math.floor(random() * (max - min + 1)) }, () => String.fromCharCode(97 + Math.floor(random() * 26))).join('');

export interface Action {
  at: number;
  client: string;
  what: string;
}

/** An action's kind: its client and first word ("garbled bad-escape-route"). */
export const kindOf = (a: Action): string => `${a.client} ${a.what.split(' ')[0]}`;

/** The last actions of all clients, to name the likely trigger of an unplanned exit, and how often each kind ran. */
export class ActionLog {
  private readonly recent: Action[] = [];
  readonly startedAt = Date.now();
  readonly counts = new Map<string, number>();

  note(client: string, what: string): void {
    const action = { at: Date.now(), client, what: what.length > 160 ? `${what.slice(0, 160)}…` : what };
    this.recent.push(action);
    this.counts.set(kindOf(action), (this.counts.get(kindOf(action)) ?? 0) + 1);
    if (this.recent.length > 2000) this.recent.splice(0, 1000);
  }

  since(at: number): Action[] {
    return this.recent.filter((a) => a.at >= at);
  }

  /** The chance that a kind shows up in a random window of `ms` (its runs spread evenly over the run). */
  chanceIn(kind: string, ms: number): number {
    const perMs = (this.counts.get(kind) ?? 0) / Math.max(1, Date.now() - this.startedAt);
    return 1 - Math.exp(-perMs * ms);
  }
}

/** Answers per client and kind: `"admin no-csrf": {"403": 12, "error": 1}`. */
export class Tally {
  readonly counts = new Map<string, Map<string, number>>();

  add(what: string, outcome: string | number): void {
    let m = this.counts.get(what);
    if (!m) this.counts.set(what, (m = new Map()));
    m.set(String(outcome), (m.get(String(outcome)) ?? 0) + 1);
  }

  render(): string {
    return [...this.counts]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([what, m]) => `  ${what}: ${[...m].map(([o, n]) => `${o}×${n}`).join(' ')}`)
      .join('\n');
  }
}

export interface UnplannedExit {
  at: number;
  pid: number | undefined;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The box's last log lines (stdout and stderr). */
  tail: string[];
  /** What the clients started in the TRIGGER_WINDOW_MS before the exit. */
  recent: Action[];
}

export interface Downtime {
  from: number;
  to: number | null;
  planned: boolean;
}

/** VmRSS of a process in bytes, or null once it is gone. */
export function rssOf(pid: number): number | null {
  try {
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? null : Number(kb) * 1024;
  } catch {
    return null;
  }
}

const MAX_UNPLANNED_RESTARTS = 300;
/** A crash follows its trigger within milliseconds, unless the box's event loop lags: under this load it can by a second. */
export const TRIGGER_WINDOW_MS = 2000;

/**
 * Keeps one box process running on a fixed port: `plannedKill()` is the only
 * way an exit counts as planned; any other exit is recorded and the box is
 * started again (up to MAX_UNPLANNED_RESTARTS), so one crash does not hide the next.
 */
export class BoxSupervisor {
  generation = 0;
  current: BoxProcess | null = null;
  readonly unplanned: UnplannedExit[] = [];
  readonly downtimes: Downtime[] = [];
  readonly pids: number[] = [];
  plannedKills = 0;
  startFailures: string[] = [];
  /** Set when no box could be started again: the run cannot go on. */
  failure: Error | null = null;
  private onFailure!: (error: Error) => void;
  /** Resolves with `failure` once it is set. */
  readonly failed = new Promise<Error>((resolve) => (this.onFailure = resolve));
  private readonly planned = new WeakSet<ChildProcess>();
  private waiters: (() => void)[] = [];
  private stopping = false;
  private starting: Promise<void> | null = null;

  constructor(
    private readonly configFile: string,
    private readonly port: number,
    private readonly auth: string,
    private readonly actions: ActionLog,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  get up(): boolean {
    return this.current !== null && this.starting === null;
  }

  /** Resolves when a box answers (at once if one does), or when the run is stopping or failed. */
  whenUp(): Promise<void> {
    if (this.up || this.stopping || this.failure) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Resolves once a box of a later generation than `generation` answers, or when stopping. */
  async whenGenerationAfter(generation: number): Promise<void> {
    while (!this.stopping && !this.failure && !(this.up && this.generation > generation)) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private wake(): void {
    for (const resolve of this.waiters.splice(0)) resolve();
  }

  start(): Promise<void> {
    this.starting ??= (async () => {
      let box: BoxProcess | null = null;
      for (let attempt = 1; !box; attempt++) {
        try {
          box = await spawnBox(this.configFile, this.port, this.auth, 30_000, this.env);
        } catch (error) {
          // Not answering within 30 s while still running: the port stays taken, no new start can help.
          if (!(error instanceof GiveUp)) throw error;
          // An exit during start-up (a request arriving early can cause it) is an unplanned exit too.
          this.recordExit(undefined, null, null);
          this.startFailures.push(error.message);
          if (attempt >= 3 || this.stopping) throw error;
        }
      }
      const started = box;
      this.current = started;
      this.generation++;
      if (started.child.pid !== undefined) this.pids.push(started.child.pid);
      // 'close': the box's stdout and stderr are read to their end, so the tail is complete.
      started.child.once('close', (code, signal) => this.onExit(started, code, signal));
      const open = this.downtimes.at(-1);
      if (open && open.to === null) open.to = Date.now();
      this.actions.note('supervisor', `started box ${this.generation} (pid ${started.child.pid})`);
    })()
      .catch((error: Error) => {
        this.failure ??= error;
        this.onFailure(this.failure);
        throw error;
      })
      .finally(() => {
        this.starting = null;
        this.wake();
      });
    return this.starting;
  }

  private onExit(box: BoxProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.current === box) this.current = null;
    if (this.planned.has(box.child)) return;
    this.downtimes.push({ from: Date.now(), to: null, planned: false });
    this.recordExit(box.child.pid, code, signal);
    if (!this.stopping && this.unplanned.length < MAX_UNPLANNED_RESTARTS) {
      this.start().catch(() => {
        // In this.failure: the run ends with it.
      });
    }
  }

  private recordExit(pid: number | undefined, code: number | null, signal: NodeJS.Signals | null): void {
    const at = Date.now();
    this.unplanned.push({
      at,
      pid,
      code,
      signal,
      tail: processLogs.slice(-20).map((line) => (line.length > 600 ? `${line.slice(0, 600)}…` : line)),
      recent: this.actions.since(at - TRIGGER_WINDOW_MS),
    });
  }

  /** SIGKILL (a power cut as far as the box can tell), then a new box on the same data. */
  async plannedKill(alsoBefore?: () => void): Promise<void> {
    const box = this.current;
    if (!box || !this.up) return;
    this.planned.add(box.child);
    this.downtimes.push({ from: Date.now(), to: null, planned: true });
    this.current = null;
    box.child.kill('SIGKILL');
    alsoBefore?.();
    this.plannedKills++;
    await box.exited;
    await this.start();
  }

  /** Ends the run: no more restarts; the box is stopped (SIGTERM: cleanly) and its exit code returned. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    this.stopping = true;
    this.wake();
    await this.starting?.catch(() => undefined);
    const box = this.current;
    if (!box) return null;
    this.planned.add(box.child);
    this.current = null;
    box.child.kill(signal);
    // A box that does not stop within 30 s of SIGTERM is killed; null tells it did not stop cleanly.
    const late = setTimeout(() => box.child.kill('SIGKILL'), 30_000);
    const code = await box.exited;
    clearTimeout(late);
    return box.child.signalCode === 'SIGKILL' ? null : code;
  }
}
