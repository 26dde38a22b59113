import type { AddressInfo } from 'node:net';
import type http from 'node:http';
import cron, { type ScheduledTask } from 'node-cron';
import { createSimulatorBinding } from '../hardware/simulator/binding.js';
import { VirtualModem } from '../hardware/simulator/virtual-modem.js';
import type { Clock } from './clock.js';
import { loadConfig, modemConfigs, modemLimits, type Config, type ConfigError, type ModemConfig } from './config/config.js';
import { EventEmitter } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InboundProcessor } from './inbound/inbound.js';
import { CallRecorder } from './inbound/calls.js';
import { factoryAdminBlocked } from './operations/credentials.js';
import { Operations } from './operations/index.js';
import { removeLeftovers } from './operations/backup.js';
import { createLogger, type Logger } from './log.js';
import { loadHat, simulatorModuleFor, type HatProfile } from './modem/hats.js';
import { Modem, type ModemState } from './modem/modem.js';
import { ModemWatchdog } from './modem/watchdog.js';
import { poolModemPower, setupBoxGpio } from './gpio/setup.js';
import { noPowerText, type ModemPower } from './modem/power.js';
import { StatusLeds } from './leds/status-leds.js';
import { openSerialStream } from './modem/serial.js';
import { BoxClock, NetworkTimeFeed, type ClockTrustProbe } from './scheduler/clock-trust.js';
import { Dispatcher, WAIT_TEXT, type DispatchModem } from './scheduler/dispatcher.js';
import { Notifier, defaultBoxIdentity } from './notify/index.js';
import { planSegments } from './modem/pdu/index.js';
import { windowCloseCron } from './scheduler/window.js';
import { alertConditions } from './status/alerts.js';
import { StatusModel, type StatusSnapshot } from './status/status.js';
import { storageStatus } from './status/storage.js';
import { SimService } from './sim/index.js';
import { Store } from './store/store.js';
import { packageRoot } from './paths.js';
import { UpdateReceiver, type UpdateOptions } from './update/receive.js';
import { createWebServer, endLiveStreams } from './web/server.js';
import { simulatorRoutes } from './web/simulator-routes.js';
import { WdgjEndpoint } from './web/wdgj.js';
import { SystemdNotifier } from './system/systemd.js';
import { RunRecord, type JournalReader, type PreviousRun } from './system/last-run.js';
import { HostNameWatcher } from './system/host-name.js';

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
  /**
   * The SIM's IMSI (AT+CIMI: the carrier) and the number it holds (AT+CNUM: the
   * self-test's target); the driver's by default. Tests pass their own.
   */
  modemIdentity?: () => { imsi: string | null; ownNumber: string | null };
  /** The self-test's time limit (tests); SELFTEST_TIMEOUT_MS by default. */
  selftestTimeoutMs?: number;
  /**
   * Stops this box, runs `between` on its stopped data, and starts a new one
   * in this process on the same port (runBox provides it). Without it a
   * restore is refused.
   */
  restart?: (between: () => Promise<void>) => void;
  /** The host name in backup names (tests); os.hostname() by default. */
  hostname?: string;
  /** Updates from the settings page: the slot, the key, the pre-update backup (README, "Updates"). */
  update?: UpdateOptions;
  /**
   * Talks to systemd (READY=1, STOPPING=1, the watchdog's pings): runBox makes
   * one from the environment, which does nothing without NOTIFY_SOCKET.
   */
  systemd?: SystemdNotifier;
  /**
   * This process's run record (how the previous run ended, its log): runBox
   * keeps one across in-process restarts; absent, status says null.
   */
  runRecord?: RunRecord;
  /**
   * The name avahi announced (status, setup page, console): runBox keeps one
   * asking avahi in the background; without it, the host name plus `.local`.
   */
  hostName?: HostNameWatcher;
  /** Where runBox's run record reads the previous run's log (tests); journalctl by default. */
  journal?: JournalReader | null;
}

