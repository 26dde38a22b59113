/**
 * The modem's one queue of transactions (the idea of zwave-js's driver queue:
 * a sorted list of transactions, highest priority first and first come first
 * served within a priority; one transaction holds the serial port at a time).
 *
 * A transaction is a whole exchange with the modem: a multipart SMS with its
 * `AT+CMMS` wrapping, the read and delete of one stored message, one poll
 * round, a hang-up. It is never interrupted: a hang-up that arrives while a
 * segment is being sent waits for that message to finish, then goes before
 * every other waiting transaction. Inside a transaction the AT engine runs
 * one command at a time, so the engine's own queue never holds more than the
 * command in flight.
 */

/** Lower runs first. */
export const PRIORITY = {
  /** Start, init after a restart, radio restart, power cycle: nothing else works until they are done. */
  control: 0,
  /** An incoming call is hung up before anything else waits on the line. */
  hangUp: 1,
  /** A stored message is read (and deleted) before the next send: the SIM's storage is small. */
  inbound: 2,
  /** Customer messages, balance queries (an SMS to the carrier), the AT+CMMS wish. */
  send: 3,
  /** Questions a person or the clock is waiting for (network time). */
  query: 4,
  /** Registration, signal and the periodic inbox scan: whenever the line is free. */
  poll: 5,
  /** Power-down at stop: after everything already queued. */
  last: 6,
} as const;

export type TransactionPriority = (typeof PRIORITY)[keyof typeof PRIORITY];

export type TransactionKind =
  | 'start'
  | 'init'
  | 'power-cycle'
  | 'radio-restart'
  | 'ims-enable'
  | 'power-down'
  | 'hang-up'
  | 'inbound'
  | 'inbox-scan'
  | 'send'
  | 'link'
  | 'network-time'
  | 'poll';

export const DEFAULT_PRIORITY: Record<TransactionKind, TransactionPriority> = {
  start: PRIORITY.control,
  init: PRIORITY.control,
  'power-cycle': PRIORITY.control,
  'radio-restart': PRIORITY.control,
  'ims-enable': PRIORITY.control,
  'hang-up': PRIORITY.hangUp,
  inbound: PRIORITY.inbound,
  'inbox-scan': PRIORITY.inbound,
  send: PRIORITY.send,
  link: PRIORITY.send,
  'network-time': PRIORITY.query,
  poll: PRIORITY.poll,
  'power-down': PRIORITY.last,
};

interface Transaction {
  kind: TransactionKind;
  priority: number;
  seq: number;
  run: () => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

export class TransactionQueueClosedError extends Error {
  override name = 'TransactionQueueClosedError';
}

export class TransactionQueue {
  private readonly waiting: Transaction[] = [];
  private running: Transaction | null = null;
  private seq = 0;
  private closedWith: Error | null = null;
  private idleWaiters: Array<() => void> = [];
  /** Transactions run so far, by kind, in order (the status page and tests read it). */
  readonly history: TransactionKind[] = [];
  private readonly historyLimit: number;

  constructor(options: { historyLimit?: number } = {}) {
    this.historyLimit = options.historyLimit ?? 200;
  }

  /**
   * Queues `run` as one transaction and resolves with its result once it ran.
   * An idle queue starts it at once (synchronously), so a caller that queues
   * two things in a row sees them start in that order.
   */
  enqueue<T>(kind: TransactionKind, run: () => Promise<T>, priority: number = DEFAULT_PRIORITY[kind]): Promise<T> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    return new Promise<T>((resolve, reject) => {
      const transaction: Transaction = { kind, priority, seq: this.seq++, run, resolve: resolve as (v: unknown) => void, reject };
      // Sorted insert: by priority, then by arrival.
      let at = this.waiting.length;
      while (at > 0 && this.waiting[at - 1]!.priority > priority) at--;
      this.waiting.splice(at, 0, transaction);
      this.pump();
    });
  }

  /** The kind of the transaction holding the port, or null. */
  get current(): TransactionKind | null {
    return this.running?.kind ?? null;
  }

  /** How many transactions wait (of one kind, or all). */
  pending(kind?: TransactionKind): number {
    return kind === undefined ? this.waiting.length : this.waiting.filter((t) => t.kind === kind).length;
  }

  /** Resolves once nothing runs and nothing waits. */
  idle(): Promise<void> {
    if (!this.running && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Refuses new transactions and rejects the waiting ones; the running one finishes. */
  close(error: Error = new TransactionQueueClosedError('the modem is stopped')): void {
    this.closedWith = error;
    for (const t of this.waiting.splice(0)) t.reject(error);
    this.notifyIdle();
  }

  /** Rejects the waiting transactions `which` picks (a stop drops polls and queries, not sends). */
  drop(which: (kind: TransactionKind) => boolean, error: Error = new TransactionQueueClosedError('the modem is stopping')): void {
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      const t = this.waiting[i]!;
      if (which(t.kind)) {
        this.waiting.splice(i, 1);
        t.reject(error);
      }
    }
    this.notifyIdle();
  }

  /** Takes new transactions again (a modem started after a stop). */
  reopen(): void {
    this.closedWith = null;
  }

  private pump(): void {
    if (this.running) return;
    const next = this.waiting.shift();
    if (!next) {
      this.notifyIdle();
      return;
    }
    this.running = next;
    this.history.push(next.kind);
    if (this.history.length > this.historyLimit) this.history.splice(0, this.history.length - this.historyLimit);
    let outcome: Promise<unknown>;
    try {
      outcome = next.run();
    } catch (error) {
      outcome = Promise.reject(error);
    }
    outcome.then(
      (value) => this.finish(next, () => next.resolve(value)),
      (error: unknown) => this.finish(next, () => next.reject(error)),
    );
  }

  /**
   * The port is handed on before the caller hears the outcome: whatever waits
   * at this moment goes next by priority, so a caller that queues again on
   * hearing (the dispatcher's next message) queues behind a waiting hang-up,
   * inbound read or poll.
   */
  private finish(transaction: Transaction, settle: () => void): void {
    if (this.running === transaction) this.running = null;
    this.pump();
    settle();
  }

  private notifyIdle(): void {
    if (this.running || this.waiting.length > 0) return;
    const waiters = this.idleWaiters.splice(0);
    for (const w of waiters) w();
  }
}
