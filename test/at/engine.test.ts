import test from 'ava';
import { createRequire } from 'node:module';
import type { MockBindingInterface } from '@serialport/binding-mock' with { 'resolution-mode': 'require' };
import { SerialPortStream } from '@serialport/stream';
import {
  AtClosedError,
  AtCmeError,
  AtCmsError,
  AtEngine,
  AtError,
  AtModemRebootedError,
  AtTimeoutError,
  classifyCmsError,
  type AtEngineOptions,
  type AtUrc,
} from '../../src/modem/at/index.js';
import { VirtualTime } from '../helpers/virtual-time.js';
import { closeStream, openScripted, ScriptedModem } from './scripted-modem.js';

// The mock binding's ESM entry ships no type declarations; load its CommonJS one, which does.
const { MockBinding } = createRequire(import.meta.url)('@serialport/binding-mock') as { MockBinding: MockBindingInterface };

/**
 * The engine on a scripted modem, both on one VirtualTime: time limits and
 * scripted delays fire only when the link is idle (time.run, time.settle), so
 * no answer can lose a race against a time limit on a busy machine.
 */
async function setUp(modem: ScriptedModem, options: AtEngineOptions = {}) {
  const time = new VirtualTime();
  modem.timers = time;
  const stream = await openScripted(modem);
  const engine = new AtEngine(stream, { timeoutMs: 1000, resyncQuietMs: 50, timers: time, ...options });
  const urcs: AtUrc[] = [];
  const reboots: string[] = [];
  engine.on('urc', (urc) => urcs.push(urc));
  engine.on('reboot', (line) => reboots.push(line));
  return { stream, engine, urcs, reboots, time };
}

test('an OK answer carries its information lines, without the echo (echo on)', async (t) => {
  const modem = new ScriptedModem().on('AT+CSQ', (m) => m.send('\r\n+CSQ: 20,99\r\n\r\nOK\r\n'));
  const { engine, stream, time } = await setUp(modem);
  const response = await time.run(engine.command('AT+CSQ'), 'command');
  t.deepEqual(response, { lines: ['+CSQ: 20,99'], final: 'OK' });
  t.true(modem.writtenText().startsWith('AT+CSQ\r'));
  await closeStream(stream);
});

test('echo off after ATE0, and an answer without a prefix (ATI, AT+CGSN) is collected whole', async (t) => {
  const modem = new ScriptedModem()
    .on('AT+CGSN', (m) => m.send('\r\n867584030123456\r\n\r\nOK\r\n'))
    .on('ATI', (m) => m.send('\r\nManufacturer: SIMCOM INCORPORATED\r\nModel: SIMCOM_SIM7600G-H\r\n+GCAP: +CGSM\r\n\r\nOK\r\n'));
  const { engine, stream, time } = await setUp(modem);
  t.deepEqual((await time.run(engine.command('ATE0'), 'command')).lines, []);
  t.false(modem.echo);
  t.deepEqual((await time.run(engine.command('AT+CGSN'), 'command')).lines, ['867584030123456']);
  t.deepEqual((await time.run(engine.command('ATI'), 'command')).lines, [
    'Manufacturer: SIMCOM INCORPORATED',
    'Model: SIMCOM_SIM7600G-H',
    '+GCAP: +CGSM',
  ]);
  await closeStream(stream);
});

test('ERROR rejects with AtError carrying the command and the final line', async (t) => {
  const modem = new ScriptedModem();
  const { engine, stream, time } = await setUp(modem);
  const error = await t.throwsAsync(time.run(engine.command('AT+NOSUCH'), 'command'), { instanceOf: AtError });
  t.is(error.command, 'AT+NOSUCH');
  t.is(error.finalLine, 'ERROR');
  t.true(error.written);
  await closeStream(stream);
});