/** One modem of the pool with its SIM: the driver, its watchdog and its power (issue 19). */
export interface ModemUnit {
  readonly name: string;
  readonly config: ModemConfig;
  readonly hat: HatProfile;
  readonly modem: Modem;
  readonly watchdog: ModemWatchdog;
  readonly power: ModemPower;
  /** Its virtual HAT, in simulator mode. */
  readonly simulator: VirtualModem | null;
}

export interface Box {
  readonly port: number;
  readonly url: string;
  readonly store: Store;
  readonly status: StatusModel;
  readonly server: http.Server;
  /** The first modem's driver. */
  readonly modem: Modem;
  /** Every modem of the pool, the first one first. */
  readonly modems: readonly ModemUnit[];
  readonly dispatcher: Dispatcher;
  /** Alerts and forwards to the owner's channels (`[[notify]]`). */
  readonly notifier: Notifier;
  /** The SIM above the driver: self-test, credit, carrier block (src/sim). */
  readonly sim: SimService;
  /** Sends the daily summary now (node-cron calls it when the sending window closes). */
  sendDailySummary(): void;
  /** The first modem's virtual HAT, in simulator mode. */
  readonly simulator: VirtualModem | null;
  /** Replaces the config while running: accounts, schedule, limits, opt-out rules apply at once. */
  applyConfig(next: Config): void;
  /** The config in force (changed by the settings page since the start). */
  currentConfig(): Config;
  /** Every action on the shop's data (what the web front ends call). */
  readonly ops: Operations;
  /** Writes the nightly backup now (node-cron calls it at 03:27 in the box's time zone). */
  nightlyBackup(): Promise<void>;
  close(): Promise<void>;
}

/** The status model's view of the modem driver's state. */
function modemStatusFields(s: ModemState) {
  return { state: s.state, hardFault: s.hardFault, registered: s.registered, operator: s.operator, signalCsq: s.csq, signalBars: s.bars, rat: s.rat, smsPath: s.smsPath };
}

/** The config's PWRKEY / STATUS pins of one modem, overriding its HAT profile's. */
function powerPins(m: ModemConfig) {
  return {
    ...(m.pwrkeyGpio !== null ? { pwrkeyGpio: m.pwrkeyGpio } : {}),
    ...(m.statusGpio !== null ? { statusGpio: m.statusGpio } : {}),
  };
}

/** A virtual SIM after the first: its own number and IMSI (China Mobile), so the pool's SIMs differ as real ones do. */
function virtualSimIdentity(index: number): { ownNumber: string; imsi: string } {
  // The first virtual SIM is +8613912345678 / 460001234567890; the others end in 9, 0, 1 … and 1, 2, 3 …
  return { ownNumber: `+861391234567${(8 + index) % 10}`, imsi: `46000123456789${index}` };
}

