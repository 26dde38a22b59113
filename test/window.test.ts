import test from 'ava';
import { parseQuietHours } from '../src/config/quiet-hours.js';
import { windowCloseCron, windowState } from '../src/scheduler/window.js';
import { isoInZone, startOfLocalDay } from '../src/scheduler/tz.js';

const SH = 'Asia/Shanghai';
/** An instant given as Shanghai wall-clock time. */
const at = (local: string) => Date.parse(`${local}+08:00`);
const night = parseQuietHours('21:00-09:00')!;

test('quiet hours parse, including full-width colon and tilde', (t) => {
  t.deepEqual(parseQuietHours('21:00-09:00'), { startMinute: 1260, endMinute: 540, text: '21:00-09:00' });
  t.is(parseQuietHours('9:30～18：00')?.text, '09:30-18:00');
  t.deepEqual(parseQuietHours('12:30~13:30')?.text, '12:30-13:30');
  t.deepEqual(parseQuietHours('22：00-8:00')?.text, '22:00-08:00');
  t.is(parseQuietHours('25:00-09:00'), null);
  t.is(parseQuietHours('09:00-09:00'), null);
  t.is(parseQuietHours('21:00'), null);
});

const cases: [string, boolean, string | null, string | null][] = [
  // now (Shanghai), open, next_open, next_close
  ['2026-11-25T08:59:59', false, '2026-11-25T09:00:00+08:00', '2026-11-25T21:00:00+08:00'],
  ['2026-11-25T09:00:00', true, '2026-11-26T09:00:00+08:00', '2026-11-25T21:00:00+08:00'],
  ['2026-11-25T20:59:00', true, '2026-11-26T09:00:00+08:00', '2026-11-25T21:00:00+08:00'],
  ['2026-11-25T21:00:00', false, '2026-11-26T09:00:00+08:00', '2026-11-26T21:00:00+08:00'],
  ['2026-11-25T23:59:30', false, '2026-11-26T09:00:00+08:00', '2026-11-26T21:00:00+08:00'],
  ['2026-11-26T00:00:00', false, '2026-11-26T09:00:00+08:00', '2026-11-26T21:00:00+08:00'],
  ['2026-12-31T22:00:00', false, '2027-01-01T09:00:00+08:00', '2027-01-01T21:00:00+08:00'],
];
for (const [now, open, nextOpen, nextClose] of cases) {
  test(`window across midnight at ${now}`, (t) => {
    const w = windowState(at(now), night, SH);
    t.is(w.open, open);
    t.is(w.nextOpen === null ? null : isoInZone(w.nextOpen, SH), nextOpen);
    t.is(w.nextClose === null ? null : isoInZone(w.nextClose, SH), nextClose);
  });
}

test('a daytime quiet window (lunch break) and no quiet hours at all', (t) => {
  const lunch = parseQuietHours('12:00-13:30')!;
  t.false(windowState(at('2026-11-25T12:15:00'), lunch, SH).open);
  t.true(windowState(at('2026-11-25T13:30:00'), lunch, SH).open);
  t.deepEqual(windowState(at('2026-11-25T03:00:00'), null, SH), { open: true, nextOpen: null, nextClose: null });
});

test('the same instant is judged in the configured time zone', (t) => {
  const instant = Date.parse('2026-11-25T02:00:00Z'); // 10:00 in Shanghai, 21:00 the day before in New York
  t.true(windowState(instant, night, SH).open);
  t.false(windowState(instant, night, 'America/New_York').open);
});

test('a DST zone: the window opens at 09:00 local on both sides of the change', (t) => {
  // New York leaves DST on 2026-11-01 at 02:00.
  const w = windowState(Date.parse('2026-10-31T23:00:00-04:00'), night, 'America/New_York');
  t.is(isoInZone(w.nextOpen!, 'America/New_York'), '2026-11-01T09:00:00-05:00');
});

test('local midnight in Shanghai', (t) => {
  t.is(isoInZone(startOfLocalDay(at('2026-11-25T00:30:00'), SH), SH), '2026-11-25T00:00:00+08:00');
  t.is(isoInZone(startOfLocalDay(at('2026-11-25T23:59:59'), SH), SH), '2026-11-25T00:00:00+08:00');
});

test('the daily summary is scheduled when the window closes (quiet hours begin), at midnight without quiet hours', (t) => {
  t.is(windowCloseCron(parseQuietHours('21:00-09:00')), '0 21 * * *');
  t.is(windowCloseCron(parseQuietHours('22:30-08:00')), '30 22 * * *');
  t.is(windowCloseCron(parseQuietHours('12:00-13:30')), '0 12 * * *');
  t.is(windowCloseCron(null), '0 0 * * *');
});