test('+CME ERROR numeric (CMEE=1) and verbose (CMEE=2) map to the same code', async (t) => {
  const modem = new ScriptedModem()
    .on('AT+CPIN?', (m) => m.send('\r\n+CME ERROR: 10\r\n'))
    .on('AT+CIMI', (m) => m.send('\r\n+CME ERROR: SIM not inserted\r\n'));
  const { engine, stream, time } = await setUp(modem);
  const numeric = await t.throwsAsync(time.run(engine.command('AT+CPIN?'), 'command'), { instanceOf: AtCmeError });
  t.is(numeric.code, 10);
  t.is(numeric.text, '10');
  const verbose = await t.throwsAsync(time.run(engine.command('AT+CIMI'), 'command'), { instanceOf: AtCmeError });
  t.is(verbose.code, 10);
  t.is(verbose.text, 'SIM not inserted');
  await closeStream(stream);
});

test('+CMS ERROR numeric and verbose, with an unknown verbose text giving code null', async (t) => {
  const modem = new ScriptedModem()
    .on('AT+CMGR=1', (m) => m.send('\r\n+CMS ERROR: 321\r\n'))
    .on('AT+CMGR=2', (m) => m.send('\r\n+CMS ERROR: SIM not inserted\r\n'))
    .on('AT+CMGR=3', (m) => m.send('\r\n+CMS ERROR: something odd happened\r\n'));
  const { engine, stream, time } = await setUp(modem);
  const numeric = await t.throwsAsync(time.run(engine.command('AT+CMGR=1'), 'command'), { instanceOf: AtCmsError });
  t.is(numeric.code, 321);
  const verbose = await t.throwsAsync(time.run(engine.command('AT+CMGR=2'), 'command'), { instanceOf: AtCmsError });
  t.is(verbose.code, 310);
  t.is(classifyCmsError(verbose.code), 'retryable');
  const unknown = await t.throwsAsync(time.run(engine.command('AT+CMGR=3'), 'command'), { instanceOf: AtCmsError });
  t.is(unknown.code, null);
  t.is(unknown.text, 'something odd happened');
  await closeStream(stream);
});

test('URCs in the middle of a multi-line response go to listeners, not into the answer', async (t) => {
  const modem = new ScriptedModem().on('AT+CMGL=4', (m) =>
    m.send(
      '\r\n+CMGL: 1,1,,23\r\n0791683108200505F0040D91683196032930F0000012203231023423044F79D805\r\n' +
        '\r\n+CMTI: "SM",7\r\n' +
        '+CMGL: 2,1,,23\r\n\r\nRING\r\n\r\n0791683108200505F0040D91683196032930F0000012203231023423044F79D806\r\n' +
        '\r\nOK\r\n',
    ),
  );
  const { engine, stream, urcs, time } = await setUp(modem);
  const response = await time.run(engine.command('AT+CMGL=4'), 'command');
  t.deepEqual(response.lines, [
    '+CMGL: 1,1,,23',
    '0791683108200505F0040D91683196032930F0000012203231023423044F79D805',
    '+CMGL: 2,1,,23',
    '0791683108200505F0040D91683196032930F0000012203231023423044F79D806',
  ]);
  t.deepEqual(
    urcs.map((u) => [u.name, u.line]),
    [
      ['+CMTI', '+CMTI: "SM",7'],
      ['RING', 'RING'],
    ],
  );
  await closeStream(stream);
});

test('+CMT and +CDS are two-line URCs delivered with their PDU, idle or mid-command', async (t) => {
  const cmtPdu = '07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07';
  const cdsPdu = '07911326040000F006330B911346610089F6208062917314082080629173140800';
  const modem = new ScriptedModem().on('AT+CSQ', (m) =>
    m.send(`\r\n+CMT: ,24\r\n${cmtPdu}\r\n+CSQ: 18,99\r\n\r\nOK\r\n`),
  );
  const { engine, stream, urcs, time } = await setUp(modem);
  modem.send(`\r\n+CDS: 25\r\n${cdsPdu}\r\n`);
  await time.settle();
  const response = await time.run(engine.command('AT+CSQ'), 'command');
  t.deepEqual(response.lines, ['+CSQ: 18,99']);
  t.deepEqual(urcs, [
    { name: '+CDS', line: '+CDS: 25', pdu: cdsPdu },
    { name: '+CMT', line: '+CMT: ,24', pdu: cmtPdu },
  ]);
  await closeStream(stream);
});

