import test from 'ava';
import { createSimulatorBinding } from '../../hardware/simulator/binding.js';
import { VirtualModem, type VirtualModemOptions } from '../../hardware/simulator/virtual-modem.js';
import { doctorCommand, runDoctor, type VirtualHatFactory } from '../../src/modem/doctor.js';
import { loadHat } from '../../src/modem/hats.js';
import { openSerialStream } from '../../src/modem/serial.js';
import { openScripted } from '../at/scripted-modem.js';
import { scriptedRig } from './scripted-rig.js';

async function doctorOn(options: VirtualModemOptions, prepare: (modem: VirtualModem) => void = () => {}, hatName = 'sim7600') {
  const virtual = new VirtualModem({ sendMs: 5, ...options });
  prepare(virtual);
  const binding = createSimulatorBinding(virtual);
  const lines: string[] = [];
  const findings = await runDoctor({
    openStream: () => openSerialStream({ path: '/dev/virtual0', baudRate: 115200, binding }),
    hat: loadHat(hatName),
    device: '/dev/virtual0',
    baud: 115200,
    out: (line) => lines.push(line),
    timeoutMs: 500,
    firstAnswerMs: 1200,
  });
  virtual.dispose();
  return { findings, text: lines.join('\n') };
}

test('a healthy modem: the good facts, can send', async (t) => {
  const { findings, text } = await doctorOn({});
  t.true(findings.canSend);
  t.is(findings.model, 'SIMCOM_SIM7600G-H');
  t.is(findings.operator, 'CHINA MOBILE');
  t.is(findings.csq, 20);
  t.regex(text, /\[ OK \] 可以发送短信 \/ The modem can send SMS/);
  t.regex(text, /IMEI 862636050000001/);
  t.notRegex(text, /FAIL/);
});

test('no reply at all: wiring, baud, serial console and Bluetooth advice', async (t) => {
  const { findings, text } = await doctorOn({}, (m) => m.inject({ kind: 'silence' }));
  t.false(findings.answered);
  t.false(findings.canSend);
  t.regex(text, /No answer from the modem/);
  t.regex(text, /console=serial0/);
  t.regex(text, /disable-bt/);
  t.regex(text, /baud/);
});

