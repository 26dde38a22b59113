import { doctorSelftest, type DoctorSelftestOptions } from './doctor-selftest.js';
import type { Duplex } from 'node:stream';
import { AtCmeError, AtEngine, AtError, AtTimeoutError, type AtResponse } from './at/index.js';
import { HatProfileError, loadHat, type HatProfile } from './hats.js';
import { USB_NO_POWER_TEXT } from './power.js';
import {
  decideSmsPath,
  parseCimi,
  parseCnum,
  parseCopsAct,
  parseImsRegistration,
  parseVendorRat,
  parseCops,
  parseCpin,
  parseCsca,
  parseCsq,
  parseRegistration,
  simStateFromCme,
  WEAK_SIGNAL_CSQ,
  type Rat,
  type RegistrationStat,
  type SimState,
  type SmsPath,
} from './parse.js';
import { openSerialStream, type SerialBinding } from './serial.js';

/**
 * The virtual HAT, as the caller (src/cli.ts) hands it to the doctor: the
 * driver never imports the simulator. `fault` is a fault kind to inject
 * first; an unknown kind throws an Error whose message lists the known ones.
 */
export type VirtualHatFactory = (options: { fault?: string }) => { binding: SerialBinding; dispose(): void };

export interface DoctorCommandDeps {
  /** Lets `--device simulator` check the built-in virtual HAT; without it that device is refused. */
  virtualHat?: VirtualHatFactory;
}

export const DOCTOR_USAGE = `Usage: smsbox doctor [--device PATH] [--hat NAME] [--baud N] [--selftest [--own-number N]]

Talks to the modem and says, in Chinese and English, what is wrong and what to do.
  --device PATH   the modem's serial port (default: the HAT's, usually /dev/serial0);
                  "simulator" checks the built-in virtual HAT
  --hat NAME      HAT profile (default sim7600)
  --baud N        serial speed (default: the HAT's, usually 115200)
  --fault KIND    with --device simulator: inject a fault first (no-sim, no-network,
                  silence, garbage), to see what the doctor says about it
  --selftest      then send an SMS to the SIM's own number and wait for it to come
                  back (up to 3 minutes; stop smsbox first: the port is the doctor's)
  --own-number N  the number to send it to when the SIM does not hold it (AT+CNUM)
Exit code 0 when the modem can send SMS (and with --selftest, the SMS came back), 1 otherwise.`;

export interface DoctorFindings {
  answered: boolean;
  model: string | null;
  firmware: string | null;
  imei: string | null;
  sim: SimState | null;
  registration: RegistrationStat | null;
  operator: string | null;
  csq: number | null;
  dbm: number | null;
  smsc: string | null;
  imsi: string | null;
  ownNumber: string | null;
  /** Registration per query (`+CREG` CS, `+CGREG` packet, `+CEREG` EPS). */
  registrations: Record<string, RegistrationStat>;
  rat: Rat;
  imsRegistered: boolean | null;
  smsPath: SmsPath;
  /** True when the modem can send SMS now. */
  canSend: boolean;
  /** With --selftest: whether the SMS to the own number came back (null: not run). */
  selftest: 'ok' | 'failed' | null;
}

export interface DoctorRun {
  openStream: () => Promise<Duplex>;
  hat: HatProfile;
  device: string;
  baud: number;
  out: (line: string) => void;
  /** Time limit of each command (default 3000 ms). */
  timeoutMs?: number;
  /** How long to wait for a first answer (default 6000 ms: a module still booting gets a chance). */
  firstAnswerMs?: number;
  /** Also send an SMS to the own number and wait for it (issue 17's self-test, over the port itself). */
  selftest?: DoctorSelftestOptions;
}

