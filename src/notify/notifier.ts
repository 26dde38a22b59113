import { createHash } from 'node:crypto';
import { CoalescingLoop } from '../coalescing-loop.js';
import { unrefTimers, type Clock, type Timers } from '../clock.js';
import type { Config } from '../config/config.js';
import { windowState } from '../scheduler/window.js';
import type { Logger } from '../log.js';
import { boundData, cut, EVENT_TEXT_MAX_CHARS, type EventLevel } from '../store/events.js';
import type { NotifyJobRow, NotifyStore } from '../store/notify.js';
import type { NotifyChannelConfig, NotifyChannelKind, NotifyEventKind } from './kinds.js';
import { isoText, KIND_TITLES, type BoxIdentity, type Outgoing } from './message.js';
import type { Platform, PlatformAnswer } from './platform.js';
import { dingtalk } from './platforms/dingtalk.js';
import { feishu } from './platforms/feishu.js';
import { smsText } from './platforms/sms.js';
import { webhook } from './platforms/webhook.js';
import { wecom } from './platforms/wecom.js';
import {
  initialState, isConditionKind, mergeAlerts, nextWake, step,
  type Alert, type ConditionKind, type KindState, type NotifyEvent, type OneShotKind, type StormInput,
} from './storm.js';

/**
 * The notifier: events in, one durable job per message and channel out, and
 * the delivery loop that posts them.
 *
 * - Each channel takes the events its `events` list names; the storm machine
 *   (storm.ts) decides, per channel and kind, what becomes a message.
 * - Deciding and queueing are one transaction with the machine's new state,
 *   so a restart neither repeats nor loses a message.
 * - Delivery is retried with backoff (30 s doubling, at most hourly) across
 *   restarts for up to two days, like the reply webhook. A channel's messages
 *   go out in order: only its oldest pending job is tried, so `recovered`
 *   never arrives before the fault it ends.
 * - A platform's answer is read for success: DingTalk or WeCom `errcode` 0,
 *   Feishu `code` 0; HTTP 200 with another code is a failure with that code.
 * - `sms` channels hand the text to the box's own outbox (queueSms) in the
 *   transaction that marks the job done: the owner gets it once. Outside the
 *   sending window their jobs wait here (merging per kind), not in the outbox.
 */

export const NOTIFY_HTTP_TIMEOUT_MS = 10_000;
export const NOTIFY_MAX_ATTEMPTS = 50;
export const NOTIFY_MAX_AGE_MS = 2 * 86_400_000;
/** Finished jobs are kept this long for the record, then purged. */
export const NOTIFY_HISTORY_MS = 30 * 86_400_000;
/** The loop wakes at least this often, whatever it expects. */
const MAX_SLEEP_MS = 60_000;

/** Retry after a failed delivery: 30 s doubling, at most an hour apart. */
export function notifyRetryDelay(attempts: number): number {
  return Math.min(30_000 * 2 ** Math.max(0, attempts - 1), 3_600_000);
}

const PLATFORMS: Record<Exclude<NotifyChannelKind, 'sms'>, Platform> = { wecom, dingtalk, feishu, webhook };

/** A channel's stable id: its kind and where it delivers, hashed (the URL holds the robot's key). */
export function channelId(channel: Pick<NotifyChannelConfig, 'kind' | 'url' | 'to'>): string {
  return createHash('sha256').update(`${channel.kind}\n${channel.kind === 'sms' ? channel.to : channel.url}`).digest('hex').slice(0, 16);
}

/** Where a channel delivers, as a page may show it: robot keys and the middle of numbers hidden. */
export function maskedTarget(channel: Pick<NotifyChannelConfig, 'kind' | 'url' | 'to'>): string {
  if (channel.kind === 'sms') return channel.to.replace(/^(\+\d{5})\d+(\d{4})$/, '$1****$2');
  try {
    const url = new URL(channel.url);
    // Keys are long (a Feishu hook id, a WeCom key); path words like open-apis are not.
    const hide = (s: string) => (s.length > 12 ? `${s.slice(0, 4)}…` : s);
    const path = url.pathname.split('/').map(hide).join('/');
    const query = [...url.searchParams].map(([k, v]) => `${k}=${v ? `${v.slice(0, 4)}…` : ''}`).join('&');
    return `${url.protocol}//${url.host}${path}${query ? `?${query}` : ''}`;
  } catch {
    return '…';
  }
}

