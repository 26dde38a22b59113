import http from 'node:http';
import type { Socket } from 'node:net';
import polka from 'polka';
import type { Clock } from '../clock.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../log.js';
import { parseYuan, formatYuan } from '../money.js';
import { displayNumber } from '../protocol/numbers.js';
import { escapeRawTarget, parseQueryString, parseRequestTarget, type Params } from '../protocol/request.js';
import { safeEqual } from '../passwords.js';
import type { StatusModel } from '../status/status.js';
import { MESSAGE_STATUSES, type MessageStatus, type Store } from '../store/store.js';
import { LoginLimiter } from './login-limiter.js';
import { renderHome } from './pages.js';
import type { WdgjEndpoint } from './wdgj.js';

type Req = polka.Request;
type Res = http.ServerResponse;
type Next = (err?: unknown) => void;

export interface WebDeps {
  store: Store;
  status: StatusModel;
  wdgj: WdgjEndpoint;
  clock: Clock;
  config: () => Config;
  log: Logger;
  /** Extra routes (the simulator's API in simulator mode). */
  extraRoutes?: (app: polka.Polka) => void;
}

const MAX_BODY = 64 * 1024;

function clientAddress(socket: Socket): string {
  const address = socket.remoteAddress ?? '';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

export function sendText(res: Res, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  const bytes = Buffer.from(body, 'utf8');
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': bytes.length, 'Cache-Control': 'no-store' });
  res.end(bytes);
}

export function sendJson(res: Res, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const bytes = Buffer.from(JSON.stringify(value), 'utf8');
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': bytes.length, 'Cache-Control': 'no-store', ...headers });
  res.end(bytes);
}

/** Reads a request body up to MAX_BODY bytes; null when it is larger. */
export function readBody(req: http.IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        resolve(null);
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function jsonError(res: Res, status: number, code: string, zh: string, en: string): void {
  sendJson(res, status, { error: code, message: zh, message_en: en });
}

export function createWebServer(deps: WebDeps): http.Server {
  const adminLimiter = new LoginLimiter(() => {
    const s = deps.config().security;
    return { allowed: s.loginFailuresAllowed, lockMs: s.loginLockMinutes * 60_000 };
  });

  const answerWdgj = async (res: Res, params: Params, client: string) => {
    sendText(res, 200, await deps.wdgj.answer(params, client));
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

  const app = polka({
    onError: (err: unknown, req: Req, res: Res) => {
      deps.log.error('http handler failed', { path: req.path, error: String(err) });
      if (!res.headersSent) jsonError(res, 500, 'internal', '内部错误，详见日志', 'internal error, see the log');
      else res.end();
    },
    onNoMatch: (req: Req, res: Res) => {
      jsonError(res, 404, 'not-found', `没有这个地址：${req.path}`, `no such path: ${req.path}`);
    },
  });

  // WDGJ requests are answered on any path, GET or form POST, whenever they carry Msg.
  app.use(async (req: Req, res: Res, next: Next) => {
    const target = parseRequestTarget(Buffer.from(req.url ?? '/', 'latin1').toString('latin1'));
    let params = target.params;
    if (req.method === 'POST' && /application\/x-www-form-urlencoded/i.test(req.headers['content-type'] ?? '')) {
      const body = await readBody(req);
      if (body === null) return sendText(res, 413, '3');
      params = parseQueryString(body.toString('latin1'), new Map(params));
    }
    if (params.has('msg')) return answerWdgj(res, params, clientAddress(req.socket));
    next();
  });

  app.get('/', (req: Req, res: Res) => {
    const lang = new URL(req.url ?? '/', 'http://x').searchParams.get('lang') === 'en' ? 'en' : 'zh';
    sendText(res, 200, renderHome(deps.status.snapshot(), deps.config(), deps.status.recentWdgj(), lang), 'text/html; charset=utf-8');
  });

  app.get('/api/status', (_req: Req, res: Res) => sendJson(res, 200, deps.status.snapshot()));

  app.get('/api/messages', (req: Req, res: Res) => {
    if (!requireAdmin(req, res)) return;
    const query = new URL(req.url ?? '/', 'http://x').searchParams;
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
    sendJson(res, 200, {
      messages: messages.map((m) => ({
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
        created_at: new Date(m.createdAt).toISOString(),
        sent_at: m.sentAt === null ? null : new Date(m.sentAt).toISOString(),
        delivered_at: m.deliveredAt === null ? null : new Date(m.deliveredAt).toISOString(),
        error: m.lastError,
      })),
    });
  });

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
    const user = decodeURIComponent(req.params['user'] ?? '');
    if (!deps.store.getAccount(user)) return jsonError(res, 404, 'no-account', `没有账号 ${user}`, `no account ${user}`);
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
    const user = decodeURIComponent(req.params['user'] ?? '');
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
      events: deps.store.listEvents(200).map((e) => ({ id: e.id, at: new Date(e.at).toISOString(), level: e.level, kind: e.kind, message: e.zh, message_en: e.en, data: e.data })),
    });
  });

  deps.extraRoutes?.(app);

  const server = http.createServer({ keepAliveTimeout: 65_000, headersTimeout: 20_000, requestTimeout: 30_000 }, app.handler as http.RequestListener);

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
    void deps.wdgj.answer(params, clientAddress(socket)).then((answer) => reply('200 OK', answer));
  });
  return server;
}
