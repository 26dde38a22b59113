import test from 'ava';
import fc from 'fast-check';
import {
  csqToSignal,
  parseCclk,
  parseCmgl,
  parseCmgr,
  parseCops,
  parseCpin,
  parseCsca,
  parseCsq,
  parseNetworkTimeUrc,
  parseRegistration,
  parseStoredIndication,
  simStateFromCme,
} from '../../src/modem/parse.js';

test('+CPIN states', (t) => {
  const table: [string, string | null][] = [
    ['+CPIN: READY', 'ready'],
    ['+CPIN: SIM PIN', 'pin-required'],
    ['+CPIN: SIM PUK', 'puk-required'],
    ['+CPIN: SIM REMOVED', 'no-sim'],
    ['+CPIN: NOT INSERTED', 'no-sim'],
    ['+CPIN: PH-NET PIN', 'other'],
    ['OK', null],
  ];
  for (const [line, state] of table) t.is<string | null, string | null>(parseCpin(line)?.state ?? null, state, line);
  t.is(simStateFromCme(10, '10'), 'no-sim');
  t.is(simStateFromCme(null, 'SIM not inserted'), 'no-sim');
  t.is(simStateFromCme(11, 'SIM PIN required'), 'pin-required');
  t.is(simStateFromCme(30, 'no network service'), null);
});

test('registration: read form, URC form, LTE form with cell fields, SMS-only', (t) => {
  const table: [string, string | null][] = [
    ['+CREG: 0,1', 'home'],
    ['+CREG: 2,5,"5A1F","0B3C4D51"', 'roaming'],
    ['+CEREG: 2,1,"5A1F","0B3C4D51",7', 'home'],
    ['+CGREG: 0,2', 'searching'],
    ['+CREG: 0,3', 'denied'],
    ['+CREG: 0,0', 'not-registered'],
    ['+CREG: 1', 'home'],
    ['+CREG: 3,"5A1F","0B3C4D51"', 'denied'],
    ['+CEREG: 0,6', 'home'],
    ['+CSQ: 20,99', null],
  ];
  for (const [line, stat] of table) t.is<string | null, string | null>(parseRegistration(line)?.stat ?? null, stat, line);
});

test('CSQ → dBm and bars per 27.007 §8.5', (t) => {
  t.deepEqual(parseCsq('+CSQ: 0,99'), { csq: 0, dbm: -113, bars: 0 });
  t.deepEqual(parseCsq('+CSQ: 9,0'), { csq: 9, dbm: -95, bars: 1 });
  t.deepEqual(parseCsq('+CSQ: 31,99'), { csq: 31, dbm: -51, bars: 5 });
  t.deepEqual(parseCsq('+CSQ: 99,99'), { csq: null, dbm: null, bars: null });
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 30 }), (rssi) => {
      const a = csqToSignal(rssi);
      const b = csqToSignal(rssi + 1);
      return b.dbm! - a.dbm! === 2 && b.bars! >= a.bars! && a.bars! >= 0 && b.bars! <= 5;
    }),
  );
});

test('operator and service centre', (t) => {
  t.is(parseCops('+COPS: 0,0,"CHINA MOBILE",7'), 'CHINA MOBILE');
  t.is(parseCops('+COPS: 0'), null);
  t.is(parseCsca('+CSCA: "+8613800100500",145'), '+8613800100500');
  t.is(parseCsca('+CSCA: "",129'), null);
  t.is(parseCsca('+CSCA: "002B0038003600310033003800300030003100300030003500300030",145'), '+8613800100500');
});

test('stored-message indications and listings', (t) => {
  t.deepEqual(parseStoredIndication('+CMTI: "SM",3'), { memory: 'SM', index: 3 });
  t.deepEqual(parseStoredIndication('+CDSI: "ME",12'), { memory: 'ME', index: 12 });
  t.is(parseStoredIndication('+CMT: ,24'), null);
  t.deepEqual(parseCmgl(['+CMGL: 0,1,,24', '0791AB', '+CMGL: 4,0,,30', 'junk', '+CMGL: 5,0,,30', '07FF']), [
    { index: 0, stat: 1, pdu: '0791AB' },
    { index: 5, stat: 0, pdu: '07FF' },
  ]);
  t.deepEqual(parseCmgr(['+CMGR: 0,,24', '0791ab']), { stat: 0, pdu: '0791AB' });
  t.is(parseCmgr([]), null);
});

test('AT+CCLK: zone in quarter hours, never-set RTCs are null', (t) => {
  t.is(parseCclk('+CCLK: "26/11/25,09:30:00+32"')?.toISOString(), '2026-11-25T01:30:00.000Z');
  t.is(parseCclk('+CCLK: "26/11/25,09:30:00-14"')?.toISOString(), '2026-11-25T13:00:00.000Z');
  t.is(parseCclk('+CCLK: "26/11/25,01:30:00"')?.toISOString(), '2026-11-25T01:30:00.000Z');
  t.is(parseCclk('+CCLK: "80/01/06,00:01:02+00"'), null, 'Qualcomm GPS epoch: never synced');
  t.is(parseCclk('+CCLK: "04/01/01,00:00:10+00"'), null, 'SIM800 default: never synced');
  t.is(parseCclk('+CCLK: "26/13/25,09:30:00+32"'), null);
  fc.assert(
    fc.property(fc.date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2069-12-31T00:00:00Z'), noInvalidDate: true }), fc.integer({ min: -48, max: 56 }), (date, tz) => {
      const instant = Math.floor(date.getTime() / 1000) * 1000;
      const local = new Date(instant + tz * 15 * 60_000);
      if (local.getUTCFullYear() < 2020 || local.getUTCFullYear() > 2069) return true;
      const p = (n: number) => String(n).padStart(2, '0');
      const text = `+CCLK: "${p(local.getUTCFullYear() % 100)}/${p(local.getUTCMonth() + 1)}/${p(local.getUTCDate())},${p(local.getUTCHours())}:${p(local.getUTCMinutes())}:${p(local.getUTCSeconds())}${tz < 0 ? '-' : '+'}${p(Math.abs(tz))}"`;
      return parseCclk(text)?.getTime() === instant;
    }),
  );
});

test('network-time URCs', (t) => {
  t.is(parseNetworkTimeUrc('+CTZE: "+32",0,"2026/11/25,09:30:00"')?.toISOString(), '2026-11-25T01:30:00.000Z');
  t.is(parseNetworkTimeUrc('*PSUTTZ: 2026,11,25,1,30,0,"+32",0')?.toISOString(), '2026-11-25T01:30:00.000Z');
  t.is(parseNetworkTimeUrc('+CTZV: +32'), null);
});
