// Posts --count messages to the box as 管家助理 does (WDGJ smsSnd, one request
// at a time, each a distinct body and number), then waits until the virtual
// modem has sent all of them and their delivery reports came back. Prints
// JSON: how many were answered 1, seconds to accept them, seconds until the
// last one was delivered.
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({
  options: { port: { type: 'string' }, count: { type: 'string', default: '1000' }, prefix: { type: 'string', default: 'load' }, timeout: { type: 'string', default: '3600' } },
});
const base = `http://127.0.0.1:${opt.port}`;
const admin = { authorization: `Basic ${Buffer.from('admin:smsbox').toString('base64')}` };
const count = Number(opt.count);
const t0 = Date.now();
let accepted = 0;
for (let i = 1; i <= count; i++) {
  const tel = `137${String(i).padStart(8, '0')}`;
  const body = `${opt.prefix} ${i}: 您的订单已发货 / your order has shipped`;
  const answer = await (await fetch(`${base}/sms?Msg=smsSnd&User=aaaa&PWD=bbbb&Tel=${tel}&Body=${encodeURIComponent(body)}`, { signal: AbortSignal.timeout(60_000) })).text();
  if (answer.trim() === '1') accepted += 1;
  else throw new Error(`message ${i} answered ${answer}`);
}
const acceptedS = (Date.now() - t0) / 1000;
const delivered = async () => {
  const { messages } = await (await fetch(`${base}/api/messages?status=delivered&limit=1000`, { headers: admin, signal: AbortSignal.timeout(30_000) })).json();
  return messages.filter((m) => m.body.startsWith(`${opt.prefix} `)).length;
};
let n = 0;
while ((n = await delivered()) < accepted) {
  if (Date.now() - t0 > Number(opt.timeout) * 1000) throw new Error(`only ${n} of ${accepted} delivered after ${opt.timeout} s`);
  await new Promise((r) => setTimeout(r, 5000));
}
process.stdout.write(JSON.stringify({ accepted, delivered: n, acceptedS, deliveredS: (Date.now() - t0) / 1000 }) + '\n');
