import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import type { Socket } from 'node:net';
import type polka from 'polka';
import type { Refusal } from '../operations/index.js';
import type { Lang } from './layout.js';
import { parseCookies } from './session.js';

/**
 * The HTTP helpers of src/web, in one module: replies, bodies, redirects, and
 * the error boundary every route runs behind.
 */

export type Req = polka.Request;
export type Res = http.ServerResponse;
export type Next = (err?: unknown) => void;

/** A request body is read up to this many bytes; a larger one is answered 413. */
export const MAX_BODY = 64 * 1024;

export function clientAddress(socket: Socket): string {
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

export function jsonError(res: Res, status: number, code: string, zh: string, en: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { error: code, message: zh, message_en: en }, headers);
}

/** An operation's refusal as the JSON API answers it: `{error, message, message_en}` with its HTTP status. */
export function sendRefusal(res: Res, refusal: Refusal, headers: Record<string, string> = {}): void {
  jsonError(res, refusal.httpStatus ?? 400, refusal.code, refusal.message, refusal.message_en, headers);
}

/** The page's language: `?lang=en|zh` (remembered in a cookie), else the cookie; Chinese by default. */
export function langOf(req: http.IncomingMessage, res: Res): Lang {
  const asked = queryOf(req).get('lang');
  if (asked === 'en' || asked === 'zh') res.setHeader('Set-Cookie', `smsbox_lang=${asked}; Path=/; SameSite=Strict; Max-Age=31536000`);
  return langOfRequest(req);
}

/** The page's language without remembering it (for answers that set no cookie). */
export function langOfRequest(req: http.IncomingMessage): Lang {
  const asked = queryOf(req).get('lang');
  if (asked === 'en' || asked === 'zh') return asked;
  return parseCookies(req.headers.cookie).get('smsbox_lang') === 'en' ? 'en' : 'zh';
}

/** The nonce of the page's own script: the last one, after everything the page shows. */
export function scriptNonce(html: string): string | null {
  const at = html.lastIndexOf('<script nonce="');
  if (at === -1) return null;
  return /^<script nonce="([A-Za-z0-9+/=]{16,})">/.exec(html.slice(at))?.[1] ?? null;
}

export function sendHtml(res: Res, status: number, html: string): void {
  const bytes = Buffer.from(html, 'utf8');
  const nonce = scriptNonce(html);
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Content-Length': bytes.length,
    'Cache-Control': 'no-store',
    // Only the page's own script runs (its nonce is new on every page); nothing loads from elsewhere.
    'Content-Security-Policy': `default-src 'self'; script-src ${nonce ? `'nonce-${nonce}'` : "'none'"}; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'`,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'same-origin',
  });
  res.end(bytes);
}

/**
 * A redirect to a path of this box. Header values must be ASCII (Node throws
 * ERR_INVALID_CHAR otherwise), so anything else in the path is percent-encoded.
 */
export function redirect(res: Res, location: string): void {
  res.writeHead(303, { Location: asciiLocation(location), 'Cache-Control': 'no-store' });
  res.end();
}

export function asciiLocation(location: string): string {
  return location.replace(/[^\x21-\x7e]/gu, (c) => {
    try {
      return encodeURIComponent(c);
    } catch {
      return '%EF%BF%BD'; // a lone surrogate: U+FFFD
    }
  });
}

/** The query string's parameters (never throws: malformed escapes are kept as they are). */
export function queryOf(req: http.IncomingMessage): URLSearchParams {
  const url = req.url ?? '/';
  const at = url.indexOf('?');
  return new URLSearchParams(at === -1 ? '' : url.slice(at + 1));
}

/** The path without its query string, as the client sent it. */
export function pathOf(req: http.IncomingMessage): string {
  return (req.url ?? '/').split('?')[0]!;
}

/** A path or query parameter, percent-decoded; null when its escapes are malformed. */
export function decodeParam(value: string | undefined): string | null {
  try {
    return decodeURIComponent(value ?? '');
  } catch {
    return null;
  }
}

/**
 * The client went away before its request body was complete (a dropped
 * upload, a closed browser tab). Not an error of the box: nothing to answer,
 * nothing to log.
 */