test('a +CREG URC during another command is a URC; the same prefix answering AT+CREG? is the answer', async (t) => {
  const modem = new ScriptedModem()
    .on('AT+CSQ', (m) => m.send('\r\n+CREG: 1\r\n+CSQ: 25,99\r\n\r\nOK\r\n'))
    .on('AT+CREG?', (m) => m.send('\r\n+CREG: 0,1\r\n\r\nOK\r\n'));
  const { engine, stream, urcs, time } = await setUp(modem);
  t.deepEqual((await time.run(engine.command('AT+CSQ'), 'command')).lines, ['+CSQ: 25,99']);
  t.deepEqual((await time.run(engine.command('AT+CREG?'), 'command')).lines, ['+CREG: 0,1']);
  t.deepEqual(urcs, [{ name: '+CREG', line: '+CREG: 1' }]);
  await closeStream(stream);
});

test('expectPrefix keeps only matching lines; the others are counted as unclaimed', async (t) => {
  const modem = new ScriptedModem().on('AT+CSQ', (m) => m.send('\r\nhello\r\n+CSQ: 25,99\r\n\r\nOK\r\n'));
  const { engine, stream, time } = await setUp(modem);
  t.deepEqual((await time.run(engine.command('AT+CSQ', { expectPrefix: '+CSQ' }), 'command')).lines, ['+CSQ: 25,99']);
  t.is(engine.stats().unclaimedLines, 1);
  await closeStream(stream);
});

for (const echo of [true, false]) {
  test(`sendPdu: prompt, PDU + Ctrl-Z, +CMGS: 12 (echo ${echo ? 'on' : 'off'})`, async (t) => {
    const pdu = '0011000B916407281553F80000AA0AE8329BFD4697D9EC37';
    const modem = new ScriptedModem().on(/^AT\+CMGS=\d+$/, (m) =>
      m.prompt(() => m.send('\r\n+CMGS: 12\r\n\r\nOK\r\n')),
    );
    modem.echo = echo;
    const { engine, stream, time } = await setUp(modem);
    const response = await time.run(engine.sendPdu(23, pdu), 'sendPdu');
    t.deepEqual(response, { lines: ['+CMGS: 12'], final: 'OK' });
    t.deepEqual(modem.commands, ['AT+CMGS=23']);
    t.deepEqual(modem.payloads, [pdu]);
    t.is(modem.writtenText(), `AT+CMGS=23\r${pdu}\x1a`);
    await closeStream(stream);
  });
}

test('sendPdu refuses a length that does not match the PDU, writing nothing', async (t) => {
  const modem = new ScriptedModem();
  const { engine, stream, time } = await setUp(modem);
  const error = await t.throwsAsync(time.run(engine.sendPdu(22, '0011000B916407281553F80000AA0AE8329BFD4697D9EC37'), 'sendPdu'), {
    instanceOf: AtError,
  });
  t.false(error.written);
  const odd = await t.throwsAsync(time.run(engine.sendPdu(1, '0011Z'), 'sendPdu'), { instanceOf: AtError });
  t.false(odd.written);
  await time.settle();
  t.is(modem.written.length, 0);
  await closeStream(stream);
});

test('a +CMS ERROR instead of the prompt rejects with written = false (the PDU never left)', async (t) => {
  const modem = new ScriptedModem().on(/^AT\+CMGS=/, (m) => m.send('\r\n+CMS ERROR: 330\r\n'));
  const { engine, stream, time } = await setUp(modem);
  const error = await t.throwsAsync(time.run(engine.sendPdu(1, '0000'), 'sendPdu'), { instanceOf: AtCmsError });
  t.is(error.code, 330);
  t.false(error.written);
  t.deepEqual(modem.payloads, []);
  await closeStream(stream);
});

test('a +CMS ERROR after the PDU carries the network cause, written = true', async (t) => {
  const modem = new ScriptedModem().on(/^AT\+CMGS=/, (m) => m.prompt(() => m.send('\r\n+CMS ERROR: 42\r\n')));
  const { engine, stream, time } = await setUp(modem);
  const error = await t.throwsAsync(time.run(engine.sendPdu(1, '0000'), 'sendPdu'), { instanceOf: AtCmsError });
  t.is(error.code, 42);
  t.true(error.written);
  await closeStream(stream);
});

