import { fallbackName, hostUrls, lanIpv4s, type HostInfo } from '../system/host-name.js';
import type { Config } from '../config/config.js';
import { DEFAULT_ADMIN_PASSWORD, DEMO_ACCOUNT } from '../config/config.js';
import { accountsWithFactoryPassword, FACTORY_ACCOUNT_TEXT, hasRealModem, type EventRow } from '../operations/index.js';
import type { StatusSnapshot, WdgjRequestRecord } from '../status/status.js';
import { DEFAULT_MODEM_NAME, modemCards, type ModemCard, type ModemCardsSource, type SingleModemFacts } from '../status/modem-cards.js';
import { hatTransport } from '../modem/hats.js';
import { USB_NO_POWER_TEXT } from '../modem/power.js';
import { maskName } from '../text.js';
import { networkSeverity, type LedModemView } from '../leds/patterns.js';
import { escapeHtml as h } from './html.js';
import { layout, localTime, signalBars, tr, type Lang, type PageContext } from './layout.js';
import { lineChart } from './charts.js';

export type { Lang };

export type VerdictLevel = 'ok' | 'wait' | 'fault';

/** What to do about a fault, for the shop owner. */
function faultFix(fault: string, lang: Lang): string {
  const f = fault.toLowerCase();
  if (f === 'carrier-blocked') {
    return tr(lang, '致电运营商说明是发货通知并申请恢复，或等待 1-3 个工作日；恢复后在“设置”中调低每小时/每天上限。本机每小时试发一条，发出即自动恢复。',
      'Call the carrier, say these are shipping notices and ask them to lift it, or wait 1-3 working days; then lower the hourly/daily limits in Settings. The box tries one message an hour and resumes by itself once one goes through.');
  }
  if (f === 'low-balance') return tr(lang, '请给 SIM 卡充值，然后在“设置”页面点“查询话费”。', 'Top up the SIM, then press "Ask the balance" in Settings.');
  if (f === 'stuck') {
    return tr(lang, '请在“短信”页面查看排队短信的错误信息（例如 SIM 卡欠费、被运营商拦截）；若仍发不出去，请拔掉电源 10 秒后重新接上。',
      'Look at the errors of the queued messages on the Messages page (an unpaid SIM, blocked by the carrier); if nothing goes still, unplug the power for 10 seconds and plug it back.');
  }
  if (/sim/.test(f)) return tr(lang, '请关机后检查 SIM 卡是否插好、是否欠费停机，再开机。', 'Power off, check the SIM card is seated and the line is paid, then power on.');
  if (/network|regist|网络|注册/.test(f)) return tr(lang, '请检查天线是否拧紧，或把盒子移到信号更好的位置。', 'Check the antenna is screwed on, or move the box where the signal is better.');
  return tr(lang, '请拔掉电源 10 秒后重新接上；若仍故障，请联系技术支持并提供“事件”页面的内容。', 'Unplug the power for 10 seconds and plug it back; if the fault stays, call support with the events list.');
}

export interface Verdict {
  level: VerdictLevel;
  text: string;
  detail: string;
}

/**
 * The one-line verdict the overview leads with, and its level (colour). It
 * agrees with the fault LED (src/leds decides it): while the LED is lit for a
 * reason the states below do not name, the verdict names that reason and is
 * never "sending normally".
 */
export function verdictOf(status: StatusSnapshot, lang: Lang): Verdict {
  const verdict = stateVerdict(status, lang);
  const faults = status.faults ?? [];
  const say = (f: (typeof faults)[number]) => (lang === 'zh' ? f.message : f.message_en);
  const hard = faults.find((f) => f.level === 'hard');
  if (hard && verdict.level !== 'fault') return { level: 'fault', text: `${tr(lang, '故障', 'Fault')}: ${say(hard)}`, detail: faultFix(hard.kind, lang) };
  if (faults.length > 0 && verdict.level === 'ok') {
    const [first, ...rest] = faults;
    return { level: 'wait', text: `${tr(lang, '需要处理', 'Needs attention')}: ${say(first!)}`, detail: rest.map(say).join(lang === 'zh' ? '；' : '; ') };
  }
  return verdict;
}

/** The modem the verdict speaks of: the only one, or the best of a pool (the LEDs' order, reversed). */
function bestModem(status: StatusSnapshot): LedModemView {
  const modems = (status as StatusSnapshot & { modems?: readonly LedModemView[] }).modems;
  if (!modems || modems.length < 2) return status.modem;
  return modems.reduce((best, m) => (networkSeverity(m) > networkSeverity(best) ? m : best));
}

