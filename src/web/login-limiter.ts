/**
 * Slows password guessing per client address: after `allowed` failures within
 * `lockMs`, that address is refused for `lockMs` whatever it sends, so a
 * correct guess during the lock gains nothing.
 */
export class LoginLimiter {
  private readonly failures = new Map<string, number[]>();
  private readonly lockedUntil = new Map<string, number>();

  constructor(private readonly settings: () => { allowed: number; lockMs: number }) {}

  /** Milliseconds the client must still wait, or 0. */
  lockedFor(client: string, now: number): number {
    const until = this.lockedUntil.get(client);
    if (until === undefined) return 0;
    if (until <= now) {
      this.lockedUntil.delete(client);
      return 0;
    }
    return until - now;
  }

  /** Records a failure; returns true when this failure starts a lock. */
  fail(client: string, now: number): boolean {
    const { allowed, lockMs } = this.settings();
    const recent = (this.failures.get(client) ?? []).filter((t) => t > now - lockMs);
    recent.push(now);
    if (recent.length >= allowed) {
      this.failures.delete(client);
      this.lockedUntil.set(client, now + lockMs);
      return true;
    }
    this.failures.set(client, recent);
    this.prune(now, lockMs);
    return false;
  }

  succeed(client: string): void {
    this.failures.delete(client);
  }

  /** Bounds memory when many addresses fail once (a scan). */
  private prune(now: number, lockMs: number): void {
    if (this.failures.size < 10_000) return;
    for (const [client, times] of this.failures) {
      if (times.every((t) => t <= now - lockMs)) this.failures.delete(client);
    }
  }
}
