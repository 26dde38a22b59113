import { randomBytes } from 'node:crypto';
import { safeEqual } from '../passwords.js';

/**
 * Browser sessions of the admin. The id is 32 random bytes in an HttpOnly,
 * SameSite=Strict cookie; each session has its own CSRF token that every
 * state-changing form or fetch must echo (a hidden field or the
 * X-CSRF-Token header). Sessions live in memory: a restart logs the owner
 * out, which is harmless on a box with one admin.
 */

export const SESSION_COOKIE = 'smsbox_session';
export const CSRF_HEADER = 'x-csrf-token';
export const CSRF_FIELD = '_csrf';

export interface Session {
  id: string;
  csrf: string;
  createdAt: number;
  /** Sliding: every request moves it `idleMs` ahead, up to `maxMs` after login. */
  expiresAt: number;
}

const MAX_SESSIONS = 100;

export class SessionStore {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly opts: { idleMs: number; maxMs: number } = { idleMs: 8 * 3600_000, maxMs: 7 * 24 * 3600_000 }) {}

  create(now: number): Session {
    this.prune(now);
    if (this.sessions.size >= MAX_SESSIONS) {
      const oldest = [...this.sessions.values()].sort((a, b) => a.createdAt - b.createdAt)[0]!;
      this.sessions.delete(oldest.id);
    }
    const session: Session = {
      id: randomBytes(32).toString('base64url'),
      csrf: randomBytes(24).toString('base64url'),
      createdAt: now,
      expiresAt: now + this.opts.idleMs,
    };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session for an id, its expiry moved ahead; null when unknown or expired. */
  get(id: string | undefined, now: number): Session | null {
    if (!id) return null;
    const session = this.sessions.get(id);
    if (!session) return null;
    if (session.expiresAt <= now) {
      this.sessions.delete(id);
      return null;
    }
    session.expiresAt = Math.min(now + this.opts.idleMs, session.createdAt + this.opts.maxMs);
    return session;
  }

  destroy(id: string | undefined): void {
    if (id) this.sessions.delete(id);
  }

  /** Logs every browser out (the admin password changed), except `keep`: the one that changed it. */
  clear(keep?: Session): void {
    for (const id of this.sessions.keys()) if (id !== keep?.id) this.sessions.delete(id);
  }

  get size(): number {
    return this.sessions.size;
  }

  private prune(now: number): void {
    for (const [id, s] of this.sessions) if (s.expiresAt <= now) this.sessions.delete(id);
  }
}

export function checkCsrf(session: Session, token: string | null | undefined): boolean {
  return typeof token === 'string' && token.length > 0 && safeEqual(token, session.csrf);
}

export function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    const name = part.slice(0, eq).trim();
    if (!name || cookies.has(name)) continue;
    try {
      cookies.set(name, decodeURIComponent(part.slice(eq + 1).trim()));
    } catch {
      cookies.set(name, part.slice(eq + 1).trim());
    }
  }
  return cookies;
}

export function sessionCookie(session: Session | null, now: number): string {
  if (!session) return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;
  const maxAge = Math.max(0, Math.floor((session.expiresAt - now) / 1000));
  return `${SESSION_COOKIE}=${session.id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}`;
}