/** The verdict of the modem, queue, window and disk states alone. */
function stateVerdict(status: StatusSnapshot, lang: Lang): Verdict {
  const waiting = status.queue.waiting;
  if (status.storage.full) {
    const free = status.storage.free_bytes === null ? '' : ` (${(status.storage.free_bytes / 1048576).toFixed(1)} MB)`;
    return {
      level: 'fault',
      text: tr(lang, '故障: 磁盘已满', 'Fault: disk full'),
      detail: tr(lang, `存储卡剩余空间不足${free}，新短信可能无法接收（管家助理会收到 3）。请联系技术支持清理存储卡；空间恢复后自动继续，无需重启。`,
        `The card has almost no free space${free}; new messages may be refused (管家助理 gets 3). Call support to free space; the box carries on by itself once there is room, no restart needed.`),
    };
  }
  // With several SIMs the verdict follows the best of them: while one sends, another's fault is
  // something to see to (the fault list names it), not a box that cannot send.
  const modem = bestModem(status);
  if (modem.hard_fault) {
    // The modem gives "中文 / English", each already saying what to do.
    const [zh, en] = modem.hard_fault.split(' / ');
    const text = (lang === 'zh' ? zh : en) ?? modem.hard_fault;
    return { level: 'fault', text: `${tr(lang, '故障', 'Fault')}: ${text}`, detail: /[：:]/.test(text) ? '' : faultFix(text, lang) };
  }
  const detail = waiting && waiting !== 'idle'
    ? `${(lang === 'zh' ? status.queue.waiting_text : status.queue.waiting_text_en) ?? ''}${status.queue.waiting_detail ? `: ${status.queue.waiting_detail}` : ''}`
    : '';
  if (waiting === 'clock-not-set') return { level: 'wait', text: tr(lang, '等待时间校准，短信先排队', 'Waiting for the clock to be set; messages are queued meanwhile'), detail };
  const state = modem.state;
  if (state === 'searching') {
    return { level: 'wait', text: tr(lang, '正在搜索网络，短信先排队', 'Searching for the network; messages are queued meanwhile'), detail: tr(lang, '若持续几分钟：检查天线是否拧紧、SIM 卡是否欠费。', 'If this lasts minutes: check the antenna is screwed on and the SIM line is paid.') };
  }
  if (state === 'registration-denied') {
    return { level: 'fault', text: tr(lang, '故障: 网络拒绝注册', 'Fault: the network refused the SIM'), detail: tr(lang, 'SIM 卡可能欠费停机或未开通短信，请联系运营商。', 'The SIM may be suspended or without SMS service; call the operator.') };
  }
  if (state === 'error') {
    return { level: 'fault', text: tr(lang, '故障: 短信模块初始化失败', 'Fault: the modem failed to initialise'), detail: faultFix('', lang) };
  }
  if (waiting === 'modem-not-ready' || state !== 'ready') {
    return { level: 'wait', text: tr(lang, '短信模块启动中，短信先排队', 'The modem is starting; messages are queued meanwhile'), detail };
  }
  if (waiting === 'window-closed') return { level: 'wait', text: tr(lang, '等待发送时段', 'Waiting for the sending window'), detail };
  return { level: 'ok', text: tr(lang, '正常发送中', 'Sending normally'), detail };
}

export function usesDefaultPasswords(config: Config): boolean {
  return config.admin.password === DEFAULT_ADMIN_PASSWORD || config.accounts.some((a) => a.user === DEMO_ACCOUNT.user && a.password === DEMO_ACCOUNT.password);
}

/**
 * With a real modem the factory passwords open nothing; the overview says which
 * are still in use and what to do (account names masked for the public).
 */
function factoryWarnings(config: Config, lang: Lang, loggedIn: boolean): string {
  const accounts = accountsWithFactoryPassword(config).map((user) => (loggedIn ? user : maskName(user)));
  const parts: string[] = [];
  if (accounts.length > 0) {
    parts.push(`<p class="warn" id="factory-accounts">${h(tr(lang,
      `账号 ${accounts.join('、')} 仍在使用出厂密码，管家助理用它登录会被拒绝（应答 0）：${FACTORY_ACCOUNT_TEXT.zh}（[[account]] password），然后在管家助理中填写新密码。`,
      `Account ${accounts.join(', ')} still has the factory password, so 管家助理 is refused with it (reply 0): ${FACTORY_ACCOUNT_TEXT.en} ([[account]] password), then enter the new password in 管家助理.`))}</p>`);
  }
  if (config.admin.password === DEFAULT_ADMIN_PASSWORD) {
    parts.push(`<p class="warn" id="factory-admin">${h(tr(lang,
      '管理密码仍是出厂密码，不能用于真实短信模块：登录后请先设置新的管理密码（或修改配置文件中的 [admin] password）。',
      'The admin password is still the factory one, which cannot be used with a real modem: after logging in, choose a new one first (or change [admin] password in the config file).'))}</p>`);
  }
  return parts.join('');
}

