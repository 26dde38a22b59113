import type polka from 'polka';
import { formatYuan } from '../money.js';
import type { AccountRow, Attempt, InboxRow, LedgerRow, MessageRow, OptOutRow, TestResult } from '../operations/index.js';
import { displayNumber } from '../protocol/numbers.js';
import type { Auth } from './auth.js';
import type { WebDeps } from './context.js';
import { decodeParam, jsonError, queryOf, readBody, sendJson, sendRefusal, sendText, type Req, type Res } from './http.js';

/**
 * The JSON API for scripts and installers (README, "JSON API"). Each route
 * reads its input, calls the operation the HTML forms call for the same
 * action, and renders the outcome as JSON: names and shapes are stable.
 */

export function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

export function messageJson(m: MessageRow) {
  return {
    id: m.id,
    account: m.account,
    to: displayNumber(m.to),
    to_e164: m.to,
    body: m.body,
    status: m.status,
    segments: m.segments,
    encoding: m.encoding,
    charge: formatYuan(m.chargeLi),
    attempts: m.attempts,
    request_id: m.requestId,
    created_at: iso(m.createdAt),
    sent_at: iso(m.sentAt),
    delivered_at: iso(m.deliveredAt),
    error: m.lastError,
  };
}

const attemptJson = (a: Attempt) => ({
  id: a.id,
  modem: a.modem,
  started_at: iso(a.startedAt),
  finished_at: iso(a.finishedAt),
  outcome: a.outcome,
  segments_sent: a.segmentsSent,
  error: a.error,
});

const accountJson = (a: Pick<AccountRow, 'user' | 'balanceLi' | 'ignoreQuietHours'>) => ({
  user: a.user,
  balance: a.balanceLi === null ? null : formatYuan(a.balanceLi),
  unlimited: a.balanceLi === null,
  ignore_quiet_hours: a.ignoreQuietHours,
});

const ledgerJson = (l: LedgerRow) => ({
  id: l.id,
  at: iso(l.at),
  kind: l.kind,
  amount: formatYuan(l.amountLi),
  balance_after: l.balanceAfterLi === null ? null : formatYuan(l.balanceAfterLi),
  request_id: l.requestId,
  message_id: l.messageId,
  note: l.note,
});

const inboxJson = (m: InboxRow) => ({
  id: m.id,
  /** `sms`, or `call`: a call the box hung up (text ''; from '' when the number was withheld). */
  kind: m.kind,
  from: displayNumber(m.from),
  from_raw: m.from,
  text: m.text,
  received_at: iso(m.receivedAt),
  sent_at: m.sentAt,
  complete: m.complete,
  parts: { received: m.partsReceived, total: m.partsTotal },
  action: m.action,
  /** The SIM it came to (a pool of modems); null for rows from before SIMs had names. */
  modem: m.modem,
  // The notice this reply answers: the last message sent to the number within 7 days before it.
  reply_to: m.replyTo === null ? null : { id: m.replyTo.id, text: m.replyTo.text, sent_at: iso(m.replyTo.sentAt) },
});

/** 发送测试's outcome: the platform's answer as it gave it (DingTalk's errcode and errmsg are `code` and `message`). */
const testJson = (r: TestResult) => ({ channel: r.channel, ok: r.ok, status: r.status, code: r.code, message: r.message, body: r.body, message_id: r.messageId ?? null });

const optOutJson = (o: OptOutRow) => ({ number: displayNumber(o.number), number_e164: o.number, created_at: iso(o.createdAt), source: o.source, reason: o.reason, inbox_id: o.inboxId });

/** A JSON object body; null (after answering 400 with `example`) when it is not one. */
async function readJsonObject(req: Req, res: Res, example: string): Promise<Record<string, unknown> | null> {
  const raw = await readBody(req);
  try {
    const value: unknown = raw === null ? {} : JSON.parse(raw.toString('utf8') || '{}');
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // answered below
  }
  jsonError(res, 400, 'bad-json', `请求体应为 JSON，例如 ${example}`, `body must be JSON, e.g. ${example}`);
  return null;
}