export async function startBox(options: BoxOptions): Promise<Box> {
  const log = options.log ?? createLogger();
  // The settings page replaces the config while the box runs (applyConfig below);
  // everything reads it through getConfig, so the new values apply without a restart.
  let config = options.config;
  const getConfig = () => config;
  const dataDir = options.dataDir ?? config.storage.dataDir;
  // Opening finishes a restore committed before a restart (or a crash) and discards one that was not.
  const store = Store.open(dataDir);
  const restored = store.restoreOnOpen;
  if (restored.outcome === 'finished' && restored.configWritten && config.file) {
    // The restore replaced the shop's sections of the config file: run on them.
    let restoredConfig: Config | null = null;
    try {
      restoredConfig = loadConfig(config.file);
    } catch (err) {
      log.error('the restored config file does not load; running on the config from before', { error: String(err) });
    }
    if (restoredConfig) {
      config = restoredConfig;
      try {
        // The copy a later mistake in the file falls back to must be this one, not the settings from before the restore.
        writeFileSync(join(dataDir, 'config.last-good.toml'), readFileSync(restoredConfig.file!));
      } catch (err) {
        log.warn('cannot refresh the last good copy of the config', { error: String(err) });
      }
    }
  }
  const modemList = modemConfigs(config);
  // Simulator mode: no modem is real, so no SMS leaves the box.
  const simulated = modemList.every((m) => m.device === 'simulator');
  const hostName = options.hostName ?? new HostNameWatcher({ lookup: null, log });
  const boxClock = options.clock ? null : new BoxClock(config.schedule.clock, options.clockProbe);
  const clock: Clock = options.clock ?? boxClock!;
  removeLeftovers(dataDir);

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

  // The modems: virtual HATs in simulator mode, else the UART and USB serial ports.
  const hats = modemList.map((m) => loadHat(m.hat));
  const simulators = modemList.map((m, index): VirtualModem | null => {
    if (m.device !== 'simulator') return null;
    if (index === 0 && options.simulator) return options.simulator;
    // Switched off at first, like a real HAT: the box powers it on through the (virtual) PWRKEY.
    // The virtual HAT plays the module the config names, so its answers match the profile the driver uses.
    const hat = hats[index]!;
    // A USB profile plays its UART twin (sim7600-usb → sim7600).
    const moduleProfile = simulatorModuleFor(hat) ?? undefined;
    return new VirtualModem({
      sendMs: config.simulator.sendMs,
      bootMs: options.simulatorBootMs ?? 3000,
      initialPower: 'off',
      ...(moduleProfile ? { profile: moduleProfile } : {}),
      // Each virtual SIM of a pool has a number and an IMSI of its own.
      ...(index > 0 ? virtualSimIdentity(index) : {}),
      ...(m.ownNumber ? { ownNumber: m.ownNumber } : {}),
    });
  });
  const openStreams = modemList.map((m, index) => {
    const simulator = simulators[index];
    const baudRate = hats[index]!.uart.baud;
    if (simulator) {
      const binding = createSimulatorBinding(simulator);
      return () => openSerialStream({ path: 'simulator', baudRate, binding });
    }
    return () => openSerialStream({ path: m.device, baudRate });
  });
  const hat = hats[0]!;
  const simulator = simulators[0] ?? null;
  // GPIO through johnny-five: the virtual board wired to the virtual HAT, or the Pi's pins.
  // A machine without GPIO still runs the box: no LEDs, no power control, a warning.
  const ledPins = Object.fromEntries(
    (['power', 'network', 'activity', 'fault'] as const).flatMap((led) => (config.leds[led] === null ? [] : [[led, config.leds[led]]])),
  );
  const boxGpio = await setupBoxGpio({
    hat,
    simulator,
    ledPins,
    powerPins: powerPins(config.modem),
    ...(config.leds.gpioChip ? { gpiod: { chip: config.leds.gpioChip } } : {}),
    log,
  });
  // The first modem's power comes with the board (PWRKEY wired to the virtual HAT in simulator mode);
  // another virtual HAT is switched through its own seam, a real one through its pins, a USB modem not at all.
  const powers = modemList.map((m, index): ModemPower => {
    if (index === 0) return boxGpio.power;
    return poolModemPower(hats[index]!, simulators[index] ?? null, boxGpio.gpio, powerPins(m));
  });

  let dispatcher: Dispatcher | null = null;
  let statusLeds: StatusLeds<StatusSnapshot> | null = null;
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
    box: () => defaultBoxIdentity(listeningPort, undefined, hostName.name().name),
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
    // The self-test coming back, a carrier's balance reply or notice: the box's, no customer's.
    claim: (row) => sim.claimInbound(row),
  });
  // The SIM above the driver (issue 17): self-test, credit and the carrier's restriction.
  // The SIM's IMSI and number, as the driver read them at init (AT+CIMI, AT+CNUM).
  // The SIM above the driver watches the first modem's SIM (its credit, self-test and the carrier's restriction).
  const modemIdentity = options.modemIdentity ?? (() => {
    const { imsi, ownNumber } = units[0]!.modem.status();
    return { imsi, ownNumber };
  });
  const sim: SimService = new SimService({
    store: store.sim,
    clock,
    identity: modemIdentity,
    settings: () => ({ ownNumber: config.modem.ownNumber, queryTo: config.sim.balanceQueryTo, queryText: config.sim.balanceQueryText, lowBalanceLi: config.sim.lowBalanceLi }),
    queue: (kind, to, text) => {
      const plan = planSegments(text);
      const id = store.queueSystemMessage(kind, to, text, plan.parts.length, plan.encoding, clock.now());
      // After the caller's transaction commits: the dispatcher reads it then.
      queueMicrotask(() => dispatcher?.kick());
      return id;
    },
    messageState: (id) => {
      const message = store.getMessage(id);
      return message ? { status: message.status, error: message.lastError } : null;
    },
    waitingReason: () => {
      const waiting = dispatcher?.state().waiting;
      return waiting && waiting !== 'idle' ? WAIT_TEXT[waiting] : null;
    },
    onChange: () => statusLeds?.refresh(),
    onSelftestFinished: (run) => {
      store.addEvent(clock.now(), run.state === 'ok' ? 'info' : 'warn', `selftest-${run.state}`, run.zh, run.en, { selftestId: run.id });
      notifier.event('selftest', { zh: run.zh, en: run.en, data: { state: run.state, step: run.step } });
    },
    onReading: (reading, low) => {
      const yuan = (reading.balanceLi! / 1000).toFixed(2);
      store.addEvent(clock.now(), low ? 'warn' : 'info', 'sim-balance', `SIM 卡话费余额 ${yuan} 元${low ? '，余额不足，请充值' : ''}`, `SIM balance ${yuan} yuan${low ? ': low, top it up' : ''}`, { reply: reading.reply });
    },
    onUnreadableReply: (reply) => {
      store.addEvent(clock.now(), 'warn', 'sim-balance-unreadable', `运营商回复中没有找到余额，请检查 [sim] balance_query_text：${reply.slice(0, 120)}`, `no balance found in the carrier's reply; check [sim] balance_query_text: ${reply.slice(0, 120)}`);
    },
    onBlockChange: (state) => {
      if (state.blocked) {
        store.addEvent(clock.now(), 'error', 'carrier-blocked', `运营商已限制本卡发短信，暂停发送，每小时试发一条：${state.detail.slice(0, 120)}`, `the carrier restricted this SIM: sending paused, one message tried each hour: ${state.detail.slice(0, 120)}`, { cause: state.cause });
      } else {
        store.addEvent(clock.now(), 'info', 'carrier-unblocked', '运营商限制已解除，恢复发送', 'the carrier restriction is over: sending resumed');
      }
      dispatcher?.kick();
    },
    ...(options.selftestTimeoutMs !== undefined ? { selftestTimeoutMs: options.selftestTimeoutMs } : {}),
  });
  const calls = new CallRecorder({
    store,
    clock,
    config: getConfig,
    log,
    onQueued: () => dispatcher?.kick(),
    notify: (kind, report) => notifier.event(kind, report),
  });
  const timings = options.modemTimings ?? {};
  const pooled = modemList.length > 1;
  const units: ModemUnit[] = modemList.map((m, index) => {
    const hat = hats[index]!;
    const modem = new Modem({
      openStream: openStreams[index]!,
      hat: timings.bootMs === undefined ? hat : { ...hat, power: { ...hat.power, bootMs: timings.bootMs } },
      power: powers[index]!,
      clock,
      log,
      onInbound: async (part) => {
        await inbound.receive(part, m.name);
        statusLeds?.flash();
      },
      ...(timings.pollIntervalMs !== undefined ? { pollIntervalMs: timings.pollIntervalMs } : {}),
      ...(timings.commandTimeoutMs !== undefined ? { commandTimeoutMs: timings.commandTimeoutMs } : {}),
      ...(timings.resyncQuietMs !== undefined ? { resyncQuietMs: timings.resyncQuietMs } : {}),
    });
    // First AT+CFUN off/on, then power cycles through PWRKEY with backoff, then a hard fault.
    const noPower = noPowerText(powers[index]!);
    const watchdog = new ModemWatchdog({ modem, canPowerCycle: powers[index]!.canPulse, ...(noPower ? { noPowerText: noPower } : {}), clock, log, sendFailureRun: () => status.sendFailureRun(m.name) });
    return { name: m.name, config: m, hat, modem, watchdog, power: powers[index]!, simulator: simulators[index] ?? null };
  });
  const modem = units[0]!.modem;
  const modemStatusNow = (unit: ModemUnit) => {
    const fields = modemStatusFields(unit.modem.status());
    return { ...fields, hardFault: fields.hardFault ?? unit.watchdog.hardFault() };
  };
  // With a pool, what a modem says is told with its name.
  const named = (unit: ModemUnit, zh: string, en: string) => (pooled ? { zh: `[${unit.name}] ${zh}`, en: `[${unit.name}] ${en}` } : { zh, en });

  const dispatchModems: DispatchModem[] = units.map((unit, index) => ({
    id: unit.name,
    notReadyReason: () => status.modemNotReadyReason(unit.name),
    send: (message) => unit.modem.send(message),
    setKeepLinkOpen: (on) => void unit.modem.setKeepLinkOpen(on),
    limits: () => modemLimits(config, unit.config),
    // The carrier's restriction and the credit are watched on the first SIM (src/sim).
    ...(index === 0 ? { carrierGate: () => sim.carrierGate(), onSendOutcome: (outcome) => sim.reportSend(outcome) } : { carrierGate: () => null, onSendOutcome: () => {} }),
  }));

  // The shop's data is backed up (and kept among the backups) before an update is handed to the root side.
  const backupBeforeUpdate = async (): Promise<string> => {
    const made = await ops.backup.create({ reason: 'pre-update' });
    if (!made.ok) throw new Error(made.message_en);
    return made.value.name;
  };
  const update = new UpdateReceiver(dataDir, packageRoot, () => store.schemaVersion, { backupBeforeUpdate, ...options.update });

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
      sim: () => sim.status(),
      slot: () => update.slot,
      lastRun: () => options.runRecord?.summary() ?? null,
      host: () => hostName.info(listeningPort),
      usage: (name) => dispatcher?.usage(name) ?? null,
    },
    simulated,
    units.map((unit) => ({ name: unit.name, device: unit.config.device, hat: unit.hat.name, powerControl: unit.power.canPulse, simulated: unit.simulator !== null })),
  );
  dispatcher = new Dispatcher({
    store,
    modems: dispatchModems,
    clock,
    config: getConfig,
    log,
    clockTrusted: () => boxClock?.trusted() ?? true,
    isOptedOut: (number) => store.isOptedOut(number),
  });

  // The balance is asked once the SIM is on the network (not again within hours: a box that reboots often).
  let wasRegistered = false;
  modem.on('status', () => {
    const registered = modem.status().registered === true;
    if (registered && !wasRegistered && !closed && config.sim.checkBalance) {
      try {
        sim.registered();
      } catch (err) {
        log.warn('asking the SIM balance failed', { error: String(err) });
      }
    }
    wasRegistered = registered;
  });
  for (const unit of units) {
    // A new driver state or a hard fault: the status, the LEDs, and the dispatcher, which
    // sends a faulted SIM's sticky customers' messages from the other SIMs.
    const changed = () => {
      status.setModem(modemStatusNow(unit), unit.name);
      statusLeds?.refresh();
      dispatcher!.kick();
    };
    const addEvent = (source: 'modem' | 'watchdog') => (e: { level: 'info' | 'warn' | 'error'; kind: string; zh: string; en: string }) => {
      const text = named(unit, e.zh, e.en);
      store.addEvent(clock.now(), e.level, `${source}-${e.kind}`, text.zh, text.en, pooled ? { modem: unit.name } : undefined);
    };
    unit.modem.on('status', changed);
    unit.watchdog.on('hard-fault', changed);
    unit.modem.on('event', addEvent('modem'));
    unit.watchdog.on('event', addEvent('watchdog'));
    // Before the watchdog starts listening: it reads the run this keeps.
    unit.modem.on('send-result', (result) => {
      status.recordSendResult(result, unit.name);
      if (result.ok) statusLeds?.flash();
    });
    unit.modem.on('call', (call) => void calls.record(call, unit.name));
    unit.modem.on('status-report', (r) => {
      // References are the modem's own: a report is matched among this SIM's messages only.
      store.applyStatusReport(r.recipient, r.messageRef, r.status, r.delivered, r.final, clock.now(), pooled ? unit.name : undefined);
    });
  }
  // A Pi without NTP sets its clock from the modem's network time (src/scheduler/clock-trust.ts).
  const networkTime = boxClock
    ? new NetworkTimeFeed({
        clock: boxClock,
        ask: () => modem.networkTime(),
        registered: () => modem.status().registered,
        onAdopted: () => {
          store.addEvent(clock.now(), 'info', 'clock-from-network', '已使用短信模块的网络时间校准时钟', 'clock set from the network time of the modem');
          dispatcher!.kick();
        },
      })
    : null;
  if (networkTime) {
    modem.on('network-time', (date) => networkTime.offer(date));
    modem.on('status', () => void networkTime.poke());
    networkTime.start();
  }

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
    sim: {
      startSelftest: () => sim.selftest.start(),
      latestSelftest: () => sim.selftest.latest(),
      askBalance: () => sim.askBalance(),
    },
    dataDir,
    ...(options.restart ? { restartBox: options.restart } : {}),
    ...(options.hostname ? { hostname: options.hostname } : {}),
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
    lastRunLog: () => options.runRecord?.logTail() ?? null,
    ...(simulator ? { extraRoutes: simulatorRoutes(units.flatMap((unit) => (unit.simulator ? [{ name: unit.name, modem: unit.simulator }] : []))) } : {}),
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
  if (restored.outcome === 'finished') {
    const { record } = restored;
    store.addEvent(clock.now(), 'warn', 'restored',
      `已从备份恢复数据（${record.backup}）${restored.configWritten ? '，并恢复了店铺设置' : ''}。恢复前的数据已保存为 ${record.preRestoreBackup ?? '—'}`,
      `data restored from a backup (${record.backup})${restored.configWritten ? ' with the shop\'s settings' : ''}. The data from before is kept as ${record.preRestoreBackup ?? '—'}`,
      record);
    if (record.held) {
      store.addEvent(clock.now(), 'warn', 'restored-queue-held',
        `备份中有 ${record.held} 条短信当时还在排队，已设为“待确认”：原来的网关可能在备份之后已经发出。请在“短信”页面逐条选择“重发”或“标记失败”（退款）。`,
        `${record.held} message(s) were still queued in the backup and are now uncertain: the box it came from may have sent them after the backup. Choose resend or mark failed (refunded) on the messages page.`,
        { held: record.held });
    }
  } else if (restored.outcome === 'discarded') {
    store.addEvent(clock.now(), 'warn', 'restore-discarded', '上次恢复备份没有完成（网关在恢复前停止），已放弃，数据保持原样', 'the last restore did not complete (the box stopped before it committed); it was dropped and the data is as it was');
  }
  startupWrite('announcing the last update', () => update.announceLastResult((level, kind, zh, en, data) => store.addEvent(clock.now(), level, kind, zh, en, data)));

  // The HTTP path never waits on the modems: they start in the background.
  for (const unit of units) status.setModem(modemStatusNow(unit), unit.name);
  statusLeds = new StatusLeds({
    driver: boxGpio.leds,
    status: () => status.snapshot(),
    extras: () => ({
      starting,
      // On the simulator the factory password is how the box is tried out; with a real modem it must go.
      defaultAdminPassword: factoryAdminBlocked(config),
      consecutiveSendFailures: status.sendFailureRun(),
      watchdogFault: units.map((u) => u.watchdog.hardFault()).find((f) => f !== null) ?? null,
    }),
    onError: (err) => log.warn('LED update failed', { error: String(err) }),
    // The owner hears of what lights the fault LED: said after every derivation (cheap when unchanged).
    onRefresh: (leds, snapshot) => {
      const conditions = alertConditions({ faults: leds.faults, starting, progress: snapshot.queue.progress, configError: snapshot.config_error, balanceYuan: snapshot.sim.balance_yuan });
      for (const c of conditions) if (c.active !== null) notifier.condition(c.kind, c.active, c);
    },
  });
  statusLeds.start();
  // The box is "starting" until every modem has had its first start.
  void Promise.all(
    units.map((unit) =>
      unit.modem
        .start()
        .catch((err: unknown) => log.error('modem start failed', { modem: unit.name, error: String(err) }))
        .finally(() => {
          if (!closed) unit.watchdog.start();
        }),
    ),
  ).finally(() => {
    starting = false;
    statusLeds?.refresh();
  });
  sim.start();
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
  // The balance once a day, when the sending window opens (09:00 without quiet hours).
  let balanceJob: ScheduledTask | null = null;
  const scheduleDailyBalance = () => {
    void balanceJob?.destroy();
    const quiet = config.schedule.quietHours;
    const minute = quiet ? quiet.endMinute : 9 * 60;
    balanceJob = cron.schedule(`${minute % 60} ${Math.floor(minute / 60)} * * *`, () => {
      if (!config.sim.checkBalance) return;
      try {
        const asked = sim.askBalance();
        if (!asked.ok) log.info('daily balance query skipped', { reason: asked.en });
      } catch (err) {
        log.error('daily balance query failed', { error: String(err) });
      }
    }, { timezone: config.schedule.timezone });
  };
  scheduleDailyBalance();
  // The nightly backup, beside the running box; the newest 7 are kept (operations/backup.ts).
  const nightlyBackup = async () => {
    const made = await ops.backup.create({ reason: 'nightly' });
    if (!made.ok) log.error('nightly backup failed', { error: made.message_en });
  };
  const nightlyJob = cron.schedule('27 3 * * *', () => {
    nightlyBackup().catch((err: unknown) => log.error('nightly backup failed', { error: String(err) }));
  }, { timezone: config.schedule.timezone });
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
    scheduleDailyBalance();
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
    modems: units,
    dispatcher,
    notifier,
    sim,
    sendDailySummary,
    simulator,
    applyConfig,
    currentConfig: getConfig,
    ops,
    nightlyBackup,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(checkpointTimer);
      networkTime?.stop();
      for (const job of [...windowJobs, housekeeping, nightlyJob, ...(dailyJob ? [dailyJob] : []), ...(balanceJob ? [balanceJob] : [])]) await job.destroy();
      sim.stop();
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
      await Promise.all(units.map((unit) => unit.watchdog.stop()));
      await Promise.all(
        units.map((unit) =>
          unit.modem.stop({ powerDown: unit.simulator === null }).catch((err: unknown) => log.warn('modem stop failed', { modem: unit.name, error: String(err) })),
        ),
      );
      statusLeds?.off();
      // Nothing feeds the notifier any more; a delivery under way ends (or times out) before the database closes.
      await notifier.stop();
      await boxGpio.close();
      for (const [index, virtual] of simulators.entries()) if (!(index === 0 && options.simulator)) virtual?.dispose();
      store.close();
    },
  };
}