export interface NotifierDeps {
  store: NotifyStore;
  clock: Clock;
  /** The channels (`notify`) and the time zone (`schedule.timezone`) are read from it each time. */
  config: () => Config;
  /** The box's name and status-page URL, put in every message. */
  box: () => BoxIdentity;
  /**
   * Queues an SMS to `to` through the box's own outbox (uncharged, inside the
   * sending window); synchronous and on the same database, so it commits with
   * the job that asked for it. Returns the outbox id.
   */
  queueSms: (to: string, text: string) => number | void;
  /** Something went into the outbox: wake the dispatcher. */
  onSmsQueued?: () => void;
  /** A line for the events log (a message given up after two days of failures). */
  addEvent?: (at: number, level: EventLevel, kind: string, zh: string, en: string, data?: unknown) => void;
  log?: Logger;
  /** The HTTP client; the global fetch by default. */
  fetch?: typeof fetch;
  /** How long a robot may take to answer; NOTIFY_HTTP_TIMEOUT_MS by default. */
  httpTimeoutMs?: number;
  timers?: Timers;
}

/** What an event source hands in: the box's words for what happened. */
export interface EventReport {
  zh: string;
  en: string;
  data?: Record<string, unknown>;
  /** When it happened; now by default. */
  at?: number;
}

/** One channel as `GET /api/notify` lists it. */
export interface ChannelListing {
  id: string;
  kind: NotifyChannelKind;
  /** The URL or number with its secret parts hidden. */
  target: string;
  signed: boolean;
  events: NotifyEventKind[];
  last: { at: number; ok: boolean; kind: string; error: string | null; answer: unknown } | null;
  /** Messages waiting for their next attempt. */
  pending: number;
  /** Messages given up on (kept 30 days). */
  failed: number;
}

export interface TestResult extends PlatformAnswer {
  channel: string;
  /** For `sms`: the outbox id of the queued test message. */
  messageId?: number | null;
}

type ChannelStates = Record<string, KindState>;

export class Notifier {
  private readonly states = new Map<string, ChannelStates>();
  private timer: unknown = null;
  private running = false;
  private readonly deliveries = new CoalescingLoop(async () => {
    try {
      await this.deliverOnce();
    } catch (err) {
      // A failing database (a full disk): the jobs stay pending and the next wake tries again.
      this.deps.log?.error('notification delivery failed', { error: String(err) });
    }
  }, () => this.schedule());
  private lastPurgeAt = 0;
  /** Jobs whose POST is under way. */
  private readonly inFlight = new Set<number>();

  constructor(private readonly deps: NotifierDeps) {}

  private get timers(): Timers {
    return this.deps.timers ?? unrefTimers;
  }

  private channels(): { id: string; config: NotifyChannelConfig }[] {
    return this.deps.config().notify.map((config) => ({ id: channelId(config), config }));
  }

  private stateOf(id: string): ChannelStates {
    let states = this.states.get(id);
    if (!states) {
      states = {};
      for (const [kind, value] of Object.entries(this.deps.store.loadState(id))) {
        if (value && typeof value === 'object') states[kind] = { ...initialState(), ...(value as Partial<KindState>) };
      }
      this.states.set(id, states);
    }
    return states;
  }

  /** A one-shot event (a call, a reply, an opt-out, the daily summary, a self-test). */
  event(kind: OneShotKind, report: EventReport): void {
    this.feed(kind, (event) => ({ type: 'event', event }), report);
  }

  /**
   * A condition's current state (fault, stuck, carrier-blocked, low-balance,
   * config-error): say it whenever known, repeatedly is fine; only changes and
   * timers produce messages. `report` describes it while active, and may add
   * a word on how it ended when not.
   */
  condition(kind: ConditionKind, active: boolean, report: EventReport = { zh: '', en: '' }): void {
    this.feed(kind, (event) => ({ type: 'condition', active, event: event as NotifyEvent<ConditionKind> }), report);
  }

  private feed(kind: OneShotKind | ConditionKind, input: (event: NotifyEvent) => StormInput, report: EventReport): void {
    // Said often (a condition on every status change): nothing to do when no channel takes it.
    if (!this.deps.config().notify.some((c) => c.events.includes(kind))) return;
    const now = this.deps.clock.now();
    const event: NotifyEvent = {
      kind,
      at: report.at ?? now,
      zh: cut(report.zh, EVENT_TEXT_MAX_CHARS),
      en: cut(report.en, EVENT_TEXT_MAX_CHARS),
      ...(report.data ? { data: boundData(report.data) as Record<string, unknown> } : {}),
    };
    try {
      const queued = this.decide(now, (id, config, states, advance) => {
        if (config.events.includes(kind)) advance(kind, input(event));
      });
      if (queued) void this.deliverDue();
      else this.schedule();
    } catch (err) {
      // The event's source (the inbound processor, the status model) must run on;
      // a condition is said again with the next change and decided then.
      this.deps.log?.error('notification not recorded', { kind, error: String(err) });
    }
  }

