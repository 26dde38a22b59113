import { rmSync } from 'node:fs';
import { ManualClock } from '../../src/clock.js';
import { defaultConfig, type Config } from '../../src/config/config.js';
import { createLogger } from '../../src/log.js';
import { Operations } from '../../src/operations/index.js';
import { Store } from '../../src/store/store.js';
import { tempDir } from '../helpers/box.js';

export const T0 = Date.parse('2026-11-25T10:00:00+08:00');

export interface OpsRig {
  ops: Operations;
  store: Store;
  clock: ManualClock;
  dir: string;
  /** The config in force; replace it with setConfig (as applyConfig does). */
  config(): Config;
  setConfig(next: Config): void;
  /** How often onQueued was called. */
  kicks: number;
  /** Makes acceptance() refuse, as a hard modem fault does. */
  modemFault: string | null;
  logLines: string[];
  /** Configs passed to applyConfig. */
  applied: Config[];
  /** The kinds of the events written so far, oldest first. */
  eventKinds(): string[];
}

/**
 * Operations over a fresh database in a temporary folder, with a clock the
 * test moves and the built-in defaults (changed by `change`).
 */
export async function withOps(run: (rig: OpsRig) => Promise<void> | void, change?: (c: Config) => void): Promise<void> {
  const dir = tempDir('smsbox-ops-');
  let config = defaultConfig();
  change?.(config);
  const clock = new ManualClock(T0);
  const store = Store.open(dir);
  store.syncAccounts(config.accounts, clock.now());
  const logLines: string[] = [];
  const rig: OpsRig = {
    ops: undefined as unknown as Operations,
    store,
    clock,
    dir,
    config: () => config,
    setConfig: (next) => {
      config = next;
      store.syncAccounts(next.accounts, clock.now());
    },
    kicks: 0,
    modemFault: null,
    logLines,
    applied: [],
    eventKinds: () => store.listEvents(10_000).map((e) => e.kind).reverse(),
  };
  rig.ops = new Operations({
    store,
    clock,
    config: () => config,
    log: createLogger({ level: 'debug', write: (line) => logLines.push(line) }),
    acceptance: () => (rig.modemFault ? { ok: false, reason: rig.modemFault } : { ok: true }),
    onQueued: () => void rig.kicks++,
    applyConfig: (next) => {
      rig.applied.push(next);
      rig.setConfig(next);
    },
  });
  try {
    await run(rig);
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
