import test from 'ava';
import fc from 'fast-check';
import { AtLineSplitter, type AtToken } from '../../src/modem/at/line-splitter.js';
import {
  AtReader,
  parseFinalResult,
  responsePrefixOf,
  type AtEvent,
  type CommandContext,
} from '../../src/modem/at/reader.js';

function split(chunks: Array<string | Uint8Array>): { tokens: AtToken[]; garbage: number; noisy: number } {
  const splitter = new AtLineSplitter();
  const tokens: AtToken[] = [];
  for (const chunk of chunks) {
    splitter.push(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk, (token) => tokens.push(token));
  }
  return { tokens, garbage: splitter.garbageLines, noisy: splitter.noisyLines };
}

const line = (text: string): AtToken => ({ kind: 'line', text });
const prompt: AtToken = { kind: 'prompt' };

const splitterTable: Array<[string, string, AtToken[]]> = [
  ['CR LF', '\r\nOK\r\n', [line('OK')]],
  ['bare CR', 'OK\r', [line('OK')]],
  ['bare LF', 'OK\n', [line('OK')]],
  ['CR CR LF', '+CSQ: 1,2\r\r\nOK\r\r\n', [line('+CSQ: 1,2'), line('OK')]],
  ['blank lines', '\r\n\r\n\n\r\r\nRING\r\n\r\n', [line('RING')]],
  ['echo then answer', 'AT+CSQ\r\r\n+CSQ: 1,2\r\n\r\nOK\r\n', [line('AT+CSQ'), line('+CSQ: 1,2'), line('OK')]],
  ['prompt without a line end', 'AT+CMGS=9\r\r\n> ', [line('AT+CMGS=9'), prompt]],
  ['prompt then payload echo', '\r\n> 0011\x1a\r\n+CMGS: 5\r\n', [prompt, line('0011'), line('+CMGS: 5')]],
  ['a ">" alone is not a prompt', '>\r\n', [line('>')]],
  ['">" not at line start is not a prompt', 'a> \r\n', [line('a>')]],
  ['padding spaces trimmed', '  OK  \r\n', [line('OK')]],
  ['no line end yet: nothing', '+CSQ: 1', []],
  ['UTF-8 text survives', '+COPS: 0,0,"中国移动"\r\n', [line('+COPS: 0,0,"中国移动"')]],
];

for (const [name, input, expected] of splitterTable) {
  test(`splitter: ${name}`, (t) => {
    t.deepEqual(split([Buffer.from(input, 'utf8')]).tokens, expected);
  });
}

test('splitter: noise-only lines are dropped and counted; noise around text is removed', (t) => {
  const result = split([Buffer.from([0x00, 0xff, 0x0d, 0x0a, 0xff, 0x00, 0x52, 0x44, 0x59, 0x0d, 0x0a, 0x1a, 0x1b, 0x0a])]);
  t.deepEqual(result.tokens, [line('RDY')]);
  t.is(result.garbage, 2);
  t.is(result.noisy, 1);
});

test('splitter: an endless line (wrong baud rate) is dropped instead of growing without bound', (t) => {
  const splitter = new AtLineSplitter(64);
  const tokens: AtToken[] = [];
  splitter.push(Buffer.alloc(1000, 0x55), (token) => tokens.push(token));
  splitter.push(Buffer.from('\r\nOK\r\n'), (token) => tokens.push(token));
  t.deepEqual(tokens.at(-1), line('OK'));
  t.true(splitter.garbageLines >= 1);
});

test('responsePrefixOf: the part after AT up to = or ?', (t) => {
  t.is(responsePrefixOf('AT+CREG?'), '+CREG');
  t.is(responsePrefixOf('at+csq'), '+CSQ');
  t.is(responsePrefixOf('AT+CMGS=23'), '+CMGS');
  t.is(responsePrefixOf('AT*PSUTTZ?'), '*PSUTTZ');
  t.is(responsePrefixOf('AT+CMGF=0;+CNMI=2,1'), '+CMGF');
  t.is(responsePrefixOf('ATE0'), null);
  t.is(responsePrefixOf('AT'), null);
  t.is(responsePrefixOf('AT&F'), null);
});

test('parseFinalResult', (t) => {
  t.deepEqual(parseFinalResult('OK'), { ok: true });
  t.deepEqual(parseFinalResult('ERROR'), { ok: false, kind: 'error', detail: 'ERROR' });
  t.deepEqual(parseFinalResult('+CMS ERROR: 500'), { ok: false, kind: 'cms', detail: '500' });
  t.deepEqual(parseFinalResult('+CME ERROR: SIM PIN required'), { ok: false, kind: 'cme', detail: 'SIM PIN required' });
  t.deepEqual(parseFinalResult('+CMS ERROR:"unknown error"'), { ok: false, kind: 'cms', detail: 'unknown error' });
  t.deepEqual(parseFinalResult('COMMAND NOT SUPPORT'), { ok: false, kind: 'error', detail: 'COMMAND NOT SUPPORT' });
  t.deepEqual(parseFinalResult('NO CARRIER'), { ok: false, kind: 'error', detail: 'NO CARRIER' });
  t.is(parseFinalResult('NO CARRIER', false), null);
  t.is(parseFinalResult('OKAY'), null);
  t.is(parseFinalResult('+CMGS: 12'), null);
});

