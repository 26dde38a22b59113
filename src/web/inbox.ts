import type polka from 'polka';
import type { Conversation, InboxRow } from '../operations/index.js';
import { displayNumber, normalizeNumber } from '../protocol/numbers.js';
import { pageContextOf, statusBadge } from './admin.js';
import type { Auth } from './auth.js';
import type { WebDeps } from './context.js';
import { escapeHtml as h } from './html.js';
import { decodeParam, langOf, queryOf, redirect, sendHtml, type Req, type Res } from './http.js';
import { csrfField, layout, localTime, tr, type Lang, type PageContext } from './layout.js';

/**
 * The inbox (issue 18: replies in context): customers' replies grouped as one
 * conversation per number, each under the notice it answers, and a page per
 * number with its messages both ways and a form to answer. Everything a
 * customer wrote is escaped with `h`.
 */

const ACTIONS: Record<string, [string, string]> = {
  optout: ['退订', 'opted out'],
  resubscribe: ['恢复订阅', 'resubscribed'],
  forwarded: ['已转发', 'forwarded'],
  incomplete: ['不完整', 'incomplete'],
  'hung-up': ['已自动挂断', 'hung up'],
  missed: ['未能挂断', 'not hung up'],
  // The box's own business (src/sim), never a customer's reply.
  selftest: ['本机自检短信（非客户）', 'the box\'s self-test (not a customer)'],
  'carrier-balance': ['运营商话费回复（非客户）', 'carrier balance reply (not a customer)'],
  'carrier-notice': ['运营商通知（非客户）', 'carrier notice (not a customer)'],
  'carrier-service': ['运营商短信（非客户）', 'carrier message (not a customer)'],
};

/** An inbox entry's second and third cells: a call has no text. */
function entryCells(m: InboxRow, lang: Lang, smsLabel: string): string {
  if (m.kind === 'call') return `<td>📞 ${h(tr(lang, '来电', 'call'))}</td><td class="text muted">${h(tr(lang, '（电话，已自动挂断）', '(a phone call, hung up)'))}</td>`;
  return `<td>${smsLabel}</td><td class="text">${h(m.text)}</td>`;
}

function actionText(m: InboxRow, lang: Lang): string {
  const act = m.action ? (ACTIONS[m.action] ?? [m.action, m.action]) : null;
  return `${act ? h(tr(lang, act[0], act[1])) : ''}${m.complete ? '' : ` <small>(${m.partsReceived}/${m.partsTotal})</small>`}`;
}

/** The number a reply came from, as the page shows it and as its conversation's path says it. */
function senderKey(from: string): string {
  const e164 = normalizeNumber(from, true);
  return e164 === null ? from : displayNumber(e164);
}

function conversationPath(key: string): string {
  return `/inbox/${encodeURIComponent(key)}`;
}

