import test from 'ava';
import { SerialPortStream } from '@serialport/stream';
import { createSimulatorBinding, SimulatorBinding } from '../../hardware/simulator/binding.js';
import { VirtualModem } from '../../hardware/simulator/virtual-modem.js';
import { encodeSubmit } from '../../src/modem/pdu/index.js';
import { VirtualTime } from '../helpers/virtual-time.js';

/**
 * Opens a stream and collects what it reads, so a test can wait for text. The
 * modems of these tests run on `time`: a wait moves it only when the link is idle.
 */
async function openStream(time: VirtualTime, binding: ConstructorParameters<typeof SerialPortStream>[0]['binding'], path: string, baudRate = 115200) {
  const port = new SerialPortStream({ binding, path, baudRate, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((error) => (error ? reject(error) : resolve())));
  let received = '';
  port.on('data', (chunk: Buffer) => {
    received += chunk.toString('latin1');
  });
  return {
    port,
    write: (text: string) => port.write(Buffer.from(text, 'latin1')),
    /** Waits until the received text contains `needle`, then returns and forgets everything up to it. */
    async until(needle: string): Promise<string> {
      await time.until(() => received.includes(needle), `${JSON.stringify(needle)} (received so far: ${JSON.stringify(received)})`);
      const end = received.indexOf(needle) + needle.length;
      const text = received.slice(0, end);
      received = received.slice(end);
      return text;
    },
    received: () => received,
    close: () => new Promise<void>((resolve, reject) => port.close((error) => (error ? reject(error) : resolve()))),
  };
}

test('a SerialPortStream over the simulator binding talks to the virtual modem', async (t) => {
  const time = new VirtualTime();
  const modem = new VirtualModem({ sendMs: 5, clock: time, timers: time });
  const binding = createSimulatorBinding(modem);
  const stream = await openStream(time, binding, '/dev/virtual0');
  stream.write('AT\r');
  t.is(await stream.until('OK\r\n'), 'AT\r\r\nOK\r\n');
  stream.write('ATE0;+CMEE=2\r');
  await stream.until('OK\r\n');
  const [pdu] = encodeSubmit({ to: '+8613800138000', text: '你好' });
  stream.write(`AT+CMGS=${pdu!.tpduLength}\r`);
  t.is(await stream.until('> '), '\r\n> ');
  stream.write(pdu!.pdu + '\x1a');
  t.is(await stream.until('OK\r\n'), '\r\n+CMGS: 0\r\n\r\nOK\r\n');
  t.is(modem.transmitted[0]!.text, '你好');
  modem.deliver({ from: '+8613900000000', text: 'T' });
  t.is(await stream.until('\r\n+CMTI: "SM",0\r\n'), '\r\n+CMTI: "SM",0\r\n');
  await stream.close();
  modem.dispose();
});

test('close and reopen work; the port is locked while open; output while closed is lost', async (t) => {
  const time = new VirtualTime();
  const modem = new VirtualModem({ clock: time, timers: time });
  const binding = createSimulatorBinding(modem);
  const first = await openStream(time, binding, 'sim');
  await t.throwsAsync(openStream(time, binding, 'sim'), { message: /locked/ });
  first.write('ATE0\r');
  await first.until('OK\r\n');
  await first.close();
  modem.deliver({ from: '10086', text: 'while closed' });
  const second = await openStream(time, binding, 'sim');
  second.write('AT+CMGL=4\r');
  const listing = await second.until('OK\r\n');
  t.regex(listing, /^\r\n\+CMGL: 0,0,,\d+\r\n[0-9A-F]+\r\n\r\nOK\r\n$/, 'no stale +CMTI, the message waits in storage');
  await second.close();
  modem.dispose();
});

test('control lines and flush are accepted harmlessly', async (t) => {
  const time = new VirtualTime();
  const modem = new VirtualModem({ clock: time, timers: time });
  const binding = createSimulatorBinding(modem);
  const stream = await openStream(time, binding, 'sim');
  await new Promise<void>((resolve, reject) => stream.port.set({ dtr: false, rts: false }, (e) => (e ? reject(e) : resolve())));
  const status = await new Promise<unknown>((resolve, reject) => stream.port.get((e, s) => (e ? reject(e) : resolve(s))));
  t.deepEqual(status, { cts: true, dsr: false, dcd: false });
  await new Promise<void>((resolve, reject) => stream.port.flush((e) => (e ? reject(e) : resolve())));
  stream.write('AT\r');
  await stream.until('OK\r\n');
  t.pass();
  await stream.close();
  modem.dispose();
});

test('a client at the wrong baud rate gets only noise, as from a real UART', async (t) => {
  const time = new VirtualTime();
  const modem = new VirtualModem({ clock: time, timers: time });
  const binding = createSimulatorBinding(modem);
  const stream = await openStream(time, binding, 'sim', 9600);
  stream.write('AT\r');
  await time.advance(100);
  t.false(stream.received().includes('OK'));
  await new Promise<void>((resolve, reject) => stream.port.update({ baudRate: 115200 }, (e) => (e ? reject(e) : resolve())));
  stream.write('\rAT\r');
  await stream.until('OK\r\n');
  await stream.close();
  modem.dispose();
});

test('SimulatorBinding gives each path its own modem, reachable with modemFor', async (t) => {
  const time = new VirtualTime();
  SimulatorBinding.configure({ sendMs: 5, clock: time, timers: time });
  const stream = await openStream(time, SimulatorBinding, 'simulator');
  const modem = SimulatorBinding.modemFor('simulator');
  t.is(SimulatorBinding.modemFor('simulator'), modem);
  t.not(SimulatorBinding.modemFor('other'), modem);
  t.deepEqual((await SimulatorBinding.list()).map((p) => p.path).sort(), ['other', 'simulator']);
  modem.setSignal(7);
  stream.write('AT+CSQ\r');
  t.true((await stream.until('OK\r\n')).includes('+CSQ: 7,99'));
  await stream.close();
  SimulatorBinding.reset();
});
