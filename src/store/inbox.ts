import { likePattern, type Db, type Row } from './database.js';

/** The inbox table family: received messages (reassembled from their parts) and webhook forwarding jobs. */

export interface InboxRow {
  id: number;
  /** `sms`, or `call`: a call the box hung up (no text; `from` is '' when the number was withheld). */
  kind: 'sms' | 'call';
  receivedAt: number;
  from: string;
  text: string;
  sentAt: string | null;
  partsTotal: number;
  partsReceived: number;
  complete: boolean;
  action: string | null;
  processed: boolean;
  /** The SIM that received it (a pool of modems); null before there were names. */
  modem: string | null;
  /** The message this one answers: the last one sent to its number within 7 days before it arrived. */
  replyTo: ReplyContext | null;
}

/** The notice a reply answers (issue 18: replies in context). */
export interface ReplyContext {
  /** Its outbox id. */
  id: number;
  text: string;
  sentAt: number;
}

/** How far back a reply is linked to the message it answers. */
export const REPLY_CONTEXT_MS = 7 * 86_400_000;

/** Every inbox query reads the answered message with it. */
const SELECT_INBOX = `SELECT i.*, o.body AS reply_body, o.sent_at AS reply_sent_at FROM inbox i LEFT JOIN outbox o ON o.id = i.reply_to`;

function toInbox(r: Record<string, unknown>): InboxRow {
  return {
    id: r['id'] as number,
    kind: r['kind'] === 'call' ? 'call' : 'sms',
    receivedAt: r['received_at'] as number,
    from: r['sender'] as string,
    text: r['text'] as string,
    sentAt: (r['sent_at'] as string | null) ?? null,
    partsTotal: r['parts_total'] as number,
    partsReceived: r['parts_received'] as number,
    complete: r['complete'] === 1,
    action: (r['action'] as string | null) ?? null,
    processed: r['processed'] === 1,
    modem: (r['modem'] as string | null | undefined) ?? null,
    replyTo: r['reply_to'] === null || r['reply_to'] === undefined || r['reply_body'] === null || r['reply_body'] === undefined
      ? null
      : { id: r['reply_to'] as number, text: r['reply_body'] as string, sentAt: r['reply_sent_at'] as number },
  };
}

export interface ForwardJob {
  id: number;
  inboxId: number;
  target: string;
  attempts: number;
}

export class Inbox {
  constructor(private readonly db: Db) {}