  /**
   * Runs storm-machine steps for the channels in one transaction: new states
   * and the jobs they ask for are committed together, and the in-memory copy
   * changes only once they are. Returns whether anything was queued.
   */
  private decide(
    now: number,
    visit: (id: string, config: NotifyChannelConfig, states: ChannelStates, advance: (kind: NotifyEventKind, input: StormInput) => void) => void,
  ): boolean {
    const changed = new Map<string, ChannelStates>();
    let queued = false;
    this.deps.store.transaction(() => {
      for (const { id, config } of this.channels()) {
        const states = this.stateOf(id);
        let next = states;
        visit(id, config, states, (kind, input) => {
          const before = next[kind] ?? initialState();
          const { state, send } = step(before, kind, input, now, { recovered: config.events.includes('recovered') });
          if (send.length === 0 && JSON.stringify(state) === JSON.stringify(before)) return;
          next = { ...next, [kind]: state };
          for (const alert of send) this.enqueue(id, alert, now);
          queued ||= send.length > 0;
        });
        if (next !== states) {
          this.deps.store.saveState(id, next as Record<string, unknown>);
          changed.set(id, next);
        }
      }
    });
    for (const [id, states] of changed) this.states.set(id, states);
    return queued;
  }

  /**
   * Queues a message, or merges it into the channel's newest waiting message
   * of the same kind (mergeAlerts): while a robot is down, what waits for it
   * stays one message per kind. A condition's message is not merged past a
   * waiting `recovered` (the new episode would overtake the end of the old).
   */
  private enqueue(id: string, alert: Alert, now: number): void {
    const { store } = this.deps;
    const last = store.lastPendingJob(id, alert.kind);
    const blocked = last !== null && isConditionKind(alert.kind) && store.pendingAfter(id, last.id, 'recovered');
    // A job being posted right now is not touched either: its outcome would swallow what was merged in.
    if (last && !blocked && !this.inFlight.has(last.id)) {
      const merged = mergeAlerts(JSON.parse(last.message) as Alert, alert);
      if (merged) {
        this.deps.store.replaceJobMessage(last.id, JSON.stringify(merged), now);
        return;
      }
    }
    this.deps.store.addJob(id, alert.kind, JSON.stringify(alert), now);
  }

  /** Timers of the storm machines (digests at the window's end, hourly reminders), then due deliveries. */
  async tick(): Promise<void> {
    const now = this.deps.clock.now();
    try {
      this.decide(now, (id, config, states, advance) => {
        for (const kind of Object.keys(states) as NotifyEventKind[]) {
          if (!config.events.includes(kind)) continue;
          const wake = nextWake(states[kind]!, kind);
          if (wake !== null && wake <= now) advance(kind, { type: 'tick' });
        }
      });
    } catch (err) {
      this.deps.log?.error('notification timers failed', { error: String(err) });
    }
    await this.deliverDue();
  }

  /** Starts the timers: what is due now (after a restart: retries, held digests, reminders) goes at once. */
  start(): void {
    this.running = true;
    void this.tick();
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
    await this.deliveries.idle();
  }

  private schedule(): void {
    if (!this.running || this.deliveries.running) return;
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    const now = this.deps.clock.now();
    const times: number[] = [];
    const nextJob = this.deps.store.nextJobAt();
    if (nextJob !== null) times.push(nextJob);
    for (const { id, config } of this.channels()) {
      for (const [kind, state] of Object.entries(this.stateOf(id))) {
        if (!config.events.includes(kind as NotifyEventKind)) continue;
        const wake = nextWake(state, kind as NotifyEventKind);
        if (wake !== null) times.push(wake);
      }
    }
    const delay = Math.max(0, Math.min(times.length ? Math.min(...times) - now : MAX_SLEEP_MS, MAX_SLEEP_MS));
    this.timer = this.timers.setTimeout(() => {
      this.timer = null;
      void this.tick();
    }, delay);
  }

  /**
   * Delivers every due job. One loop at a time: a call while one runs joins it
   * (and makes it look once more before it ends), so no message is posted
   * twice at once.
   */
  deliverDue(): Promise<void> {
    return this.deliveries.run();
  }

