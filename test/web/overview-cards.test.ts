/**
 * The overview's card per SIM (issue 19): built from the snapshot's `modems`,
 * or from its one `modem` when it has none; each field live through the
 * status stream's `cards`.
 */
import test from 'ava';
import http from 'node:http';
import { defaultConfig } from '../../src/config/config.js';
import type { ModemCard } from '../../src/status/modem-cards.js';
import type { StatusSnapshot } from '../../src/status/status.js';
import { overviewCards, renderHome } from '../../src/web/pages.js';
import { withBox } from '../helpers/box.js';
import { card } from '../helpers/modem-card.js';


function withModems(base: StatusSnapshot, modems: ModemCard[]): StatusSnapshot {
  const s = structuredClone(base);
  (s as unknown as { modems: ModemCard[] }).modems = modems;
  return s;
}

/** The <section> of card `i`. */
function section(html: string, i: number): string {
  const m = new RegExp(`<section class="modem-card" data-card="${i}">([\\s\\S]*?)</section>`).exec(html);
  return m ? m[1]! : '';
}

test('two SIMs: a card each, with name, device, state, operator, bars, SMS path, sent today / day cap and what it waits for', async (t) => {
  await withBox(async (box) => {
    const s = withModems(box.status.snapshot(), [
      card('shop-a', { device: '/dev/serial0', operator: 'CHINA MOBILE', signal_bars: 5, signal_csq: 28, sent_today: 120, day_budget_left: 780 }),
      card('shop-b', {
        device: '/dev/serial/by-id/usb-Quectel_EC25-if02-port0', hat: 'ec25-usb', state: 'searching', registered: false, operator: null,
        signal_bars: 1, signal_csq: 5, sms_path: 'unknown', sent_today: 900, day_budget_left: 0, power_control: false,
        waiting: 'modem-not-ready', waiting_text: '短信模块未就绪', waiting_text_en: 'the modem is not ready',
      }),
    ]);
    const zh = renderHome(s, defaultConfig(), [], 'zh');
    t.is((zh.match(/class="modem-card"/g) ?? []).length, 2);
    const a = section(zh, 0);
    const b = section(zh, 1);
    t.regex(a, /<h2>短信模块 <span class="modem-name">shop-a<\/span><\/h2>/);
    t.regex(a, /<code>\/dev\/serial0<\/code> <small>sim7600<\/small>/);
    t.regex(a, /data-k="cards\.0\.state"[^>]*>就绪</);
    t.regex(a, /data-k="cards\.0\.operator">CHINA MOBILE</);
    t.is((a.match(/<i class="on"/g) ?? []).length, 5, 'five bars lit');
    t.regex(a, /data-k="cards\.0\.sms_path"[^>]*>SGs（4G）</);
    t.regex(a, /今日已发 \/ 每日上限<\/dt><dd><span data-k="cards\.0\.sent_today">120<\/span> \/ <span data-k="cards\.0\.limits\.max_per_day"[^>]*>900</);
    t.regex(a, /data-k="cards\.0\.waiting_text">—</);
    t.regex(a, /id="sim-balance"/, 'the SIM credit is the first SIM\'s');
    t.notRegex(a, /电源控制/, 'a modem the box can power says nothing about it');

    t.regex(b, /<span class="modem-name">shop-b<\/span>/);
    t.regex(b, /<code>\/dev\/serial\/by-id\/usb-Quectel_EC25-if02-port0<\/code> <small>ec25-usb<\/small>/);
    t.regex(b, /data-k="cards\.1\.state"[^>]*>正在搜索网络</);
    t.regex(b, /data-k="cards\.1\.operator">—</);
    t.is((b.match(/<i class="on"/g) ?? []).length, 1);
    t.regex(b, /<span data-k="cards\.1\.sent_today">900<\/span>/);
    t.regex(b, /data-k="cards\.1\.waiting_text">短信模块未就绪</);
    t.regex(b, /电源控制<\/dt><dd class="no-power">此模块没有电源控制（USB）/);
    t.notRegex(b, /sim-balance/);

    const en = renderHome(s, defaultConfig(), [], 'en');
    const bEn = section(en, 1);
    t.regex(bEn, /<h2>Modem <span class="modem-name">shop-b<\/span><\/h2>/);
    t.regex(bEn, /data-k="cards\.1\.state"[^>]*>searching for the network</);
    t.regex(bEn, /data-k="cards\.1\.waiting_text_en">the modem is not ready</);
    t.regex(bEn, /This modem has no power control \(USB\)/);
    t.regex(section(en, 0), /sent today \/ day cap/);
  });
});

