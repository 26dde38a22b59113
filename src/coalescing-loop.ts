/**
 * One delivery loop at a time (reply webhooks, notifications): `run()` while
 * a loop runs joins it and makes it go round once more before it ends, so
 * work that became due meanwhile is not missed, and a server that hangs never
 * receives the same job twice at once.
 */
export class CoalescingLoop {
  private current: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly pass: () => Promise<void>,
    /** Called after each loop has ended (to schedule the next wake). */
    private readonly ended: () => void = () => {},
  ) {}

  /** Whether a loop is running now. */
  get running(): boolean {
    return this.current !== null;
  }

  /** Resolves when the loop (this one, or the one joined) has ended; its errors are the pass's own. */
  run(): Promise<void> {
    if (this.current) {
      this.again = true;
      return this.current;
    }
    this.current = (async () => {
      do {
        this.again = false;
        await this.pass();
      } while (this.again);
    })().finally(() => {
      this.current = null;
      this.ended();
    });
    return this.current;
  }

  /** The running loop's end, or at once when none runs (a stop waits for it). */
  async idle(): Promise<void> {
    await this.current?.catch(() => {});
  }
}
