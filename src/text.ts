/** Small text rules shared by the store, the status model and the pages. */

/** Cuts a string to `max` characters, marking the cut. */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  // Never leave half a surrogate pair.
  let end = max - 1;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

/**
 * An account name as pages show it to someone not logged in: its first
 * character and `***` (`shop` → `s***`), enough to tell accounts apart
 * without handing out a login name.
 */
export function maskName(name: string): string {
  const first = [...name][0];
  return first === undefined ? '' : `${first}***`;
}