const ok = (out: (line: string) => void, zh: string, en: string): void => out(`[ OK ] ${zh} / ${en}`);
const bad = (out: (line: string) => void, zh: string, en: string): void => out(`[FAIL] ${zh} / ${en}`);
const warn = (out: (line: string) => void, zh: string, en: string): void => out(`[WARN] ${zh} / ${en}`);
const todo = (out: (line: string) => void, zh: string, en: string): void => {
  out(`       → ${zh}`);
  out(`       → ${en}`);
};

/**
 * Checks the modem step by step and prints what it finds. Each check prints one
 * line "[ OK ]" / "[WARN]" / "[FAIL]" in Chinese then English, and under a
 * failure what to do about it.
 */
/** What to check when a USB modem's port cannot be opened. */
function usbAdvice(out: (line: string) => void, usb: NonNullable<HatProfile['usb']>): void {
  todo(out, `运行 lsusb，应列出 ${usb.vendorId}:${usb.productId}；没有就检查 USB 线和供电（模块发送时电流可达 2 A）`, `Run lsusb: it must list ${usb.vendorId}:${usb.productId}; if not, check the USB cable and the power supply (the module draws up to 2 A while sending)`);
  todo(out, `运行 ls -l /dev/serial/by-id/，把以 -if${String(usb.atInterface).padStart(2, '0')}-port0 结尾的那一项填入 device（例如 ${usb.byId}）`, `Run ls -l /dev/serial/by-id/ and put the entry ending in -if${String(usb.atInterface).padStart(2, '0')}-port0 into device (like ${usb.byId})`);
  todo(out, '没有 ttyUSB 设备时加载驱动：sudo modprobe option；并确认运行本程序的用户在 dialout 组', 'Without any ttyUSB device, load the driver: sudo modprobe option; and check that this user is in the dialout group');
}

