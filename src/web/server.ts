import http from 'node:http';
import type { Socket } from 'node:net';
import polka from 'polka';
import type { Clock } from '../clock.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../log.js';
import { parseYuan, formatYuan } from '../money.js';
import { displayNumber, normalizeNumber } from '../protocol/numbers.js';
import { decodeText, escapeRawTarget, parseQueryString, parseRequestTarget, type Params } from '../protocol/request.js';
import { safeEqual } from '../passwords.js';
import type { StatusModel, StatusSnapshot } from '../status/status.js';
import { MAX_STATUS_STREAMS, StatusStreams } from './status-stream.js';
import { MESSAGE_STATUSES, type MessageRow, type MessageStatus, type OptOutRow, type Store } from '../store/store.js';
import { LoginLimiter } from './login-limiter.js';
import { renderHome, verdictOf, windowText } from './pages.js';
import { registerAdmin } from './admin.js';
import {
  clientAddress, decodeParam, pathOf, queryOf, guardApp, guardedListener, isClientGone, jsonError, newRequestId, readBody, readForm, redirect, sendHtml, sendJson, sendText,
  type ErrorBoundary, type Next, type Req, type Res,
} from './http.js';
import { layout, tr, type Lang } from './layout.js';
import { escapeHtml as h } from './html.js';
import { HttpMetrics, renderMetrics, routeLabel } from './metrics.js';
import { CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE, SessionStore, checkCsrf, parseCookies, sessionCookie, type Session } from './session.js';
import type { WdgjEndpoint } from './wdgj.js';
import { SendReply } from '../protocol/wdgj.js';

