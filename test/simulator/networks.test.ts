/**
 * The virtual HAT's networks (issue 17): GSM, UMTS, LTE with SGs, LTE with IMS
 * and LTE without IMS, as AT commands show them (/work/coord/at-contract.md §1-4),
 * the no-ims fault and how the module's IMS switch fixes it.
 */
import test from 'ava';
import { VirtualModem } from '../../hardware/simulator/virtual-modem.js';
import { quietSession, sendText, session, storedTexts, type Session } from './harness.js';

function registrationAnswers(s: Session): string {
  return s.at('AT+COPS?;+CREG?;+CGREG?;+CEREG?;+CGATT?;+CIREG?');
}

test('the default network is LTE with SGs: every domain registered, AcT 7, no IMS, SMS works', (t) => {
  const s = quietSession();
  t.is(
    registrationAnswers(s),
    '\r\n+COPS: 0,0,"CHINA MOBILE",7\r\n\r\n+CREG: 0,1\r\n\r\n+CGREG: 0,1\r\n\r\n+CEREG: 0,1\r\n\r\n+CGATT: 1\r\n\r\n+CIREG: 0,0\r\n\r\nOK\r\n',
  );
  t.is(s.at('AT+CPSI?'), '\r\n+CPSI: LTE,Online,460-00,0x5A1F,188501329,292,EUTRAN-BAND3,1300,5,5,-96,-1051,-781,14\r\n\r\nOK\r\n');
  t.is(s.modem.smsPath(), 'sgs');
  t.deepEqual(sendText(s, '+8613800138000', 'hi'), ['\r\n+CMGS: 0\r\n\r\nOK\r\n']);
});

test('GSM: AcT 0, CS and GPRS registered, no EPS, +CPSI says GSM, SMS over CS', (t) => {
  const s = quietSession({ network: 'gsm' });
  t.is(
    registrationAnswers(s),
    '\r\n+COPS: 0,0,"CHINA MOBILE",0\r\n\r\n+CREG: 0,1\r\n\r\n+CGREG: 0,1\r\n\r\n+CEREG: 0,0\r\n\r\n+CGATT: 1\r\n\r\n+CIREG: 0,0\r\n\r\nOK\r\n',
  );
  t.is(s.at('AT+CPSI?'), '\r\n+CPSI: GSM,Online,460-00,0x5A1F,15437,66 EGSM 900,-64,0,42-42\r\n\r\nOK\r\n');
  t.is(s.modem.smsPath(), 'cs');
  t.deepEqual(sendText(s, '+8613800138000', 'hi'), ['\r\n+CMGS: 0\r\n\r\nOK\r\n']);
});

test('UMTS: AcT 2 and +CPSI says WCDMA', (t) => {
  const s = quietSession({ network: 'umts' });
  t.regex(s.at('AT+COPS?'), /\+COPS: 0,0,"CHINA MOBILE",2\r\n/);
  t.is(s.at('AT+CPSI?'), '\r\n+CPSI: WCDMA,Online,460-00,0x5A1F,188501329,WCDMA IMT 2000,279,10663,0,1.5,62,33,52,500\r\n\r\nOK\r\n');
  t.is(s.modem.smsPath(), 'cs');
});

test('LTE with IMS: EPS registered, CS not, IMS registered (voice + SMS), SMS works', (t) => {
  const s = quietSession({ network: 'lte-ims' });
  t.is(
    registrationAnswers(s),
    '\r\n+COPS: 0,0,"CHINA MOBILE",7\r\n\r\n+CREG: 0,0\r\n\r\n+CGREG: 0,1\r\n\r\n+CEREG: 0,1\r\n\r\n+CGATT: 1\r\n\r\n+CIREG: 0,1\r\n\r\nOK\r\n',
  );
  s.at('AT+CIREG=2');
  t.is(s.at('AT+CIREG?'), '\r\n+CIREG: 2,1,5\r\n\r\nOK\r\n');
  t.is(s.modem.smsPath(), 'ims');
  t.deepEqual(sendText(s, '+8613800138000', 'hi'), ['\r\n+CMGS: 0\r\n\r\nOK\r\n']);
});

