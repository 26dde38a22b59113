/**
 * The chaos suite (issue 14, item 7): the box as its own process (`smsbox serve`
 * with a config file) on the virtual HAT over a pseudo-terminal
 * (`simulate-modem --link`), for 3 minutes, with all of these at once:
 *
 * - paced smsSnd clients, every request with its own tag, some retried as 管家助理 does;
 * - POST bodies cut off mid-way (/login, /logout, /sms, random paths);
 * - garbled request lines, raw bytes, invalid UTF-8 and malformed %-escapes;
 * - up to 15,000 distinct paths into each box while /metrics is scraped;
 * - slowloris connections, floods of /api/status/stream connections;
 * - bursts of 100 parallel wrong passwords, admin forms with and without tokens;
 * - random modem faults, and a SIGKILL of the box plus a restart every 30–60 s.
 *
 * Then: no exit of the box but the planned kills; every request answered "1" in
 * the outbox exactly once; nothing on the air twice unless the outbox marked it
 * uncertain and the shop resent it; RSS under 150 MB; database growth under the
 * bound below; smsAU p99 under 250 ms.
 *
 * Every client has its own loopback address (the login lock-out is per address)
 * and its own PRNG seeded from SMSBOX_SEED: a run replays its choices from the
 * seed (the interleaving of the clients is up to the machine).
 */
import test, { type ExecutionContext } from 'ava';
import Database from 'better-sqlite3';
import { randomInt } from 'node:crypto';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { serviceEnvironment } from '../../bench/lib.js';
import { startSimulator } from '../simulator/pty-process.js';
import { SOCAT, testWithTools } from '../helpers/tools.js';
import { freePort, pace, tempDir, until, writeBoxConfig } from '../reliability/lib.js';
import { TAG, abortedBodies, admin, adminIntruder, garbled, modemFaults, oversizedUnknownMsg, passwordGuessers, randomPaths, slowloris, smsSender, statusStreamFlood, type ChaosContext, type SendRecord } from './clients.js';
import { call } from './net.js';
import { ActionLog, BoxSupervisor, TRIGGER_WINDOW_MS, Tally, clientRandom, kindOf, rssOf, type UnplannedExit } from './run.js';
import type { ProbeResult, ProberOptions } from './smsau-prober.js';

const FULL_SECONDS = 180;
const requestedSeconds = Number(process.env['SMSBOX_CHAOS_SECONDS'] ?? FULL_SECONDS);
/** CI always runs the full 3 minutes; SMSBOX_CHAOS_SECONDS may shorten local runs only. */
const SECONDS = process.env['CI'] ? Math.max(FULL_SECONDS, requestedSeconds) : requestedSeconds;

/**
 * For narrowing a failure down on a local run: SMSBOX_CHAOS_ONLY=random-paths,kills runs
 * the smsSnd clients and the smsAU prober with those attacks only. CI runs them all.
 */
const ONLY = process.env['CI'] ? null : (process.env['SMSBOX_CHAOS_ONLY']?.split(',').map((name) => name.trim()).filter(Boolean) ?? null);

const RSS_LIMIT_BYTES = 150 * 1024 * 1024;
/**
 * How much the database may grow during the run: a page (4 KiB) for each message
 * accepted into the outbox (its outbox, request, ledger and attempt rows and their
 * index entries take well under that), plus 16 MiB for everything clients without
 * a password can make the box write (events log, WDGJ request records) in 3 minutes.
 * To be reconciled with the bound the events-log change states (issue 14, item 3; README,
 * "What a client can grow is bounded": under 8 MiB for a client without a password).
 */
const DB_BYTES_PER_ACCEPTED_MESSAGE = 4096;
const DB_GROWTH_ALLOWANCE_BYTES = 16 * 1024 * 1024;
const SMSAU_P99_LIMIT_MS = 250;
/** After the chaos: time for the queue to drain (a send hung by `silence` costs the driver's 60 s timeout). */
const DRAIN_TIMEOUT_MS = 240_000;