export async function runDoctor(run: DoctorRun): Promise<DoctorFindings> {
  const { out, hat } = run;
  const findings: DoctorFindings = {
    answered: false,
    model: null,
    firmware: null,
    imei: null,
    sim: null,
    registration: null,
    operator: null,
    csq: null,
    dbm: null,
    smsc: null,
    imsi: null,
    ownNumber: null,
    registrations: {},
    rat: 'unknown',
    imsRegistered: null,
    smsPath: 'unknown',
    canSend: false,
    selftest: null,
  };
  out(`smsbox doctor: ${hat.title} (${hat.name}), ${run.device} @ ${run.baud}`);
  // A USB module is powered by the bus: say so once, up front, so no advice below sends the owner to a PWR key.
  if (hat.usb) out(`${USB_NO_POWER_TEXT.zh} / ${USB_NO_POWER_TEXT.en}`);

  let stream: Duplex;
  try {
    stream = await run.openStream();
  } catch (error) {
    bad(out, `无法打开串口 ${run.device}`, `Cannot open the serial port ${run.device}: ${error instanceof Error ? error.message : String(error)}`);
    if (hat.usb) usbAdvice(out, hat.usb);
    else todo(out, '确认 /boot/firmware/config.txt 中有 enable_uart=1，并且运行本程序的用户在 dialout 组', 'Check that config.txt has enable_uart=1 and that this user is in the dialout group');
    return findings;
  }
  const engine = new AtEngine(stream, { timeoutMs: run.timeoutMs ?? 3000, resyncQuietMs: 100 });
  const command = (cmd: string): Promise<AtResponse> => engine.command(cmd);
  try {
    const deadline = Date.now() + (run.firstAnswerMs ?? 6000);
    while (!findings.answered) {
      try {
        await engine.command('AT', { timeoutMs: 1000 });
        findings.answered = true;
      } catch (error) {
        if (error instanceof AtError && !(error instanceof AtTimeoutError) && error.finalLine) findings.answered = true;
        else if (Date.now() >= deadline || engine.closed) break;
      }
    }
    if (!findings.answered) {
      bad(out, '模块没有任何应答', 'No answer from the modem at all');
      if (hat.usb) {
        todo(out, `确认 device 是 AT 口（USB 接口 ${hat.usb.atInterface}，by-id 名称以 -if${String(hat.usb.atInterface).padStart(2, '0')}-port0 结尾），不是诊断口或 GPS 口`, `Check that device is the AT port (USB interface ${hat.usb.atInterface}, the by-id name ending in -if${String(hat.usb.atInterface).padStart(2, '0')}-port0), not the diagnostic or GPS port`);
        todo(out, '拔下模块的 USB 线，等 10 秒再插上，等一分钟后重试', 'Unplug the modem\'s USB cable, wait 10 seconds, plug it back in and try again a minute later');
        return findings;
      }
      todo(out, '检查 HAT 是否插好、电源灯是否亮；没亮就按一下 PWR 键或用跳线帽短接 PWR 与 3V3', 'Check the HAT is seated and its power LED is on; if not, press PWR or put the jumper on PWR–3V3');
      todo(out, `检查 UART 跳线（微雪 HAT 选 B：接树莓派串口）和波特率（${run.baud}）`, `Check the UART jumpers (Waveshare: position B, to the Pi's UART) and the baud rate (${run.baud})`);
      todo(out, '串口控制台不能占用串口：从 /boot/firmware/cmdline.txt 删掉 console=serial0,115200', 'The serial console must not use the UART: remove console=serial0,115200 from cmdline.txt');
      todo(out, '树莓派 3/4 的蓝牙占用 PL011：config.txt 加 dtoverlay=disable-bt，然后重启', 'On a Pi 3/4 Bluetooth holds the PL011 UART: add dtoverlay=disable-bt to config.txt and reboot');
      return findings;
    }
    ok(out, '模块有应答', 'The modem answers AT');
    await command('ATE0').catch(() => {});
    await command('AT+CMEE=2').catch(() => {});

    const first = async (cmd: string): Promise<string | null> => {
      try {
        const line = (await command(cmd)).lines.find((l) => l.trim() !== '');
        return line ? line.replace(/^\+\w+:\s*/, '').trim() : null;
      } catch {
        return null;
      }
    };
    findings.model = await first('AT+CGMM');
    findings.firmware = await first('AT+CGMR');
    findings.imei = await first('AT+CGSN');
    ok(out, `型号 ${findings.model ?? '?'}，固件 ${findings.firmware ?? '?'}，IMEI ${findings.imei ?? '?'}`, `Model ${findings.model ?? '?'}, firmware ${findings.firmware ?? '?'}, IMEI ${findings.imei ?? '?'}`);

    try {
      const { lines } = await command('AT+CPIN?');
      findings.sim = lines.map(parseCpin).find((p) => p !== null)?.state ?? 'other';
    } catch (error) {
      findings.sim = error instanceof AtCmeError ? (simStateFromCme(error.code, error.text) ?? 'other') : 'other';
    }
    switch (findings.sim) {
      case 'ready': {
        findings.imsi = parseCimi((await command('AT+CIMI').catch(() => ({ lines: [] as string[] }))).lines);
        findings.ownNumber = parseCnum((await command('AT+CNUM').catch(() => ({ lines: [] as string[] }))).lines);
        ok(
          out,
          `SIM 卡就绪（IMSI ${findings.imsi ?? '?'}，本机号码 ${findings.ownNumber ?? 'SIM 卡未记录'}）`,
          `SIM card ready (IMSI ${findings.imsi ?? '?'}, own number ${findings.ownNumber ?? 'not stored on the SIM'})`,
        );
        break;
      }
      case 'no-sim':
        bad(out, '没有检测到 SIM 卡', 'No SIM card detected');
        todo(out, '断电后把 SIM 卡（缺角朝外、金属面朝下）插到底，再开机', 'Power off, push the SIM card fully into its slot, and power on again');
        return findings;
      case 'pin-required':
      case 'puk-required':
        bad(out, 'SIM 卡需要 PIN 码' + (findings.sim === 'puk-required' ? '（已锁，需要 PUK）' : ''), 'The SIM card asks for a PIN' + (findings.sim === 'puk-required' ? ' (locked: PUK needed)' : ''));
        todo(out, '把 SIM 卡放进手机，在设置里关闭"SIM 卡锁/PIN 码"，再插回', 'Put the SIM in a phone, turn off the SIM PIN lock, and put it back');
        return findings;
      default:
        bad(out, 'SIM 卡状态异常', 'The SIM card is not ready');
        todo(out, '断电重插 SIM 卡；仍不行请换一张卡试试', 'Re-seat the SIM with the power off; if that fails, try another SIM');
        return findings;
    }

    const stats: RegistrationStat[] = [];
    for (const reg of hat.at.registration) {
      try {
        const { lines } = await engine.command(`AT${reg}?`, { expectPrefix: reg });
        const parsed = lines.map(parseRegistration).find((p) => p !== null);
        if (parsed) {
          stats.push(parsed.stat);
          findings.registrations[reg.toUpperCase()] = parsed.stat;
        }
      } catch {
        // a module without this registration type (a 2G module and +CEREG)
      }
    }
    const domain: Record<string, string> = { '+CREG': 'CS', '+CGREG': 'PS', '+CEREG': 'EPS (LTE)' };
    const regText = Object.entries(findings.registrations).map(([reg, stat]) => `${domain[reg] ?? reg} ${stat}`).join(', ');
    if (regText) out(`       ${regText}`);
    findings.registration = stats.includes('home') ? 'home' : stats.includes('roaming') ? 'roaming' : stats.includes('denied') ? 'denied' : stats.length ? 'searching' : null;
    try {
      const signal = (await command('AT+CSQ')).lines.map(parseCsq).find((s) => s !== null);
      findings.csq = signal?.csq ?? null;
      findings.dbm = signal?.dbm ?? null;
    } catch {
      // reported below as unknown
    }
    const registered = findings.registration === 'home' || findings.registration === 'roaming';
    if (registered) {
      findings.operator = (await command('AT+COPS?').catch(() => ({ lines: [] as string[] }))).lines.map(parseCops).find((o) => o !== null) ?? null;
      ok(out, `已注册网络：${findings.operator ?? '?'}${findings.registration === 'roaming' ? '（漫游）' : ''}`, `Registered on ${findings.operator ?? '?'}${findings.registration === 'roaming' ? ' (roaming)' : ''}`);
      await checkSmsPath(run, command, findings);
    } else if (findings.registration === 'denied') {
      bad(out, '运营商拒绝注册', 'The network denied registration');
      todo(out, 'SIM 卡可能欠费、停机或未开通：用手机试这张卡，或联系运营商', 'The SIM may be out of credit, suspended or not activated: try it in a phone or call the carrier');
    } else {
      bad(out, '还没有注册到网络（正在搜索）', 'Not registered on a network yet (searching)');
      todo(out, '检查天线是否拧紧（接 MAIN 口）；刚开机请等一分钟再试；只支持 2G 的模块在国内可能已无网络', 'Check the antenna is screwed onto MAIN; wait a minute after power-on; a 2G-only module may find no network in China');
    }
    if (findings.csq === null) {
      if (registered) warn(out, '信号强度未知', 'Signal strength unknown');
    } else if (findings.csq < WEAK_SIGNAL_CSQ) {
      warn(out, `信号弱：CSQ ${findings.csq}（${findings.dbm} dBm）`, `Weak signal: CSQ ${findings.csq} (${findings.dbm} dBm)`);
      todo(out, '把天线移到窗边或高处，远离金属机箱', 'Move the antenna near a window or higher up, away from metal');
    } else {
      ok(out, `信号 CSQ ${findings.csq}（${findings.dbm} dBm）`, `Signal CSQ ${findings.csq} (${findings.dbm} dBm)`);
    }

    try {
      findings.smsc = (await command('AT+CSCA?')).lines.map(parseCsca).find((s) => s !== null) ?? null;
    } catch {
      findings.smsc = null;
    }
    if (findings.smsc) {
      ok(out, `短信中心号码 ${findings.smsc}`, `SMS service centre ${findings.smsc}`);
    } else {
      bad(out, 'SIM 卡里没有短信中心号码', 'The SIM has no SMS service centre number');
      todo(out, '联系运营商获取短信中心号码（如中国移动 +8613800xxx500），在手机里设置后再插回', 'Ask the carrier for the SMS centre number, set it in a phone, and put the SIM back');
    }

    findings.canSend = registered && findings.smsc !== null && findings.smsPath !== 'none';
    if (findings.canSend) ok(out, '可以发送短信', 'The modem can send SMS');
    else bad(out, '现在还不能发送短信', 'The modem cannot send SMS yet');
    if (run.selftest) {
      if (!findings.canSend) {
        findings.selftest = 'failed';
        bad(out, '不能发送短信，跳过自检', 'Cannot send SMS: the self-test is skipped');
      } else {
        findings.selftest = await doctorSelftest(engine, run.selftest, out);
      }
    }
    return findings;
  } finally {
    engine.dispose();
    await new Promise<void>((resolve) => {
      const closable = stream as Duplex & { close?: (cb: () => void) => void; isOpen?: boolean };
      if (typeof closable.close === 'function' && closable.isOpen !== false) closable.close(() => resolve());
      else {
        stream.destroy();
        resolve();
      }
    });
  }
}

