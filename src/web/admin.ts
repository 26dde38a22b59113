import type http from 'node:http';
import type polka from 'polka';
import { ConfigError, type Config } from '../config/config.js';
import { saveConfigEdits, type ConfigEdit } from '../config/write.js';
import { formatYuan, parseYuan } from '../money.js';
import { displayNumber, normalizeNumber } from '../protocol/numbers.js';
import { decodeText } from '../protocol/request.js';
import { MESSAGE_STATUSES, type MessageRow, type MessageStatus } from '../store/store.js';
import { barChart, lineChart } from './charts.js';
import { escapeHtml as h } from './html.js';
import { csrfField, layout, localTime, tr, type Lang, type PageContext } from './layout.js';
import { renderRequestsFragment, renderSetup } from './pages.js';
import { decodeParam, pathOf, queryOf, readBody, readForm, redirect, sendHtml, type Req, type Res } from './http.js';
import type { WebDeps } from './server.js';
import { CSRF_FIELD, type Session } from './session.js';

/**
 * The admin pages: server-rendered HTML forms that post back and redirect
 * (POST-redirect-GET), with the outcome carried as a one-time flash in the
 * session. Every value that came from a customer, 管家助理 or the config is
 * escaped with `h` where it is written into the page.
 */

export interface AdminHelpers {
  lang(req: Req, res: Res): Lang;
  /** The session of a logged-in browser, or null (then it redirected to /login). */
  requirePage(req: Req, res: Res): Session | null;
  /** For form posts: the session when logged in and the CSRF field matches; answers itself otherwise. */
  requireForm(req: Req, res: Res): Promise<{ session: Session; form: URLSearchParams } | null>;
  sessionOf(req: Req): Session | null;
  flash(session: Session, kind: 'ok' | 'error', text: string): void;
  takeFlash(session: Session | null): PageContext['flash'];
  /** Logs every other browser out (the admin password changed). */
  resetSessions(keep: Session): void;
}

const STATUS_TEXT: Record<MessageStatus, [string, string]> = {
  queued: ['排队中', 'queued'],
  sending: ['发送中', 'sending'],
  sent: ['已发送', 'sent'],
  delivered: ['已送达', 'delivered'],
  failed: ['失败', 'failed'],
  suppressed: ['已退订未发', 'suppressed'],
  uncertain: ['待确认', 'uncertain'],
};

function statusBadge(status: MessageStatus, lang: Lang): string {
  const [zh, en] = STATUS_TEXT[status] ?? [status, status];
  return `<span class="status ${h(status)}" data-status="${h(status)}">${h(tr(lang, zh, en))}</span>`;
}

function decisionButtons(m: MessageRow, ctx: PageContext): string {
  if (m.status === 'failed' && m.kind === 'wdgj') {
    return `<form class="inline" method="post" action="/messages/${m.id}/again">${csrfField(ctx)}<button type="submit">${h(tr(ctx.lang, '再发一次', 'Send again'))}</button></form>`;
  }
  if (m.status !== 'uncertain') return '';
  return `<form class="inline" method="post" action="/messages/${m.id}/resend">${csrfField(ctx)}<button type="submit">${h(tr(ctx.lang, '重发', 'Resend'))}</button></form>
<form class="inline" method="post" action="/messages/${m.id}/fail">${csrfField(ctx)}<button type="submit" class="danger">${h(tr(ctx.lang, '标记失败', 'Mark failed'))}</button></form>`;
}

