import type { AddressInfo } from 'node:net';
import type http from 'node:http';
import { systemClock, type Clock } from './clock.js';
import type { Config } from './config/config.js';
import { createLogger, type Logger } from './log.js';
import { StatusModel } from './status/status.js';
import { Store } from './store/store.js';
import { createWebServer } from './web/server.js';
import { WdgjEndpoint } from './web/wdgj.js';

/** Wires the parts of the box together; nothing else lives here. */

export interface BoxOptions {
  config: Config;
  /** Overrides [storage] data_dir. */
  dataDir?: string;
  /** Overrides [http] port; 0 picks a free port. */
  port?: number;
  host?: string;
  clock?: Clock;
  log?: Logger;
}

export interface Box {
  readonly port: number;
  readonly url: string;
  readonly store: Store;
  readonly status: StatusModel;
  readonly server: http.Server;
  close(): Promise<void>;
}

export async function startBox(options: BoxOptions): Promise<Box> {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? createLogger();
  const config = options.config;
  const getConfig = () => config;
  const simulated = config.modem.device === 'simulator';

  const store = Store.open(options.dataDir ?? config.storage.dataDir);
  store.syncAccounts(config.accounts, clock.now());
  const status = new StatusModel({ store, clock, config: getConfig }, simulated);
  const wdgj = new WdgjEndpoint({ store, status, clock, config: getConfig, log });
  const server = createWebServer({ store, status, wdgj, clock, config: getConfig, log });

  const host = options.host ?? config.http.host;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? config.http.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  if (simulated) {
    log.warn('SIMULATOR MODE — 模拟模式: no modem hardware is used; NO SMS LEAVES THIS BOX / 短信不会真的发出');
  }
  log.info('smsbox listening', { url: `http://${host}:${port}/sms`, config: config.file ?? '(built-in defaults)' });
  store.addEvent(clock.now(), 'info', 'start', `短信网关已启动，端口 ${port}`, `smsbox started on port ${port}`);

  let closed = false;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    store,
    status,
    server,
    async close() {
      if (closed) return;
      closed = true;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      store.close();
    },
  };
}
