import type polka from 'polka';
import { DEFAULT_NOTIFY_EVENTS, EVENT_NAMES, NOTIFY_CHANNEL_KINDS, NOTIFY_EVENT_KINDS, type ChannelListing, type NotifyChannelKind, type TestResult } from '../operations/index.js';
import type { Auth } from './auth.js';
import type { WebDeps } from './context.js';
import { escapeHtml as h } from './html.js';
import { decodeParam, langOf, redirect, type Req, type Res } from './http.js';
import { csrfField, localTime, tr, type Lang, type PageContext } from './layout.js';

/**
 * The settings page's notification channels (设置 → 通知渠道, issue 18): the
 * list with each channel's last delivery, 发送测试 with the platform's own
 * answer, add (a `[[notify]]` block written to the config file) and remove.
 * The JSON API (`GET /api/notify`, `POST /api/notify/:id/test`) calls the same
 * operations.
 */

const KIND_NAMES: Record<NotifyChannelKind, [string, string]> = {
  wecom: ['企业微信群机器人', 'WeCom group robot'],
  dingtalk: ['钉钉群机器人', 'DingTalk group robot'],
  feishu: ['飞书群机器人', 'Feishu group robot'],
  webhook: ['Webhook（自己的服务器）', 'Webhook (your own server)'],
  sms: ['短信到店主手机', "SMS to the owner's mobile"],
};

/** How each platform names the fields of its answer. */
const ANSWER_FIELDS: Partial<Record<NotifyChannelKind, [string, string]>> = {
  dingtalk: ['errcode', 'errmsg'],
  wecom: ['errcode', 'errmsg'],
  feishu: ['code', 'msg'],
};

/** The platform's answer as the owner reads it: `HTTP 200 · errcode 310000 · errmsg sign not match`. */
export function answerText(kind: NotifyChannelKind, r: Pick<TestResult, 'status' | 'code' | 'message' | 'body'>, lang: Lang): string {
  // No answer at all (refused connection, timeout): the error says it.
  if (r.status === null && r.code === null) return r.message || tr(lang, '没有应答', 'no answer');
  const [code, message] = ANSWER_FIELDS[kind] ?? ['code', 'message'];
  const parts = [r.status !== null ? `HTTP ${r.status}` : '', r.code !== null ? `${code} ${r.code}` : '', r.message ? `${message} ${r.message}` : ''];
  if (r.code === null && r.body && kind === 'webhook') parts.push(r.body.slice(0, 200));
  return parts.filter(Boolean).join(' · ') || tr(lang, '没有应答', 'no answer');
}