  /**
   * Commits one received segment (the modem deletes its copy only after this
   * returns). Multipart messages are put together in one inbox row, parts in
   * any order; a PDU seen before is ignored, so the modem offering the same
   * message twice (a crash between commit and delete) changes nothing.
   */
  addInboundPart(
    part: { from: string; text: string; timestamp: string; concat: { ref: number; part: number; total: number; ref16: boolean } | null; pdu: string },
    now: number,
    reassemblyWindowMs: number,
    modem: string | null = null,
  ): { inboxId: number; complete: boolean; duplicate: boolean } {
    return this.db.raw.transaction(() => {
      const seen = this.db.stmt('SELECT inbox_id FROM inbox_parts WHERE pdu = ?').get(part.pdu) as Row | undefined;
      if (seen) return { inboxId: seen['inbox_id'] as number, complete: true, duplicate: true };
      const insertInbox = this.db.stmt(
        `INSERT INTO inbox (received_at, sender, text, sent_at, concat_key, parts_total, parts_received, complete, modem) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      const insertPart = this.db.stmt('INSERT INTO inbox_parts (inbox_id, part, text, pdu, received_at) VALUES (?, ?, ?, ?, ?)');
      if (!part.concat || part.concat.total <= 1) {
        const id = insertInbox.run(now, part.from, part.text, part.timestamp, null, 1, 1, 1, modem).lastInsertRowid as number;
        insertPart.run(id, 1, part.text, part.pdu, now);
        return { inboxId: id, complete: true, duplicate: false };
      }
      const key = `${part.from}|${part.concat.ref16 ? 16 : 8}:${part.concat.ref}|${part.concat.total}`;
      const open = this.db.stmt(
        `SELECT id, complete FROM inbox WHERE concat_key = ? AND received_at > ? ORDER BY id DESC LIMIT 1`,
      ).get(key, now - reassemblyWindowMs) as Row | undefined;
      // A complete message with this key already has every part: this is the network repeating one.
      if (open && open['complete'] === 1) return { inboxId: open['id'] as number, complete: true, duplicate: true };
      const id = open
        ? (open['id'] as number)
        : (insertInbox.run(now, part.from, '', part.timestamp, key, part.concat.total, 0, 0, modem).lastInsertRowid as number);
      const has = this.db.stmt('SELECT 1 FROM inbox_parts WHERE inbox_id = ? AND part = ?').get(id, part.concat.part);
      if (has) return { inboxId: id, complete: false, duplicate: true };
      insertPart.run(id, part.concat.part, part.text, part.pdu, now);
      const parts = this.db.stmt('SELECT part, text FROM inbox_parts WHERE inbox_id = ? ORDER BY part').all(id) as Row[];
      const complete = parts.length >= part.concat.total;
      this.db.stmt('UPDATE inbox SET text = ?, parts_received = ?, complete = ? WHERE id = ?').run(
        parts.map((p) => p['text'] as string).join(''),
        parts.length,
        complete ? 1 : 0,
        id,
      );
      return { inboxId: id, complete, duplicate: false };
    })();
  }

  /** Inbox rows ready for processing: complete ones, and incomplete ones whose wait is over. */
  pendingInbound(now: number, reassemblyWindowMs: number): InboxRow[] {
    return (
      this.db.stmt(
        `${SELECT_INBOX} WHERE i.processed = 0 AND (i.complete = 1 OR i.received_at <= ?) ORDER BY i.id LIMIT 100`,
      ).all(now - reassemblyWindowMs) as Row[]
    ).map(toInbox);
  }

  /**
   * Records a call the modem hung up: an inbox entry of kind `call`, already
   * processed (a call is never an opt-out, a reply or a forward), linked to
   * nothing. `from` is '' when the caller withheld the number.
   */
  addCall(from: string, at: number, hungUp: boolean, modem: string | null = null): number {
    return this.db.stmt(
      `INSERT INTO inbox (received_at, sender, text, sent_at, concat_key, parts_total, parts_received, complete, processed, action, kind, modem)
       VALUES (?, ?, '', NULL, NULL, 1, 1, 1, 1, ?, 'call', ?)`,
    ).run(at, from, hungUp ? 'hung-up' : 'missed', modem).lastInsertRowid as number;
  }

  /** Calls recorded since `since` (the overview's count for today). */
  callsSince(since: number): number {
    return (this.db.stmt(`SELECT COUNT(*) AS n FROM inbox INDEXED BY inbox_calls WHERE kind = 'call' AND received_at >= ?`).get(since) as Row)['n'] as number;
  }

  markInboundProcessed(id: number, action: string | null): void {
    this.db.stmt('UPDATE inbox SET processed = 1, action = ? WHERE id = ?').run(action, id);
  }

  /**
   * Links a received message to the one it answers: the last message sent to
   * `number` (E.164) within REPLY_CONTEXT_MS before `receivedAt`, a customer's
   * notice or the shop's own answer (not the owner's forwards and alerts, which
   * go to the owner). Returns it, or null when there is none.
   */
  linkReply(inboxId: number, number: string, receivedAt: number): ReplyContext | null {
    const row = this.db.stmt(
      `SELECT id, body, sent_at FROM outbox INDEXED BY outbox_to
       WHERE to_number = ? AND kind <> 'forward' AND status IN ('sent', 'delivered') AND sent_at <= ? AND sent_at > ?
       ORDER BY sent_at DESC, id DESC LIMIT 1`,
    ).get(number, receivedAt, receivedAt - REPLY_CONTEXT_MS) as Row | undefined;
    if (!row) return null;
    this.db.stmt('UPDATE inbox SET reply_to = ? WHERE id = ?').run(row['id'], inboxId);
    return { id: row['id'] as number, text: row['body'] as string, sentAt: row['sent_at'] as number };
  }

  /** The messages received from any of `senders` (the forms one number is written in), newest first. */
  inboxFrom(senders: readonly string[], limit: number): InboxRow[] {
    return (this.db.stmt(`${SELECT_INBOX} WHERE i.sender IN (SELECT value FROM json_each(?)) ORDER BY i.id DESC LIMIT ?`)
      .all(JSON.stringify(senders), limit) as Row[]).map(toInbox);
  }

  listInbox(opts: { limit: number; q?: string; beforeId?: number }): InboxRow[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (opts.q) {
      where.push(`(i.sender LIKE ? ESCAPE '\\' OR i.text LIKE ? ESCAPE '\\')`);
      const like = likePattern(opts.q);
      args.push(like, like);
    }
    if (opts.beforeId !== undefined) {
      where.push('i.id < ?');
      args.push(opts.beforeId);
    }
    const sql = `${SELECT_INBOX} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY i.id DESC LIMIT ?`;
    return (this.db.stmt(sql).all(...args, opts.limit) as Row[]).map(toInbox);
  }

  getInbox(id: number): InboxRow | null {
    const row = this.db.stmt(`${SELECT_INBOX} WHERE i.id = ?`).get(id) as Row | undefined;
    return row ? toInbox(row) : null;
  }

  // Webhook forwarding: one row per inbound message and target, retried until done.
  addForward(inboxId: number, target: string, now: number): void {
    this.db.stmt('INSERT INTO forwards (inbox_id, target, next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?)').run(inboxId, target, now, now, now);
  }

  dueForwards(now: number): ForwardJob[] {
    return (this.db.stmt(`SELECT * FROM forwards WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT 20`).all(now) as Row[]).map((r) => ({
      id: r['id'] as number,
      inboxId: r['inbox_id'] as number,
      target: r['target'] as string,
      attempts: r['attempts'] as number,
    }));
  }

  nextForwardAt(): number | null {
    const row = this.db.stmt(`SELECT MIN(next_attempt_at) AS at FROM forwards WHERE status = 'pending'`).get() as Row;
    return (row['at'] as number | null) ?? null;
  }

  finishForward(id: number, now: number, outcome: { ok: true } | { ok: false; error: string; retryAt: number | null }): void {
    if (outcome.ok) {
      this.db.stmt(`UPDATE forwards SET status = 'done', attempts = attempts + 1, last_error = NULL, updated_at = ? WHERE id = ?`).run(now, id);
    } else {
      this.db.stmt(`UPDATE forwards SET status = ?, attempts = attempts + 1, last_error = ?, next_attempt_at = COALESCE(?, next_attempt_at), updated_at = ? WHERE id = ?`)
        .run(outcome.retryAt === null ? 'failed' : 'pending', outcome.error, outcome.retryAt, now, id);
    }
  }
}
