/**
 * Modem faults during a steady send: every fault kind of the virtual HAT, alone
 * and combined. Whatever the HAT does, no accepted message is lost or sent
 * twice, each ends with the status that fits, one bad message never holds up
 * the queue, and the box recovers without a restart.
 *
 * Each fault lasts until the box has shown that it met it (the modem found not
 * responding, restarted, searching, without SIM; noise and congestion answered
 * while messages kept going out), so the scenario runs the same code paths on
 * an idle laptop and on a CI machine whose CPUs are taken; and a fault that
 * never reaches the box fails the test instead of passing unnoticed. Each wait
 * ends on the box's own events (test/helpers/box-events.ts), never on a sleep.
 * Fast modem timings, 20 ms per segment, retries after 1 s.
 */
import test, { type ExecutionContext } from 'ava';
import type { Config } from '../../src/config/config.js';
import type { ModemEvent } from '../../src/modem/modem.js';
import type { MessageRow } from '../../src/store/store.js';
import { startTestBox, type TestBox } from '../helpers/box.js';
import { boxUntil } from '../helpers/box-events.js';
import { waitFor } from '../helpers/wait.js';
import { linesLeaking } from './lib.js';

function fast(c: Config): void {
  c.schedule.quietHours = null;
  c.schedule.quietHoursText = '';
  c.schedule.maxPerHour = 0;
  c.schedule.maxPerDay = 0;
  c.simulator.sendMs = 20;
  c.dispatch.retryBaseSeconds = 1;
  // No balance to run out: a scenario may queue a thousand messages while the modem hangs.
  c.accounts = c.accounts.map((account) => ({ ...account, balanceLi: null }));
}

/** A box whose modem's events (what the shop sees in the events log) are kept, in order. */
interface FaultBox {
  box: TestBox;
  modemEvents: string[];
  /** How many of the modem's events so far were of `kind`. */
  count(kind: string): number;
}

async function fastBox(): Promise<FaultBox> {
  const box = await startTestBox({
    config: fast,
    simulatorBootMs: 50,
    modemTimings: { pollIntervalMs: 100, commandTimeoutMs: 1000, bootMs: 3000, resyncQuietMs: 30 },
  });
  const modemEvents: string[] = [];
  box.modem.on('event', (e: ModemEvent) => modemEvents.push(e.kind));
  await boxUntil(box, 'the modem to be ready', () => box.modem.status().state === 'ready');
  return { box, modemEvents, count: (kind) => modemEvents.filter((k) => k === kind).length };
}

