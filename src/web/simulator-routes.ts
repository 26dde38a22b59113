import type http from 'node:http';
import type polka from 'polka';
import type { FaultKind, ModemFault, VirtualModem } from '../../hardware/simulator/virtual-modem.js';
import { readBody, sendJson } from './http.js';
import { PduError } from '../modem/pdu/index.js';

/**
 * The virtual HAT's controls, offered only in simulator mode: what it
 * transmitted, a customer's SMS arriving, and faults to inject. No SMS leaves
 * the box in this mode, so these need no admin login: they are how a shop
 * owner or a technician tries the box out.
 */

const FAULT_KINDS: readonly FaultKind[] = ['no-sim', 'no-network', 'cms-error', 'silence', 'garbage', 'reboot'];

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

export function simulatorRoutes(modem: VirtualModem) {
  return (app: polka.Polka) => {
    app.get('/api/simulator/sent', (_req, res) => {
      sendJson(res, 200, { sent: modem.transmitted.map((m) => ({ to: m.to, text: m.text, segments: m.segments, at: m.at })) });
    });

    app.post('/api/simulator/inbound', async (req, res) => {
      const body = await readJson(req);
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
      sendJson(res, 200, { ok: true, parts: pdus.length });
    });

    app.post('/api/simulator/fault', async (req, res) => {
      const body = await readJson(req);
      const kind = body?.['kind'];
      if (kind === 'clear') {
        modem.clear();
        return sendJson(res, 200, { ok: true, faults: modem.activeFaults() });
      }
      if (typeof kind !== 'string' || !(FAULT_KINDS as readonly string[]).includes(kind)) {
        return bad(res, `kind 应为 ${[...FAULT_KINDS, 'clear'].join('、')} 之一`, `kind must be one of ${[...FAULT_KINDS, 'clear'].join(', ')}`);
      }
      const fault = { kind } as ModemFault;
      if (kind === 'cms-error') {
        const code = body?.['code'];
        const count = body?.['count'];
        Object.assign(fault, typeof code === 'number' ? { code } : {}, typeof count === 'number' ? { count } : {});
      }
      modem.inject(fault);
      sendJson(res, 200, { ok: true, faults: modem.activeFaults() });
    });
  };
}