test('timeout, then a late answer of the timed-out command is not taken for the next command', async (t) => {
  let late: (() => void) | undefined;
  const modem = new ScriptedModem()
    .on('AT+COPS?', (m) => {
      late = () => m.send('\r\n+COPS: 0,0,"CHINA MOBILE",7\r\n\r\nOK\r\n');
    })
    .on('AT+CSQ', (m) => m.send('\r\n+CSQ: 11,99\r\n\r\nOK\r\n'));
  modem.echo = false;
  const { engine, stream, time } = await setUp(modem, { timeoutMs: 150 });
  const error = await t.throwsAsync(time.run(engine.command('AT+COPS?'), 'command'), { instanceOf: AtTimeoutError });
  t.true(error.written);
  const next = engine.command('AT+CSQ');
  late!();
  t.deepEqual((await time.run(next, 'AT+CSQ')).lines, ['+CSQ: 11,99']);
  t.deepEqual(modem.commands, ['AT+COPS?', 'AT', 'AT+CSQ']);
  t.true(engine.stats().strayFinals >= 1);
  await closeStream(stream);
});

test('a late answer that arrives right after the resync AT costs one more round, never a wrong answer', async (t) => {
  let late: (() => void) | undefined;
  let probes = 0;
  const modem = new ScriptedModem()
    .on('AT+COPS?', (m) => {
      late = () => m.send('\r\n+COPS: 0\r\n\r\nOK\r\n');
    })
    .on('AT', (m) => {
      probes++;
      // The worst moment: the late OK lands just before the probe's own OK.
      if (probes === 1) late!();
      m.later(10, () => m.send('\r\nOK\r\n'));
    })
    .on('AT+CSQ', (m) => m.send('\r\n+CSQ: 11,99\r\n\r\nOK\r\n'));
  modem.echo = false;
  const { engine, stream, time } = await setUp(modem, { timeoutMs: 150 });
  await t.throwsAsync(time.run(engine.command('AT+COPS?'), 'command'), { instanceOf: AtTimeoutError });
  t.deepEqual((await time.run(engine.command('AT+CSQ'), 'command')).lines, ['+CSQ: 11,99']);
  t.is(probes, 2);
  await closeStream(stream);
});

test('a silent modem: the timed-out command, then the next one is rejected unsent', async (t) => {
  const modem = new ScriptedModem().on(/.*/, () => {});
  const { engine, stream, time } = await setUp(modem, { timeoutMs: 80 });
  const first = await t.throwsAsync(time.run(engine.command('AT+CSQ'), 'command'), { instanceOf: AtTimeoutError });
  t.true(first.written);
  const second = await t.throwsAsync(time.run(engine.command('AT+CREG?'), 'command'), { instanceOf: AtTimeoutError });
  t.false(second.written);
  t.false(modem.commands.includes('AT+CREG?'));
  await closeStream(stream);
});

test('a prompt that never comes times out and ESC is written to leave PDU input', async (t) => {
  const modem = new ScriptedModem().on(/^AT\+CMGS=/, () => {});
  const { engine, stream, time } = await setUp(modem, { promptTimeoutMs: 80 });
  const error = await t.throwsAsync(time.run(engine.sendPdu(1, '0000'), 'sendPdu'), { instanceOf: AtTimeoutError });
  t.false(error.written);
  await time.settle();
  t.true(modem.writtenText().endsWith('\x1b'));
  await closeStream(stream);
});

test('a modem left in PDU input (it missed the Ctrl-Z) swallows the resync AT: ESC brings it back, and the queue carries on', async (t) => {
  const modem = new ScriptedModem()
    .on(/^AT\+CMGS=/, (m) => m.prompt(() => m.swallowInput()))
    .on('AT+CSQ', (m) => m.send('\r\n+CSQ: 20,99\r\n\r\nOK\r\n'));
  modem.echo = false;
  const { engine, stream, time } = await setUp(modem, { timeoutMs: 150 });
  const sent = await t.throwsAsync(time.run(engine.sendPdu(1, '0000'), 'sendPdu'), { instanceOf: AtTimeoutError });
  t.true(sent.written, 'the PDU left: the send may or may not have happened');
  t.deepEqual((await time.run(engine.command('AT+CSQ'), 'command')).lines, ['+CSQ: 20,99']);
  const text = modem.writtenText();
  t.true(text.indexOf('\x1b') > text.lastIndexOf('\x1a'), 'ESC after the PDU');
  t.deepEqual(modem.commands.slice(-2), ['AT', 'AT+CSQ'], 'the probe after ESC answered, then the queued command went');
  await closeStream(stream);
});

