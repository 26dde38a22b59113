import type Database from 'better-sqlite3';
import { cut } from '../text.js';

export { cut };

/**
 * The events log: what a person reads on the overview and the events list.
 *
 * It is the one table a client without a password can make the box write to
 * (unknown `Msg` values, failed logins), so it is bounded three ways:
 * - a stored value is cut (texts to EVENT_TEXT_MAX_CHARS, each string in
 *   `data` to EVENT_VALUE_MAX_CHARS, `data` as a whole to EVENT_DATA_MAX_CHARS);
 * - repeats of one kind from one client within EVENT_COALESCE_MS are one row
 *   with a count (`repeats`, `last_at`);
 * - the table keeps at most EVENT_LOG_MAX_ROWS rows and EVENT_LOG_MAX_BYTES
 *   bytes of text, dropping the oldest first.
 * So such a client can grow the database by at most the size of a full events
 * table, EVENT_LOG_MAX_BYTES plus SQLite's per-row overhead (under
 * UNAUTHENTICATED_GROWTH_BOUND_BYTES), however long it keeps at it.
 *
 * Events are written in batches on the next turn of the event loop: a flood of
 * refused requests must not cost one disk flush each. They are what a person
 * reads, not what the box promised, so losing the last few milliseconds of
 * them in a power cut is acceptable.
 */

export type EventLevel = 'info' | 'warn' | 'error';

export interface EventRow {
  id: number;
  at: number;
  level: EventLevel;
  kind: string;
  zh: string;
  en: string;
  data: unknown;
  /** How many times this event happened (repeats from one client are one row). */
  repeats: number;
  /** When it last happened, for a row with repeats. */
  lastAt: number | null;
}

export const EVENT_VALUE_MAX_CHARS = 200;
export const EVENT_TEXT_MAX_CHARS = 400;
export const EVENT_DATA_MAX_CHARS = 2000;
export const EVENT_COALESCE_MS = 10 * 60_000;
export const EVENT_LOG_MAX_ROWS = 10_000;
export const EVENT_LOG_MAX_BYTES = 4 * 1024 * 1024;
/**
 * How much a client without a password can grow the database, in an hour or
 * in a year: a full events table (EVENT_LOG_MAX_BYTES of text) plus SQLite's
 * row, index and page overhead for EVENT_LOG_MAX_ROWS rows.
 */
export const UNAUTHENTICATED_GROWTH_BOUND_BYTES = 8 * 1024 * 1024;
/** Trimming takes the table this far under its bounds, so it does not run on every flush. */
const TRIM_TO = 0.9;
/** Coalescing keys remembered (kind × client); the oldest are forgotten first. */
const MAX_COALESCING_KEYS = 1000;

/** `data` with every string cut and arrays and objects kept short: what is stored. */
export function boundData(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return cut(value, EVENT_VALUE_MAX_CHARS);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= 3) return '…';
  if (Array.isArray(value)) {
    const items = value.slice(0, 20).map((v) => boundData(v, depth + 1));
    return value.length > 20 ? [...items, `… +${value.length - 20}`] : items;
  }
  const out: Record<string, unknown> = {};
  let n = 0;
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (n++ >= 20) break;
    out[cut(key, 40)] = boundData(v, depth + 1);
  }
  return out;
}

function toEvent(r: Record<string, unknown>): EventRow {
  return {
    id: r['id'] as number,
    at: r['at'] as number,
    level: r['level'] as EventLevel,
    kind: r['kind'] as string,
    zh: r['message_zh'] as string,
    en: r['message_en'] as string,
    data: r['data'] === null ? null : JSON.parse(r['data'] as string),
    repeats: r['repeats'] as number,
    lastAt: (r['last_at'] as number | null) ?? null,
  };
}

function utf8Bytes(text: string | null): number {
  return text === null ? 0 : Buffer.byteLength(text, 'utf8');
}

interface PendingEvent {
  at: number;
  level: EventLevel;
  kind: string;
  zh: string;
  en: string;
  data: string | null;
  repeats: number;
  lastAt: number | null;
  key: string | null;
}

export class EventLog {
  private pending: PendingEvent[] = [];
  /** kind × client → the row (or the pending entry) that its repeats are counted in. */
  private readonly coalescing = new Map<string, { id: number | null; pending: PendingEvent | null; at: number }>();
  /** Repeats counted into rows already written: id → [added repeats, last at]. */
  private readonly pendingRepeats = new Map<number, [number, number]>();
  private rows = 0;
  private bytes = 0;

  constructor(
    private readonly db: Database.Database,
    private readonly bounds: { maxRows: number; maxBytes: number } = { maxRows: EVENT_LOG_MAX_ROWS, maxBytes: EVENT_LOG_MAX_BYTES },
  ) {
    const totals = db.prepare('SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b FROM events').get() as { n: number; b: number };
    this.rows = totals.n;
    this.bytes = totals.b;
  }

