/**
 * The chaos suite's clients: each runs until `running()` turns false, paced
 * by its own seeded PRNG, from its own loopback address, and notes every
 * action it starts (the trigger of a crash is among the last ones).
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import { basicAuth } from '../reliability/lib.js';
import type { SimulatorProcess } from '../simulator/pty-process.js';
import { call, form, openSocket, rawExchange, type Reply } from './net.js';
import { clientRandom, letters, pick, type ActionLog, type BoxSupervisor, type Tally } from './run.js';

/** One smsSnd request (and its client retries): found in the outbox by its tag. */
export interface SendRecord {
  tag: string;
  client: string;
  tels: string[];
  body: string;
  /** Every answer it got: a reply body, `http NNN`, or `none` (cut off, refused connection, timeout). */
  answers: string[];
  /** Sent through a form whose outcome the client does not read (admin test send): may be queued or not. */
  maybe?: boolean;
}

export interface ChaosContext {
  seed: number;
  port: number;
  box: BoxSupervisor;
  actions: ActionLog;
  tally: Tally;
  running(): boolean;
  /** Resolves when the chaos phase ends. */
  stopped: Promise<void>;
  user: string;
  password: string;
  adminPassword: string;
  sends: SendRecord[];
  /** Outbox ids the admin asked to resend (a resend may make one SMS go out twice: by the shop's decision). */
  resendRequested: Set<number>;
  /** Answers worth a look (5xx), with the request; the first 100. */
  surprises: string[];
}

/** The tag in a body (smsSnd, garbled and aborted requests, admin test sends); the checks match on it. */
export const TAG = /\bc\d+[sgat]\d+n\d+\b/;
const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** A pause of the client's pacing that ends early when the chaos phase ends. */
function pause(ctx: ChaosContext, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))), ctx.stopped]).finally(() => clearTimeout(timer));
}

function noteSurprise(ctx: ChaosContext, what: string, reply: Reply | { status: number; text: string }): void {
  if (reply.status >= 500 && ctx.surprises.length < 100) {
    const body = 'body' in reply ? reply.body : reply.text.slice(reply.text.indexOf('\r\n\r\n') + 4);
    ctx.surprises.push(`${what} -> ${reply.status} ${body.slice(0, 200)}`);
  }
}

/** Runs one request of a client: notes it, tallies the outcome, waits for a box after a connection failure. */
async function attempt(ctx: ChaosContext, client: string, what: string, run: () => Promise<Reply | { status: number; text: string }>): Promise<Reply | null> {
  ctx.actions.note(client, what);
  try {
    const reply = await run();
    ctx.tally.add(`${client} ${what.split(' ')[0]}`, reply.status);
    noteSurprise(ctx, `${client} ${what}`, reply);
    return 'body' in reply ? reply : null;
  } catch (error) {
    ctx.tally.add(`${client} ${what.split(' ')[0]}`, `error ${(error as NodeJS.ErrnoException).code ?? 'timeout'}`);
    await ctx.box.whenUp();
    return null;
  }
}

// ---- paced smsSnd, every "1" recorded ---------------------------------------

export async function smsSender(ctx: ChaosContext, index: number): Promise<void> {
  const client = `smsSnd-${index}`;
  const from = `127.0.0.${10 + index}`;
  const random = clientRandom(ctx.seed, client);
  let previous: SendRecord | null = null;
  for (let n = 0; ctx.running(); n++) {
    let record: SendRecord;
    if (previous && random() < 0.1) {
      // A client retry after a timeout: the same account, numbers and body, merged by the box.
      record = previous;
    } else {
      const tag = `c${ctx.seed}s${index}n${n}`;
      const tels = [`139${index}${pad(n, 7)}`, ...(random() < 0.1 ? [`137${index}${pad(n, 7)}`] : [])];
      const body = random() < 0.5 ? `【小店】您的订单 ${tag} 已发货` : `Order ${tag} shipped`;
      record = { tag, client, tels, body, answers: [] };
      ctx.sends.push(record);
    }
    const query = form({ Msg: 'smsSnd', User: ctx.user, PWD: ctx.password, Tel: record.tels.join(','), Body: record.body });
    const viaPost = random() < 0.3;
    ctx.actions.note(client, `smsSnd ${record.tag}${viaPost ? ' (form POST)' : ''}`);
    try {
      const reply = await call({
        port: ctx.port,
        from,
        method: viaPost ? 'POST' : 'GET',
        path: viaPost ? '/sms' : `/sms?${query}`,
        headers: viaPost ? { 'content-type': 'application/x-www-form-urlencoded' } : {},
        ...(viaPost ? { body: query } : {}),
      });
      record.answers.push(reply.status === 200 ? reply.body : `http ${reply.status}`);
      ctx.tally.add(`${client} smsSnd`, reply.status === 200 ? `"${reply.body}"` : reply.status);
      noteSurprise(ctx, `${client} smsSnd`, reply);
    } catch (error) {
      record.answers.push('none');
      ctx.tally.add(`${client} smsSnd`, `error ${(error as NodeJS.ErrnoException).code ?? 'timeout'}`);
      await ctx.box.whenUp();
    }
    previous = record;
    await pause(ctx, 150 + random() * 450);
  }
}