export interface WebDeps {
  store: Store;
  status: StatusModel;
  wdgj: WdgjEndpoint;
  clock: Clock;
  config: () => Config;
  log: Logger;
  /** Extra routes (the simulator's API in simulator mode). */
  extraRoutes?: (app: polka.Polka, helpers: { requireAdmin: (req: polka.Request, res: http.ServerResponse) => boolean }) => void;
  /** A message became due (a resend): the dispatcher decides again. */
  onQueued?: () => void;
  /** Applies a validated new config without a restart (the settings page); `config().file` is where it came from. */
  applyConfig?: (next: Config) => void;
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

function messageJson(m: MessageRow) {
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

/** The status streams each server holds open, so that a stop can end them instead of waiting for them. */
const liveStreamsOf = new WeakMap<http.Server, StatusStreams<StatusSnapshot>>();

/** Ends the server's status streams (the page reconnects to whatever answers next). */
export function endLiveStreams(server: http.Server): void {
  liveStreamsOf.get(server)?.endAll();
}

export function createWebServer(deps: WebDeps): http.Server {
  const statusStreams = new StatusStreams<StatusSnapshot>({
    snapshot: () => deps.status.snapshot(),
    stableKey: (status) => {
      const { uptime_s: _u, time: _t, ...stable } = status;
      return JSON.stringify(stable);
    },
    render: (status, lang) => JSON.stringify({ status, verdict: verdictOf(status, lang), window_text: windowText(status, deps.config(), lang) }),
  });
  const adminLimiter = new LoginLimiter(() => {
    const s = deps.config().security;
    return { allowed: s.loginFailuresAllowed, lockMs: s.loginLockMinutes * 60_000 };
  });

  const answerWdgj = async (res: Res, params: Params, client: string) => {
    wdgjRequests.add(res);
    sendText(res, 200, await deps.wdgj.answer(params, client));
  };
  const wdgjRequests = new WeakSet<Res>();
  const httpMetrics = new HttpMetrics();
  const sessions = new SessionStore();
  const flashes = new WeakMap<Session, { kind: 'ok' | 'error'; text: string }>();

  const sessionOf = (req: http.IncomingMessage): Session | null =>
    sessions.get(parseCookies(req.headers.cookie).get(SESSION_COOKIE), deps.clock.now());

  /** ?lang=en|zh switches and is remembered in a cookie; Chinese by default. */
  const langOf = (req: http.IncomingMessage, res: Res): Lang => {
    const asked = queryOf(req).get('lang');
    if (asked === 'en' || asked === 'zh') {
      res.setHeader('Set-Cookie', `smsbox_lang=${asked}; Path=/; SameSite=Strict; Max-Age=31536000`);
      return asked;
    }
    return langOfRequest(req);
  };
  const langOfRequest = (req: http.IncomingMessage): Lang => {
    const asked = queryOf(req).get('lang');
    if (asked === 'en' || asked === 'zh') return asked;
    return parseCookies(req.headers.cookie).get('smsbox_lang') === 'en' ? 'en' : 'zh';
  };

  /** Same-origin check for logins (no session, so no CSRF token yet): a cross-site form carries another Origin. */
  const sameOrigin = (req: http.IncomingMessage): boolean => {
    const origin = req.headers.origin;
    if (!origin || origin === 'null') return origin !== 'null';
    try {
      return new URL(origin).host === req.headers.host;
    } catch {
      return false;
    }
  };

  /** HTTP Basic `admin:<admin password>`; answers 401 itself and returns false when refused. */
  const requireAdmin = (req: Req, res: Res): boolean => {
    const client = clientAddress(req.socket);
    const now = deps.clock.now();
    const locked = adminLimiter.lockedFor(client, now);
    if (locked > 0) {
      jsonError(res, 429, 'too-many-attempts', `密码错误次数过多，请 ${Math.ceil(locked / 60_000)} 分钟后再试`, `too many failed logins; try again in ${Math.ceil(locked / 60_000)} minutes`);
      return false;
    }
    const session = req.headers.authorization ? null : sessionOf(req);
    if (session) {
      // A browser session authorises the JSON API too; changes must carry its CSRF token.
      if (req.method === 'GET' || req.method === 'HEAD' || checkCsrf(session, req.headers[CSRF_HEADER] as string | undefined)) return true;
      jsonError(res, 403, 'csrf', '缺少或错误的 CSRF 令牌（X-CSRF-Token），请刷新页面后重试', 'missing or wrong CSRF token (X-CSRF-Token); reload the page and try again');
      return false;
    }
    const header = req.headers.authorization ?? '';
    const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header);
    if (match) {
      const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const ok = colon !== -1 && decoded.slice(0, colon) === 'admin' && safeEqual(decoded.slice(colon + 1), deps.config().admin.password);
      if (ok) {
        adminLimiter.succeed(client);
        return true;
      }
      if (adminLimiter.fail(client, now)) {
        deps.store.addEvent(now, 'warn', 'admin-login-locked', `管理密码错误次数过多，暂时拒绝 ${client}`, `too many failed admin logins from ${client}`, { client });
      }
    }
    res.setHeader('WWW-Authenticate', 'Basic realm="smsbox", charset="UTF-8"');
    jsonError(res, 401, 'unauthorized', '需要管理员登录（用户名 admin，密码见配置文件 [admin] password）', 'admin login required (user "admin", password from [admin] password in the config)');
    return false;
  };

  /**
   * The one error boundary: whatever a route throws or rejects with is
   * answered here (WDGJ `3`, a 500 page or JSON with a request id), logged
   * once with its stack, counted, and the box runs on. A client that left
   * mid-body is not an error: its connection is dropped quietly.
   */
  const boundary: ErrorBoundary = {
    fail(err, req, res) {
      try {
        if (isClientGone(err, req)) {
          res.destroy();
          return;
        }
        const requestId = newRequestId();
        httpMetrics.internalError();
        deps.log.error('request failed', {
          request_id: requestId,
          method: req.method,
          // The path only: a WDGJ query string carries the password.
          path: (req.url ?? '').split('?')[0]!.slice(0, 200),
          error: err instanceof Error ? (err.stack ?? String(err)) : String(err),
        });
        if (res.headersSent) {
          res.destroy();
          return;
        }
        res.setHeader('X-Request-Id', requestId);
        if (wdgjRequests.has(res)) return sendText(res, 200, SendReply.interfaceFailure);
        const path = req.path ?? (req.url ?? '/').split('?')[0]!;
        if (!/^\/(api\/|metrics)/.test(path) && /text\/html/.test(req.headers.accept ?? '')) {
          return sendHtml(res, 500, internalErrorPage(langOfRequest(req), requestId));
        }
        sendJson(res, 500, {
          error: 'internal',
          message: `内部错误（请求编号 ${requestId}），盒子仍在运行；若反复出现，请把请求编号和“事件”页面告诉技术支持`,
          message_en: `internal error (request id ${requestId}); the box keeps running. If it recurs, give the request id and the events page to support`,
          request_id: requestId,
        });
      } catch (failure) {
        deps.log.error('error boundary could not answer', { error: String(failure) });
        res.destroy();
      }
    },
  };

  const internalErrorPage = (lang: Lang, requestId: string) =>
    layout({ lang, csrf: null, path: '' }, tr(lang, '内部错误', 'Internal error'),
      `<section><p>${h(tr(lang, '处理这个请求时出错了。短信网关仍在运行，已接收的短信不受影响。', 'Something went wrong with this request. The box keeps running; messages already accepted are not affected.'))}</p>
<p>${h(tr(lang, '请求编号', 'Request id'))}: <code id="request-id">${h(requestId)}</code></p>
<p>${h(tr(lang, '请返回上一页重试；若反复出现，请把请求编号和“事件”页面的内容告诉技术支持。', 'Go back and try again; if it recurs, give the request id and the events page to support.'))}</p>
<p><a href="/">${h(tr(lang, '返回概览', 'Back to the overview'))}</a></p></section>`);

  const app = guardApp(polka({
    onError: (err: unknown, req: Req, res: Res) => boundary.fail(err, req, res),
    onNoMatch: (req: Req, res: Res) => {
      jsonError(res, 404, 'not-found', `没有这个地址：${req.path.slice(0, 200)}`, `no such path: ${req.path.slice(0, 200)}`);
    },
  }), boundary);

  // Counts every request and its latency for /metrics, by a route label with few values.
  app.use((req: Req, res: Res, next: Next) => {
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const path = (req.url ?? '/').split('?')[0]!;
      httpMetrics.observe(req.method ?? 'GET', routeLabel(path, wdgjRequests.has(res)), res.statusCode, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  });

  // WDGJ requests are answered on any path, GET or form POST, whenever they carry Msg.
  app.use(async (req: Req, res: Res, next: Next) => {
    const target = parseRequestTarget(Buffer.from(req.url ?? '/', 'latin1').toString('latin1'));
    let params = target.params;
    if (params.has('msg')) wdgjRequests.add(res);
    if (req.method === 'POST' && /application\/x-www-form-urlencoded/i.test(req.headers['content-type'] ?? '')) {
      const body = await readBody(req);
      if (body === null) {
        res.setHeader('Connection', 'close');
        return sendText(res, 413, '3');
      }
      params = parseQueryString(body.toString('latin1'), new Map(params));
    }
    if (params.has('msg')) return answerWdgj(res, params, clientAddress(req.socket));
    next();
  });

  app.get('/', (req: Req, res: Res) => {
    const lang = langOf(req, res);
    const session = sessionOf(req);
    const flash = session ? flashes.get(session) ?? null : null;
    if (session) flashes.delete(session);
    const signal = deps.store.signalSamples(deps.clock.now() - 24 * 3600_000);
    const events = session ? deps.store.listEvents(10) : null;
    sendHtml(res, 200, renderHome(deps.status.snapshot(), deps.config(), deps.status.recentWdgj(), lang, { csrf: session?.csrf ?? null, flash }, signal, events));
  });

  // ---- browser login --------------------------------------------------------

  const loginPage = (lang: Lang, error: string | null, next: string) => layout({ lang, csrf: null, path: '/login', simulated: deps.status.snapshot().modem.simulated, configError: deps.status.snapshot().config_error, flash: error ? { kind: 'error', text: error } : null },
    tr(lang, '管理员登录', 'Admin login'),
    `<section style="max-width:24rem"><form method="post" action="/login"><input type="hidden" name="next" value="${h(next)}">
<label>${h(tr(lang, '管理密码（配置文件 [admin] password）', 'Admin password ([admin] password in the config)'))}<br><input type="password" name="password" autocomplete="current-password" autofocus required></label>
<p><button type="submit">${h(tr(lang, '登录', 'Log in'))}</button></p></form></section>`);

  const safeNext = (next: string | null): string => (next && /^\/(?!\/)[^\s\\]*$/.test(next) && !next.startsWith('/login') ? next : '/');

  app.get('/login', (req: Req, res: Res) => {
    const lang = langOf(req, res);
    sendHtml(res, 200, loginPage(lang, null, safeNext(queryOf(req).get('next'))));
  });

  app.post('/login', async (req: Req, res: Res) => {
    const lang = langOf(req, res);
    const form = await readForm(req);
    const next = safeNext(form.get('next'));
    if (!sameOrigin(req)) return sendHtml(res, 403, loginPage(lang, tr(lang, '请从本机页面登录', 'log in from the box\'s own page'), next));
    const client = clientAddress(req.socket);
    const now = deps.clock.now();
    const locked = adminLimiter.lockedFor(client, now);
    if (locked > 0) {
      const minutes = Math.ceil(locked / 60_000);
      return sendHtml(res, 429, loginPage(lang, tr(lang, `密码错误次数过多，请 ${minutes} 分钟后再试`, `too many failed logins; try again in ${minutes} minutes`), next));
    }
    if (!safeEqual(form.get('password') ?? '', deps.config().admin.password)) {
      if (adminLimiter.fail(client, now)) {
        deps.store.addEvent(now, 'warn', 'admin-login-locked', `管理密码错误次数过多，暂时拒绝 ${client}`, `too many failed admin logins from ${client}`, { client });
      }
      return sendHtml(res, 401, loginPage(lang, tr(lang, '密码错误', 'wrong password'), next));
    }
    adminLimiter.succeed(client);
    const old = sessionOf(req);
    if (old) sessions.destroy(old.id); // a fresh id at login: a planted cookie gains nothing
    const session = sessions.create(now);
    res.setHeader('Set-Cookie', sessionCookie(session, now));
    redirect(res, next);
  });

  app.post('/logout', async (req: Req, res: Res) => {
    const form = await readForm(req);
    const session = sessionOf(req);
    if (session && checkCsrf(session, form.get(CSRF_FIELD))) sessions.destroy(session.id);
    res.setHeader('Set-Cookie', sessionCookie(null, deps.clock.now()));
    redirect(res, '/');
  });

  registerAdmin(app, deps, {
    lang: langOf,
    sessionOf,
    requirePage: (req, res) => {
      const session = sessionOf(req);
      if (!session) redirect(res, `/login?next=${encodeURIComponent(req.url ?? '/')}`);
      return session;
    },
    requireForm: async (req, res) => {
      const form = await readForm(req);
      const session = sessionOf(req);
      if (!session) {
        redirect(res, '/login');
        return null;
      }
      if (!checkCsrf(session, form.get(CSRF_FIELD))) {
        const lang = langOf(req, res);
        sendHtml(res, 403, layout({ lang, csrf: session.csrf, path: '' }, tr(lang, '请求已过期', 'Request expired'),
          `<p>${h(tr(lang, '表单的安全令牌不对（页面可能已过期）。请返回、刷新页面后再试。', 'The form\'s security token does not match (the page may be stale). Go back, reload and try again.'))}</p>`));
        return null;
      }
      return { session, form };
    },
    flash: (session, kind, text) => flashes.set(session, { kind, text }),
    takeFlash: (session) => {
      if (!session) return null;
      const flash = flashes.get(session) ?? null;
      flashes.delete(session);
      return flash;
    },
    resetSessions: (keep) => sessions.clear(keep),
  });

  // ---- live status and metrics ----------------------------------------------

  /** Server-Sent Events: the status snapshot and its verdict, on every change and at least every 2 s. */
  app.get('/api/status/stream', (req: Req, res: Res) => {
    if (!statusStreams.open(res, langOf(req, res))) {
      jsonError(res, 503, 'too-many-streams', `同时打开的状态页过多（最多 ${MAX_STATUS_STREAMS} 个），请关闭不用的页面后再试`,
        `too many open status pages (${MAX_STATUS_STREAMS} at most); close the ones not in use and try again`, { 'Retry-After': '30' });
    }
  });

  app.get('/metrics', (_req: Req, res: Res) => {
    sendText(res, 200, renderMetrics(deps.status.snapshot(), deps.store.statusTotals(), httpMetrics), 'text/plain; version=0.0.4; charset=utf-8');
  });

  app.get('/api/status', (_req: Req, res: Res) => sendJson(res, 200, deps.status.snapshot()));

  app.get('/api/messages', (req: Req, res: Res) => {
    if (!requireAdmin(req, res)) return;
    const query = queryOf(req);
    const limitText = query.get('limit') ?? '50';
    const limit = Number(limitText);
    if (!/^\d+$/.test(limitText) || limit < 1 || limit > 1000) {
      return jsonError(res, 400, 'bad-limit', 'limit 应为 1 到 1000 的整数', 'limit must be a whole number from 1 to 1000');
    }
    const status = query.get('status');
    if (status !== null && !(MESSAGE_STATUSES as readonly string[]).includes(status)) {
      return jsonError(res, 400, 'bad-status', `status 应为 ${MESSAGE_STATUSES.join('、')} 之一`, `status must be one of ${MESSAGE_STATUSES.join(', ')}`);
    }
    const beforeText = query.get('before_id');
    const messages = deps.store.listMessages({
      limit,
      ...(status ? { status: status as MessageStatus } : {}),
      ...(beforeText && /^\d+$/.test(beforeText) ? { beforeId: Number(beforeText) } : {}),
    });
    sendJson(res, 200, { messages: messages.map(messageJson) });
  });

  const messageById = (req: Req, res: Res): MessageRow | null => {
    const id = Number(req.params['id']);
    const message = Number.isSafeInteger(id) ? deps.store.getMessage(id) : null;
    if (!message) jsonError(res, 404, 'no-message', `没有第 ${req.params['id']} 号短信`, `no message ${req.params['id']}`);
    return message;
  };

  app.get('/api/messages/:id', (req: Req, res: Res) => {
    if (!requireAdmin(req, res)) return;
    const message = messageById(req, res);
    if (!message) return;
    sendJson(res, 200, {
      message: messageJson(message),
      attempts: deps.store.listAttempts(message.id).map((a) => ({
        id: a.id,
        modem: a.modem,
        started_at: new Date(a.startedAt).toISOString(),
        finished_at: a.finishedAt === null ? null : new Date(a.finishedAt).toISOString(),
        outcome: a.outcome,
        segments_sent: a.segmentsSent,
        error: a.error,
      })),
    });
  });

  // The shop's decision on a message that may or may not have been sent.
  for (const action of ['resend', 'fail'] as const) {
    app.post(`/api/messages/:id/${action}`, (req: Req, res: Res) => {
      if (!requireAdmin(req, res)) return;
      const message = messageById(req, res);
      if (!message) return;
      const now = deps.clock.now();
      if (!deps.store.resolveUncertain(message.id, action, now)) {
        return jsonError(res, 409, 'not-uncertain', `第 ${message.id} 号短信的状态是 ${message.status}，只有“待确认”（uncertain）的短信可以${action === 'resend' ? '重发' : '标记失败'}`,
          `message ${message.id} is ${message.status}; only uncertain messages can be ${action === 'resend' ? 'resent' : 'marked failed'}`);
      }
      deps.store.addEvent(now, 'info', `message-${action}`,
        action === 'resend' ? `第 ${message.id} 号短信已重新排队` : `第 ${message.id} 号短信已标记失败并退款`,
        action === 'resend' ? `message ${message.id} queued again` : `message ${message.id} marked failed and refunded`, { messageId: message.id });
      if (action === 'resend') deps.onQueued?.();
      sendJson(res, 200, { message: messageJson(deps.store.getMessage(message.id)!) });
    });
  }

  const accountJson = (a: { user: string; balanceLi: number | null; ignoreQuietHours: boolean }) => ({
    user: a.user,
    balance: a.balanceLi === null ? null : formatYuan(a.balanceLi),
    unlimited: a.balanceLi === null,
    ignore_quiet_hours: a.ignoreQuietHours,
  });

  app.get('/api/accounts', (req: Req, res: Res) => {
    if (!requireAdmin(req, res)) return;
    sendJson(res, 200, { accounts: deps.store.listAccounts().map(accountJson) });
  });

  app.get('/api/accounts/:user/ledger', (req: Req, res: Res) => {
    if (!requireAdmin(req, res)) return;
    const user = decodeParam(req.params['user']);
    if (user === null || !deps.store.getAccount(user)) return jsonError(res, 404, 'no-account', `没有账号 ${user ?? req.params['user']}`, `no account ${user ?? req.params['user']}`);
    sendJson(res, 200, {
      ledger: deps.store.ledger(user).map((l) => ({
        id: l.id,
        at: new Date(l.at).toISOString(),
        kind: l.kind,
        amount: formatYuan(l.amountLi),
        balance_after: l.balanceAfterLi === null ? null : formatYuan(l.balanceAfterLi),
        request_id: l.requestId,
        message_id: l.messageId,
        note: l.note,
      })),
    });
  });

  app.post('/api/accounts/:user/topup', async (req: Req, res: Res) => {
    if (!requireAdmin(req, res)) return;
    const user = decodeParam(req.params['user']) ?? '';
    const raw = await readBody(req);
    let amount: unknown;
    try {
      amount = raw === null ? undefined : (JSON.parse(raw.toString('utf8') || '{}') as { amount?: unknown }).amount;
    } catch {
      return jsonError(res, 400, 'bad-json', '请求体应为 JSON，例如 {"amount": 50}', 'body must be JSON, e.g. {"amount": 50}');
    }
    const li = typeof amount === 'number' || typeof amount === 'string' ? parseYuan(amount) : null;
    if (li === null || li <= 0 || li > 1_000_000_000) {
      return jsonError(res, 400, 'bad-amount', 'amount 应为大于 0 的金额（元），最多三位小数', 'amount must be a positive amount in yuan with at most 3 decimals');
    }
    const account = deps.store.getAccount(user);
    if (!account) return jsonError(res, 404, 'no-account', `没有账号 ${user}`, `no account ${user}`);
    if (account.balanceLi === null) {
      return jsonError(res, 409, 'unlimited', `账号 ${user} 不限余额，无需充值`, `account ${user} has an unlimited balance`);
    }
    const now = deps.clock.now();
    const balance = deps.store.topUp(user, li, now, 'api top-up');
    deps.store.addEvent(now, 'info', 'topup', `账号 ${user} 充值 ${formatYuan(li)} 元`, `account ${user} topped up by ${formatYuan(li)} yuan`);
    sendJson(res, 200, { ...accountJson({ ...account, balanceLi: balance }) });
  });

  app.get('/api/events', (req: Req, res: Res) => {
    if (!requireAdmin(req, res)) return;
    sendJson(res, 200, {
      events: deps.store.listEvents(200).map((e) => ({ id: e.id, at: new Date(e.at).toISOString(), level: e.level, kind: e.kind, message: e.zh, message_en: e.en, data: e.data, repeats: e.repeats, last_at: iso(e.lastAt) })),
    });
  });

  // ---- inbox and opt-outs ---------------------------------------------------

  app.get('/api/inbox', (req: Req, res: Res) => {
    if (!requireAdmin(req, res)) return;
    const query = queryOf(req);
    const limit = Math.min(Math.max(Number(query.get('limit') ?? 50) || 50, 1), 1000);
    const before = query.get('before_id');
    const rows = deps.store.listInbox({ limit, ...(query.get('q') ? { q: query.get('q')! } : {}), ...(before && /^\d+$/.test(before) ? { beforeId: Number(before) } : {}) });
    sendJson(res, 200, {
      messages: rows.map((m) => ({
        id: m.id,
        from: displayNumber(m.from),
        from_raw: m.from,
        text: m.text,
        received_at: iso(m.receivedAt),
        sent_at: m.sentAt,
        complete: m.complete,
        parts: { received: m.partsReceived, total: m.partsTotal },
        action: m.action,
      })),
    });
  });

  const optOutJson = (o: OptOutRow) => ({ number: displayNumber(o.number), number_e164: o.number, created_at: iso(o.createdAt), source: o.source, reason: o.reason, inbox_id: o.inboxId });

  app.get('/api/optouts', (req: Req, res: Res) => {
    if (!requireAdmin(req, res)) return;
    const query = queryOf(req);
    const limit = Math.min(Math.max(Number(query.get('limit') ?? 1000) || 1000, 1), 100_000);
    sendJson(res, 200, { optouts: deps.store.listOptOuts({ limit, ...(query.get('q') ? { q: query.get('q')! } : {}) }).map(optOutJson) });
  });

  app.post('/api/optouts', async (req: Req, res: Res) => {
    if (!requireAdmin(req, res)) return;
    const raw = await readBody(req);
    let body: { number?: unknown; reason?: unknown } = {};
    try {
      body = raw === null ? {} : (JSON.parse(raw.toString('utf8') || '{}') as typeof body);
    } catch {
      return jsonError(res, 400, 'bad-json', '请求体应为 JSON，例如 {"number": "13800138000"}', 'body must be JSON, e.g. {"number": "13800138000"}');
    }
    const number = typeof body.number === 'string' ? normalizeNumber(body.number, true) : null;
    if (!number) return jsonError(res, 400, 'bad-number', '号码无效，例如 13800138000', 'invalid number, e.g. 13800138000');
    const now = deps.clock.now();
    const added = deps.store.addOptOut(number, 'admin', typeof body.reason === 'string' ? body.reason.slice(0, 200) : '', now);
    if (added) deps.store.addEvent(now, 'info', 'optout-admin', `管理员把 ${displayNumber(number)} 加入退订名单`, `admin added ${displayNumber(number)} to the opt-out list`);
    sendJson(res, added ? 201 : 200, { added, optout: optOutJson(deps.store.listOptOuts({ limit: 1, q: number })[0]!) });
  });

  app.delete('/api/optouts/:number', (req: Req, res: Res) => {
    if (!requireAdmin(req, res)) return;
    const number = normalizeNumber(decodeParam(req.params['number']) ?? '', true);
    if (!number || !deps.store.removeOptOut(number)) return jsonError(res, 404, 'not-opted-out', '该号码不在退订名单中', 'that number is not on the opt-out list');
    const now = deps.clock.now();
    deps.store.addEvent(now, 'info', 'optout-removed', `管理员把 ${displayNumber(number)} 移出退订名单`, `admin removed ${displayNumber(number)} from the opt-out list`);
    sendJson(res, 200, { removed: true });
  });

  // CSV with a BOM, so Excel on the shop's Windows PC shows the Chinese reasons correctly.
  app.get('/api/optouts.csv', (req: Req, res: Res) => {
    if (!requireAdmin(req, res)) return;
    const quote = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
    const lines = ['number,created_at,source,reason', ...deps.store.listOptOuts({ limit: 1_000_000 }).map((o) => [displayNumber(o.number), iso(o.createdAt)!, o.source, o.reason].map(quote).join(','))];
    res.setHeader('Content-Disposition', 'attachment; filename="optouts.csv"');
    sendText(res, 200, `\uFEFF${lines.join('\r\n')}\r\n`, 'text/csv; charset=utf-8');
  });

  app.post('/api/optouts/import', async (req: Req, res: Res) => {
    if (!requireAdmin(req, res)) return;
    const raw = await readBody(req);
    if (raw === null) return jsonError(res, 413, 'too-large', '文件太大（最多 64 KB），请分批导入', 'file too large (64 KB at most); import in parts');
    const now = deps.clock.now();
    let added = 0;
    let already = 0;
    const invalid: string[] = [];
    deps.store.transaction(() => {
      for (const line of decodeText(raw).replace(/^\uFEFF/, '').split(/\r\n|\n|\r/)) {
        const first = line.split(/[,，;\t]/)[0]!.replace(/^"|"$/g, '').trim();
        if (first === '' || /^number$|^号码$|^手机/i.test(first)) continue;
        const number = normalizeNumber(first, true);
        if (!number) invalid.push(first);
        else if (deps.store.addOptOut(number, 'import', 'CSV import', now)) added++;
        else already++;
      }
    });
    deps.store.addEvent(now, 'info', 'optout-import', `导入退订名单：新增 ${added} 个，已存在 ${already} 个，无效 ${invalid.length} 个`, `opt-out import: ${added} added, ${already} already listed, ${invalid.length} invalid`);
    sendJson(res, 200, { added, already, invalid });
  });

  deps.extraRoutes?.(app, { requireAdmin });

  // The 24-hour signal chart: one sample a minute while the box runs.
  const sampleSignal = () => {
    try {
      const modem = deps.status.snapshot().modem;
      deps.store.addSignalSample(Math.floor(deps.clock.now() / 60_000) * 60_000, modem.state === 'ready' ? modem.signal_csq : null);
    } catch (err) {
      deps.log.warn('signal sample failed', { error: String(err) });
    }
  };
  const sampler = setInterval(sampleSignal, 60_000);
  sampler.unref();
  // A first reading soon after the start, so a fresh box does not show an empty chart for a minute.
  const firstSample = setTimeout(sampleSignal, 15_000);
  firstSample.unref();

  const server = http.createServer({ keepAliveTimeout: 65_000, headersTimeout: 20_000, requestTimeout: 30_000 }, guardedListener(app, boundary));

  // Some WDGJ clients put raw UTF-8 or GBK bytes (even spaces) into the request
  // line, which Node's HTTP parser refuses. Such a request is answered here by
  // re-reading its request line byte by byte, and the connection closed.
  server.on('clientError', (err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Socket) => {
    const raw = err.rawPacket;
    const reply = (status: string, body: string) => {
      if (!socket.writable) return socket.destroy();
      const bytes = Buffer.from(body, 'utf8');
      socket.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${bytes.length}\r\nConnection: close\r\n\r\n${body}`);
    };
    const firstLine = raw ? raw.toString('latin1').split(/\r?\n/)[0]! : '';
    const requestLine = /^(GET|POST) (.+) HTTP\/1\.[01]$/.exec(firstLine);
    if (!requestLine) {
      if (err.code === 'ECONNRESET' || !socket.writable) return socket.destroy();
      return reply('400 Bad Request', 'bad request');
    }
    const target = escapeRawTarget(Buffer.from(requestLine[2]!, 'latin1'));
    const { params } = parseRequestTarget(target);
    if (!params.has('msg')) return reply('400 Bad Request', 'bad request');
    deps.wdgj.answer(params, clientAddress(socket)).then(
      (answer) => reply('200 OK', answer),
      (failure: unknown) => {
        httpMetrics.internalError();
        deps.log.error('request failed', { path: 'raw request line', error: failure instanceof Error ? (failure.stack ?? String(failure)) : String(failure) });
        reply('200 OK', SendReply.interfaceFailure);
      },
    );
  });
  server.on('close', () => {
    statusStreams.endAll();
    clearInterval(sampler);
    clearTimeout(firstSample);
  });
  liveStreamsOf.set(server, statusStreams);
  return server;
}
