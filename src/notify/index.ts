/**
 * Alerts and forwards to the owner (issue 18): 企业微信, 钉钉 and 飞书 group
 * robots, our own JSON webhook, and SMS to the owner's mobile.
 *
 *   event source ──► Notifier.event / .condition ──► storm machine per channel and kind (storm.ts)
 *                      └─► notify_jobs (src/store/notify.ts), one transaction with the machine's state
 *                            └─► delivery loop: platforms/*.ts render + sign, POST, read the answer;
 *                                retried with backoff across restarts; `sms` via the box's own outbox
 *
 * How each event kind is fed (the wiring, in main.ts; none of it is here).
 * `fault`, `stuck` and `config-error` come from `alertConditions()`
 * (src/status/alerts.ts), called with each LED refresh (`StatusLeds`'
 * `onRefresh`), which also says when a condition's state is not known (the
 * box starting; a queue held overnight) so that no false `recovered` goes out:
 *
 * | kind              | call                                  | who says it, when |
 * |-------------------|---------------------------------------|-------------------|
 * | `fault`           | `condition('fault', active, text)`    | the fault LED's reasons (src/leds/patterns.ts, derived every second; the overview's verdict follows them): active while one of level `hard` other than `stuck` is there (no SIM, modem dead or given up by the watchdog, network refused, disk full, database failing), with the worst one's zh/en text; said after every refresh, not while the box is starting. |
 * | `recovered`       | (none)                                | derived: a condition that was announced and is now said `false` gets one `recovered` message, on channels that take `recovered`. |
 * | `stuck`           | `condition('stuck', active, text)`    | the status model's stuck judgement (src/status/stuck.ts: window open, modem ready, messages queued, nothing sent for 10 minutes), as the `stuck` fault reason; over only when the queue moves or empties. |
 * | `config-error`    | `condition('config-error', active, text)` | the same fault reasons' `config-error` entry (from `BoxOptions.configProblem`, the ConfigError of `loadConfigWithFallback`, with file:line from `config_error` of the snapshot); a settings save that passes the parser ends it. |
 * | `low-balance`     | `condition('low-balance', active, text)` | the `low-balance` fault reason (src/status/sim.ts: the SIM's balance from the carrier's SMS reply, src/sim, below `[sim] low_balance_yuan`), via alertConditions after every LED refresh; not said while no balance was ever read. |
 * | `carrier-blocked` | `condition('carrier-blocked', active, text)` | the `carrier-blocked` fault reason (src/sim/block.ts: the carrier's notice, or refusals to several numbers), via alertConditions; never also told as `fault`. |
 * | `call`            | `event('call', text)`                 | the modem's incoming call (RING / +CLIP), via the inbound side, when it lands. |
 * | `selftest`        | `event('selftest', text)`             | main.ts, when a self-test run ends (src/sim/selftest.ts), with `{state, step}`. |
 * | `reply`           | `event('reply', text)`                | the inbound processor (its `notify` dep), for each reply that is not an opt-out, after its commit, with `{from, text, inbox_id, reply_to}`. |
 * | `optout`          | `event('optout', text)`               | the inbound processor, when a reply puts a new number on the opt-out list, with the notice it answered. |
 * | `daily`           | `event('daily', text)`                | a node-cron job at the sending window's close (`windowCloseCron`; midnight without quiet hours), with `Operations.summary.dailyReport()`: the day's counts; calls 0 and the SIM's credit unknown until the radio issue. |
 *
 * A condition is level-triggered: saying `active` again and again is fine and
 * cheap (nothing is written unless the machine's state changes); only starts,
 * ends, the 10-minute window and the hourly reminder produce messages.
 *
 * For the settings page and the API (through `Operations.notify`, which also
 * adds and removes `[[notify]]` blocks): `Notifier.apiJson()` is `GET /api/notify`
 * (`Notifier.list()` the same for a page), `Notifier.test(id)` is 发送测试 (the
 * platform's answer, e.g. DingTalk's errcode).
 *
 * The SMS channel's `queueSms` is the outbox's `queueSystemMessage('forward', …)`:
 * uncharged, after every customer's message, within `[inbound] forward_max_per_hour`.
 */

export { NOTIFY_CHANNEL_KINDS, NOTIFY_EVENT_KINDS, DEFAULT_NOTIFY_EVENTS, type NotifyChannelConfig, type NotifyChannelKind, type NotifyEventKind } from './kinds.js';
export { Notifier, channelId, maskedTarget, notifyRetryDelay, NOTIFY_MAX_ATTEMPTS, NOTIFY_MAX_AGE_MS, type NotifierDeps, type EventReport, type ChannelListing, type TestResult } from './notifier.js';
export { CONDITION_REMINDERS, STORM_WINDOW_MS, REMINDER_MS, isConditionKind, type ConditionKind, type OneShotKind } from './storm.js';
export { KIND_TITLES, type BoxIdentity } from './message.js';
export { defaultBoxIdentity } from './box.js';