function windowLine(status: StatusSnapshot, tz: string, lang: Lang): string {
  if (status.window.open) return tr(lang, '发送时段内', 'Inside the sending window');
  const at = status.window.next_open ? localTime(Date.parse(status.window.next_open), tz).slice(0, 16) : '';
  return tr(lang, `免打扰时段，短信排队等待，将于 ${at} 开始发送`, `Quiet hours: messages wait until ${at}`);
}

function uptime(seconds: number, lang: Lang): string {
  const d = Math.floor(seconds / 86400);
  const hh = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return lang === 'zh' ? `${d ? `${d} 天 ` : ''}${hh} 小时 ${m} 分` : `${d ? `${d} d ` : ''}${hh} h ${m} min`;
}

/** The User of a logged request: an account's name (masked for the public), never anything else. */
function requestUser(r: WdgjRequestRecord, lang: Lang, loggedIn: boolean): string {
  if (r.user) return h(loggedIn ? r.user : maskName(r.user));
  return r.unknownUser ? `<span class="muted">${h(tr(lang, '（不是账号）', '(not an account)'))}</span>` : '—';
}

/** Why a request got its reply, where the code alone would not tell the shop what to do. */
function requestReason(r: WdgjRequestRecord, lang: Lang): string {
  if (!r.reason) return '';
  if (r.reason === 'duplicate') {
    return ` <small class="retry">${h(tr(lang, `客户端重试：已并入第 ${r.requestId ?? '?'} 号请求，没有重复排队`, `client retry: merged into request #${r.requestId ?? '?'}, not queued twice`))}</small>`;
  }
  if (r.reason === 'factory-password') return ` <small class="warn-text">${h(tr(lang, FACTORY_ACCOUNT_TEXT.zh, FACTORY_ACCOUNT_TEXT.en))}</small>`;
  return ` <small>(${h(r.reason)})</small>`;
}

function requestsTable(recent: readonly WdgjRequestRecord[], tz: string, lang: Lang, limit: number, loggedIn: boolean): string {
  const rows = recent.slice(0, limit).map((r) =>
    `<tr><td class="time">${h(localTime(r.at, tz))}</td><td>${h(r.client)}</td><td>${h(r.msg)}</td><td>${requestUser(r, lang, loggedIn)}</td><td>${h(r.reply)}${requestReason(r, lang)}</td></tr>`).join('');
  if (!rows) {
    return `<p class="muted">${h(tr(lang, '还没有收到请求。如果管家助理提示连接失败，请检查：电脑和本机在同一网络、地址和端口正确、防火墙未拦截。', 'No request yet. If 管家助理 cannot connect: check that the PC and this box are on the same network, the address and port are right, and no firewall blocks it.'))}</p>`;
  }
  return `<div class="table-wrap"><table class="cards"><tr><th>${h(tr(lang, '时间', 'Time'))}</th><th>${h(tr(lang, '来源', 'Client'))}</th><th>${h(tr(lang, '类型', 'Type'))}</th><th>${h(tr(lang, '用户', 'User'))}</th><th>${h(tr(lang, '应答', 'Reply'))}</th></tr>${rows}</table></div>`;
}

const MODEM_STATES: Record<string, [string, string]> = {
  'queue-only': ['仅排队', 'queue only'],
  off: ['已关闭', 'off'],
  starting: ['启动中', 'starting'],
  ready: ['就绪', 'ready'],
  'no-sim': ['没有 SIM 卡', 'no SIM card'],
  'pin-required': ['SIM 卡需要 PIN 码', 'SIM needs a PIN'],
  searching: ['正在搜索网络', 'searching for the network'],
  'registration-denied': ['网络拒绝注册', 'registration denied'],
  'not-responding': ['模块无响应', 'not responding'],
  'no-smsc': ['没有短信中心号码', 'no SMS centre number'],
  error: ['错误', 'error'],
};

function modemStateNames(lang: Lang): Record<string, string> {
  return Object.fromEntries(Object.entries(MODEM_STATES).map(([k, v]) => [k, tr(lang, v[0], v[1])]));
}

const RAT_NAMES: Record<string, string> = { gsm: '2G (GSM)', umts: '3G (WCDMA)', lte: '4G (LTE)', unknown: '—' };

/** How an SMS leaves the module (ModemState.smsPath), for a person. */
function smsPathNames(lang: Lang): Record<string, string> {
  return {
    cs: tr(lang, 'CS（2G/3G）', 'CS (2G/3G)'),
    sgs: tr(lang, 'SGs（4G）', 'SGs (LTE)'),
    ims: tr(lang, 'IMS（4G VoLTE）', 'IMS (LTE, VoLTE)'),
    none: tr(lang, '无：未开通 VoLTE/IMS，无法发送', 'none: no VoLTE/IMS, nothing can be sent'),
    unknown: '—',
  };
}

