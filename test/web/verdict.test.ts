import test from 'ava';
import type { StatusSnapshot } from '../../src/status/status.js';
import { renderHome, verdictOf } from '../../src/web/pages.js';
import { defaultConfig } from '../../src/config/config.js';
import { withBox } from '../helpers/box.js';

/** A snapshot of a box that is sending, changed per case. */
function variant(base: StatusSnapshot, change: (s: StatusSnapshot) => void): StatusSnapshot {
  const s = structuredClone(base);
  change(s);
  return s;
}

test('the verdict: one line, its colour and what to do, for each state the shop can meet', async (t) => {
  await withBox(async (box) => {
    const sending = variant(box.status.snapshot(), (s) => {
      Object.assign(s.modem, { state: 'ready', hard_fault: null, registered: true });
      Object.assign(s.queue, { waiting: null, waiting_text: null, waiting_text_en: null, waiting_detail: null });
    });
    const cases: [string, (s: StatusSnapshot) => void, 'ok' | 'wait' | 'fault', RegExp, RegExp][] = [
      ['sending', () => {}, 'ok', /^正常发送中$/, /^Sending normally$/],
      ['quiet hours', (s) => Object.assign(s.queue, { waiting: 'window-closed' }), 'wait', /^等待发送时段$/, /sending window/],
      ['clock not set', (s) => Object.assign(s.queue, { waiting: 'clock-not-set' }), 'wait', /时间校准/, /clock/],
      ['modem starting', (s) => Object.assign(s.modem, { state: 'starting' }), 'wait', /启动中/, /starting/],
      ['searching', (s) => Object.assign(s.modem, { state: 'searching' }), 'wait', /搜索网络/, /Searching/],
      ['denied', (s) => Object.assign(s.modem, { state: 'registration-denied' }), 'fault', /^故障: 网络拒绝注册$/, /^Fault: /],
      ['no SIM', (s) => Object.assign(s.modem, { state: 'no-sim', hard_fault: '未检测到 SIM 卡：请断电后插好 SIM 卡 / No SIM card: power off and insert the SIM card' }),
        'fault', /^故障: 未检测到 SIM 卡：请断电后插好 SIM 卡$/, /^Fault: No SIM card: power off and insert the SIM card$/],
    ];
    for (const [name, change, level, zh, en] of cases) {
      const s = variant(sending, change);
      const vzh = verdictOf(s, 'zh');
      const ven = verdictOf(s, 'en');
      t.is(vzh.level, level, name);
      t.is(ven.level, level, name);
      t.regex(vzh.text, zh, name);
      t.regex(ven.text, en, name);
      if (level === 'fault') t.true(vzh.text.includes('：') || vzh.detail !== '', `${name}: says what to do`);
    }
  });
});

test('the overview draws the LEDs as the box shows them: lit, blinking, off', async (t) => {
  await withBox(async (box) => {
    const s = variant(box.status.snapshot(), (x) => {
      (x as { leds: unknown }).leds = { power: 'on', network: 'off', fault: 'blink-fast' };
    });
    const html = renderHome(s, defaultConfig(), [], 'zh');
    t.regex(html, /data-led="power"><i class="on  "><\/i>电源 <small>on<\/small>/);
    t.regex(html, /data-led="network"><i class="  "><\/i>网络/);
    t.regex(html, /data-led="fault"><i class="on blink fault"><\/i>故障 <small>blink-fast<\/small>/);
    const withoutLeds = variant(box.status.snapshot(), (x) => {
      (x as { leds: unknown }).leds = {};
    });
    t.notRegex(renderHome(withoutLeds, defaultConfig(), [], 'zh'), /data-led=/, 'no LED panel without LED information');
  });
});

test('several SIMs: one SIM down while another sends is "needs attention" naming it, not a fault; every SIM down is a fault', async (t) => {
  const { deriveLeds } = await import('../../src/leds/patterns.js');
  await withBox(async (box) => {
    const dead = '短信模块无响应 / The modem does not respond';
    const base = box.status.snapshot();
    const pooled = (modems: Record<string, unknown>[]): StatusSnapshot => variant(base, (s) => {
      Object.assign(s.modem, modems[0]);
      Object.assign(s.queue, { waiting: null, waiting_text: null, waiting_text_en: null, waiting_detail: null });
      (s as { modems?: unknown }).modems = modems;
      // The fault list as the box derives it from the same snapshot (src/leds).
      s.faults = deriveLeds(s as Parameters<typeof deriveLeds>[0]).faults.map((f) => ({ level: f.level, kind: f.kind, message: f.zh, message_en: f.en }));
    });
    const ready = { state: 'ready', hard_fault: null, registered: true, signal_bars: 4, sms_path: 'sgs' };
    const down = { state: 'not-responding', hard_fault: dead, registered: null, signal_bars: null, sms_path: 'unknown' };

    const one = pooled([{ name: 'shop-a', ...down }, { name: 'shop-b', ...ready }]);
    t.is(verdictOf(one, 'zh').level, 'wait');
    t.is(verdictOf(one, 'zh').text, '需要处理: SIM shop-a：短信模块无响应');
    t.is(verdictOf(one, 'en').text, 'Needs attention: Modem shop-a: The modem does not respond');

    const both = pooled([{ name: 'shop-a', ...down }, { name: 'shop-b', ...down }]);
    t.is(verdictOf(both, 'zh').level, 'fault');
    t.regex(verdictOf(both, 'zh').text, /^故障: /);

    t.deepEqual(verdictOf(pooled([{ name: 'shop-a', ...ready }, { name: 'shop-b', ...ready }]), 'zh'), verdictOf(pooled([{ name: 'shop-a', ...ready }]), 'zh'), 'a healthy pool reads as one healthy SIM');
  });
});
