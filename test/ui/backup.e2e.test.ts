/**
 * 备份与恢复 in a real browser (Debian's Chromium, headless, through
 * playwright-core): 下载备份 on one box gives the file, 恢复备份 on another
 * uploads it with the page's own script, which waits for the box to come back
 * and sends the owner to the login; a file that is not a backup is answered
 * on the page and changes nothing.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { loadConfig } from '../../src/config/config.js';
import { createLogger } from '../../src/log.js';
import { runBox, type BoxHost } from '../../src/main.js';
import { tempDir } from '../helpers/box.js';
import { waitFor } from '../helpers/wait.js';
import { CHROMIUM, testWithTools } from '../helpers/tools.js';

const browserTest = testWithTools([CHROMIUM], { serial: true });
const STEP_TIMEOUT_MS = 30_000;

async function host(admin: string): Promise<{ box: BoxHost; dir: string }> {
  const dir = tempDir();
  const configFile = join(dir, 'smsbox.toml');
  writeFileSync(configFile, `[admin]\npassword = "${admin}"\n\n[[account]]\nuser = "aaaa"\npassword = "bbbb"\n`);
  const box = await runBox({ config: loadConfig(configFile), dataDir: join(dir, 'data'), port: 0, host: '127.0.0.1', hostname: 'ui-box', log: createLogger({ level: 'error', write: () => {} }), simulatorBootMs: 60_000 });
  return { box, dir };
}

async function login(page: Page, url: string, password: string): Promise<void> {
  await page.goto(`${url}/settings`);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.waitForURL(/\/settings$/);
}

browserTest('下载备份 on one box, 恢复备份 of that file on another: the page uploads it, waits for the restart and asks for a login', async (t) => {
  t.timeout(120_000);
  const a = await host('ui-admin-a');
  const b = await host('ui-admin-b');
  let browser: Browser | null = null;
  try {
    t.is(await (await fetch(`${a.box.url}/sms?Msg=smsSnd&User=aaaa&PWD=bbbb&Tel=13800138000&Body=${encodeURIComponent('来自 A 的短信')}`)).text(), '1');
    t.is(await (await fetch(`${b.box.url}/sms?Msg=smsSnd&User=aaaa&PWD=bbbb&Tel=13800138000&Body=${encodeURIComponent('来自 B 的短信')}`)).text(), '1');
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({ executablePath: CHROMIUM.path!, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    const context = await browser.newContext({ locale: 'zh-CN', acceptDownloads: true });
    context.setDefaultTimeout(STEP_TIMEOUT_MS);

    const pageA = await context.newPage();
    await login(pageA, a.box.url, 'ui-admin-a');
    const [download] = await Promise.all([pageA.waitForEvent('download'), pageA.click('#download-backup')]);
    t.regex(download.suggestedFilename(), /^smsbox-backup-ui-box-\d{8}-\d{4}\.tar\.gz$/);
    const file = join(a.dir, download.suggestedFilename());
    await download.saveAs(file);
    t.true(existsSync(file));

    const pageB = await context.newPage();
    await login(pageB, b.box.url, 'ui-admin-b');
    pageB.on('dialog', (dialog) => void dialog.accept());
    // Not a backup: answered on the page, nothing changes.
    const junk = join(b.dir, 'notes.tar.gz');
    writeFileSync(junk, '这不是备份');
    await pageB.setInputFiles('#restore-file', junk);
    await pageB.click('#restore-form button[type=submit]');
    await pageB.locator('#restore-result', { hasText: '不是短信网关的备份文件' }).waitFor();

    const restarted = waitFor(b.box, 'restarted', () => true, { what: 'box B to restart on the restored data' });
    await pageB.setInputFiles('#restore-file', file);
    await pageB.click('#restore-form button[type=submit]');
    await restarted;
    await pageB.waitForURL(/\/login\?next=%2Fsettings$/);
    await pageB.fill('input[name=password]', 'ui-admin-b');
    await pageB.click('button[type=submit]');
    await pageB.waitForURL(/\/settings$/);
    await pageB.goto(`${b.box.url}/messages`);
    t.true((await pageB.content()).includes('来自 A 的短信'));
    t.false((await pageB.content()).includes('来自 B 的短信'));
    t.true(readFileSync(join(b.dir, 'smsbox.toml'), 'utf8').includes('ui-admin-b'), 'box B keeps its admin password');
  } finally {
    await browser?.close();
    await a.box.close();
    await b.box.close();
    rmSync(a.dir, { recursive: true, force: true });
    rmSync(b.dir, { recursive: true, force: true });
  }
});
