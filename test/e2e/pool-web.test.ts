/**
 * The web side of a pool end to end (issue 19): three virtual HATs, the third
 * an EC25 over USB; the simulator routes take a modem name, /api/status,
 * /metrics and the overview have one entry per SIM, and the USB one says it
 * has no power control.
 */
import test from 'ava';
import type { Config } from '../../src/config/config.js';
import { defaultModemConfig } from '../../src/config/config.js';
import { startTestBox } from '../helpers/box.js';
import { boxUntil } from '../helpers/box-events.js';

test('simulator routes, status, metrics and overview over a pool with a USB modem', async (t) => {
  const box = await startTestBox({
    config: (c: Config) => {
      c.schedule.quietHours = null;
      c.schedule.quietHoursText = '';
      c.simulator.sendMs = 20;
      c.modem = defaultModemConfig(0);
      c.extraModems = [defaultModemConfig(1), { ...defaultModemConfig(2), name: 'spare', hat: 'ec25-usb' }];
    },
    simulatorBootMs: 50,
    modemTimings: { pollIntervalMs: 100, commandTimeoutMs: 1000, bootMs: 3000, resyncQuietMs: 30 },
  });
  try {
    await boxUntil(box, 'every modem ready', () => box.modems.every((u) => u.modem.status().state === 'ready'));
    const modems = (await (await fetch(`${box.url}/api/simulator/modems`)).json()) as { modems: { name: string; profile: string }[] };
    t.deepEqual(modems.modems.map((m) => [m.name, m.profile]), [['sim1', 'sim7600'], ['sim2', 'sim7600'], ['spare', 'ec25']]);
    const r = await fetch(`${box.url}/api/simulator/inbound`, { method: 'POST', body: JSON.stringify({ modem: 'spare', from: '+8613900000002', text: '几号发货' }) });
    t.is(r.status, 200);
    await boxUntil(box, 'reply in', () => box.store.listInbox({ limit: 5 }).length === 1);
    t.is(box.store.listInbox({ limit: 5 })[0]!.modem, 'spare');
    const status = (await (await fetch(`${box.url}/api/status`)).json()) as { modems: Record<string, unknown>[] };
    t.like(status.modems[2], { name: 'spare', hat: 'ec25-usb', power_control: false, state: 'ready' });
    const metrics = await (await fetch(`${box.url}/metrics`)).text();
    t.regex(metrics, /^smsbox_modem_state\{modem="spare",state="ready"\} 1$/m);
    t.regex(metrics, /^smsbox_signal_csq\{modem="sim2"\} \d+$/m);
    const html = await (await fetch(`${box.url}/`)).text();
    t.is((html.match(/class="modem-card"/g) ?? []).length, 3);
    t.regex(html, /此模块没有电源控制（USB）/);
    t.is((await fetch(`${box.url}/api/simulator/sent?modem=nope`)).status, 404);
  } finally {
    await box.dispose();
  }
});