/** What the config says about the one modem of a snapshot without `modems`. */
export function singleModemFacts(config: Config): SingleModemFacts {
  const modem = config.modem as Config['modem'] & { name?: string };
  return {
    name: modem.name ?? DEFAULT_MODEM_NAME,
    device: modem.device,
    hat: modem.hat,
    powerControl: hatTransport(modem.hat) !== 'usb',
    limits: { maxPerMinute: config.schedule.maxPerMinute, maxPerHour: config.schedule.maxPerHour, maxPerDay: config.schedule.maxPerDay },
  };
}

/** The cards the overview shows: one per SIM (the snapshot's `modems`, or its one `modem`). */
export function overviewCards(status: StatusSnapshot, config: Config): readonly ModemCard[] {
  return modemCards(status as StatusSnapshot & ModemCardsSource, singleModemFacts(config));
}

/** Why the box cannot power this modem, for its card. */
function noPowerLine(card: ModemCard, lang: Lang): string {
  if (hatTransport(card.hat) === 'usb') return tr(lang, USB_NO_POWER_TEXT.zh, USB_NO_POWER_TEXT.en);
  return tr(lang, '本机无法控制此模块的电源（PWRKEY 未接）：需要重启时请手动断电', "This box cannot press this modem's PWRKEY: when it needs a restart, switch it off and on by hand");
}

/**
 * One card per SIM, each field live (`data-k="cards.<i>.…"`, filled from the
 * stream's `cards`). The first card also carries the SIM credit, which is the
 * first SIM's.
 */
function modemCardsHtml(cards: readonly ModemCard[], status: StatusSnapshot, lang: Lang): string {
  const states = modemStateNames(lang);
  const registeredMap = { true: tr(lang, '已注册网络', 'registered'), false: tr(lang, '未注册', 'not registered'), null: '—' };
  const paths = smsPathNames(lang);
  const noCap = { 0: tr(lang, '不限', 'no cap') };
  const waitingKey = lang === 'zh' ? 'waiting_text' : 'waiting_text_en';
  return cards.map((card, i) => {
    const k = (field: string) => `cards.${i}.${field}`;
    const waiting = lang === 'zh' ? card.waiting_text : card.waiting_text_en;
    return `<section class="modem-card" data-card="${i}"><h2>${h(tr(lang, '短信模块', 'Modem'))} <span class="modem-name">${h(card.name)}</span></h2><dl class="kv">
<dt>${h(tr(lang, '状态', 'State'))}</dt><dd data-k="${k('state')}" data-map="${h(JSON.stringify(states))}">${h(states[card.state] ?? card.state)}</dd>
${card.device ? `<dt>${h(tr(lang, '设备', 'Device'))}</dt><dd><code>${h(card.device)}</code>${card.hat ? ` <small>${h(card.hat)}</small>` : ''}</dd>` : ''}
<dt>SIM</dt><dd data-k="${k('registered')}" data-map="${h(JSON.stringify(registeredMap))}">${h(registeredMap[String(card.registered) as keyof typeof registeredMap])}</dd>
<dt>${h(tr(lang, '运营商', 'Operator'))}</dt><dd data-k="${k('operator')}">${h(card.operator ?? '—')}</dd>
<dt>${h(tr(lang, '信号', 'Signal'))}</dt><dd>${signalBars(card.signal_bars)} <span data-k="${k('signal_csq')}">${h(card.signal_csq ?? '—')}</span></dd>
<dt>${h(tr(lang, '网络', 'Network'))}</dt><dd data-k="${k('rat')}" data-map="${h(JSON.stringify(RAT_NAMES))}">${h(RAT_NAMES[card.rat] ?? card.rat)}</dd>
<dt>${h(tr(lang, '短信通道', 'SMS path'))}</dt><dd data-k="${k('sms_path')}" data-map="${h(JSON.stringify(paths))}">${h(paths[card.sms_path] ?? card.sms_path)}</dd>
<dt>${h(tr(lang, '今日已发 / 每日上限', 'sent today / day cap'))}</dt><dd><span data-k="${k('sent_today')}">${card.sent_today}</span> / <span data-k="${k('limits.max_per_day')}" data-map="${h(JSON.stringify(noCap))}">${h(card.limits.max_per_day === 0 ? noCap[0] : card.limits.max_per_day)}</span></dd>
<dt>${h(tr(lang, '等待', 'Waiting for'))}</dt><dd data-k="${k(waitingKey)}">${h(waiting ?? '—')}</dd>
${card.power_control ? '' : `<dt>${h(tr(lang, '电源控制', 'Power control'))}</dt><dd class="no-power">${h(noPowerLine(card, lang))}</dd>`}
${i === 0 ? `<dt>${h(tr(lang, 'SIM 话费', 'SIM credit'))}</dt><dd id="sim-balance"><span data-k="sim.balance_yuan">${h(status.sim.balance_yuan === null ? '—' : status.sim.balance_yuan.toFixed(2))}</span> ${h(tr(lang, '元', 'yuan'))}${status.sim.low ? ` <span class="status failed">${h(tr(lang, '余额不足，请充值', 'low: top up'))}</span>` : ''}${status.sim.blocked ? ` <span class="status failed">${h(tr(lang, '运营商限制发送', 'restricted by the carrier'))}</span>` : ''}</dd>` : ''}
</dl></section>`;
  }).join('\n');
}