/** Runs lines through a reader with a fixed command in flight (or none). */
function route(lines: string[], inFlight: CommandContext | null, recent: string | null = null): AtEvent[] {
  const events: AtEvent[] = [];
  const reader = new AtReader({ inFlight: () => inFlight, recentPrefix: () => recent ?? inFlight?.prefix ?? null });
  for (const text of lines) reader.line(text, (event) => events.push(event));
  return events;
}

const creg: CommandContext = { command: 'AT+CREG?', prefix: '+CREG', exclusive: false };
const csq: CommandContext = { command: 'AT+CSQ', prefix: '+CSQ', exclusive: false };

test('reader: +CREG answers AT+CREG? but is a URC during AT+CSQ', (t) => {
  t.deepEqual(route(['AT+CREG?', '+CREG: 0,1', 'OK'], creg), [
    { type: 'echo', line: 'AT+CREG?' },
    { type: 'info', line: '+CREG: 0,1' },
    { type: 'final', result: { ok: true }, line: 'OK' },
  ]);
  t.deepEqual(route(['+CREG: 1', '+CSQ: 5,99'], csq), [
    { type: 'urc', urc: { name: '+CREG', line: '+CREG: 1' } },
    { type: 'info', line: '+CSQ: 5,99' },
  ]);
});

test('reader: with no command in flight, late answers and echoes are unclaimed, call finals are URCs', (t) => {
  t.deepEqual(route(['AT+CSQ', '+CSQ: 5,99', 'OK', '+CMS ERROR: 500', 'NO CARRIER'], null), [
    { type: 'unclaimed', line: 'AT+CSQ', reason: 'echo' },
    { type: 'unclaimed', line: '+CSQ: 5,99', reason: 'unknown' },
    { type: 'unclaimed', line: 'OK', reason: 'final' },
    { type: 'unclaimed', line: '+CMS ERROR: 500', reason: 'final' },
    { type: 'urc', urc: { name: 'NO CARRIER', line: 'NO CARRIER' } },
  ]);
});

test('reader: NO CARRIER during an ordinary command is the caller giving up (a URC), not that command\'s answer', (t) => {
  t.deepEqual(route(['NO CARRIER', 'MISSED_CALL: 11:53AM +8613800138000', '+CSQ: 5,99', 'OK'], csq), [
    { type: 'urc', urc: { name: 'NO CARRIER', line: 'NO CARRIER' } },
    { type: 'urc', urc: { name: 'MISSED_CALL', line: 'MISSED_CALL: 11:53AM +8613800138000' } },
    { type: 'info', line: '+CSQ: 5,99' },
    { type: 'final', result: { ok: true }, line: 'OK' },
  ]);
  const dial: CommandContext = { command: 'ATD10086;', prefix: null, exclusive: false };
  t.deepEqual(route(['NO CARRIER'], dial), [{ type: 'final', result: { ok: false, kind: 'error', detail: 'NO CARRIER' }, line: 'NO CARRIER' }]);
});

test('reader: a +CMT whose second line is not hex does not swallow the final code', (t) => {
  t.deepEqual(route(['+CMT: ,24', 'OK'], csq), [
    { type: 'urc', urc: { name: '+CMT', line: '+CMT: ,24' } },
    { type: 'final', result: { ok: true }, line: 'OK' },
  ]);
});

test('reader: text-mode +CMT takes any second line; text-mode +CDS is one line', (t) => {
  t.deepEqual(route(['+CMT: "+8613800138000",,"24/01/02,03:04:05+32"', 'hello, world'], null), [
    {
      type: 'urc',
      urc: { name: '+CMT', line: '+CMT: "+8613800138000",,"24/01/02,03:04:05+32"', pdu: 'hello, world' },
    },
  ]);
  t.deepEqual(route(['+CDS: 6,12,"13800138000",129,"24/01/02,03:04:05+32","24/01/02,03:04:09+32",0'], null), [
    {
      type: 'urc',
      urc: { name: '+CDS', line: '+CDS: 6,12,"13800138000",129,"24/01/02,03:04:05+32","24/01/02,03:04:09+32",0' },
    },
  ]);
});

