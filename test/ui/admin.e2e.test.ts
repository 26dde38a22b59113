/**
 * The status page and admin in a real browser: Debian's Chromium, headless,
 * driven by playwright-core, against the whole box in process on the virtual
 * HAT. Takes screenshots of every page (desktop and phone width): into a
 * temporary folder, or into test/ui/screenshots/ (which the README links to)
 * when UPDATE_SCREENSHOTS=1, so an ordinary test run leaves the checkout clean.
 */
import test from 'ava';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { parseConfig } from '../../src/config/config.js';
import { packageRoot } from '../../src/paths.js';
import { startTestBox, tempDir, type TestBox } from '../helpers/box.js';
import { boxUntil } from '../helpers/box-events.js';
import { CHROMIUM as CHROMIUM_TOOL, hasTool, testWithTools } from '../helpers/tools.js';

const CHROMIUM = CHROMIUM_TOOL.path!;
const UPDATE_SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1';
let SHOTS = '';
const hasChromium = hasTool(CHROMIUM_TOOL);
const browserTest = testWithTools([CHROMIUM_TOOL], { serial: true });
/** Evaluated in the page (a string: the test files are compiled without DOM types). */
// A locator, not waitForFunction: the page's CSP forbids eval, which waitForFunction's polling needs.
const VERDICT_OK = '#verdict.ok';
/** A browser step that has not happened in this time will not: fail with its own message, well before ava's timeout. */
const STEP_TIMEOUT_MS = 20_000;

const CONFIG = [
  '\uFEFF# 短信网关配置（测试）',
  '[admin]',
  'password = "ui-test-admin"',
  '',
  '[schedule]',
  'quiet_hours = ""   # 测试时不限时段',
  'max_per_hour = 0',
  'max_per_day = 0',
  '',
  '[simulator]',
  'send_ms = 20',
  '',
  '[sim]',
  'check_balance = false   # 不自动查询话费：只有测试发的短信 / no balance SMS of the box\'s own among the test\'s',
  '',
  '[dispatch]',
  'retry_base_seconds = 1',
  '',
  '[[account]]',
  'user = "shop"',
  'password = "shop-pw"',
  'balance = 100',
  '',
].join('\r\n');

let box: TestBox;
let browser: Browser;
let desktop: BrowserContext;
let configDir: string;
let configFile: string;

/**
 * Waits (on the box's events) until `ready` holds in the box, then reloads the
 * page, which must show `selector` (server-rendered pages do not update themselves).
 */
async function reloadWhen(page: Page, what: string, ready: () => unknown, selector: string): Promise<void> {
  await boxUntil(box, what, ready);
  await page.reload();
  await page.locator(selector).first().waitFor({ state: 'attached' });
}

test.before(async () => {
  if (!hasChromium) return;
  configDir = mkdtempSync(join(tmpdir(), 'smsbox-ui-config-'));
  configFile = join(configDir, 'smsbox.toml');
  writeFileSync(configFile, CONFIG);
  const parsed = parseConfig(CONFIG, configFile);
  box = await startTestBox({
    config: (c) => Object.assign(c, parsed),
    dataDir: tempDir(),
    simulatorBootMs: 50,
    modemTimings: { pollIntervalMs: 100, commandTimeoutMs: 1000, bootMs: 3000, resyncQuietMs: 30 },
  });
  const { chromium } = await import('playwright-core');
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  desktop = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN' });
  desktop.setDefaultTimeout(STEP_TIMEOUT_MS);
  SHOTS = UPDATE_SCREENSHOTS ? join(packageRoot, 'test', 'ui', 'screenshots') : mkdtempSync(join(tmpdir(), 'smsbox-screenshots-'));
  mkdirSync(SHOTS, { recursive: true });
});

test.after.always(async () => {
  if (!hasChromium) return;
  await browser?.close();
  if (box) {
    await box.dispose();
    rmSync(box.dataDir, { recursive: true, force: true });
  }
  if (configDir) rmSync(configDir, { recursive: true, force: true });
  if (SHOTS && !UPDATE_SCREENSHOTS) rmSync(SHOTS, { recursive: true, force: true });
});

browserTest('the overview needs no login and turns to "sending" live, without a reload', async (t) => {
  const page = await desktop.newPage();
  await page.goto(box.url + '/');
  t.regex((await page.locator('#verdict').textContent()) ?? '', /短信模块启动中|正常发送中/);
  await page.locator(VERDICT_OK).waitFor({ timeout: 20_000 });
  t.regex((await page.locator('#verdict').textContent()) ?? '', /正常发送中/);
  t.true(await page.locator('.banner').isVisible(), 'simulator banner');
  await page.close();
});

browserTest('log in, send a test SMS through the virtual HAT and see it reach sent', async (t) => {
  t.timeout(60_000);
  const page = await desktop.newPage();
  await page.goto(box.url + '/messages');
  t.regex(page.url(), /\/login\?next=/);
  await page.fill('input[name=password]', 'wrong');
  await page.click('button[type=submit]');
  t.regex((await page.locator('.flash-error').textContent()) ?? '', /密码错误/);
  await page.fill('input[name=password]', 'ui-test-admin');
  await page.click('button[type=submit]');
  t.regex(page.url(), /\/messages$/);

  await page.fill('form[action="/messages/test"] input[name=to]', '13800138000');
  await page.fill('form[action="/messages/test"] input[name=text]', '您好，这是一条测试短信');
  await page.click('form[action="/messages/test"] button[type=submit]');
  t.regex((await page.locator('.flash-ok').textContent()) ?? '', /测试短信已排队/);
  await reloadWhen(page, 'the test message to be sent', () => box.store.listMessages({ limit: 10 }).some((m) => m.status === 'sent' || m.status === 'delivered'), '#messages [data-status=sent], #messages [data-status=delivered]');
  const sent = (await (await fetch(`${box.url}/api/simulator/sent`)).json()) as { sent: { to: string; text: string }[] };
  t.deepEqual(sent.sent.map((m) => [m.to, m.text]), [['+8613800138000', '您好，这是一条测试短信']]);
  await page.click('#messages a[href^="/messages/"]');
  t.regex((await page.locator('#body').textContent()) ?? '', /这是一条测试短信/);
  await page.close();
});