const CLOCK_SOURCES: Record<string, [string, string]> = {
  ntp: ['网络时间 (NTP)', 'network time (NTP)'],
  modem: ['短信模块网络时间', "the modem's network time"],
  rtc: ['硬件时钟', 'hardware clock'],
  config: ['系统时钟', 'system clock'],
  none: ['未校准', 'not set'],
};

/** The overview: public (no login), live through /api/status/stream. */
export function renderHome(
  status: StatusSnapshot,
  config: Config,
  recent: readonly WdgjRequestRecord[],
  lang: Lang,
  ctx?: Partial<PageContext>,
  signal: { at: number; csq: number | null }[] = [],
  /** The latest events, for a logged-in owner; null hides the panel. */
  events: readonly EventRow[] | null = null,
  /** The end of the previous run's log, for a logged-in owner (when that run did not stop cleanly). */
  lastRunLog: readonly string[] | null = null,
): string {
  const context: PageContext = { lang, csrf: ctx?.csrf ?? null, path: '/', flash: ctx?.flash ?? null, simulated: status.modem.simulated, configError: status.config_error };
  const tz = config.schedule.timezone;
  const verdict = verdictOf(status, lang);
  const uncertain = status.queue.uncertain > 0
    ? `<p class="warn">${h(tr(lang,
      `有 ${status.queue.uncertain} 条短信在断电或模块重启时正在发送，不确定顾客是否已收到。为避免重复，它们不会自动重发：请在“短信”页面选择重发或标记失败（退款）。`,
      `${status.queue.uncertain} message(s) were being sent when the box lost power or the modem restarted; the customer may or may not have them. They are not resent automatically, to avoid duplicates: resend or mark failed (refunded) on the Messages page.`))} <a href="/messages?status=uncertain">${h(tr(lang, '去处理', 'Decide'))}</a></p>`
    : '';
  const loggedIn = context.csrf !== null;
  const defaults = hasRealModem(config) ? factoryWarnings(config, lang, loggedIn) : usesDefaultPasswords(config)
    ? `<p class="warn">${h(tr(lang, '仍在使用默认密码（管理密码或演示账号 aaaa/bbbb）。请在“设置”页面或配置文件中修改 [admin] password 和 [[account]]。', 'Default passwords are in use (admin password or the demo account aaaa/bbbb). Change them on the Settings page or in the config file ([admin] password, [[account]]).'))}</p>`
    : '';
  const leds = Object.entries(status.leds as Record<string, unknown>);
  const LED_NAMES: Record<string, [string, string]> = { power: ['电源', 'power'], network: ['网络', 'network'], activity: ['发送', 'activity'], fault: ['故障', 'fault'] };
  // Drawn as on the box: a lit dot, blinking when the LED blinks (the pattern name is shown too).
  const ledsHtml = `<div class="leds">${leds.map(([name, value]) => {
    const pattern = typeof value === 'object' && value !== null ? String((value as Record<string, unknown>)['pattern'] ?? JSON.stringify(value)) : String(value);
    const lit = pattern !== 'off' && pattern !== 'false';
    const label = LED_NAMES[name] ?? [name, name];
    return `<span class="led" data-led="${h(name)}"><i class="${lit ? 'on' : ''} ${/blink|flash/.test(pattern) ? 'blink' : ''} ${name === 'fault' ? 'fault' : ''}"></i>${h(tr(lang, label[0], label[1]))} <small>${h(pattern)}</small></span>`;
  }).join('')}</div>`;
  const clock = CLOCK_SOURCES[status.clock.source] ?? [status.clock.source, status.clock.source];
  const chart = lineChart(signal.map((s) => ({ x: s.at, y: s.csq === null || s.csq === 99 ? null : s.csq })), {
    yMax: 31, xLabel: (x) => localTime(x, tz).slice(11, 16), height: 120, title: tr(lang, '信号 (CSQ 0–31)，24 小时', 'Signal (CSQ 0–31), 24 hours'),
  });
  const body = `
<div class="verdict ${verdict.level}" id="verdict"><span data-v="text">${h(verdict.text)}</span><small data-v="detail">${h(verdict.detail)}</small></div>
${uncertain}${defaults}${lastRunNotice(status, tz, lang, lastRunLog)}
<div class="grid">
<section><h2>${h(tr(lang, '队列', 'Queue'))}</h2><dl class="kv">
<dt>${h(tr(lang, '排队中', 'queued'))}</dt><dd class="big" data-k="queue.queued">${status.queue.queued}</dd>
<dt>${h(tr(lang, '今日已发', 'sent today'))}</dt><dd data-k="queue.sent_today">${status.queue.sent_today}</dd>
<dt>${h(tr(lang, '今日失败', 'failed today'))}</dt><dd data-k="queue.failed_today">${status.queue.failed_today}</dd>
<dt>${h(tr(lang, '今日退订拦截', 'suppressed today'))}</dt><dd data-k="queue.suppressed_today">${status.queue.suppressed_today}</dd>
<dt>${h(tr(lang, '待确认', 'uncertain'))}</dt><dd data-k="queue.uncertain">${status.queue.uncertain}</dd>
<dt><a href="/inbox">${h(tr(lang, '今日来电（已挂断）', 'calls today (hung up)'))}</a></dt><dd data-k="calls.today">${status.calls.today}</dd>
</dl></section>
${modemCardsHtml(overviewCards(status, config), status, lang)}
<section><h2>${h(tr(lang, '发送时段', 'Sending window'))}</h2>
<p id="window">${h(windowLine(status, tz, lang))}</p>
<dl class="kv"><dt>${h(tr(lang, '免打扰', 'Quiet hours'))}</dt><dd>${h(status.window.quiet_hours || tr(lang, '无', 'none'))}</dd>
<dt>${h(tr(lang, '时钟', 'Clock'))}</dt><dd>${h(tr(lang, clock[0], clock[1]))}</dd>
<dt>${h(tr(lang, '时区', 'Time zone'))}</dt><dd>${h(tz)}</dd></dl></section>
</div>
${leds.length ? `<section><h2>${h(tr(lang, '指示灯', 'LEDs'))}</h2>${ledsHtml}</section>` : ''}
<section><h2>${h(tr(lang, '信号', 'Signal'))}</h2>${chart}</section>
${events ? `<section><h2>${h(tr(lang, '最近事件', 'Latest events'))}</h2><div class="table-wrap"><table class="cards" id="events">${events.map((e) =>
    `<tr><td class="time">${h(localTime(e.at, tz))}</td><td><span class="status ${e.level === 'error' ? 'failed' : e.level === 'warn' ? 'uncertain' : ''}">${h(e.level)}</span></td><td class="text">${h(lang === 'zh' ? e.zh : e.en)}</td></tr>`).join('')}</table></div></section>` : ''}
<section><h2>${h(tr(lang, '最近来自管家助理的请求', 'Latest requests from 管家助理'))}</h2>${requestsTable(recent, tz, lang, 10, loggedIn)}
<p><a href="/setup">${h(tr(lang, '在管家助理中设置 →', 'Set up 管家助理 →'))}</a></p></section>
<p><small>${status.host ? `${h(tr(lang, '本机名称', 'Name'))} <span id="host-name" data-k="host.name">${h(status.host.name)}</span> · ` : ''}${h(tr(lang, '版本', 'Version'))} <span id="version">${h(status.version)}</span>${status.slot ? ` (${h(tr(lang, '槽', 'slot'))} <span id="slot">${h(status.slot)}</span>)` : ''} · ${h(tr(lang, '运行时间', 'Uptime'))} <span data-k="uptime_s" data-fmt="uptime">${h(uptime(status.uptime_s, lang))}</span> · <span id="live">${h(tr(lang, '实时更新', 'live'))}</span></small></p>`;
  return layout(context, tr(lang, '概览', 'Overview'), body, overviewScript(lang));
}

