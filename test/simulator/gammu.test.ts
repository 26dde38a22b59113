/**
 * Interoperability: Debian's gammu, a real third-party AT client, must be able to
 * identify the virtual HAT, send through it (multipart Chinese included) and read
 * what it received, over the pseudo-terminal of `simulate-modem`.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GAMMU, hasTool, SOCAT, testWithTools } from '../helpers/tools.js';
import { startSimulator, type SimulatorProcess } from './pty-process.js';

const run = promisify(execFile);
const available = hasTool(GAMMU) && hasTool(SOCAT);
const gammuTest = testWithTools([GAMMU, SOCAT], { serial: true });

let sim: SimulatorProcess | undefined;
let gammurc = '';

async function gammu(...args: string[]): Promise<string> {
  const { stdout } = await run('gammu', ['-c', gammurc, ...args], {
    timeout: 60_000,
    // gammu prints Chinese only when the locale says UTF-8.
    env: { ...process.env, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' },
  });
  return stdout;
}

test.before(async () => {
  if (!available) return;
  sim = await startSimulator(['--send-ms', '30']);
  gammurc = join(sim.dir, 'gammurc');
  writeFileSync(gammurc, `[gammu]\ndevice = ${sim.link}\nconnection = at115200\nlogfile = ${join(sim.dir, 'gammu.log')}\nlogformat = textall\n`);
});

test.after.always(async () => {
  await sim?.stop();
});

gammuTest('gammu identify', async (t) => {
  const out = await gammu('identify');
  t.regex(out, /Manufacturer\s*: SIMCOM INCORPORATED/);
  t.regex(out, /SIMCOM_SIM7600G-H/);
  t.regex(out, /Firmware\s*: LE20B04SIM7600G22/);
  t.regex(out, /IMEI\s*: 862636050000001/);
  t.regex(out, /SIM IMSI\s*: 460001234567890/);
});

gammuTest('gammu sendsms TEXT: one GSM 7-bit SMS on the air', async (t) => {
  const before = sim!.transmitted.length;
  const out = await gammu('sendsms', 'TEXT', '+8613800138000', '-text', 'Order 1042 has shipped: SF1234567890');
  t.regex(out, /OK, message reference=\d+/);
  const [sms] = (await sim!.waitForTransmitted(before + 1)).slice(before);
  t.deepEqual(sms, { to: '+8613800138000', text: 'Order 1042 has shipped: SF1234567890', segments: 1 });
});

gammuTest('gammu sendsms -unicode -len 400: multipart Chinese reassembled', async (t) => {
  const before = sim!.transmitted.length;
  const text =
    '您好，您在本店购买的商品已经发货，快递单号SF1234567890，预计三天内送达。' +
    '如有任何问题请联系在线客服，我们会尽快为您处理。感谢您的惠顾，祝您生活愉快，欢迎再次光临！';
  t.true(text.length > 70 && text.length <= 134, 'two UCS-2 segments');
  const out = await gammu('sendsms', 'TEXT', '13800138000', '-unicode', '-len', '400', '-text', text);
  t.regex(out, /Sending SMS 2\/2/);
  const [sms] = (await sim!.waitForTransmitted(before + 1)).slice(before);
  t.deepEqual(sms, { to: '13800138000', text, segments: 2 });
});

gammuTest('gammu getallsms reads what the network delivered', async (t) => {
  await sim!.control({ deliver: { from: '+8613900000000', text: 'TD 退订' } });
  await sim!.control({ deliver: { from: '10086', text: 'Your balance is 10 yuan' } });
  const out = await gammu('getallsms');
  t.regex(out, /Remote number\s*: "\+8613900000000"/);
  t.true(out.includes('TD 退订'), out);
  t.regex(out, /Remote number\s*: "10086"/);
  t.true(out.includes('Your balance is 10 yuan'));
  t.regex(out, /2 SMS parts in 2 SMS sequences/);
});
