import type { OperationsContext } from './context.js';

/** The history behind the charts and the metrics: messages per hour, signal over time, totals by status. */
export class Charts {
  constructor(private readonly ctx: OperationsContext) {}

  /** Messages sent and failed per hour (hour = floor(ms / 3600000)) since `since`. */
  hourlyCounts(since: number): { hour: number; sent: number; failed: number }[] {
    return this.ctx.store.hourlyCounts(since);
  }

  signalSamples(since: number): { at: number; csq: number | null }[] {
    return this.ctx.store.signalSamples(since);
  }

  /** Remembers the signal of this minute (null without a reading) for the 24-hour chart. */
  recordSignal(csq: number | null): void {
    this.ctx.store.addSignalSample(Math.floor(this.ctx.clock.now() / 60_000) * 60_000, csq);
  }

  /** Messages by status since the beginning, for /metrics counters. */
  statusTotals(): Record<string, number> {
    return this.ctx.store.statusTotals();
  }
}
