import type { FaultReason } from '../leds/patterns.js';
import type { QueueProgress } from './stuck.js';

/**
 * The conditions the owner is alerted about (issue 18), read off the same
 * fault reasons that light the fault LED and lead the overview's verdict, so
 * an alert, the LED and the page never disagree:
 *
 * - `fault`: a reason of level `hard` other than the stuck queue (no SIM, the
 *   modem dead or given up on, the network refusing the SIM, a full disk, a
 *   failing database), described by the worst one;
 * - `stuck`: the stuck queue (src/status/stuck.ts), its own kind so a channel
 *   may take one without the other;
 * - `config-error`: the config file's mistake, with its file and line;
 * - `carrier-blocked` and `low-balance` (issue 17, src/status/sim.ts): their
 *   own kinds, so the block is not also told as a `fault`; `low-balance` is
 *   not said at all while no balance was ever read.
 *
 * `active: null` means "do not say": the box cannot tell yet. A condition's
 * end is only said when it is known to be over, because the storm machine
 * answers an end with a `recovered` message: the fault LED's reasons are not
 * said while the box is starting (a restart in the middle of a fault would
 * otherwise announce a recovery that never happened), and the stuck queue is
 * over only when messages go again or nothing is queued (not when the window
 * closes for the night, nor during the first 10 minutes after a restart).
 */

export type AlertKind = 'fault' | 'stuck' | 'config-error' | 'carrier-blocked' | 'low-balance';

export interface AlertCondition {
  kind: AlertKind;
  active: boolean | null;
  zh: string;
  en: string;
  data?: Record<string, unknown>;
}

export interface AlertInput {
  faults: readonly FaultReason[];
  /** The box's first modem start is not over. */
  starting: boolean;
  progress: QueueProgress;
  /** The snapshot's `config_error`. */
  configError: { file: string; line: number | null; message: string; message_en: string; using: 'last-good' | 'defaults' } | null;
  /** The last balance read (null: never read, so `low-balance` is not said either way). */
  balanceYuan?: number | null;
}

export function alertConditions(input: AlertInput): AlertCondition[] {
  const { faults, starting } = input;
  const hard = faults.filter((f) => f.level === 'hard' && f.kind !== 'stuck' && f.kind !== 'carrier-blocked');
  const worst = hard[0];
  const others = hard.slice(1);
  const fault: AlertCondition = worst
    ? {
        kind: 'fault',
        active: starting ? null : true,
        zh: `${worst.zh}${others.length ? `（另有：${others.map((f) => f.zh).join('；')}）` : ''}`,
        en: `${worst.en}${others.length ? ` (also: ${others.map((f) => f.en).join('; ')})` : ''}`,
        data: { faults: hard.map((f) => f.kind) },
      }
    : { kind: 'fault', active: starting ? null : false, zh: '', en: '' };

  const stuckReason = faults.find((f) => f.kind === 'stuck');
  const stuck: AlertCondition = stuckReason
    ? { kind: 'stuck', active: true, zh: stuckReason.zh, en: stuckReason.en }
    : { kind: 'stuck', active: input.progress === 'idle' || input.progress === 'moving' ? false : null, zh: '', en: '' };

  const problem = input.configError;
  const configReason = faults.find((f) => f.kind === 'config-error');
  const configError: AlertCondition = !configReason
    ? { kind: 'config-error', active: false, zh: '', en: '' }
    : problem
      ? {
          kind: 'config-error',
          active: true,
          zh: `配置文件有误（${problem.file}${problem.line ? ` 第 ${problem.line} 行` : ''}）：${problem.message}。本机暂用${problem.using === 'last-good' ? '上次正确的配置' : '出厂设置'}运行，请改正配置文件。`,
          en: `The config file has a mistake (${problem.file}${problem.line ? ` line ${problem.line}` : ''}): ${problem.message_en} The box runs on ${problem.using === 'last-good' ? 'the last good config' : 'the built-in defaults'} meanwhile; fix the file.`,
          data: { file: problem.file, line: problem.line },
        }
      : { kind: 'config-error', active: true, zh: configReason.zh, en: configReason.en };
  const blockedReason = faults.find((f) => f.kind === 'carrier-blocked');
  const blocked: AlertCondition = blockedReason
    ? { kind: 'carrier-blocked', active: true, zh: blockedReason.zh, en: blockedReason.en }
    : { kind: 'carrier-blocked', active: starting ? null : false, zh: '', en: '' };
  const lowReason = faults.find((f) => f.kind === 'low-balance');
  const low: AlertCondition = lowReason
    ? { kind: 'low-balance', active: true, zh: lowReason.zh, en: lowReason.en, ...(input.balanceYuan !== undefined ? { data: { balance_yuan: input.balanceYuan } } : {}) }
    : { kind: 'low-balance', active: input.balanceYuan === null || input.balanceYuan === undefined ? null : false, zh: '', en: '' };
  return [fault, stuck, configError, blocked, low];
}