export function registerAdmin(app: polka.Polka, deps: WebDeps, helpers: AdminHelpers): void {
  const ctxOf = (req: Req, res: Res, session: Session | null): PageContext => ({
    lang: helpers.lang(req, res),
    csrf: session?.csrf ?? null,
    path: pathOf(req),
    flash: helpers.takeFlash(session),
    simulated: deps.status.snapshot().modem.simulated,
    configError: deps.status.snapshot().config_error,
  });
  const query = (req: Req) => queryOf(req);
  const tz = () => deps.config().schedule.timezone;

  // ---- setup ------------------------------------------------------------------
  app.get('/setup', (req: Req, res: Res) => {
    const session = helpers.sessionOf(req);
    sendHtml(res, 200, renderSetup(ctxOf(req, res, session), deps.config(), deps.status.recentWdgj()));
  });
  app.get('/setup/requests', (req: Req, res: Res) => {
    sendHtml(res, 200, renderRequestsFragment(deps.status.recentWdgj(), deps.config(), helpers.lang(req, res)));
  });

  // ---- messages ---------------------------------------------------------------
  app.get('/messages', (req: Req, res: Res) => {
    const session = helpers.requirePage(req, res);
    if (!session) return;
    const ctx = ctxOf(req, res, session);
    const { lang } = ctx;
    const q = query(req);
    const search = (q.get('q') ?? '').trim().slice(0, 100);
    const statusParam = q.get('status') ?? '';
    const status = (MESSAGE_STATUSES as readonly string[]).includes(statusParam) ? (statusParam as MessageStatus) : undefined;
    const before = q.get('before');
    const pageSize = 50;
    const rows = deps.store.searchMessages({
      limit: pageSize + 1,
      ...(search ? { q: search } : {}),
      ...(status ? { status } : {}),
      ...(before && /^\d+$/.test(before) ? { beforeId: Number(before) } : {}),
    });
    const more = rows.length > pageSize;
    const shown = rows.slice(0, pageSize);
    const table = shown.map((m) => `<tr data-id="${m.id}"><td><a href="/messages/${m.id}">${m.id}</a></td><td class="time">${h(localTime(m.createdAt, tz()))}</td><td>${h(displayNumber(m.to))}</td>
<td class="text">${h(m.body)}</td><td>${statusBadge(m.status, lang)}${m.lastError ? `<br><small>${h(m.lastError)}</small>` : ''}</td><td>${h(m.account)}</td><td>${decisionButtons(m, ctx)}</td></tr>`).join('');
    const nextLink = more ? `<a class="button secondary" href="/messages?${new URLSearchParams({ ...(search ? { q: search } : {}), ...(status ? { status } : {}), before: String(shown[shown.length - 1]!.id) })}">${h(tr(lang, '更早 →', 'Older →'))}</a>` : '';
    const accounts = deps.config().accounts;
    const body = `
<section><h2>${h(tr(lang, '测试发送', 'Test send'))}</h2>
<form method="post" action="/messages/test" class="row">${csrfField(ctx)}
<input type="text" name="to" placeholder="${h(tr(lang, '手机号码', 'mobile number'))}" required aria-label="${h(tr(lang, '手机号码', 'mobile number'))}">
<input type="text" name="text" value="${h(tr(lang, '测试短信', 'Test message'))}" required aria-label="${h(tr(lang, '内容', 'text'))}" style="flex:1;min-width:10rem">
<select name="account" aria-label="${h(tr(lang, '账号', 'account'))}">${accounts.map((a) => `<option>${h(a.user)}</option>`).join('')}</select>
<button type="submit">${h(tr(lang, '发送', 'Send'))}</button></form>
<p><small>${h(tr(lang, '和管家助理走同一条路径（smsSnd），按所选账号计费。', 'Goes the same way as 管家助理 (smsSnd) and is charged to the chosen account.'))}</small></p></section>
<form method="get" action="/messages" class="row"><input type="search" name="q" value="${h(search)}" placeholder="${h(tr(lang, '按号码或内容搜索', 'search number or text'))}" aria-label="search">
<select name="status" aria-label="status"><option value="">${h(tr(lang, '全部状态', 'all statuses'))}</option>${MESSAGE_STATUSES.map((s) => `<option value="${s}"${s === status ? ' selected' : ''}>${h(tr(lang, STATUS_TEXT[s][0], STATUS_TEXT[s][1]))}</option>`).join('')}</select>
<button type="submit" class="secondary">${h(tr(lang, '搜索', 'Search'))}</button></form>
<section class="table-wrap"><table id="messages" class="cards"><tr><th>#</th><th>${h(tr(lang, '时间', 'Time'))}</th><th>${h(tr(lang, '号码', 'Number'))}</th><th>${h(tr(lang, '内容', 'Text'))}</th><th>${h(tr(lang, '状态', 'Status'))}</th><th>${h(tr(lang, '账号', 'Account'))}</th><th></th></tr>
${table || `<tr><td colspan="7" class="muted">${h(tr(lang, '没有短信', 'no messages'))}</td></tr>`}</table></section>${nextLink}`;
    sendHtml(res, 200, layout(ctx, tr(lang, '短信', 'Messages'), body));
  });

  app.post('/messages/test', async (req: Req, res: Res) => {
    const got = await helpers.requireForm(req, res);
    if (!got) return;
    const { session, form } = got;
    const lang = helpers.lang(req, res);
    const account = deps.config().accounts.find((a) => a.user === form.get('account')) ?? deps.config().accounts[0];
    if (!account) {
      helpers.flash(session, 'error', tr(lang, '没有账号，请先在设置中添加账号', 'no account; add one in Settings first'));
      return redirect(res, '/messages');
    }
    const params = new Map<string, string>([['msg', 'smsSnd'], ['user', account.user], ['pwd', account.password], ['tel', form.get('to') ?? ''], ['body', form.get('text') ?? '']]);
    const reply = await deps.wdgj.answer(params, 'admin-test');
    const ok = reply.trim() === '1';
    helpers.flash(session, ok ? 'ok' : 'error', ok
      ? tr(lang, '测试短信已排队', 'test message queued')
      : tr(lang, `未能排队（应答 ${reply}），原因见“最近的请求”和事件`, `not queued (reply ${reply}); see the latest requests and events`));
    redirect(res, '/messages');
  });

  app.get('/messages/:id', (req: Req, res: Res) => {
    const session = helpers.requirePage(req, res);
    if (!session) return;
    const ctx = ctxOf(req, res, session);
    const { lang } = ctx;
    const id = Number(req.params['id']);
    const m = Number.isSafeInteger(id) ? deps.store.getMessage(id) : null;
    if (!m) return sendHtml(res, 404, layout(ctx, tr(lang, '没有这条短信', 'No such message'), `<p><a href="/messages">←</a></p>`));
    const attempts = deps.store.listAttempts(m.id).map((a) => `<tr><td>${a.id}</td><td class="time">${h(localTime(a.startedAt, tz()))}</td><td class="time">${h(localTime(a.finishedAt, tz()))}</td><td>${h(a.outcome ?? '')}</td><td>${a.segmentsSent}</td><td>${h(a.error ?? '')}</td></tr>`).join('');
    const body = `<p><a href="/messages">← ${h(tr(lang, '返回', 'Back'))}</a></p>
<section><dl class="kv">
<dt>#</dt><dd>${m.id}</dd><dt>${h(tr(lang, '号码', 'Number'))}</dt><dd>${h(displayNumber(m.to))}</dd>
<dt>${h(tr(lang, '内容', 'Text'))}</dt><dd class="text" id="body">${h(m.body)}</dd>
<dt>${h(tr(lang, '状态', 'Status'))}</dt><dd>${statusBadge(m.status, lang)} ${decisionButtons(m, ctx)}</dd>
<dt>${h(tr(lang, '错误', 'Error'))}</dt><dd>${h(m.lastError ?? '—')}</dd>
<dt>${h(tr(lang, '条数', 'Segments'))}</dt><dd>${m.segments} (${h(m.encoding)})</dd>
<dt>${h(tr(lang, '费用', 'Charge'))}</dt><dd>${h(formatYuan(m.chargeLi))}</dd>
<dt>${h(tr(lang, '账号', 'Account'))}</dt><dd>${h(m.account)}</dd>
<dt>${h(tr(lang, '收到', 'Received'))}</dt><dd>${h(localTime(m.createdAt, tz()))}</dd>
<dt>${h(tr(lang, '发出', 'Sent'))}</dt><dd>${h(localTime(m.sentAt, tz()) || '—')}</dd>
<dt>${h(tr(lang, '送达', 'Delivered'))}</dt><dd>${h(localTime(m.deliveredAt, tz()) || '—')}</dd>
</dl></section>
<section class="table-wrap"><h2>${h(tr(lang, '发送尝试', 'Attempts'))}</h2><table><tr><th>#</th><th>${h(tr(lang, '开始', 'Started'))}</th><th>${h(tr(lang, '结束', 'Finished'))}</th><th>${h(tr(lang, '结果', 'Outcome'))}</th><th>${h(tr(lang, '已发条数', 'Segments sent'))}</th><th>${h(tr(lang, '错误', 'Error'))}</th></tr>${attempts}</table></section>`;
    sendHtml(res, 200, layout(ctx, `${tr(lang, '短信', 'Message')} #${m.id}`, body));
  });

  for (const action of ['resend', 'fail'] as const) {
    app.post(`/messages/:id/${action}`, async (req: Req, res: Res) => {
      const got = await helpers.requireForm(req, res);
      if (!got) return;
      const lang = helpers.lang(req, res);
      const id = Number(req.params['id']);
      const now = deps.clock.now();
      if (Number.isSafeInteger(id) && deps.store.resolveUncertain(id, action, now)) {
        deps.store.addEvent(now, 'info', `message-${action}`,
          action === 'resend' ? `第 ${id} 号短信已重新排队` : `第 ${id} 号短信已标记失败并退款`,
          action === 'resend' ? `message ${id} queued again` : `message ${id} marked failed and refunded`, { messageId: id });
        if (action === 'resend') deps.onQueued?.();
        helpers.flash(got.session, 'ok', action === 'resend' ? tr(lang, `第 ${id} 号短信已重新排队`, `message ${id} queued again`) : tr(lang, `第 ${id} 号短信已标记失败并退款`, `message ${id} marked failed and refunded`));
      } else {
        helpers.flash(got.session, 'error', tr(lang, '只有“待确认”的短信可以重发或标记失败', 'only uncertain messages can be resent or marked failed'));
      }
      redirect(res, `/messages/${Number.isSafeInteger(id) ? id : ''}`);
    });
  }

  // A failed message stays failed (it was refunded); "send again" queues a new one with
  // the same number and text through smsSnd, charged to the same account like a new send.
  app.post('/messages/:id/again', async (req: Req, res: Res) => {
    const got = await helpers.requireForm(req, res);
    if (!got) return;
    const lang = helpers.lang(req, res);
    const id = Number(req.params['id']);
    const m = Number.isSafeInteger(id) ? deps.store.getMessage(id) : null;
    const account = m ? deps.config().accounts.find((a) => a.user === m.account) : undefined;
    if (!m || m.status !== 'failed' || m.kind !== 'wdgj' || !account) {
      helpers.flash(got.session, 'error', tr(lang, '只有失败的、账号仍在配置中的短信可以再发一次', 'only failed messages of an account still in the config can be sent again'));
      return redirect(res, `/messages/${Number.isSafeInteger(id) ? id : ''}`);
    }
    const newest = deps.store.listMessages({ limit: 1 })[0]?.id ?? 0;
    const reply = await deps.wdgj.answer(new Map([['msg', 'smsSnd'], ['user', account.user], ['pwd', account.password], ['tel', m.to], ['body', m.body]]), 'admin-again');
    const queued = deps.store.listMessages({ limit: 1 })[0];
    if (reply.trim() === '1' && queued && queued.id > newest) {
      helpers.flash(got.session, 'ok', tr(lang, `已作为第 ${queued.id} 号短信重新排队`, `queued again as message ${queued.id}`));
      return redirect(res, `/messages/${queued.id}`);
    }
    helpers.flash(got.session, 'error', reply.trim() === '1'
      ? tr(lang, `同样的短信在 ${deps.config().sms.duplicateWindowMinutes} 分钟内已提交过，被当作重复请求；请稍后再试`, `the same message was submitted less than ${deps.config().sms.duplicateWindowMinutes} minutes ago and counts as a retry; try again later`)
      : tr(lang, `未能排队（应答 ${reply}）`, `not queued (reply ${reply})`));
    redirect(res, `/messages/${id}`);
  });

  // ---- inbox ------------------------------------------------------------------
  app.get('/inbox', (req: Req, res: Res) => {
    const session = helpers.requirePage(req, res);
    if (!session) return;
    const ctx = ctxOf(req, res, session);
    const { lang } = ctx;
    const q = query(req);
    const search = (q.get('q') ?? '').trim().slice(0, 100);
    const before = q.get('before');
    const rows = deps.store.listInbox({ limit: 51, ...(search ? { q: search } : {}), ...(before && /^\d+$/.test(before) ? { beforeId: Number(before) } : {}) });
    const shown = rows.slice(0, 50);
    const ACTIONS: Record<string, [string, string]> = { optout: ['退订', 'opted out'], resubscribe: ['恢复订阅', 'resubscribed'], forwarded: ['已转发', 'forwarded'], incomplete: ['不完整', 'incomplete'] };
    const table = shown.map((m) => {
      const act = m.action ? (ACTIONS[m.action] ?? [m.action, m.action]) : null;
      return `<tr><td class="time">${h(localTime(m.receivedAt, tz()))}</td><td>${h(displayNumber(m.from))}</td><td class="text">${h(m.text)}</td><td>${act ? h(tr(lang, act[0], act[1])) : ''}${m.complete ? '' : ` <small>(${m.partsReceived}/${m.partsTotal})</small>`}</td></tr>`;
    }).join('');
    const body = `<form method="get" action="/inbox" class="row"><input type="search" name="q" value="${h(search)}" placeholder="${h(tr(lang, '按号码或内容搜索', 'search number or text'))}" aria-label="search"><button class="secondary" type="submit">${h(tr(lang, '搜索', 'Search'))}</button></form>
<section class="table-wrap"><table id="inbox" class="cards"><tr><th>${h(tr(lang, '收到', 'Received'))}</th><th>${h(tr(lang, '号码', 'From'))}</th><th>${h(tr(lang, '内容', 'Text'))}</th><th>${h(tr(lang, '处理', 'Action'))}</th></tr>
${table || `<tr><td colspan="4" class="muted">${h(tr(lang, '没有收到短信', 'no messages received'))}</td></tr>`}</table></section>
${rows.length > 50 ? `<a class="button secondary" href="/inbox?${new URLSearchParams({ ...(search ? { q: search } : {}), before: String(shown[shown.length - 1]!.id) })}">${h(tr(lang, '更早 →', 'Older →'))}</a>` : ''}`;
    sendHtml(res, 200, layout(ctx, tr(lang, '收件箱', 'Inbox'), body));
  });

  // ---- opt-outs ---------------------------------------------------------------
  app.get('/optouts', (req: Req, res: Res) => {
    const session = helpers.requirePage(req, res);
    if (!session) return;
    const ctx = ctxOf(req, res, session);
    const { lang } = ctx;
    const search = (query(req).get('q') ?? '').trim().slice(0, 100);
    const SHOWN = 500;
    const rows = deps.store.listOptOuts({ limit: SHOWN, ...(search ? { q: search } : {}) });
    const total = deps.store.countOptOuts();
    // The page shows the newest; search finds any number, and the CSV export has them all.
    const summary = search
      ? ''
      : `<p class="muted" id="optout-count">${h(total > rows.length
        ? tr(lang, `共 ${total} 个号码，这里显示最新的 ${rows.length} 个；查找其他号码请用搜索，全部名单请导出 CSV。`, `${total} numbers; the newest ${rows.length} are shown. Search for any other number, or export the CSV for all of them.`)
        : tr(lang, `共 ${total} 个号码`, `${total} numbers`))}</p>`;
    const SOURCES: Record<string, [string, string]> = { sms: ['顾客回复', 'customer reply'], admin: ['管理员', 'admin'], import: ['导入', 'import'] };
    const table = rows.map((o) => `<tr><td>${h(displayNumber(o.number))}</td><td class="time">${h(localTime(o.createdAt, tz()))}</td><td>${h(tr(lang, ...(SOURCES[o.source] ?? [o.source, o.source])))}</td><td class="text">${h(o.reason)}</td>
<td><form class="inline" method="post" action="/optouts/remove">${csrfField(ctx)}<input type="hidden" name="number" value="${h(o.number)}"><button type="submit" class="secondary">${h(tr(lang, '移除', 'Remove'))}</button></form></td></tr>`).join('');
    const body = `<div class="grid">
<section><h2>${h(tr(lang, '添加', 'Add'))}</h2><form method="post" action="/optouts/add">${csrfField(ctx)}
<label>${h(tr(lang, '号码', 'Number'))}<br><input type="text" name="number" required></label><label>${h(tr(lang, '原因', 'Reason'))}<br><input type="text" name="reason"></label>
<p><button type="submit">${h(tr(lang, '添加', 'Add'))}</button></p></form></section>
<section><h2>${h(tr(lang, '导入 / 导出 CSV', 'CSV import / export'))}</h2><form method="post" action="/optouts/import">${csrfField(ctx)}
<label>${h(tr(lang, '选择 CSV 文件或粘贴号码（每行一个）', 'Choose a CSV file or paste numbers (one a line)'))}</label><input type="file" accept=".csv,.txt,text/csv" id="csvfile"><textarea name="csv" rows="4" id="csvtext"></textarea>
<p><button type="submit">${h(tr(lang, '导入', 'Import'))}</button> <a class="button secondary" href="/api/optouts.csv">${h(tr(lang, '导出 CSV', 'Export CSV'))}</a></p></form></section></div>
<form method="get" action="/optouts" class="row"><input type="search" name="q" value="${h(search)}" placeholder="${h(tr(lang, '搜索号码', 'search number'))}" aria-label="search"><button class="secondary" type="submit">${h(tr(lang, '搜索', 'Search'))}</button></form>
${summary}<section class="table-wrap"><table id="optouts" class="cards"><tr><th>${h(tr(lang, '号码', 'Number'))}</th><th>${h(tr(lang, '时间', 'Time'))}</th><th>${h(tr(lang, '来源', 'Source'))}</th><th>${h(tr(lang, '原因', 'Reason'))}</th><th></th></tr>
${table || `<tr><td colspan="5" class="muted">${h(tr(lang, '退订名单为空', 'the opt-out list is empty'))}</td></tr>`}</table></section>`;
    const script = `document.getElementById('csvfile').addEventListener('change',function(e){var f=e.target.files[0];if(!f)return;var r=new FileReader();r.onload=function(){document.getElementById('csvtext').value=r.result};r.readAsText(f)});`;
    sendHtml(res, 200, layout(ctx, tr(lang, '退订名单', 'Opt-outs'), body, script));
  });

  app.post('/optouts/add', async (req: Req, res: Res) => {
    const got = await helpers.requireForm(req, res);
    if (!got) return;
    const lang = helpers.lang(req, res);
    const number = normalizeNumber(got.form.get('number') ?? '', true);
    if (!number) {
      helpers.flash(got.session, 'error', tr(lang, '号码无效，例如 13800138000', 'invalid number, e.g. 13800138000'));
    } else {
      const now = deps.clock.now();
      if (deps.store.addOptOut(number, 'admin', (got.form.get('reason') ?? '').slice(0, 200), now)) {
        deps.store.addEvent(now, 'info', 'optout-admin', `管理员把 ${displayNumber(number)} 加入退订名单`, `admin added ${displayNumber(number)} to the opt-out list`);
      }
      helpers.flash(got.session, 'ok', tr(lang, `${displayNumber(number)} 已在退订名单中`, `${displayNumber(number)} is on the opt-out list`));
    }
    redirect(res, '/optouts');
  });

  app.post('/optouts/remove', async (req: Req, res: Res) => {
    const got = await helpers.requireForm(req, res);
    if (!got) return;
    const lang = helpers.lang(req, res);
    const number = normalizeNumber(got.form.get('number') ?? '', true);
    if (number && deps.store.removeOptOut(number)) {
      deps.store.addEvent(deps.clock.now(), 'info', 'optout-removed', `管理员把 ${displayNumber(number)} 移出退订名单`, `admin removed ${displayNumber(number)} from the opt-out list`);
      helpers.flash(got.session, 'ok', tr(lang, `${displayNumber(number)} 已移出退订名单`, `${displayNumber(number)} removed from the opt-out list`));
    } else helpers.flash(got.session, 'error', tr(lang, '该号码不在退订名单中', 'that number is not on the opt-out list'));
    redirect(res, '/optouts');
  });

  app.post('/optouts/import', async (req: Req, res: Res) => {
    const got = await helpers.requireForm(req, res);
    if (!got) return;
    const lang = helpers.lang(req, res);
    const now = deps.clock.now();
    let added = 0;
    let invalid = 0;
    deps.store.transaction(() => {
      for (const line of decodeText(Buffer.from(got.form.get('csv') ?? '', 'utf8')).replace(/^\uFEFF/, '').split(/\r\n|\n|\r/)) {
        const first = line.split(/[,，;\t]/)[0]!.replace(/^"|"$/g, '').trim();
        if (first === '' || /^number$|^号码$|^手机/i.test(first)) continue;
        const number = normalizeNumber(first, true);
        if (!number) invalid++;
        else if (deps.store.addOptOut(number, 'import', 'CSV import', now)) added++;
      }
    });
    deps.store.addEvent(now, 'info', 'optout-import', `导入退订名单：新增 ${added} 个，无效 ${invalid} 个`, `opt-out import: ${added} added, ${invalid} invalid`);
    helpers.flash(got.session, invalid ? 'error' : 'ok', tr(lang, `新增 ${added} 个，无效 ${invalid} 个`, `${added} added, ${invalid} invalid`));
    redirect(res, '/optouts');
  });

  // ---- charts -----------------------------------------------------------------
  app.get('/charts', (req: Req, res: Res) => {
    const session = helpers.requirePage(req, res);
    if (!session) return;
    const ctx = ctxOf(req, res, session);
    const { lang } = ctx;
    const now = deps.clock.now();
    const firstHour = Math.floor(now / 3600_000) - 7 * 24 + 1;
    const counts = new Map(deps.store.hourlyCounts(firstHour * 3600_000).map((c) => [c.hour, c]));
    const buckets = Array.from({ length: 7 * 24 }, (_, i) => {
      const hour = firstHour + i;
      const c = counts.get(hour);
      return { label: localTime(hour * 3600_000, tz()).slice(5, 13).replace(' ', ' ') + 'h', sent: c?.sent ?? 0, failed: c?.failed ?? 0 };
    });
    const signal = deps.store.signalSamples(now - 24 * 3600_000).map((s) => ({ x: s.at, y: s.csq === null || s.csq === 99 ? null : s.csq }));
    const body = `<section><h2>${h(tr(lang, '每小时短信数（7 天，绿色已发，红色失败）', 'Messages per hour (7 days; green sent, red failed)'))}</h2>${barChart(buckets, { title: tr(lang, '每小时', 'per hour') })}</section>
<section><h2>${h(tr(lang, '信号（24 小时）', 'Signal (24 hours)'))}</h2>${lineChart(signal, { yMax: 31, title: 'CSQ 0–31', xLabel: (x) => localTime(x, tz()).slice(11, 16) })}</section>`;
    sendHtml(res, 200, layout(ctx, tr(lang, '图表', 'Charts'), body));
  });

  // ---- settings ---------------------------------------------------------------
  app.get('/settings', (req: Req, res: Res) => {
    const session = helpers.requirePage(req, res);
    if (!session) return;
    const ctx = ctxOf(req, res, session);
    sendHtml(res, 200, renderSettings(ctx, deps.config(), deps));
  });

  app.get('/settings/ledger/:user', (req: Req, res: Res) => {
    const session = helpers.requirePage(req, res);
    if (!session) return;
    const ctx = ctxOf(req, res, session);
    const { lang } = ctx;
    const user = decodeParam(req.params['user']) ?? '';
    const rows = deps.store.getAccount(user) ? deps.store.ledger(user, 200) : [];
    const table = rows.map((l) => `<tr><td class="time">${h(localTime(l.at, tz()))}</td><td>${h(l.kind)}</td><td>${h(formatYuan(l.amountLi))}</td><td>${h(l.balanceAfterLi === null ? '∞' : formatYuan(l.balanceAfterLi))}</td><td>${h(l.note)}</td></tr>`).join('');
    sendHtml(res, 200, layout(ctx, `${tr(lang, '账目', 'Ledger')}: ${user}`, `<p><a href="/settings">← ${h(tr(lang, '返回', 'Back'))}</a></p>
<section class="table-wrap"><table><tr><th>${h(tr(lang, '时间', 'Time'))}</th><th>${h(tr(lang, '类型', 'Kind'))}</th><th>${h(tr(lang, '金额', 'Amount'))}</th><th>${h(tr(lang, '余额', 'Balance'))}</th><th>${h(tr(lang, '备注', 'Note'))}</th></tr>${table}</table></section>`));
  });

  app.post('/settings/topup', async (req: Req, res: Res) => {
    const got = await helpers.requireForm(req, res);
    if (!got) return;
    const lang = helpers.lang(req, res);
    const user = got.form.get('user') ?? '';
    const li = parseYuan(got.form.get('amount') ?? '');
    const account = deps.store.getAccount(user);
    if (!account || li === null || li <= 0 || li > 1_000_000_000) {
      helpers.flash(got.session, 'error', tr(lang, '金额应为大于 0 的数（元），最多三位小数', 'the amount must be a positive number of yuan, at most 3 decimals'));
    } else if (account.balanceLi === null) {
      helpers.flash(got.session, 'error', tr(lang, `账号 ${user} 不限余额，无需充值`, `account ${user} has an unlimited balance`));
    } else {
      const now = deps.clock.now();
      deps.store.topUp(user, li, now, 'admin page top-up');
      deps.store.addEvent(now, 'info', 'topup', `账号 ${user} 充值 ${formatYuan(li)} 元`, `account ${user} topped up by ${formatYuan(li)} yuan`);
      helpers.flash(got.session, 'ok', tr(lang, `账号 ${user} 已充值 ${formatYuan(li)} 元`, `account ${user} topped up by ${formatYuan(li)} yuan`));
    }
    redirect(res, '/settings#accounts');
  });

  /** Every settings form: edits → file → parseConfig → applyConfig, or the config error as the flash. */
  const saveSettings = (path: string, build: (form: URLSearchParams, config: Config, lang: Lang) => ConfigEdit[] | string, after?: (session: Session) => void) => {
    app.post(path, async (req: Req, res: Res) => {
      const got = await helpers.requireForm(req, res);
      if (!got) return;
      const lang = helpers.lang(req, res);
      const config = deps.config();
      if (!config.file) {
        helpers.flash(got.session, 'error', tr(lang, '本机正在使用内置默认设置，没有配置文件可写：请用 smsbox serve --config 文件 启动。', 'the box runs on built-in defaults and has no config file to write: start it with smsbox serve --config FILE.'));
        return redirect(res, '/settings');
      }
      const edits = build(got.form, config, lang);
      if (typeof edits === 'string') {
        helpers.flash(got.session, 'error', edits);
        return redirect(res, '/settings');
      }
      try {
        const next = saveConfigEdits(config.file, edits);
        deps.applyConfig?.(next);
        helpers.flash(got.session, 'ok', tr(lang, '已保存并生效', 'saved and applied'));
        after?.(got.session);
      } catch (err) {
        const text = err instanceof ConfigError ? (lang === 'zh' ? err.zh : err.en) : String(err);
        helpers.flash(got.session, 'error', tr(lang, `未保存：${text}`, `not saved: ${text}`));
      }
      redirect(res, '/settings');
    });
  };

  const int = (form: URLSearchParams, name: string): number => {
    const v = (form.get(name) ?? '').trim();
    return /^\d+$/.test(v) ? Number(v) : Number.NaN;
  };
  saveSettings('/settings/schedule', (form, _c, lang) => {
    const limits = ['max_per_minute', 'max_per_hour', 'max_per_day'].map((k) => [k, int(form, k)] as const);
    const bad = limits.find(([, v]) => Number.isNaN(v));
    if (bad) return tr(lang, `${bad[0]} 应为整数（0 表示不限）`, `${bad[0]} must be a whole number (0 = no limit)`);
    return [
      { section: 'schedule', key: 'quiet_hours', value: (form.get('quiet_hours') ?? '').trim() },
      ...limits.map(([key, value]) => ({ section: 'schedule', key, value })),
    ];
  });
  const list = (text: string | null) => (text ?? '').split(/[,，\n\r]+/).map((s) => s.trim()).filter(Boolean);
  saveSettings('/settings/optout', (form) => [
    { section: 'optout', key: 'keywords', value: list(form.get('keywords')) },
    { section: 'optout', key: 'footer', value: form.get('footer') ?? '' },
    { section: 'optout', key: 'confirmation', value: form.get('confirmation') ?? '' },
  ]);
  saveSettings('/settings/admin', (form, _c, lang) => {
    const pw = form.get('password') ?? '';
    if (pw.length < 6) return tr(lang, '新密码至少 6 个字符', 'the new password needs at least 6 characters');
    if (pw !== form.get('confirm')) return tr(lang, '两次输入的密码不一致', 'the two passwords differ');
    return [{ section: 'admin', key: 'password', value: pw }];
  }, (session) => helpers.resetSessions(session));
  saveSettings('/settings/account/add', (form, config, lang) => {
    const user = (form.get('user') ?? '').trim();
    const password = form.get('password') ?? '';
    if (!user || !password) return tr(lang, '请填写用户名和密码', 'enter a user name and a password');
    if (config.accounts.some((a) => a.user === user)) return tr(lang, `账号 ${user} 已存在`, `account ${user} exists already`);
    const balance = (form.get('balance') ?? '').trim();
    if (balance !== '' && parseYuan(balance) === null) return tr(lang, '余额应为金额（元），留空表示不限', 'the balance must be an amount in yuan; empty = unlimited');
    return [{ addAccount: { user, password, ...(balance ? { balance } : {}), ignoreQuietHours: form.get('ignore_quiet_hours') === 'on' } }];
  });
  saveSettings('/settings/account/password', (form, config, lang) => {
    const index = config.accounts.findIndex((a) => a.user === form.get('user'));
    const pw = form.get('password') ?? '';
    if (index === -1) return tr(lang, '没有这个账号', 'no such account');
    if (!pw) return tr(lang, '请填写新密码', 'enter the new password');
    return [{ section: 'account', key: 'password', value: pw, index }];
  });
}