// ---- aborted bodies ----------------------------------------------------------

/** POST form bodies cut off mid-way: the client promises N bytes, sends fewer, and goes away. */
export async function abortedBodies(ctx: ChaosContext): Promise<void> {
  const client = 'aborted-body';
  const from = '127.0.0.20';
  const random = clientRandom(ctx.seed, client);
  for (let n = 0; ctx.running(); n++) {
    const path = pick(random, ['/login', '/logout', '/sms', '/', '/messages/test', '/optouts/import', '/api/optouts', `/api/${letters(random, 3, 10)}`, `/${letters(random, 3, 10)}`]);
    const full =
      path === '/login'
        ? form({ password: ctx.adminPassword, next: '/messages' })
        : path === '/sms' || path === '/'
          ? form({ Msg: 'smsSnd', User: ctx.user, PWD: ctx.password, Tel: `1381${pad(n, 7)}`, Body: `Order c${ctx.seed}a0n${n} shipped ${'x'.repeat(Math.floor(random() * 2000))}` })
          : form({ _csrf: letters(random, 20, 30), number: `1350${pad(n, 7)}`, csv: 'x'.repeat(Math.floor(random() * 5000)) });
    const cut = 1 + Math.floor(random() * (full.length - 1));
    const head = `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${ctx.port}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${full.length}\r\n\r\n`;
    ctx.actions.note(client, `POST ${path} cut after ${cut} of ${full.length} body bytes`);
    try {
      const socket = await openSocket(ctx.port, from);
      socket.on('error', () => undefined);
      await new Promise<void>((resolve) => socket.write(head + full.slice(0, cut), () => resolve()));
      // Sometimes at once, sometimes after the box has started reading the body.
      await pause(ctx, random() * 60);
      socket.destroy();
      ctx.tally.add(`${client} POST`, 'cut');
    } catch (error) {
      ctx.tally.add(`${client} POST`, `error ${(error as NodeJS.ErrnoException).code}`);
      await ctx.box.whenUp();
    }
    await pause(ctx, 200 + random() * 800);
  }
}

// ---- garbled request lines and percent-encodings ----------------------------

const BAD_ESCAPES = ['%E0%A4%A', '%C3%28', '%FF%FE', '%', '%G1', '%E4%B8', '%ED%A0%80', '%F8%88%80%80%80'];

/** Raw bytes without CR, LF and space (which would end the request line). */
function rawBytes(random: () => number, min: number, max: number): Buffer {
  const length = min + Math.floor(random() * (max - min + 1));
  return Buffer.from(Array.from({ length }, () => Math.floor(random() * 256)).map((b) => (b === 0x0d || b === 0x0a || b === 0x20 ? 0x41 : b)));
}

