import type { AddressInfo } from 'node:net';
import type http from 'node:http';
import cron, { type ScheduledTask } from 'node-cron';
import { createSimulatorBinding } from '../hardware/simulator/binding.js';
import { VirtualModem } from '../hardware/simulator/virtual-modem.js';
import type { Clock } from './clock.js';
import type { Config, ConfigError } from './config/config.js';
import { InboundProcessor } from './inbound/inbound.js';
import { factoryAdminBlocked } from './operations/credentials.js';
import { Operations } from './operations/index.js';
import { createLogger, type Logger } from './log.js';
import { loadHat } from './modem/hats.js';
import { Modem, type ModemState } from './modem/modem.js';
import { ModemWatchdog } from './modem/watchdog.js';
import { setupBoxGpio } from './gpio/setup.js';
import { StatusLeds } from './leds/status-leds.js';
import { openSerialStream } from './modem/serial.js';
import { BoxClock, type ClockTrustProbe } from './scheduler/clock-trust.js';
import { Dispatcher, type DispatchModem } from './scheduler/dispatcher.js';
import { Notifier, defaultBoxIdentity } from './notify/index.js';
import { planSegments } from './modem/pdu/index.js';
import { windowCloseCron } from './scheduler/window.js';
import { alertConditions } from './status/alerts.js';
import { StatusModel, type StatusSnapshot } from './status/status.js';
import { storageStatus } from './status/storage.js';
import { Store } from './store/store.js';
import { packageRoot } from './paths.js';
import { UpdateReceiver, type UpdateOptions } from './update/receive.js';
import { createWebServer, endLiveStreams } from './web/server.js';
import { simulatorRoutes } from './web/simulator-routes.js';
import { WdgjEndpoint } from './web/wdgj.js';

/** Wires the parts of the box together; nothing else lives here. */

/**
 * How long a stop waits for requests already arriving (a slow upload from
 * 管家助理) before cutting their connections: well inside systemd's 30 s stop
 * timeout, which also has the modem's send in progress to wait for.
 */
export const SHUTDOWN_GRACE_MS = 5_000;

export interface BoxOptions {
  config: Config;
  /** Overrides [storage] data_dir. */
  dataDir?: string;
  /** Overrides [http] port; 0 picks a free port. */
  port?: number;
  host?: string;
  /** A clock the caller controls (tests); by default the system clock, corrected by network time on a Pi. */
  clock?: Clock;
  log?: Logger;
  /** Timings of the modem driver (tests use small values). */
  modemTimings?: { pollIntervalMs?: number; commandTimeoutMs?: number; bootMs?: number; resyncQuietMs?: number };
  /** Boot time of the virtual HAT in simulator mode (default 3000 ms, as a real one takes longer). */
  simulatorBootMs?: number;
  /** The config file had a mistake: the box runs on a fallback and shows the mistake. */
  configProblem?: { error: ConfigError; using: 'last-good' | 'defaults' };
  /** A virtual HAT that outlives this box (tests that restart the box keep its SIM's messages). */
  simulator?: VirtualModem;
  /** How the box tells whether its clock is set (tests stand in for a Pi without NTP). */
  clockProbe?: ClockTrustProbe;
  /** Updates from the settings page: the slot, the key, the pre-update backup (README, "Updates"). */
  update?: UpdateOptions;
}

export interface Box {
  readonly port: number;
  readonly url: string;
  readonly store: Store;
  readonly status: StatusModel;
  readonly server: http.Server;
  readonly modem: Modem;
  readonly dispatcher: Dispatcher;
  /** Alerts and forwards to the owner's channels (`[[notify]]`). */
  readonly notifier: Notifier;
  /** Sends the daily summary now (node-cron calls it when the sending window closes). */
  sendDailySummary(): void;
  /** The virtual HAT, in simulator mode. */
  readonly simulator: VirtualModem | null;
  /** Replaces the config while running: accounts, schedule, limits, opt-out rules apply at once. */
  applyConfig(next: Config): void;
  close(): Promise<void>;
}

