import test from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { loadConfigWithFallback } from '../src/config/config.js';
import { packageRoot } from '../src/paths.js';
import { tempDir } from './helpers/box.js';
import { watchOutput } from './helpers/process-events.js';

const GOOD = '\uFEFF# 店铺配置\r\n[[account]]\r\nuser = "shop"\r\npassword = "pw"\r\n';
const BROKEN = '\uFEFF# 店铺配置\r\n[[account]]\r\nuser = "shop"\r\npassword = pw\r\n';

test('a file that loads is kept as the last good copy; a broken one falls back to it, else to the defaults', (t) => {
  const dir = tempDir();
  const file = join(dir, 'smsbox.toml');
  const lastGood = join(dir, 'data', 'config.last-good.toml');
  writeFileSync(file, GOOD);
  const good = loadConfigWithFallback(file, () => lastGood);
  t.is(good.source, 'file');
  t.is(good.error, null);
  t.is(readFileSync(lastGood, 'utf8'), GOOD);

  writeFileSync(file, BROKEN);
  const fallback = loadConfigWithFallback(file, () => lastGood);
  t.is(fallback.source, 'last-good');
  t.is(fallback.error?.line, 4);
  t.deepEqual(fallback.config.accounts.map((a) => a.user), ['shop']);
  t.is(fallback.config.file, file, 'the settings page still edits the owner\u2019s file');
  t.is(readFileSync(lastGood, 'utf8'), GOOD, 'a broken file never replaces the last good copy');

  rmSync(lastGood);
  const defaults = loadConfigWithFallback(file, () => lastGood);
  t.is(defaults.source, 'defaults');
  t.deepEqual(defaults.config.accounts.map((a) => a.user), ['aaaa']);
  t.false(existsSync(lastGood));
  rmSync(dir, { recursive: true, force: true });
});

test('smsbox serve with a wrong value keeps serving and shows the mistake on the status page', async (t) => {
  const dir = tempDir();
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const file = join(dir, 'smsbox.toml');
  writeFileSync(file, `${GOOD}[http]\r\nport = ${port}\r\nhost = "127.0.0.1"\r\n`);
  // First a good start, so there is a last good copy; then the owner makes a mistake.
  const run = async (check: (base: string) => Promise<void>) => {
    const child = spawn(process.execPath, [join(packageRoot, 'dist/src/cli.js'), 'serve', '--config', file, '--data', join(dir, 'data')], { stdio: ['ignore', 'ignore', 'pipe'] });
    const output = watchOutput(child);
    const base = `http://127.0.0.1:${port}`;
    try {
      await output.waitFor(/smsbox listening/, 'the box to listen');
      t.true((await fetch(`${base}/sms?Msg=smsAU&User=shop&PWD=pw`)).ok);
      await check(base);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    }
    return output.text();
  };
  await run(async () => {});
  writeFileSync(file, `${GOOD}[http]\r\nport = ${port}\r\nhost = "127.0.0.1"\r\n[schedule]\r\nquiet_hours = "9pm"\r\n`);
  const stderr = await run(async (base) => {
    t.is(await (await fetch(`${base}/sms?Msg=smsAU&User=shop&PWD=pw`)).text(), '1', 'the shop\u2019s account still works');
    const status = (await (await fetch(`${base}/api/status`)).json()) as { config_error: { line: number; using: string; message: string } };
    t.like(status.config_error, { line: 9, using: 'last-good' });
    t.regex(status.config_error.message, /quiet_hours/);
    const page = await (await fetch(`${base}/`)).text();
    t.regex(page, /配置文件有误：.*第 9 行/);
  });
  t.regex(stderr, /smsbox\.toml:9/);
  rmSync(dir, { recursive: true, force: true });
});
