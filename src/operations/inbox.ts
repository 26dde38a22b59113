import type { InboxRow } from '../store/store.js';
import type { OperationsContext } from './context.js';

/** Customers' replies as the shop reads them. */
export class Inbox {
  constructor(private readonly ctx: OperationsContext) {}

  /** Newest first; `q` matches the sender or the text; `limit` is kept within 1–1000. */
  list(opts: { limit: number; q?: string | null; beforeId?: number | string | null }): InboxRow[] {
    const before = opts.beforeId ?? null;
    const beforeId = typeof before === 'number' ? before : before !== null && /^\d{1,15}$/.test(before) ? Number(before) : undefined;
    return this.ctx.store.listInbox({
      limit: Math.min(Math.max(Math.trunc(opts.limit) || 1, 1), 1000),
      ...(opts.q ? { q: opts.q } : {}),
      ...(beforeId !== undefined ? { beforeId } : {}),
    });
  }
}
