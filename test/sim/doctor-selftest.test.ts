import test from 'ava';
import { createSimulatorBinding } from '../../hardware/simulator/binding.js';
import { VirtualModem } from '../../hardware/simulator/virtual-modem.js';
import { runDoctor } from '../../src/modem/doctor.js';
import { ownNumberFromCnum as parseCnum } from '../../src/modem/doctor-selftest.js';
import { loadHat } from '../../src/modem/hats.js';
import { openSerialStream } from '../../src/modem/serial.js';

/** `smsbox doctor --selftest` over the virtual HAT; `echo` plays the network returning an SMS to the own number. */
async function doctorSelftest(opts: { echo: boolean; ownNumber?: string; timeoutMs?: number }) {
  const virtual = new VirtualModem({ sendMs: 5 });
  if (opts.echo) {
    virtual.on('transmitted', (sms: { to: string; text: string }) => {
      if (sms.to.endsWith('13800138000')) virtual.deliver({ from: '+8613800138000', text: sms.text });
    });
  }
  const binding = createSimulatorBinding(virtual);
  const lines: string[] = [];
  try {
    const findings = await runDoctor({
      openStream: () => openSerialStream({ path: '/dev/virtual0', baudRate: 115200, binding }),
      hat: loadHat('sim7600'),
      device: '/dev/virtual0',
      baud: 115200,
      out: (line) => lines.push(line),
      timeoutMs: 1000,
      firstAnswerMs: 1200,
      selftest: { ...(opts.ownNumber ? { ownNumber: opts.ownNumber } : {}), timeoutMs: opts.timeoutMs ?? 20_000, pollMs: 50 },
    });
    return { findings, text: lines.join('\n'), transmitted: virtual.transmitted };
  } finally {
    virtual.dispose();
  }
}

test('doctor --selftest: the SMS to the own number comes back: [ OK ] and exit 0', async (t) => {
  const { findings, text, transmitted } = await doctorSelftest({ echo: true, ownNumber: '+8613800138000' });
  t.true(findings.canSend);
  t.is(findings.selftest, 'ok');
  t.regex(text, /\[ OK \] 自检成功/);
  t.is(transmitted.length, 1);
  t.regex(transmitted[0]!.text, /^\[smsbox 自检\] [0-9a-f]{8}$/);
});

test('doctor --selftest: nothing comes back in time: [FAIL] with what to check', async (t) => {
  const { findings, text } = await doctorSelftest({ echo: false, ownNumber: '+8613800138000', timeoutMs: 500 });
  t.is(findings.selftest, 'failed');
  t.regex(text, /\[FAIL\] 自检失败/);
  t.regex(text, /VoLTE\/IMS/);
});

test('AT+CNUM answers: the number, or none', (t) => {
  t.is(parseCnum(['+CNUM: "","+8613800138000",145']), '+8613800138000');
  t.is(parseCnum(['+CNUM: "本机号码","13800138000",129,7,4']), '13800138000');
  t.is(parseCnum(['+CNUM: ,"+8613800138000",145']), '+8613800138000');
  t.is(parseCnum(['+CNUM: "","",129']), null);
  t.is(parseCnum([]), null);
});