browserTest('an inbound opt-out shows on the opt-out page; an XSS payload in an SMS stays inert text', async (t) => {
  const page = await desktop.newPage();
  const inbound = (from: string, text: string) =>
    fetch(`${box.url}/api/simulator/inbound`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ from, text }) });
  const payload = '<script>window.__xss=1</script>"><img src=x onerror="window.__xss=2">';
  t.is((await inbound('+8613900000000', 'T')).status, 200);
  t.is((await inbound('+8613900000005', payload)).status, 200);

  await page.goto(box.url + '/optouts');
  await reloadWhen(page, 'the opt-out to be stored', () => box.store.isOptedOut('+8613900000000'), '#optouts td:text-is("13900000000")');
  t.pass();

  await page.goto(box.url + '/inbox');
  await reloadWhen(page, 'the payload in the inbox', () => box.store.listInbox({ limit: 10 }).some((m) => m.text === payload), '#inbox td.text:has-text("window.__xss")');
  t.is(await page.locator('#inbox td.text', { hasText: 'window.__xss' }).textContent(), payload, 'shown as the literal text');
  t.is(await page.locator('#inbox img').count(), 0);
  t.is(await page.evaluate('typeof window.__xss'), 'undefined', 'no injected script or handler ran');
  await page.close();
});

browserTest('change quiet hours in Settings: written to the config file with its comments, applied at once', async (t) => {
  const page = await desktop.newPage();
  await page.goto(box.url + '/settings');
  await page.fill('form[action="/settings/schedule"] input[name=quiet_hours]', '22:00-08:00');
  await page.click('form[action="/settings/schedule"] button[type=submit]');
  t.regex((await page.locator('.flash-ok').textContent()) ?? '', /已保存并生效/);
  t.is(await page.inputValue('form[action="/settings/schedule"] input[name=quiet_hours]'), '22:00-08:00');
  const written = readFileSync(configFile, 'utf8');
  t.true(written.includes('quiet_hours = "22:00-08:00"   # 测试时不限时段\r\n'));
  t.true(written.startsWith('\uFEFF# 短信网关配置（测试）'));
  t.is(box.status.snapshot().window.quiet_hours, '22:00-08:00');

  // Back to "always open", so the screenshots show a box sending normally.
  await page.fill('form[action="/settings/schedule"] input[name=quiet_hours]', '');
  await page.click('form[action="/settings/schedule"] button[type=submit]');
  t.is(box.status.snapshot().window.quiet_hours, '');
  // The page after the redirect has loaded before it is closed: Chromium can
  // drop a close that races a navigation commit (crbug.com/536385539), and
  // page.close() then waits minutes for its unload watchdog.
  await page.waitForLoadState('load');
  t.regex((await page.locator('.flash-ok').textContent()) ?? '', /已保存并生效/);
  await page.close();
});

browserTest('screenshots of every page, desktop (1280) and phone (390) width', async (t) => {
  t.timeout(90_000);
  // A little history so the pages and charts are not empty.
  for (let i = 0; i < 3; i++) await box.get(`/sms?Msg=smsSnd&User=shop&PWD=shop-pw&Tel=1380013800${i}&Body=${encodeURIComponent(`订单 ${i} 已发货，请注意查收`)}`);
  await boxUntil(box, 'the messages to be sent', () => box.store.listMessages({ limit: 10, status: 'queued' }).length === 0);
  // A day of signal readings (the box samples once a minute; this run is shorter).
  const now = Date.now();
  for (let m = 24 * 60; m > 0; m -= 10) box.store.addSignalSample(now - m * 60_000, m > 300 && m < 330 ? null : 14 + Math.round(6 * Math.sin(m / 90)));

  const state = await desktop.storageState();
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true, locale: 'zh-CN', storageState: state });
  const anonymous = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'zh-CN' });
  for (const context of [phone, anonymous]) context.setDefaultTimeout(STEP_TIMEOUT_MS);
  const firstMessage = box.store.listMessages({ limit: 100 }).at(-1)!.id;
  const pages: [string, string][] = [
    ['overview', '/'],
    ['setup', '/setup'],
    ['messages', '/messages'],
    ['message', `/messages/${firstMessage}`],
    ['inbox', '/inbox'],
    ['optouts', '/optouts'],
    ['charts', '/charts'],
    ['settings', '/settings'],
  ];
  for (const [context, suffix] of [[desktop, 'desktop'], [phone, 'phone']] as const) {
    const page = await context.newPage();
    for (const [name, path] of pages) {
      await page.goto(box.url + path);
      if (name === 'overview') await page.locator(VERDICT_OK).waitFor();
      await page.screenshot({ path: join(SHOTS, `${name}-${suffix}.png`), fullPage: true });
    }
    await page.close();
  }
  const login = await anonymous.newPage();
  await login.goto(box.url + '/login');
  await login.screenshot({ path: join(SHOTS, 'login-phone.png') });
  await Promise.all([phone.close(), anonymous.close()]);
  for (const [name] of pages) t.true(existsSync(join(SHOTS, `${name}-desktop.png`)) && existsSync(join(SHOTS, `${name}-phone.png`)), name);
});