export class ClientGoneError extends Error {
  constructor() {
    super('client disconnected before the request body was complete');
    this.name = 'ClientGoneError';
  }
}

/** A body already read (by the WDGJ check of form POSTs) is kept here for the route that handles the request. */
const bodies = new WeakMap<http.IncomingMessage, Promise<Buffer | null>>();

/**
 * Reads a request body up to MAX_BODY bytes; null when it is larger. Safe to
 * call twice. Rejects with ClientGoneError when the client disconnects first.
 */
export function readBody(req: http.IncomingMessage): Promise<Buffer | null> {
  const known = bodies.get(req);
  if (known) return known;
  const reading = new Promise<Buffer | null>((resolve, reject) => {
    if (req.readableEnded) return resolve(Buffer.alloc(0));
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (value: Buffer | null | ClientGoneError) => {
      if (settled) return;
      settled = true;
      if (value instanceof ClientGoneError) reject(value);
      else resolve(value);
    };
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
      else if (size > MAX_BODY * 16) {
        // Far too large: cut off (the client sees the connection reset).
        finish(null);
        req.destroy();
      }
    });
    // A body over the limit is read to its end before the caller answers 413: closing a
    // socket that still has unread request bytes resets it, and the client may lose the reply.
    req.on('end', () => finish(size > MAX_BODY ? null : Buffer.concat(chunks)));
    req.on('error', () => finish(new ClientGoneError()));
    req.on('close', () => finish(new ClientGoneError()));
  });
  bodies.set(req, reading);
  return reading;
}

export async function readForm(req: http.IncomingMessage): Promise<URLSearchParams> {
  const body = await readBody(req);
  return new URLSearchParams(body === null ? '' : body.toString('utf8'));
}

// ---- the error boundary ------------------------------------------------------

export interface InternalErrorReply {
  /** The request id the reply and the log line carry. */
  requestId: string;
  err: unknown;
  req: Req;
  res: Res;
}

export interface ErrorBoundary {
  /** Answers a failed request (WDGJ `3`, a 500 page or JSON), logs it once, counts it. */
  fail(err: unknown, req: Req, res: Res): void;
}

export function newRequestId(): string {
  return randomBytes(6).toString('hex');
}

/** Whether the error only means the client left: then nobody is waiting for an answer. */
export function isClientGone(err: unknown, req: http.IncomingMessage): boolean {
  return err instanceof ClientGoneError || (req.destroyed && !req.complete);
}

type Registrar = (pattern: string, ...handlers: polka.Handler[]) => polka.Polka;

/**
 * Puts every handler registered on `app` (routes and middleware, sync or
 * async) behind `boundary`: a throw or a rejected promise becomes one answer
 * to that request, and the process runs on.
 */
export function guardApp(app: polka.Polka, boundary: ErrorBoundary): polka.Polka {
  const guard = (fn: polka.Handler): polka.Handler => (req, res, next) => {
    try {
      const out = fn(req, res, next);
      if (out && typeof (out as Promise<unknown>).then === 'function') {
        (out as Promise<unknown>).then(undefined, (err: unknown) => boundary.fail(err, req, res));
      }
      return out;
    } catch (err) {
      boundary.fail(err, req, res);
      return undefined;
    }
  };
  for (const method of ['get', 'post', 'put', 'delete'] as const) {
    const register = (app[method] as Registrar).bind(app);
    (app as unknown as Record<string, Registrar>)[method] = (pattern, ...handlers) => register(pattern, ...handlers.map(guard));
  }
  const use = app.use.bind(app) as (...args: unknown[]) => polka.Polka;
  (app as unknown as { use: (...args: unknown[]) => polka.Polka }).use = (...args: unknown[]) =>
    use(...args.map((a) => (typeof a === 'function' ? guard(a as polka.Handler) : a)));
  return app;
}

/** polka's handler inside a try: an error thrown by polka itself is answered like a route's. */
export function guardedListener(app: polka.Polka, boundary: ErrorBoundary): http.RequestListener {
  const handler = app.handler;
  return (req, res) => {
    try {
      handler(req, res);
    } catch (err) {
      boundary.fail(err, req as Req, res);
    }
  };
}
