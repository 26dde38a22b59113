import { KIND_TITLES, PRODUCT, isoText, titleOf } from '../message.js';
import { ANSWER_BODY_MAX_CHARS, jsonRequest, type Platform } from '../platform.js';
import { webhookSignature } from '../sign.js';

/**
 * Our own JSON (kind = "webhook"), for a shop's own server or an automation
 * tool. The shape is a contract (README, "Notifications"); add fields, never
 * rename them:
 *
 * ```
 * { "source": "smsbox", "version": 1,
 *   "id": 17,                      // the same on every retry of one message: drop repeats by it (null for a test)
 *   "event": "fault",              // an event name of [[notify]] events, "recovered", or "test"
 *   "about": null,                 // for "recovered" and reminders: the condition, e.g. "fault"
 *   "reminder": false,
 *   "title": "【故障】smsbox · 店铺", "title_en": "[Fault] smsbox · 店铺",
 *   "text": "…", "text_en": "…",
 *   "at": "2026-12-01T10:02:00+08:00", "since": null,
 *   "count": 1, "flaps": 0,
 *   "events": [{ "event": "fault", "at": "…", "text": "…", "text_en": "…", "data": {…} }],
 *   "box": { "name": "店铺", "url": "http://192.168.1.50:8080/" } }
 * ```
 *
 * Any 2xx answer is success (the body is not read for a code); with a
 * `secret`, the request carries `X-Smsbox-Timestamp` and `X-Smsbox-Signature`
 * (src/notify/sign.ts).
 */
export const webhook: Platform = {
  render(message, ctx) {
    const title = titleOf(message, ctx.box);
    const payload = {
      source: PRODUCT,
      version: 1,
      id: ctx.jobId,
      event: message.kind,
      about: message.about,
      reminder: message.reminder,
      title: title.zh,
      title_en: title.en,
      kind_title: KIND_TITLES[message.kind].zh,
      text: message.zh,
      text_en: message.en,
      at: isoText(message.at, ctx.timeZone),
      since: message.since === null ? null : isoText(message.since, ctx.timeZone),
      count: message.events.length + message.more,
      flaps: message.flaps,
      events: message.events.map((e) => ({ event: e.kind, at: isoText(e.at, ctx.timeZone), text: e.zh, text_en: e.en, data: e.data ?? null })),
      box: { name: ctx.box.name, url: ctx.box.url },
    };
    const request = jsonRequest(ctx.url, payload);
    if (!ctx.secret) return request;
    const timestamp = Math.floor(ctx.now / 1000);
    request.headers['x-smsbox-timestamp'] = String(timestamp);
    request.headers['x-smsbox-signature'] = webhookSignature(ctx.secret, timestamp, request.body);
    return request;
  },
  parseAnswer(status, body) {
    const shown = body.length > ANSWER_BODY_MAX_CHARS ? `${body.slice(0, ANSWER_BODY_MAX_CHARS)}…` : body;
    const ok = status >= 200 && status < 300;
    return { ok, status, code: null, message: ok ? '' : `HTTP ${status}`, body: shown };
  },
};
