import type { EventRow } from '../store/store.js';
import type { OperationsContext } from './context.js';

/** The events log a person reads: what the box did and why. */
export class Events {
  constructor(private readonly ctx: OperationsContext) {}

  /** The newest `limit` events, newest first. */
  latest(limit: number): EventRow[] {
    return this.ctx.store.listEvents(limit);
  }
}
