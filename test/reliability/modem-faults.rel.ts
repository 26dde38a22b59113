/**
 * Modem faults during a steady send: every fault kind of the virtual HAT, alone
 * and combined. Whatever the HAT does, no accepted message is lost or sent
 * twice, each ends with the status that fits, one bad message never holds up
 * the queue, and the box recovers without a restart.
 *
 * Timings are scaled down (fast modem timings, 20 ms per segment, retries after
 * 1 s): "no network for 2 minutes" is 6 seconds here, which is already many
 * times the box's registration poll and retry intervals, so the same code paths
 * run as in two minutes; only the waiting is shorter.
 */
import test, { type ExecutionContext } from 'ava';
import type { Config } from '../../src/config/config.js';
import type { MessageRow } from '../../src/store/store.js';
import { startTestBox, type TestBox } from '../helpers/box.js';
import { linesLeaking, sleep, until } from './lib.js';

function fast(c: Config): void {
  c.schedule.quietHours = null;
  c.schedule.quietHoursText = '';
  c.schedule.maxPerHour = 0;
  c.schedule.maxPerDay = 0;
  c.simulator.sendMs = 20;
  c.dispatch.retryBaseSeconds = 1;
}

async function fastBox(): Promise<TestBox> {
  const box = await startTestBox({
    config: fast,
    simulatorBootMs: 50,
    modemTimings: { pollIntervalMs: 100, commandTimeoutMs: 1000, bootMs: 3000, resyncQuietMs: 30 },
  });
  await until('the modem to be ready', () => box.modem.status().state === 'ready', 20_000);
  return box;
}

/**
 * A client sending one message every `everyMs` until stopped; remembers what was
 * answered "1", and what was refused with "3" (the box refuses new messages
 * while the modem has a hard fault such as not responding: by design, so that
 * 管家助理 shows the failure instead of the message waiting unseen).
 */
function steadySender(box: TestBox, label: string, everyMs = 40) {
  const accepted: string[] = [];
  const refused: string[] = [];
  let running = true;
  let n = 0;
  const done = (async () => {
    while (running) {
      const body = `${label} order ${n}`;
      const tel = `139${String(n++).padStart(8, '0')}`;
      const reply = (await box.get(`/sms?Msg=smsSnd&User=aaaa&PWD=bbbb&Tel=${tel}&Body=${encodeURIComponent(body)}`)).body;
      if (reply === '1') accepted.push(body);
      else if (reply === '3' && box.modem.status().hardFault) refused.push(body);
      else throw new Error(`smsSnd answered ${reply} (modem ${box.modem.status().state})`);
      await sleep(everyMs);
    }
  })();
  return {
    accepted,
    refused,
    async stop() {
      running = false;
      await done;
    },
  };
}

function allMessages(box: TestBox): MessageRow[] {
  return box.store.listMessages({ limit: 1_000_000 });
}

/**
 * Waits until nothing is queued or sending (without restarting anything), then
 * checks the invariants. Returns the messages for scenario-specific checks.
 */
