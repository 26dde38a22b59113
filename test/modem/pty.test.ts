import { EventEmitter } from 'node:events';
import { systemClock } from '../../src/clock.js';
import { Modem, ModemSendError, type InboundPart } from '../../src/modem/modem.js';
import { NoPower } from '../../src/modem/power.js';
import { openSerialStream } from '../../src/modem/serial.js';
import { runDoctor } from '../../src/modem/doctor.js';
import { SOCAT, testWithTools } from '../helpers/tools.js';
import { waitFor } from '../helpers/wait.js';
import { startSimulator } from '../simulator/pty-process.js';
import { testHat } from './rig.js';

// The same Modem over a real tty: the platform's serialport binding on the slave of a
// pseudo-terminal whose master is `smsbox simulate-modem` in another process. Real
// processes and a real tty, so real timers: each wait ends on the expected event.
const ptyTest = testWithTools([SOCAT], { serial: true });

ptyTest('over a pseudo-terminal: start, multipart send, inbound, a +CMS fault, doctor', async (t) => {
  const sim = await startSimulator(['--send-ms', '20', '--boot-ms', '100', '--status-report-ms', '50']);
  t.teardown(() => sim.stop());
  const inbound = new EventEmitter<{ part: [InboundPart] }>();
  const modem = new Modem({
    openStream: () => openSerialStream({ path: sim.link, baudRate: 115200 }),
    hat: testHat(),
    power: new NoPower(),
    clock: systemClock,
    onInbound: async (part) => {
      inbound.emit('part', part);
    },
    pollIntervalMs: 200,
    commandTimeoutMs: 1000,
    resyncQuietMs: 50,
  });
  t.teardown(() => modem.stop({ powerDown: false }));
  await modem.start();
  t.is(modem.status().state, 'ready');

  const text = '【小店】您的包裹已发出，快递单号 SF1234567890，请注意查收。'.repeat(3);
  const { messageRefs } = await modem.send({ to: '+8613800138000', text });
  t.true(messageRefs.length > 1);
  const [printed] = (await sim.waitForTransmitted(1)) as { to: string; text: string; segments: number }[];
  t.is(printed!.text, text);
  t.is(printed!.segments, messageRefs.length);

  const arrived = waitFor<[InboundPart]>(inbound, 'part', () => true, { what: 'inbound over the tty' });
  await sim.control({ deliver: { from: '+8613900000000', text: '退订' } });
  const [part] = await arrived;
  t.is(part.text, '退订');

  await sim.control({ fault: { kind: 'cms-error', code: 330 } });
  const error = await t.throwsAsync(modem.send({ to: '13800138000', text: 'x' }), { instanceOf: ModemSendError });
  t.is(error!.code, 330);
  t.true(error!.retryable);

  await modem.stop({ powerDown: false });
  const lines: string[] = [];
  const findings = await runDoctor({
    openStream: () => openSerialStream({ path: sim.link, baudRate: 115200 }),
    hat: testHat(),
    device: sim.link,
    baud: 115200,
    out: (line) => lines.push(line),
  });
  t.true(findings.canSend, lines.join('\n'));
});