test('a SIM without a day cap says so; names and devices are escaped', async (t) => {
  await withBox(async (box) => {
    const s = withModems(box.status.snapshot(), [card('<b>x</b>', { device: '/dev/"tty"', day_budget_left: null, limits: { max_per_minute: 0, max_per_hour: 0, max_per_day: 0 } })]);
    const html = section(renderHome(s, defaultConfig(), [], 'zh'), 0);
    t.regex(html, /data-k="cards\.0\.limits\.max_per_day"[^>]*>不限</);
    t.true(html.includes('&lt;b&gt;x&lt;/b&gt;'));
    t.false(html.includes('<b>x</b>'));
    t.true(html.includes('/dev/&quot;tty&quot;'));
  });
});

test('a snapshot without modems: one card, as before plus the name, from modem, queue and the config', async (t) => {
  await withBox(async (box) => {
    const s = structuredClone(box.status.snapshot());
    Object.assign(s.modem, { state: 'ready', registered: true, operator: 'CHN-UNICOM', signal_bars: 3, signal_csq: 15, sms_path: 'cs' });
    Object.assign(s.queue, { sent_today: 12 });
    // An older snapshot (a box with the one modem of old): no modems.
    delete (s as { modems?: unknown }).modems;
    const config = defaultConfig();
    const cards = overviewCards(s, config);
    t.is(cards.length, 1);
    t.like(cards[0], { name: 'sim1', device: 'simulator', hat: 'sim7600', state: 'ready', operator: 'CHN-UNICOM', signal_bars: 3, sms_path: 'cs', sent_today: 12, power_control: true, day_budget_left: 888 });
    t.deepEqual(cards[0]!.limits, { max_per_minute: config.schedule.maxPerMinute, max_per_hour: config.schedule.maxPerHour, max_per_day: config.schedule.maxPerDay });
    const html = renderHome(s, config, [], 'zh');
    t.is((html.match(/class="modem-card"/g) ?? []).length, 1);
    t.regex(section(html, 0), /<span class="modem-name">sim1<\/span>/);
    t.regex(section(html, 0), /data-k="cards\.0\.operator">CHN-UNICOM</);
    // A USB profile in the config: its one card says the box has no power control over it.
    config.modem.hat = 'sim7600-usb';
    t.false(overviewCards(s, config)[0]!.power_control);
    t.regex(section(renderHome(s, config, [], 'en'), 0), /This modem has no power control \(USB\)/);
  });
});

test('the status stream carries the cards the overview fills live', async (t) => {
  await withBox(async (box) => {
    const payload = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const req = http.get(`${box.url}/api/status/stream`, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
          const m = /event: status\ndata: (.*)\n\n/.exec(text);
          if (m) {
            req.destroy();
            resolve(JSON.parse(m[1]!) as Record<string, unknown>);
          }
        });
      });
      req.on('error', reject);
    });
    const cards = payload['cards'] as ModemCard[];
    const status = payload['status'] as StatusSnapshot;
    t.is(cards.length, 1);
    t.like(cards[0], { name: 'sim1', state: status.modem.state, sms_path: status.modem.sms_path, sent_today: status.queue.sent_today });
  });
});
