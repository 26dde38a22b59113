/**
 * Dispatch throughput: a backlog of messages sent through the virtual HAT at
 * N ms per segment. The box should keep the modem busy: the achieved rate is
 * at least 95 % of the modem's own (1000 / N per second), and its memory stays
 * flat over the run. With `--modems K` the box drives a pool of K virtual
 * HATs (issue 19), and the pool's rate must be at least 95 % of K times one
 * modem's. Exits 1 when a target is missed.
 *
 *   npm run build && node dist/bench/dispatch.js [--messages 10000] [--send-ms 50] [--modems 3]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { defaultConfig, defaultModemConfig } from '../src/config/config.js';
import { createLogger } from '../src/log.js';
import { startBox } from '../src/main.js';

const { values } = parseArgs({ options: { messages: { type: 'string', default: '10000' }, 'send-ms': { type: 'string', default: '50' }, modems: { type: 'string', default: '1' } } });
const MESSAGES = Number(values.messages);
const SEND_MS = Number(values['send-ms']);
const MODEMS = Number(values.modems);
if (!Number.isInteger(MODEMS) || MODEMS < 1 || MODEMS > 8) throw new Error('--modems is 1 to 8');
const TARGET_RATIO = 0.95;
const TARGET_RSS_GROWTH_MB = 40;

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
const dataDir = mkdtempSync(join(tmpdir(), 'smsbox-bench-dispatch-'));
const config = defaultConfig();
config.accounts = [{ user: 'aaaa', password: 'bbbb', balanceLi: null, ignoreQuietHours: false }];
config.schedule.quietHours = null;
config.schedule.maxPerHour = 0;
config.schedule.maxPerDay = 0;
config.schedule.clock = 'system';
config.simulator.sendMs = SEND_MS;
config.extraModems = Array.from({ length: MODEMS - 1 }, (_, i) => defaultModemConfig(i + 1));

const box = await startBox({ config, dataDir, port: 0, host: '127.0.0.1', log: createLogger({ level: 'warn' }), simulatorBootMs: 100 });
// The modem's own rate: the virtual HAT driven back to back by the modem driver
// alone (its AT+CMGS exchange included), before the dispatcher takes over.
await box.dispatcher.stop();
while (box.modems.some((u) => u.modem.status().state !== 'ready')) await new Promise((resolve) => setTimeout(resolve, 50));
const PROBES = 50;
const probeStart = performance.now();
for (let i = 0; i < PROBES; i++) await box.modem.send({ to: '+8613800000000', text: `probe ${i}`, statusReport: true });
const modemRate = (PROBES / (performance.now() - probeStart)) * 1000;
const probesSent = box.simulator!.transmitted.length;
box.dispatcher.start();

const account = box.store.getAccount('aaaa')!;
const batch = [];
for (let i = 0; i < MESSAGES; i++) {
  batch.push({
    accountId: account.id,
    recipients: [`+86138${String(i).padStart(8, '0')}`],
    invalidNumbers: [],
    body: `您的订单 ${i} 已发货`,
    segments: 1,
    encoding: 'ucs2',
    priceLiPerSegment: 0,
    client: 'bench',
    now: Date.now(),
    duplicateWindowMs: 0,
  });
}
for (let i = 0; i < batch.length; i += 1000) box.store.acceptSendBatch(batch.slice(i, i + 1000));
box.dispatcher.kick();
global.gc?.();
const rssStart = process.memoryUsage().rss;

const samples: number[] = [];
let firstAt = 0;
let transmitted = 0;
await new Promise<void>((resolve) => {
  for (const unit of box.modems) {
    unit.simulator!.on('transmitted', () => {
      const n = ++transmitted;
      if (n === 1) firstAt = performance.now();
      if (n % Math.max(1, Math.floor(MESSAGES / 10)) === 0) samples.push(process.memoryUsage().rss);
      if (n === MESSAGES) resolve();
    });
  }
});
const perModem = box.modems.map((u) => `${u.name} ${u.simulator!.transmitted.length - (u === box.modems[0] ? probesSent : 0)}`);
const elapsedMs = performance.now() - firstAt;
global.gc?.();
const rssEnd = process.memoryUsage().rss;
await box.close();
rmSync(dataDir, { recursive: true, force: true });

const achieved = ((MESSAGES - 1) / elapsedMs) * 1000;
const nominalRate = 1000 / SEND_MS;
const ratio = achieved / (modemRate * MODEMS);
const growthMb = (rssEnd - rssStart) / 1024 / 1024;
console.log(`Dispatch: ${MESSAGES} queued messages, ${MODEMS === 1 ? 'virtual HAT' : `a pool of ${MODEMS} virtual HATs`} at ${SEND_MS} ms per segment (node ${process.version})`);
console.log(`  nominal            ${nominalRate.toFixed(2)} msg/s (${SEND_MS} ms per segment, no AT exchange)`);
console.log(`  modem's own rate   ${modemRate.toFixed(2)} msg/s (the driver sending back to back, AT+CMGS exchange included)`);
console.log(`  achieved           ${achieved.toFixed(2)} msg/s from the queue = ${(ratio * 100).toFixed(1)} % of ${MODEMS === 1 ? 'the modem\'s own rate' : `${MODEMS} × one modem's own rate`} (target ≥ ${TARGET_RATIO * 100} %) ${ratio >= TARGET_RATIO ? 'met' : 'MISSED'}; ${((achieved / (nominalRate * MODEMS)) * 100).toFixed(1)} % of nominal`);
if (MODEMS > 1) console.log(`  sent per SIM       ${perModem.join(', ')}`);
console.log(`  RSS start ${mb(rssStart)} MB, end ${mb(rssEnd)} MB, growth ${growthMb.toFixed(1)} MB (target < ${TARGET_RSS_GROWTH_MB} MB) ${growthMb < TARGET_RSS_GROWTH_MB ? 'met' : 'MISSED'}`);
console.log(`  RSS every 10 %: ${samples.map(mb).join(' ')} MB`);
process.exitCode = ratio >= TARGET_RATIO && growthMb < TARGET_RSS_GROWTH_MB ? 0 : 1;