/** The event for a previous run that ended without a stop: the program's end, or the system's (a power cut). */
function announcePreviousCrash(box: Box, previous: PreviousRun, log: Logger): void {
  const started = previous.started_at ? ` (started ${previous.started_at})` : '';
  log.warn('the previous run did not stop cleanly', { started_at: previous.started_at, same_boot: previous.same_boot });
  try {
    if (previous.same_boot === false) {
      box.store.addEvent(Date.now(), 'info', 'last-run-unclean',
        '上次运行没有正常关机：断电、拔掉电源或系统死机后重新启动。已接收的短信都在队列里；若有正在发送的短信，请看“待确认”。',
        `the previous run ended without a shutdown${started}: a power cut, the plug pulled or a system hang. Accepted messages are all queued; any being sent then are listed as uncertain.`);
    } else {
      box.store.addEvent(Date.now(), 'error', 'last-run-crash',
        '上次运行异常结束（程序崩溃或卡死后被自动重启）。管理员可在概览页面查看当时的日志；若反复出现，请联系技术支持。',
        `the previous run ended abnormally${started}: the program crashed or hung and was restarted. An admin sees its last log lines on the overview; if it recurs, call support.`);
    }
  } catch (err) {
    // A full disk: the status page still says it (last_run).
    log.error('recording the previous run\'s end failed', { error: String(err) });
  }
}