test('LTE without IMS: registered on LTE with data up, SMS refused with +CMS ERROR: 500, nothing transmitted', (t) => {
  const s = quietSession({ network: 'lte-no-ims' });
  t.is(
    registrationAnswers(s),
    '\r\n+COPS: 0,0,"CHINA MOBILE",7\r\n\r\n+CREG: 0,0\r\n\r\n+CGREG: 0,1\r\n\r\n+CEREG: 0,1\r\n\r\n+CGATT: 1\r\n\r\n+CIREG: 0,0\r\n\r\nOK\r\n',
  );
  s.at('AT+CMEE=1');
  t.deepEqual(sendText(s, '+8613800138000', 'hi'), ['\r\n+CMS ERROR: 500\r\n']);
  s.at('AT+CMEE=2');
  t.deepEqual(sendText(s, '+8613800138000', 'hi'), ['\r\n+CMS ERROR: unknown error\r\n']);
  t.deepEqual(s.modem.transmitted, []);
  t.is(s.modem.smsPath(), 'none');
  t.deepEqual(s.modem.activeFaults(), [{ kind: 'no-ims' }]);
});

test('LTE without IMS: a customer SMS waits at the network until IMS comes up', (t) => {
  const s = quietSession({ network: 'lte-no-ims' });
  s.modem.deliver({ from: '+8613900000000', text: 'TD' });
  t.is(s.take(), '');
  t.is(s.modem.pendingNetworkDeliveries(), 1);
  s.modem.clear('no-ims');
  t.is(s.take(), '\r\n+CMTI: "SM",0\r\n');
  t.deepEqual(storedTexts(s), [{ from: '+8613900000000', text: 'TD' }]);
});

test('fault no-ims on a SIM7600: AT+VOLTESETTING=1 and a radio restart bring IMS up and SMS back', async (t) => {
  const s = quietSession();
  s.modem.inject({ kind: 'no-ims' });
  s.at('AT+CMEE=1');
  t.deepEqual(sendText(s, '+8613800138000', 'a'), ['\r\n+CMS ERROR: 500\r\n']);
  t.is(s.at('AT+VOLTESETTING?'), '\r\n+VOLTESETTING: 0\r\n\r\nOK\r\n');
  t.is(s.at('AT+VOLTESETTING=1'), '\r\nOK\r\n');
  t.deepEqual(sendText(s, '+8613800138000', 'b'), ['\r\n+CMS ERROR: 500\r\n'], 'the switch applies when the radio restarts');
  t.is(s.at('AT+CFUN=1,1'), '\r\nOK\r\n');
  await s.settle();
  s.timers.advance(s.modem.bootMs);
  s.at('ATE0');
  t.is(s.at('AT+CIREG?'), '\r\n+CIREG: 0,1\r\n\r\nOK\r\n');
  t.is(s.at('AT+VOLTESETTING?'), '\r\n+VOLTESETTING: 1\r\n\r\nOK\r\n', 'the switch lives in NV memory: it survives the reboot');
  t.deepEqual(sendText(s, '+8613800138000', 'c'), ['\r\n+CMGS: 0\r\n\r\nOK\r\n']);
  t.deepEqual(s.modem.activeFaults(), []);
});

test('fault no-ims on an EC25: AT+QCFG="ims",1 then AT+CFUN=0 / AT+CFUN=1 fixes it, with +CIREGU', async (t) => {
  const s = quietSession({ profile: 'ec25', network: 'lte-no-ims' });
  t.is(s.at('AT+QCFG="ims"'), '\r\n+QCFG: "ims",0,0\r\n\r\nOK\r\n');
  t.is(s.at('AT+QNWINFO'), '\r\n+QNWINFO: "FDD LTE","46000","LTE BAND 3",1650\r\n\r\nOK\r\n');
  t.is(s.at('AT+CIREG=1'), '\r\nOK\r\n');
  t.is(s.at('AT+QCFG="ims",1'), '\r\nOK\r\n');
  t.is(s.at('AT+QCFG="ims"'), '\r\n+QCFG: "ims",1,0\r\n\r\nOK\r\n', 'enabled, not yet registered');
  s.at('AT+CFUN=0');
  await s.settle();
  s.take();
  s.at('AT+CFUN=1');
  await s.settle();
  t.is(s.take(), '\r\n+CIREGU: 1\r\n');
  t.is(s.at('AT+QCFG="ims"'), '\r\n+QCFG: "ims",1,1\r\n\r\nOK\r\n');
  t.is(s.modem.smsPath(), 'ims');
});

