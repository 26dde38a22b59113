/**
 * The root side's health check (src/update/platform.ts probeHealth) against a
 * real box on loopback: the verdict that keeps or rolls back an update.
 */
import test from 'ava';
import { probeHealth } from '../../src/update/platform.js';
import { displayedVersion } from '../../src/paths.js';
import { startTestBox } from '../helpers/box.js';
import { boxUntil } from '../helpers/box-events.js';

const demo = { user: 'aaaa', password: 'bbbb' };

test('healthy once the expected version answers smsAU and its modem driver is past starting', async (t) => {
  const box = await startTestBox({ simulatorBootMs: 20 });
  try {
    await boxUntil(box, 'modem ready', () => box.modem.status().state === 'ready' || null);
    t.like(await probeHealth({ port: box.port, account: demo }, displayedVersion), { healthy: true });
    // Another version answering (the old one still up, or a leftover) is not the new one.
    const other = await probeHealth({ port: box.port, account: demo }, '0.0.0+0000000');
    t.false(other.healthy);
    t.regex(other.detail, /waiting for 0\.0\.0/);
    // smsAU must say 1 for the account the config names.
    const refused = await probeHealth({ port: box.port, account: { user: 'aaaa', password: 'wrong' } }, displayedVersion);
    t.false(refused.healthy);
    t.regex(refused.detail, /smsAU answered "0"/);
  } finally {
    await box.dispose();
  }
});

test('not healthy while the modem driver is still starting', async (t) => {
  const box = await startTestBox({ simulatorBootMs: 60_000 });
  try {
    const verdict = await probeHealth({ port: box.port, account: demo }, displayedVersion);
    t.false(verdict.healthy);
    t.regex(verdict.detail, /modem driver (starting|queue-only|off)/);
  } finally {
    await box.dispose();
  }
});

test('not healthy when nothing answers', async (t) => {
  const box = await startTestBox();
  const port = box.port;
  await box.dispose();
  const verdict = await probeHealth({ port, account: demo }, displayedVersion);
  t.false(verdict.healthy);
  t.regex(verdict.detail, /no answer/);
});
