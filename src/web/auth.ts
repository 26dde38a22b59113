import type polka from 'polka';
import type { Refusal } from '../operations/index.js';
import type { WebDeps } from './context.js';
import { escapeHtml as h } from './html.js';
import { clientAddress, jsonError, langOf, pathOf, queryOf, readForm, redirect, sendHtml, sendRefusal, type Req, type Res } from './http.js';
import { csrfField, layout, tr, type Lang, type PageContext } from './layout.js';
import { CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE, SessionStore, checkCsrf, parseCookies, sessionCookie, type Session } from './session.js';

/**
 * Who may do what on the web side: browser sessions (cookie + CSRF token),
 * HTTP Basic for scripts, and the factory admin password, which with a real
 * modem opens nothing but the page that replaces it. The password itself is
 * checked by the adminLogin operation (one lock-out for both ways in).
 */

export type Flash = NonNullable<PageContext['flash']>;

/** Where a browser logged in with the factory password is sent (with a real modem). */
export const CHANGE_PASSWORD_PATH = '/settings/password';
/** The form that changes the admin password (the settings page's, reused). */
const ADMIN_PASSWORD_FORM = '/settings/admin';

export interface Auth {
  /** The session of a logged-in browser; null when none, or while it may only replace the factory password. */
  sessionOf(req: Req): Session | null;
  /** For admin pages: the session, or null after redirecting (to /login, or to the page that replaces the factory password). */
  requirePage(req: Req, res: Res): Session | null;
  /**
   * For form posts: the session and the form when logged in and the CSRF field
   * matches; answers itself otherwise.
   */
  requireForm(req: Req, res: Res): Promise<{ session: Session; form: URLSearchParams } | null>;
  /** For the JSON API: HTTP Basic `admin:<password>`, or a browser session (changes with X-CSRF-Token). Answers itself when refused. */
  requireAdmin(req: Req, res: Res): boolean;
  /**
   * For public pages that show an admin more (GET only): a logged-in browser
   * or a right HTTP Basic admin password. Never answers; anything else is
   * simply not an admin (a wrong password still counts toward the lock-out).
   */
  isAdmin(req: Req): boolean;
  flash(session: Session, kind: Flash['kind'], text: string): void;
  /** A refusal of an operation as the flash of the next page, in the page's language. */
  flashRefusal(session: Session, lang: Lang, refusal: Refusal): void;
  takeFlash(session: Session | null): Flash | null;
  /** Logs every other browser out (the admin password changed). */
  resetSessions(keep: Session): void;
}