test('reader: network time and readiness URCs by name', (t) => {
  const names = route(
    ['*PSUTTZ: 24/01/02,03:04:05","+32",0', 'DST: 0', '+CTZV: 32', '+CTZE: "+32",0,"2024/01/02,03:04:05"', 'SMS Ready', 'Call Ready', 'PB DONE'],
    null,
  ).map((event) => (event.type === 'urc' ? event.urc.name : event.type));
  t.deepEqual(names, ['*PSUTTZ', 'DST', '+CTZV', '+CTZE', 'SMS Ready', 'Call Ready', 'PB DONE']);
});

test('reader: RDY and START are reboots; +CPIN: READY + SMS Ready is one unless AT+CFUN/+CPIN came just before', (t) => {
  const reboots = (lines: string[], recent: string | null) =>
    route(lines, null, recent).filter((event) => event.type === 'reboot').length;
  t.is(reboots(['RDY'], null), 1);
  t.is(reboots(['START', '+CPIN: READY', 'SMS DONE'], null), 1);
  t.is(reboots(['+CPIN: READY', 'SMS Ready'], '+CMGF'), 1);
  t.is(reboots(['+CPIN: READY', 'SMS Ready'], '+CFUN'), 0);
  t.is(reboots(['+CPIN: READY', 'SMS Ready'], '+CPIN'), 0);
  t.is(reboots(['SMS Ready'], null), 0);
});

test('reader: the prompt counts only for a command with a payload', (t) => {
  const events: AtEvent[] = [];
  new AtReader({ inFlight: () => csq, recentPrefix: () => null }).prompt((event) => events.push(event));
  new AtReader({ inFlight: () => ({ ...csq, command: 'AT+CMGS=1', payload: '0000' }), recentPrefix: () => null }).prompt(
    (event) => events.push(event),
  );
  t.deepEqual(events, [{ type: 'unclaimed', line: '> ', reason: 'prompt' }, { type: 'prompt' }]);
});

// Everything a modem might print, noise included, so that chunk boundaries
// land inside CR LF pairs, inside "> ", inside UTF-8 sequences and inside
// two-line URCs.
const fragments = [
  '\r\n', '\r', '\n', '\r\r\n', 'OK', 'ERROR', '+CMS ERROR: 500', '+CME ERROR: SIM busy', 'AT+CSQ', '+CSQ: 20,99',
  '+CREG: 1', '+CREG: 0,1', 'RING', 'RDY', '+CPIN: READY', 'SMS Ready', '+CMTI: "SM",4', '+CMT: ,24', '0791AB12',
  '+CDS: 25', '> ', '>', ' ', '中国', '\x00', '\xff', '\x1a', '+CTZV: 32',
];

function tokensAndEvents(bytes: Buffer, cuts: number[], inFlight: CommandContext | null): unknown[] {
  const out: unknown[] = [];
  const splitter = new AtLineSplitter();
  const reader = new AtReader({ inFlight: () => inFlight, recentPrefix: () => inFlight?.prefix ?? null });
  const sink = (event: AtEvent) => out.push(event);
  let start = 0;
  for (const cut of [...cuts, bytes.length]) {
    splitter.push(bytes.subarray(start, cut), (token) => {
      if (token.kind === 'prompt') reader.prompt(sink);
      else reader.line(token.text, sink);
    });
    start = cut;
  }
  out.push({ garbage: splitter.garbageLines, noisy: splitter.noisyLines });
  return out;
}

test('property: any split of the same bytes into chunks gives the same lines, URCs and counts', (t) => {
  const contexts: Array<CommandContext | null> = [
    null,
    csq,
    creg,
    { command: 'AT+CMGS=9', prefix: '+CMGS', exclusive: true, payload: '0791AB12' },
  ];
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.constantFrom(...fragments), fc.uint8Array({ maxLength: 4 }).map((a) => Buffer.from(a).toString('latin1'))), {
        maxLength: 40,
      }),
      fc.array(fc.nat(), { maxLength: 20 }),
      fc.constantFrom(...contexts),
      (parts, rawCuts, inFlight) => {
        const bytes = Buffer.concat(parts.map((part) => (/[^\x00-\xff]/.test(part) ? Buffer.from(part, 'utf8') : Buffer.from(part, 'latin1'))));
        const cuts = [...new Set(rawCuts.map((n) => (bytes.length === 0 ? 0 : n % (bytes.length + 1))))].sort((a, b) => a - b);
        const whole = tokensAndEvents(bytes, [], inFlight);
        const chunked = tokensAndEvents(bytes, cuts, inFlight);
        const byteByByte = tokensAndEvents(bytes, [...Array(bytes.length).keys()], inFlight);
        t.deepEqual(chunked, whole);
        t.deepEqual(byteByByte, whole);
      },
    ),
    { numRuns: 500 },
  );
});