test('a carrier that does not provision IMS: the switch on and a restart still leave no SMS path', async (t) => {
  const s = quietSession({ network: 'lte-no-ims', imsProvisioned: false });
  s.at('AT+VOLTESETTING=1');
  s.at('AT+CFUN=0');
  s.at('AT+CFUN=1');
  await s.settle();
  t.is(s.at('AT+CIREG?'), '\r\n+CIREG: 0,0\r\n\r\nOK\r\n');
  t.is(s.modem.smsPath(), 'none');
  t.is(s.modem.getNetwork(), 'lte-no-ims');
});

test('switching networks at run time prints the registration URCs that changed', (t) => {
  const s = quietSession();
  s.at('AT+CREG=1;+CEREG=1;+CIREG=1');
  s.modem.setNetwork('lte-ims');
  t.is(s.take(), '\r\n+CIREGU: 1\r\n\r\n+CREG: 0\r\n');
  s.modem.setNetwork('gsm');
  t.is(s.take(), '\r\n+CIREGU: 0\r\n\r\n+CREG: 1\r\n\r\n+CEREG: 0\r\n');
  t.is(s.modem.getNetwork(), 'gsm');
});

test('+CPSI and +QNWINFO say when there is no service; each belongs to its vendor', (t) => {
  const sim7600 = quietSession();
  sim7600.modem.inject({ kind: 'no-network' });
  t.is(sim7600.at('AT+CPSI?'), '\r\n+CPSI: NO SERVICE,Online\r\n\r\nOK\r\n');
  t.is(sim7600.at('AT+QNWINFO'), '\r\nERROR\r\n');
  const ec25 = quietSession({ profile: 'ec25' });
  ec25.modem.inject({ kind: 'no-network' });
  t.is(ec25.at('AT+QNWINFO'), '\r\n+QNWINFO: No Service\r\n\r\nOK\r\n');
  t.is(ec25.at('AT+CPSI?'), '\r\nERROR\r\n');
});

test('a SIM868 is 2G only: GSM, no +CEREG, +CPSI or +CIREG, and no LTE network can be chosen', (t) => {
  const s = quietSession({ profile: 'sim868' });
  t.is(s.at('AT+CGMM'), '\r\nSIMCOM_SIM868\r\n\r\nOK\r\n');
  t.regex(s.at('AT+COPS?'), /"CHINA MOBILE",0\r\n/);
  t.is(s.at('AT+CEREG?'), '\r\nERROR\r\n');
  t.is(s.at('AT+CIREG?'), '\r\nERROR\r\n');
  t.is(s.modem.smsPath(), 'cs');
  t.throws(() => new VirtualModem({ profile: 'sim868', network: 'lte-ims' }), { instanceOf: RangeError });
});

test('an EC25 boots with its own URCs', (t) => {
  const s = session({ profile: 'ec25', initialPower: 'off', bootMs: 1000 });
  s.modem.powerOn();
  s.timers.advance(1000);
  t.is(s.take(), '\r\nRDY\r\n\r\n+CPIN: READY\r\n\r\n+QIND: SMS DONE\r\n\r\n+QIND: PB DONE\r\n');
});

test('AT+CIMI answers the configured IMSI; the default is a China Mobile one', (t) => {
  t.is(quietSession().at('AT+CIMI'), '\r\n460001234567890\r\n\r\nOK\r\n');
  const s = quietSession({ imsi: '460110123456789' });
  t.is(s.at('AT+CIMI'), '\r\n460110123456789\r\n\r\nOK\r\n');
  t.is(s.modem.carrier(), 'china-telecom');
  s.modem.setImsi('460010000000001');
  t.is(s.at('AT+CIMI'), '\r\n460010000000001\r\n\r\nOK\r\n');
  t.is(s.modem.carrier(), 'china-unicom');
});