const USER = 'shop1';
// Not the factory passwords: with a real modem device (the pty) those are refused (issue 14, item 5).
const PASSWORD = 'Chaos-pw-7Kq2';
const ADMIN_PASSWORD = 'Chaos-admin-5Rt8';


function dbBytes(dbFile: string): number {
  let total = 0;
  for (const file of [dbFile, `${dbFile}-wal`]) {
    try {
      total += statSync(file).size;
    } catch {
      // no WAL after a clean stop
    }
  }
  return total;
}

const MiB = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** "Error: aborted", "RangeError: Maximum call stack size exceeded", … from the box's last lines. */
function signatureOf(exit: UnplannedExit): string {
  const line = exit.tail.find((l) => /^\s*(\w*Error\b|\w+ \[ERR_)/.test(l)) ?? exit.tail.find((l) => /error/i.test(l));
  return (line?.trim() ?? `exit code ${exit.code} signal ${exit.signal}`).slice(0, 200);
}

/**
 * Unplanned exits grouped by their error. The likely triggers are the action kinds
 * seen before most exits of a group that are rare otherwise (the ratio of the two).
 */
function describeExits(exits: readonly UnplannedExit[], actions: ActionLog): string[] {
  const groups = new Map<string, UnplannedExit[]>();
  for (const exit of exits) groups.set(signatureOf(exit), [...(groups.get(signatureOf(exit)) ?? []), exit]);
  return [...groups].map(([signature, group]) => {
    const seen = new Map<string, number>();
    for (const exit of group) for (const kind of new Set(exit.recent.map(kindOf))) seen.set(kind, (seen.get(kind) ?? 0) + 1);
    const likely = [...seen]
      .map(([kind, n]) => ({ kind, n, lift: n / group.length / Math.max(0.01, actions.chanceIn(kind, TRIGGER_WINDOW_MS)) }))
      .sort((a, b) => b.lift - a.lift)
      .slice(0, 4);
    const first = group[0]!;
    const example = likely[0] ? [...first.recent].reverse().find((a) => kindOf(a) === likely[0]!.kind) : undefined;
    return [
      `${group.length}× ${signature}`,
      `  likely trigger: ${likely.map((l) => `${l.kind} (before ${l.n} of ${group.length}, ${l.lift.toFixed(1)}× its usual rate)`).join(', ') || 'none seen'}`,
      ...(example ? [`  e.g. [${example.client}] ${example.what}`] : []),
      `  first one, box log tail:\n${first.tail.slice(-12).map((l) => `    ${l}`).join('\n')}`,
    ].join('\n');
  });
}

/** The five slowest probes, when they ran and which actions had started in the second before each. */
function slowest(probes: readonly ProbeResult[], actions: ActionLog, startedAt: number): string {
  return [...probes]
    .sort((a, b) => (b.body === '1' ? b.ms : Infinity) - (a.body === '1' ? a.ms : Infinity))
    .slice(0, 5)
    .map((p) => {
      const before = [...new Set(actions.since(p.at - 1000).filter((a) => a.at <= p.at + p.ms && !a.client.startsWith('smsSnd-')).map(kindOf))];
      return `\n  ${p.body === '1' ? `${p.ms.toFixed(0)} ms` : `no "1" (${p.error ?? p.body})`} at +${((p.at - startedAt) / 1000).toFixed(1)} s, during: ${before.join(', ') || 'nothing but smsSnd'}`;
    })
    .join('');
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * p) - 1)]!;
}

/** Everything the checks look at, gathered once by the run. */
interface ChaosResult {
  seed: number;
  log: string[];
  drained: boolean;
  plannedKills: number;
  unplanned: UnplannedExit[];
  actions: ActionLog;
  finalExit: number | null;
  integrity: unknown;
  accepted: SendRecord[];
  missing: string[];
  doubled: string[];
  refusedButQueued: string[];
  strangers: string[];
  twice: string[];
  phantoms: string[];
  sentNotOnAir: string[];
  rssMax: number;
  growth: number;
  growthBound: number;
  countedProbes: number;
  p99: number;
}

