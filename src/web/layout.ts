import { randomBytes } from 'node:crypto';
import { escapeHtml as h } from './html.js';
import { CSRF_FIELD } from './session.js';

/**
 * The frame of every page: one inline style sheet and no external files, so
 * the pages work on a shop LAN without internet. Chinese first; `?lang=en`
 * (remembered in a cookie) switches to English.
 */

export type Lang = 'zh' | 'en';

export interface PageContext {
  lang: Lang;
  /** The logged-in session's CSRF token; null when not logged in. */
  csrf: string | null;
  /** The current path, for the active navigation entry. */
  path: string;
  flash?: { kind: 'ok' | 'error'; text: string } | null;
  simulated?: boolean;
  /** A mistake in the config file, shown on every page until it is fixed. */
  configError?: { file: string; line: number | null; message: string; message_en: string; using: 'last-good' | 'defaults' } | null;
}

/** zh / en pair chosen by the page's language. */
export const tr = (lang: Lang, zh: string, en: string): string => (lang === 'zh' ? zh : en);

const NAV: [string, string, string][] = [
  ['/', '概览', 'Overview'],
  ['/setup', '管家助理设置', 'Setup'],
  ['/messages', '短信', 'Messages'],
  ['/inbox', '收件箱', 'Inbox'],
  ['/optouts', '退订', 'Opt-outs'],
  ['/charts', '图表', 'Charts'],
  ['/settings', '设置', 'Settings'],
];

const STYLE = `
*{box-sizing:border-box}
body{font-family:system-ui,"Microsoft YaHei","PingFang SC","Noto Sans CJK SC",sans-serif;margin:0;color:#1f2328;background:#f6f8fa;line-height:1.5}
header{background:#24292f;color:#fff;padding:.5rem 1rem;display:flex;flex-wrap:wrap;align-items:center;gap:.4rem 1rem}
header a{color:#d0d7de;text-decoration:none;padding:.2rem .4rem;border-radius:.3rem;white-space:nowrap}
header a.active,header a:hover{background:#57606a;color:#fff}
header .brand{font-weight:bold;color:#fff;margin-right:.5rem}
header .right{margin-left:auto;display:flex;gap:.5rem;align-items:center}
header form{margin:0}
header button{background:none;border:1px solid #8c959f;color:#d0d7de;border-radius:.3rem;padding:.1rem .5rem;cursor:pointer}
main{max-width:64rem;margin:0 auto;padding:1rem}
section,.card{background:#fff;border:1px solid #d0d7de;border-radius:.5rem;padding:.8rem 1rem;margin:0 0 1rem}
h1{font-size:1.4rem;margin:.2rem 0 1rem}h2{font-size:1.1rem;margin:.2rem 0 .6rem}
.banner{background:#b00020;color:#fff;padding:.6rem 1rem;font-weight:bold;border-radius:.4rem;margin-bottom:1rem}
.warn{background:#fff3cd;border:1px solid #e6c96a;padding:.6rem 1rem;border-radius:.4rem;margin-bottom:1rem}
.flash-ok{background:#dafbe1;border:1px solid #4ac26b;padding:.5rem 1rem;border-radius:.4rem;margin-bottom:1rem}
.flash-error{background:#ffebe9;border:1px solid #ff8182;padding:.5rem 1rem;border-radius:.4rem;margin-bottom:1rem}
.verdict{font-size:1.7rem;font-weight:bold;padding:.8rem 1rem;border-radius:.5rem;margin-bottom:1rem}
.verdict.ok{background:#dafbe1;color:#116329}.verdict.wait{background:#fff8c5;color:#7d4e00}.verdict.fault{background:#ffebe9;color:#a40e26}
.verdict small{display:block;font-size:1rem;font-weight:normal}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(14rem,1fr));gap:1rem}
.kv{display:grid;grid-template-columns:auto 1fr;gap:.2rem .8rem}.kv dt{color:#57606a}.kv dd{margin:0}
.big{font-size:1.6rem;font-weight:bold}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #d8dee4;padding:.35rem .4rem;text-align:left;vertical-align:top}
th{background:#f6f8fa;font-weight:600;white-space:nowrap}
td.text,td.notice{max-width:28rem;min-width:8rem;word-break:break-all;white-space:pre-wrap}td.notice{color:#57606a}td.time{white-space:nowrap}
tr.conversation-head th{background:#eaeef2;white-space:normal}tr.in td.text{font-weight:500}
code{background:#eff1f3;padding:.1rem .3rem;border-radius:.2rem;user-select:all;word-break:break-all}
input,select,textarea,button{font:inherit}
input[type=text],input[type=password],input[type=search],input[type=number],select,textarea{padding:.3rem .4rem;border:1px solid #d0d7de;border-radius:.3rem;max-width:100%}
textarea{width:100%}
button,.button{background:#1f883d;color:#fff;border:0;border-radius:.3rem;padding:.35rem .8rem;cursor:pointer;text-decoration:none;display:inline-block}
button.secondary,.button.secondary{background:#eaeef2;color:#24292f;border:1px solid #d0d7de}
button.danger{background:#cf222e}
form.inline{display:inline}
.row{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin:.3rem 0}
label{display:block;margin:.4rem 0 .1rem;color:#57606a}
.status{display:inline-block;padding:0 .4rem;border-radius:1rem;font-size:.85rem;background:#eaeef2;white-space:nowrap}
.status.sent,.status.delivered{background:#dafbe1;color:#116329}.status.failed{background:#ffebe9;color:#a40e26}
.status.uncertain{background:#fff8c5;color:#7d4e00}.status.queued,.status.sending{background:#ddf4ff;color:#0550ae}
.bars{display:inline-flex;gap:2px;align-items:flex-end;height:1.1rem;vertical-align:middle}.bars i{display:block;width:.35rem;background:#d0d7de}.bars i.on{background:#1f883d}
.leds{display:flex;gap:1rem;flex-wrap:wrap}.led{display:flex;align-items:center;gap:.3rem}.led i{width:.9rem;height:.9rem;border-radius:50%;background:#d0d7de;display:inline-block;border:1px solid #8c959f}.led i.on{background:#2da44e}.led i.on.fault{background:#cf222e}.led i.blink{animation:blink 1s steps(2) infinite}@keyframes blink{50%{opacity:.15}}
.muted{color:#57606a}small{color:#57606a}
svg.chart{width:100%;height:auto;background:#fff}
@media (max-width:40rem){.table-wrap table:not(.cards){min-width:34rem}
table.cards,table.cards tbody,table.cards tr,table.cards td{display:block;width:auto}table.cards tr:first-child{display:none}
table.cards tr{border-bottom:1px solid #d8dee4;padding:.4rem 0}table.cards td{display:inline-block;border:0;padding:.1rem .6rem .1rem .2rem;max-width:none}table.cards td.text,table.cards td.notice{display:block}table.cards tr.conversation-head{display:block}table.cards td.time{color:#57606a;font-size:.9rem}.verdict{font-size:1.3rem}main{padding:.6rem}header .right{margin-left:0}}
`;