export function registerApi(app: polka.Polka, deps: WebDeps, auth: Pick<Auth, 'requireAdmin'>): void {
  const { ops } = deps;
  const { requireAdmin } = auth;

  // ---- messages ---------------------------------------------------------------
  app.get('/api/messages', (req: Req, res: Res) => {
    if (!requireAdmin(req, res)) return;
    const query = queryOf(req);
    const parsed = ops.messages.parseQuery({ limit: query.get('limit'), status: query.get('status'), beforeId: query.get('before_id') });
    if (!parsed.ok) return sendRefusal(res, parsed);
    sendJson(res, 200, { messages: ops.messages.search(parsed.value).map(messageJson) });
  });

  app.get('/api/messages/:id', (req: Req, res: Res) => {
    if (!requireAdmin(req, res)) return;
    const details = ops.messages.details(req.params['id'] ?? '');
    if (!details.ok) return sendRefusal(res, details);
    const { message, attempts, retries } = details.value;
    sendJson(res, 200, {
      message: messageJson(message),
      attempts: attempts.map(attemptJson),
      // Later requests from a client that were recognised as retries of this one: nothing was queued twice.
      retries: retries.map((r) => ({ at: iso(r.at), client: r.client })),
    });
  });

  // The shop's decision on a message that may or may not have been sent.
  for (const action of ['resend', 'fail'] as const) {
    app.post(`/api/messages/:id/${action}`, (req: Req, res: Res) => {
      if (!requireAdmin(req, res)) return;
      const resolved = ops.messages.resolveUncertain(req.params['id'] ?? '', action);
      if (!resolved.ok) return sendRefusal(res, resolved);
      sendJson(res, 200, { message: messageJson(resolved.value) });
    });
  }

  // ---- accounts ---------------------------------------------------------------
  app.get('/api/accounts', (req: Req, res: Res) => {
    if (!requireAdmin(req, res)) return;
    sendJson(res, 200, { accounts: ops.accounts.list().map(accountJson) });
  });

  app.get('/api/accounts/:user/ledger', (req: Req, res: Res) => {
    if (!requireAdmin(req, res)) return;
    const user = decodeParam(req.params['user']);
    const ledger = ops.accounts.ledger(user ?? req.params['user'] ?? '');
    if (!ledger.ok) return sendRefusal(res, ledger);
    sendJson(res, 200, { ledger: ledger.value.map(ledgerJson) });
  });

  app.post('/api/accounts/:user/topup', async (req: Req, res: Res) => {
    if (!requireAdmin(req, res)) return;
    const body = await readJsonObject(req, res, '{"amount": 50}');
    if (!body) return;
    const topped = ops.accounts.topUp({ user: decodeParam(req.params['user']) ?? '', amount: body['amount'], via: 'api' });
    if (!topped.ok) return sendRefusal(res, topped);
    sendJson(res, 200, accountJson(topped.value.account));
  });

  app.get('/api/events', (req: Req, res: Res) => {
    if (!requireAdmin(req, res)) return;
    sendJson(res, 200, {
      events: ops.events.latest(200).map((e) => ({ id: e.id, at: iso(e.at), level: e.level, kind: e.kind, message: e.zh, message_en: e.en, data: e.data, repeats: e.repeats, last_at: iso(e.lastAt) })),
    });
  });

  // ---- inbox and opt-outs -----------------------------------------------------
  app.get('/api/inbox', (req: Req, res: Res) => {
    if (!requireAdmin(req, res)) return;
    const query = queryOf(req);
    const rows = ops.inbox.list({ limit: Number(query.get('limit') ?? 50) || 50, q: query.get('q'), beforeId: query.get('before_id') });
    sendJson(res, 200, { messages: rows.map(inboxJson) });
  });

  // The owner answers a customer's reply (charged as the README says: the answered message's account, else uncharged).
  app.post('/api/inbox/:id/answer', async (req: Req, res: Res) => {
    if (!requireAdmin(req, res)) return;
    const body = await readJsonObject(req, res, '{"text": "好的，明天发货"}');
    if (!body) return;
    const answered = await ops.inbox.answer({ inboxId: req.params['id'] ?? '', text: typeof body['text'] === 'string' ? body['text'] : '' });
    if (!answered.ok) return sendRefusal(res, answered);
    sendJson(res, 201, { message: messageJson(answered.value.message), charged_to: answered.value.chargedTo });
  });

  // ---- notification channels --------------------------------------------------
  app.get('/api/notify', (req: Req, res: Res) => {
    if (!requireAdmin(req, res)) return;
    sendJson(res, 200, ops.notify.apiJson());
  });

  app.post('/api/notify/:id/test', async (req: Req, res: Res) => {
    if (!requireAdmin(req, res)) return;
    const tested = await ops.notify.test(decodeParam(req.params['id']) ?? '');
    if (!tested.ok) return sendRefusal(res, tested);
    sendJson(res, 200, testJson(tested.value));
  });

  // ---- the SIM: self-test and balance (issue 17) -----------------------------
  app.get('/api/selftest', (req: Req, res: Res) => {
    if (!requireAdmin(req, res)) return;
    sendJson(res, 200, ops.sim.latestSelftest());
  });

  // A second start while one runs answers with the running one (200), a new one is 202.
  app.post('/api/selftest', (req: Req, res: Res) => {
    if (!requireAdmin(req, res)) return;
    const started = ops.sim.startSelftest();
    if (!started.ok) return sendRefusal(res, started);
    sendJson(res, started.value.started ? 202 : 200, started.value.selftest);
  });

  app.post('/api/sim/balance', (req: Req, res: Res) => {
    if (!requireAdmin(req, res)) return;
    const asked = ops.sim.askBalance();
    if (!asked.ok) return sendRefusal(res, asked);
    sendJson(res, 202, asked.value);
  });

  app.get('/api/optouts', (req: Req, res: Res) => {
    if (!requireAdmin(req, res)) return;
    const query = queryOf(req);
    const limit = Math.min(Math.max(Number(query.get('limit') ?? 1000) || 1000, 1), 100_000);
    sendJson(res, 200, { optouts: ops.optouts.list({ limit, ...(query.get('q') ? { q: query.get('q')! } : {}) }).map(optOutJson) });
  });

  app.post('/api/optouts', async (req: Req, res: Res) => {
    if (!requireAdmin(req, res)) return;
    const body = await readJsonObject(req, res, '{"number": "13800138000"}');
    if (!body) return;
    const added = ops.optouts.add({ number: typeof body['number'] === 'string' ? body['number'] : '', reason: typeof body['reason'] === 'string' ? body['reason'] : '' });
    if (!added.ok) return sendRefusal(res, added);
    sendJson(res, added.value.added ? 201 : 200, { added: added.value.added, optout: optOutJson(added.value.optout) });
  });

  app.delete('/api/optouts/:number', (req: Req, res: Res) => {
    if (!requireAdmin(req, res)) return;
    const removed = ops.optouts.remove({ number: decodeParam(req.params['number']) ?? '' });
    if (!removed.ok) return sendRefusal(res, removed);
    sendJson(res, 200, { removed: true });
  });

  // CSV with a BOM, so Excel on the shop's Windows PC shows the Chinese reasons correctly.
  app.get('/api/optouts.csv', (req: Req, res: Res) => {
    if (!requireAdmin(req, res)) return;
    res.setHeader('Content-Disposition', 'attachment; filename="optouts.csv"');
    sendText(res, 200, ops.optouts.exportCsv(), 'text/csv; charset=utf-8');
  });

  app.post('/api/optouts/import', async (req: Req, res: Res) => {
    if (!requireAdmin(req, res)) return;
    const imported = ops.optouts.importCsv(await readBody(req));
    if (!imported.ok) return sendRefusal(res, imported);
    sendJson(res, 200, imported.value);
  });
}
