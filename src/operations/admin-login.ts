import { safeEqual } from '../passwords.js';
import { recordEvent, type OperationsContext } from './context.js';
import { factoryAdminBlocked, factoryAdminRefusal } from './credentials.js';
import { LoginLimiter } from './login-limiter.js';
import { done, refuse, type Outcome, type Refusal } from './outcome.js';

/**
 * The admin's password check, for the browser login and HTTP Basic alike:
 * failures count against the same per-address lock-out as WDGJ logins (its
 * own counter), so a lucky guess during a lock gains nothing.
 */
export class AdminLogin {
  private readonly limiter: LoginLimiter;

  constructor(private readonly ctx: OperationsContext) {
    this.limiter = new LoginLimiter(() => {
      const s = ctx.config().security;
      return { allowed: s.loginFailuresAllowed, lockMs: s.loginLockMinutes * 60_000 };
    });
  }

  /**
   * Checks the admin password of a request from `client`. `mustChange` is true
   * when it is the factory password on a box with a real modem: then the
   * password opens nothing but the page that replaces it.
   */
  check(input: { password: string; client: string; /** HTTP Basic's user name: anything but `admin` is a failed guess. */ user?: string }): Outcome<{ mustChange: boolean }, 'login-locked' | 'wrong-password'> {
    const { ctx } = this;
    const now = ctx.clock.now();
    const locked = this.limiter.lockedFor(input.client, now);
    if (locked > 0) {
      const minutes = Math.ceil(locked / 60_000);
      return refuse('login-locked', `密码错误次数过多，请 ${minutes} 分钟后再试`, `too many failed logins; try again in ${minutes} minutes`, 429);
    }
    const right = safeEqual(input.password, ctx.config().admin.password) && (input.user ?? 'admin') === 'admin';
    if (!right) {
      if (this.limiter.fail(input.client, now)) {
        recordEvent(ctx, 'warn', 'admin-login-locked', `管理密码错误次数过多，暂时拒绝 ${input.client}`, `too many failed admin logins from ${input.client}`, { client: input.client });
      }
      return refuse('wrong-password', '密码错误', 'wrong password', 401);
    }
    this.limiter.succeed(input.client);
    return done({ mustChange: this.mustChangePassword() });
  }

  /** The admin password is the factory one and a real modem is fitted: everything but choosing a new one is refused. */
  mustChangePassword(): boolean {
    return factoryAdminBlocked(this.ctx.config());
  }

  /** The refusal the JSON API answers while mustChangePassword() holds. */
  factoryRefusal(): Refusal<'factory-password'> {
    return factoryAdminRefusal();
  }
}
