import test from 'ava';
import {
  decideSmsPath,
  parseCimi,
  parseCnum,
  parseCopsAct,
  parseCpsi,
  parseImsRegistration,
  parseQnwinfo,
  type Rat,
} from '../../src/modem/parse.js';
import { deriveLeds } from '../../src/leds/patterns.js';
import { modemNotReadyReason, NO_SMS_PATH_TEXT } from '../../src/status/health.js';
import { scriptedRig } from './scripted-rig.js';

// Answers as the manuals and field logs print them (sources in hardware/hats/*.toml and
// /work/coord/at-contract.md §1-§5).
const CPSI: Array<[string, Rat | null]> = [
  // SIMCom SIM7600, seen in the field (blog.csdn.net/twd_1991/article/details/85706072; cnblogs lianghong881018)
  ['+CPSI: LTE,Online,460-01,0x5303,52467969,125,EUTRAN-BAND3,1650,5,5,-84,-693,-386,24', 'lte'],
  ['+CPSI: LTE,Online,460-00,0x5140,86233862,50,EUTRAN-BAND38,37900,5,5,-70,-848,-578,17', 'lte'],
  ['+CPSI: GSM,Online,460-00 0x1816,63905,81 EGSM 900,-68,0,31-31', 'gsm'],
  // SIMCom SIM7500/SIM7600 AT Command Manual V2.00, AT+CPSI? examples
  ['+CPSI: WCDMA,Online,460-01,0xA809,11122855,WCDMA IMT 2000,279,10663,0,1.5,62,33,52,500', 'umts'],
  ['+CPSI: NO SERVICE,Online', 'unknown'],
  ['+CSQ: 20,99', null],
];

const QNWINFO: Array<[string, Rat | null]> = [
  // Quectel EC25&EC21 AT Commands Manual V1.3 §AT+QNWINFO
  ['+QNWINFO: "FDD LTE","46000","LTE BAND 3",1650', 'lte'],
  ['+QNWINFO: "TDD LTE","46000","LTE BAND 38",38098', 'lte'],
  ['+QNWINFO: "WCDMA","46001","WCDMA 2100",10713', 'umts'],
  ['+QNWINFO: "GSM","46000","GSM 900",66', 'gsm'],
  ['+QNWINFO: "EDGE","46000","GSM 1800",512', 'gsm'],
  ['+QNWINFO: "HSPA+","46001","WCDMA 2100",10713', 'umts'],
  ['+QNWINFO: FDD LTE,46011,LTE BAND 1,100', 'lte'],
  ['+QNWINFO: No Service', 'unknown'],
];

test('access technology from AT+CPSI? (SIMCom) and AT+QNWINFO (Quectel) answers', (t) => {
  for (const [line, rat] of CPSI) t.is(parseCpsi(line), rat, line);
  for (const [line, rat] of QNWINFO) t.is(parseQnwinfo(line), rat, line);
});

test('access technology from the AcT of +COPS (27.007 §7.3)', (t) => {
  t.is(parseCopsAct('+COPS: 0,0,"CHINA MOBILE",7'), 'lte');
  t.is(parseCopsAct('+COPS: 0,2,"46000",7'), 'lte');
  t.is(parseCopsAct('+COPS: 0,0,"CHN-UNICOM",2'), 'umts');
  t.is(parseCopsAct('+COPS: 0,0,"CHN-UNICOM",6'), 'umts');
  t.is(parseCopsAct('+COPS: 0,0,"CHINA MOBILE",0'), 'gsm');
  t.is(parseCopsAct('+COPS: 0,0,"CHINA MOBILE",3'), 'gsm');
  t.is(parseCopsAct('+COPS: 0,0,"CHINA MOBILE"'), null);
  t.is(parseCopsAct('+COPS: 0'), null);
});

