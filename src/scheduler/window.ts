import type { QuietHours } from '../config/quiet-hours.js';
import { localTime } from './tz.js';

/** Whether sending is allowed at an instant, and when that changes. Pure. */
export interface WindowState {
  open: boolean;
  /** Next instant the window opens (null when it never closes). */
  nextOpen: number | null;
  /** Next instant the window closes (null when it never closes). */
  nextClose: number | null;
}

const DAY_MINUTES = 24 * 60;

function minuteOfDay(ms: number, timeZone: string): number {
  const t = localTime(ms, timeZone);
  return t.hour * 60 + t.minute;
}

export function isQuiet(minute: number, quiet: QuietHours): boolean {
  return quiet.startMinute < quiet.endMinute
    ? minute >= quiet.startMinute && minute < quiet.endMinute
    : minute >= quiet.startMinute || minute < quiet.endMinute;
}

/** The next instant after `now` at which the local wall clock reads `targetMinute`:00. */
export function nextLocalMinute(now: number, targetMinute: number, timeZone: string): number {
  const t = localTime(now, timeZone);
  const current = t.hour * 60 + t.minute;
  let delta = (targetMinute - current + DAY_MINUTES) % DAY_MINUTES;
  if (delta === 0) delta = DAY_MINUTES;
  const startOfMinute = now - t.second * 1000 - (now % 1000);
  let candidate = startOfMinute + delta * 60_000;
  // Where the zone's offset changes in between (DST), correct by the difference once.
  let drift = minuteOfDay(candidate, timeZone) - targetMinute;
  if (drift > DAY_MINUTES / 2) drift -= DAY_MINUTES;
  if (drift < -DAY_MINUTES / 2) drift += DAY_MINUTES;
  candidate -= drift * 60_000;
  return candidate;
}

export function windowState(now: number, quiet: QuietHours | null, timeZone: string): WindowState {
  if (!quiet) return { open: true, nextOpen: null, nextClose: null };
  const open = !isQuiet(minuteOfDay(now, timeZone), quiet);
  return {
    open,
    nextOpen: open ? nextLocalMinute(nextLocalMinute(now, quiet.startMinute, timeZone), quiet.endMinute, timeZone) : nextLocalMinute(now, quiet.endMinute, timeZone),
    nextClose: nextLocalMinute(now, quiet.startMinute, timeZone),
  };
}

/**
 * When the day's summary goes (issue 18): the minute the sending window
 * closes (the quiet hours begin), as a node-cron expression in the box's time
 * zone; at midnight when there are no quiet hours (the window never closes).
 */
export function windowCloseCron(quiet: QuietHours | null): string {
  const minute = quiet ? quiet.startMinute : 0;
  return `${minute % 60} ${Math.floor(minute / 60)} * * *`;
}