export async function garbled(ctx: ChaosContext): Promise<void> {
  const client = 'garbled';
  const from = '127.0.0.21';
  const random = clientRandom(ctx.seed, client);
  const admin = basicAuth(ctx.adminPassword);
  const raw = (what: string, bytes: Buffer) => attempt(ctx, client, what, () => rawExchange(ctx.port, from, bytes));
  const get = (what: string, path: string, headers: Record<string, string> = {}, method = 'GET') => attempt(ctx, client, what, () => call({ port: ctx.port, from, method, path, headers }));
  const request = (target: Buffer | string, headers = '') =>
    Buffer.concat([Buffer.from('GET '), typeof target === 'string' ? Buffer.from(target, 'latin1') : target, Buffer.from(` HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n${headers}\r\n`)]);
  for (let n = 0; ctx.running(); n++) {
    const escape = pick(random, BAD_ESCAPES);
    switch (pick(random, ['random-bytes', 'raw-target', 'bad-escape-send', 'login-next', 'bad-escape-route', 'bad-escape-query', 'bad-headers', 'odd-request-line'])) {
      case 'random-bytes':
        await raw('random-bytes', rawBytes(random, 1, 400));
        break;
      case 'raw-target': {
        // Raw UTF-8, GBK or just random bytes in the request line, as some WDGJ clients send.
        const bytes = rawBytes(random, 1, 200);
        const target = random() < 0.5 ? Buffer.concat([Buffer.from('/sms?Msg='), bytes]) : Buffer.concat([Buffer.from(`/${letters(random, 1, 8)}?q=`), bytes]);
        await raw(`raw-target ${target.toString('latin1')}`, request(target));
        break;
      }
      case 'bad-escape-send': {
        // The right password and a body with a malformed escape: a "1" must be kept like any other.
        const tag = `c${ctx.seed}g0n${n}`;
        const record: SendRecord = { tag, client, tels: [`1361${pad(n, 7)}`], body: `Order ${tag} ${escape}`, answers: [] };
        ctx.sends.push(record);
        const query = `Msg=smsSnd&User=${encodeURIComponent(ctx.user)}&PWD=${encodeURIComponent(ctx.password)}&Tel=${record.tels[0]}&Body=Order+${tag}+${escape}`;
        ctx.actions.note(client, `bad-escape-send /sms?${query.replace(/PWD=[^&]*/, 'PWD=…')}`);
        try {
          const reply = await rawExchange(ctx.port, from, request(`/sms?${query}`));
          const body = reply.text.slice(reply.text.indexOf('\r\n\r\n') + 4);
          record.answers.push(reply.status === 200 ? body : reply.status === 0 ? 'none' : `http ${reply.status}`);
          ctx.tally.add(`${client} bad-escape-send`, reply.status === 200 ? `"${body}"` : reply.status);
          noteSurprise(ctx, `${client} bad-escape-send ${escape}`, reply);
        } catch (error) {
          record.answers.push('none');
          ctx.tally.add(`${client} bad-escape-send`, `error ${(error as NodeJS.ErrnoException).code}`);
          await ctx.box.whenUp();
        }
        break;
      }
      case 'login-next': {
        // The right admin password with a next= that decodes to non-ASCII or does not decode.
        const next = pick(random, ['/%E4%B8%AD', `/${escape}`, '/messages?q=%E4%B8%AD', '/%0d%0aSet-Cookie:x=1']);
        await get(`login-next GET /login?next=${next}`, `/login?next=${next}`);
        await attempt(ctx, client, `login-next POST /login next=${next}`, () =>
          call({ port: ctx.port, from, method: 'POST', path: '/login', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `password=${encodeURIComponent(ctx.adminPassword)}&next=${next}` }));
        break;
      }
      case 'bad-escape-route': {
        const route = pick(random, [
          ['GET', `/api/accounts/${escape}/ledger`],
          ['POST', `/api/accounts/${escape}/topup`],
          ['DELETE', `/api/optouts/${escape}`],
          ['GET', `/api/messages/${escape}`],
          ['GET', `/settings/ledger/${escape}`],
          ['GET', `/messages/${escape}`],
        ] as const);
        await get(`bad-escape-route ${route[0]} ${route[1]}`, route[1], random() < 0.8 ? admin : {}, route[0]);
        break;
      }
      case 'bad-escape-query': {
        const path = pick(random, [`/messages?q=${escape}`, `/?lang=${escape}`, `/optouts?q=${escape}`, `/api/messages?limit=${escape}&status=${escape}`, `/login?next=${escape}`, `/api/inbox?q=${escape}`, `/setup?${escape}`, `/api/optouts?q=${escape}`, `/api/status/stream?lang=${escape}`]);
        await raw(`bad-escape-query ${path}`, request(path, `Authorization: ${admin['authorization']}\r\n`));
        break;
      }
      case 'bad-headers': {
        const headers = pick(random, [
          Buffer.concat([Buffer.from('Cookie: smsbox_session='), rawBytes(random, 1, 60), Buffer.from(`; smsbox_lang=${escape}\r\n`)]),
          Buffer.from(`Authorization: Basic ${escape}${letters(random, 0, 20)}\r\n`),
          Buffer.concat([Buffer.from('Authorization: Basic '), Buffer.from(Buffer.concat([Buffer.from('admin:'), rawBytes(random, 1, 30)]).toString('base64')), Buffer.from('\r\n')]),
          Buffer.concat([Buffer.from('X-Junk: '), rawBytes(random, 1, 300), Buffer.from('\r\n')]),
          Buffer.from(`Content-Type: application/x-www-form-urlencoded; charset=${escape}\r\n`),
        ]);
        const path = pick(random, ['/', '/messages', '/api/messages', '/settings', '/api/status']);
        await raw(`bad-headers GET ${path}`, Buffer.concat([Buffer.from(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n`), headers, Buffer.from('\r\n')]));
        break;
      }
      case 'odd-request-line': {
        const line = pick(random, [
          'BREW /coffee HTTP/1.1',
          'GET http://example.invalid/sms?Msg=smsAU HTTP/1.1',
          'GET /sms?Msg=smsAU HTTP/9.9',
          'GET  /  HTTP/1.1',
          `GET /${'a'.repeat(20_000)} HTTP/1.1`,
          'POST /sms HTTP/1.1\r\nContent-Length: -5',
          'POST /sms HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\nzz\r\nMsg=smsAU',
          'GET /sms?Msg=smsAU&User=a%00b&PWD=%00 HTTP/1.1',
          'GET',
        ]);
        await raw(`odd-request-line ${line.slice(0, 80)}`, Buffer.from(`${line}\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`, 'latin1'));
        break;
      }
    }
    await pause(ctx, 100 + random() * 500);
  }
}

/** WDGJ requests with an unknown Msg value of up to 60 KB (the events log grew by it). No password needed. */
export async function oversizedUnknownMsg(ctx: ChaosContext): Promise<void> {
  const client = 'unknown-msg';
  const from = '127.0.0.22';
  const random = clientRandom(ctx.seed, client);
  while (ctx.running()) {
    if (random() < 0.7) {
      const body = form({ Msg: letters(random, 55_000, 60_000), User: letters(random, 1, 2000) });
      await attempt(ctx, client, `POST /sms unknown Msg of ${body.length} bytes`, () =>
        call({ port: ctx.port, from, method: 'POST', path: '/sms', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body }));
    } else {
      await attempt(ctx, client, 'GET /sms unknown Msg of 8 KB', () => call({ port: ctx.port, from, path: `/sms?Msg=${letters(random, 7000, 8000)}` }));
    }
    await pause(ctx, 150 + random() * 350);
  }
}

// ---- many distinct paths, then /metrics ---------------------------------------

const DISTINCT_PATHS_PER_BOX = 15_000;

/**
 * Up to 15,000 distinct paths into each box (four keep-alive connections), while a
 * scraper reads /metrics every 5 s the way Prometheus would.
 */
export async function randomPaths(ctx: ChaosContext): Promise<void> {
  const client = 'random-paths';
  const from = '127.0.0.23';
  const random = clientRandom(ctx.seed, client);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  let generation = -1;
  let distinct = 0;
  let n = 0;
  const flood = async () => {
    while (ctx.running()) {
      if (ctx.box.generation !== generation) {
        generation = ctx.box.generation;
        distinct = 0;
      }
      if (distinct >= DISTINCT_PATHS_PER_BOX) {
        await Promise.race([ctx.box.whenGenerationAfter(generation), ctx.stopped]);
        continue;
      }
      distinct++;
      const path = random() < 0.8 ? `/api/${letters(random, 5, 10)}${n++}` : `/${letters(random, 2, 8)}/${letters(random, 2, 8)}${n++}`;
      try {
        const reply = await call({ port: ctx.port, from, path, agent });
        ctx.tally.add(`${client} GET`, reply.status);
        noteSurprise(ctx, `${client} GET ${path}`, reply);
      } catch (error) {
        ctx.tally.add(`${client} GET`, `error ${(error as NodeJS.ErrnoException).code ?? 'timeout'}`);
        await ctx.box.whenUp();
      }
    }
  };
  const scrape = async () => {
    while (ctx.running()) {
      await pause(ctx, 5000);
      if (!ctx.running()) break;
      await attempt(ctx, client, `GET /metrics after ${distinct} distinct paths into this box`, () => call({ port: ctx.port, from, path: '/metrics' }));
    }
  };
  try {
    await Promise.all([flood(), flood(), flood(), flood(), scrape()]);
  } finally {
    agent.destroy();
  }
}

// ---- slowloris -----------------------------------------------------------------

/** Up to 80 connections at a time that send their headers a byte at a time, slowly. */
export async function slowloris(ctx: ChaosContext): Promise<void> {
  const client = 'slowloris';
  const from = '127.0.0.24';
  const random = clientRandom(ctx.seed, client);
  const open = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let freed: (() => void) | null = null;
  while (ctx.running()) {
    if (open.size >= 80) {
      await Promise.race([new Promise<void>((resolve) => (freed = resolve)), ctx.stopped]);
      continue;
    }
    const target = pick(random, ['/api/status', '/', `/sms?Msg=smsAU&User=${ctx.user}&PWD=${letters(random, 4, 8)}`, '/metrics']);
    const rest = Buffer.from(`X-Slow: ${letters(random, 10, 60)}\r\n\r\n`);
    ctx.actions.note(client, `GET ${target} headers at one byte per ~1 s`);
    try {
      const socket = await openSocket(ctx.port, from);
      open.add(socket);
      socket.on('error', () => undefined);
      socket.on('data', () => undefined);
      socket.on('close', () => {
        open.delete(socket);
        ctx.tally.add(`${client} connection`, 'closed');
        freed?.();
      });
      socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n`);
      let at = 0;
      const trickle = () => {
        if (socket.destroyed || at >= rest.length) return;
        socket.write(rest.subarray(at, ++at));
        const timer = setTimeout(() => {
          timers.delete(timer);
          trickle();
        }, 300 + random() * 1400);
        timers.add(timer);
      };
      trickle();
    } catch (error) {
      ctx.tally.add(`${client} connection`, `error ${(error as NodeJS.ErrnoException).code}`);
      await ctx.box.whenUp();
    }
    await pause(ctx, 50 + random() * 250);
  }
  for (const timer of timers) clearTimeout(timer);
  for (const socket of open) socket.destroy();
}

// ---- status-stream floods ---------------------------------------------------------

/** Waves of 150–400 /api/status/stream connections held for a few seconds. */
export async function statusStreamFlood(ctx: ChaosContext): Promise<void> {
  const client = 'status-streams';
  const from = '127.0.0.25';
  const random = clientRandom(ctx.seed, client);
  while (ctx.running()) {
    const count = 150 + Math.floor(random() * 251);
    ctx.actions.note(client, `${count} GET /api/status/stream`);
    const sockets: Socket[] = [];
    const openOne = async () => {
      try {
        const socket = await openSocket(ctx.port, from);
        sockets.push(socket);
        socket.on('error', () => undefined);
        let first = true;
        socket.on('data', (chunk: Buffer) => {
          if (first) ctx.tally.add(`${client} stream`, Number(/^HTTP\/1\.1 (\d{3})/.exec(chunk.toString('latin1'))?.[1] ?? 0));
          first = false;
        });
        socket.write(`GET /api/status/stream${random() < 0.5 ? '?lang=en' : ''} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n`);
      } catch (error) {
        ctx.tally.add(`${client} stream`, `error ${(error as NodeJS.ErrnoException).code}`);
      }
    };
    for (let i = 0; i < count && ctx.running(); i += 50) await Promise.all(Array.from({ length: Math.min(50, count - i) }, openOne));
    await pause(ctx, 3000 + random() * 7000);
    for (const socket of sockets) socket.destroy();
    await ctx.box.whenUp();
    await pause(ctx, 2000 + random() * 4000);
  }
}

// ---- parallel wrong passwords ------------------------------------------------------

/**
 * Bursts of 100 parallel smsAU guesses from one address (the right password last),
 * with a few admin guesses. Each burst comes from the next of 1,000 addresses
 * (127.0.1.1–127.0.4.250): on a LAN one machine can take many, so the per-address
 * lock-out is not all that bounds what guessing costs the box.
 */
export async function passwordGuessers(ctx: ChaosContext): Promise<void> {
  const client = 'guesser';
  const random = clientRandom(ctx.seed, client);
  for (let burst = 0; ctx.running(); burst++) {
    const from = `127.0.${1 + (Math.floor(burst / 250) % 4)}.${1 + (burst % 250)}`;
    ctx.actions.note(client, `100 parallel smsAU guesses from ${from}`);
    const guesses = Array.from({ length: 100 }, (_, i) => (i === 99 ? ctx.password : `${letters(random, 4, 12)}${i}`));
    const wdgj = guesses.map((pwd) =>
      call({ port: ctx.port, from, path: `/sms?${form({ Msg: 'smsAU', User: ctx.user, PWD: pwd })}`, timeoutMs: 20_000 }).then(
        (reply) => ctx.tally.add(`${client} smsAU${pwd === ctx.password ? ' (right password last)' : ''}`, reply.status === 200 ? `"${reply.body}"` : reply.status),
        (error: NodeJS.ErrnoException) => ctx.tally.add(`${client} smsAU`, `error ${error.code ?? 'timeout'}`),
      ),
    );
    const adminGuesses = Array.from({ length: 5 }, () =>
      random() < 0.5
        ? call({ port: ctx.port, from, path: '/api/accounts', headers: basicAuth(letters(random, 4, 12)), timeoutMs: 20_000 })
        : call({ port: ctx.port, from, method: 'POST', path: '/login', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form({ password: letters(random, 4, 12), next: '/' }), timeoutMs: 20_000 }),
    ).map((p) => p.then((reply) => ctx.tally.add(`${client} admin guess`, reply.status), (error: NodeJS.ErrnoException) => ctx.tally.add(`${client} admin guess`, `error ${error.code ?? 'timeout'}`)));
    await Promise.all([...wdgj, ...adminGuesses]);
    await ctx.box.whenUp();
    await pause(ctx, 1500 + random() * 2500);
  }
}

// ---- admin forms and API, with and without tokens ---------------------------------------

const formHeaders = (cookie: string | null): Record<string, string> => ({ 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) });

/** The owner: logs in, uses forms with their CSRF token, the JSON API with session and Basic auth; sometimes forgets the token. */
export async function admin(ctx: ChaosContext): Promise<void> {
  const client = 'admin';
  const from = '127.0.0.26';
  const random = clientRandom(ctx.seed, client);
  const port = ctx.port;
  let session: { cookie: string; csrf: string } | null = null;
  const send = (what: string, o: Omit<Parameters<typeof call>[0], 'port' | 'from'>) => attempt(ctx, client, what, () => call({ port, from, ...o }));
  const login = async (): Promise<void> => {
    session = null;
    const reply = await send('login POST /login', { method: 'POST', path: '/login', headers: formHeaders(null), body: form({ password: ctx.adminPassword, next: '/messages' }) });
    const cookie = /smsbox_session=[^;]+/.exec(String(reply?.headers['set-cookie'] ?? ''))?.[0];
    if (!cookie) return;
    const page = await send('login GET /messages', { path: '/messages', headers: { cookie } });
    const csrf = /<meta name="csrf-token" content="([^"]+)">/.exec(page?.body ?? '')?.[1];
    if (csrf) session = { cookie, csrf };
  };
  for (let n = 0; ctx.running(); n++) {
    if (!session) await login();
    const s = session as { cookie: string; csrf: string } | null;
    const cookie = s?.cookie ?? null;
    const csrf = s?.csrf ?? '';
    const number = `1350${pad(Math.floor(random() * 10_000_000), 7)}`;
    const action = pick(random, ['optout-add', 'optout-remove', 'optout-import', 'test-send', 'uncertain', 'no-csrf', 'wrong-csrf', 'no-session', 'api-session', 'api-basic', 'pages', 'logout']);
    let reply: Reply | null = null;
    switch (action) {
      case 'optout-add':
        reply = await send(`optout-add ${number}`, { method: 'POST', path: '/optouts/add', headers: formHeaders(cookie), body: form({ _csrf: csrf, number, reason: 'chaos' }) });
        break;
      case 'optout-remove':
        reply = await send(`optout-remove ${number}`, { method: 'POST', path: '/optouts/remove', headers: formHeaders(cookie), body: form({ _csrf: csrf, number }) });
        break;
      case 'optout-import': {
        const csv = ['number,reason', ...Array.from({ length: 1 + Math.floor(random() * 20) }, (_, i) => (random() < 0.2 ? `=cmd|${letters(random, 2, 6)}` : `1350${pad(n * 100 + i, 7)},import`))].join('\r\n');
        reply = await send('optout-import', { method: 'POST', path: '/optouts/import', headers: formHeaders(cookie), body: form({ _csrf: csrf, csv }) });
        break;
      }
      case 'test-send': {
        const tag = `c${ctx.seed}t0n${n}`;
        ctx.sends.push({ tag, client, tels: [`1340${pad(n, 7)}`], body: `测试 ${tag}`, answers: [], maybe: true });
        reply = await send(`test-send ${tag}`, { method: 'POST', path: '/messages/test', headers: formHeaders(cookie), body: form({ _csrf: csrf, to: `1340${pad(n, 7)}`, text: `测试 ${tag}`, account: ctx.user }) });
        break;
      }
      case 'uncertain': {
        // The shop's decision on a message that may or may not have gone out.
        const list = await send('uncertain GET /api/messages?status=uncertain', { path: '/api/messages?status=uncertain&limit=20', headers: random() < 0.5 && cookie ? { cookie } : basicAuth(ctx.adminPassword) });
        let ids: number[] = [];
        try {
          ids = ((JSON.parse(list?.body ?? '{}') as { messages?: { id: number }[] }).messages ?? []).map((m) => m.id);
        } catch {
          // not JSON (a refusal): nothing to decide
        }
        if (ids.length === 0) break;
        const id = pick(random, ids);
        const decision = random() < 0.5 ? 'resend' : 'fail';
        if (decision === 'resend') ctx.resendRequested.add(id);
        const how = pick(random, ['form', 'api-session', 'api-basic']);
        reply =
          how === 'form'
            ? await send(`uncertain ${decision} ${id} (form)`, { method: 'POST', path: `/messages/${id}/${decision}`, headers: formHeaders(cookie), body: form({ _csrf: csrf }) })
            : await send(`uncertain ${decision} ${id} (${how})`, { method: 'POST', path: `/api/messages/${id}/${decision}`, headers: how === 'api-session' && cookie ? { cookie, 'x-csrf-token': csrf } : basicAuth(ctx.adminPassword) });
        break;
      }
      case 'no-csrf':
        reply = await send('no-csrf POST /optouts/add', { method: 'POST', path: '/optouts/add', headers: formHeaders(cookie), body: form({ number }) });
        break;
      case 'wrong-csrf':
        reply = await send('wrong-csrf POST /messages/test', { method: 'POST', path: '/messages/test', headers: formHeaders(cookie), body: form({ _csrf: letters(random, 32, 32), to: number, text: 'x' }) });
        break;
      case 'no-session':
        reply = await send('no-session POST /optouts/remove', { method: 'POST', path: '/optouts/remove', headers: formHeaders(null), body: form({ _csrf: csrf, number }) });
        break;
      case 'api-session': {
        const withToken = random() < 0.5;
        reply = await send(`api-session POST /api/optouts ${withToken ? 'with' : 'without'} X-CSRF-Token`, {
          method: 'POST',
          path: '/api/optouts',
          headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}), ...(withToken ? { 'x-csrf-token': csrf } : {}) },
          body: JSON.stringify({ number, reason: 'chaos api' }),
        });
        break;
      }
      case 'api-basic': {
        const path = pick(random, ['/api/messages?limit=50', '/api/events', '/api/optouts.csv', '/api/accounts', `/api/accounts/${ctx.user}/ledger`, '/api/inbox']);
        reply = await send(`api-basic GET ${path}`, { path, headers: basicAuth(ctx.adminPassword) });
        break;
      }
      case 'pages': {
        const path = pick(random, ['/', '/messages', '/inbox', '/optouts', '/charts', '/settings', '/setup', '/setup/requests', '/messages?q=139', '/?lang=en']);
        reply = await send(`pages GET ${path}`, { path, headers: cookie ? { cookie } : {} });
        break;
      }
      case 'logout':
        reply = await send('logout POST /logout', { method: 'POST', path: '/logout', headers: formHeaders(cookie), body: form({ _csrf: csrf }) });
        session = null;
        break;
    }
    // A restarted box has forgotten every session: log in again.
    if (String(reply?.headers['location'] ?? '').startsWith('/login')) session = null;
    await pause(ctx, 200 + random() * 600);
  }
}