/**
 * A box that can restart itself in this process, on the same port (a
 * restore): `box` is the one running now. `restarted` is emitted with the new
 * box; `restart-failed` when the work between stop and start failed (the box
 * then starts on the data it had).
 */
export interface BoxHost extends EventEmitter {
  readonly box: Box;
  /** The name avahi announced and the 管家助理 URLs (asked in the background; the host name until avahi answers). */
  readonly hostName: HostNameWatcher;
  /** Resolves once avahi answered or did not (a few seconds at most): for the console's first line. */
  readonly hostNameKnown: Promise<void>;
  readonly port: number;
  readonly url: string;
  /** Resolves when no restart is under way. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

export async function runBox(options: BoxOptions): Promise<BoxHost> {
  const log = options.log ?? createLogger();
  const host = new EventEmitter() as BoxHost;
  let box: Box;
  let restarting: Promise<void> | null = null;
  let closed = false;
  // Says nothing until the first box answers (below).
  const systemd = options.systemd ?? new SystemdNotifier({ log });
  const restart = (between: () => Promise<void>) => {
    if (restarting || closed) return;
    restarting = (async () => {
      // After the current request has been answered: close() answers what is arriving first.
      await new Promise((resolve) => setImmediate(resolve));
      const old = box;
      const started = Date.now();
      log.warn('restarting the box in this process', { port: old.port });
      systemd.status('restarting in this process (a restore)');
      await old.close();
      let failure: (Error & { zh?: string; en?: string }) | null = null;
      try {
        await between();
      } catch (err) {
        failure = err as Error & { zh?: string; en?: string };
        log.error('work between stop and start failed; starting on the data as it is', { error: String(err) });
      }
      if (closed) return;
      // The config in force now (the settings page may have changed it); a config problem shown at the first start is not repeated.
      const { configProblem: _shown, ...again } = options;
      box = await startBox({ ...again, config: old.currentConfig(), port: old.port, restart });
      // A failure after the commit point still restored (the store finished it as it opened).
      if (failure && box.store.restoreOnOpen.outcome !== 'finished') {
        box.store.addEvent(Date.now(), 'error', 'restore-failed', failure.zh ?? `恢复没有完成：${String(failure)}`, failure.en ?? `the restore did not complete: ${String(failure)}`);
      }
      if (failure) host.emit('restart-failed', failure);
      log.info('box restarted', { ms: Date.now() - started, port: box.port });
      systemd.status(`answering HTTP on port ${box.port}`);
      host.emit('restarted', box);
    })().finally(() => {
      restarting = null;
    });
    restarting.catch((err: unknown) => {
      log.error('the box could not start again', { error: String(err) });
      host.emit('error-restart', err);
    });
  };
  // Read before the box starts: a run that ended without a stop left `running`.
  const runRecord = options.runRecord ?? new RunRecord({ dataDir: options.dataDir ?? options.config.storage.dataDir, log, ...(options.journal !== undefined ? { journal: options.journal } : {}) });
  const previous = runRecord.begin();
  const hostName = options.hostName ?? new HostNameWatcher({ log });
  options = { ...options, runRecord, hostName };
  box = await startBox({ ...options, restart });
  if (previous.ended === 'crash') {
    announcePreviousCrash(box, previous, log);
    // In the background: the HTTP side never waits on journalctl.
    void runRecord.readLogTail();
  }
  // The box answers HTTP now (the modem comes up in the background): systemd's
  // start is complete, and the pings begin. They go on through an in-process
  // restart (a restore): its stop and start run on this loop too, so a restart
  // that hangs the loop is caught like any other hang.
  systemd.ready();
  systemd.status(`answering HTTP on port ${box.port}`);
  systemd.startWatchdog();
  // After the start: the box never waits for avahi (which may still be starting at boot).
  const hostNameKnown = hostName.start();
  Object.defineProperties(host, {
    box: { get: () => box },
    hostName: { value: hostName },
    hostNameKnown: { value: hostNameKnown },
    port: { get: () => box.port },
    url: { get: () => box.url },
  });
  host.settled = async () => {
    while (restarting) await restarting.catch(() => {});
  };
  host.close = async () => {
    closed = true;
    systemd.stopping();
    await host.settled();
    await box.close();
    runRecord.stopped();
    hostName.stop();
    systemd.stopWatchdog();
    await systemd.idle();
  };
  return host;
}
