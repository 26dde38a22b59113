#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { ConfigError, defaultConfig, loadConfig, loadConfigWithFallback, type Config, type ConfigFallback } from './config/config.js';
import { backupToFile, restoreBackupFile } from './operations/backup.js';
import { createLogger } from './log.js';
import { runBox } from './main.js';
import { simulateModemCommand } from '../hardware/simulator/cli.js';
import { createSimulatorBinding } from '../hardware/simulator/binding.js';
import { VirtualModem } from '../hardware/simulator/virtual-modem.js';
import { doctorCommand, type VirtualHatFactory } from './modem/doctor.js';
import { pduCommand } from './modem/pdu/cli.js';
import { displayedVersion as version } from './paths.js';
import { updateApplyCommand, updatePackCommand } from './update/cli.js';

const HELP = `smsbox ${version} — 网店管家 3.0 短信网关 / SMS gateway for 网店管家 (WDGJ) 3.0

用法 / usage:
  smsbox serve [--config FILE] [--data DIR] [--port N]
      运行网关。没有配置文件时使用内置默认值（端口 8080、数据目录 ./data、模拟短信模块、演示账号 aaaa/bbbb）。
      Run the box. Without a config file it runs on built-in defaults (port 8080, data in ./data,
      the simulated modem, demo account aaaa/bbbb).
  smsbox pdu encode --to NUMBER --text TEXT [--status-report]
      打印每一段短信的 PDU（十六进制，接在 AT+CMGS= 之后发送）/ print each segment's PDU as hex, as sent after AT+CMGS=
  smsbox pdu decode HEX
      解码一条 PDU（SMS-DELIVER / SUBMIT / STATUS-REPORT）为 JSON / decode a PDU to JSON
  smsbox doctor [--device PATH] [--hat NAME] [--baud N] [--selftest [--own-number N]]
      检查短信模块（接线、SIM 卡、信号、短信中心），说明问题和解决办法 /
      check the modem (wiring, SIM, signal, SMS centre) and say what is wrong and what to do
  smsbox simulate-modem --link PATH [--send-ms N] [--boot-ms N]
      在伪终端 PATH 上运行模拟短信模块（需要 socat），任何 AT 客户端都可以连接 /
      run the virtual HAT on a pseudo-terminal at PATH (needs socat) for any AT client
  smsbox backup [--config FILE] [--data DIR] [--reason pre-update|manual]
      为已停止的网关备份数据到 <数据目录>/backups/，打印文件路径（运行中的网关请用设置页面或 GET /api/backup）/
      back up a stopped box's data into <data dir>/backups/ and print the file's path (a running box: the settings page or GET /api/backup)
  smsbox restore FILE [--config FILE] [--data DIR]
      检查备份文件并为已停止的网关恢复它，下次启动时生效（运行中的网关请用设置页面或 POST /api/restore）/
      check a backup file and restore it into a stopped box, done at its next start (a running box: the settings page or POST /api/restore)
  smsbox update-apply [--config FILE] [--data DIR] [--timeout SECONDS]
      （root，由 smsbox-update.service 运行）安装上传的更新：换槽、重启、检查，失败时自动回滚 /
      (root, run by smsbox-update.service) install an uploaded update: switch slots, restart, watch, roll back on failure
  smsbox update-pack --payload APP.tar.gz --key PRIVATE.pem --out FILE --version V --commit C --arch A --node-abi N
      用发布私钥签名生成更新文件（npm run bundle 使用）/ sign an update bundle with the release key (used by npm run bundle)
  smsbox --help | --version

配置文件说明见 README.md / the config file is described in README.md.
`;

function fail(message: string, code = 2): number {
  process.stderr.write(`${message}\n`);
  return code;
}

async function serve(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: { config: { type: 'string', short: 'c' }, data: { type: 'string' }, port: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }).values;
  } catch (err) {
    return fail(`${(err as Error).message}\n\n${HELP}`);
  }
  if (args.help) {
    process.stdout.write(HELP);
    return 0;
  }
  let port: number | undefined;
  if (args.port !== undefined) {
    port = Number(args.port);
    if (!/^\d+$/.test(args.port) || port > 65535) return fail(`--port 应为 0-65535 的整数 / --port must be a whole number from 0 to 65535: ${args.port}`);
  }
  let fallback: ConfigFallback = { config: defaultConfig(), error: null, source: 'defaults' };
  if (args.config) {
    const dataFolder = (config: Config | null) => args.data ?? config?.storage.dataDir ?? defaultConfig().storage.dataDir;
    fallback = loadConfigWithFallback(args.config, (config) => join(dataFolder(config), 'config.last-good.toml'));
    if (fallback.error) {
      // Keep running: on the Pi nobody reads this console, and a typo must not stop the shop's SMS.
      process.stderr.write(
        `配置文件有误 / config error:\n${fallback.error.message}\n` +
          (fallback.source === 'last-good'
            ? '暂时使用上次正确的配置运行，修改后重新启动 / running on the last good config until the file is fixed and the box restarted.\n'
            : '暂时使用出厂设置运行，修改后重新启动 / running on the built-in defaults until the file is fixed and the box restarted.\n'),
      );
    }
  }
  const config = fallback.config;
  const log = createLogger();
  // runBox: a restore restarts the box in this process, on the same port.
  const box = await runBox({
    config,
    ...(fallback.error ? { configProblem: { error: fallback.error, using: fallback.source as 'last-good' | 'defaults' } } : {}),
    ...(args.data ? { dataDir: args.data } : {}),
    ...(port !== undefined ? { port } : {}),
    log,
  });
  process.stdout.write(`smsbox ${version}: http://${config.http.host}:${box.port}/\n`);
  // The name avahi announced (smsbox-ab12-2.local on a name conflict) once it answered: a few seconds at most.
  void box.hostNameKnown.then(() => {
    const host = box.hostName.info(box.port);
    process.stdout.write(`本机名称 / name: ${host.name}\n管家助理接口地址 / URL for 管家助理: ${host.urls.join('  ')}\n`);
  });
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info('stopping', { signal });
      const started = Date.now();
      void box.close().then(() => {
        // The line a technician (and image/smoke) looks for: nothing was cut off.
        log.info('stopped cleanly: modem idle, database closed', { signal, ms: Date.now() - started });
        resolve();
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    // A box that could not start again after a restore (its port taken meanwhile): exit with an
    // error, and systemd (Restart=on-failure) starts the process afresh; a committed restore finishes then.
    box.once('error-restart', (err: unknown) => {
      log.error('the box could not start again after a restart; exiting for systemd to start it', { error: String(err) });
      // What the failed start left open (its database, timers) would keep the process alive.
      setTimeout(() => process.exit(1), 500);
    });
  });
  return 0;
}