test('IMS registration from +CIREG (27.007 §8.71) and Quectel +QCFG: "ims"', (t) => {
  t.is(parseImsRegistration('+CIREG: 0,1'), true);
  t.is(parseImsRegistration('+CIREG: 2,1,5'), true);
  t.is(parseImsRegistration('+CIREG: 0,0'), false);
  t.is(parseImsRegistration('+QCFG: "ims",1,1'), true);
  t.is(parseImsRegistration('+QCFG: "ims",1,0'), false);
  t.is(parseImsRegistration('+QCFG: "ims",0,0'), false);
  t.is(parseImsRegistration('+QCFG: "ims",1'), null);
  t.is(parseImsRegistration('+CEREG: 0,1'), null);
});

test('own number (AT+CNUM) and IMSI (AT+CIMI)', (t) => {
  t.is(parseCnum(['+CNUM: "","+8613912345678",145']), '+8613912345678');
  t.is(parseCnum(['+CNUM: ,"13912345678",129']), '13912345678');
  t.is(parseCnum(['+CNUM: "Own","+8613912345678",145,7,4']), '+8613912345678');
  t.is(parseCnum([]), null, 'a SIM that does not store its number answers a bare OK');
  t.is(parseCimi(['460001234567890']), '460001234567890');
  t.is(parseCimi(['+CIMI: 460110123456789']), '460110123456789');
  t.is(parseCimi(['ERROR']), null);
});

test('the SMS path of a registered module (at-contract §2)', (t) => {
  const path = (rat: Rat, csRegistered: boolean, imsRegistered: boolean | null, registered = true) =>
    decideSmsPath({ registered, rat, csRegistered, imsRegistered });
  t.is(path('gsm', true, null), 'cs');
  t.is(path('umts', false, null), 'cs');
  t.is(path('lte', true, false), 'sgs');
  t.is(path('lte', true, null), 'sgs');
  t.is(path('lte', false, true), 'ims');
  t.is(path('lte', true, true), 'ims');
  t.is(path('lte', false, false), 'none');
  t.is(path('lte', false, null), 'unknown', 'a module that cannot tell about IMS and is not CS-registered');
  t.is(path('unknown', true, null), 'unknown');
  t.is(path('lte', false, false, false), 'unknown', 'not registered: no path to speak of');
});

test('driver, SIM7600 on LTE with IMS (CS not registered): rat lte, sms_path ims; IMSI and own number read at init', async (t) => {
  const r = await scriptedRig({
    answers: {
      'AT+CREG?': ['+CREG: 0,0'],
      'AT+CPSI?': ['+CPSI: LTE,Online,460-11,0x5303,52467969,125,EUTRAN-BAND3,1650,5,5,-84,-693,-386,24'],
      'AT+CIREG?': ['+CIREG: 0,1'],
      'AT+CIMI': ['460110123456789'],
      'AT+CNUM': ['+CNUM: "","+8618912345678",145'],
    },
  });
  t.teardown(() => r.stop());
  await r.run(r.modem.start(), 'the start');
  const s = r.modem.status();
  t.is(s.state, 'ready');
  t.is(s.rat, 'lte');
  t.true(s.imsRegistered);
  t.is(s.smsPath, 'ims');
  t.is(s.imsi, '460110123456789');
  t.is(s.ownNumber, '+8618912345678');
  t.is(modemNotReadyReason({ state: s.state, hardFault: s.hardFault, registered: s.registered, smsPath: s.smsPath }), null);
});