test('garbage bytes are dropped and counted, and the engine carries on', async (t) => {
  const modem = new ScriptedModem().on('AT+CSQ', (m) => {
    m.send(Buffer.from([0x00, 0xff, 0xfe, 0x0d, 0x0a, 0x80, 0x00]));
    m.send('\r\n+CSQ: 9,99\r\n');
    m.send(Buffer.from([0xff, 0x00, 0x4f, 0x4b, 0x0d, 0x0a]));
  });
  const { engine, stream, urcs, time } = await setUp(modem);
  modem.send(Buffer.from([0x00, 0x00, 0xff, 0x13, 0x0d, 0x0a, 0xff]));
  await time.settle();
  t.deepEqual((await time.run(engine.command('AT+CSQ'), 'command')).lines, ['+CSQ: 9,99']);
  t.deepEqual(urcs, []);
  const stats = engine.stats();
  // All-noise lines: "\0\0\xFF\x13", "\0\xFF\xFE", "\x80\0".
  t.is(stats.garbageLines, 3);
  // Text kept after noise removed: "\xFF" + echo "AT+CSQ", and "\xFF\0OK".
  t.is(stats.noisyLines, 2);
  t.deepEqual((await time.run(engine.command('AT'), 'command')).lines, []);
  await closeStream(stream);
});

test('a reboot mid-command rejects it with AtModemRebootedError, emits reboot, and the queue carries on', async (t) => {
  let booted = false;
  const modem = new ScriptedModem()
    .on('AT+CSQ', (m) => {
      booted = true;
      m.send('\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\nSMS DONE\r\n');
    })
    .on('AT+CREG?', (m) => m.send(booted ? '\r\n+CREG: 0,2\r\n\r\nOK\r\n' : '\r\nERROR\r\n'));
  modem.echo = false;
  const { engine, stream, reboots, urcs, time } = await setUp(modem);
  const [first, second] = await Promise.allSettled([time.run(engine.command('AT+CSQ'), 'command'), time.run(engine.command('AT+CREG?'), 'command')]);
  t.is(first.status, 'rejected');
  t.true((first as PromiseRejectedResult).reason instanceof AtModemRebootedError);
  t.true((first as PromiseRejectedResult).reason.written);
  t.deepEqual(second, { status: 'fulfilled', value: { lines: ['+CREG: 0,2'], final: 'OK' } });
  t.deepEqual(reboots, ['RDY']); // one boot, one event, though RDY, +CPIN and SMS DONE all arrived
  t.deepEqual(
    urcs.map((u) => u.name),
    ['RDY', '+CPIN', 'SMS DONE'],
  );
  await closeStream(stream);
});

test('+CPIN: READY then SMS Ready without a banner is a reboot, but not right after AT+CFUN=1', async (t) => {
  const modem = new ScriptedModem()
    .on('AT+CFUN=1', (m) => m.send('\r\nOK\r\n\r\n+CPIN: READY\r\n\r\nSMS Ready\r\n'))
    .on('AT+CMGF=0', (m) => m.send('\r\n+CPIN: READY\r\n\r\nSMS Ready\r\n'));
  modem.echo = false;
  const { engine, stream, reboots, time } = await setUp(modem);
  await time.run(engine.command('AT+CFUN=1'), 'command');
  await time.settle();
  t.deepEqual(reboots, []);
  await t.throwsAsync(time.run(engine.command('AT+CMGF=0'), 'command'), { instanceOf: AtModemRebootedError });
  t.deepEqual(reboots, ['SMS Ready']);
  await closeStream(stream);
});