export function csrfField(ctx: PageContext): string {
  return ctx.csrf ? `<input type="hidden" name="${CSRF_FIELD}" value="${h(ctx.csrf)}">` : '';
}

export function layout(ctx: PageContext, title: string, body: string, script = ''): string {
  const { lang } = ctx;
  const nav = NAV.map(([href, zh, en]) => {
    const active = href === '/' ? ctx.path === '/' : ctx.path.startsWith(href);
    return `<a href="${href}"${active ? ' class="active"' : ''}>${h(tr(lang, zh, en))}</a>`;
  }).join('');
  const other = lang === 'zh' ? `<a href="?lang=en">English</a>` : `<a href="?lang=zh">中文</a>`;
  const account = ctx.csrf
    ? `<form method="post" action="/logout">${csrfField(ctx)}<button type="submit">${h(tr(lang, '退出登录', 'Log out'))}</button></form>`
    : `<a href="/login">${h(tr(lang, '登录', 'Log in'))}</a>`;
  const flash = ctx.flash ? `<p class="flash-${ctx.flash.kind}" role="status">${h(ctx.flash.text)}</p>` : '';
  return `<!doctype html>
<html lang="${lang === 'zh' ? 'zh-CN' : 'en'}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${ctx.csrf ? `<meta name="csrf-token" content="${h(ctx.csrf)}">` : ''}
<title>${h(title)} · ${h(tr(lang, '短信网关', 'SMS gateway'))}</title>
<style>${STYLE}</style></head><body>
<header><span class="brand">${h(tr(lang, '短信网关', 'SMS gateway'))}</span><nav>${nav}</nav><span class="right">${other}${account}</span></header>
<main>
${ctx.simulated ? `<p class="banner">${h(tr(lang, '模拟模式：没有接短信模块，短信不会真的发出。', 'Simulator mode: no modem hardware, no SMS leaves this box.'))}</p>` : ''}
${ctx.configError ? `<p class="banner" data-config-error>${h(tr(lang,
    `配置文件有误：${ctx.configError.file}${ctx.configError.line ? ` 第 ${ctx.configError.line} 行` : ''}：${ctx.configError.message}。本机暂时使用${ctx.configError.using === 'last-good' ? '上次正确的配置' : '出厂设置'}运行；请用记事本改正后重新启动（拔电再插上）。`,
    `Config file error: ${ctx.configError.file}${ctx.configError.line ? ` line ${ctx.configError.line}` : ''}: ${ctx.configError.message_en} The box runs on ${ctx.configError.using === 'last-good' ? 'the last good config' : 'the built-in defaults'} meanwhile; fix the file and restart the box (unplug and plug in).`))}</p>` : ''}
${flash}
<h1>${h(title)}</h1>
${body}
</main>
${script ? `<script nonce="${randomBytes(16).toString('base64')}">${script}</script>` : ''}
</body></html>`;
}

/** Formats epoch ms in the box's time zone as "YYYY-MM-DD HH:MM:SS". */
export function localTime(ms: number | null, timeZone: string): string {
  if (ms === null) return '';
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' }).formatToParts(new Date(ms));
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}:${get('second')}`;
}

export function signalBars(bars: number | null): string {
  const n = bars ?? 0;
  return `<span class="bars" aria-label="${n}/5">${[1, 2, 3, 4, 5].map((i) => `<i class="${i <= n ? 'on' : ''}" style="height:${20 * i}%"></i>`).join('')}</span>`;
}