/** The newest replies, one group per number (the number with the newest reply first), each group oldest first. */
function renderConversations(rows: readonly InboxRow[], tz: string, lang: Lang): string {
  const groups = new Map<string, InboxRow[]>();
  for (const row of rows) {
    const key = row.from === '' ? '' : senderKey(row.from);
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  return [...groups].map(([key, replies]) => {
    const shownNotices = new Set<number>();
    const lines = [...replies].reverse().map((m) => {
      // The notice is shown once, above the first reply that answers it.
      const notice = m.replyTo && !shownNotices.has(m.replyTo.id)
        ? `<tr class="out" data-message="${m.replyTo.id}"><td class="time">${h(localTime(m.replyTo.sentAt, tz))}</td><td><a href="/messages/${m.replyTo.id}">${h(tr(lang, `发出 #${m.replyTo.id}`, `sent #${m.replyTo.id}`))}</a></td><td class="notice">${h(m.replyTo.text)}</td><td></td></tr>`
        : '';
      if (m.replyTo) shownNotices.add(m.replyTo.id);
      const smsLabel = `${h(tr(lang, '回复', 'reply'))}${m.replyTo ? '' : ` <small>${h(tr(lang, '（7 天内未发过短信）', '(nothing sent in 7 days)'))}</small>`}`;
      return `${notice}<tr class="in${m.kind === 'call' ? ' call' : ''}" data-inbox="${m.id}" data-kind="${m.kind}"><td class="time">${h(localTime(m.receivedAt, tz))}</td>${entryCells(m, lang, smsLabel)}<td>${actionText(m, lang)}</td></tr>`;
    }).join('');
    const calls = replies.filter((m) => m.kind === 'call').length;
    const texts = replies.length - calls;
    const counts = [
      texts > 0 ? tr(lang, `${texts} 条回复`, `${texts} repl${texts === 1 ? 'y' : 'ies'}`) : '',
      calls > 0 ? tr(lang, `${calls} 次来电`, `${calls} call${calls === 1 ? '' : 's'}`) : '',
    ].filter(Boolean).join(' · ');
    const heading = key === '' ? tr(lang, '未显示号码', 'number withheld') : key;
    const link = key === '' ? '' : ` · <a href="${h(conversationPath(key))}">${h(tr(lang, '查看对话并回复 →', 'conversation and answer →'))}</a>`;
    return `<tbody class="conversation" data-number="${h(key)}"><tr class="conversation-head"><th colspan="4">${h(heading)} · ${h(counts)}${link}</th></tr>${lines}</tbody>`;
  }).join('');
}

function renderConversation(ctx: PageContext, c: Conversation, tz: string, key: string): string {
  const { lang } = ctx;
  const rows = c.entries.map((e) => e.direction === 'out'
    ? `<tr class="out" data-message="${e.message.id}"><td class="time">${h(localTime(e.at, tz))}</td><td><a href="/messages/${e.message.id}">${h(tr(lang, `发出 #${e.message.id}`, `sent #${e.message.id}`))}</a> ${statusBadge(e.message.status, lang)}</td><td class="notice">${h(e.message.body)}</td><td>${h(e.message.kind === 'wdgj' ? e.message.account : tr(lang, '本机', 'the box'))}</td></tr>`
    : `<tr class="in${e.reply.kind === 'call' ? ' call' : ''}" data-inbox="${e.reply.id}" data-kind="${e.reply.kind}"><td class="time">${h(localTime(e.at, tz))}</td>${entryCells(e.reply, lang, h(tr(lang, '收到', 'received')))}<td>${actionText(e.reply, lang)}</td></tr>`).join('');
  let answer: string;
  if (c.optedOut) {
    answer = `<p class="warn">${h(tr(lang, '该号码已退订，不能再发短信。如顾客要求恢复，请先在“退订”页面移除该号码。', 'This number opted out and gets no more messages. If the customer asked again, remove it on the Opt-outs page first.'))}</p>`;
  } else if (!c.answerable || !c.latestReply) {
    answer = `<p class="muted">${h(tr(lang, '无法回复这个号码（服务号码、字母发件人，或还没有收到它的短信）。', 'This number cannot be answered (a service number, a named sender, or nothing received from it yet).'))}</p>`;
  } else {
    const who = c.payer
      ? tr(lang, `按账号 ${c.payer} 计费：顾客回复的是该账号发出的短信。`, `Charged to account ${c.payer}: the customer answered that account's message.`)
      : tr(lang, '作为本机自己的短信发出，不计费：顾客回复的不是任何账号 7 天内发出的短信。', "Sent as the box's own message, uncharged: the customer did not answer any account's message of the last 7 days.");
    answer = `<form method="post" action="/inbox/${c.latestReply.id}/answer" id="answer">${csrfField(ctx)}<input type="hidden" name="number" value="${h(key)}">
<label for="answer-text">${h(tr(lang, `回复 ${key}（在发送时段内发出，附加退订尾注）`, `Answer ${key} (sent inside the sending window, with the opt-out footer)`))}</label>
<textarea name="text" id="answer-text" rows="3" maxlength="1000" required></textarea>
<p><small>${h(who)}</small></p><p><button type="submit">${h(tr(lang, '发送回复', 'Send answer'))}</button></p></form>`;
  }
  return `<p><a href="/inbox">← ${h(tr(lang, '收件箱', 'Inbox'))}</a></p>
<section class="table-wrap"><table id="conversation" class="cards"><tr><th>${h(tr(lang, '时间', 'Time'))}</th><th></th><th>${h(tr(lang, '内容', 'Text'))}</th><th></th></tr>
${rows}</table></section>
<section><h2>${h(tr(lang, '回复顾客', 'Answer the customer'))}</h2>${answer}</section>`;
}

export function registerInbox(app: polka.Polka, deps: WebDeps, helpers: Auth): void {
  const { ops } = deps;
  const ctxOf = pageContextOf(deps, helpers);
  const tz = () => deps.config().schedule.timezone;

  app.get('/inbox', (req: Req, res: Res) => {
    const session = helpers.requirePage(req, res);
    if (!session) return;
    const ctx = ctxOf(req, res, session);
    const { lang } = ctx;
    const q = queryOf(req);
    const search = (q.get('q') ?? '').trim().slice(0, 100);
    const before = q.get('before');
    const rows = ops.inbox.list({ limit: 51, q: search, beforeId: before });
    const shown = rows.slice(0, 50);
    const groups = renderConversations(shown, tz(), lang);
    const body = `<form method="get" action="/inbox" class="row"><input type="search" name="q" value="${h(search)}" placeholder="${h(tr(lang, '按号码或内容搜索', 'search number or text'))}" aria-label="search"><button class="secondary" type="submit">${h(tr(lang, '搜索', 'Search'))}</button></form>
<p class="muted">${h(tr(lang, '按号码分组；每条回复上方是它回复的短信（7 天内发给该号码的最后一条）。来电由本机自动挂断并记录在这里。点“查看对话并回复”可以回复顾客。', 'Grouped by number; above each reply is the message it answers (the last one sent to the number within 7 days). Calls are hung up by the box and listed here. Open a conversation to answer.'))}</p>
<section class="table-wrap"><table id="inbox" class="cards"><thead><tr><th>${h(tr(lang, '时间', 'Time'))}</th><th></th><th>${h(tr(lang, '内容', 'Text'))}</th><th>${h(tr(lang, '处理', 'Action'))}</th></tr></thead>
${groups || `<tbody><tr><td colspan="4" class="muted">${h(tr(lang, '没有收到短信', 'no messages received'))}</td></tr></tbody>`}</table></section>
${rows.length > 50 ? `<a class="button secondary" href="/inbox?${new URLSearchParams({ ...(search ? { q: search } : {}), before: String(shown[shown.length - 1]!.id) })}">${h(tr(lang, '更早 →', 'Older →'))}</a>` : ''}`;
    sendHtml(res, 200, layout(ctx, tr(lang, '收件箱', 'Inbox'), body));
  });

  app.get('/inbox/:number', (req: Req, res: Res) => {
    const session = helpers.requirePage(req, res);
    if (!session) return;
    const ctx = ctxOf(req, res, session);
    const { lang } = ctx;
    const key = (decodeParam(req.params['number']) ?? '').slice(0, 40);
    const found = ops.inbox.conversation(key);
    if (!found.ok) return sendHtml(res, 404, layout(ctx, tr(lang, '没有这个对话', 'No such conversation'), `<p>${h(tr(lang, found.message, found.message_en))}</p><p><a href="/inbox">←</a></p>`));
    sendHtml(res, 200, layout(ctx, `${tr(lang, '对话', 'Conversation')}: ${key}`, renderConversation(ctx, found.value, tz(), key)));
  });

  app.post('/inbox/:id/answer', async (req: Req, res: Res) => {
    const got = await helpers.requireForm(req, res);
    if (!got) return;
    const lang = langOf(req, res);
    const answered = await ops.inbox.answer({ inboxId: req.params['id'] ?? '', text: got.form.get('text') ?? '' });
    if (answered.ok) {
      const { message, chargedTo } = answered.value;
      helpers.flash(got.session, 'ok', chargedTo
        ? tr(lang, `回复已排队（第 ${message.id} 号短信，计入账号 ${chargedTo}）`, `answer queued (message #${message.id}, charged to ${chargedTo})`)
        : tr(lang, `回复已排队（第 ${message.id} 号短信，本机短信，不计费）`, `answer queued (message #${message.id}, the box's own, uncharged)`));
    } else helpers.flashRefusal(got.session, lang, answered);
    const number = (got.form.get('number') ?? '').slice(0, 40);
    redirect(res, number ? conversationPath(number) : '/inbox');
  });
}