test('a USB modem: the doctor says it has no power control (USB); silence gets USB advice, not UART jumpers or a PWR key', async (t) => {
  const healthy = await doctorOn({}, () => {}, 'sim7600-usb');
  t.true(healthy.findings.canSend);
  t.regex(healthy.text, /此模块没有电源控制（USB）.* \/ This modem has no power control \(USB\)/);

  const { findings, text } = await doctorOn({}, (m) => m.inject({ kind: 'silence' }), 'ec25-usb');
  t.false(findings.answered);
  t.regex(text, /the by-id name ending in -if02-port0/);
  t.regex(text, /Unplug the modem's USB cable/);
  t.notRegex(text, /console=serial0|disable-bt|PWR–3V3|UART jumpers/);
});

test('a USB modem whose port cannot be opened: lsusb with its IDs, the by-id entry to use, the option driver', async (t) => {
  const lines: string[] = [];
  const findings = await runDoctor({
    openStream: () => Promise.reject(new Error('ENOENT')),
    hat: loadHat('sim7600-usb'),
    device: '/dev/serial/by-id/nothing',
    baud: 115200,
    out: (line) => lines.push(line),
  });
  const text = lines.join('\n');
  t.false(findings.answered);
  t.regex(text, /lsusb: it must list 1e0e:9001/);
  t.regex(text, /usb-SimTech__Incorporated_SimTech__Incorporated_\*-if02-port0/);
  t.regex(text, /modprobe option/);
  t.notRegex(text, /enable_uart/);
});

test('a wrong baud rate looks like silence (the virtual UART garbles both ways)', async (t) => {
  const virtual = new VirtualModem({ sendMs: 5 });
  const binding = createSimulatorBinding(virtual);
  const lines: string[] = [];
  const findings = await runDoctor({
    openStream: () => openSerialStream({ path: '/dev/virtual0', baudRate: 9600, binding }),
    hat: loadHat('sim7600'),
    device: '/dev/virtual0',
    baud: 9600,
    out: (line) => lines.push(line),
    timeoutMs: 300,
    firstAnswerMs: 800,
  });
  virtual.dispose();
  t.false(findings.answered);
  t.regex(lines.join('\n'), /9600/);
});

test('no SIM', async (t) => {
  const { findings, text } = await doctorOn({}, (m) => m.inject({ kind: 'no-sim' }));
  t.is(findings.sim, 'no-sim');
  t.false(findings.canSend);
  t.regex(text, /\[FAIL\] 没有检测到 SIM 卡 \/ No SIM card detected/);
});

test('not registered, then registration denied', async (t) => {
  const searching = await doctorOn({}, (m) => m.inject({ kind: 'no-network' }));
  t.is(searching.findings.registration, 'searching');
  t.false(searching.findings.canSend);
  t.regex(searching.text, /antenna/);
  const denied = await doctorOn({ registration: 'denied' });
  t.is(denied.findings.registration, 'denied');
  t.regex(denied.text, /denied registration/);
});

test('weak signal is a warning, not a failure', async (t) => {
  const { findings, text } = await doctorOn({ signal: 5 });
  t.true(findings.canSend);
  t.regex(text, /\[WARN\] 信号弱：CSQ 5（-103 dBm）/);
});

test('missing SMS service centre', async (t) => {
  const { findings, text } = await doctorOn({ smsc: '' });
  t.is(findings.smsc, null);
  t.false(findings.canSend);
  t.regex(text, /no SMS service centre/);
});

/** The virtual HAT as src/cli.ts hands it to the doctor (the driver never imports the simulator). */
const virtualHat: VirtualHatFactory = ({ fault }) => {
  const virtual = new VirtualModem({ sendMs: 10 });
  if (fault === 'no-sim') virtual.inject({ kind: 'no-sim' });
  else if (fault !== undefined) throw new Error(`must be no-sim; got "${fault}"`);
  return { binding: createSimulatorBinding(virtual), dispose: () => virtual.dispose() };
};

test('smsbox doctor --device simulator: exit 0, and 1 with an injected fault', async (t) => {
  const out: string[] = [];
  t.is(await doctorCommand(['--device', 'simulator'], (l) => out.push(l), { virtualHat }), 0);
  t.regex(out.join('\n'), /simulator/);
  const faulty: string[] = [];
  t.is(await doctorCommand(['--device', 'simulator', '--fault', 'no-sim'], (l) => faulty.push(l), { virtualHat }), 1);
  t.regex(faulty.join('\n'), /No SIM card/);
  const unknown: string[] = [];
  t.is(await doctorCommand(['--device', 'simulator', '--fault', 'meteor'], (l) => unknown.push(l), { virtualHat }), 2);
  t.regex(unknown.join('\n'), /--fault: must be no-sim; got "meteor"/);
  // Without a virtual HAT from the caller, the driver has none of its own.
  const none: string[] = [];
  t.is(await doctorCommand(['--device', 'simulator'], (l) => none.push(l)), 2);
  t.regex(none.join('\n'), /not available/);
});

test('smsbox doctor: usage errors and an unknown HAT list the known names', async (t) => {
  const out: string[] = [];
  t.is(await doctorCommand(['--hat', 'nokia3310'], (l) => out.push(l)), 2);
  t.regex(out.join('\n'), /sim7600/);
  t.regex(out.join('\n'), /ec25/);
  t.is(await doctorCommand(['--bogus'], () => {}), 2);
  t.is(await doctorCommand(['--device', '/dev/serial0', '--fault', 'no-sim'], () => {}), 2);
});

test('smsbox doctor on a device that does not exist: cannot open, exit 1', async (t) => {
  const out: string[] = [];
  t.is(await doctorCommand(['--device', '/dev/does-not-exist-smsbox'], (l) => out.push(l)), 1);
  t.regex(out.join('\n'), /Cannot open the serial port/);
});

test('doctor on LTE without IMS or SGs: each radio step reported, no SMS path, what to do, exit 1', async (t) => {
  const r = await scriptedRig({
    answers: {
      'AT+CREG?': ['+CREG: 0,0'],
      'AT+CPSI?': ['+CPSI: LTE,Online,460-11,0x5303,52467969,125,EUTRAN-BAND3,1650,5,5,-84,-693,-386,24'],
      'AT+CIREG?': ['+CIREG: 0,0'],
      'AT+CIMI': ['460110123456789'],
      'AT+CNUM': [],
    },
  });
  const lines: string[] = [];
  const findings = await runDoctor({
    openStream: () => openScripted(r.peer),
    hat: loadHat('sim7600'),
    device: '/dev/scripted',
    baud: 115200,
    out: (line) => lines.push(line),
    timeoutMs: 500,
    firstAnswerMs: 1200,
  });
  const text = lines.join('\n');
  t.is(findings.rat, 'lte');
  t.false(findings.imsRegistered);
  t.is(findings.smsPath, 'none');
  t.is(findings.imsi, '460110123456789');
  t.is(findings.ownNumber, null);
  t.false(findings.canSend);
  t.regex(text, /CS not-registered|CS other|CS searching/);
  t.regex(text, /EPS \(LTE\) home/);
  t.regex(text, /\[ OK \] 接入制式 4G \(LTE\)/);
  t.regex(text, /\[WARN\] IMS（VoLTE）未注册/);
  t.regex(text, /\[FAIL\] 已注册 4G，但没有短信通道/);
  t.regex(text, /AT\+VOLTESETTING=1/);
  t.regex(text, /enable VoLTE on this SIM/);
  t.regex(text, /China Mobile SIM/);
});

test('doctor on LTE with IMS: sms_path ims, can send', async (t) => {
  const r = await scriptedRig({ answers: { 'AT+CREG?': ['+CREG: 0,0'], 'AT+CPSI?': ['+CPSI: LTE,Online,460-11,0x1,1,1,EUTRAN-BAND1,100,5,5,-84,-693,-386,24'], 'AT+CIREG?': ['+CIREG: 0,1'] } });
  const lines: string[] = [];
  const findings = await runDoctor({ openStream: () => openScripted(r.peer), hat: loadHat('sim7600'), device: '/dev/scripted', baud: 115200, out: (l) => lines.push(l), timeoutMs: 500, firstAnswerMs: 1200 });
  t.is(findings.smsPath, 'ims');
  t.true(findings.canSend);
  t.regex(lines.join('\n'), /SMS path: IMS/);
});
