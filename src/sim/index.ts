import type { Clock, Timers } from '../clock.js';
import type { BalanceRow, SelftestRow, SimStore } from '../store/sim.js';
import { SimBalance, type AskOutcome, type SimBalanceStatus } from './balance.js';
import { CarrierBlock, isRestorationNotice, isRestrictionNotice, type BlockState, type SendOutcome } from './block.js';
import { carrierFromImsi, isCarrierServiceNumber, type Carrier } from './carrier.js';
import { Selftest, type SelftestMessageState } from './selftest.js';

/**
 * The SIM above the driver (issue 17 items 2-4): the self-test, the SIM's
 * credit and the carrier's restriction, over the outbox, the inbox and the
 * dispatcher's gate. The driver's part is only `identity()`: the IMSI
 * (AT+CIMI) and the number the SIM holds (AT+CNUM).
 */

export { SELFTEST_TAG, SELFTEST_TIMEOUT_MS, selftestJson } from './selftest.js';
export { BLOCK_AFTER_DISTINCT_FAILURES, PROBE_INTERVAL_MS, isRestrictionNotice, type BlockState, type SendOutcome } from './block.js';
export { carrierFromImsi, isCarrierServiceNumber, CARRIER_NAMES, type Carrier } from './carrier.js';
export { parseBalanceReply } from './balance-reply.js';
export type { SimBalanceStatus, AskOutcome } from './balance.js';

/** What the inbox records a claimed message as (inbox.action): never a customer's reply. */
export type SimInboxAction = 'selftest' | 'carrier-balance' | 'carrier-notice' | 'carrier-service';

/** Balance queries at registration are skipped when one was asked this recently (a box that reboots often). */
export const ASK_AT_REGISTRATION_AFTER_MS = 6 * 3_600_000;

export interface SimServiceDeps {
  store: SimStore;
  clock: Clock;
  timers?: Timers;
  /** From the driver: the IMSI and the number the SIM holds (null while unknown). */
  identity: () => { imsi: string | null; ownNumber: string | null };
  /** `[modem] own_number` and `[sim]`, read each time. */
  settings: () => { ownNumber: string; queryTo: string; queryText: string; lowBalanceLi: number };
  /** Queues one of the box's own SMS (uncharged): `selftest` or `sim-query`. */
  queue: (kind: 'selftest' | 'sim-query', to: string, text: string) => number;
  messageState: (outboxId: number) => SelftestMessageState | null;
  waitingReason?: () => { zh: string; en: string } | null;
  /** Something here changed what the status shows (a reading, a block, a run's end). */
  onChange?: () => void;
  onSelftestFinished?: (run: SelftestRow) => void;
  onReading?: (reading: BalanceRow, low: boolean) => void;
  onUnreadableReply?: (reply: string) => void;
  onBlockChange?: (state: Readonly<BlockState>) => void;
  selftestTimeoutMs?: number;
}

export class SimService {
  readonly selftest: Selftest;
  readonly balance: SimBalance;
  readonly block: CarrierBlock;

  constructor(private readonly deps: SimServiceDeps) {
    this.selftest = new Selftest({
      store: deps.store,
      clock: deps.clock,
      ...(deps.timers ? { timers: deps.timers } : {}),
      ownNumber: () => this.ownNumber(),
      queue: (to, text) => deps.queue('selftest', to, text),
      messageState: deps.messageState,
      ...(deps.waitingReason ? { waitingReason: deps.waitingReason } : {}),
      onFinished: (run) => {
        deps.onSelftestFinished?.(run);
        deps.onChange?.();
      },
      ...(deps.selftestTimeoutMs !== undefined ? { timeoutMs: deps.selftestTimeoutMs } : {}),
    });
    this.balance = new SimBalance({
      store: deps.store,
      clock: deps.clock,
      carrier: () => this.carrier(),
      settings: () => deps.settings(),
      queue: (to, text) => deps.queue('sim-query', to, text),
      onReading: (reading, low) => {
        deps.onReading?.(reading, low);
        deps.onChange?.();
      },
      onUnreadable: (reply) => deps.onUnreadableReply?.(reply),
    });
    this.block = new CarrierBlock({
      store: deps.store,
      clock: deps.clock,
      onChange: (state) => {
        deps.onBlockChange?.(state);
        deps.onChange?.();
      },
    });
  }

  /** At start-up: a self-test the box was running when it stopped is failed. */
  start(): void {
    this.selftest.recover();
  }

  stop(): void {
    this.selftest.stop();
  }

  carrier(): Carrier {
    return carrierFromImsi(this.deps.identity().imsi);
  }

  /** The SIM's number (AT+CNUM), else `[modem] own_number`. */
  ownNumber(): string | null {
    return this.deps.identity().ownNumber || this.deps.settings().ownNumber || null;
  }

  /**
   * The inbound processor asks first, for every received message: an action
   * when the message is the box's own business (then it is no customer's: no
   * opt-out, no forward, no reply context, no reply event), else null.
   */
  claimInbound(row: { id: number; from: string; text: string; kind?: string }): SimInboxAction | null {
    // A call in the inbox (wip-driver's inbox kind) is no SMS of anyone's: not a reply to a query.
    if (row.kind === 'call') return null;
    if (this.selftest.claim(row.from, row.text, row.id)) return 'selftest';
    if (!isCarrierServiceNumber(row.from)) return null;
    if (isRestrictionNotice(row.text)) {
      this.block.notice(row.text);
      return 'carrier-notice';
    }
    if (isRestorationNotice(row.text)) {
      this.block.restored();
      return 'carrier-notice';
    }
    if (this.balance.claim(row.from, row.text, row.id)) return 'carrier-balance';
    return 'carrier-service';
  }

  /** POST /api/sim/balance, the button, registration and the daily ask. */
  askBalance(): AskOutcome {
    return this.balance.ask();
  }

  /** The modem registered: ask for the balance unless it was asked lately. */
  registered(): AskOutcome | null {
    const last = this.deps.store.lastBalanceQuery();
    if (last && this.deps.clock.now() - last.askedAt < ASK_AT_REGISTRATION_AFTER_MS) return null;
    return this.balance.ask();
  }

  /** `/api/status` `sim`, with the carrier block beside the balance. */
  status(): SimBalanceStatus & { own_number: string | null; blocked: boolean; blocked_since: string | null; block_cause: BlockState['cause']; next_probe_at: string | null } {
    const block = this.block.current();
    return {
      ...this.balance.status(),
      own_number: this.ownNumber(),
      blocked: block.blocked,
      blocked_since: block.since === null ? null : new Date(block.since).toISOString(),
      block_cause: block.cause,
      next_probe_at: block.blocked && block.probeAt !== null ? new Date(block.probeAt).toISOString() : null,
    };
  }

  /** The dispatcher's gate and its outcome report. */
  carrierGate(): { probeAt: number } | null {
    return this.block.gate();
  }

  reportSend(outcome: SendOutcome): void {
    this.block.report(outcome);
  }
}