const RAT_TEXT: Record<Rat, string> = { gsm: '2G (GSM)', umts: '3G (WCDMA)', lte: '4G (LTE)', unknown: '?' };

/**
 * The radio steps: access technology, IMS on LTE, and the SMS path they
 * give (parse.ts decideSmsPath). Without a path it says what to do.
 */
async function checkSmsPath(run: DoctorRun, command: (cmd: string) => Promise<AtResponse>, findings: DoctorFindings): Promise<void> {
  const { out, hat } = run;
  const none = { lines: [] as string[] };
  findings.rat = (await command('AT+COPS?').catch(() => none)).lines.map(parseCopsAct).find((r) => r !== null) ?? 'unknown';
  if (hat.at.ratCommand) {
    const vendor = (await command(hat.at.ratCommand).catch(() => none)).lines.map(parseVendorRat).find((r) => r !== null && r !== 'unknown');
    if (vendor) findings.rat = vendor;
  }
  if (findings.rat === 'unknown') warn(out, '无法确定接入制式', 'Access technology unknown');
  else ok(out, `接入制式 ${RAT_TEXT[findings.rat]}`, `Access technology ${RAT_TEXT[findings.rat]}`);

  if (findings.rat === 'lte') {
    for (const query of hat.at.imsQueries) {
      const answer = (await command(query).catch(() => none)).lines.map(parseImsRegistration).find((r) => r !== null);
      if (answer !== undefined) {
        findings.imsRegistered = answer;
        break;
      }
    }
    if (findings.imsRegistered === true) ok(out, 'IMS（VoLTE）已注册', 'IMS (VoLTE) registered');
    else if (findings.imsRegistered === false) warn(out, 'IMS（VoLTE）未注册', 'IMS (VoLTE) not registered');
    else warn(out, '无法查询 IMS 注册状态', 'IMS registration cannot be queried on this module');
  }
  const csRegistered = findings.registrations['+CREG'] === 'home' || findings.registrations['+CREG'] === 'roaming';
  findings.smsPath = decideSmsPath({ registered: true, rat: findings.rat, csRegistered, imsRegistered: findings.imsRegistered });
  switch (findings.smsPath) {
    case 'cs':
      ok(out, '短信通道：CS（2G/3G 电路域）', 'SMS path: CS (2G/3G circuit domain)');
      break;
    case 'sgs':
      ok(out, '短信通道：SGs（4G，经电路域）', 'SMS path: SGs (LTE via the circuit domain)');
      break;
    case 'ims':
      ok(out, '短信通道：IMS（4G VoLTE）', 'SMS path: IMS (LTE, VoLTE)');
      break;
    case 'none':
      bad(out, '已注册 4G，但没有短信通道（没有 IMS，也没有 SGs）', 'Registered on LTE but no SMS path (no IMS, no SGs)');
      if (hat.at.imsEnable.length > 0) {
        todo(out, `打开模块的 IMS/VoLTE 设置：${hat.at.imsEnable.join('; ')}，然后 AT+CFUN=0、AT+CFUN=1（smsbox 运行时会自动尝试一次）`, `Switch the module's IMS/VoLTE setting on: ${hat.at.imsEnable.join('; ')}, then AT+CFUN=0, AT+CFUN=1 (smsbox tries this once by itself)`);
      }
      todo(out, '打电话给运营商为这张卡开通 VoLTE（高清语音）', 'Call the carrier to enable VoLTE on this SIM');
      todo(out, '或换一张中国移动的卡（4G 短信可经 SGs 发送）', 'Or use a China Mobile SIM (SMS over SGs on LTE)');
      break;
    default:
      warn(out, '短信通道未知（模块无法报告 IMS 状态）：发送一条自检短信确认', 'SMS path unknown (the module cannot report IMS): send a self-test SMS to be sure');
  }
}

