import type polka from 'polka';
import type { Config } from '../config/config.js';
import { formatYuan } from '../money.js';
import { MESSAGE_STATUSES, type AccountRow, type MessageRow, type MessageStatus, type Outcome, type SelftestJson } from '../operations/index.js';
import type { StatusSnapshot } from '../status/status.js';
import { displayNumber } from '../protocol/numbers.js';
import type { Auth } from './auth.js';
import { renderBackupSection } from './backup.js';
import { barChart, lineChart } from './charts.js';
import type { WebDeps } from './context.js';
import { escapeHtml as h } from './html.js';
import { decodeParam, langOf, pathOf, queryOf, redirect, sendHtml, type Req, type Res } from './http.js';
import { csrfField, layout, localTime, tr, type Lang, type PageContext } from './layout.js';
import { renderNotifySection } from './notify-settings.js';
import { renderUpdateSection } from './update.js';
import { renderRequestsFragment, renderSetup } from './pages.js';
import type { Session } from './session.js';

/**
 * The admin pages: server-rendered HTML forms that post back and redirect
 * (POST-redirect-GET), with the outcome carried as a one-time flash in the
 * session. Each form calls the operation the JSON API calls for the same
 * action; only the rendering differs. Every value that came from a customer,
 * 管家助理 or the config is escaped with `h` where it is written into the page.
 */

const STATUS_TEXT: Record<MessageStatus, [string, string]> = {
  queued: ['排队中', 'queued'],
  sending: ['发送中', 'sending'],
  sent: ['已发送', 'sent'],
  delivered: ['已送达', 'delivered'],
  failed: ['失败', 'failed'],
  suppressed: ['已退订未发', 'suppressed'],
  uncertain: ['待确认', 'uncertain'],
};

