import type { Clock } from '../clock.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../log.js';
import type { EventLevel, Store } from '../store/store.js';
import type { NotifierPort } from './notify.js';
import type { SimPort } from './sim.js';

/** What the operations act on: the store, the time, the live config, and hooks into the running box. */
export interface OperationsContext {
  store: Store;
  clock: Clock;
  /** The config in force (the settings operations replace it through applyConfig). */
  config: () => Config;
  log: Logger;
  /** Whether a new message can be accepted at all (the status model's acceptance: no hard modem fault). */
  acceptance: () => { ok: true } | { ok: false; reason: string };
  /** A message became due: the dispatcher decides again at once. */
  onQueued?: () => void;
  /** Applies a validated new config without a restart; `config().file` is the file it was read from. */
  applyConfig?: (next: Config) => void;
  /** The running notifier (the channels' listing and 发送测试); none: no channel is listed. */
  notifier?: NotifierPort;
  /** The running box's SIM service (self-test, balance); none: those actions are refused. */
  sim?: SimPort;
  /** The data folder (the database, `backups/`); none: no backups. */
  dataDir?: string;
  /**
   * Stops the box, runs `between` on its stopped data, and starts it again in
   * this process on the same port (main.ts, runBox). None: the box cannot
   * restore while running.
   */
  restartBox?: (between: () => Promise<void>) => void;
  /** The host name in backup names and manifests (tests); os.hostname() by default. */
  hostname?: string;
}

/**
 * Writes one event for the shop's events log. An event is what a person
 * reads, not what the box promised: a failing events write is logged and
 * never turns a done action into a failed one.
 */
export function recordEvent(ctx: OperationsContext, level: EventLevel, kind: string, zh: string, en: string, data?: unknown): void {
  try {
    ctx.store.addEvent(ctx.clock.now(), level, kind, zh, en, data);
  } catch (err) {
    ctx.log.error('cannot write event', { kind, error: String(err) });
  }
}