  private async deliverOnce(): Promise<void> {
    const { store, clock } = this.deps;
    const start = clock.now();
    if (start - this.lastPurgeAt > 86_400_000) {
      store.purge(start - NOTIFY_HISTORY_MS);
      this.lastPurgeAt = start;
    }
    // Each round takes the oldest pending job of every channel that is due, in
    // parallel (one slow robot does not hold up the others); a success lets
    // that channel's next one go in the following round, a failure holds the
    // channel until its retry.
    for (;;) {
      const channels = new Map(this.channels().map((c) => [c.id, c.config]));
      store.dropJobsExcept([...channels.keys()], clock.now());
      const now = clock.now();
      const window = windowState(now, this.deps.config().schedule.quietHours, this.timeZone);
      const due = store.dueJobs(now).filter((job) => {
        const channel = channels.get(job.channel);
        if (!channel) return false;
        if (channel.kind === 'sms' && !window.open) {
          // The outbox would hold it until morning anyway; waiting here instead lets
          // the night's messages of one kind merge, so the owner wakes to one SMS per kind.
          store.postponeJob(job.id, window.nextOpen ?? now + MAX_SLEEP_MS, now);
          return false;
        }
        return true;
      });
      if (due.length === 0) return;
      await Promise.all(due.map(async (job) => {
        this.inFlight.add(job.id);
        try {
          await this.deliverJob(job, channels.get(job.channel)!);
        } finally {
          this.inFlight.delete(job.id);
        }
      }));
    }
  }

  private async deliverJob(job: NotifyJobRow, channel: NotifyChannelConfig): Promise<void> {
    const { store, clock } = this.deps;
    const message = JSON.parse(job.message) as Outgoing;
    if (channel.kind === 'sms') {
      try {
        store.transaction(() => {
          const id = this.deps.queueSms(channel.to, smsText(message, this.deps.box(), this.timeZone));
          store.finishJob(job, clock.now(), { ok: true, answer: { message_id: id ?? null } });
        });
        this.deps.onSmsQueued?.();
      } catch (err) {
        this.failed(job, channel, { ok: false, status: null, code: null, message: errorText(err, channel), body: '' });
      }
      return;
    }
    const answer = await this.post(channel, message, job.id);
    if (answer.ok) store.finishJob(job, clock.now(), { ok: true, answer: answerRecord(answer) });
    else this.failed(job, channel, answer);
  }

  private failed(job: NotifyJobRow, channel: NotifyChannelConfig, answer: PlatformAnswer): void {
    const now = this.deps.clock.now();
    const attempts = job.attempts + 1;
    const giveUp = attempts >= NOTIFY_MAX_ATTEMPTS || now - job.createdAt >= NOTIFY_MAX_AGE_MS;
    const error = answerError(answer);
    this.deps.store.finishJob(job, now, { ok: false, error, answer: answerRecord(answer), retryAt: giveUp ? null : now + notifyRetryDelay(attempts) });
    this.deps.log?.warn('notification not delivered', { channel: job.channel, kind: channel.kind, attempts, error, given_up: giveUp });
    if (giveUp) {
      const title = KIND_TITLES[job.kind as NotifyEventKind]?.zh ?? job.kind;
      this.deps.addEvent?.(now, 'warn', 'notify-failed',
        `通知（${title}）发到 ${channel.kind} 渠道失败 ${attempts} 次，已放弃：${error}`,
        `notification (${job.kind}) to the ${channel.kind} channel failed ${attempts} times, given up: ${error}`,
        { channel: job.channel });
    }
  }

  private get timeZone(): string {
    return this.deps.config().schedule.timezone;
  }

  /** Renders and POSTs one message; never throws. */
  private async post(channel: NotifyChannelConfig, message: Outgoing, jobId: number | null): Promise<PlatformAnswer> {
    const platform = PLATFORMS[channel.kind as Exclude<NotifyChannelKind, 'sms'>];
    const request = platform.render(message, { box: this.deps.box(), timeZone: this.timeZone, now: this.deps.clock.now(), url: channel.url, secret: channel.secret, jobId });
    try {
      const response = await (this.deps.fetch ?? fetch)(request.url, {
        method: 'POST',
        headers: request.headers,
        body: request.body,
        signal: AbortSignal.timeout(this.deps.httpTimeoutMs ?? NOTIFY_HTTP_TIMEOUT_MS),
      });
      const body = await readLimited(response, 64 * 1024);
      return platform.parseAnswer(response.status, body);
    } catch (err) {
      return { ok: false, status: null, code: null, message: errorText(err, channel), body: '' };
    }
  }