/** Someone on the LAN without the admin password: wrong Basic auth, forged cookies and tokens. */
export async function adminIntruder(ctx: ChaosContext): Promise<void> {
  const client = 'intruder';
  const from = '127.0.0.27';
  const random = clientRandom(ctx.seed, client);
  const port = ctx.port;
  const send = (what: string, o: Omit<Parameters<typeof call>[0], 'port' | 'from'>) => attempt(ctx, client, what, () => call({ port, from, ...o }));
  while (ctx.running()) {
    const forged = `smsbox_session=${letters(random, 43, 43)}`;
    switch (pick(random, ['basic-wrong', 'basic-user', 'form-forged', 'form-none', 'login-wrong', 'login-cross-site', 'api-none'])) {
      case 'basic-wrong':
        await send('basic-wrong GET /api/messages', { path: '/api/messages', headers: basicAuth(letters(random, 4, 16)) });
        break;
      case 'basic-user':
        await send('basic-user POST /api/optouts', { method: 'POST', path: '/api/optouts', headers: { ...basicAuth(ctx.adminPassword, 'root'), 'content-type': 'application/json' }, body: '{"number":"13500000000"}' });
        break;
      case 'form-forged':
        await send('form-forged POST /settings/topup', { method: 'POST', path: '/settings/topup', headers: formHeaders(forged), body: form({ _csrf: letters(random, 32, 32), user: ctx.user, amount: '100' }) });
        break;
      case 'form-none':
        await send('form-none POST /messages/test', { method: 'POST', path: '/messages/test', headers: formHeaders(null), body: form({ to: '13800138000', text: 'intruder' }) });
        break;
      case 'login-wrong':
        await send('login-wrong POST /login', { method: 'POST', path: '/login', headers: formHeaders(null), body: form({ password: letters(random, 4, 16), next: '/settings' }) });
        break;
      case 'login-cross-site':
        await send('login-cross-site POST /login', { method: 'POST', path: '/login', headers: { ...formHeaders(null), origin: 'http://evil.example' }, body: form({ password: ctx.adminPassword, next: '/' }) });
        break;
      case 'api-none':
        await send('api-none POST /api/messages/1/resend', { method: 'POST', path: '/api/messages/1/resend', headers: { cookie: forged, 'x-csrf-token': letters(random, 32, 32) } });
        break;
    }
    await pause(ctx, 200 + random() * 500);
  }
}

