/** Quiet hours as minutes after local midnight; `start > end` crosses midnight. */
export interface QuietHours {
  startMinute: number;
  endMinute: number;
  /** Canonical "HH:MM-HH:MM" form. */
  text: string;
}

const TIME = /^\s*([01]?\d|2[0-3])[:：]([0-5]\d)\s*$/;

/** Parses "21:00-09:00" (full-width colon and "~" / "－" accepted); null when malformed or empty-length. */
export function parseQuietHours(value: string): QuietHours | null {
  const parts = value.split(/[-~－—～]/);
  if (parts.length !== 2) return null;
  const [start, end] = parts.map((p) => TIME.exec(p));
  if (!start || !end) return null;
  const startMinute = Number(start[1]) * 60 + Number(start[2]);
  const endMinute = Number(end[1]) * 60 + Number(end[2]);
  if (startMinute === endMinute) return null;
  const hhmm = (m: number) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
  return { startMinute, endMinute, text: `${hhmm(startMinute)}-${hhmm(endMinute)}` };
}