function renderSettings(ctx: PageContext, config: Config, deps: WebDeps): string {
  const { lang } = ctx;
  const noFile = !config.file;
  const disabled = noFile ? ' disabled' : '';
  const note = noFile
    ? `<p class="warn">${h(tr(lang, '本机正在使用内置默认设置（没有配置文件），这里的设置无法保存。请复制 README 中的配置示例为 smsbox.toml，并用 smsbox serve --config smsbox.toml 启动（SD 卡镜像会自动使用启动分区上的 smsbox.toml）。', 'The box runs on built-in defaults (no config file), so settings cannot be saved here. Copy the example config from the README to smsbox.toml and start with smsbox serve --config smsbox.toml (the SD-card image uses smsbox.toml on the boot partition).'))}</p>`
    : `<p class="muted">${h(tr(lang, `设置保存在 ${config.file}，保留其中的注释，保存后立即生效。`, `Settings are saved to ${config.file}, keeping its comments, and apply at once.`))}</p>`;
  const s = config.schedule;
  const accounts = deps.store.listAccounts().filter((a) => config.accounts.some((c) => c.user === a.user));
  const accountRows = accounts.map((a) => `<tr><td>${h(a.user)}</td><td>${h(a.balanceLi === null ? tr(lang, '不限', 'unlimited') : formatYuan(a.balanceLi))}</td>
<td>${a.balanceLi === null ? '' : `<form class="inline row" method="post" action="/settings/topup">${csrfField(ctx)}<input type="hidden" name="user" value="${h(a.user)}"><input type="text" name="amount" size="6" placeholder="50" aria-label="amount"><button type="submit">${h(tr(lang, '充值', 'Top up'))}</button></form>`}</td>
<td><form class="inline row" method="post" action="/settings/account/password">${csrfField(ctx)}<input type="hidden" name="user" value="${h(a.user)}"><input type="password" name="password" size="8" aria-label="password" autocomplete="new-password"${disabled}><button type="submit" class="secondary"${disabled}>${h(tr(lang, '改密码', 'Set password'))}</button></form></td>
<td><a href="/settings/ledger/${encodeURIComponent(a.user)}">${h(tr(lang, '账目', 'Ledger'))}</a></td></tr>`).join('');
  const body = `${note}
<div class="grid">
<section><h2>${h(tr(lang, '发送时段和限额', 'Sending window and limits'))}</h2><form method="post" action="/settings/schedule">${csrfField(ctx)}
<label>${h(tr(lang, '免打扰时段（例如 21:00-09:00，留空表示不限）', 'Quiet hours (e.g. 21:00-09:00; empty = none)'))}<br><input type="text" name="quiet_hours" value="${h(s.quietHoursText)}"${disabled}></label>
<label>${h(tr(lang, '每分钟最多（0 不限）', 'Max per minute (0 = no limit)'))}<br><input type="number" min="0" name="max_per_minute" value="${s.maxPerMinute}"${disabled}></label>
<label>${h(tr(lang, '每小时最多', 'Max per hour'))}<br><input type="number" min="0" name="max_per_hour" value="${s.maxPerHour}"${disabled}></label>
<label>${h(tr(lang, '每天最多', 'Max per day'))}<br><input type="number" min="0" name="max_per_day" value="${s.maxPerDay}"${disabled}></label>
<p><button type="submit"${disabled}>${h(tr(lang, '保存', 'Save'))}</button></p></form></section>
<section><h2>${h(tr(lang, '退订', 'Opt-out'))}</h2><form method="post" action="/settings/optout">${csrfField(ctx)}
<label>${h(tr(lang, '退订关键词（逗号分隔）', 'Opt-out keywords (comma separated)'))}<br><input type="text" name="keywords" value="${h(config.optout.keywords.join(', '))}" style="width:100%"${disabled}></label>
<label>${h(tr(lang, '短信尾注（例如 “回T退订”，计入字数）', 'Footer (e.g. "回T退订"; counts towards the length)'))}<br><input type="text" name="footer" value="${h(config.optout.footer)}" maxlength="70"${disabled}></label>
<label>${h(tr(lang, '退订确认短信（留空不发）', 'Opt-out confirmation SMS (empty = none)'))}<br><input type="text" name="confirmation" value="${h(config.optout.confirmation)}" style="width:100%"${disabled}></label>
<p><button type="submit"${disabled}>${h(tr(lang, '保存', 'Save'))}</button></p></form></section>
<section><h2>${h(tr(lang, '管理密码', 'Admin password'))}</h2><form method="post" action="/settings/admin">${csrfField(ctx)}
<label>${h(tr(lang, '新密码', 'New password'))}<br><input type="password" name="password" autocomplete="new-password"${disabled}></label>
<label>${h(tr(lang, '再输入一次', 'Repeat'))}<br><input type="password" name="confirm" autocomplete="new-password"${disabled}></label>
<p><button type="submit"${disabled}>${h(tr(lang, '修改', 'Change'))}</button></p></form></section>
</div>
<section id="accounts"><h2>${h(tr(lang, '账号', 'Accounts'))}</h2><div class="table-wrap"><table class="cards" id="accounts-table"><tr><th>${h(tr(lang, '用户名', 'User'))}</th><th>${h(tr(lang, '余额（元）', 'Balance (yuan)'))}</th><th></th><th></th><th></th></tr>${accountRows}</table></div>
<h2>${h(tr(lang, '添加账号', 'Add an account'))}</h2><form method="post" action="/settings/account/add" class="row">${csrfField(ctx)}
<input type="text" name="user" placeholder="${h(tr(lang, '用户名', 'user'))}" aria-label="user"${disabled}><input type="password" name="password" placeholder="${h(tr(lang, '密码', 'password'))}" aria-label="password" autocomplete="new-password"${disabled}>
<input type="text" name="balance" placeholder="${h(tr(lang, '余额（留空不限）', 'balance (empty = unlimited)'))}" aria-label="balance"${disabled}>
<label style="margin:0"><input type="checkbox" name="ignore_quiet_hours"${disabled}> ${h(tr(lang, '免打扰时段也发送', 'send in quiet hours too'))}</label>
<button type="submit"${disabled}>${h(tr(lang, '添加', 'Add'))}</button></form></section>`;
  return layout(ctx, tr(lang, '设置', 'Settings'), body);
}

export { CSRF_FIELD };