// ---- modem faults -----------------------------------------------------------------------

/** Random faults of the virtual HAT (its stdin control), each held a few seconds and cleared. */
export async function modemFaults(ctx: ChaosContext, sim: SimulatorProcess): Promise<void> {
  const client = 'modem';
  const random = clientRandom(ctx.seed, client);
  const hold = async (fault: unknown, clear: unknown, minMs: number, maxMs: number) => {
    ctx.actions.note(client, JSON.stringify(fault));
    sim.send(fault);
    await pause(ctx, minMs + random() * (maxMs - minMs));
    ctx.actions.note(client, JSON.stringify(clear));
    sim.send(clear);
  };
  while (ctx.running()) {
    await pause(ctx, 3000 + random() * 9000);
    if (!ctx.running()) break;
    const kind = pick(random, ['cms-error', 'cms-error', 'no-network', 'silence', 'garbage', 'reboot', 'no-sim', 'signal', 'registration', 'power-cycle']);
    ctx.tally.add('modem fault', kind);
    switch (kind) {
      case 'cms-error': {
        // Retryable (500, 38, 42, 47, 331) and final (21, 28, 96) network errors.
        const fault = { fault: { kind: 'cms-error', code: pick(random, [500, 38, 42, 47, 331, 21, 28, 96]), count: 1 + Math.floor(random() * 3) } };
        ctx.actions.note(client, JSON.stringify(fault));
        sim.send(fault);
        break;
      }
      case 'no-network':
        await hold({ fault: { kind: 'no-network' } }, { clear: 'no-network' }, 2000, 8000);
        break;
      case 'silence':
        await hold({ fault: { kind: 'silence' } }, { clear: 'silence' }, 1000, 5000);
        break;
      case 'garbage':
        await hold({ fault: { kind: 'garbage', probability: 0.2 + random() * 0.5 } }, { clear: 'garbage' }, 1000, 4000);
        break;
      case 'reboot':
        ctx.actions.note(client, 'reboot');
        sim.send({ fault: { kind: 'reboot' } });
        break;
      case 'no-sim':
        await hold({ fault: { kind: 'no-sim' } }, { clear: 'no-sim' }, 2000, 5000);
        break;
      case 'signal':
        await hold({ signal: pick(random, [0, 3, 8, 99]) }, { signal: 20 }, 2000, 8000);
        break;
      case 'registration':
        await hold({ registration: pick(random, ['roaming', 'searching', 'denied', 'none']) }, { registration: 'home' }, 2000, 6000);
        break;
      case 'power-cycle':
        ctx.actions.note(client, 'power cycle');
        sim.send({ power: 'cycle' });
        break;
    }
  }
  sim.send({ clear: true });
  sim.send({ signal: 20 });
  sim.send({ registration: 'home' });
}
