import http from 'node:http';
import type { Socket } from 'node:net';
import polka from 'polka';
import { escapeRawTarget, parseQueryString, parseRequestTarget, type Params } from '../protocol/request.js';
import { SendReply } from '../protocol/wdgj.js';
import type { StatusSnapshot } from '../status/status.js';
import { registerAdmin } from './admin.js';
import { registerApi } from './api.js';
import { registerBackup } from './backup.js';
import { registerUpdate } from './update.js';
import { registerInbox } from './inbox.js';
import { registerNotifySettings } from './notify-settings.js';
import { createAuth } from './auth.js';
import type { WebDeps } from './context.js';
import { escapeHtml as h } from './html.js';
import {
  clientAddress, guardApp, guardedListener, isClientGone, jsonError, langOf, langOfRequest, newRequestId, readBody, sendHtml, sendJson, sendText,
  type ErrorBoundary, type Next, type Req, type Res,
} from './http.js';
import { layout, localTime, tr, type Lang } from './layout.js';
import { HttpMetrics, renderMetrics, routeLabel } from './metrics.js';
import { overviewCards, renderHome, verdictOf, windowText } from './pages.js';
import { MAX_STATUS_STREAMS, StatusStreams } from './status-stream.js';

export type { WebDeps } from './context.js';

/** Connections held open at once (管家助理 uses one or a few; a page a few more). */
export const MAX_CONNECTIONS = 1024;

/** The status streams each server holds open, so that a stop can end them instead of waiting for them. */
const liveStreamsOf = new WeakMap<http.Server, StatusStreams<StatusSnapshot>>();

/** Ends the server's status streams (the page reconnects to whatever answers next). */
export function endLiveStreams(server: http.Server): void {
  liveStreamsOf.get(server)?.endAll();
}

/**
 * The box's HTTP server: the WDGJ adapter on any path that carries `Msg`, the
 * status page and admin pages, the JSON API, /metrics, all behind one error
 * boundary. Everything that touches the shop's data goes through deps.ops.
 */
export function createWebServer(deps: WebDeps): http.Server {
  const { ops } = deps;
  const statusStreams = new StatusStreams<StatusSnapshot>({
    snapshot: () => deps.status.snapshot(),
    stableKey: (status) => {
      const { uptime_s: _u, time: _t, ...stable } = status;
      return JSON.stringify(stable);
    },
    render: (status, lang) => JSON.stringify({
      status,
      verdict: verdictOf(status, lang),
      // One card per SIM (the snapshot's `modems`, or its one modem), for the overview's live cards.
      cards: overviewCards(status, deps.config()),
      window_text: windowText(status, deps.config(), lang),
      // The box's clock in its own time zone, for the page's "live" line (not the browser's clock or zone).
      time_text: localTime(Date.parse(status.time), deps.config().schedule.timezone).slice(11),
    }),
  });

  const wdgjRequests = new WeakSet<Res>();
  const answerWdgj = async (res: Res, params: Params, client: string) => {
    wdgjRequests.add(res);
    sendText(res, 200, await deps.wdgj.answer(params, client));
  };
  const httpMetrics = new HttpMetrics();
  const auth = createAuth(deps);

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

  // Counts every request and its latency for /metrics, by a route label from a fixed list.
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
    // A restore upload sent as a form (curl --data-binary without a Content-Type) is not read as one:
    // its route answers what to send instead.
    if (req.method === 'POST' && /application\/x-www-form-urlencoded/i.test(req.headers['content-type'] ?? '') && target.path !== '/api/restore') {
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
    const session = auth.sessionOf(req);
    const signal = ops.charts.signalSamples(deps.clock.now() - 24 * 3600_000);
    const events = session ? ops.events.latest(10) : null;
    const lastRunLog = session ? (deps.lastRunLog?.() ?? null) : null;
    sendHtml(res, 200, renderHome(deps.status.snapshot(), deps.config(), deps.status.recentWdgj(), lang, { csrf: session?.csrf ?? null, flash: auth.takeFlash(session) }, signal, events, lastRunLog));
  });

  auth.register(app);
  registerAdmin(app, deps, auth);
  registerInbox(app, deps, auth);
  registerNotifySettings(app, deps, auth);

  // ---- live status and metrics ----------------------------------------------

  /** Server-Sent Events: the status snapshot and its verdict, on every change and at least every 2 s. */
  app.get('/api/status/stream', (req: Req, res: Res) => {
    if (!statusStreams.open(res, langOf(req, res))) {
      jsonError(res, 503, 'too-many-streams', `同时打开的状态页过多（最多 ${MAX_STATUS_STREAMS} 个），请关闭不用的页面后再试`,
        `too many open status pages (${MAX_STATUS_STREAMS} at most); close the ones not in use and try again`, { 'Retry-After': '30' });
    }
  });

  app.get('/metrics', (_req: Req, res: Res) => {
    sendText(res, 200, renderMetrics(deps.status.snapshot(), ops.charts.statusTotals(), httpMetrics), 'text/plain; version=0.0.4; charset=utf-8');
  });

  // Public (管家助理's installer, update-apply's health check): the previous run's log only for an admin.
  app.get('/api/status', (req: Req, res: Res) => {
    const snapshot = deps.status.snapshot();
    if (!snapshot.last_run || !deps.lastRunLog || !auth.isAdmin(req)) return sendJson(res, 200, snapshot);
    sendJson(res, 200, { ...snapshot, last_run: { ...snapshot.last_run, log_tail: deps.lastRunLog() } });
  });

  registerApi(app, deps, auth);
  registerBackup(app, deps, auth);
  registerUpdate(app, deps, auth);
  deps.extraRoutes?.(app, { requireAdmin: auth.requireAdmin });

  // The 24-hour signal chart: one sample a minute while the box runs.
  const sampleSignal = () => {
    try {
      const modem = deps.status.snapshot().modem;
      ops.charts.recordSignal(modem.state === 'ready' ? modem.signal_csq : null);
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
  // Open connections are bounded too (idle keep-alive ones, slow ones): past this many, new ones are closed at once.
  server.maxConnections = MAX_CONNECTIONS;

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