  /**
   * 发送测试: posts a test message to one channel now (not through the queue,
   * no retry) and returns the platform's answer, e.g. DingTalk's errcode and
   * errmsg; recorded as the channel's last delivery. An `sms` channel queues
   * the test SMS in the outbox. null when no configured channel has that id.
   */
  async test(id: string): Promise<TestResult | null> {
    const channel = this.channels().find((c) => c.id === id)?.config;
    if (!channel) return null;
    const now = this.deps.clock.now();
    const box = this.deps.box();
    const message: Outgoing = {
      kind: 'test',
      about: null,
      reminder: false,
      at: now,
      since: null,
      zh: `这是一条测试消息：${box.name} 的通知渠道（${KIND_TITLE_OF_CHANNEL[channel.kind]}）设置正确。`,
      en: `This is a test message: the ${channel.kind} notification channel of ${box.name} works.`,
      events: [{ kind: 'selftest', at: now, zh: '测试消息', en: 'test message' }],
      more: 0,
      flaps: 0,
    };
    let result: TestResult;
    if (channel.kind === 'sms') {
      try {
        const messageId = this.deps.queueSms(channel.to, smsText(message, box, this.timeZone));
        this.deps.onSmsQueued?.();
        result = { channel: id, ok: true, status: null, code: null, message: '已排入短信发送队列，在发送时段内发出 / queued in the outbox, sent inside the sending window', body: '', messageId: messageId ?? null };
      } catch (err) {
        result = { channel: id, ok: false, status: null, code: null, message: errorText(err, channel), body: '', messageId: null };
      }
    } else {
      result = { channel: id, ...(await this.post(channel, message, null)) };
    }
    this.deps.store.recordDelivery(id, { at: this.deps.clock.now(), ok: result.ok, kind: 'test', error: result.ok ? null : answerError(result), answer: answerRecord(result) });
    return result;
  }

  /**
   * `GET /api/notify` (admin) as JSON: `{channels: [{id, kind, target, signed, events,
   * last: {at, ok, kind, error, answer: {status, code, message, body}} | null, pending, failed}]}`,
   * times as ISO 8601 in the box's time zone.
   */
  apiJson(): { channels: unknown[] } {
    return {
      channels: this.list().map((c) => ({ ...c, last: c.last === null ? null : { ...c.last, at: isoText(c.last.at, this.timeZone) } })),
    };
  }

  /** The channels for `GET /api/notify`: where they deliver (masked), what they take, and the last delivery. */
  list(): ChannelListing[] {
    return this.channels().map(({ id, config }) => {
      const row = this.deps.store.channel(id);
      let answer: unknown = null;
      try {
        answer = row.lastAnswer === null ? null : JSON.parse(row.lastAnswer);
      } catch {
        answer = null;
      }
      return {
        id,
        kind: config.kind,
        target: maskedTarget(config),
        signed: config.secret !== '',
        events: [...config.events],
        last: row.lastAt === null ? null : { at: row.lastAt, ok: row.lastOk === true, kind: row.lastKind ?? '', error: row.lastError, answer },
        pending: row.pending,
        failed: row.failed,
      };
    });
  }
}

const KIND_TITLE_OF_CHANNEL: Record<NotifyChannelKind, string> = {
  wecom: '企业微信群机器人',
  dingtalk: '钉钉群机器人',
  feishu: '飞书群机器人',
  webhook: 'Webhook',
  sms: '短信',
};

function answerRecord(answer: PlatformAnswer): { status: number | null; code: number | null; message: string; body: string } {
  return { status: answer.status, code: answer.code, message: answer.message, body: answer.body };
}

/** `HTTP 500`, `code 310000: sign not match`, `TypeError: fetch failed (…)`. */
function answerError(answer: PlatformAnswer): string {
  const http = answer.status !== null && (answer.status < 200 || answer.status >= 300) ? `HTTP ${answer.status}` : '';
  const parts = [http, answer.code !== null ? `code ${answer.code}` : '', answer.message === http ? '' : answer.message];
  return parts.filter(Boolean).join(': ') || 'failed';
}

/** An error as text, without the channel's URL or secret (the robot's key is in the URL). */
function errorText(err: unknown, channel: NotifyChannelConfig): string {
  let text = err instanceof Error ? `${err.name}: ${err.message}${err.cause instanceof Error ? ` (${err.cause.message})` : ''}` : String(err);
  for (const secret of [channel.url, channel.secret]) if (secret) text = text.split(secret).join('…');
  return cut(text, 300);
}

/** Reads at most `max` bytes of a response body as text (a robot's answer is small; a misconfigured URL may not be). */
async function readLimited(response: Response, max: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
      if (size >= max) break;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, max).toString('utf8');
}