/**
 * How the previous run ended, when not by a stop: a crash or watchdog restart
 * of the program (a warning), or a power cut / system hang (a note: shops pull
 * the plug). The log's end only for a logged-in owner.
 */
function lastRunNotice(status: StatusSnapshot, tz: string, lang: Lang, log: readonly string[] | null): string {
  const last = status.last_run;
  if (!last || last.ended !== 'crash') return '';
  const since = last.started_at ? tr(lang, `（那次运行从 ${localTime(Date.parse(last.started_at), tz)} 开始）`, ` (that run started ${localTime(Date.parse(last.started_at), tz)})`) : '';
  const text = last.same_boot === false
    ? tr(lang, `上次没有正常关机就断电或重启了${since}。已接收的短信都在队列里。`, `The box lost power or restarted without a shutdown last time${since}. Accepted messages are all queued.`)
    : tr(lang, `上次运行异常结束（程序崩溃或卡死，已自动重启）${since}。若反复出现，请联系技术支持。`, `The previous run ended abnormally (the program crashed or hung and was restarted)${since}. If it recurs, call support.`);
  const logHtml = log && log.length > 0
    ? `<details><summary>${h(tr(lang, `当时的最后 ${log.length} 行日志`, `its last ${log.length} log lines`))}</summary><pre id="last-run-log">${h(log.join('\n'))}</pre></details>`
    : '';
  return `<div id="last-run" class="${last.same_boot === false ? 'muted' : 'warn'}"><p>${h(text)}</p>${logHtml}</div>`;
}

