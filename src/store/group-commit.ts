import type { SendOutcome, SendRequest, Store } from './store.js';

/**
 * Collects the send requests that arrive in one turn of the event loop and
 * commits them in one transaction. With synchronous=FULL every commit waits
 * for the disk; sharing that wait is what lets 50 clients at once get their
 * "1" within milliseconds, while no "1" goes out before its rows are durable.
 */
export class GroupCommit {
  private pending: { req: SendRequest; resolve: (o: SendOutcome) => void; reject: (e: unknown) => void }[] = [];
  private scheduled = false;

  constructor(private readonly store: Store) {}

  accept(req: SendRequest): Promise<SendOutcome> {
    return new Promise((resolve, reject) => {
      this.pending.push({ req, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    let results: (SendOutcome | Error)[];
    try {
      results = this.store.acceptSendBatch(batch.map((b) => b.req));
    } catch (err) {
      for (const b of batch) b.reject(err);
      return;
    }
    results.forEach((result, i) => (result instanceof Error ? batch[i]!.reject(result) : batch[i]!.resolve(result)));
  }
}
