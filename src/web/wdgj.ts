import type { Clock } from '../clock.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../log.js';
import { formatYuan } from '../money.js';
import type { Operations } from '../operations/index.js';
import type { Params } from '../protocol/request.js';
import { AuthReply, parseMessageName, SendReply } from '../protocol/wdgj.js';
import type { StatusModel, WdgjRequestRecord } from '../status/status.js';
import { cut } from '../text.js';

/**
 * The WDGJ 3.0 adapter: decodes the three messages and encodes the replies.
 * What a reply code means (README.md, "WDGJ protocol as implemented") is
 * decided here; everything a request does to the shop's data is done by the
 * operations (src/operations/sending.ts), which also write its events.
 */
export class WdgjEndpoint {
  constructor(
    private readonly deps: {
      ops: Operations;
      status: StatusModel;
      clock: Clock;
      config: () => Config;
      log: Logger;
    },
  ) {}

  /** The reply body for a request whose params carry `msg`. */
  async answer(params: Params, client: string): Promise<string> {
    const { ops } = this.deps;
    const now = this.deps.clock.now();
    const message = parseMessageName(params.get('msg'));
    const given = (params.get('user') ?? '').trim();
    const record = (reply: string, reason?: string, requestId?: number) => {
      const entry: WdgjRequestRecord = { at: now, client, msg: message ?? cut(params.get('msg') ?? '', 40), ...this.userOf(given), reply };
      if (reason) entry.reason = reason;
      if (requestId !== undefined) entry.requestId = requestId;
      this.deps.status.recordWdgj(entry);
      // Successes are routine (管家助理 polls): debug only; anything refused or merged is worth a line.
      const fields = { msg: entry.msg, user: entry.user, client, reply, ...(reason ? { reason } : {}), ...(requestId !== undefined ? { request_id: requestId } : {}) };
      if (reason) this.deps.log.info(reason === 'duplicate' ? 'wdgj retry merged' : 'wdgj refused', fields);
      else this.deps.log.debug('wdgj', fields);
      return reply;
    };
    try {
      if (!message) {
        // Not one of the three messages: "interface failure" tells the client this URL is not what it thinks.
        return record(SendReply.interfaceFailure, ops.sending.unknownMessage(params.get('msg') ?? '', client).code);
      }
      const login = await ops.sending.authenticate({ user: given, password: params.get('pwd') ?? '', client });
      if (!login.ok) return record(AuthReply.invalid, login.code);
      switch (message) {
        case 'smsAU':
          return record(AuthReply.valid);
        case 'smsBalance': {
          const balance = ops.sending.balance(login.value);
          if (!balance.ok) return record('0', balance.code);
          const { balanceLi } = balance.value;
          return record(balanceLi === null ? this.deps.config().billing.unlimitedBalanceReply : formatYuan(balanceLi));
        }
        case 'smsSnd': {
          const sent = await ops.sending.submit(login.value, { tel: params.get('tel') ?? '', body: params.get('body') ?? '', client });
          if (!sent.ok) return record(sent.code === 'balance-too-low' ? SendReply.balanceTooLow : SendReply.interfaceFailure, sent.code);
          // A retry answers 1 again (its message is queued once), and the request log says so.
          if (sent.value.kind === 'duplicate') return record(SendReply.accepted, 'duplicate', sent.value.requestId);
          return record(SendReply.accepted);
        }
      }
    } catch (err) {
      ops.sending.failed(err, client);
      return record(message === 'smsSnd' ? SendReply.interfaceFailure : '0', 'store-failure');
    }
  }

  /** What the request log keeps of `User`: an account's name, never anything else. */
  private userOf(given: string): Pick<WdgjRequestRecord, 'user' | 'unknownUser'> {
    if (given === '') return { user: '' };
    let known = false;
    try {
      known = this.deps.ops.sending.isAccount(given);
    } catch {
      // The database is failing: keep nothing rather than a value that may be a password.
    }
    return known ? { user: given } : { user: '', unknownUser: true };
  }
}
