import { networkInterfaces } from 'node:os';
import type { Config } from '../config/config.js';
import { DEFAULT_ADMIN_PASSWORD, DEMO_ACCOUNT } from '../config/config.js';
import type { StatusSnapshot, WdgjRequestRecord } from '../status/status.js';
import { isoInZone } from '../scheduler/tz.js';
import { escapeHtml as h } from './html.js';

type Lang = 'zh' | 'en';

/** Every IPv4 LAN address of the box: the URLs the shop can paste into 管家助理. */
export function lanUrls(port: number): string[] {
  const urls: string[] = [];
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) {
      if (a.family === 'IPv4' && !a.internal) urls.push(`http://${a.address}${port === 80 ? '' : `:${port}`}/sms`);
    }
  }
  return urls.length ? urls : [`http://127.0.0.1:${port}/sms`];
}

const T = {
  title: { zh: '短信网关', en: 'SMS gateway' },
  simulated: {
    zh: '模拟模式：没有接短信模块，短信不会真的发出。',
    en: 'Simulator mode: no modem hardware, no SMS leaves this box.',
  },
  verdictSending: { zh: '正常发送中', en: 'Sending normally' },
  verdictWindow: { zh: '等待发送时段', en: 'Waiting for the sending window' },
  verdictStarting: { zh: '短信模块启动中，短信先排队', en: 'The modem is starting; messages are queued meanwhile' },
  verdictClock: { zh: '等待时间校准，短信先排队', en: 'Waiting for the clock to be set; messages are queued meanwhile' },
  uncertainWarning: {
    zh: '有 {n} 条短信在断电或模块重启时正在发送，不确定顾客是否已收到。为避免重复，它们不会自动重发：请用 POST /api/messages/<编号>/resend 重发，或 /fail 标记失败（退款）。',
    en: '{n} message(s) were being sent when the box lost power or the modem restarted; the customer may or may not have them. They are not resent automatically, to avoid duplicates: resend with POST /api/messages/<id>/resend, or mark failed (refunded) with /fail.',
  },
  verdictFault: { zh: '故障', en: 'Fault' },
  windowOpen: { zh: '发送时段内', en: 'Inside the sending window' },
  windowClosed: { zh: '免打扰时段，短信排队等待，将于 {t} 开始发送', en: 'Quiet hours: messages wait until {t}' },
  queue: { zh: '队列', en: 'Queue' },
  queued: { zh: '排队中', en: 'queued' },
  uncertain: { zh: '待确认', en: 'uncertain' },
  sentToday: { zh: '今日已发', en: 'sent today' },
  failedToday: { zh: '今日失败', en: 'failed today' },
  setup: { zh: '在管家助理中设置', en: 'Set up 管家助理' },
  setupSteps: {
    zh: '打开管家助理 → 短信设置 → 发送方式选「自定义」→ 在接口地址中粘贴下面任一地址 → 填写用户名和密码（配置文件中的 [[account]]）→ 点击「测试」，应显示成功。',
    en: 'Open 管家助理 → SMS settings → sending method 「自定义」 (custom) → paste one of the URLs below as the interface URL → enter the user name and password (an [[account]] of the config file) → press 「测试」 (test): it must succeed.',
  },
  lastRequests: { zh: '最近来自管家助理的请求', en: 'Latest requests from 管家助理' },
  none: { zh: '还没有收到请求。如果管家助理提示连接失败，请检查：电脑和本机在同一网络、地址和端口正确、防火墙未拦截。', en: 'No request yet. If 管家助理 cannot connect: check that the PC and this box are on the same network, the address and port are right, and no firewall blocks it.' },
  defaultsWarning: {
    zh: '仍在使用默认密码（管理密码或演示账号 aaaa/bbbb）。请在配置文件中修改 [admin] password 和 [[account]]。',
    en: 'Default passwords are in use (admin password or the demo account aaaa/bbbb). Change [admin] password and [[account]] in the config file.',
  },
  time: { zh: '时间', en: 'Time' },
  client: { zh: '来源', en: 'Client' },
  msg: { zh: '类型', en: 'Type' },
  user: { zh: '用户', en: 'User' },
  reply: { zh: '应答', en: 'Reply' },
  version: { zh: '版本', en: 'Version' },
  uptime: { zh: '运行时间', en: 'Uptime' },
} as const;