/** The status model's view of the modem driver's state. */
function modemStatusFields(s: ModemState) {
  return { state: s.state, hardFault: s.hardFault, registered: s.registered, operator: s.operator, signalCsq: s.csq, signalBars: s.bars };
}

export async function startBox(options: BoxOptions): Promise<Box> {
  const log = options.log ?? createLogger();
  // The settings page replaces the config while the box runs (applyConfig below);
  // everything reads it through getConfig, so the new values apply without a restart.
  let config = options.config;
  const getConfig = () => config;
  const simulated = config.modem.device === 'simulator';
  const boxClock = options.clock ? null : new BoxClock(config.schedule.clock, options.clockProbe);
  const clock: Clock = options.clock ?? boxClock!;

  const dataDir = options.dataDir ?? config.storage.dataDir;
  const store = Store.open(dataDir);
  // On a full disk these writes fail; the box still starts, serves its pages and
  // says "disk full", and they are made at the next start or settings change.
  const startupWrite = (what: string, write: () => void) => {
    try {
      write();
    } catch (err) {
      log.error(`${what} failed at start`, { error: String(err) });
    }
  };
  startupWrite('syncing accounts', () => store.syncAccounts(config.accounts, clock.now()));
  startupWrite('recovering interrupted sends', () => {
    const interrupted = store.recoverInterrupted(clock.now(), config.dispatch.resendUncertain);
    if (interrupted.length > 0) {
      store.addEvent(clock.now(), 'warn', 'interrupted-sends',
        config.dispatch.resendUncertain
          ? `上次关机时有 ${interrupted.length} 条短信正在发送，已按设置重新排队（可能重复）`
          : `上次关机时有 ${interrupted.length} 条短信正在发送，不确定是否已发出，请在管理页面选择“重发”或“标记失败”`,
        config.dispatch.resendUncertain
          ? `${interrupted.length} message(s) were being sent when the box stopped; queued again as configured (may duplicate)`
          : `${interrupted.length} message(s) were being sent when the box stopped; they may or may not have gone out: choose resend or mark failed`,
        { messageIds: interrupted });
    }
  });

  // The modem: the virtual HAT in simulator mode, else the UART.
  const hat = loadHat(config.modem.hat);
  let simulator: VirtualModem | null = null;
  let openStream: () => Promise<import('node:stream').Duplex>;
  if (simulated) {
    // Switched off at first, like a real HAT: the box powers it on through the (virtual) PWRKEY.
    simulator = options.simulator ?? new VirtualModem({ sendMs: config.simulator.sendMs, bootMs: options.simulatorBootMs ?? 3000, initialPower: 'off' });
    const binding = createSimulatorBinding(simulator);
    openStream = () => openSerialStream({ path: 'simulator', baudRate: hat.uart.baud, binding });
  } else {
    const device = config.modem.device;
    openStream = () => openSerialStream({ path: device, baudRate: hat.uart.baud });
  }
  // GPIO through johnny-five: the virtual board wired to the virtual HAT, or the Pi's pins.
  // A machine without GPIO still runs the box: no LEDs, no power control, a warning.
  const ledPins = Object.fromEntries(
    (['power', 'network', 'activity', 'fault'] as const).flatMap((led) => (config.leds[led] === null ? [] : [[led, config.leds[led]]])),
  );
  const boxGpio = await setupBoxGpio({
    hat,
    simulator,
    ledPins,
    powerPins: {
      ...(config.modem.pwrkeyGpio !== null ? { pwrkeyGpio: config.modem.pwrkeyGpio } : {}),
      ...(config.modem.statusGpio !== null ? { statusGpio: config.modem.statusGpio } : {}),
    },
    ...(config.leds.gpioChip ? { gpiod: { chip: config.leds.gpioChip } } : {}),
    log,
  });
  const power = boxGpio.power;

  let dispatcher: Dispatcher | null = null;
  let statusLeds: StatusLeds<StatusSnapshot> | null = null;
  let consecutiveSendFailures = 0;
  let starting = true;
  // A settings save that passed the parser fixes the file: the problem is over then.
  let configProblem = options.configProblem ?? null;
  // The port is known once the server listens; messages are rendered only later, at delivery.
  let listeningPort = 0;

  // Alerts and forwards to the owner: group robots, our webhook, SMS through the outbox.
  const notifier = new Notifier({
    store: store.notify,
    clock,
    config: getConfig,
    box: () => defaultBoxIdentity(listeningPort),
    queueSms: (to, text) => {
      const plan = planSegments(text);
      return store.queueSystemMessage('forward', to, text, plan.parts.length, plan.encoding, clock.now());
    },
    onSmsQueued: () => dispatcher?.kick(),
    addEvent: (at, level, kind, zh, en, data) => store.addEvent(at, level, kind, zh, en, data),
    log,
  });
  const inbound = new InboundProcessor({
    store,
    clock,
    config: getConfig,
    log,
    onQueued: () => dispatcher?.kick(),
    notify: (kind, report) => notifier.event(kind, report),
  });
  const timings = options.modemTimings ?? {};
  const modem = new Modem({
    openStream,
    hat: timings.bootMs === undefined ? hat : { ...hat, power: { ...hat.power, bootMs: timings.bootMs } },
    power,
    clock,
    log,
    onInbound: async (part) => {
      await inbound.receive(part);
      statusLeds?.flash();
    },
    ...(timings.pollIntervalMs !== undefined ? { pollIntervalMs: timings.pollIntervalMs } : {}),
    ...(timings.commandTimeoutMs !== undefined ? { commandTimeoutMs: timings.commandTimeoutMs } : {}),
    ...(timings.resyncQuietMs !== undefined ? { resyncQuietMs: timings.resyncQuietMs } : {}),
  });

  // First AT+CFUN off/on, then power cycles through PWRKEY with backoff, then a hard fault.
  const watchdog = new ModemWatchdog({ modem, canPowerCycle: power.canPulse, clock, log });
  const modemStatusNow = () => {
    const fields = modemStatusFields(modem.status());
    return { ...fields, hardFault: fields.hardFault ?? watchdog.hardFault() };
  };

  const hatModem: DispatchModem = {
    id: 'hat',
    notReadyReason: () => {
      const s = modem.status();
      return s.state === 'ready' ? null : (s.hardFault ?? s.state);
    },
    send: async (message) => {
      try {
        const result = await modem.send(message);
        consecutiveSendFailures = 0;
        statusLeds?.flash();
        return result;
      } catch (err) {
        consecutiveSendFailures++;
        throw err;
      }
    },
    setKeepLinkOpen: (on) => {
      if (hat.at.cmms) void modem.setKeepLinkOpen(on).catch(() => {});
    },
  };

  const update = new UpdateReceiver(dataDir, packageRoot, () => store.schemaVersion, options.update);

  let closed = false;
  const status = new StatusModel(
    {
      store,
      clock,
      config: getConfig,
      dispatch: () => dispatcher!.state(),
      leds: () => statusLeds?.current() ?? {},
      configProblem: () => configProblem,
      clockSource: () => boxClock?.clockSource() ?? 'config',
      storage: () => storageStatus(dataDir),
      faults: () => statusLeds?.faults() ?? [],
      slot: () => update.slot,
    },
    simulated,
  );
  dispatcher = new Dispatcher({
    store,
    modems: [hatModem],
    clock,
    config: getConfig,
    log,
    clockTrusted: () => boxClock?.trusted() ?? true,
    isOptedOut: (number) => store.isOptedOut(number),
  });

  modem.on('status', () => {
    status.setModem(modemStatusNow());
    statusLeds?.refresh();
    dispatcher!.kick();
  });
  watchdog.on('event', (e) => store.addEvent(clock.now(), e.level, `watchdog-${e.kind}`, e.zh, e.en));
  watchdog.on('hard-fault', () => {
    status.setModem(modemStatusNow());
    statusLeds?.refresh();
  });
  modem.on('event', (e) => store.addEvent(clock.now(), e.level, `modem-${e.kind}`, e.zh, e.en));
  modem.on('status-report', (r) => {
    store.applyStatusReport(r.recipient, r.messageRef, r.status, r.delivered, r.final, clock.now());
  });
  const adoptNetworkTime = (date: Date) => {
    if (boxClock?.offerNetworkTime(date.getTime())) {
      store.addEvent(clock.now(), 'info', 'clock-from-network', '已使用短信模块的网络时间校准时钟', 'clock set from the network time of the modem');
      dispatcher!.kick();
    }
  };
  modem.on('network-time', adoptNetworkTime);
  // A Pi has no clock battery; where the LAN has no NTP either, the module's clock
  // (set by the network at registration) is asked, then every minute until the
  // clock is trusted: not every network sends a time-zone URC.
  let askingNetworkTime = false;
  const askNetworkTime = async () => {
    if (!boxClock || boxClock.trusted() || askingNetworkTime || closed || !modem.status().registered) return;
    askingNetworkTime = true;
    try {
      const time = await modem.networkTime();
      if (time) adoptNetworkTime(time);
    } finally {
      askingNetworkTime = false;
    }
  };
  modem.on('status', () => void askNetworkTime());
  const networkTimeTimer = setInterval(() => void askNetworkTime(), 60_000);
  networkTimeTimer.unref();

  // Every action on the shop's data, for the WDGJ adapter, the JSON API and the pages alike.
  const ops = new Operations({
    store,
    clock,
    config: getConfig,
    log,
    acceptance: () => status.acceptance(),
    onQueued: () => dispatcher!.kick(),
    applyConfig: (next) => applyConfig(next),
    notifier,
  });
  const wdgj = new WdgjEndpoint({ ops, status, clock, config: getConfig, log });
  const server = createWebServer({
    ops,
    status,
    wdgj,
    clock,
    config: getConfig,
    log,
    update,
    ...(simulator ? { extraRoutes: simulatorRoutes(simulator) } : {}),
  });

  const host = options.host ?? config.http.host;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? config.http.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  listeningPort = port;
  if (simulated) {
    log.warn('SIMULATOR MODE — 模拟模式: no modem hardware is used; NO SMS LEAVES THIS BOX / 短信不会真的发出');
  }
  log.info('smsbox listening', { url: `http://${host}:${port}/sms`, config: config.file ?? '(built-in defaults)' });
  if (options.configProblem) {
    const { error, using } = options.configProblem;
    store.addEvent(clock.now(), 'error', 'config-error',
      `配置文件有误（${error.file}${error.line ? ` 第 ${error.line} 行` : ''}）：${error.zh}。暂时使用${using === 'last-good' ? '上次正确的配置' : '出厂设置'}运行。`,
      `config error (${error.file}${error.line ? ` line ${error.line}` : ''}): ${error.en} Running on ${using === 'last-good' ? 'the last good config' : 'the built-in defaults'}.`);
  }
  store.addEvent(clock.now(), 'info', 'start', `短信网关已启动，端口 ${port}`, `smsbox started on port ${port}`);
  startupWrite('announcing the last update', () => update.announceLastResult((level, kind, zh, en, data) => store.addEvent(clock.now(), level, kind, zh, en, data)));

  // The HTTP path never waits on the modem: it starts in the background.
  status.setModem(modemStatusNow());
  statusLeds = new StatusLeds({
    driver: boxGpio.leds,
    status: () => status.snapshot(),
    extras: () => ({
      starting,
      // On the simulator the factory password is how the box is tried out; with a real modem it must go.
      defaultAdminPassword: factoryAdminBlocked(config),
      consecutiveSendFailures,
      watchdogFault: watchdog.hardFault(),
    }),
    onError: (err) => log.warn('LED update failed', { error: String(err) }),
    // The owner hears of what lights the fault LED: said after every derivation (cheap when unchanged).
    onRefresh: (leds, snapshot) => {
      const conditions = alertConditions({ faults: leds.faults, starting, progress: snapshot.queue.progress, configError: snapshot.config_error });
      for (const c of conditions) if (c.active !== null) notifier.condition(c.kind, c.active, c);
    },
  });
  statusLeds.start();
  void modem
    .start()
    .catch((err: unknown) => log.error('modem start failed', { error: String(err) }))
    .finally(() => {
      starting = false;
      statusLeds?.refresh();
      if (!closed) watchdog.start();
    });
  dispatcher.start();
  inbound.start();
  notifier.start();

  // node-cron fires the sending window's edges (the loop also sleeps until them) and the housekeeping.
  let windowJobs: ScheduledTask[] = [];
  const scheduleWindowEdges = () => {
    for (const job of windowJobs) void job.destroy();
    const quiet = config.schedule.quietHours;
    windowJobs = quiet
      ? [quiet.startMinute, quiet.endMinute].map((minute) =>
          cron.schedule(`${minute % 60} ${Math.floor(minute / 60)} * * *`, () => dispatcher!.kick(), { timezone: config.schedule.timezone }),
        )
      : [];
  };
  scheduleWindowEdges();
  // The day's summary when the sending window closes (at midnight without quiet hours).
  const sendDailySummary = () => {
    try {
      notifier.event('daily', ops.summary.dailyReport(clock.now()));
    } catch (err) {
      log.error('daily summary failed', { error: String(err) });
    }
  };
  let dailyJob: ScheduledTask | null = null;
  const scheduleDailySummary = () => {
    void dailyJob?.destroy();
    dailyJob = cron.schedule(windowCloseCron(config.schedule.quietHours), sendDailySummary, { timezone: config.schedule.timezone });
  };
  scheduleDailySummary();
  const housekeeping = cron.schedule('17 4 * * *', () => {
    try {
      store.housekeeping(clock.now());
    } catch (err) {
      log.error('housekeeping failed', { error: String(err) });
    }
  }, { timezone: config.schedule.timezone });

  // Checkpoints when 管家助理 and the modem pause, rather than in the middle of a burst.
  const checkpointTimer = setInterval(() => {
    try {
      store.checkpointIfQuiet();
    } catch (err) {
      log.warn('WAL checkpoint failed', { error: String(err) });
    }
  }, 2000);
  checkpointTimer.unref();

  /** A validated new config, applied without a restart (modem, HTTP port and data dir need one). */
  const applyConfig = (next: Config): void => {
    config = next;
    configProblem = null;
    store.syncAccounts(next.accounts, clock.now());
    scheduleWindowEdges();
    scheduleDailySummary();
    statusLeds?.refresh();
    dispatcher!.kick();
    store.addEvent(clock.now(), 'info', 'config-applied', '新设置已生效', 'new settings applied');
  };

  return {
    port,
    url: `http://127.0.0.1:${port}`,
    store,
    status,
    server,
    modem,
    dispatcher,
    notifier,
    sendDailySummary,
    simulator,
    applyConfig,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(checkpointTimer);
      clearInterval(networkTimeTimer);
      for (const job of [...windowJobs, housekeeping, ...(dailyJob ? [dailyJob] : [])]) await job.destroy();
      // Stop taking connections and answer the requests already arriving (a
      // "1" only after its commit), end the status pages' streams, close each
      // keep-alive connection once its answer is out, cut what is left after
      // the grace period; then let the message being sent finish, then the modem.
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      endLiveStreams(server);
      const closeIdle = setInterval(() => server.closeIdleConnections(), 50);
      const cutOff = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
      await serverClosed;
      clearInterval(closeIdle);
      clearTimeout(cutOff);
      await dispatcher!.stop();
      await inbound.stop();
      await watchdog.stop();
      await modem.stop({ powerDown: !simulated }).catch((err: unknown) => log.warn('modem stop failed', { error: String(err) }));
      statusLeds?.off();
      // Nothing feeds the notifier any more; a delivery under way ends (or times out) before the database closes.
      await notifier.stop();
      await boxGpio.close();
      if (!options.simulator) simulator?.dispose();
      store.close();
    },
  };
}
