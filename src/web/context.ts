import type polka from 'polka';
import type { Clock } from '../clock.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../log.js';
import type { Operations } from '../operations/index.js';
import type { StatusModel } from '../status/status.js';
import type { UpdateReceiver } from '../update/receive.js';
import type { Req, Res } from './http.js';
import type { WdgjEndpoint } from './wdgj.js';

/** What the web front ends work with: the operations (every action and query), the status model, and the WDGJ adapter. */
export interface WebDeps {
  ops: Operations;
  status: StatusModel;
  wdgj: WdgjEndpoint;
  clock: Clock;
  config: () => Config;
  log: Logger;
  /** Updates from the settings page (README, "Updates"); absent in tests that do not need them. */
  update?: UpdateReceiver;
  /** The end of the previous run's log when it did not stop cleanly (admins only); null when none was read. */
  lastRunLog?: () => readonly string[] | null;
  /** Extra routes (the simulator's API in simulator mode). */
  extraRoutes?: (app: polka.Polka, helpers: { requireAdmin: (req: Req, res: Res) => boolean }) => void;
}
