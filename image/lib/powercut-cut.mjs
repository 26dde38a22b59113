// One power cut for image/powercut-test: drives the box in qemu over HTTP as
// 管家助理 does (WDGJ smsSnd, one request at a time), appends to the accepted
// file the body of every message the box answered `1` to (before the next
// request goes out), and SIGKILLs qemu at the moment the mode asks for:
//
//   accept      while requests are being accepted (after --delay-ms of them);
//   send        while the virtual modem is sending (the dispatcher names a
//               message in flight, after --after-sent of the batch went);
//   checkpoint  on the first burst of writes to the card after the box has
//               gone quiet (every message delivered): the WAL checkpoint that
//               the box runs 2–4 s after writes pause (src/main.ts); seen as
//               QMP wr_bytes growing again after >= 1.5 s without writes.
//
// Prints one JSON line: what was accepted, the request in flight (its answer
// never came: it may or may not be on the card, but at most once), and what
// was happening when qemu died.
import { appendFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { qmpCommand } from './qmp.mjs';

const { values: opt } = parseArgs({
  options: {
    port: { type: 'string' }, qmp: { type: 'string' }, pid: { type: 'string' }, run: { type: 'string' },
    mode: { type: 'string' }, accepted: { type: 'string' },
    'delay-ms': { type: 'string', default: '3000' }, 'after-sent': { type: 'string', default: '2' },
    batch: { type: 'string', default: '20' },
  },
});
const base = `http://127.0.0.1:${opt.port}`;
const run = Number(opt.run);
const qemuPid = Number(opt.pid);
const admin = { authorization: `Basic ${Buffer.from('admin:smsbox').toString('base64')}` };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();

let seq = 0;
let inFlight = null;
let accepted = 0;
let otherAnswers = 0;
let stopSending = false;
let killed = false;

async function post() {
  seq += 1;
  const body = `powercut r${run} m${seq}`;
  const tel = `139${String(run).padStart(2, '0')}${String(seq).padStart(6, '0')}`;
  inFlight = body;
  const url = `${base}/sms?Msg=smsSnd&User=aaaa&PWD=bbbb&Tel=${tel}&Body=${encodeURIComponent(body)}`;
  const answer = await (await fetch(url, { signal: AbortSignal.timeout(60_000) })).text();
  inFlight = null;
  if (answer.trim() === '1') {
    appendFileSync(opt.accepted, `${body}\n`);
    accepted += 1;
  } else {
    otherAnswers += 1;
  }
}

/** Sends until told to stop or until n were posted; a failed request ends it (qemu died). */
async function sender(n = Infinity) {
  try {
    while (!stopSending && seq < n) await post();
  } catch {
    // the connection died with qemu: inFlight keeps the request whose answer never came
  }
}

async function status() {
  return (await fetch(`${base}/api/status`, { headers: admin, signal: AbortSignal.timeout(20_000) })).json();
}

async function pendingOfThisRun() {
  const res = await fetch(`${base}/api/messages?limit=1000`, { headers: admin, signal: AbortSignal.timeout(20_000) });
  const { messages } = await res.json();
  return messages.filter((m) => m.body.startsWith(`powercut r${run} `) && !['delivered', 'failed', 'suppressed'].includes(m.status)).length;
}

function kill(detail) {
  process.kill(qemuPid, 'SIGKILL');
  killed = true;
  return detail;
}

async function wrBytes() {
  const stats = await qmpCommand(opt.qmp, { execute: 'query-blockstats' });
  return stats.find((d) => d.device === 'sd').stats.wr_bytes;
}

let detail;
if (opt.mode === 'accept') {
  const sending = sender();
  while (accepted === 0 && Date.now() - t0 < 60_000) await sleep(20);
  await sleep(Number(opt['delay-ms']));
  detail = kill(`during accepts, ${opt['delay-ms']} ms after the first`);
  await sending;
} else if (opt.mode === 'send') {
  await sender(Number(opt.batch));
  const before = (await status()).queue.sent_today;
  const want = Number(opt['after-sent']);
  for (;;) {
    const s = await status();
    if (s.queue.sending_message_id !== null && s.queue.sent_today - before >= want) {
      detail = kill(`modem sending message ${s.queue.sending_message_id} (${s.queue.sent_today - before} sent since the batch)`);
      break;
    }
    if (Date.now() - t0 > 300_000) throw new Error(`the modem did not get to message ${want} of the batch within 300 s`);
    await sleep(50);
  }
} else if (opt.mode === 'checkpoint') {
  await sender(Number(opt.batch));
  while ((await pendingOfThisRun()) > 0) {
    if (Date.now() - t0 > 600_000) throw new Error('the batch was not delivered within 600 s');
    await sleep(500);
  }
  // Quiet from here: wait for a write after >= 1.5 s of none.
  let last = await wrBytes();
  let lastChange = Date.now();
  const quietSince = Date.now();
  for (;;) {
    const now = await wrBytes();
    if (now !== last) {
      const quietMs = Date.now() - lastChange;
      if (quietMs >= 1500) {
        detail = kill(`batch delivered; writes again after ${(quietMs / 1000).toFixed(1)} s quiet (${Math.round((now - last) / 1024)} KiB so far)`);
        break;
      }
      last = now;
      lastChange = Date.now();
    }
    if (Date.now() - quietSince > 60_000) {
      detail = kill('batch delivered; no write within 60 s: cut while idle');
      break;
    }
    await sleep(50);
  }
} else {
  throw new Error(`unknown mode ${opt.mode}`);
}

stopSending = true;
process.stdout.write(JSON.stringify({ mode: opt.mode, accepted, otherAnswers, inFlight, detail, killed, ms: Date.now() - t0 }) + '\n');