export function renderHome(status: StatusSnapshot, config: Config, recent: readonly WdgjRequestRecord[], lang: Lang): string {
  const t = (key: keyof typeof T) => T[key][lang];
  const tz = config.schedule.timezone;
  const usesDefaults =
    config.admin.password === DEFAULT_ADMIN_PASSWORD ||
    config.accounts.some((a) => a.user === DEMO_ACCOUNT.user && a.password === DEMO_ACCOUNT.password);
  const waiting = status.queue.waiting;
  const verdict = status.modem.hard_fault
    ? `${h(t('verdictFault'))}: ${h(status.modem.hard_fault)}`
    : waiting === 'clock-not-set'
      ? h(t('verdictClock'))
      : waiting === 'modem-not-ready' || status.modem.state !== 'ready'
        ? h(t('verdictStarting'))
        : waiting === 'window-closed'
          ? h(t('verdictWindow'))
          : h(t('verdictSending'));
  const waitingLine = status.queue.waiting && status.queue.waiting !== 'idle'
    ? `<p>${h(lang === 'zh' ? status.queue.waiting_text : status.queue.waiting_text_en)}${status.queue.waiting_detail ? `: ${h(status.queue.waiting_detail)}` : ''}</p>`
    : '';
  const uncertainLine = status.queue.uncertain > 0 ? `<p class="warn">${h(t('uncertainWarning').replace('{n}', String(status.queue.uncertain)))}</p>` : '';
  const windowLine = status.window.open
    ? t('windowOpen')
    : t('windowClosed').replace('{t}', status.window.next_open ? isoInZone(Date.parse(status.window.next_open), tz).slice(0, 16).replace('T', ' ') : '');
  const rows = recent
    .slice(0, 10)
    .map(
      (r) =>
        `<tr><td>${h(isoInZone(r.at, tz).slice(0, 19).replace('T', ' '))}</td><td>${h(r.client)}</td><td>${h(r.msg)}</td><td>${h(r.user)}</td><td>${h(r.reply)}${r.reason ? ` (${h(r.reason)})` : ''}</td></tr>`,
    )
    .join('');
  return `<!doctype html>
<html lang="${lang === 'zh' ? 'zh-CN' : 'en'}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${h(t('title'))}</title>
<style>
body{font-family:system-ui,"Microsoft YaHei","PingFang SC",sans-serif;margin:0 auto;max-width:52rem;padding:1rem;color:#222}
.banner{background:#b00020;color:#fff;padding:.6rem 1rem;font-weight:bold;border-radius:.3rem}
.warn{background:#fff3cd;padding:.6rem 1rem;border-radius:.3rem}
.verdict{font-size:1.6rem;margin:1rem 0}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3rem;text-align:left}
code{background:#f3f3f3;padding:.1rem .3rem;user-select:all}
nav{float:right}
</style></head><body>
<nav><a href="?lang=zh">中文</a> · <a href="?lang=en">English</a></nav>
<h1>${h(t('title'))}</h1>
${status.modem.simulated ? `<p class="banner">${h(t('simulated'))}</p>` : ''}
${usesDefaults ? `<p class="warn">${h(t('defaultsWarning'))}</p>` : ''}
<p class="verdict">${verdict}</p>
${waitingLine}
${uncertainLine}
<p>${h(windowLine)}</p>
<h2>${h(t('queue'))}</h2>
<p>${h(t('queued'))}: ${status.queue.queued} · ${h(t('uncertain'))}: ${status.queue.uncertain} · ${h(t('sentToday'))}: ${status.queue.sent_today} · ${h(t('failedToday'))}: ${status.queue.failed_today}</p>
<h2>${h(t('setup'))}</h2>
<p>${h(t('setupSteps'))}</p>
<ul>${lanUrls(config.http.port).map((u) => `<li><code>${h(u)}</code></li>`).join('')}</ul>
<h2>${h(t('lastRequests'))}</h2>
${rows ? `<table><tr><th>${h(t('time'))}</th><th>${h(t('client'))}</th><th>${h(t('msg'))}</th><th>${h(t('user'))}</th><th>${h(t('reply'))}</th></tr>${rows}</table>` : `<p>${h(t('none'))}</p>`}
<p><small>${h(t('version'))} ${h(status.version)} · ${h(t('uptime'))} ${status.uptime_s}s</small></p>
</body></html>`;
}
