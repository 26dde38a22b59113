import test from 'ava';
import { spawnSync } from 'node:child_process';
import { SerialPort } from 'serialport';
import { encodeSubmit } from '../../src/modem/pdu/index.js';
import { SOCAT, testWithTools } from '../helpers/tools.js';
import { DEADLINE_MS } from '../helpers/wait.js';
import { linkExists, MAIN, startSimulator } from './pty-process.js';

const ptyTest = testWithTools([SOCAT], { serial: true });

/** Opens the tty with the real serialport binding, as the box does with modem.device = PATH. */
async function openTty(path: string) {
  const port = new SerialPort({ path, baudRate: 115200, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(error) : resolve())));
  let received = '';
  let arrived: (() => void) | null = null;
  port.on('data', (chunk: Buffer) => {
    received += chunk.toString('latin1');
    arrived?.();
  });
  return {
    write: (text: string) => port.write(Buffer.from(text, 'latin1')),
    /** Resolves with everything up to `needle` once it has come, checked on each chunk received. */
    async until(needle: string, timeoutMs = DEADLINE_MS): Promise<string> {
      const deadline = Date.now() + timeoutMs;
      while (!received.includes(needle)) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`timed out waiting for ${JSON.stringify(needle)}; got ${JSON.stringify(received)}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          arrived = () => {
            clearTimeout(timer);
            arrived = null;
            resolve();
          };
        });
      }
      const end = received.indexOf(needle) + needle.length;
      const text = received.slice(0, end);
      received = received.slice(end);
      return text;
    },
    close: () => new Promise<void>((resolve, reject) => port.close((error) => (error ? reject(error) : resolve()))),
  };
}

ptyTest('simulate-modem: an AT client on the tty sends, receives, and reconnects', async (t) => {
  const sim = await startSimulator(['--send-ms', '20']);
  t.teardown(() => sim.stop());
  const first = await openTty(sim.link);
  first.write('AT\r');
  t.is(await first.until('OK\r\n'), 'AT\r\r\nOK\r\n');
  first.write('ATE0\r');
  await first.until('OK\r\n');
  const [pdu] = encodeSubmit({ to: '+8613800138000', text: '您好 pty' });
  first.write(`AT+CMGS=${pdu!.tpduLength}\r`);
  await first.until('> ');
  first.write(pdu!.pdu + '\x1a');
  t.is(await first.until('OK\r\n'), '\r\n+CMGS: 0\r\n\r\nOK\r\n');
  t.deepEqual(await sim.waitForTransmitted(1), [{ to: '+8613800138000', text: '您好 pty', segments: 1 }]);
  await first.close();

  for (let round = 0; round < 3; round++) {
    const again = await openTty(sim.link);
    again.write('AT+CSQ\r');
    t.regex(await again.until('OK\r\n'), /\+CSQ: 20,99\r\n\r\nOK\r\n$/, `reconnect ${round + 1}`);
    if (round === 2) {
      await sim.control({ deliver: { from: '+8613900000000', text: 'T' } });
      t.is(await again.until('\r\n+CMTI: "SM",0\r\n'), '\r\n+CMTI: "SM",0\r\n');
      await sim.control({ fault: { kind: 'no-network' } });
      await sim.control({ signal: 3 });
      again.write('AT+CREG?\r');
      t.regex(await again.until('OK\r\n'), /\+CREG: 0,2\r\n/);
      await sim.control({ clear: true });
      again.write('AT+CSQ\r');
      t.regex(await again.until('OK\r\n'), /\+CSQ: 3,99\r\n/);
    }
    await again.close();
  }
  t.is(await sim.stop('SIGTERM'), 0);
  t.false(sim.linkLeftOnExit(), 'the link is removed on exit');
  t.notRegex(sim.stderr(), /unknown command|not JSON/);
});

ptyTest('simulate-modem as an EC25 on LTE without IMS, a SIM without its number; a call rings until AT+CHUP', async (t) => {
  const sim = await startSimulator(['--send-ms', '20', '--profile', 'ec25', '--network', 'lte-no-ims', '--no-own-number']);
  t.teardown(() => sim.stop());
  t.regex(sim.stderr(), /virtual ec25, lte-no-ims/);
  const tty = await openTty(sim.link);
  tty.write('ATE0;+CMEE=1\r');
  await tty.until('OK\r\n');
  tty.write('AT+QNWINFO;+CNUM;+CIREG?\r');
  t.is(await tty.until('OK\r\n'), '\r\n+QNWINFO: "FDD LTE","46000","LTE BAND 3",1650\r\n\r\n+CIREG: 0,0\r\n\r\nOK\r\n');
  const [pdu] = encodeSubmit({ to: '+8613800138000', text: 'no ims' });
  tty.write(`AT+CMGS=${pdu!.tpduLength}\r`);
  await tty.until('> ');
  tty.write(pdu!.pdu + '\x1a');
  t.is(await tty.until('\r\n+CMS ERROR: 500\r\n'), '\r\n+CMS ERROR: 500\r\n');

  // With IMS up the SIM can send, and be called (without it, no voice path either).
  await sim.control({ network: 'lte-ims' });
  tty.write(`AT+CMGS=${pdu!.tpduLength}\r`);
  await tty.until('> ');
  tty.write(pdu!.pdu + '\x1a');
  t.regex(await tty.until('OK\r\n'), /\+CMGS: \d+\r\n\r\nOK\r\n$/);

  tty.write('AT+CLIP=1\r');
  await tty.until('OK\r\n');
  await sim.control({ call: { from: '+8613800138000' } });
  t.is(await tty.until('+CLIP: "+8613800138000",145,"",0,"",0\r\n'), '\r\nRING\r\n\r\n+CLIP: "+8613800138000",145,"",0,"",0\r\n');
  tty.write('AT+CHUP\r');
  // On a slow machine another RING may come first (every 5 s of real time here).
  t.regex(await tty.until('OK\r\n'), /\r\nOK\r\n$/);
  await sim.waitForStderr(/call \{"from":"\+8613800138000".*"hung_up_by":"modem"/, 'the call to end');
  await sim.control({ calls: true });
  t.regex(sim.stderr(), /simulate-modem: calls \[\{"from":"\+8613800138000","started_at":"[^"]+","hung_up_at":"[^"]+","hung_up_by":"modem","rings":\d+\}\]/);

  await tty.close();
});

ptyTest('simulate-modem exits cleanly when stdin ends, and on SIGINT', async (t) => {
  const sim = await startSimulator();
  sim.child.stdin.end();
  t.is(await sim.exited, 0);
  t.false(sim.linkLeftOnExit());
  const other = await startSimulator();
  t.true(linkExists(other.link));
  t.is(await other.stop('SIGINT'), 0);
  t.false(other.linkLeftOnExit());
});

ptyTest('simulate-modem reports bad stdin lines on stderr and keeps running', async (t) => {
  const sim = await startSimulator();
  t.teardown(() => sim.stop());
  sim.send({ fault: { kind: 'meltdown' } });
  sim.child.stdin.write('not json\n');
  // A good line after the bad ones: once it is confirmed, the bad ones have been read and answered.
  await sim.control({ signal: 10 });
  t.regex(sim.stderr(), /fault\.kind must be one of/);
  t.regex(sim.stderr(), /not JSON/);
  t.is(sim.child.exitCode, null);
  t.deepEqual(sim.transmitted, []);
});

test('simulate-modem explains a missing socat and bad arguments', (t) => {
  const noSocat = spawnSync(process.execPath, [MAIN, '--link', '/tmp/never'], { env: { PATH: '/nonexistent' }, encoding: 'utf8' });
  t.is(noSocat.status, 1);
  t.regex(noSocat.stderr, /apt-get install socat/);
  t.is(noSocat.stdout, '');
  const noLink = spawnSync(process.execPath, [MAIN], { encoding: 'utf8' });
  t.is(noLink.status, 2);
  t.regex(noLink.stderr, /--link PATH is required/);
  const badNumber = spawnSync(process.execPath, [MAIN, '--link', '/tmp/x', '--send-ms', 'fast'], { encoding: 'utf8' });
  t.is(badNumber.status, 2);
  t.regex(badNumber.stderr, /--send-ms must be a whole number/);
});
