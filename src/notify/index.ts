/**
 * Alerts and forwards to the owner (issue 18): 企业微信, 钉钉 and 飞书 group
 * robots, our own JSON webhook, and SMS to the owner's mobile.
 *
 *   event source ──► Notifier.event / .condition ──► storm machine per channel and kind (storm.ts)
 *                      └─► notify_jobs (src/store/notify.ts), one transaction with the machine's state
 *                            └─► delivery loop: platforms/*.ts render + sign, POST, read the answer;
 *                                retried with backoff across restarts; `sms` via the box's own outbox
 *
 * How each event kind is fed (the wiring, in main.ts; none of it is here):
 *
 * | kind              | call                                  | who says it, when |
 * |-------------------|---------------------------------------|-------------------|
 * | `fault`           | `condition('fault', active, text)`    | the fault LED's reasons (`StatusLeds.faults()`, src/leds/patterns.ts, derived every second; the overview's verdict follows them): active while one of level `hard` is there (no SIM, modem dead or given up by the watchdog, network refused, disk full, database failing), with the worst one's zh/en text; said after every refresh. |
 * | `recovered`       | (none)                                | derived: a condition that was announced and is now said `false` gets one `recovered` message, on channels that take `recovered`. |
 * | `stuck`           | `condition('stuck', active, text)`    | the status model, once it judges the stuck queue (issue 18 item 2: window open, modem ready, messages queued, nothing sent for 10 minutes). |
 * | `config-error`    | `condition('config-error', active, text)` | the same fault reasons' `config-error` entry (from `BoxOptions.configProblem`, the ConfigError of `loadConfigWithFallback`, with file:line in `config_error` of the snapshot); a settings save that fixes the file ends it. |
 * | `low-balance`     | `condition('low-balance', active, text)` | the radio issue's SIM credit check (USSD), when it lands. |
 * | `carrier-blocked` | `condition('carrier-blocked', active, text)` | the radio issue's carrier-block detection (sends refused, the carrier's notice), when it lands. |
 * | `call`            | `event('call', text)`                 | the modem's incoming call (RING / +CLIP), via the inbound side, when it lands. |
 * | `selftest`        | `event('selftest', text)`             | the radio issue's self-test result. |
 * | `reply`           | `event('reply', text)`                | the inbound processor, for each complete reply that is not an opt-out (where it forwards today), with `{from, text, inbox_id}` and later `reply_to`. |
 * | `optout`          | `event('optout', text)`               | the inbound processor, when a reply opts a number out. |
 * | `daily`           | `event('daily', text)`                | a node-cron job at the sending window's close (main.ts already schedules the window's edges), with the day's counts and the SIM's credit. |
 *
 * A condition is level-triggered: saying `active` again and again is fine and
 * cheap (nothing is written unless the machine's state changes); only starts,
 * ends, the 10-minute window and the hourly reminder produce messages.
 *
 * For the settings page and the API: `Notifier.apiJson()` is `GET /api/notify`
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