export function statusBadge(status: MessageStatus, lang: Lang): string {
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

/** The page context of an admin page: language, session token, flash, the banners every page shows. */
export function pageContextOf(deps: WebDeps, helpers: Auth): (req: Req, res: Res, session: Session | null) => PageContext {
  return (req, res, session) => {
    const snapshot = deps.status.snapshot();
    return {
      lang: langOf(req, res),
      csrf: session?.csrf ?? null,
      path: pathOf(req),
      flash: helpers.takeFlash(session),
      simulated: snapshot.modem.simulated,
      configError: snapshot.config_error,
    };
  };
}

export function registerAdmin(app: polka.Polka, deps: WebDeps, helpers: Auth): void {
  const { ops } = deps;
  const ctxOf = pageContextOf(deps, helpers);
  const query = (req: Req) => queryOf(req);
  const tz = () => deps.config().schedule.timezone;

  // ---- setup ------------------------------------------------------------------
  app.get('/setup', (req: Req, res: Res) => {
    const session = helpers.sessionOf(req);
    sendHtml(res, 200, renderSetup(ctxOf(req, res, session), deps.config(), deps.status.recentWdgj(), deps.status.snapshot().host));
  });
  app.get('/setup/requests', (req: Req, res: Res) => {
    sendHtml(res, 200, renderRequestsFragment(deps.status.recentWdgj(), deps.config(), langOf(req, res), helpers.sessionOf(req) !== null));
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
    const rows = ops.messages.search({
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
    const lang = langOf(req, res);
    const sent = await ops.messages.testSend({ user: got.form.get('account'), to: got.form.get('to') ?? '', text: got.form.get('text') ?? '' });
    if (sent.ok) helpers.flash(got.session, 'ok', tr(lang, '测试短信已排队', 'test message queued'));
    else helpers.flashRefusal(got.session, lang, sent);
    redirect(res, '/messages');
  });

  app.get('/messages/:id', (req: Req, res: Res) => {
    const session = helpers.requirePage(req, res);
    if (!session) return;
    const ctx = ctxOf(req, res, session);
    const { lang } = ctx;
    const details = ops.messages.details(req.params['id'] ?? '');
    if (!details.ok) return sendHtml(res, 404, layout(ctx, tr(lang, '没有这条短信', 'No such message'), `<p><a href="/messages">←</a></p>`));
    const { message: m, retries } = details.value;
    // A client that retried (a timeout on its side) sent this request again: merged, not queued twice.
    const retried = retries.length === 0 ? '' : `<section id="retries"><h2>${h(tr(lang, '客户端重试', 'Client retries'))}</h2>
<p>${h(tr(lang, `管家助理又提交了 ${retries.length} 次同样的请求（第 ${m.requestId} 号请求）。它们被识别为重试并入这条短信，没有重复排队、没有重复扣费。`,
    `管家助理 sent the same request (request #${m.requestId}) ${retries.length} more time(s). They were recognised as retries and merged into this message: not queued or charged twice.`))}</p>
<table><tr><th>${h(tr(lang, '时间', 'Time'))}</th><th>${h(tr(lang, '来源', 'Client'))}</th></tr>${retries.map((r) => `<tr><td class="time">${h(localTime(r.at, tz()))}</td><td>${h(r.client ?? '—')}</td></tr>`).join('')}</table></section>`;
    const attempts = details.value.attempts.map((a) => `<tr><td>${a.id}</td><td class="time">${h(localTime(a.startedAt, tz()))}</td><td class="time">${h(localTime(a.finishedAt, tz()))}</td><td>${h(a.outcome ?? '')}</td><td>${a.segmentsSent}</td><td>${h(a.error ?? '')}</td></tr>`).join('');
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
${retried}
<section class="table-wrap"><h2>${h(tr(lang, '发送尝试', 'Attempts'))}</h2><table><tr><th>#</th><th>${h(tr(lang, '开始', 'Started'))}</th><th>${h(tr(lang, '结束', 'Finished'))}</th><th>${h(tr(lang, '结果', 'Outcome'))}</th><th>${h(tr(lang, '已发条数', 'Segments sent'))}</th><th>${h(tr(lang, '错误', 'Error'))}</th></tr>${attempts}</table></section>`;
    sendHtml(res, 200, layout(ctx, `${tr(lang, '短信', 'Message')} #${m.id}`, body));
  });

  for (const action of ['resend', 'fail'] as const) {
    app.post(`/messages/:id/${action}`, async (req: Req, res: Res) => {
      const got = await helpers.requireForm(req, res);
      if (!got) return;
      const lang = langOf(req, res);
      const resolved = ops.messages.resolveUncertain(req.params['id'] ?? '', action);
      if (resolved.ok) {
        const id = resolved.value.id;
        helpers.flash(got.session, 'ok', action === 'resend' ? tr(lang, `第 ${id} 号短信已重新排队`, `message ${id} queued again`) : tr(lang, `第 ${id} 号短信已标记失败并退款`, `message ${id} marked failed and refunded`));
      } else helpers.flashRefusal(got.session, lang, resolved);
      redirect(res, messagePath(req.params['id']));
    });
  }

  // A failed message stays failed (it was refunded); "send again" queues a new one with
  // the same number and text, charged to the same account like a new send.
  app.post('/messages/:id/again', async (req: Req, res: Res) => {
    const got = await helpers.requireForm(req, res);
    if (!got) return;
    const lang = langOf(req, res);
    const again = await ops.messages.sendAgain(req.params['id'] ?? '');
    if (!again.ok) {
      helpers.flashRefusal(got.session, lang, again);
      return redirect(res, messagePath(req.params['id']));
    }
    helpers.flash(got.session, 'ok', tr(lang, `已作为第 ${again.value.id} 号短信重新排队`, `queued again as message ${again.value.id}`));
    redirect(res, `/messages/${again.value.id}`);
  });

  // ---- opt-outs ---------------------------------------------------------------
  app.get('/optouts', (req: Req, res: Res) => {
    const session = helpers.requirePage(req, res);
    if (!session) return;
    const ctx = ctxOf(req, res, session);
    const { lang } = ctx;
    const search = (query(req).get('q') ?? '').trim().slice(0, 100);
    const SHOWN = 500;
    const rows = ops.optouts.list({ limit: SHOWN, ...(search ? { q: search } : {}) });
    const total = ops.optouts.count();
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
    const lang = langOf(req, res);
    const added = ops.optouts.add({ number: got.form.get('number') ?? '', reason: got.form.get('reason') });
    if (added.ok) {
      const shown = displayNumber(added.value.optout.number);
      helpers.flash(got.session, 'ok', tr(lang, `${shown} 已在退订名单中`, `${shown} is on the opt-out list`));
    } else helpers.flashRefusal(got.session, lang, added);
    redirect(res, '/optouts');
  });

  app.post('/optouts/remove', async (req: Req, res: Res) => {
    const got = await helpers.requireForm(req, res);
    if (!got) return;
    const lang = langOf(req, res);
    const removed = ops.optouts.remove({ number: got.form.get('number') ?? '' });
    if (removed.ok) {
      const shown = displayNumber(removed.value.number);
      helpers.flash(got.session, 'ok', tr(lang, `${shown} 已移出退订名单`, `${shown} removed from the opt-out list`));
    } else helpers.flashRefusal(got.session, lang, removed);
    redirect(res, '/optouts');
  });

  // A file chosen on the page is read into the text box by the page's script: one import for both.
  app.post('/optouts/import', async (req: Req, res: Res) => {
    const got = await helpers.requireForm(req, res);
    if (!got) return;
    const lang = langOf(req, res);
    const imported = ops.optouts.importCsv(got.form.get('csv') ?? '');
    if (imported.ok) {
      const { added, already, invalid } = imported.value;
      helpers.flash(got.session, invalid.length ? 'error' : 'ok', tr(lang,
        `新增 ${added} 个，已存在 ${already} 个，无效 ${invalid.length} 个${invalid.length ? `：${invalid.slice(0, 10).join('、')}${invalid.length > 10 ? '…' : ''}` : ''}`,
        `${added} added, ${already} already listed, ${invalid.length} invalid${invalid.length ? `: ${invalid.slice(0, 10).join(', ')}${invalid.length > 10 ? '…' : ''}` : ''}`));
    } else helpers.flashRefusal(got.session, lang, imported);
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
    const counts = new Map(ops.charts.hourlyCounts(firstHour * 3600_000).map((c) => [c.hour, c]));
    const buckets = Array.from({ length: 7 * 24 }, (_, i) => {
      const hour = firstHour + i;
      const c = counts.get(hour);
      return { label: localTime(hour * 3600_000, tz()).slice(5, 13).replace(' ', ' ') + 'h', sent: c?.sent ?? 0, failed: c?.failed ?? 0 };
    });
    const signal = ops.charts.signalSamples(now - 24 * 3600_000).map((s) => ({ x: s.at, y: s.csq === null || s.csq === 99 ? null : s.csq }));
    const body = `<section><h2>${h(tr(lang, '每小时短信数（7 天，绿色已发，红色失败）', 'Messages per hour (7 days; green sent, red failed)'))}</h2>${barChart(buckets, { title: tr(lang, '每小时', 'per hour') })}</section>
<section><h2>${h(tr(lang, '信号（24 小时）', 'Signal (24 hours)'))}</h2>${lineChart(signal, { yMax: 31, title: 'CSQ 0–31', xLabel: (x) => localTime(x, tz()).slice(11, 16) })}</section>`;
    sendHtml(res, 200, layout(ctx, tr(lang, '图表', 'Charts'), body));
  });

  // ---- settings ---------------------------------------------------------------
  app.get('/settings', (req: Req, res: Res) => {
    const session = helpers.requirePage(req, res);
    if (!session) return;
    const ctx = ctxOf(req, res, session);
    sendHtml(res, 200, renderSettings(ctx, deps.config(), ops.accounts.listConfigured(), renderSimSection(ctx, deps.status.snapshot().sim, ops.sim.latestSelftest(), tz()) + renderNotifySection(ctx, ops.notify.list(), ops.settings.writable, tz()),
      renderBackupSection(ctx, ops.backup.list(), tz()), renderUpdateSection(ctx, deps.update)));
  });

  // The SIM (issue 17): 发送自检短信 and 查询话费, the same operations as POST /api/selftest and /api/sim/balance.
  app.post('/selftest', async (req: Req, res: Res) => {
    const got = await helpers.requireForm(req, res);
    if (!got) return;
    const lang = langOf(req, res);
    const started = ops.sim.startSelftest();
    if (started.ok) {
      helpers.flash(got.session, 'ok', started.value.started
        ? tr(lang, '自检短信已排队发送，约 3 分钟内出结果，请稍后刷新本页', 'self-test SMS queued; the result comes within about 3 minutes: reload this page')
        : tr(lang, '自检正在进行中', 'a self-test is already running'));
    } else helpers.flashRefusal(got.session, lang, started);
    redirect(res, '/settings#sim');
  });

  app.post('/sim/balance', async (req: Req, res: Res) => {
    const got = await helpers.requireForm(req, res);
    if (!got) return;
    const lang = langOf(req, res);
    const asked = ops.sim.askBalance();
    if (asked.ok) helpers.flash(got.session, 'ok', tr(lang, `已发送“${asked.value.text}”到 ${asked.value.to}，收到运营商回复后显示余额`, `"${asked.value.text}" sent to ${asked.value.to}; the balance shows once the carrier replies`));
    else helpers.flashRefusal(got.session, lang, asked);
    redirect(res, '/settings#sim');
  });

  app.get('/settings/ledger/:user', (req: Req, res: Res) => {
    const session = helpers.requirePage(req, res);
    if (!session) return;
    const ctx = ctxOf(req, res, session);
    const { lang } = ctx;
    const user = decodeParam(req.params['user']) ?? '';
    const ledger = ops.accounts.ledger(user, 200);
    const rows = ledger.ok ? ledger.value : [];
    const table = rows.map((l) => `<tr><td class="time">${h(localTime(l.at, tz()))}</td><td>${h(l.kind)}</td><td>${h(formatYuan(l.amountLi))}</td><td>${h(l.balanceAfterLi === null ? '∞' : formatYuan(l.balanceAfterLi))}</td><td>${h(l.note)}</td></tr>`).join('');
    sendHtml(res, 200, layout(ctx, `${tr(lang, '账目', 'Ledger')}: ${user}`, `<p><a href="/settings">← ${h(tr(lang, '返回', 'Back'))}</a></p>
<section class="table-wrap"><table><tr><th>${h(tr(lang, '时间', 'Time'))}</th><th>${h(tr(lang, '类型', 'Kind'))}</th><th>${h(tr(lang, '金额', 'Amount'))}</th><th>${h(tr(lang, '余额', 'Balance'))}</th><th>${h(tr(lang, '备注', 'Note'))}</th></tr>${table}</table></section>`));
  });

  app.post('/settings/topup', async (req: Req, res: Res) => {
    const got = await helpers.requireForm(req, res);
    if (!got) return;
    const lang = langOf(req, res);
    const user = got.form.get('user') ?? '';
    const topped = ops.accounts.topUp({ user, amount: got.form.get('amount') ?? '', via: 'page' });
    if (topped.ok) {
      const amount = formatYuan(topped.value.amountLi);
      helpers.flash(got.session, 'ok', tr(lang, `账号 ${user} 已充值 ${amount} 元`, `account ${user} topped up by ${amount} yuan`));
    } else helpers.flashRefusal(got.session, lang, topped);
    redirect(res, '/settings#accounts');
  });

  /** Every settings form: the operation edits the file and applies it; the page shows the outcome. */
  const saveSettings = (path: string, save: (form: URLSearchParams) => Outcome<Config>, after?: (session: Session) => void) => {
    app.post(path, async (req: Req, res: Res) => {
      const got = await helpers.requireForm(req, res);
      if (!got) return;
      const lang = langOf(req, res);
      const saved = save(got.form);
      if (saved.ok) {
        helpers.flash(got.session, 'ok', tr(lang, '已保存并生效', 'saved and applied'));
        after?.(got.session);
      } else helpers.flashRefusal(got.session, lang, saved);
      redirect(res, '/settings');
    });
  };

  saveSettings('/settings/schedule', (form) => ops.settings.changeSchedule({
    quietHours: form.get('quiet_hours') ?? '',
    maxPerMinute: form.get('max_per_minute') ?? '',
    maxPerHour: form.get('max_per_hour') ?? '',
    maxPerDay: form.get('max_per_day') ?? '',
  }));
  saveSettings('/settings/optout', (form) => ops.settings.changeOptOutRules({
    keywords: form.get('keywords') ?? '',
    footer: form.get('footer') ?? '',
    confirmation: form.get('confirmation') ?? '',
  }));
  saveSettings('/settings/admin', (form) => ops.settings.changeAdminPassword({ password: form.get('password') ?? '', confirm: form.get('confirm') ?? '' }),
    (session) => helpers.resetSessions(session));
  saveSettings('/settings/account/add', (form) => ops.settings.addAccount({
    user: form.get('user') ?? '',
    password: form.get('password') ?? '',
    balance: form.get('balance'),
    ignoreQuietHours: form.get('ignore_quiet_hours') === 'on',
  }));
  saveSettings('/settings/account/password', (form) => ops.settings.changeAccountPassword({ user: form.get('user') ?? '', password: form.get('password') ?? '' }));
}

/** Back to a message's page after a decision on it (the id as it came, only when it is one). */
function messagePath(id: string | undefined): string {
  return `/messages/${id !== undefined && /^\d{1,15}$/.test(id) ? id : ''}`;
}

const CARRIER_TEXT: Record<string, [string, string]> = {
  'china-mobile': ['中国移动', 'China Mobile'],
  'china-unicom': ['中国联通', 'China Unicom'],
  'china-telecom': ['中国电信', 'China Telecom'],
  'china-broadnet': ['中国广电', 'China Broadnet'],
  unknown: ['未知', 'unknown'],
};

/** The SIM's carrier, credit and self-test, with the two buttons. */
function renderSimSection(ctx: PageContext, sim: StatusSnapshot['sim'], selftest: SelftestJson, tz: string): string {
  const { lang } = ctx;
  const carrier = CARRIER_TEXT[sim.carrier] ?? [sim.carrier, sim.carrier];
  const balance = sim.balance_yuan === null
    ? tr(lang, '尚未查询到', 'not known yet')
    : `${sim.balance_yuan.toFixed(2)} ${tr(lang, '元', 'yuan')}${sim.balance_at ? ` (${localTime(Date.parse(sim.balance_at), tz)})` : ''}${sim.low ? ` — ${tr(lang, '余额不足，请充值', 'low: top up')}` : ''}`;
  const stateText: Record<string, [string, string]> = { running: ['进行中', 'running'], ok: ['成功', 'passed'], failed: ['失败', 'failed'] };
  const test = selftest.state === null
    ? tr(lang, '尚未自检', 'never run')
    : `${tr(lang, ...(stateText[selftest.state] ?? [selftest.state, selftest.state]))}: ${lang === 'zh' ? selftest.message : selftest.message_en}`;
  return `<section id="sim"><h2>${h(tr(lang, 'SIM 卡', 'SIM card'))}</h2>
<p>${h(tr(lang, '运营商', 'Carrier'))}: <span id="sim-carrier">${h(tr(lang, carrier[0], carrier[1]))}</span> · ${h(tr(lang, '话费余额', 'Balance'))}: <span id="sim-balance">${h(balance)}</span></p>
<p>${h(tr(lang, '自检', 'Self-test'))}: <span id="selftest-state">${h(test)}</span></p>
<form class="inline" method="post" action="/selftest">${csrfField(ctx)}<button type="submit">${h(tr(lang, '发送自检短信', 'Send a self-test SMS'))}</button></form>
<form class="inline" method="post" action="/sim/balance">${csrfField(ctx)}<button type="submit" class="secondary">${h(tr(lang, '查询话费', 'Ask the balance'))}</button></form></section>
`;
}

function renderSettings(ctx: PageContext, config: Config, accounts: AccountRow[], notifySection: string, backupSection: { html: string; script: string }, updateSection: { html: string; script: string }): string {
  const { lang } = ctx;
  const noFile = !config.file;
  const disabled = noFile ? ' disabled' : '';
  const note = noFile
    ? `<p class="warn">${h(tr(lang, '本机正在使用内置默认设置（没有配置文件），这里的设置无法保存。请复制 README 中的配置示例为 smsbox.toml，并用 smsbox serve --config smsbox.toml 启动（SD 卡镜像会自动使用启动分区上的 smsbox.toml）。', 'The box runs on built-in defaults (no config file), so settings cannot be saved here. Copy the example config from the README to smsbox.toml and start with smsbox serve --config smsbox.toml (the SD-card image uses smsbox.toml on the boot partition).'))}</p>`
    : `<p class="muted">${h(tr(lang, `设置保存在 ${config.file}，保留其中的注释，保存后立即生效。`, `Settings are saved to ${config.file}, keeping its comments, and apply at once.`))}</p>`;
  const s = config.schedule;
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
<button type="submit"${disabled}>${h(tr(lang, '添加', 'Add'))}</button></form></section>
${notifySection}
${backupSection.html}
${updateSection.html}`;
  return layout(ctx, tr(lang, '设置', 'Settings'), body, `${backupSection.script};\n${updateSection.script}`);
}

