import type { BoxIdentity, Outgoing } from './message.js';

/**
 * One module per platform (platforms/*.ts) turns a message into that
 * platform's own request and reads its answer. A platform's answer is read
 * for success, not only its HTTP status: the robots answer 200 with an error
 * code when a signature, a keyword or the rate is wrong.
 */

export interface RenderContext {
  box: BoxIdentity;
  timeZone: string;
  /** The moment of this attempt: signatures carry a fresh timestamp on every retry. */
  now: number;
  url: string;
  secret: string;
  /** The queue row's id (our webhook carries it so a receiver can drop repeats); null for a test. */
  jobId: number | null;
}

export interface HttpRequestSpec {
  url: string;
  headers: Record<string, string>;
  body: string;
}

/** What the platform said, as the settings page and `GET /api/notify` show it. */
export interface PlatformAnswer {
  ok: boolean;
  /** HTTP status; null when no answer came (connection refused, timeout). */
  status: number | null;
  /** The platform's own code (DingTalk/WeCom `errcode`, Feishu `code`); null when it has none. */
  code: number | null;
  /** The platform's own words (`errmsg`, `msg`), or what went wrong. */
  message: string;
  /** The start of the answer's body, for a person to read. */
  body: string;
}

export interface Platform {
  render(message: Outgoing, ctx: RenderContext): HttpRequestSpec;
  parseAnswer(status: number, body: string): PlatformAnswer;
}

export const ANSWER_BODY_MAX_CHARS = 300;

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' } as const;

export function jsonRequest(url: string, payload: unknown, headers: Record<string, string> = {}): HttpRequestSpec {
  return { url, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(payload) };
}

/**
 * Reads a robot's JSON answer: `codeOf` finds its success code (0 = delivered).
 * Anything else — another HTTP status, a body that is not JSON, a missing or
 * non-zero code — is a failure carrying what the platform said.
 */
export function parseRobotAnswer(status: number, body: string, codeOf: (json: Record<string, unknown>) => { code: number | null; message: string }): PlatformAnswer {
  const shown = body.length > ANSWER_BODY_MAX_CHARS ? `${body.slice(0, ANSWER_BODY_MAX_CHARS)}…` : body;
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = null;
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    return { ok: false, status, code: null, message: status >= 200 && status < 300 ? '应答不是 JSON / the answer is not JSON' : `HTTP ${status}`, body: shown };
  }
  const { code, message } = codeOf(json as Record<string, unknown>);
  if (status < 200 || status >= 300) return { ok: false, status, code, message: message || `HTTP ${status}`, body: shown };
  if (code === null) return { ok: false, status, code, message: message || '应答里没有结果代码 / no result code in the answer', body: shown };
  return { ok: code === 0, status, code, message, body: shown };
}

export const numberOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
export const textOf = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : JSON.stringify(v));