  add(at: number, level: EventLevel, kind: string, zh: string, en: string, data?: unknown): void {
    const bounded = data === undefined ? undefined : boundData(data);
    let json = bounded === undefined ? null : JSON.stringify(bounded);
    if (json !== null && json.length > EVENT_DATA_MAX_CHARS) json = JSON.stringify({ truncated: true });
    const client = bounded && typeof bounded === 'object' && typeof (bounded as { client?: unknown }).client === 'string' ? (bounded as { client: string }).client : null;
    const key = client === null ? null : `${kind}\0${client}`;
    if (key !== null) {
      const seen = this.coalescing.get(key);
      if (seen && at - seen.at < EVENT_COALESCE_MS) {
        if (seen.pending) {
          seen.pending.repeats++;
          seen.pending.lastAt = at;
        } else if (seen.id !== null) {
          const counted = this.pendingRepeats.get(seen.id);
          this.pendingRepeats.set(seen.id, [(counted?.[0] ?? 0) + 1, at]);
        }
        this.scheduleFlush();
        return;
      }
    }
    const event: PendingEvent = { at, level, kind: cut(kind, 60), zh: cut(zh, EVENT_TEXT_MAX_CHARS), en: cut(en, EVENT_TEXT_MAX_CHARS), data: json, repeats: 1, lastAt: null, key };
    if (key !== null) {
      this.coalescing.delete(key);
      this.coalescing.set(key, { id: null, pending: event, at });
      if (this.coalescing.size > MAX_COALESCING_KEYS) this.coalescing.delete(this.coalescing.keys().next().value!);
    }
    this.pending.push(event);
    this.scheduleFlush();
  }

  private flushScheduled = false;
  private lastFailureLoggedAt = 0;

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      try {
        this.flush();
      } catch (err) {
        // A failing database (a full disk) must not take the process down from a timer;
        // the events wait in memory (bounded below) and are written once it recovers.
        const now = Date.now();
        if (now - this.lastFailureLoggedAt > 60_000) {
          this.lastFailureLoggedAt = now;
          process.stderr.write(`smsbox: cannot write events (said once a minute while it lasts): ${String(err)}\n`);
        }
        if (this.pending.length > 1000) this.pending.splice(0, this.pending.length - 1000);
      }
    });
  }

  flush(): void {
    if ((this.pending.length === 0 && this.pendingRepeats.size === 0) || !this.db.open) return;
    const batch = this.pending;
    const repeats = [...this.pendingRepeats];
    const insert = this.db.prepare('INSERT INTO events (at, level, kind, message_zh, message_en, data, repeats, last_at, bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    const addRepeats = this.db.prepare('UPDATE events SET repeats = repeats + ?, last_at = ? WHERE id = ?');
    let added = 0;
    let addedBytes = 0;
    const ids: number[] = [];
    this.db.transaction(() => {
      for (const e of batch) {
        const size = utf8Bytes(e.kind) + utf8Bytes(e.zh) + utf8Bytes(e.en) + utf8Bytes(e.data);
        ids.push(Number(insert.run(e.at, e.level, e.kind, e.zh, e.en, e.data, e.repeats, e.lastAt, size).lastInsertRowid));
        added++;
        addedBytes += size;
      }
      for (const [id, [n, lastAt]] of repeats) addRepeats.run(n, lastAt, id);
    })();
    // Only once committed: a failed flush keeps everything for the next one.
    this.pending = [];
    this.pendingRepeats.clear();
    batch.forEach((e, i) => {
      if (e.key === null) return;
      const entry = this.coalescing.get(e.key);
      if (entry?.pending === e) {
        entry.pending = null;
        entry.id = ids[i]!;
      }
    });
    this.rows += added;
    this.bytes += addedBytes;
    if (this.rows > this.bounds.maxRows || this.bytes > this.bounds.maxBytes) this.trim();
  }

  /** Drops the oldest rows until the table is well under both bounds. */
  private trim(): void {
    const targetRows = Math.floor(this.bounds.maxRows * TRIM_TO);
    const targetBytes = Math.floor(this.bounds.maxBytes * TRIM_TO);
    let rows = this.rows;
    let bytes = this.bytes;
    let lastId: number | null = null;
    for (const row of this.db.prepare('SELECT id, bytes FROM events ORDER BY id').iterate() as Iterable<{ id: number; bytes: number }>) {
      if (rows <= targetRows && bytes <= targetBytes) break;
      rows--;
      bytes -= row.bytes;
      lastId = row.id;
    }
    if (lastId === null) return;
    this.db.prepare('DELETE FROM events WHERE id <= ?').run(lastId);
    this.rows = rows;
    this.bytes = bytes;
    for (const [key, entry] of this.coalescing) if (entry.id !== null && entry.id <= lastId) this.coalescing.delete(key);
  }

  /** Events older than `before` go (daily housekeeping). */
  deleteOlderThan(before: number): void {
    this.flush();
    const gone = this.db.prepare('SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b FROM events WHERE at < ?').get(before) as { n: number; b: number };
    if (gone.n === 0) return;
    this.db.prepare('DELETE FROM events WHERE at < ?').run(before);
    this.rows -= gone.n;
    this.bytes -= gone.b;
  }

  list(limit: number): EventRow[] {
    this.flushIfPossible();
    return (this.db.prepare('SELECT * FROM events ORDER BY id DESC LIMIT ?').all(limit) as Record<string, unknown>[]).map(toEvent);
  }

  /** Events of one kind that happened in [from, to], oldest first (a walk of the time index, not of the table). */
  ofKind(kind: string, from: number, to: number, limit = 100): EventRow[] {
    this.flushIfPossible();
    return (this.db.prepare('SELECT * FROM events WHERE at >= ? AND at <= ? AND kind = ? ORDER BY id LIMIT ?').all(from, to, kind, limit) as Record<string, unknown>[]).map(toEvent);
  }

  private flushIfPossible(): void {
    try {
      this.flush();
    } catch {
      // A full disk: show what is written; the rest follows once there is space.
    }
  }

  /** What the table holds now, for /metrics and the tests of its bound. */
  totals(): { rows: number; bytes: number } {
    return { rows: this.rows, bytes: this.bytes };
  }
}