/** `smsbox backup` and `smsbox restore FILE`: for a stopped box (an update's scripts, a technician). */
async function backupCommand(command: 'backup' | 'restore', argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: { config: { type: 'string', short: 'c' }, data: { type: 'string' }, reason: { type: 'string', default: 'manual' } },
      allowPositionals: command === 'restore',
      strict: true,
    });
  } catch (err) {
    return fail(`${(err as Error).message}\n\n${HELP}`);
  }
  const args = parsed.values;
  let config: Config = defaultConfig();
  if (args.config) {
    try {
      config = loadConfig(args.config);
    } catch (err) {
      return fail(err instanceof ConfigError ? err.message : String(err));
    }
  }
  const dataDir = args.data ?? config.storage.dataDir;
  if (command === 'backup') {
    if (args.reason !== 'manual' && args.reason !== 'pre-update') return fail('--reason 应为 manual 或 pre-update / --reason must be manual or pre-update');
    if (!existsSync(join(dataDir, 'smsbox.db'))) return fail(`没有数据库 / no database: ${join(dataDir, 'smsbox.db')}`, 1);
    const made = await backupToFile({ dataDir, configFile: config.file, now: Date.now(), timeZone: config.schedule.timezone, reason: args.reason });
    process.stdout.write(`${made.path}\n`);
    return 0;
  }
  const file = parsed.positionals[0];
  if (!file || parsed.positionals.length > 1) return fail(`用法 / usage: smsbox restore FILE [--config FILE] [--data DIR]`);
  const restored = await restoreBackupFile({ dataDir, file, configFile: config.file, now: Date.now() });
  if (!restored.ok) return fail(`${restored.message}\n${restored.message_en}`, 1);
  const m = restored.value.manifest;
  process.stdout.write(`已检查并提交，下次启动网关时恢复 / checked and committed; restored when the box next starts: ${m.hostname} ${m.created_at_local}, ` +
    `${m.tables['outbox'] ?? 0} messages, schema ${m.schema_version}\n`);
  return 0;
}

/** Faults `smsbox doctor --device simulator --fault KIND` can inject, to show what the doctor says. */
const DOCTOR_FAULTS = ['no-sim', 'no-network', 'silence', 'garbage'] as const;

/** The virtual HAT for `smsbox doctor --device simulator`: the CLI wires it, the driver does not import it. */
const doctorVirtualHat: VirtualHatFactory = ({ fault }) => {
  if (fault !== undefined && !(DOCTOR_FAULTS as readonly string[]).includes(fault)) {
    throw new Error(`must be one of ${DOCTOR_FAULTS.join(', ')}; got "${fault}"`);
  }
  const virtual = new VirtualModem({ sendMs: 10 });
  if (fault !== undefined) virtual.inject({ kind: fault as (typeof DOCTOR_FAULTS)[number] });
  return { binding: createSimulatorBinding(virtual), dispose: () => virtual.dispose() };
};

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'doctor':
      return doctorCommand(rest, (line) => process.stdout.write(`${line}\n`), { virtualHat: doctorVirtualHat });
    case 'simulate-modem':
      return simulateModemCommand(rest);
    case 'pdu':
      return pduCommand(rest, (line) => process.stdout.write(`${line}\n`));
    case 'backup':
    case 'restore':
      return backupCommand(command, rest);
    case 'update-apply':
      return updateApplyCommand(rest, (line) => process.stdout.write(`${line}\n`));
    case 'update-pack':
      return updatePackCommand(rest, (line) => process.stdout.write(`${line}\n`));
    case '--version':
    case '-v':
      process.stdout.write(`${version}\n`);
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(HELP);
      return command === undefined ? 2 : 0;
    default:
      return fail(`未知命令 / unknown command: ${command}\n\n${HELP}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`smsbox: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