/** Live updates: the page listens to /api/status/stream and fills the marked fields. */
function overviewScript(lang: Lang): string {
  return `(function(){
var lang=${JSON.stringify(lang)};
function get(o,p){return p.split('.').reduce(function(a,k){return a==null?a:a[k]},o)}
function up(s){var d=Math.floor(s/86400),h=Math.floor(s%86400/3600),m=Math.floor(s%3600/60);return lang==='zh'?(d?d+' 天 ':'')+h+' 小时 '+m+' 分':(d?d+' d ':'')+h+' h '+m+' min'}
if(!window.EventSource)return;
var es=new EventSource('/api/status/stream?lang='+lang);
es.addEventListener('status',function(e){var d=JSON.parse(e.data),s=d.status;
var v=document.getElementById('verdict');v.className='verdict '+d.verdict.level;
v.querySelector('[data-v=text]').textContent=d.verdict.text;v.querySelector('[data-v=detail]').textContent=d.verdict.detail;
document.getElementById('window').textContent=d.window_text;
document.querySelectorAll('[data-k]').forEach(function(el){var k=el.getAttribute('data-k'),val=k.indexOf('cards.')===0?get(d,k):get(s,k);
if(el.getAttribute('data-fmt')==='uptime')val=up(val);
var map=el.getAttribute('data-map');if(map){var x=JSON.parse(map)[String(val)];if(x!==undefined)val=x}
el.textContent=val==null?'—':(typeof val==='object'?JSON.stringify(val):String(val))});
document.querySelectorAll('[data-led]').forEach(function(el){var n=el.getAttribute('data-led'),v=(s.leds||{})[n];if(v==null)return;var p=typeof v==='object'?String(v.pattern||JSON.stringify(v)):String(v);
el.querySelector('i').className=(p!=='off'&&p!=='false'?'on ':'')+(/blink|flash/.test(p)?'blink ':'')+(n==='fault'?'fault':'');el.querySelector('small').textContent=p});
document.querySelectorAll('[data-card]').forEach(function(c){var m=(d.cards||[])[+c.getAttribute('data-card')];if(!m)return;var bars=c.querySelectorAll('.bars i');for(var i=0;i<bars.length;i++)bars[i].className=i<(m.signal_bars||0)?'on':''});
document.getElementById('live').textContent=${JSON.stringify(tr(lang, '实时更新', 'live'))}+' '+d.time_text;});
es.onerror=function(){document.getElementById('live').textContent=${JSON.stringify(tr(lang, '连接中断，正在重连…', 'disconnected, reconnecting…'))}};
})();`;
}

export function windowText(status: StatusSnapshot, config: Config, lang: Lang): string {
  return windowLine(status, config.schedule.timezone, lang);
}