async function drainedAndConsistent(t: ExecutionContext, box: TestBox, accepted: string[], timeoutMs = 150_000): Promise<MessageRow[]> {
  // Generous: a hang mid-CMGS costs the driver's 60 s send timeout (not among the box's configurable timings).
  try {
    await until('the queue to drain', () => allMessages(box).every((m) => m.status !== 'queued' && m.status !== 'sending'), timeoutMs, 100);
  } catch (error) {
    t.log(`modem ${JSON.stringify(box.modem.status())}; faults ${JSON.stringify(box.simulator!.activeFaults())}; dispatcher ${JSON.stringify(box.dispatcher.state())}`);
    t.log(allMessages(box).filter((m) => m.status === 'queued' || m.status === 'sending').slice(0, 5).map((m) => `${m.body}: ${m.status} attempts ${m.attempts} ${m.lastError ?? ''}`).join('\n'));
    t.log(box.logLines.slice(-30).join('\n'));
    throw error;
  }
  await until('the modem to be ready again', () => box.modem.status().state === 'ready', 20_000);
  const messages = allMessages(box);
  const bodies = new Map<string, number>();
  for (const m of messages) bodies.set(m.body, (bodies.get(m.body) ?? 0) + 1);
  t.deepEqual(accepted.filter((b) => bodies.get(b) !== 1), [], 'every accepted message is in the outbox once');
  const transmitted = new Map<string, number>();
  for (const s of box.simulator!.transmitted) transmitted.set(s.text, (transmitted.get(s.text) ?? 0) + 1);
  const wrong: string[] = [];
  for (const m of messages) {
    const times = transmitted.get(m.body) ?? 0;
    const ok =
      m.status === 'sent' || m.status === 'delivered' ? times === 1 : m.status === 'uncertain' ? times <= 1 : m.status === 'failed' ? times === 0 : false;
    if (!ok) wrong.push(`${m.body}: ${m.status} after ${m.attempts} attempt(s), transmitted ${times}×, ${m.lastError ?? ''}`);
  }
  t.deepEqual(wrong, [], 'sent once, failed never, uncertain at most once');
  t.deepEqual([...transmitted.keys()].filter((text) => !bodies.has(text)), [], 'nothing transmitted that is not in the outbox');
  t.deepEqual(linesLeaking(box.logLines, ['bbbb']), [], 'no password in the log');
  const tally: Record<string, number> = {};
  for (const m of messages) tally[m.status] = (tally[m.status] ?? 0) + 1;
  t.log(`${accepted.length} accepted → ${JSON.stringify(tally)}; ${box.simulator!.transmitted.length} transmitted; modem ${box.modem.status().state}`);
  return messages;
}

/** After the fault: new messages still go out promptly on the same box (recovery without a restart). */
async function stillSends(t: ExecutionContext, box: TestBox, label: string): Promise<void> {
  const body = `${label} after recovery`;
  t.is((await box.get(`/sms?Msg=smsSnd&User=aaaa&PWD=bbbb&Tel=13700000000&Body=${encodeURIComponent(body)}`)).body, '1');
  await until('the message after recovery to be sent', () => box.simulator!.transmitted.some((s) => s.text === body), 15_000);
}

async function scenario(t: ExecutionContext, label: string, disturb: (box: TestBox) => Promise<void>, check?: (messages: MessageRow[], accepted: string[]) => void): Promise<void> {
  const box = await fastBox();
  try {
    const sender = steadySender(box, label);
    await sleep(500); // steady state first
    await disturb(box);
    const faultOver = Date.now();
    await sleep(500);
    await sender.stop();
    const messages = await drainedAndConsistent(t, box, sender.accepted);
    const queuedAnyway = new Set(messages.map((m) => m.body));
    t.deepEqual(sender.refused.filter((b) => queuedAnyway.has(b)), [], 'a refused message ("3") is not queued');
    if (sender.refused.length > 0) t.log(`${sender.refused.length} refused with "3" while the modem had a hard fault`);
    t.log(`queue drained ${((Date.now() - faultOver) / 1000).toFixed(1)} s after the fault ended`);
    check?.(messages, sender.accepted);
    await stillSends(t, box, label);
  } finally {
    await box.dispose();
  }
}

const ok = (m: MessageRow) => m.status === 'sent' || m.status === 'delivered';

test.serial('silence: the firmware hangs mid-send for 4 s', async (t) => {
  await scenario(t, 'silence', async (box) => {
    box.simulator!.inject({ kind: 'silence' });
    await sleep(4000);
    box.simulator!.clear('silence');
  }, (messages) => {
    t.true(messages.filter((m) => m.status === 'uncertain').length <= 1, 'at most the one message in flight is uncertain');
    t.is(messages.filter((m) => m.status === 'failed').length, 0, 'a hang is no reason to give a message up');
  });
});

test.serial('garbage: line noise between the answers for 4 s', async (t) => {
  await scenario(t, 'garbage', async (box) => {
    box.simulator!.inject({ kind: 'garbage', probability: 0.3 });
    await sleep(4000);
    box.simulator!.clear('garbage');
  }, (messages) => {
    t.true(messages.filter(ok).length >= messages.length - 3, 'noise costs at most a few uncertain messages');
    t.is(messages.filter((m) => m.status === 'failed').length, 0);
  });
});