test('driver, SIM7600 on LTE without IMS or SGs: sms_path none, an error event, the profile\'s IMS switch and a radio restart, once; sends are held', async (t) => {
  const r = await scriptedRig({
    answers: {
      'AT+CREG?': ['+CREG: 0,0'],
      'AT+CPSI?': ['+CPSI: LTE,Online,460-11,0x5303,52467969,125,EUTRAN-BAND3,1650,5,5,-84,-693,-386,24'],
      'AT+CIREG?': ['+CIREG: 0,0'],
      'AT+VOLTESETTING=1': [],
      'AT+CFUN=0': [],
      'AT+CFUN=1': [],
      'AT+CNUM': [],
    },
  });
  t.teardown(() => r.stop());
  await r.run(r.modem.start(), 'the start');
  const s = r.modem.status();
  t.is(s.state, 'ready', 'registered (EPS), and the driver says so');
  t.is(s.smsPath, 'none');
  t.is(s.ownNumber, null, 'the SIM does not store its number');
  t.truthy(r.events.find((e) => e.kind === 'no-sms-path' && e.level === 'error'));
  await r.until(() => r.events.find((e) => e.kind === 'ims-enable'), 'the IMS switch');
  const from = r.peer.commands.indexOf('AT+VOLTESETTING=1');
  t.deepEqual(r.peer.commands.slice(from, from + 3), ['AT+VOLTESETTING=1', 'AT+CFUN=0', 'AT+CFUN=1']);
  // The carrier has not provisioned VoLTE: still no path after the next polls, and the switch is not tried again.
  const polls = r.peer.commands.filter((c) => c === 'AT+CIREG?').length;
  await r.until(() => r.peer.commands.filter((c) => c === 'AT+CIREG?').length >= polls + 2, 'two more polls');
  t.is(r.peer.commands.filter((c) => c === 'AT+VOLTESETTING=1').length, 1);
  t.is(r.modem.status().smsPath, 'none');

  // src/status judges it: not ready, with what to do; the fault LED is on.
  const after = r.modem.status();
  const reason = modemNotReadyReason({ state: after.state, hardFault: after.hardFault, registered: after.registered, smsPath: after.smsPath });
  t.is(reason, `${NO_SMS_PATH_TEXT.zh} / ${NO_SMS_PATH_TEXT.en}`);
  t.regex(NO_SMS_PATH_TEXT.zh, /VoLTE/);
  t.regex(NO_SMS_PATH_TEXT.zh, /中国移动/);
  const leds = deriveLeds({
    modem: { state: after.state, hard_fault: after.hardFault, registered: after.registered, signal_bars: after.bars, sms_path: after.smsPath },
    queue: { waiting: 'modem-not-ready', queued: 1, uncertain: 0 },
    clock: { trusted: true },
  });
  t.is(leds.patterns.fault, 'on');
  t.deepEqual(leds.faults.map((f) => f.kind), ['no-sms-path']);

  // IMS registers (the carrier enabled VoLTE): the path is back, an info event says so.
  r.answers['AT+CIREG?'] = ['+CIREG: 0,1'];
  await r.until(() => r.modem.status().smsPath === 'ims', 'IMS registered');
  t.truthy(r.events.find((e) => e.kind === 'sms-path'));
});

test('driver, EC25: AT+QNWINFO for the RAT; AT+CIREG? refused, so AT+QCFG="ims" tells IMS; LTE with SGs', async (t) => {
  const r = await scriptedRig({
    hat: 'ec25',
    answers: {
      'AT+QNWINFO': ['+QNWINFO: "FDD LTE","46001","LTE BAND 3",1650'],
      'AT+CIREG?': ['+CME ERROR: operation not supported'],
      'AT+QCFG="ims"': ['+QCFG: "ims",1,0'],
      'AT+COPS?': ['+COPS: 0,0,"CHN-UNICOM",7'],
    },
  });
  t.teardown(() => r.stop());
  await r.run(r.modem.start(), 'the start');
  const s = r.modem.status();
  t.is(s.rat, 'lte');
  t.false(s.imsRegistered);
  t.is(s.smsPath, 'sgs', 'CS registered too (combined attach): SMS over SGs');
  t.true(r.peer.commands.includes('AT+QCFG="ims"'));
});

test('driver, SIM868 on GSM: sms_path cs from AT+COPS? alone, no LTE or IMS queries', async (t) => {
  const r = await scriptedRig({ hat: 'sim868', answers: { 'AT+COPS?': ['+COPS: 0,0,"CHINA MOBILE",0'] } });
  t.teardown(() => r.stop());
  await r.run(r.modem.start(), 'the start');
  t.is(r.modem.status().rat, 'gsm');
  t.is(r.modem.status().smsPath, 'cs');
  t.false(r.peer.commands.some((c) => /CPSI|QNWINFO|CIREG|QCFG/.test(c)));
});
