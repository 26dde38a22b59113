import type http from 'node:http';
import type { Lang } from './layout.js';

/**
 * The status page's live updates (Server-Sent Events), shared: one snapshot
 * per tick for every open stream, one payload per language, sent on change
 * and at least every `heartbeatMs`. The number of open streams is capped, so
 * a flood of them costs the box a fixed amount of work and memory.
 */

export const MAX_STATUS_STREAMS = 64;
/** About 25 updates a page has not read (50 s and more): then it is dropped, and reconnects when it reads again. */
const MAX_UNREAD_BYTES = 64 * 1024;

export interface StatusStreamOptions<S> {
  /** The current status (one call per tick, whatever the number of streams). */
  snapshot(): S;
  /** What changes only with the state, for the change test (the clock fields left out). */
  stableKey(status: S): string;
  /** The event's data for one language. */
  render(status: S, lang: Lang): string;
  tickMs?: number;
  heartbeatMs?: number;
  max?: number;
}

export class StatusStreams<S> {
  private readonly streams = new Map<http.ServerResponse, Lang>();
  private timer: NodeJS.Timeout | null = null;
  private lastKey = '';
  private lastSentAt = 0;
  private payloads = new Map<Lang, string>();
  private current: S | null = null;

  constructor(private readonly opts: StatusStreamOptions<S>) {}

  get size(): number {
    return this.streams.size;
  }

  /** Takes a stream, or returns false when the cap is reached (the caller answers 503). */
  open(res: http.ServerResponse, lang: Lang): boolean {
    if (this.streams.size >= (this.opts.max ?? MAX_STATUS_STREAMS)) return false;
    this.streams.set(res, lang);
    res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    res.write('retry: 3000\n\n');
    res.on('close', () => this.drop(res));
    if (this.streams.size === 1) {
      this.current = null;
      this.timer = setInterval(() => this.tick(), this.opts.tickMs ?? 250);
      this.timer.unref();
    }
    // A new page sees the state at once, from this tick's snapshot when there is one.
    let status = this.current;
    if (status === null) {
      status = this.refresh();
      this.lastKey = this.opts.stableKey(status);
      this.lastSentAt = Date.now();
    }
    res.write(this.payload(status, lang));
    return true;
  }

  /** Ends every stream (a stop): the pages reconnect to whatever answers next. */
  endAll(): void {
    for (const res of [...this.streams.keys()]) res.end();
    this.streams.clear();
    this.stopTimer();
  }

  private drop(res: http.ServerResponse): void {
    this.streams.delete(res);
    if (this.streams.size === 0) this.stopTimer();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private refresh(): S {
    const status = this.opts.snapshot();
    this.current = status;
    this.payloads = new Map();
    return status;
  }

  private payload(status: S, lang: Lang): string {
    let text = this.payloads.get(lang);
    if (text === undefined) {
      text = `event: status\ndata: ${this.opts.render(status, lang)}\n\n`;
      this.payloads.set(lang, text);
    }
    return text;
  }

  /** One tick: a snapshot, then an update to every stream when it changed or the heartbeat is due. (Public for tests.) */
  tick(): void {
    const status = this.refresh();
    const key = this.opts.stableKey(status);
    const now = Date.now();
    if (key === this.lastKey && now - this.lastSentAt < (this.opts.heartbeatMs ?? 2000)) return;
    this.lastKey = key;
    this.lastSentAt = now;
    for (const [res, lang] of this.streams) {
      // A client that stopped reading would make its unsent updates pile up in memory.
      if (res.writableLength > MAX_UNREAD_BYTES) res.destroy();
      else res.write(this.payload(status, lang));
    }
  }
}
