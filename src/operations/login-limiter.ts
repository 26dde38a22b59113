/**
 * Slows password guessing per client address: after `allowed` failures within
 * `lockMs`, that address is refused for `lockMs` whatever it sends, so a
 * correct guess during the lock gains nothing.
 *
 * A slow (asynchronous) password check counts when it starts: `begin` reserves
 * one of the address's remaining attempts, so a burst of parallel guesses
 * evaluates at most `allowed` different passwords before the lock, not all of
 * them. The same password guessed in parallel is one attempt.
 */
export class LoginLimiter {
  private readonly failures = new Map<string, number[]>();
  private readonly lockedUntil = new Map<string, number>();
  /** Per client: the passwords being checked right now, each with the number of requests waiting on it. */
  private readonly inFlight = new Map<string, Map<string, number>>();

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

  /**
   * Reserves an attempt for a slow check of password `attempt` (any key that
   * identifies it): false when the address is locked or its remaining attempts
   * are all taken by checks under way. Every true must be followed by `end`.
   */
  begin(client: string, attempt: string, now: number): boolean {
    if (this.lockedFor(client, now) > 0) return false;
    const running = this.inFlight.get(client);
    const waiting = running?.get(attempt);
    if (waiting !== undefined) {
      running!.set(attempt, waiting + 1);
      return true;
    }
    const { allowed, lockMs } = this.settings();
    const recent = (this.failures.get(client) ?? []).filter((t) => t > now - lockMs).length;
    if (recent + (running?.size ?? 0) >= allowed) return false;
    if (running) running.set(attempt, 1);
    else this.inFlight.set(client, new Map([[attempt, 1]]));
    return true;
  }

  /**
   * Ends a check begun with `begin`. The first request to end a shared check
   * records its outcome; returns true when it started a lock.
   */
  end(client: string, attempt: string, ok: boolean, now: number): boolean {
    const running = this.inFlight.get(client);
    const waiting = running?.get(attempt);
    if (waiting === undefined) return false;
    if (waiting > 1) {
      running!.set(attempt, waiting - 1);
      return false;
    }
    running!.delete(attempt);
    if (running!.size === 0) this.inFlight.delete(client);
    if (ok) {
      this.succeed(client);
      return false;
    }
    return this.fail(client, now);
  }

  /** Ends a check begun with `begin` that evaluated nothing (the box was busy): no outcome is recorded. */
  cancel(client: string, attempt: string): void {
    const running = this.inFlight.get(client);
    const waiting = running?.get(attempt);
    if (waiting === undefined) return;
    if (waiting > 1) running!.set(attempt, waiting - 1);
    else {
      running!.delete(attempt);
      if (running!.size === 0) this.inFlight.delete(client);
    }
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
