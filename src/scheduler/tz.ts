/** Wall-clock arithmetic in an IANA time zone, without a date library. */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export interface LocalTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

export function localTime(ms: number, timeZone: string): LocalTime {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(ms))) {
    if (p.type !== 'literal') parts[p.type] = Number(p.value);
  }
  return {
    year: parts['year']!,
    month: parts['month']!,
    day: parts['day']!,
    hour: parts['hour']!,
    minute: parts['minute']!,
    second: parts['second']!,
  };
}

/** Offset of the zone from UTC at `ms`, in minutes (Asia/Shanghai: +480). */
export function zoneOffsetMinutes(ms: number, timeZone: string): number {
  const t = localTime(ms, timeZone);
  const asUtc = Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second);
  return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60_000);
}

/** The instant of local midnight that starts the day containing `ms`. */
export function startOfLocalDay(ms: number, timeZone: string): number {
  const t = localTime(ms, timeZone);
  const guess = Date.UTC(t.year, t.month - 1, t.day) - zoneOffsetMinutes(ms, timeZone) * 60_000;
  // Re-check the offset at the guess, for zones whose offset changed during the day.
  return Date.UTC(t.year, t.month - 1, t.day) - zoneOffsetMinutes(guess, timeZone) * 60_000;
}

/** ISO 8601 with the zone's offset, e.g. 2026-11-25T09:30:00+08:00. */
export function isoInZone(ms: number, timeZone: string): string {
  const t = localTime(ms, timeZone);
  const offset = zoneOffsetMinutes(ms, timeZone);
  const sign = offset < 0 ? '-' : '+';
  const abs = Math.abs(offset);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${t.year}-${pad(t.month)}-${pad(t.day)}T${pad(t.hour)}:${pad(t.minute)}:${pad(t.second)}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
}
