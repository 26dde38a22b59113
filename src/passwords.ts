import { createHash, createHmac, randomBytes, scrypt, scryptSync, timingSafeEqual } from 'node:crypto';

/**
 * Password hashes for the database (scrypt, salted), and a fast path for the
 * WDGJ client, which sends the same User/PWD with every request: a password
 * that verified once is remembered as an HMAC under a per-process key, so the
 * next request costs microseconds instead of a scrypt run. Wrong passwords
 * always pay the full scrypt cost, which also slows guessing.
 */

const KEY_LENGTH = 32;
const PARAMS = { N: 16384, r: 8, p: 1 } as const;

export function hashPassword(password: string): string {
  const salt = randomBytes(16);
  const key = scryptSync(password, salt, KEY_LENGTH, PARAMS);
  return `scrypt$${PARAMS.N}$${PARAMS.r}$${PARAMS.p}$${salt.toString('base64')}$${key.toString('base64')}`;
}

function parseHash(stored: string): { salt: Buffer; key: Buffer; N: number; r: number; p: number } | null {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  return { N: Number(parts[1]), r: Number(parts[2]), p: Number(parts[3]), salt: Buffer.from(parts[4]!, 'base64'), key: Buffer.from(parts[5]!, 'base64') };
}

export function verifyPasswordSync(password: string, stored: string): boolean {
  const h = parseHash(stored);
  if (!h) return false;
  const key = scryptSync(password, h.salt, h.key.length, { N: h.N, r: h.r, p: h.p });
  return timingSafeEqual(key, h.key);
}

export function verifyPassword(password: string, stored: string): Promise<boolean> {
  const h = parseHash(stored);
  if (!h) return Promise.resolve(false);
  return new Promise((resolve) => {
    scrypt(password, h.salt, h.key.length, { N: h.N, r: h.r, p: h.p }, (err, key) => {
      resolve(!err && timingSafeEqual(key, h.key));
    });
  });
}

/**
 * The box is too busy checking other passwords: nothing was evaluated. Thrown
 * by VerifiedPasswordCache.verify when PasswordCheckGate's queue is full.
 */
export class PasswordCheckBusy extends Error {
  constructor() {
    super('too many password checks under way');
    this.name = 'PasswordCheckBusy';
  }
}

/**
 * Bounds what slow password checks can take, whoever sends them: each scrypt
 * run holds 16 MiB and a CPU for tens of milliseconds (hundreds on a Pi), and
 * guesses from many addresses are each within their own lock-out budget. So
 * at most `running` checks run at once and `waiting` wait; past that a check
 * is refused at once (PasswordCheckBusy). A password that verified before
 * never waits here (the HMAC fast path), so 管家助理's requests are not slowed.
 */
export class PasswordCheckGate {
  private active = 0;
  private readonly queue: (() => void)[] = [];

  constructor(private readonly limits: { running: number; waiting: number } = { running: 1, waiting: 16 }) {}

  async run<T>(check: () => Promise<T>): Promise<T> {
    if (this.active >= this.limits.running) {
      if (this.queue.length >= this.limits.waiting) throw new PasswordCheckBusy();
      await new Promise<void>((resolve) => this.queue.push(resolve));
    } else {
      this.active++;
    }
    try {
      return await check();
    } finally {
      // The slot passes straight to the next waiter, or is freed.
      const next = this.queue.shift();
      if (next) next();
      else this.active--;
    }
  }

  get load(): { running: number; waiting: number } {
    return { running: this.active, waiting: this.queue.length };
  }
}

/** Remembers verified passwords as HMACs, keyed by the stored hash so a password change invalidates them. */
export class VerifiedPasswordCache {
  constructor(private readonly gate: PasswordCheckGate = new PasswordCheckGate()) {}

  private readonly secret = randomBytes(32);
  private readonly verified = new Map<string, Buffer>();
  /** Checks under way, so a burst of requests with a new password runs scrypt once, not once each. */
  private readonly pending = new Map<string, Promise<boolean>>();

  private mac(password: string): Buffer {
    return createHmac('sha256', this.secret).update(password, 'utf8').digest();
  }

  /** Whether this password verified against this hash before: answered at once, no scrypt. */
  isKnown(password: string, storedHash: string): boolean {
    const known = this.verified.get(storedHash);
    return known !== undefined && timingSafeEqual(known, this.mac(password));
  }

  /** Identifies one check (this password against this hash) without holding the password itself. */
  checkKey(password: string, storedHash: string): string {
    return `${storedHash}\0${this.mac(password).toString('base64')}`;
  }

  async verify(password: string, storedHash: string): Promise<boolean> {
    const mac = this.mac(password);
    const known = this.verified.get(storedHash);
    if (known && timingSafeEqual(known, mac)) return true;
    const key = `${storedHash}\0${mac.toString('base64')}`;
    let check = this.pending.get(key);
    if (!check) {
      check = this.gate.run(() => verifyPassword(password, storedHash)).then((ok) => {
        this.pending.delete(key);
        if (ok) this.verified.set(storedHash, mac);
        return ok;
      }, (err: unknown) => {
        this.pending.delete(key);
        throw err;
      });
      this.pending.set(key, check);
    }
    return check;
  }
}

/** Constant-time comparison of two strings of any length. */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}