export function renderNotifySection(ctx: PageContext, channels: readonly ChannelListing[], writable: boolean, timeZone: string): string {
  const { lang } = ctx;
  const disabled = writable ? '' : ' disabled';
  const events = (list: readonly string[]) => list.map((e) => tr(lang, ...(EVENT_NAMES[e as keyof typeof EVENT_NAMES] ?? [e, e]))).join(tr(lang, '、', ', '));
  const last = (c: ChannelListing) => {
    if (!c.last) return `<span class="muted">${h(tr(lang, '尚未发送', 'nothing sent yet'))}</span>`;
    const answer = c.last.answer && typeof c.last.answer === 'object' ? (c.last.answer as Partial<TestResult>) : null;
    const detail = answer ? answerText(c.kind, { status: answer.status ?? null, code: answer.code ?? null, message: answer.message ?? '', body: answer.body ?? '' }, lang) : (c.last.error ?? '');
    return `<span class="status ${c.last.ok ? 'sent' : 'failed'}">${h(c.last.ok ? tr(lang, '成功', 'ok') : tr(lang, '失败', 'failed'))}</span> <span class="time">${h(localTime(c.last.at, timeZone))}</span>`
      + `${c.last.kind === 'test' ? ` <small>${h(tr(lang, '（测试）', '(test)'))}</small>` : ''}<br><small>${h(c.last.ok ? detail : (c.last.error ?? detail))}</small>`;
  };
  const rows = channels.map((c) => `<tr data-channel="${h(c.id)}"><td>${h(tr(lang, ...KIND_NAMES[c.kind]))}${c.signed ? ` <small>${h(tr(lang, '（签名）', '(signed)'))}</small>` : ''}<br><small class="target">${h(c.target)}</small></td>
<td>${h(events(c.events))}</td><td>${last(c)}${c.pending ? `<br><small>${h(tr(lang, `${c.pending} 条等待重试`, `${c.pending} waiting to retry`))}</small>` : ''}${c.failed ? `<br><small>${h(tr(lang, `${c.failed} 条已放弃`, `${c.failed} given up`))}</small>` : ''}</td>
<td><form class="inline" method="post" action="/settings/notify/${h(c.id)}/test">${csrfField(ctx)}<button type="submit" class="secondary">${h(tr(lang, '发送测试', 'Send test'))}</button></form>
<form class="inline" method="post" action="/settings/notify/${h(c.id)}/remove">${csrfField(ctx)}<button type="submit" class="danger"${disabled}>${h(tr(lang, '删除', 'Remove'))}</button></form></td></tr>`).join('');
  const checkboxes = NOTIFY_EVENT_KINDS.map((e) => `<label style="display:inline-block;margin-right:.8rem"><input type="checkbox" name="events" value="${e}"${DEFAULT_NOTIFY_EVENTS.includes(e) ? ' checked' : ''}${disabled}> ${h(tr(lang, ...EVENT_NAMES[e]))}</label>`).join('');
  return `<section id="notify"><h2>${h(tr(lang, '通知渠道', 'Notification channels'))}</h2>
<p class="muted">${h(tr(lang, '故障、恢复、发送停滞、每日汇总等推送到企业微信、钉钉、飞书群机器人，自己的服务器，或短信到店主手机。每个渠道是配置文件里的一段 [[notify]]。', 'Faults, recoveries, a stuck queue, the daily summary … go to WeCom, DingTalk or Feishu group robots, your own server, or an SMS to the owner. Each channel is a [[notify]] block of the config file.'))}</p>
<div class="table-wrap"><table class="cards" id="notify-channels"><tr><th>${h(tr(lang, '渠道', 'Channel'))}</th><th>${h(tr(lang, '通知的事件', 'Events'))}</th><th>${h(tr(lang, '最近一次发送', 'Last delivery'))}</th><th></th></tr>
${rows || `<tr><td colspan="4" class="muted">${h(tr(lang, '还没有通知渠道', 'no channel yet'))}</td></tr>`}</table></div>
<h2>${h(tr(lang, '添加通知渠道', 'Add a channel'))}</h2><form method="post" action="/settings/notify/add" id="notify-add">${csrfField(ctx)}
<label>${h(tr(lang, '类型', 'Kind'))}<br><select name="kind"${disabled}>${NOTIFY_CHANNEL_KINDS.map((k) => `<option value="${k}">${h(tr(lang, ...KIND_NAMES[k]))}</option>`).join('')}</select></label>
<label>${h(tr(lang, '机器人或服务器的 Webhook 地址（短信不填）', "The robot's or server's webhook URL (not for SMS)"))}<br><input type="text" name="url" style="width:100%" placeholder="https://oapi.dingtalk.com/robot/send?access_token=…"${disabled}></label>
<label>${h(tr(lang, '店主手机号（仅短信）', "The owner's mobile (SMS only)"))}<br><input type="text" name="to" placeholder="13800138000"${disabled}></label>
<label>${h(tr(lang, '密钥（钉钉“加签”、飞书“签名校验”、Webhook 签名；没有就不填）', 'Secret (DingTalk 加签, Feishu signature check, webhook signature; empty if none)'))}<br><input type="text" name="secret" style="width:100%" autocomplete="off"${disabled}></label>
<p>${h(tr(lang, '通知这些事件：', 'Tell about:'))}<br>${checkboxes}</p>
<p><button type="submit"${disabled}>${h(tr(lang, '添加', 'Add'))}</button></p></form></section>`;
}

export function registerNotifySettings(app: polka.Polka, deps: WebDeps, helpers: Auth): void {
  const { ops } = deps;

  app.post('/settings/notify/add', async (req: Req, res: Res) => {
    const got = await helpers.requireForm(req, res);
    if (!got) return;
    const lang = langOf(req, res);
    const { form } = got;
    const added = ops.notify.add({ kind: form.get('kind') ?? '', url: form.get('url'), to: form.get('to'), secret: form.get('secret'), events: form.getAll('events') });
    if (added.ok) helpers.flash(got.session, 'ok', tr(lang, '通知渠道已添加并生效；可以点“发送测试”试一下', 'channel added and in force; try "Send test"'));
    else helpers.flashRefusal(got.session, lang, added);
    redirect(res, '/settings#notify');
  });

  app.post('/settings/notify/:id/test', async (req: Req, res: Res) => {
    const got = await helpers.requireForm(req, res);
    if (!got) return;
    const lang = langOf(req, res);
    const id = decodeParam(req.params['id']) ?? '';
    const kind = ops.notify.list().find((c) => c.id === id)?.kind;
    const tested = await ops.notify.test(id);
    if (!tested.ok) helpers.flashRefusal(got.session, lang, tested);
    else {
      const r = tested.value;
      const answer = kind === 'sms' ? r.message : answerText(kind ?? 'webhook', r, lang);
      helpers.flash(got.session, r.ok ? 'ok' : 'error', r.ok
        ? tr(lang, `发送测试成功，平台应答：${answer}`, `test sent; the platform answered: ${answer}`)
        : tr(lang, `发送测试失败，平台应答：${answer}`, `test failed; the platform answered: ${answer}`));
    }
    redirect(res, '/settings#notify');
  });

  app.post('/settings/notify/:id/remove', async (req: Req, res: Res) => {
    const got = await helpers.requireForm(req, res);
    if (!got) return;
    const lang = langOf(req, res);
    const removed = ops.notify.remove(decodeParam(req.params['id']) ?? '');
    if (removed.ok) helpers.flash(got.session, 'ok', tr(lang, '通知渠道已删除', 'channel removed'));
    else helpers.flashRefusal(got.session, lang, removed);
    redirect(res, '/settings#notify');
  });
}