/** Setup for 管家助理: the URLs to paste, the accounts, the steps and the live request log. */
export function renderSetup(ctx: PageContext, config: Config, recent: readonly WdgjRequestRecord[], host: Pick<HostInfo, 'urls'> | null = null): string {
  const loggedIn = ctx.csrf !== null;
  const { lang } = ctx;
  // The name avahi announced and the addresses, for the port the box listens on.
  const urls = host?.urls ?? hostUrls(fallbackName(), config.http.port, lanIpv4s());
  const copy = tr(lang, '复制', 'Copy');
  const urlList = urls.map((u) => `<li class="row"><code>${h(u)}</code> <button type="button" class="secondary" data-copy="${h(u)}">${h(copy)}</button></li>`).join('');
  const accounts = ctx.csrf
    ? config.accounts.map((a) => `<li><code>${h(a.user)}</code></li>`).join('')
    : `<li class="muted">${h(tr(lang, '登录后显示账号名', 'log in to see the account names'))}</li>`;
  const steps = lang === 'zh'
    ? ['打开管家助理，进入「短信设置」（或「短信平台设置」）。', '发送方式选择「自定义」（自定义短信接口 3.0）。', '在「接口地址」中粘贴上面任一地址（推荐第一个）。', '用户名和密码填写第 2 步中的账号（配置文件中的 [[account]]）。', '点击「测试」或「查询余额」：应显示余额，下面“最近的请求”会出现一条记录。', '保存。以后管家助理发出的短信会在本机排队并发送。']
    : ['Open 管家助理 and go to 「短信设置」 (SMS settings).', 'Choose the sending method 「自定义」 (custom SMS interface 3.0).', 'Paste one of the URLs above into 「接口地址」 (interface URL); the first is best.', 'Enter an account from step 2 as user name and password (an [[account]] of the config file).', 'Press 「测试」 or 「查询余额」: it must show the balance, and a line appears under "latest requests" below.', 'Save. Messages from 管家助理 are then queued and sent by this box.'];
  const drawing = `<svg viewBox="0 0 420 170" class="chart" role="img" aria-label="${h(tr(lang, '管家助理短信设置示意图', 'sketch of the 管家助理 SMS settings'))}" style="max-width:28rem">
<rect x="1" y="1" width="418" height="168" rx="6" fill="#f6f8fa" stroke="#8c959f"/><rect x="1" y="1" width="418" height="24" rx="6" fill="#d0d7de"/>
<text x="10" y="18" font-size="12">短信设置</text>
<text x="14" y="50" font-size="12">发送方式</text><rect x="90" y="37" width="120" height="20" fill="#fff" stroke="#8c959f"/><text x="96" y="52" font-size="12">自定义 ▾</text>
<text x="14" y="80" font-size="12">接口地址</text><rect x="90" y="67" width="310" height="20" fill="#fff8c5" stroke="#bf8700" stroke-width="2"/><text x="96" y="82" font-size="11">${h(urls[0]!)}</text>
<text x="14" y="110" font-size="12">用户名</text><rect x="90" y="97" width="120" height="20" fill="#fff" stroke="#8c959f"/>
<text x="220" y="110" font-size="12">密码</text><rect x="255" y="97" width="120" height="20" fill="#fff" stroke="#8c959f"/>
<rect x="90" y="132" width="60" height="24" rx="3" fill="#1f883d"/><text x="107" y="148" font-size="12" fill="#fff">测试</text>
<rect x="160" y="132" width="60" height="24" rx="3" fill="#eaeef2" stroke="#8c959f"/><text x="177" y="148" font-size="12">保存</text></svg>`;
  const body = `
<section><h2>${h(tr(lang, '1. 接口地址（粘贴到管家助理）', '1. Interface URL (paste into 管家助理)'))}</h2><ul style="list-style:none;padding:0">${urlList}</ul>
<p><small>${h(tr(lang, '若本机地址会变化，可用 .local 名称（需要电脑支持 mDNS/Bonjour）。', 'If the address changes, the .local name works on PCs with mDNS/Bonjour.'))}</small></p></section>
<section><h2>${h(tr(lang, '2. 账号', '2. Accounts'))}</h2><ul>${accounts}</ul></section>
<section><h2>${h(tr(lang, '3. 步骤', '3. Steps'))}</h2><ol>${steps.map((s) => `<li>${h(s)}</li>`).join('')}</ol>${drawing}</section>
<section><h2>${h(tr(lang, '最近来自管家助理的请求', 'Latest requests from 管家助理'))}</h2><div id="requests">${requestsTable(recent, config.schedule.timezone, lang, 20, loggedIn)}</div>
<p><small>${h(tr(lang, '每 3 秒自动刷新。', 'Refreshes every 3 seconds.'))}</small></p></section>`;
  const script = `document.querySelectorAll('[data-copy]').forEach(function(b){b.addEventListener('click',function(){var t=b.getAttribute('data-copy');
function done(){b.textContent=${JSON.stringify(tr(lang, '已复制', 'Copied'))}}
if(navigator.clipboard&&window.isSecureContext){navigator.clipboard.writeText(t).then(done)}else{var a=document.createElement('textarea');a.value=t;document.body.appendChild(a);a.select();try{document.execCommand('copy');done()}catch(e){}a.remove()}})});
setInterval(function(){fetch('/setup/requests'+location.search).then(function(r){return r.text()}).then(function(t){document.getElementById('requests').innerHTML=t})},3000);`;
  return layout(ctx, tr(lang, '在管家助理中设置', 'Set up 管家助理'), body, script);
}

/** The live panel of the setup page (HTML fragment, escaped). */
export function renderRequestsFragment(recent: readonly WdgjRequestRecord[], config: Config, lang: Lang, loggedIn: boolean): string {
  return requestsTable(recent, config.schedule.timezone, lang, 20, loggedIn);
}