test('a stream that closes rejects the command in flight and the queued ones with AtClosedError', async (t) => {
  const modem = new ScriptedModem().on('AT+COPS=?', () => {});
  const { engine, stream, time } = await setUp(modem);
  const inFlight = engine.command('AT+COPS=?');
  const queued = engine.command('AT+CSQ');
  await time.settle();
  await closeStream(stream);
  const a = await t.throwsAsync(time.run(inFlight, 'AT+COPS=?'), { instanceOf: AtClosedError });
  t.true(a.written);
  const b = await t.throwsAsync(time.run(queued, 'AT+CSQ'), { instanceOf: AtClosedError });
  t.false(b.written);
  t.true(engine.closed);
  await t.throwsAsync(time.run(engine.command('AT'), 'command'), { instanceOf: AtClosedError });
});

test('concurrent callers are served first in, first out, one command on the wire at a time', async (t) => {
  const modem = new ScriptedModem().on(/^AT\+TEST=(\d+)$/, (m, cmd) => {
    const n = cmd.split('=')[1]!;
    // The answer comes later, in pieces: nothing else may be written meanwhile.
    m.later(5, () => m.send(`\r\n+TEST: ${n}\r\n`));
    m.later(10, () => m.send('\r\nOK\r\n'));
  });
  modem.echo = false;
  const { engine, stream, time } = await setUp(modem);
  const order: number[] = [];
  const all = Promise.all(
    [1, 2, 3, 4, 5].map((n) =>
      engine.command(`AT+TEST=${n}`).then((response) => {
        order.push(n);
        // At the moment each answer completes, the modem has seen no later command yet.
        t.is(modem.commands.at(-1), `AT+TEST=${n}`);
        return response.lines;
      }),
    ),
  );
  const results = await time.run(all, 'the five commands');
  t.deepEqual(results, [['+TEST: 1'], ['+TEST: 2'], ['+TEST: 3'], ['+TEST: 4'], ['+TEST: 5']]);
  t.deepEqual(order, [1, 2, 3, 4, 5]);
  await closeStream(stream);
});

test('the logger sees what is written and what is read', async (t) => {
  const log: string[] = [];
  const modem = new ScriptedModem().on(/^AT\+CMGS=/, (m) => m.prompt(() => m.send('\r\n+CMGS: 3\r\n\r\nOK\r\n')));
  modem.echo = false;
  const { engine, stream, time } = await setUp(modem, { logger: (line, dir) => log.push(`${dir} ${line}`) });
  await time.run(engine.sendPdu(1, '0000'), 'sendPdu');
  t.deepEqual(log, ['tx AT+CMGS=1', 'rx > ', 'tx 0000<Ctrl-Z>', 'rx +CMGS: 3', 'rx OK']);
  await closeStream(stream);
});

test('commands with CR or LF, or not starting with AT, are refused before they reach the wire', async (t) => {
  const modem = new ScriptedModem();
  const { engine, stream, time } = await setUp(modem);
  await t.throwsAsync(time.run(engine.command('AT\rATZ'), 'command'), { instanceOf: AtError });
  await t.throwsAsync(time.run(engine.command('CSQ'), 'command'), { instanceOf: AtError });
  await t.throwsAsync(time.run(engine.commandWithPrompt('AT+CMGS=1', '00\x1a'), 'commandWithPrompt'), { instanceOf: AtError });
  await time.settle();
  t.is(modem.written.length, 0);
  await closeStream(stream);
});

test('works over the official mock binding too: URCs pushed with emitData', async (t) => {
  MockBinding.createPort('/dev/mock-at', { echo: false, record: true });
  const stream = new SerialPortStream({ binding: MockBinding, path: '/dev/mock-at', baudRate: 115200 });
  await new Promise<void>((resolve) => stream.once('open', () => resolve()));
  const time = new VirtualTime();
  const engine = new AtEngine(stream, { timeoutMs: 1000, timers: time });
  const urcs: AtUrc[] = [];
  engine.on('urc', (urc) => urcs.push(urc));
  const answer = engine.command('AT+CSQ');
  await time.settle();
  stream.port!.emitData('\r\n+CMTI: "SM",3\r\n\r\n+CSQ: 31,99\r\n\r\nOK\r\n');
  t.deepEqual((await time.run(answer, 'AT+CSQ')).lines, ['+CSQ: 31,99']);
  t.deepEqual(urcs, [{ name: '+CMTI', line: '+CMTI: "SM",3' }]);
  t.is(stream.port!.recording.toString(), 'AT+CSQ\r');
  await closeStream(stream);
  MockBinding.reset();
});
