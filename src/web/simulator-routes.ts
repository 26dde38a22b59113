import type http from 'node:http';
import type polka from 'polka';
// Types only: the simulator itself is wired in by main.ts (DESIGN.md: only main.ts and cli.ts import it).
import type { ModemFault, NetworkKind, VirtualCall, VirtualModem } from '../../hardware/simulator/virtual-modem.js';
import { queryOf, readBody, sendJson } from './http.js';
import { PduError } from '../modem/pdu/index.js';

/**
 * The virtual HAT's controls, offered only in simulator mode: what it
 * transmitted, a customer's SMS arriving, faults to inject, the network and
 * SIM it is on (scenario), calls to it, and carrier notices. No SMS leaves the
 * box in this mode, so these need no admin login: they are how a shop owner
 * or a technician tries the box out.
 *
 * A box can run several virtual HATs (issue 19: `device = "simulator"` in
 * several [[modem]] blocks). Every route takes an optional `modem`, the name
 * of one: a query parameter for GET, a body field for POST; without it the
 * first virtual HAT answers. An unknown name is a 404 listing the names.
 */

/** One virtual HAT and the name of its [[modem]] block. */
export interface SimulatorEntry {
  name: string;
  modem: VirtualModem;
}

async function readJson(req: http.IncomingMessage): Promise<Record<string, unknown> | null> {
  const raw = await readBody(req);
  if (raw === null) return null;
  try {
    const value: unknown = JSON.parse(raw.toString('utf8') || '{}');
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function bad(res: http.ServerResponse, zh: string, en: string): void {
  sendJson(res, 400, { error: 'bad-request', message: zh, message_en: en });
}

/** A phone number as a caller or an own number: digits, optionally a leading +. */
const PHONE = /^\+?\d{3,20}$/;

function callJson(call: VirtualCall) {
  return {
    from: call.from,
    started_at: call.started_at,
    hung_up_at: call.hung_up_at,
    hung_up_by: call.hung_up_by,
    rings: call.rings,
    answered_at: call.answered_at,
  };
}

function scenarioJson(modem: VirtualModem) {
  const own = modem.getOwnNumber();
  return {
    profile: modem.profile,
    network: modem.getNetwork(),
    sms_path: modem.smsPath(),
    ims_registered: modem.isImsRegistered(),
    imsi: modem.getImsi(),
    carrier: modem.carrier(),
    own_number: own.number,
    own_number_known: own.known,
    balance_yuan: modem.getBalance(),
    faults: modem.activeFaults(),
  };
}

type Picked = { ok: true; entry: SimulatorEntry } | { ok: false; status: number; body: Record<string, unknown> };

/** The virtual HAT a request names (`modem`), the first one when it names none. */
function pickFrom(simulators: ReadonlyArray<SimulatorEntry>, value: unknown): Picked {
  if (value === undefined) return { ok: true, entry: simulators[0]! };
  const names = simulators.map((s) => s.name);
  if (typeof value !== 'string') {
    return { ok: false, status: 400, body: { error: 'bad-request', message: `modem 应为虚拟模块的名称（${names.join('、')}）`, message_en: `modem must be the name of a virtual modem (${names.join(', ')})` } };
  }
  const entry = simulators.find((s) => s.name === value);
  if (entry) return { ok: true, entry };
  const shown = value.length > 64 ? `${value.slice(0, 64)}…` : value;
  return {
    ok: false,
    status: 404,
    body: {
      error: 'unknown-modem',
      message: `没有名为 "${shown}" 的虚拟模块，可选：${names.join('、')}`,
      message_en: `No virtual modem is named "${shown}"; the names are: ${names.join(', ')}`,
      modems: names,
    },
  };
}

export function simulatorRoutes(simulators: ReadonlyArray<SimulatorEntry>) {
  if (simulators.length === 0) throw new RangeError('simulatorRoutes needs at least one virtual modem');
  const names = simulators.map((s) => s.name);
  if (new Set(names).size !== names.length) throw new RangeError(`virtual modem names must differ: ${names.join(', ')}`);
  const first = simulators[0]!.modem;
  // Fault and network kinds are the simulator's, the same for every virtual HAT.
  const FAULT_KINDS = first.faultKinds;
  const NETWORK_KINDS = first.networkKinds;

  /** The virtual HAT of a GET (`?modem=`); answers and returns null when the name is wrong. */
  const fromQuery = (req: http.IncomingMessage, res: http.ServerResponse): SimulatorEntry | null => {
    const values = queryOf(req).getAll('modem');
    // ?modem=a&modem=b names no one modem.
    const picked = pickFrom(simulators, values.length === 0 ? undefined : values.length === 1 ? values[0] : values);
    if (picked.ok) return picked.entry;
    sendJson(res, picked.status, picked.body);
    return null;
  };
  /** The virtual HAT of a POST (body field `modem`; a body that is not an object leaves the route to say so). */
  const fromBody = (body: Record<string, unknown> | null, res: http.ServerResponse): SimulatorEntry | null => {
    const picked = pickFrom(simulators, body?.['modem']);
    if (picked.ok) return picked.entry;
    sendJson(res, picked.status, picked.body);
    return null;
  };

  return (app: polka.Polka) => {
    app.get('/api/simulator/modems', (_req, res) => {
      sendJson(res, 200, {
        modems: simulators.map(({ name, modem }) => {
          const own = modem.getOwnNumber();
          return { name, profile: modem.profile, own_number: own.number, own_number_known: own.known };
        }),
      });
    });

    app.get('/api/simulator/sent', (req, res) => {
      const picked = fromQuery(req, res);
      if (!picked) return;
      sendJson(res, 200, { modem: picked.name, sent: picked.modem.transmitted.map((m) => ({ modem: picked.name, to: m.to, text: m.text, segments: m.segments, at: m.at })) });
    });

    app.post('/api/simulator/inbound', async (req, res) => {
      const body = await readJson(req);
      const picked = fromBody(body, res);
      if (!picked) return;
      const modem = picked.modem;
      const from = body?.['from'];
      const text = body?.['text'];
      if (typeof from !== 'string' || from.trim() === '' || typeof text !== 'string') {
        return bad(res, '请求体应为 {"from": "+8613900000000", "text": "T"}', 'body must be {"from": "+8613900000000", "text": "T"}');
      }
      let pdus;
      try {
        pdus = modem.deliver({ from: from.trim(), text });
      } catch (err) {
        // A sender no SMS can carry (an alphanumeric one over 11 characters, a bad number).
        if (err instanceof PduError) return bad(res, `无法作为短信发件人：${err.message}`, `cannot be an SMS sender: ${err.message}`);
        throw err;
      }
      sendJson(res, 200, { ok: true, modem: picked.name, parts: pdus.length });
    });

    app.post('/api/simulator/fault', async (req, res) => {
      const body = await readJson(req);
      const picked = fromBody(body, res);
      if (!picked) return;
      const modem = picked.modem;
      const kind = body?.['kind'];
      if (kind === 'clear') {
        modem.clear();
        return sendJson(res, 200, { ok: true, modem: picked.name, faults: modem.activeFaults() });
      }
      if (typeof kind !== 'string' || !(FAULT_KINDS as readonly string[]).includes(kind)) {
        return bad(res, `kind 应为 ${[...FAULT_KINDS, 'clear'].join('、')} 之一`, `kind must be one of ${[...FAULT_KINDS, 'clear'].join(', ')}`);
      }
      const fault = { kind } as ModemFault;
      const code = body?.['code'];
      if (kind === 'cms-error' || kind === 'carrier-blocked') {
        if (code !== undefined && !(Number.isInteger(code) && (code as number) >= 0 && (code as number) <= 999)) {
          return bad(res, 'code 应为 0 到 999 的整数（+CMS ERROR 的代码）', 'code must be an integer 0-999 (a +CMS ERROR code)');
        }
        if (typeof code === 'number') Object.assign(fault, { code });
      }
      if (kind === 'cms-error') {
        const count = body?.['count'];
        if (typeof count === 'number') Object.assign(fault, { count });
      }
      try {
        modem.inject(fault);
      } catch (err) {
        // A fault this module cannot have (no-ims on a 2G-only SIM868).
        if (err instanceof RangeError) return bad(res, `这个模块不会出现 ${kind} 故障：${err.message}`, `this module cannot have fault ${kind}: ${err.message}`);
        throw err;
      }
      sendJson(res, 200, { ok: true, modem: picked.name, faults: modem.activeFaults() });
    });

    // ------------------------------------------------------------ the network and the SIM

    app.get('/api/simulator/scenario', (req, res) => {
      const picked = fromQuery(req, res);
      if (!picked) return;
      sendJson(res, 200, { modem: picked.name, ...scenarioJson(picked.modem) });
    });

    app.post('/api/simulator/scenario', async (req, res) => {
      const body = await readJson(req);
      if (body === null) return bad(res, '请求体应为 JSON 对象', 'the body must be a JSON object');
      const picked = fromBody(body, res);
      if (!picked) return;
      const modem = picked.modem;
      const network = body['network'];
      const imsProvisioned = body['ims_provisioned'];
      const ownNumber = body['own_number'];
      const ownNumberKnown = body['own_number_known'];
      const imsi = body['imsi'];
      const balance = body['balance_yuan'];
      const replies = body['carrier_replies'];
      // Everything is checked before anything changes, so a bad body changes nothing.
      if (network !== undefined && !(typeof network === 'string' && (NETWORK_KINDS as readonly string[]).includes(network))) {
        return bad(res, `network 应为 ${NETWORK_KINDS.join('、')} 之一`, `network must be one of ${NETWORK_KINDS.join(', ')}`);
      }
      if (modem.profile === 'sim868' && network !== undefined && network !== 'gsm') {
        return bad(res, 'SIM868 只有 2G：network 只能是 gsm', 'a SIM868 is 2G only: network can only be gsm');
      }
      if (imsProvisioned !== undefined && typeof imsProvisioned !== 'boolean') return bad(res, 'ims_provisioned 应为 true 或 false', 'ims_provisioned must be true or false');
      if (ownNumber !== undefined && !(typeof ownNumber === 'string' && PHONE.test(ownNumber))) {
        return bad(res, 'own_number 应为电话号码，如 +8613912345678', 'own_number must be a phone number such as +8613912345678');
      }
      if (ownNumberKnown !== undefined && typeof ownNumberKnown !== 'boolean') return bad(res, 'own_number_known 应为 true 或 false', 'own_number_known must be true or false');
      if (imsi !== undefined && !(typeof imsi === 'string' && /^\d{6,15}$/.test(imsi))) return bad(res, 'imsi 应为 6 到 15 位数字', 'imsi must be 6 to 15 digits');
      if (balance !== undefined && !(typeof balance === 'number' && Number.isFinite(balance))) return bad(res, 'balance_yuan 应为数字（元）', 'balance_yuan must be a number of yuan');
      const replyEntries = replies === undefined ? [] : typeof replies === 'object' && replies !== null && !Array.isArray(replies) ? Object.entries(replies) : null;
      if (replyEntries === null || replyEntries.length > 20 || replyEntries.some(([number, text]) => !PHONE.test(number) || !(text === null || (typeof text === 'string' && text.length <= 1000)))) {
        return bad(
          res,
          'carrier_replies 应为 {"10086": "回复内容"}（最多 20 个号码，每条最多 1000 字，null 恢复默认）',
          'carrier_replies must be {"10086": "reply text"} (at most 20 numbers, 1000 characters each, null for the default)',
        );
      }
      if (imsProvisioned !== undefined) modem.setImsProvisioned(imsProvisioned);
      if (network !== undefined) modem.setNetwork(network as NetworkKind);
      if (ownNumber !== undefined || ownNumberKnown !== undefined) {
        const own = modem.getOwnNumber();
        modem.setOwnNumber((ownNumber as string | undefined) ?? own.number, (ownNumberKnown as boolean | undefined) ?? own.known);
      }
      if (imsi !== undefined) modem.setImsi(imsi);
      if (balance !== undefined) modem.setBalance(balance);
      for (const [number, text] of replyEntries) modem.setCarrierReply(number, text as string | null);
      sendJson(res, 200, { ok: true, modem: picked.name, ...scenarioJson(modem) });
    });

    app.post('/api/simulator/carrier-notice', async (req, res) => {
      const body = await readJson(req);
      const picked = fromBody(body, res);
      if (!picked) return;
      const modem = picked.modem;
      const from = body?.['from'];
      const text = body?.['text'];
      if (body === null || (from !== undefined && !(typeof from === 'string' && PHONE.test(from))) || (text !== undefined && !(typeof text === 'string' && text.length > 0 && text.length <= 1000))) {
        return bad(res, '请求体应为 {"from": "10086", "text": "…"}（两项都可省略）', 'body must be {"from": "10086", "text": "…"} (both may be left out)');
      }
      const notice = modem.sendCarrierNotice({ ...(from !== undefined ? { from } : {}), ...(text !== undefined ? { text } : {}) });
      sendJson(res, 200, { ok: true, modem: picked.name, ...notice });
    });

    // ------------------------------------------------------------ calls

    app.post('/api/simulator/call', async (req, res) => {
      const body = await readJson(req);
      const picked = fromBody(body, res);
      if (!picked) return;
      const modem = picked.modem;
      const from = body?.['from'];
      if (typeof from !== 'string' || !PHONE.test(from.trim())) {
        return bad(res, '请求体应为 {"from": "+8613800138000"}', 'body must be {"from": "+8613800138000"}');
      }
      const call = modem.call({ from: from.trim() });
      sendJson(res, 200, { ok: true, modem: picked.name, call: callJson(call) });
    });

    /** The caller hangs up (or gives up). */
    app.post('/api/simulator/call/end', async (req, res) => {
      // The body is optional here (an empty one ends the first modem's call); one that is not a JSON object is refused.
      const raw = await readBody(req);
      const body = raw !== null && raw.length === 0 ? {} : await readJson(req);
      if (body === null) return bad(res, '请求体应为 JSON 对象，如 {"modem": "sim2"}，或留空', 'the body must be a JSON object such as {"modem": "sim2"}, or empty');
      const picked = fromBody(body, res);
      if (!picked) return;
      const call = picked.modem.callerHangsUp();
      sendJson(res, 200, { ok: true, modem: picked.name, call: call ? callJson(call) : null });
    });

    app.get('/api/simulator/calls', (req, res) => {
      const picked = fromQuery(req, res);
      if (!picked) return;
      sendJson(res, 200, { modem: picked.name, calls: picked.modem.calls.map((call) => ({ modem: picked.name, ...callJson(call) })) });
    });
  };
}