async function runChaos(): Promise<ChaosResult> {
  const log: string[] = [];
  const seed = process.env['SMSBOX_SEED'] !== undefined ? Number(process.env['SMSBOX_SEED']) : randomInt(1_000_000);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`SMSBOX_SEED must be a whole number, got ${process.env['SMSBOX_SEED']}`);
  // Printed at once too: a run that hangs or is killed still tells how to replay it.
  process.stderr.write(`chaos: SMSBOX_SEED=${seed}, ${SECONDS} s (replay: SMSBOX_SEED=${seed} npm run test:chaos)\n`);
  log.push(`seed ${seed} (SMSBOX_SEED=${seed} replays every random choice), ${SECONDS} s of chaos`);
  if (SECONDS !== requestedSeconds) log.push(`SMSBOX_CHAOS_SECONDS=${requestedSeconds} ignored: CI runs the full ${FULL_SECONDS} s`);

  const sim = await startSimulator(['--send-ms', '60', '--boot-ms', '300', '--status-report-ms', '200']);
  const dir = tempDir('smsbox-chaos-');
  const port = await freePort();
  const configFile = writeBoxConfig({
    port,
    dir,
    device: sim.link,
    user: USER,
    password: PASSWORD,
    adminPassword: ADMIN_PASSWORD,
    // Retries after 2, 4, 8 … s instead of 30, 60 …: the queue drains within the test.
    extra: ['[dispatch]\nretry_base_seconds = 2\nmax_attempts = 5'],
  });
  const dbFile = join(dir, 'data', 'smsbox.db');
  const actions = new ActionLog();
  const tally = new Tally();
  // The box as shipped: with smsbox.service's environment (its malloc settings shape the RSS).
  const box = new BoxSupervisor(configFile, port, `User=${USER}&PWD=${PASSWORD}`, actions, serviceEnvironment());
  let prober: Worker | null = null;
  let rssTimer: NodeJS.Timeout | undefined;
  try {
    await box.start();
    const baselineBytes = dbBytes(dbFile);

    const rssByPid = new Map<number, number>();
    rssTimer = setInterval(() => {
      const pid = box.current?.child.pid;
      const rss = pid === undefined ? null : rssOf(pid);
      if (pid !== undefined && rss !== null) rssByPid.set(pid, Math.max(rssByPid.get(pid) ?? 0, rss));
    }, 500);

    const probes: ProbeResult[] = [];
    const proberOptions: ProberOptions = { port, from: '127.0.0.2', path: `/sms?Msg=smsAU&User=${USER}&PWD=${PASSWORD}`, everyMs: 200, timeoutMs: 5000 };
    prober = new Worker(new URL('./smsau-prober.js', import.meta.url), { workerData: proberOptions });
    prober.on('message', (result: ProbeResult) => probes.push(result));

    let running = true;
    let endChaos!: () => void;
    const stopped = new Promise<void>((resolve) => (endChaos = resolve));
    const ctx: ChaosContext = {
      seed,
      port,
      box,
      actions,
      tally,
      running: () => running && !box.failure,
      stopped,
      user: USER,
      password: PASSWORD,
      adminPassword: ADMIN_PASSWORD,
      sends: [],
      resendRequested: new Set(),
      surprises: [],
    };

    const startedAt = Date.now();
    const killRandom = clientRandom(seed, 'kills');
    let powerCycles = 0;
    const kills = async () => {
      for (;;) {
        const waitMs = 30_000 + killRandom() * 30_000;
        if (Date.now() + waitMs >= startedAt + SECONDS * 1000) return;
        await Promise.race([pace(waitMs), stopped]);
        if (!running) return;
        await box.whenUp();
        if (!running) return;
        // Two in three take the HAT down too (a power cut); the others are a crash of the box alone.
        const powerCycle = killRandom() < 2 / 3;
        if (powerCycle) powerCycles++;
        actions.note('kills', `SIGKILL${powerCycle ? ' and a HAT power cycle' : ''}`);
        await box.plannedKill(powerCycle ? () => sim.send({ power: 'cycle' }) : undefined);
      }
    };

    const attacks: Record<string, () => Promise<void>> = {
      'aborted-bodies': () => abortedBodies(ctx),
      garbled: () => garbled(ctx),
      'unknown-msg': () => oversizedUnknownMsg(ctx),
      'random-paths': () => randomPaths(ctx),
      slowloris: () => slowloris(ctx),
      'status-streams': () => statusStreamFlood(ctx),
      guessers: () => passwordGuessers(ctx),
      admin: () => admin(ctx),
      intruder: () => adminIntruder(ctx),
      'modem-faults': () => modemFaults(ctx, sim),
      kills,
    };
    const unknown = ONLY?.filter((name) => !(name in attacks)) ?? [];
    if (unknown.length) throw new Error(`SMSBOX_CHAOS_ONLY: unknown ${unknown.join(', ')}; known: ${Object.keys(attacks).join(', ')}`);
    if (ONLY) log.push(`SMSBOX_CHAOS_ONLY: the smsSnd clients, the smsAU prober and ${ONLY.join(', ')} only`);
    const clients = [
      smsSender(ctx, 0),
      smsSender(ctx, 1),
      smsSender(ctx, 2),
      ...Object.entries(attacks)
        .filter(([name]) => !ONLY || ONLY.includes(name))
        .map(([, run]) => run()),
    ];
    // The chaos phase: its length, or until no box can be started any more.
    await Promise.race([pace(SECONDS * 1000), box.failed]);
    running = false;
    endChaos();
    await Promise.all(clients);
    if (box.failure) throw new Error(`the box could not be started again: ${box.failure.message}; log tail:\n${box.unplanned.at(-1)?.tail.join('\n') ?? ''}`);
    const chaosEndedAt = Date.now();

    // The HAT is healthy again (modemFaults cleared it); the queue drains on a box that is up.
    let lastQueue: unknown = null;
    const drainStarted = Date.now();
    // A modem left unresponsive by a fault (e.g. silent between the PDU and its answer) needs a
    // power cycle, which the box asks the owner for when it cannot press PWRKEY (no GPIO on a
    // pty): the owner's part is played here, after 15 s of "not responding", at most 3 times.
    let notRespondingSince: number | null = null;
    const ownerPowerCycles: string[] = [];
    // Runs of refused sends among the injected faults can read as a carrier block, after
    // which the box sends one message an hour. The carrier's part is played here: its
    // restoration notice, which the box must take as the end of the block.
    const carrierRestorations: string[] = [];
    const drained = await until('a box to answer and its queue to drain', async () => {
      if (!box.up) return false;
      const reply = await call({ port, from: '127.0.0.1', path: '/api/status' });
      const status = JSON.parse(reply.body) as { queue: { queued: number; sending: number; waiting?: string | null }; modem: { state: string } };
      lastQueue = status.queue;
      if (status.queue.waiting === 'carrier-blocked' && carrierRestorations.length < 3) {
        carrierRestorations.push(`+${((Date.now() - startedAt) / 1000).toFixed(0)} s`);
        actions.note('carrier', 'restoration notice (the box took the faults for a carrier block)');
        sim.send({ carrier_notice: { from: '10086', text: '【中国移动】尊敬的客户，您的短信功能已恢复正常，感谢您的理解与支持。' } });
      }
      notRespondingSince = status.modem.state === 'not-responding' ? (notRespondingSince ?? Date.now()) : null;
      if (notRespondingSince !== null && Date.now() - notRespondingSince > 15_000 && ownerPowerCycles.length < 3) {
        ownerPowerCycles.push(`+${((Date.now() - startedAt) / 1000).toFixed(0)} s (queue ${JSON.stringify(status.queue)})`);
        actions.note('owner', 'HAT power cycle (the box asked for one)');
        sim.send({ power: 'cycle' });
        notRespondingSince = null;
      }
      return status.queue.queued + status.queue.sending === 0;
    }, DRAIN_TIMEOUT_MS, 500).then(
      () => true,
      () => false,
    );
    const drainMs = Date.now() - drainStarted;

    clearInterval(rssTimer);
    prober.postMessage('stop');
    await new Promise((resolve) => prober!.once('exit', resolve));
    prober = null;
    const finalExit = await box.stop();
    const finalBytes = dbBytes(dbFile);
    const transmitted = (sim.transmitted as { to: string; text: string }[]).slice();
    await sim.stop();

    const db = new Database(dbFile, { readonly: true });
    const outbox = db.prepare('SELECT id, to_number AS "to", body, status FROM outbox ORDER BY id').all() as { id: number; to: string; body: string; status: string }[];
    const uncertainAttempts = new Map(
      (db.prepare(`SELECT message_id AS id, COUNT(*) AS n FROM attempts WHERE outcome = 'uncertain' GROUP BY message_id`).all() as { id: number; n: number }[]).map((r) => [r.id, r.n]),
    );
    const integrity = db.pragma('integrity_check', { simple: true });
    db.close();

    // ---- the outbox against what the clients were told --------------------------------
    const tagOf = (text: string) => TAG.exec(text)?.[0] ?? null;
    const sendsByTag = new Map<string, SendRecord>(ctx.sends.map((s) => [s.tag, s]));
    const rowsByTag = new Map<string, typeof outbox>();
    for (const row of outbox) {
      const tag = tagOf(row.body);
      if (tag) rowsByTag.set(tag, [...(rowsByTag.get(tag) ?? []), row]);
    }
    const accepted = ctx.sends.filter((s) => s.answers.includes('1'));
    const missing: string[] = [];
    for (const s of accepted) {
      for (const tel of s.tels) if (!(rowsByTag.get(s.tag) ?? []).some((r) => r.to.endsWith(tel))) missing.push(`${s.tag} to ${tel} (answers ${s.answers.join(',')})`);
    }
    const doubled: string[] = [];
    for (const [tag, rows] of rowsByTag) {
      const perNumber = new Map<string, number>();
      for (const r of rows) perNumber.set(r.to, (perNumber.get(r.to) ?? 0) + 1);
      for (const [to, n] of perNumber) if (n > 1) doubled.push(`${tag} to ${to}: ${n} rows (answers ${sendsByTag.get(tag)?.answers.join(',') ?? 'none recorded'})`);
    }
    const refusedButQueued = ctx.sends
      .filter((s) => !s.maybe && s.answers.length > 0 && s.answers.every((a) => a !== '1' && a !== 'none') && rowsByTag.has(s.tag))
      .map((s) => `${s.tag} (answers ${s.answers.join(',')})`);
    const strangers = outbox.filter((r) => !sendsByTag.has(tagOf(r.body) ?? '')).map((r) => `#${r.id} ${r.to} ${r.status} ${JSON.stringify(r.body.slice(0, 80))}`);

    // ---- the air against the outbox -------------------------------------------------------
    const keyOf = (text: string, to: string) => `${tagOf(text)}|${to}`;
    const onAir = new Map<string, number>();
    for (const sms of transmitted) onAir.set(keyOf(sms.text, sms.to), (onAir.get(keyOf(sms.text, sms.to)) ?? 0) + 1);
    const keys = new Set(outbox.map((r) => keyOf(r.body, r.to)));
    const phantoms = [...onAir.keys()].filter((key) => !keys.has(key));
    const twice: string[] = [];
    const sentNotOnAir: string[] = [];
    for (const row of outbox) {
      const times = onAir.get(keyOf(row.body, row.to)) ?? 0;
      const uncertain = uncertainAttempts.get(row.id) ?? 0;
      const resent = ctx.resendRequested.has(row.id);
      // Twice on the air only after an uncertain attempt that the shop chose to resend (resend_uncertain is off).
      if (times > 1 && !(resent && times <= 1 + uncertain)) {
        twice.push(`#${row.id} ${tagOf(row.body)} to ${row.to}: ${times} times, ${uncertain} uncertain attempts, ${resent ? '' : 'no '}resend asked, now ${row.status}`);
      }
      if ((row.status === 'sent' || row.status === 'delivered') && times === 0) sentNotOnAir.push(`#${row.id} ${tagOf(row.body)} ${row.status}`);
    }

    // ---- figures -------------------------------------------------------------------------
    const answers = new Map<string, number>();
    for (const s of ctx.sends) for (const a of s.answers) answers.set(a, (answers.get(a) ?? 0) + 1);
    const rssMax = Math.max(0, ...rssByPid.values());
    const growth = finalBytes - baselineBytes;
    const growthBound = outbox.length * DB_BYTES_PER_ACCEPTED_MESSAGE + DB_GROWTH_ALLOWANCE_BYTES;
    // Probes overlapping a restart (planned or not) are left out: the box was not there to answer.
    const down = (from: number, to: number) => box.downtimes.some((d) => from < (d.to ?? Infinity) && to > d.from - 500);
    const counted = probes.filter((p) => !down(p.at, p.at + p.ms));
    const latencies = counted.map((p) => (p.body === '1' ? p.ms : Infinity)).sort((a, b) => a - b);
    const p99 = percentile(latencies, 0.99);
    const unansweredWhileUp = counted.filter((p) => p.body !== '1');

    log.push(
      `chaos ${((chaosEndedAt - startedAt) / 1000).toFixed(0)} s, then the queue ${drained ? `drained in ${(drainMs / 1000).toFixed(0)} s` : `did not drain in ${DRAIN_TIMEOUT_MS / 1000} s: ${JSON.stringify(lastQueue)}`}`,
      `smsSnd: ${ctx.sends.length} tagged requests, ${accepted.length} answered "1"; answers ${[...answers].map(([a, n]) => `${JSON.stringify(a)}×${n}`).join(' ')}`,
      `carrier restoration notices after the chaos (the box had taken refused sends for a carrier block): ${carrierRestorations.length ? carrierRestorations.join(', ') : 'none'}`,
      `HAT power cycles made for the box after the chaos (its modem stopped responding; it cannot press PWRKEY on a pty): ${ownerPowerCycles.length ? ownerPowerCycles.join(', ') : 'none'}`,
      `outbox ${outbox.length} rows, ${transmitted.length} SMS on the air, ${uncertainAttempts.size} messages with an uncertain attempt, ${ctx.resendRequested.size} resends asked by the admin`,
      `box processes ${box.pids.length}: planned SIGKILLs ${box.plannedKills} (${powerCycles} with a HAT power cycle), unplanned exits ${box.unplanned.length}, final SIGTERM exit ${finalExit}`,
      `RSS max ${MiB(rssMax)} (limit ${MiB(RSS_LIMIT_BYTES)}; per process ${[...rssByPid.values()].map(MiB).join(', ')})`,
      `database ${MiB(baselineBytes)} → ${MiB(finalBytes)}: growth ${MiB(growth)}, bound ${MiB(growthBound)} (${outbox.length} messages × ${DB_BYTES_PER_ACCEPTED_MESSAGE} B + ${MiB(DB_GROWTH_ALLOWANCE_BYTES)}); integrity_check ${String(integrity)}`,
      `smsAU from its own address every 200 ms: ${probes.length} probes, ${counted.length} while a box was up; p50 ${percentile(latencies, 0.5).toFixed(1)} ms, p95 ${percentile(latencies, 0.95).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${latencies.at(-1)?.toFixed(1)} ms; ${unansweredWhileUp.length} not answered "1" while up${unansweredWhileUp.length ? ` (first: ${JSON.stringify(unansweredWhileUp.slice(0, 3))})` : ''}`,
      `slowest smsAU probes while up: ${slowest(counted, actions, startedAt)}`,
      `answers by client:\n${tally.render()}`,
    );
    if (ctx.surprises.length) log.push(`5xx answers (${ctx.surprises.length}${ctx.surprises.length >= 100 ? '+' : ''}):\n  ${ctx.surprises.slice(0, 20).join('\n  ')}`);
    if (box.startFailures.length) log.push(`box starts that failed: ${box.startFailures.join('; ')}`);

    return {
      seed,
      log,
      drained,
      plannedKills: box.plannedKills,
      unplanned: box.unplanned,
      actions,
      finalExit,
      integrity,
      accepted,
      missing,
      doubled,
      refusedButQueued,
      strangers,
      twice,
      phantoms,
      sentNotOnAir,
      rssMax,
      growth,
      growthBound,
      countedProbes: counted.length,
      p99,
    };
  } finally {
    clearInterval(rssTimer);
    if (prober) await prober.terminate();
    await box.stop('SIGKILL');
    await sim.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

let result: Promise<ChaosResult> | null = null;
/** One run for all the checks below (each check is its own test, so every failing one is reported). */
const chaos = () => (result ??= runChaos());

const checks: [string, (t: ExecutionContext, r: ChaosResult) => void][] = [
  [
    `the run: ${SECONDS} s of chaos, SIGKILLs every 30–60 s, the queue drained after it`,
    (t, r) => {
      t.log(r.log.join('\n'));
      t.true(r.drained, 'the queue drained after the chaos');
      t.true(r.accepted.length > 0, 'some smsSnd requests were answered "1"');
      t.true(r.plannedKills >= Math.floor(SECONDS / 60) - 1, `planned SIGKILLs: ${r.plannedKills}`);
    },
  ],
  [
    'no exit of the box but the planned kills; a clean stop at the end',
    (t, r) => {
      if (r.unplanned.length) t.log(`unplanned exits of the box, by error:\n${describeExits(r.unplanned, r.actions).join('\n')}`);
      t.is(r.unplanned.length, 0, 'unplanned exits');
      t.is(r.finalExit, 0, 'exit code after SIGTERM');
    },
  ],
  [
    'every request answered "1" is in the outbox exactly once',
    (t, r) => {
      t.log(`${r.accepted.length} requests answered "1"`);
      t.deepEqual(
        { missing: r.missing, doubled: r.doubled, refusedButQueued: r.refusedButQueued, strangers: r.strangers },
        { missing: [], doubled: [], refusedButQueued: [], strangers: [] },
      );
    },
  ],
  [
    'nothing on the air twice silently (twice only when uncertain and resent by the shop)',
    (t, r) => t.deepEqual({ twice: r.twice, phantoms: r.phantoms, sentNotOnAir: r.sentNotOnAir }, { twice: [], phantoms: [], sentNotOnAir: [] }),
  ],
  [`RSS of the box under ${MiB(RSS_LIMIT_BYTES)}`, (t, r) => t.true(r.rssMax > 0 && r.rssMax < RSS_LIMIT_BYTES, `RSS max ${MiB(r.rssMax)}`)],
  [
    `database growth within ${DB_BYTES_PER_ACCEPTED_MESSAGE} B per accepted message + ${MiB(DB_GROWTH_ALLOWANCE_BYTES)}; integrity ok`,
    (t, r) => {
      t.true(r.growth <= r.growthBound, `growth ${MiB(r.growth)}, bound ${MiB(r.growthBound)}`);
      t.is(r.integrity, 'ok');
    },
  ],
  [
    `smsAU p99 under ${SMSAU_P99_LIMIT_MS} ms over the whole run`,
    (t, r) => {
      t.true(r.countedProbes >= Math.min(100, SECONDS * 2), `too few smsAU probes while a box was up to tell: ${r.countedProbes} (p99 of those ${r.p99.toFixed(1)} ms)`);
      t.true(r.p99 < SMSAU_P99_LIMIT_MS, `p99 ${r.p99.toFixed(1)} ms`);
    },
  ],
];

for (const [title, check] of checks) {
  testWithTools([SOCAT], { serial: true })(`chaos: ${title}`, async (t) => {
    t.timeout((SECONDS + 480) * 1000);
    check(t, await chaos());
  });
}