/** `smsbox doctor …`; returns the exit code. */
export async function doctorCommand(argv: string[], out: (line: string) => void, deps: DoctorCommandDeps = {}): Promise<number> {
  const args: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') {
      out(DOCTOR_USAGE);
      return 0;
    }
    if (arg === '--selftest') {
      args['selftest'] = 'yes';
      continue;
    }
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (!['--device', '--hat', '--baud', '--fault', '--own-number'].includes(flag)) {
      out(`Unknown option ${arg}\n\n${DOCTOR_USAGE}`);
      return 2;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) {
      out(`${flag} needs a value\n\n${DOCTOR_USAGE}`);
      return 2;
    }
    args[flag.slice(2)] = value;
  }
  let hat: HatProfile;
  try {
    hat = loadHat(args.hat ?? 'sim7600');
  } catch (error) {
    if (error instanceof HatProfileError) {
      out(error.message);
      return 2;
    }
    throw error;
  }
  const baud = args.baud === undefined ? hat.uart.baud : Number(args.baud);
  if (!Number.isInteger(baud) || baud <= 0) {
    out(`--baud must be a positive whole number, got "${args.baud}"`);
    return 2;
  }
  const device = args.device ?? hat.uart.device;
  let openStream: () => Promise<Duplex>;
  let cleanup = (): void => {};
  if (device === 'simulator') {
    if (!deps.virtualHat) {
      out('--device simulator is not available here (no virtual HAT was given to the doctor)');
      return 2;
    }
    let link: ReturnType<VirtualHatFactory>;
    try {
      link = deps.virtualHat(args.fault === undefined ? {} : { fault: args.fault });
    } catch (error) {
      out(`--fault: ${error instanceof Error ? error.message : String(error)}`);
      return 2;
    }
    const binding = link.binding;
    openStream = () => openSerialStream({ path: 'simulator', baudRate: baud, binding });
    cleanup = () => link.dispose();
    out('（模拟模式：检查的是内置的虚拟模块，不是真实硬件 / simulator: checking the built-in virtual HAT, not real hardware）');
  } else {
    if (args.fault) {
      out('--fault works only with --device simulator');
      return 2;
    }
    openStream = () => openSerialStream({ path: device, baudRate: baud });
  }
  try {
    const selftest = args['selftest'] ? { ...(args['own-number'] ? { ownNumber: args['own-number'] } : {}) } : undefined;
    const findings = await runDoctor({ openStream, hat, device, baud, out, ...(selftest ? { selftest } : {}) });
    return findings.canSend && findings.selftest !== 'failed' ? 0 : 1;
  } finally {
    cleanup();
  }
}

