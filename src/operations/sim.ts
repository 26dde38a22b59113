import type { SelftestRow } from '../store/store.js';
import type { AskOutcome } from '../sim/index.js';
import { selftestJson } from '../sim/index.js';
import { recordEvent, type OperationsContext } from './context.js';
import { done, refuse, type Outcome } from './outcome.js';

/**
 * The SIM's actions for the pages and the JSON API (issue 17): the self-test
 * and the balance query, through the running box's SIM service.
 */

/** What the running box offers (src/sim SimService). */
export interface SimPort {
  startSelftest(): { run: SelftestRow; started: boolean };
  latestSelftest(): SelftestRow | null;
  askBalance(): AskOutcome;
}

export type SelftestJson = ReturnType<typeof selftestJson>;

export class Sim {
  constructor(private readonly ctx: OperationsContext) {}

  private get port(): SimPort | null {
    return this.ctx.sim ?? null;
  }

  /** Starts a self-test, or answers with the one under way (`started: false`). */
  startSelftest(): Outcome<{ selftest: SelftestJson; started: boolean }> {
    const port = this.port;
    if (!port) return refuse('no-modem', '本机没有运行短信模块，无法自检', 'no modem runs in this box: nothing to test', 503);
    const { run, started } = port.startSelftest();
    if (started) recordEvent(this.ctx, 'info', 'selftest-started', '已开始自检：发送一条短信给本机号码', 'self-test started: an SMS to the box\'s own number');
    return done({ selftest: selftestJson(run, this.ctx.clock.now()), started });
  }

  latestSelftest(): SelftestJson {
    return selftestJson(this.port?.latestSelftest() ?? null, this.ctx.clock.now());
  }

  /** Sends the balance query now. */
  askBalance(): Outcome<{ to: string; text: string; message_id: number }> {
    const port = this.port;
    if (!port) return refuse('no-modem', '本机没有运行短信模块，无法查询话费', 'no modem runs in this box: the balance cannot be asked', 503);
    const asked = port.askBalance();
    if (!asked.ok) return asked.reason === 'too-soon' ? refuse('too-soon', asked.zh, asked.en, 429) : refuse('no-balance-query', asked.zh, asked.en, 409);
    recordEvent(this.ctx, 'info', 'sim-balance-asked', `已发送话费查询：“${asked.text}”发到 ${asked.to}`, `balance query sent: "${asked.text}" to ${asked.to}`);
    return done({ to: asked.to, text: asked.text, message_id: asked.outboxId });
  }
}