/** A pause between two requests of a client: the pace of the load, not a wait for anything. */
const pace = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

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
      // This client is the only one: the newest request the box recorded is this one, with its reason.
      const reason = box.status.recentWdgj()[0]?.reason;
      if (reply === '1') accepted.push(body);
      else if (reply === '3' && reason === 'modem-fault') refused.push(body);
      else throw new Error(`smsSnd answered ${reply} (${reason ?? 'no reason recorded'}; modem ${box.modem.status().state})`);
      await pace(everyMs);
    }
  })();
  return {
    accepted,
    refused,
    /** Resolves once `more` further messages have been answered "1" (each answer is a store call, which the wait follows). */
    acceptedMore(more: number, what: string) {
      const target = accepted.length + more;
      return boxUntil(box, what, () => accepted.length >= target);
    },
    /** Resolves once `more` further requests have been answered, "1" or "3". */
    answeredMore(more: number, what: string) {
      const target = accepted.length + refused.length + more;
      return boxUntil(box, what, () => accepted.length + refused.length >= target);
    },
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
 * The firmware hangs in the middle of a send: silence from the moment a
 * segment goes on the air, so its +CMGS answer never comes.
 */
function hangMidSend(f: FaultBox): Promise<unknown> {
  const sim = f.box.simulator!;
  return waitFor(sim, 'transmitted', () => {
    sim.inject({ kind: 'silence' });
    return true;
  }, { what: 'a message on the air' });
}

/** The box has found the modem not responding (its answer to a silent modem: a hard fault, "3" to new messages). */
function notResponding(f: FaultBox): Promise<unknown> {
  // Up to the driver's 60 s send timeout when the silence begins in the middle of AT+CMGS.
  return boxUntil(f.box, 'the box to find the silent modem not responding', () => f.box.modem.status().state === 'not-responding', 150_000);
}

/** The virtual HAT has used up its queued +CMS errors (each answered one send). */
function cmsErrorsUsed(f: FaultBox): Promise<unknown> {
  return boxUntil(f.box, 'every injected +CMS error to have answered a send', () => !f.box.simulator!.activeFaults().some((fault) => fault.kind === 'cms-error'));
}

/**
 * Waits until nothing is queued or sending (without restarting anything), then
 * checks the invariants. Returns the messages for scenario-specific checks.
 */
async function drainedAndConsistent(t: ExecutionContext, box: TestBox, accepted: string[]): Promise<MessageRow[]> {
  // Generous: a hang mid-CMGS costs the driver's 60 s send timeout (not among the box's configurable timings).
  try {
    await boxUntil(box, 'the queue to drain', () => allMessages(box).every((m) => m.status !== 'queued' && m.status !== 'sending'), 150_000);
  } catch (error) {
    t.log(`modem ${JSON.stringify(box.modem.status())}; faults ${JSON.stringify(box.simulator!.activeFaults())}; dispatcher ${JSON.stringify(box.dispatcher.state())}`);
    t.log(allMessages(box).filter((m) => m.status === 'queued' || m.status === 'sending').slice(0, 5).map((m) => `${m.body}: ${m.status} attempts ${m.attempts} ${m.lastError ?? ''}`).join('\n'));
    t.log(box.logLines.slice(-30).join('\n'));
    throw error;
  }
  await boxUntil(box, 'the modem to be ready again', () => box.modem.status().state === 'ready');
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

/** After the fault: new messages still go out on the same box (recovery without a restart). */
async function stillSends(t: ExecutionContext, box: TestBox, label: string): Promise<void> {
  const body = `${label} after recovery`;
  t.is((await box.get(`/sms?Msg=smsSnd&User=aaaa&PWD=bbbb&Tel=13700000000&Body=${encodeURIComponent(body)}`)).body, '1');
  await boxUntil(box, 'the message after recovery to be sent', () => box.simulator!.transmitted.some((s) => s.text === body));
}

interface Scenario {
  /** The client's pace (default one message every 40 ms). */
  everyMs?: number;
  /** The fault, until the box has shown that it met it. */
  disturb(f: FaultBox, sender: ReturnType<typeof steadySender>): Promise<void>;
  /** What must hold of the outcome for this fault. */
  check?(messages: MessageRow[], f: FaultBox, sender: ReturnType<typeof steadySender>): void;
}

async function scenario(t: ExecutionContext, label: string, { disturb, check, everyMs }: Scenario): Promise<void> {
  const f = await fastBox();
  const { box } = f;
  try {
    const sender = steadySender(box, label, everyMs);
    await boxUntil(box, 'a steady state: three messages on the air', () => box.simulator!.transmitted.length >= 3);
    await disturb(f, sender);
    const faultOver = Date.now();
    await sender.acceptedMore(5, 'five more messages accepted after the fault');
    await sender.stop();
    const messages = await drainedAndConsistent(t, box, sender.accepted);
    const queuedAnyway = new Set(messages.map((m) => m.body));
    t.deepEqual(sender.refused.filter((b) => queuedAnyway.has(b)), [], 'a refused message ("3") is not queued');
    if (sender.refused.length > 0) t.log(`${sender.refused.length} refused with "3" while the modem had a hard fault`);
    t.log(`queue drained ${((Date.now() - faultOver) / 1000).toFixed(1)} s after the fault ended; modem events: ${f.modemEvents.join(', ')}`);
    check?.(messages, f, sender);
    await stillSends(t, box, label);
  } finally {
    await box.dispose();
  }
}

const ok = (m: MessageRow) => m.status === 'sent' || m.status === 'delivered';
const failed = (messages: MessageRow[]) => messages.filter((m) => m.status === 'failed');
const uncertain = (messages: MessageRow[]) => messages.filter((m) => m.status === 'uncertain');

test.serial('silence: the firmware hangs mid-send until the box finds it not responding', async (t) => {
  await scenario(t, 'silence', {
    // The hang lasts the driver's 60 s send timeout: a slower client queues a few hundred messages meanwhile, not thousands.
    everyMs: 200,
    async disturb(f) {
      await hangMidSend(f);
      await notResponding(f);
      f.box.simulator!.clear('silence');
    },
    check(messages, f) {
      t.true(f.count('not-responding') >= 1, 'the events log says the modem did not respond');
      t.is(uncertain(messages).length, 1, 'the message on the air when the modem went silent is uncertain, and only that one');
      t.is(failed(messages).length, 0, 'a hang is no reason to give a message up');
    },
  });
});

test.serial('garbage: line noise between the answers while twenty messages go out', async (t) => {
  let bursts = 0;
  await scenario(t, 'garbage', {
    async disturb({ box }) {
      // The virtual HAT's noise comes as bursts of bytes that are neither text nor CR/LF.
      const onData = (chunk: Buffer) => {
        if (chunk.some((byte) => (byte < 0x20 && byte !== 0x0d && byte !== 0x0a) || byte >= 0x7f)) bursts++;
      };
      box.simulator!.on('data', onData);
      box.simulator!.inject({ kind: 'garbage', probability: 0.3 });
      const before = box.simulator!.transmitted.length;
      await boxUntil(box, 'twenty messages out and ten noise bursts through the noise', () => box.simulator!.transmitted.length >= before + 20 && bursts >= 10);
      box.simulator!.clear('garbage');
      box.simulator!.off('data', onData);
    },
    check(messages) {
      t.true(bursts >= 10, `noise reached the box (${bursts} bursts)`);
      t.true(messages.filter(ok).length >= messages.length - 3, 'noise costs at most a few uncertain messages');
      t.is(failed(messages).length, 0);
    },
  });
});

test.serial('reboot mid-CMGS, five times', async (t) => {
  await scenario(t, 'reboot', {
    async disturb(f) {
      const { box } = f;
      for (let i = 0; i < 5; i++) {
        // Wait for a send to be under way, then pull the rug: the in-flight SMS is lost, not transmitted.
        await boxUntil(box, 'a send in flight', () => box.store.listMessages({ limit: 5, status: 'sending' }).length > 0);
        box.simulator!.inject({ kind: 'reboot' });
        await boxUntil(box, `restart ${i + 1} seen and the modem ready again`, () => f.count('modem-restarted') === i + 1 && box.modem.status().state === 'ready');
      }
    },
    check(messages, f) {
      t.is(f.count('modem-restarted'), 5, 'each reboot reached the events log');
      t.is(failed(messages).length, 0);
      t.true(uncertain(messages).length <= 5, 'at most one uncertain message per reboot');
    },
  });
});

test.serial('+CMS ERROR: final codes fail that message only (refunded), retryable codes are retried', async (t) => {
  let transmittedAtFinal = 0;
  await scenario(t, 'cms', {
    async disturb(f) {
      const { box } = f;
      box.simulator!.inject({ kind: 'cms-error', code: 1, count: 3 }); // unassigned number: final
      await boxUntil(box, 'three final failures', () => box.store.listMessages({ limit: 10, status: 'failed' }).length === 3);
      transmittedAtFinal = box.simulator!.transmitted.length;
      box.simulator!.inject({ kind: 'cms-error', code: 42, count: 4 }); // congestion: retry
      await cmsErrorsUsed(f);
    },
    check(messages, f) {
      const failedOnes = failed(messages);
      t.is(failedOnes.length, 3, 'exactly the three messages that met the final error failed');
      t.true(failedOnes.every((m) => m.attempts === 1), 'a final error is not retried');
      t.true(messages.some((m) => ok(m) && m.attempts > 1), 'a congested send was retried and went out');
      t.is(uncertain(messages).length, 0, 'a clear error leaves nothing uncertain');
      const newest = Math.max(...failedOnes.map((m) => m.id));
      t.true(messages.some((m) => m.id > newest && ok(m)), 'the queue went on after the failures');
      t.true(f.box.simulator!.transmitted.length > transmittedAtFinal, 'messages went on the air after the final failures');
    },
  });
});

test.serial('no network: messages wait, none fail, all go when it returns', async (t) => {
  let waiting = 0;
  await scenario(t, 'no-network', {
    async disturb(f, sender) {
      const { box } = f;
      box.simulator!.inject({ kind: 'no-network' });
      await boxUntil(box, 'the modem to search for the network', () => box.modem.status().state === 'searching');
      const before = box.simulator!.transmitted.length;
      await sender.acceptedMore(10, 'ten messages accepted while the network is gone');
      t.is(box.simulator!.transmitted.length, before, 'nothing leaves without a network');
      waiting = box.store.listMessages({ limit: 1000, status: 'queued' }).length;
      t.true(waiting > 0, 'the new ones wait in the queue');
      box.simulator!.clear('no-network');
    },
    check(messages, f) {
      t.true(f.count('searching') >= 1, 'the events log says the modem lost the network');
      t.is(failed(messages).length, 0, 'no message failed for lack of a network');
      t.true(uncertain(messages).length <= 1);
      t.log(`${waiting} messages were waiting when the network came back`);
    },
  });
});

test.serial('SIM removed and put back: nothing leaves meanwhile, nothing fails, the box carries on without a restart', async (t) => {
  let seen = '';
  await scenario(t, 'no-sim', {
    async disturb(f, sender) {
      const { box } = f;
      box.simulator!.inject({ kind: 'no-sim' });
      // A running SIM7600 whose SIM is pulled loses the network; the box reads the SIM itself at (re)initialisation.
      await boxUntil(box, 'the box to find the modem unable to send', () => ['no-sim', 'searching'].includes(box.modem.status().state));
      seen = box.modem.status().state;
      const before = box.simulator!.transmitted.length;
      await sender.answeredMore(10, 'ten more requests answered while the SIM is out');
      t.is(box.simulator!.transmitted.length, before, 'nothing leaves without a SIM');
      box.simulator!.clear('no-sim');
    },
    check(messages, f) {
      t.true(f.count('no-sim') + f.count('searching') >= 1, `the events log says the modem cannot send (${seen})`);
      t.is(failed(messages).length, 0, 'no message failed because the SIM was out for a while');
      t.true(uncertain(messages).length <= 1);
    },
  });
});

test.serial('combined: noise, congestion, a reboot, a network loss and a hang', async (t) => {
  await scenario(t, 'combined', {
    everyMs: 200,
    async disturb(f) {
      const { box } = f;
      const sim = box.simulator!;
      sim.inject({ kind: 'garbage', probability: 0.2 });
      sim.inject({ kind: 'cms-error', code: 42, count: 3 });
      await cmsErrorsUsed(f);
      sim.inject({ kind: 'reboot' });
      await boxUntil(box, 'the restart seen and the modem ready again', () => f.count('modem-restarted') === 1 && box.modem.status().state === 'ready');
      sim.inject({ kind: 'no-network' });
      sim.inject({ kind: 'cms-error', code: 1, count: 1 });
      await boxUntil(box, 'the modem to search for the network', () => box.modem.status().state === 'searching');
      sim.clear('no-network');
      await boxUntil(box, 'the network back', () => box.modem.status().state === 'ready');
      await cmsErrorsUsed(f);
      await hangMidSend(f);
      await notResponding(f);
      sim.clear();
    },
    check(messages, f) {
      for (const kind of ['modem-restarted', 'searching', 'not-responding']) t.true(f.count(kind) >= 1, `the events log has ${kind}`);
      t.true(failed(messages).length <= 1, 'only the message that met the final error may fail');
      t.true(messages.filter(ok).length >= messages.length - 5);
    },
  });
});