test.serial('reboot mid-CMGS, five times', async (t) => {
  await scenario(t, 'reboot', async (box) => {
    for (let i = 0; i < 5; i++) {
      // Wait for a send to be under way, then pull the rug: the in-flight SMS is lost, not transmitted.
      await until('a send in flight', () => box.store.listMessages({ limit: 5, status: 'sending' }).length > 0, 10_000, 5);
      box.simulator!.inject({ kind: 'reboot' });
      await sleep(700);
    }
  }, (messages) => {
    t.is(messages.filter((m) => m.status === 'failed').length, 0);
    t.true(messages.filter((m) => m.status === 'uncertain').length <= 5, 'at most one uncertain message per reboot');
  });
});

test.serial('+CMS ERROR: final codes fail that message only (refunded), retryable codes are retried', async (t) => {
  let finalAt = 0;
  await scenario(t, 'cms', async (box) => {
    box.simulator!.inject({ kind: 'cms-error', code: 1, count: 3 }); // unassigned number: final
    await until('three final failures', () => box.store.listMessages({ limit: 10, status: 'failed' }).length === 3, 10_000, 10);
    finalAt = box.simulator!.transmitted.length;
    box.simulator!.inject({ kind: 'cms-error', code: 42, count: 4 }); // congestion: retry
    await sleep(3000);
  }, (messages) => {
    const failed = messages.filter((m) => m.status === 'failed');
    t.is(failed.length, 3, 'exactly the three messages that met the final error failed');
    t.true(failed.every((m) => m.attempts === 1), 'a final error is not retried');
    t.true(messages.some((m) => ok(m) && m.attempts > 1), 'a congested send was retried and went out');
    t.is(messages.filter((m) => m.status === 'uncertain').length, 0, 'a clear error leaves nothing uncertain');
    const newest = Math.max(...failed.map((m) => m.id));
    t.true(messages.some((m) => m.id > newest && ok(m)), 'the queue went on after the failures');
    t.true(finalAt >= 0);
  });
});

test.serial('no network for 6 s (2 minutes scaled down): messages wait, none fail, all go when it returns', async (t) => {
  await scenario(t, 'no-network', async (box) => {
    box.simulator!.inject({ kind: 'no-network' });
    await sleep(2000);
    const before = box.simulator!.transmitted.length;
    await sleep(4000);
    t.is(box.simulator!.transmitted.length, before, 'nothing leaves without a network');
    t.true(box.store.listMessages({ limit: 1000, status: 'queued' }).length > 0, 'the new ones wait in the queue');
    box.simulator!.clear('no-network');
  }, (messages) => {
    t.is(messages.filter((m) => m.status === 'failed').length, 0, 'no message failed for lack of a network');
    t.true(messages.filter((m) => m.status === 'uncertain').length <= 1);
  });
});

test.serial('SIM removed for 4 s and put back: the box waits and carries on without a restart', async (t) => {
  await scenario(t, 'no-sim', async (box) => {
    box.simulator!.inject({ kind: 'no-sim' });
    await sleep(4000);
    box.simulator!.clear('no-sim');
  }, (messages) => {
    t.is(messages.filter((m) => m.status === 'failed').length, 0, 'no message failed because the SIM was out for a while');
    t.true(messages.filter((m) => m.status === 'uncertain').length <= 1);
  });
});

test.serial('combined: noise, congestion, a reboot and a network loss at once', async (t) => {
  await scenario(t, 'combined', async (box) => {
    const sim = box.simulator!;
    sim.inject({ kind: 'garbage', probability: 0.2 });
    sim.inject({ kind: 'cms-error', code: 42, count: 3 });
    await sleep(1500);
    sim.inject({ kind: 'reboot' });
    await sleep(1000);
    sim.inject({ kind: 'no-network' });
    sim.inject({ kind: 'cms-error', code: 1, count: 1 });
    await sleep(3000);
    sim.clear('no-network');
    await sleep(1500);
    sim.inject({ kind: 'silence' });
    await sleep(2500);
    sim.clear();
  }, (messages) => {
    t.true(messages.filter((m) => m.status === 'failed').length <= 1, 'only the message that met the final error may fail');
    t.true(messages.filter(ok).length >= messages.length - 5);
  });
});