export function createAuth(deps: WebDeps): Auth & { register(app: polka.Polka): void } {
  const sessions = new SessionStore();
  const flashes = new WeakMap<Session, Flash>();
  const mustChange = () => deps.ops.adminLogin.mustChangePassword();

  /** Any live session, also one that may only replace the factory password. */
  const anySessionOf = (req: Req): Session | null => sessions.get(parseCookies(req.headers.cookie).get(SESSION_COOKIE), deps.clock.now());
  const sessionOf = (req: Req): Session | null => (mustChange() ? null : anySessionOf(req));

  const flash = (session: Session, kind: Flash['kind'], text: string) => void flashes.set(session, { kind, text });
  const takeFlash = (session: Session | null): Flash | null => {
    if (!session) return null;
    const taken = flashes.get(session) ?? null;
    flashes.delete(session);
    return taken;
  };

  const requirePage = (req: Req, res: Res): Session | null => {
    const session = sessionOf(req);
    if (session) return session;
    if (anySessionOf(req)) redirect(res, CHANGE_PASSWORD_PATH);
    else redirect(res, `/login?next=${encodeURIComponent(req.url ?? '/')}`);
    return null;
  };

  const requireForm = async (req: Req, res: Res): Promise<{ session: Session; form: URLSearchParams } | null> => {
    const form = await readForm(req);
    // With the factory admin password the only form that works is the one replacing it.
    const session = pathOf(req) === ADMIN_PASSWORD_FORM ? anySessionOf(req) : sessionOf(req);
    if (!session) {
      redirect(res, anySessionOf(req) ? CHANGE_PASSWORD_PATH : '/login');
      return null;
    }
    if (!checkCsrf(session, form.get(CSRF_FIELD))) {
      const lang = langOf(req, res);
      sendHtml(res, 403, layout({ lang, csrf: session.csrf, path: '' }, tr(lang, '请求已过期', 'Request expired'),
        `<p>${h(tr(lang, '表单的安全令牌不对（页面可能已过期）。请返回、刷新页面后再试。', 'The form\'s security token does not match (the page may be stale). Go back, reload and try again.'))}</p>`));
      return null;
    }
    return { session, form };
  };

  const requireAdmin = (req: Req, res: Res): boolean => {
    const authorization = req.headers.authorization;
    if (!authorization) {
      const session = anySessionOf(req);
      if (session) {
        if (mustChange()) {
          sendRefusal(res, deps.ops.adminLogin.factoryRefusal());
          return false;
        }
        // A browser session authorises the JSON API too; changes must carry its CSRF token.
        if (req.method === 'GET' || req.method === 'HEAD' || checkCsrf(session, req.headers[CSRF_HEADER] as string | undefined)) return true;
        jsonError(res, 403, 'csrf', '缺少或错误的 CSRF 令牌（X-CSRF-Token），请刷新页面后重试', 'missing or wrong CSRF token (X-CSRF-Token); reload the page and try again');
        return false;
      }
    }
    const credentials = basicCredentials(authorization);
    if (credentials) {
      const checked = deps.ops.adminLogin.check({ ...credentials, client: clientAddress(req.socket) });
      if (checked.ok) {
        if (!checked.value.mustChange) return true;
        sendRefusal(res, deps.ops.adminLogin.factoryRefusal());
        return false;
      }
      if (checked.code === 'login-locked') {
        jsonError(res, 429, 'too-many-attempts', checked.message, checked.message_en);
        return false;
      }
    }
    res.setHeader('WWW-Authenticate', 'Basic realm="smsbox", charset="UTF-8"');
    jsonError(res, 401, 'unauthorized', '需要管理员登录（用户名 admin，密码见配置文件 [admin] password）', 'admin login required (user "admin", password from [admin] password in the config)');
    return false;
  };

  const isAdmin = (req: Req): boolean => {
    if (mustChange()) return false;
    const authorization = req.headers.authorization;
    if (!authorization) return sessionOf(req) !== null;
    const credentials = basicCredentials(authorization);
    if (!credentials) return false;
    const checked = deps.ops.adminLogin.check({ ...credentials, client: clientAddress(req.socket) });
    return checked.ok && !checked.value.mustChange;
  };

  /** Same-origin check for logins (no session, so no CSRF token yet): a cross-site form carries another Origin. */
  const sameOrigin = (req: Req): boolean => {
    const origin = req.headers.origin;
    if (!origin || origin === 'null') return origin !== 'null';
    try {
      return new URL(origin).host === req.headers.host;
    } catch {
      return false;
    }
  };

  const pageContext = (lang: Lang, path: string, session: Session | null, flashed: Flash | null): PageContext => {
    const snapshot = deps.status.snapshot();
    return { lang, csrf: session?.csrf ?? null, path, flash: flashed, simulated: snapshot.modem.simulated, configError: snapshot.config_error };
  };

  const loginPage = (lang: Lang, error: string | null, next: string) => layout(pageContext(lang, '/login', null, error ? { kind: 'error', text: error } : null),
    tr(lang, '管理员登录', 'Admin login'),
    `<section style="max-width:24rem"><form method="post" action="/login"><input type="hidden" name="next" value="${h(next)}">
<label>${h(tr(lang, '管理密码（配置文件 [admin] password）', 'Admin password ([admin] password in the config)'))}<br><input type="password" name="password" autocomplete="current-password" autofocus required></label>
<p><button type="submit">${h(tr(lang, '登录', 'Log in'))}</button></p></form></section>`);

  const safeNext = (next: string | null): string => (next && /^\/(?!\/)[^\s\\]*$/.test(next) && !next.startsWith('/login') ? next : '/');

  const register = (app: polka.Polka) => {
    app.get('/login', (req: Req, res: Res) => {
      const lang = langOf(req, res);
      sendHtml(res, 200, loginPage(lang, null, safeNext(queryOf(req).get('next'))));
    });

    app.post('/login', async (req: Req, res: Res) => {
      const lang = langOf(req, res);
      const form = await readForm(req);
      const next = safeNext(form.get('next'));
      if (!sameOrigin(req)) return sendHtml(res, 403, loginPage(lang, tr(lang, '请从本机页面登录', 'log in from the box\'s own page'), next));
      const checked = deps.ops.adminLogin.check({ password: form.get('password') ?? '', client: clientAddress(req.socket) });
      if (!checked.ok) return sendHtml(res, checked.httpStatus ?? 401, loginPage(lang, tr(lang, checked.message, checked.message_en), next));
      const now = deps.clock.now();
      const old = anySessionOf(req);
      if (old) sessions.destroy(old.id); // a fresh id at login: a planted cookie gains nothing
      const session = sessions.create(now);
      res.setHeader('Set-Cookie', sessionCookie(session, now));
      redirect(res, checked.value.mustChange ? CHANGE_PASSWORD_PATH : next);
    });

    app.post('/logout', async (req: Req, res: Res) => {
      const form = await readForm(req);
      const session = anySessionOf(req);
      if (session && checkCsrf(session, form.get(CSRF_FIELD))) sessions.destroy(session.id);
      res.setHeader('Set-Cookie', sessionCookie(null, deps.clock.now()));
      redirect(res, '/');
    });

    // The factory admin password with a real modem: this page is all it opens.
    app.get(CHANGE_PASSWORD_PATH, (req: Req, res: Res) => {
      const session = anySessionOf(req);
      if (!session) return redirect(res, `/login?next=${encodeURIComponent(CHANGE_PASSWORD_PATH)}`);
      const lang = langOf(req, res);
      const ctx = pageContext(lang, CHANGE_PASSWORD_PATH, session, takeFlash(session));
      const forced = mustChange();
      sendHtml(res, 200, layout(ctx, tr(lang, '设置新的管理密码', 'Choose a new admin password'), `<section style="max-width:30rem">
${forced ? `<p class="warn" id="factory-admin">${h(tr(lang,
    '本机接有真实短信模块，出厂管理密码 smsbox 不能使用：局域网里任何读过说明书的人都能用它。请设置新的管理密码，它会写入配置文件，之后才能使用管理页面。',
    'A real modem is fitted, so the factory admin password smsbox cannot be used: anyone on the LAN who read the manual knows it. Choose a new admin password; it is written to the config file, and then the admin pages open.'))}</p>` : ''}
<form method="post" action="${ADMIN_PASSWORD_FORM}">${csrfField(ctx)}
<label>${h(tr(lang, '新密码（至少 6 个字符）', 'New password (at least 6 characters)'))}<br><input type="password" name="password" autocomplete="new-password" required></label>
<label>${h(tr(lang, '再输入一次', 'Repeat'))}<br><input type="password" name="confirm" autocomplete="new-password" required></label>
<p><button type="submit">${h(tr(lang, '保存', 'Save'))}</button></p></form></section>`));
    });
  };

  return {
    sessionOf,
    requirePage,
    requireForm,
    requireAdmin,
    isAdmin,
    flash,
    flashRefusal: (session, lang, refusal) => flash(session, 'error', tr(lang, refusal.message, refusal.message_en)),
    takeFlash,
    resetSessions: (keep) => sessions.clear(keep),
    register,
  };
}

/** The user and password of an HTTP Basic `Authorization` header; null when it is none. */
function basicCredentials(authorization: string | undefined): { user: string; password: string } | null {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(authorization ?? '');
  if (!match) return null;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return { user: colon === -1 ? decoded : decoded.slice(0, colon), password: colon === -1 ? '' : decoded.slice(colon + 1) };
}
